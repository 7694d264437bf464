"""A loaded key never reaches the kernel's own stdout and stderr (the Jupyter server's log).

The kernel is started by jupyter_client with its stdout and stderr sent to files, as a Jupyter
server runs it; each cell writes the key around the kernel's messages (fd level, a child
process, the kernel's loggers). Run with redaction on, the files and the stream messages hold
no 12-character run of the key; with ``NBSECRETS_REDACT=0`` each channel shows it, which proves
each check can fail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.kernel.test_leaks import kernel_env, leaks, seed_keys
from tests.keys import make_key

pytestmark = pytest.mark.kernel

SETUP = (
    "%load_ext nbsecrets\n%aikey openai\n"
    "import logging, multiprocessing, os, subprocess, sys, time, traitlets\n"
    "key = os.environ['OPENAI_API_KEY']"
)

# channel -> (cell, tag): the tag starts the line that carries the key
CHANNELS: dict[str, tuple[str, str]] = {
    "subprocess_env": ("subprocess.run(['env'])", "OPENAI_API_KEY="),
    "os_system": ("os.system('echo os_system: $OPENAI_API_KEY')", "os_system:"),
    "os_system_stderr": (
        "os.system('echo os_system_stderr: $OPENAI_API_KEY >&2')",
        "os_system_stderr:",
    ),
    "fd1": ("os.write(1, f'fd1: {key}\\n'.encode())", "fd1:"),
    "fd2": ("os.write(2, f'fd2: {key}\\n'.encode())", "fd2:"),
    "dunder_stdout": (
        "print('dunder_stdout:', key, file=sys.__stdout__, flush=True)",
        "dunder_stdout:",
    ),
    "multiprocessing_child": (
        "p = multiprocessing.get_context('fork').Process(\n"
        "    target=os.system, args=('echo multiprocessing_child: $OPENAI_API_KEY',))\n"
        "p.start(); p.join()",
        "multiprocessing_child:",
    ),
    "multiprocessing_spawn": (
        "q = multiprocessing.get_context('spawn').Process(\n"
        "    target=os.system, args=('echo multiprocessing_spawn: $OPENAI_API_KEY',))\n"
        "q.start(); q.join()",
        "multiprocessing_spawn:",
    ),
    "kernel_log": ("get_ipython().kernel.log.error('kernel_log: %s', key)", "kernel_log:"),
    "traitlets_log": (
        "traitlets.log.get_logger().error('traitlets_log: %s', key)",
        "traitlets_log:",
    ),
    # one line written in two pieces, with a pause between them: two reads of the pipe
    "split_write": (
        "os.write(1, f'split_write: {key[:25]}'.encode()); time.sleep(0.02)\n"
        "os.write(1, f'{key[25:]}\\n'.encode())",
        "split_write:",
    ),
}


def _lines(text: str, tag: str) -> str:
    return "\n".join(line for line in text.splitlines() if tag in line)


def _run(endpoint: str, tmp: Path, redact: bool, shape: str) -> tuple[str, dict[str, str], str]:
    """Run the cells; return the server log (stdout + stderr files), stream text per channel."""
    from jupyter_client.manager import KernelManager

    key = make_key(shape)
    env = kernel_env(endpoint, tmp, redact)
    seed_keys(endpoint, env, openai=key)
    out_path, err_path = tmp / "kernel.out", tmp / "kernel.err"
    km = KernelManager(kernel_name="python3")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        km.start_kernel(env=env, cwd=str(tmp), stdout=out, stderr=err)
    kc = km.client()
    kc.start_channels()
    streams: dict[str, str] = {}
    try:
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive(SETUP, timeout=60, output_hook=lambda m: None)
        assert reply["content"]["status"] == "ok", reply["content"]
        for channel, (code, _tag) in CHANNELS.items():
            texts: list[str] = []

            def keep(msg: dict[str, Any], texts: list[str] = texts) -> None:
                if msg["msg_type"] == "stream":
                    texts.append(msg["content"]["text"])

            reply = kc.execute_interactive(code, timeout=60, output_hook=keep)
            assert reply["content"]["status"] == "ok", (channel, reply["content"])
            # fd output reaches ipykernel's relay after the cell may have ended: let it come
            # (on a loaded machine that takes a while: up to 150 rounds of 0.2 s, stopping early)
            for _round in range(150):
                kc.execute_interactive("time.sleep(0.2)", timeout=60, output_hook=keep)
                if channel.endswith("_log") or _tag in "".join(texts):
                    break
            streams[channel] = "".join(texts)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    log = (
        out_path.read_bytes().decode("utf-8", "replace")
        + "\n"
        + err_path.read_bytes().decode("utf-8", "replace")
    )
    return log, streams, key


@pytest.fixture(scope="module", params=[True, False], ids=["on", "off"])
def fd_run(request, tmp_path_factory, key_shape) -> tuple[bool, str, dict[str, str], str]:
    redact = request.param
    tmp = tmp_path_factory.mktemp("fd-on" if redact else "fd-off")
    log, streams, key = _run(request.getfixturevalue("moto_endpoint"), tmp, redact, key_shape)
    return redact, log, streams, key


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_server_log_channel(fd_run, channel):
    redact, log, _streams, key = fd_run
    shown = _lines(log, CHANNELS[channel][1])
    assert shown, f"{channel}: nothing reached the kernel's stdout/stderr files"
    if redact:
        assert leaks(shown, key) == [], shown
        assert "[REDACTED:openai]" in shown
    else:
        assert leaks(shown, key), f"{channel}: the server log shows no key even unredacted"


def test_server_log_holds_no_run_of_the_key(fd_run):
    redact, log, _streams, key = fd_run
    assert bool(leaks(log, key)) is not redact


@pytest.mark.parametrize("channel", [c for c in CHANNELS if not c.endswith("_log")])
def test_stream_messages_of_fd_output(fd_run, channel):
    """ipykernel relays fd-level output as stream messages too: those are redacted."""
    redact, _log, streams, key = fd_run
    shown = streams[channel]
    assert CHANNELS[channel][1] in shown, (channel, json.dumps(streams))
    assert bool(leaks(shown, key)) is not redact, shown
