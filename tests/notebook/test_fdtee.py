"""The fd-level tee: nothing lost or reordered, keys replaced, a key split across reads caught.

Each test puts a :class:`Tee` on a descriptor that writes into a pipe this test reads, as the
kernel's stdout writes into the Jupyter server's log. The tests that look for the key run once
per key shape (tests/keys.py); the ones about bytes in order need a key loaded, of any shape.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from nbsecrets import redaction
from nbsecrets.notebook.fdtee import IDLE, Tee
from tests.keys import make_key


@pytest.fixture(autouse=True)
def _key_loaded() -> None:
    """Redaction active, as in a kernel with a key loaded."""
    redaction.register("openai", make_key("plus-slash"))


def _through_tee(writes: list[bytes], pause: float = 0.0) -> bytes:
    read_end, write_end = os.pipe()
    got: list[bytes] = []

    def drain() -> None:
        while chunk := os.read(read_end, 65536):
            got.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    fd = os.dup(write_end)
    os.close(write_end)
    tee = Tee(fd)
    for data in writes:
        os.write(fd, data)
        if pause:
            time.sleep(pause)
    tee.close()
    os.close(fd)
    reader.join(10)
    os.close(read_end)
    return b"".join(got)


def _runs(text: bytes, key: str) -> list[str]:
    return [key[i : i + 12] for i in range(len(key) - 11) if key[i : i + 12].encode() in text]


def test_nothing_lost_or_reordered():
    lines = [f"line {i:06d} {'x' * (i % 300)}\n".encode() for i in range(5000)]
    assert _through_tee(lines) == b"".join(lines)


def test_key_replaced(key):
    out = _through_tee([f"env: OPENAI_API_KEY={key}\n".encode()])
    assert out == b"env: OPENAI_API_KEY=[REDACTED:openai]\n"


def test_key_split_across_reads_after_an_idle_flush(key):
    # the first piece goes out alone (a partial line, after IDLE): the rest is checked with it
    out = _through_tee([b"split: " + key[:10].encode(), key[10:].encode() + b"\n"], pause=IDLE * 4)
    assert _runs(out, key) == []
    assert out.startswith(b"split: " + key[:10].encode()) and b"[REDACTED:openai]" in out


def test_partial_line_is_not_held_back():
    read_end, write_end = os.pipe()
    fd = os.dup(write_end)
    os.close(write_end)
    tee = Tee(fd)
    try:
        os.write(fd, b"progress 10%")
        assert os.read(read_end, 100) == b"progress 10%"  # came without a newline or close
    finally:
        tee.close()
        os.close(fd)
        os.close(read_end)
