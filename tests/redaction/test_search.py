"""The byte search: numpy's scan of large texts finds exactly what the pure-Python scan finds."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbsecrets.redaction import Redactor, forms, search
from nbsecrets.redaction.search import VECTOR_MIN

KEY = "sk-proj-Q2h7xY0aLm3NpRt5VwZ9bCdEfGhJkMnPqRsTuVwXyZ-Ab_c-d12"


def _redactor(values: dict[str, str]) -> Redactor:
    made = Redactor.of(values)
    assert made is not None
    return made


def _many_keys(n: int, seed: int = 1) -> dict[str, str]:
    rng = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return {
        "sk-ant-api03-" + "".join(rng.choice(alphabet) for _ in range(20 + i % 80)): f"p{i}"
        for i in range(n)
    }


def _text(rng: random.Random, size: int, plants: list[str]) -> bytes:
    """Random printable bytes of about ``size``, with each of ``plants`` put somewhere."""
    body = bytearray(rng.randbytes(size))
    for i, b in enumerate(body):  # printable, so plants sit among text-like bytes
        body[i] = 32 + b % 95
    for plant in plants:
        at = rng.randrange(0, len(body))
        body[at:at] = plant.encode()
    return bytes(body)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), extra=st.integers(0, 17), keys=st.integers(1, 25))
def test_the_vector_scan_finds_every_anchor_the_python_scan_finds(seed, extra, keys):
    values = _many_keys(keys, seed)
    r = _redactor(values)
    rng = random.Random(seed)
    plants = []
    for value in values:
        for form in forms(value)[:6]:
            start = rng.randrange(0, max(1, len(form) - 12))
            plants.append(form[start : start + rng.randrange(4, 30)])
    b = _text(rng, VECTOR_MIN + extra, plants)
    python = search._python_hits(b, r.index)
    assert python  # the plants give the scans something to find
    assert search._vector_hits(np, b, r.index) == python
    assert search._anchor_hits(b, r.index) == python


@pytest.mark.parametrize("tail", range(10))
def test_an_anchor_in_the_last_bytes_of_a_large_text_is_found(tail):
    r = _redactor({KEY: "openai"})
    b = b"." * (VECTOR_MIN + tail) + KEY[5:17].encode()
    expected = search._python_hits(b, r.index)
    assert expected and expected[-1][0] >= VECTOR_MIN
    assert search._vector_hits(np, b, r.index) == expected
    assert r.text(b.decode()) == "." * (VECTOR_MIN + tail) + "[REDACTED:openai]"


def test_a_large_text_with_every_anchor_value_still_agrees():
    """Each 9-byte slot holds an anchor of the index: every slot hits, none is missed."""
    r = _redactor(_many_keys(21))
    anchors = sorted(r.index.anchor_set)
    slots = [a.to_bytes(4, "little") + b"\x00" * 5 for a in anchors]
    b = b"".join(slots * (VECTOR_MIN // (9 * len(slots)) + 1))
    assert len(b) >= VECTOR_MIN
    hits = search._vector_hits(np, b, r.index)
    assert len(hits) == (len(b) - 4) // 9 + 1
    assert hits == search._python_hits(b, r.index)


PROBE = """
import json, sys
{block}
from nbsecrets import redaction
key = {key!r}
redaction.register("openai", key)
small = "x" * 1000 + key + "y" * 1000
out = {{"small": redaction.redact(small), "numpy_after_small": "numpy" in sys.modules}}
big = ("row 1234.5678 alpha\\n" * 20000) + key[3:40] + "tail"
out["big"] = redaction.redact(big)
out["numpy_after_big"] = "numpy" in sys.modules
print(json.dumps(out))
"""


def _probe(block: str) -> dict[str, object]:
    code = PROBE.format(block=block, key=KEY)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_numpy_is_imported_at_the_first_large_text_and_not_before():
    out = _probe("")
    assert out["numpy_after_small"] is False
    assert out["numpy_after_big"] is True
    assert KEY[3:15] not in out["big"] and out["big"].endswith("[REDACTED:openai]tail")
    assert out["small"] == "x" * 1000 + "[REDACTED:openai]" + "y" * 1000


def test_without_numpy_a_large_text_is_redacted_the_same():
    blocked = _probe("sys.modules['numpy'] = None  # import numpy raises ImportError")
    with_numpy = _probe("")
    assert blocked["big"] == with_numpy["big"]
    assert blocked["small"] == with_numpy["small"]
    assert KEY[3:15] not in blocked["big"]
