"""What redaction costs on large outputs (10 MB), in-process and in a real kernel.

``run()`` returns one row per case: name, seconds (best of a few repeats), MB/s, and the ratio
to printing the same output without redaction. Run alone for a markdown table::

    python benchmarks/bench_redact.py [--no-kernel]

In-process rows time :mod:`nbsecrets.redaction` on the text of one output, and "printing" is what
ipykernel does to send it (``Session.serialize``: JSON and HMAC signature), so their ratio is
(send + redact) / send. Kernel rows time ``print()`` of 10 MB in a real kernel, from the
execute request to the kernel going idle, with all output received: no key loaded, a key loaded
with ``NBSECRETS_REDACT=0``, and a key loaded with redaction on; there the ratio is to the first.
The three kernels take turns, 15 rounds, best of each (the machine is shared). The fd-level
rows write 10 MB with ``os.write`` to a file, directly and through the tee that redacts what
a kernel writes to its own stdout/stderr; their ratio is to the direct write.
The last in-process row is the design this one replaced: a regex alternation of a key's
12-character runs, which is slower with one key and grows with every key loaded.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import secrets
import sys
import time
from collections.abc import Callable
from typing import Any

SIZE = 10_000_000
MB = SIZE / 1e6
MARKED = 1_000_000  # the ANSI-coloured output and the HTML table


def _key(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "sk-proj-" + "".join(rng.choice(alphabet) for _ in range(48))


def dataframe_text(rng: random.Random, size: int = SIZE) -> str:
    """Something like ``print(df)`` of a large frame: numbers, words, hex ids."""
    rows = []
    total = 0
    i = 0
    words = ("alpha", "beta", "gamma", "delta", "epsilon-long-category-name")
    while total < size:
        row = (
            f"{i:8d}  {rng.random() * 1e4:12.6f}  {rng.random():10.4f}  "
            f"{rng.choice(words):>26}  {rng.getrandbits(64):016x}\n"
        )
        rows.append(row)
        total += len(row)
        i += 1
    return "".join(rows)[:size]


def coloured_text(rng: random.Random, size: int = MARKED) -> str:
    """A highlighter's terminal output: every word of a frame's text in an ANSI colour."""
    words = dataframe_text(rng, size).split("\n")
    out = []
    total = 0
    for i, line in enumerate(words):
        row = (
            " ".join(f"\x1b[{31 + (i + j) % 6}m{w}\x1b[39m" for j, w in enumerate(line.split()))
            + "\n"
        )
        out.append(row)
        total += len(row)
        if total >= size:
            break
    return "".join(out)[:size]


def html_table(rng: random.Random, size: int = MARKED) -> str:
    """What ``DataFrame.to_html()`` gives for a large frame: one row per line of its text."""
    out = [
        '<table border="1" class="dataframe">\n  <thead>\n    <tr style="text-align: '
        'right;">\n      <th></th>\n      <th>a</th>\n      <th>b</th>\n      <th>c</th>'
        "\n      <th>id</th>\n    </tr>\n  </thead>\n  <tbody>\n"
    ]
    total = len(out[0])
    for line in dataframe_text(rng, size).split("\n"):
        cells = line.split()
        if len(cells) < 5:
            continue
        row = (
            "    <tr>\n      <th>"
            + cells[0]
            + "</th>\n"
            + "".join(f"      <td>{c}</td>\n" for c in cells[1:])
            + "    </tr>\n"
        )
        out.append(row)
        total += len(row)
        if total >= size:
            break
    return "".join(out) + "  </tbody>\n</table>"


def _split(key: str, marked: str, html: bool) -> str:
    """``marked`` with ten copies of ``key`` in it, each split into coloured pieces of 5."""
    pieces = [key[i : i + 5] for i in range(0, len(key), 5)]
    shown = "".join(
        f'<span class="c{i % 3}">{p}</span>' if html else f"\x1b[3{i % 7}m{p}\x1b[0m"
        for i, p in enumerate(pieces)
    )
    step = len(marked) // 10
    return "".join(marked[i : i + step] + shown for i in range(0, len(marked), step))


def _best(fn: Callable[[], Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _send_cost(text: str) -> float:
    from jupyter_client.session import Session

    session = Session(key=b"benchmark-key")
    msg = session.msg("stream", {"name": "stdout", "text": text})
    return _best(lambda: session.serialize(msg))


def in_process_rows() -> list[dict[str, Any]]:
    from nbsecrets.redaction import Redactor, redact

    rng = random.Random(7)
    key = _key(rng)
    r = Redactor.of({key: "openai"})
    assert r is not None
    many = Redactor.of({_key(rng): f"p{i}" for i in range(20)} | {key: "openai"})
    assert many is not None

    frame = dataframe_text(rng)
    send = _send_cost(frame)
    pieces = frame.split("\n")
    for i in range(0, len(pieces), len(pieces) // 100):  # 100 keys and runs of keys
        pieces[i] += " " + (key if i % 2 else key[3:30])
    with_keys = "\n".join(pieces)[:SIZE]
    blob = base64.b64encode(rng.randbytes(SIZE * 3 // 4)).decode()  # e.g. an image/png output
    accents = ("Größe Ärger déjà vu 東京 " * (SIZE // 30))[: SIZE // 2]  # ~10 MB UTF-8
    doc = {
        "data": {
            "application/json": {
                "rows": [
                    {"id": i, "name": f"row {i}", "tags": ["a", "b", f"{i:x}"], "note": "x" * 40}
                    for i in range(SIZE // 120)
                ]
            }
        }
    }
    doc_mb = len(json.dumps(doc)) / 1e6
    coloured = coloured_text(rng)
    table = html_table(rng)
    coloured_keys, table_keys = _split(key, coloured, html=False), _split(key, table, html=True)
    assert key[:12] not in coloured_keys and key[:12] not in table_keys  # only seen rendered
    assert "[REDACTED:openai]" in r.text(coloured_keys) and "[REDACTED:openai]" in r.text(
        table_keys
    )

    # design this module replaced: one regex alternation of the key's 12-character runs
    alternation = re.compile("|".join(re.escape(key[i : i + 12]) for i in range(len(key) - 11)))

    redacted = r.text(with_keys)
    assert key not in redacted and key[3:30] not in redacted

    def fresh(red: Redactor, method: str, data: Any) -> Callable[[], Any]:
        def call() -> Any:
            red.recent.clear()  # time the first look at an output, not the cached second
            return getattr(red, method)(data)

        return call

    def second_look() -> Any:
        copy = frame[:-1] + frame[-1:]  # equal text, another object, as the kernel has it
        return r.text(copy)

    r.recent.clear()
    r.text(frame)  # the first look, when the output was sent
    cases: list[tuple[str, float, Callable[[], Any]]] = [
        ("dataframe text, second look at an equal copy (kept for %notebook)", MB, second_look),
        ("dataframe text, no key in it", MB, fresh(r, "text", frame)),
        ("dataframe text, 100 keys and runs in it", MB, fresh(r, "text", with_keys)),
        ("dataframe text, 21 keys registered", MB, fresh(many, "text", frame)),
        ("base64 blob (image output)", len(blob) / 1e6, fresh(r, "text", blob)),
        ("non-ASCII text", len(accents.encode()) / 1e6, fresh(r, "text", accents)),
        ("nested JSON display data", doc_mb, fresh(r, "obj", doc)),
        (
            "ANSI-coloured output (1 MB, every word coloured), no key",
            len(coloured) / 1e6,
            fresh(r, "text", coloured),
        ),
        (
            "ANSI-coloured output (1 MB), 10 keys split by colours",
            len(coloured_keys) / 1e6,
            fresh(r, "text", coloured_keys),
        ),
        (
            "HTML table (1 MB, as DataFrame.to_html), no key",
            len(table) / 1e6,
            fresh(r, "text", table),
        ),
        (
            "HTML table (1 MB), 10 keys split into spans",
            len(table_keys) / 1e6,
            fresh(r, "text", table_keys),
        ),
        (
            "regex alternation of 12-char runs, 1 key (not used)",
            MB,
            lambda: alternation.search(frame),
        ),
    ]
    rows = [
        {
            "name": "print: ipykernel send of 10 MB, no redaction",
            "seconds": send,
            "MB/s": MB / send,
            "ratio": 1.0,
        }
    ]
    for name, mb, fn in cases:
        seconds = _best(fn)
        rows.append(
            {
                "name": name,
                "seconds": seconds,
                "MB/s": mb / seconds,
                "ratio": (send * mb / MB + seconds) / (send * mb / MB),
            }
        )
    assert redact("x") == "x"
    return rows


def _print_once(kc: Any, n: int) -> float:
    code = f"print(frame[:-9] + '{n:08d}')"  # a new text each time: nothing cached
    received = 0

    def hook(msg: dict[str, Any]) -> None:
        nonlocal received
        if msg["msg_type"] == "stream":
            received += len(msg["content"]["text"])

    t0 = time.perf_counter()
    kc.execute_interactive(code, timeout=300, output_hook=hook)
    seconds = time.perf_counter() - t0
    assert received >= SIZE, received
    return seconds


def _kernel_best(
    cases: list[tuple[str, dict[str, str], str]], repeat: int = 15
) -> dict[str, float]:
    """Best time of each case, the cases taking turns (so a busy moment hits them alike)."""
    from jupyter_client.manager import start_new_kernel

    kernels = []
    try:
        for name, env, setup in cases:
            km, kc = start_new_kernel(kernel_name="python3", env=env)
            kernels.append((name, km, kc))
            kc.execute_interactive(setup, timeout=120, output_hook=lambda msg: None)
        best = {name: float("inf") for name, _, _ in kernels}
        for n in range(repeat):
            for name, _km, kc in kernels:
                best[name] = min(best[name], _print_once(kc, n))
                kc.execute_interactive("pass", timeout=60, output_hook=lambda msg: None)
        return best
    finally:
        for _name, km, kc in kernels:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def kernel_rows() -> list[dict[str, Any]]:
    key = "sk-proj-" + secrets.token_urlsafe(36)
    setup = (
        "import random, sys\n"
        f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
        "from bench_redact import dataframe_text\n"
        "frame = dataframe_text(random.Random(7))\n"
    )
    load = (
        "%load_ext nbsecrets\nfrom nbsecrets import redaction\n"
        f"redaction.register('openai', {key!r})\n"
    )
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("NBSECRETS_")}
    cases = [
        ("kernel: print 10 MB, no key loaded", base_env, setup),
        (
            "kernel: print 10 MB, key loaded, NBSECRETS_REDACT=0",
            {**base_env, "NBSECRETS_REDACT": "0"},
            setup + load,
        ),
        ("kernel: print 10 MB, key loaded, redaction on", base_env, setup + load),
    ]
    best = _kernel_best(cases)
    plain = best[cases[0][0]]
    return [
        {"name": name, "seconds": best[name], "MB/s": MB / best[name], "ratio": best[name] / plain}
        for name, _, _ in cases
    ]


def fd_rows() -> list[dict[str, Any]]:
    """10 MB written at fd level (``os.write``, 64 KB at a time) to the kernel's stdout.

    Directly, and through :class:`nbsecrets.notebook.fdtee.Tee` (what the kernel hooks put
    on the descriptors that reach the server's log): with no key loaded, where it copies, and
    with a key loaded, where it redacts. Timed until the last byte has reached the file.
    Registers a key in this process, so it runs last.
    """
    import tempfile

    from nbsecrets import redaction
    from nbsecrets.notebook.fdtee import Tee

    data = dataframe_text(random.Random(7)).encode()
    chunk = 1 << 16

    def write_all(fd: int) -> None:
        view = memoryview(data)
        for i in range(0, len(data), chunk):
            os.write(fd, view[i : i + chunk])

    def timed(tee: bool) -> Callable[[], None]:
        def call() -> None:
            with tempfile.TemporaryFile() as f:
                t = Tee(f.fileno()) if tee else None
                write_all(f.fileno())
                if t is not None:
                    t.close(timeout=60)
                assert os.fstat(f.fileno()).st_size >= len(data) - 4096

        return call

    direct = _best(timed(False))
    rows = [
        {
            "name": "fd level: os.write 10 MB to the kernel's stdout, no tee",
            "seconds": direct,
            "MB/s": MB / direct,
            "ratio": 1.0,
        }
    ]
    copied = _best(timed(True))
    rows.append(
        {
            "name": "fd level: through the tee, no key loaded (copied)",
            "seconds": copied,
            "MB/s": MB / copied,
            "ratio": copied / direct,
        }
    )
    redaction.register("openai", _key(random.Random(11)))
    redacted = _best(timed(True))
    rows.append(
        {
            "name": "fd level: through the tee, key loaded (redacted)",
            "seconds": redacted,
            "MB/s": MB / redacted,
            "ratio": redacted / direct,
        }
    )
    return rows


def run(kernel: bool = True) -> list[dict[str, Any]]:
    """Every benchmark row: name, seconds, MB/s, ratio to printing without redaction."""
    rows = in_process_rows()
    if kernel:
        rows += kernel_rows()
    rows += fd_rows()
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| case | seconds | MB/s | ratio to printing without redaction |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['name']} | {row['seconds']:.4f} | {row['MB/s']:.0f} | {row['ratio']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(run(kernel="--no-kernel" not in sys.argv[1:])))
