"""Side-by-side benchmarks; writes docs/benchmarks.md.

    python benchmarks/run.py [--reps 7] [--out docs/benchmarks.md]
    python benchmarks/run.py --only warm    # the warm-get comparison alone, spliced in
    python benchmarks/run.py --only keyless # the federated load (bench_keyless.py), spliced in
    python benchmarks/run.py --only scan    # nbsecrets scan beside detect-secrets, spliced in

The leak-scan section needs the jupyter/nbconvert and jupyterlab/jupyterlab git mirrors
(benchmarks/bench_scan.py); where they are missing, a full run keeps that section from the
file it replaces, saying so, instead of dropping it.

One moto server on 127.0.0.1, started here, serves every measurement. Each measurement runs
in a process of its own (benchmarks/measure.py), so the server and the client never share a
GIL: raw boto3 ``get_secret_value``, aws-secretsmanager-caching ``SecretCache``, Lambda
Powertools ``parameters.get_secret`` (and ``get_secrets_by_name``) and nbsecrets.

Fresh-process requests are counted at the server, by a WSGI middleware in front of moto (a
proxy without the extra hop); in-process ones by botocore ``before-send`` events.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MEASURE = HERE / "measure.py"
KEY_COUNTS = (1, 10, 20, 40)
TOOLS = {
    "boto3": "raw boto3 `get_secret_value`",
    "caching": "aws-secretsmanager-caching `SecretCache`",
    "powertools": "Powertools `parameters.get_secret`",
    "powertools-batch": "Powertools `get_secrets_by_name`",
    "nbsecrets": "nbsecrets",
}
COLD_TOOLS = ("boto3", "caching", "powertools", "nbsecrets")
WARM_TOOLS = ("boto3", "caching", "powertools", "nbsecrets")
WARM_PROCESSES = 7  # per library, the libraries taking turns; each times 7 rounds


class CountingMotoServer(ThreadedMotoServer):
    """moto's threaded server with a counter of Secrets Manager actions in front of it."""

    def __init__(self) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)

        def counting(environ, start_response):
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if target.startswith("secretsmanager."):
                with self._lock:
                    self.counts[target.partition(".")[2]] += 1
            return app(environ, start_response)

        self._server = make_server(
            self._ip_address, self._port, counting, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()

    def taken(self) -> int:
        """Requests since the last call."""
        with self._lock:
            total = sum(self.counts.values())
            self.counts.clear()
        return total


def child(env: dict[str, str], *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, str(MEASURE), *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return json.loads(out.stdout.splitlines()[-1])


def median_of(reps: int, env: dict[str, str], *args: str) -> dict:
    runs = [child(env, *args) for _ in range(reps)]
    return {"s": statistics.median(r["s"] for r in runs), "runs": runs}


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "-"

    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} logical cores",
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": ", ".join(
            f"{d} {version(d)}"
            for d in (
                "nbsecrets",
                "boto3",
                "botocore",
                "aws-secretsmanager-caching",
                "aws-lambda-powertools",
                "moto",
                "ipython",
            )
        ),
    }


def start() -> tuple[CountingMotoServer, dict[str, str]]:
    """The counting moto server, seeded, and the environment every measurement runs in."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = CountingMotoServer()
    server.start()
    host, port = server.get_host_and_port()
    tmp = Path(tempfile.mkdtemp(prefix="nbsecrets-bench-"))
    for name in ("aws-config", "aws-credentials"):
        (tmp / name).write_text("")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "NBSECRETS_", "POWERTOOLS_"))
        and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_CONFIG_FILE": str(tmp / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "NBSECRETS_CONFIG": str(tmp / "no-config.toml"),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]),
            # Bytecode cached for every library, as after a pip install (an editable checkout
            # run with PYTHONDONTWRITEBYTECODE would compile nbsecrets on every import).
            "PYTHONPYCACHEPREFIX": str(tmp / "pycache"),
        }
    )
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        sm = boto3.client("secretsmanager", region_name="us-east-1")
        sm.create_secret(Name="nbsecrets/openai", SecretString="sk-bench-" + "o" * 40)
        for i in range(max(KEY_COUNTS)):
            sm.create_secret(
                Name=f"nbsecrets/b{i:02d}", SecretString=f"sk-bench-{i:02d}" + "k" * 40
            )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    server.taken()
    return server, env


def warm_section(env: dict[str, str], server: CountingMotoServer) -> dict:
    """The warm cached get of each library, in one run: WARM_PROCESSES processes per library,
    the libraries taking turns (so each sees the same machine), the best round of all."""
    runs: dict[str, list[dict]] = {t: [] for t in WARM_TOOLS}
    for _ in range(WARM_PROCESSES):
        for tool in WARM_TOOLS:
            runs[tool].append(child(env, "warm", tool))
            server.taken()
    return {
        "machine": machine(),
        "processes": WARM_PROCESSES,
        "tools": {
            t: {
                "s": min(r["s"] for r in got),
                "median_s": statistics.median(r["median_s"] for r in got),
                "requests_per_call": max(r["requests_per_call"] for r in got),
            }
            for t, got in runs.items()
        },
    }


def measure(reps: int) -> dict:
    server, env = start()
    for tool in COLD_TOOLS:  # warm-up: write the bytecode caches, fill the OS file cache
        child(env, "cold", tool)
    child(env, "load_ext")
    server.taken()

    results: dict = {"machine": machine(), "reps": reps}
    cold = {}
    for tool in COLD_TOOLS:
        runs = []
        for _ in range(reps):
            run = child(env, "cold", tool)
            run["requests"] = server.taken()
            runs.append(run)
        cold[tool] = {
            "s": statistics.median(r["s"] for r in runs),
            "requests": max(r["requests"] for r in runs),
        }
    results["cold"] = cold

    inproc = {}
    for tool in TOOLS:
        counts = [str(n) for n in KEY_COUNTS]
        inproc[tool] = child(env, "inproc", tool, *counts)
        server.taken()
    results["inproc"] = inproc
    results["warm"] = warm_section(env, server)

    results["import"] = {
        "nbsecrets": median_of(reps, env, "import"),
        "boto3": median_of(reps, env, "import-other", "import boto3"),
    }
    imp = results["import"]["nbsecrets"]
    imp["modules"] = imp["runs"][0]["modules"]
    imp["heavy"] = sorted({m for r in imp["runs"] for m in r["heavy"]})
    results["import"]["boto3"]["modules"] = results["import"]["boto3"]["runs"][0]["modules"]
    ext = median_of(reps, env, "load_ext")
    ext["modules"] = ext["runs"][0]["modules"]
    ext["heavy"] = sorted({m for r in ext["runs"] for m in r["heavy"]})
    results["load_ext"] = ext
    results["run"] = run_section(env, max(reps, 11))
    server.stop()

    results["redact"] = redact_section()
    results["keyless"] = keyless_section(reps)
    return results


def _redact_module():
    sys.path.insert(0, str(ROOT / "src"))
    spec = importlib.util.spec_from_file_location("bench_redact", HERE / "bench_redact.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def redact_section() -> list[dict] | None:
    """benchmarks/bench_redact.py's rows, when that benchmark is present."""
    if not (HERE / "bench_redact.py").is_file():
        return None
    try:
        return list(_redact_module().run())
    except Exception as exc:  # report it; the other sections still stand
        return [{"error": f"bench_redact.py failed: {type(exc).__name__}: {exc}"}]


def _keyless_module():
    spec = importlib.util.spec_from_file_location("bench_keyless", HERE / "bench_keyless.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def keyless_section(reps: int) -> dict | None:
    """benchmarks/bench_keyless.py: a federated load of two providers beside two keys, with
    the requests each sends (its own moto, loopback STS and providers, in this process)."""
    if not (HERE / "bench_keyless.py").is_file():
        return None
    try:
        module = _keyless_module()
        result = module.run(reps)
        return {**result, "table": module.table(result)}
    except Exception as exc:  # report it; the other sections still stand
        return {"error": f"bench_keyless.py failed: {type(exc).__name__}: {exc}"}


KEYLESS_TITLE = "## Keyless providers: a federated `%aikey`"


def keyless_lines(k: dict) -> list[str]:
    if "error" in k:
        return [KEYLESS_TITLE, "", k["error"]]
    return [
        KEYLESS_TITLE,
        "",
        'From `benchmarks/bench_keyless.py`: `nbsecrets.load("openai", "anthropic")` from an '
        "empty cache in a warm process, keys beside federation settings, and raw boto3 reading "
        "the two keys. Requests are counted at the servers: one batch read, then one STS "
        "GetWebIdentityToken per audience and one OpenAI token exchange (Anthropic's SDK "
        "exchanges later, by itself). STS and the providers are loopback servers that sign "
        "and verify real RS256 JWTs (the JWKS fetched over HTTP at each exchange); real ones "
        "add a network round trip each.",
        "",
        k["table"],
    ]


def _bounds(lines: list[str], title: str) -> tuple[int, int] | None:
    """Where section ``title`` is in ``lines``: its title up to the next ``## ``; None if absent."""
    if title not in lines:
        return None
    start = lines.index(title)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return start, end


def splice_keyless(text: str, k: dict) -> str:
    """``text`` with its keyless section replaced, or put before the redaction section."""
    lines = text.splitlines()
    bounds = _bounds(lines, KEYLESS_TITLE)
    if bounds is None:
        at = next((i for i, line in enumerate(lines) if line == "## Redaction"), len(lines))
        bounds = (at, at)
    start, end = bounds
    lines[start:end] = [*keyless_lines(k), ""]
    return "\n".join(lines) + "\n"


def run_section(env: dict[str, str], reps: int) -> dict | None:
    """benchmarks/bench_run.py: `nbsecrets run` against a raw boto3 script, cold."""
    if not (HERE / "bench_run.py").is_file():
        return None
    spec = importlib.util.spec_from_file_location("bench_run", HERE / "bench_run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.run(env, reps)
    return {**result, "table": module.table(result)}


# -- the report ---------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


WARM_TITLE = "## Warm cached get"


def warm_target(w: dict) -> tuple[str, str, float, float, str, str]:
    nb, pt = w["tools"]["nbsecrets"]["s"], w["tools"]["powertools"]["s"]
    return (
        "warm cached get",
        "≤ 1.0x Powertools `get_secret`",
        nb / pt,
        1.0,
        f"{us(nb)} vs {us(pt)}",
        "each nbsecrets.get checks that the watched variables and the config file have not changed",
    )


def target_row(row: tuple[str, str, float, float, str, str]) -> list[str]:
    what, target, ratio, limit, detail, why = row
    shown = f"{ratio:.2f}"
    if (float(shown) <= limit) != (ratio <= limit):  # the verdict sits inside the rounding
        shown = f"{ratio:.3f}"
    return [
        what,
        target,
        f"**{shown}x** ({detail})",
        "met" if ratio <= limit else f"**missed**: {why}",
    ]


def warm_lines(w: dict) -> list[str]:
    """The warm-get section: every library in one run, as ratios to Powertools."""
    tools, m = w["tools"], w["machine"]
    pt = tools["powertools"]["s"]
    return [
        WARM_TITLE,
        "",
        "The same key again and again in one process once it has been fetched (raw boto3 has "
        "no cache: every call is a request). One run: "
        f"{w['processes']} processes per library, the libraries taking turns; each process "
        "times 7 rounds of calls, and the table shows the best round of all (min of "
        f"{w['processes'] * 7}) and the median. Run {m['date']}, Python {m['python']}.",
        "",
        *md_table(
            [
                "library",
                "per call (min)",
                "x Powertools (min)",
                "per call (median)",
                "x Powertools (median)",
                "requests per call",
            ],
            [
                [
                    TOOLS[t],
                    us(tools[t]["s"]),
                    f"{tools[t]['s'] / pt:.2f}x",
                    us(tools[t]["median_s"]),
                    f"{tools[t]['median_s'] / tools['powertools']['median_s']:.2f}x",
                    f"{tools[t]['requests_per_call']:g}",
                ]
                for t in WARM_TOOLS
            ],
        ),
    ]


def splice_warm(text: str, w: dict) -> str:
    """``text`` (docs/benchmarks.md) with its warm-get section and target row replaced."""
    lines = text.splitlines()
    bounds = _bounds(lines, WARM_TITLE)
    if bounds is None:
        raise ValueError(f"no {WARM_TITLE!r} section to replace")
    start, end = bounds
    lines[start:end] = [*warm_lines(w), ""]
    row = md_table(["measure", "target", "measured", "result"], [target_row(warm_target(w))])
    at = next(i for i, line in enumerate(lines) if line.startswith("| warm cached get |"))
    lines[at] = row[-1]
    return "\n".join(lines) + "\n"


def targets(r: dict) -> list[list[str]]:
    inproc, cold = r["inproc"], r["cold"]
    ten_nb = inproc["nbsecrets"]["many"]["10"]["s"]
    ten_b3 = inproc["boto3"]["many"]["10"]["s"]
    cold_nb, cold_b3 = cold["nbsecrets"]["s"], cold["boto3"]["s"]
    heavy = r["import"]["nbsecrets"]["heavy"] + r["load_ext"]["heavy"]
    rows = [
        (
            "10 keys, cache cold",
            "≤ 0.25x sequential boto3",
            ten_nb / ten_b3,
            0.25,
            f"{ms(ten_nb)} vs {ms(ten_b3)}",
            "a BatchGetSecretValue round trip costs more than a tenth of ten GetSecretValue "
            "round trips on this machine",
        ),
        warm_target(r["warm"]),
        (
            "cold single key, fresh process",
            "≤ 1.1x raw boto3",
            cold_nb / cold_b3,
            1.1,
            f"{ms(cold_nb)} vs {ms(cold_b3)}",
            "nbsecrets imports its own modules and reads its configuration before boto3 runs",
        ),
    ]
    if r.get("run"):
        run, s = r["run"], r["run"]["s"]
        rows.append(
            (
                "`nbsecrets run -- python -c pass`, cold",
                "≤ 1.1x raw boto3 script",
                run["ratio"],
                run["target"],
                f"{ms(s['nbsecrets'])} vs {ms(s['boto3'])}",
                "nbsecrets imports its modules and reads its configuration before boto3",
            )
        )
    kernel = {row.get("name"): row for row in r.get("redact") or []}
    on = kernel.get("kernel: print 10 MB, key loaded, redaction on")
    off = kernel.get("kernel: print 10 MB, no key loaded")
    if on and off:
        rows.append(
            (
                "print 10 MB in a kernel, key loaded",
                "≤ 1.2x no key loaded",
                on["seconds"] / off["seconds"],
                1.2,
                f"{ms(on['seconds'])} vs {ms(off['seconds'])}",
                "the redactor scans each output before it is sent",
            )
        )
    out = [target_row(row) for row in rows]
    out.append(
        [
            "`import nbsecrets`, `%load_ext nbsecrets`",
            "import no boto3/botocore",
            ", ".join(heavy) or "none imported",
            "met" if not heavy else "**missed**",
        ]
    )
    return out


def render(r: dict) -> str:
    m = r["machine"]
    inproc, cold = r["inproc"], r["cold"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python benchmarks/run.py`; do not edit by hand.",
        "",
        f"- Date: {m['date']}",
        f"- Machine: {m['cpu']}; {m['os']}",
        f"- Python {m['python']}; {m['versions']}",
        f"- Server: one moto server on 127.0.0.1 started by the benchmark; every measurement in "
        f"its own process, bytecode cached for every library (as after `pip install`). Times "
        f"are medians of {r['reps']} runs; the machine is shared, so expect a few percent of "
        "noise between runs.",
        "",
        "## Targets",
        "",
        *md_table(["measure", "target", "measured (nbsecrets / peer)", "result"], targets(r)),
        "",
        "## Cold first fetch, fresh process",
        "",
        "From before the library's import to the value in hand, in a new Python process "
        "(interpreter start-up excluded); one key. Requests counted at the server.",
        "",
        *md_table(
            ["library", "time", "x raw boto3", "requests"],
            [
                [TOOLS[t], ms(c["s"]), f"{c['s'] / cold['boto3']['s']:.2f}x", str(c["requests"])]
                for t, c in cold.items()
            ],
        ),
        "",
        *warm_lines(r["warm"]),
        "",
        "## Several keys, cache cold",
        "",
        "N different keys with an empty cache, in a process whose client and connection are "
        "already warm (one earlier fetch). nbsecrets sends up to 20 ids per "
        "BatchGetSecretValue; Powertools' `get_secrets_by_name` batches with a name filter; "
        "the others send one GetSecretValue per key.",
        "",
    ]
    headers = ["library"] + [f"{n} key{'s' if n > 1 else ''}" for n in KEY_COUNTS]
    rows = []
    for t in TOOLS:
        cells = [TOOLS[t]]
        for n in KEY_COUNTS:
            got = inproc[t]["many"][str(n)]
            base = inproc["boto3"]["many"][str(n)]["s"]
            cells.append(f"{ms(got['s'])} ({got['s'] / base:.2f}x), {got['requests']} req")
        rows.append(cells)
    lines += md_table(headers, rows)
    imp, b3, ext = r["import"]["nbsecrets"], r["import"]["boto3"], r["load_ext"]
    lines += [
        "",
        "Each cell: time (x sequential raw boto3), requests sent. SecretCache sends "
        "DescribeSecret before GetSecretValue for each secret it has not seen. moto answered "
        "Powertools' filtered batch for 40 names in one page; AWS pages it at 20, so expect 2 "
        "requests there, as nbsecrets sends. nbsecrets reads even one key with "
        "BatchGetSecretValue, which moto answers slightly slower than GetSecretValue (the "
        "1-key column).",
        "",
        "## Import and extension load",
        "",
        *md_table(
            ["what", "time", "modules imported", "boto3/botocore among them"],
            [
                [
                    "`import nbsecrets`",
                    ms(imp["s"]),
                    str(imp["modules"]),
                    ", ".join(imp["heavy"]) or "no",
                ],
                [
                    "`%load_ext nbsecrets` (IPython already running)",
                    ms(ext["s"]),
                    str(ext["modules"]),
                    ", ".join(ext["heavy"]) or "no",
                ],
                ["`import boto3`, for comparison", ms(b3["s"]), str(b3["modules"]), "yes"],
            ],
        ),
        "",
        "boto3 is imported by the first fetch, not before.",
    ]
    if r.get("run"):
        lines += [
            "",
            "## `nbsecrets run`, cold",
            "",
            "From `benchmarks/bench_run.py`: a job's hand-off, from the command to the "
            "program running with the key in its environment, each in a fresh process "
            "(interpreter start-ups included).",
            "",
            r["run"]["table"],
        ]
    if r.get("keyless"):
        lines += ["", *keyless_lines(r["keyless"])]
    if r.get("redact"):
        rows = r["redact"]
        lines += [
            "",
            "## Redaction",
            "",
            "From `benchmarks/bench_redact.py`: the cost of redacting a 10 MB output. The "
            "kernel rows print 10 MB in a real kernel; the others time the redactor "
            "alone on 10 MB of each kind of output, and on 1 MB of marked-up output (a "
            "highlighter's ANSI colours, an HTML table), which is also read as it renders: "
            "with no key in it, and with ten keys split into pieces by the markup.",
            "",
            "Kernel rows: from the execute request to idle with all output received, "
            "best of 15 rounds with the three kernels taking turns (target: redaction on "
            "within 1.2x of no key). A large print goes out in 256 KB pieces, each "
            "redacted as the one before is delivered, so the front end's work overlaps "
            "the redaction; with no key loaded ipykernel sends the 10 MB as one message, "
            "which the client takes longer to receive and parse than the pieces, so "
            "redaction on can read below 1.00x. The redactor's CPU cost is the in-process "
            "rows (large texts are scanned with numpy where it is installed, as here). fd-level "
            "rows: 10 MB written with `os.write` to a file, directly and through the tee "
            "that redacts the kernel's own stdout/stderr (the server's log); their ratio "
            "is to the direct write.",
            "",
        ]
        if any("error" in row for row in rows):
            lines += [str(row) for row in rows]
        else:
            lines.append(_redact_module().table(rows))
    return "\n".join(lines) + "\n"


SCAN_TITLE = "## Leak scan: `nbsecrets scan` beside detect-secrets"
KEPT = "(Kept from the previous run:"


def scan_lines(copies: int = 3, reps: int = 1) -> list[str] | None:
    """benchmarks/bench_scan.py's section; None when its git mirrors are not on this machine."""
    spec = importlib.util.spec_from_file_location("bench_scan", HERE / "bench_scan.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not all((module.MIRRORS / name).exists() for name in module.SOURCES):
        return None
    tmp = Path(tempfile.mkdtemp(prefix="nbsecrets-bench-scan-"))
    try:
        notebooks = module.mirror_notebooks(tmp, copies)
        body = module.markdown(module.run(tmp, reps), notebooks, copies)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    note = f"Measured {when} with `bench_scan.py --copies {copies} --reps {reps}`."
    return [*body.splitlines(), "", note]


def splice_section(text: str, title: str, lines: list[str]) -> str:
    """``text`` with the section ``title`` replaced by ``lines``, or ``lines`` appended."""
    old = text.splitlines()
    bounds = _bounds(old, title)
    if bounds is None:
        while old and not old[-1]:
            old.pop()
        old.append("")
        bounds = (len(old), len(old))
    start, end = bounds
    old[start:end] = [*lines, ""]
    return "\n".join(old).rstrip("\n") + "\n"


def section(text: str, title: str) -> list[str] | None:
    """The lines of section ``title`` in ``text`` (title included), or None."""
    lines = text.splitlines()
    bounds = _bounds(lines, title)
    if bounds is None:
        return None
    start, end = bounds
    while end > start and not lines[end - 1]:
        end -= 1
    return lines[start:end]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7, help="runs per median (default 7)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--json", type=Path, default=None, help="also save the raw results")
    parser.add_argument(
        "--only",
        choices=["warm", "keyless", "scan"],
        default=None,
        help="measure one section and splice it into --out (which must exist)",
    )
    args = parser.parse_args(argv)
    if args.only == "scan":
        scan = scan_lines()
        if scan is None:
            print("The leak-scan benchmark needs the git mirrors bench_scan.py names.")
            return 1
        args.out.write_text(
            splice_section(args.out.read_text(encoding="utf-8"), SCAN_TITLE, scan),
            encoding="utf-8",
        )
        print("\n".join(scan))
        print(f"Spliced into {args.out}")
        return 0
    if args.only == "keyless":
        keyless = keyless_section(args.reps)
        assert keyless is not None
        args.out.write_text(
            splice_keyless(args.out.read_text(encoding="utf-8"), keyless), encoding="utf-8"
        )
        print("\n".join(keyless_lines(keyless)))
        print(f"Spliced into {args.out}")
        return 0
    if args.only == "warm":
        server, env = start()
        try:
            child(env, "warm", "nbsecrets")  # warm-up: bytecode caches, the OS file cache
            warm = warm_section(env, server)
        finally:
            server.stop()
        if args.json:
            args.json.write_text(json.dumps(warm, indent=2, default=str))
        args.out.write_text(
            splice_warm(args.out.read_text(encoding="utf-8"), warm), encoding="utf-8"
        )
        print("\n".join(warm_lines(warm)))
        print(f"Spliced into {args.out}")
        return 0
    results = measure(args.reps)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    text = render(results)
    scan = scan_lines()
    if scan is None:  # no mirrors here: keep the last measurement rather than drop it
        previous = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        kept = section(previous, SCAN_TITLE)
        if kept is not None:
            kept = [line for line in kept if not line.startswith(KEPT)]
            scan = [*kept, "", f"{KEPT} the git mirrors bench_scan.py reads were not found.)"]
    if scan is not None:
        text = splice_section(text, SCAN_TITLE, scan)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
