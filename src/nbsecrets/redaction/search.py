"""Finding registered values in bytes, fast: 4-byte anchors every 9 bytes, then extension.

See :mod:`nbsecrets.redaction.matcher` for what is matched. This module holds the byte-level
search over an :class:`~nbsecrets.redaction.index.Index`.

The anchors of a large text (``VECTOR_MIN`` bytes and more: a big print's 256 KB pieces, a
pipe's 64 KB reads) are looked up with numpy when it is installed, as every notebook
environment has it: a strided view reads one 4-byte integer every 9 bytes without copying, a
multiplicative hash looks each up in a bit table of the index's anchors, and only the few that
hit are checked against the exact set in Python. That is about six times faster than the
pure-Python scan (``struct`` and a set per 36 KB), which does the work for smaller texts and
wherever numpy cannot be imported. Both find exactly the same anchors
(tests/redaction/test_search.py compares them). numpy is imported at the first large text,
never when nbsecrets is.
"""

from __future__ import annotations

import re
import struct
import threading
from collections.abc import Iterable
from typing import Any

from nbsecrets.redaction.index import ANCHOR, RUN, Index, marker

__all__ = ["STRIDE", "VECTOR_MIN", "ranges", "runs", "splice"]

STRIDE = 9  # one anchor every 9 bytes: any 12-byte window holds a whole 4-byte anchor
_CHUNK = 4096  # anchors per struct call (36 KB of text)
_UNPACKERS = tuple((n, struct.Struct("<" + "I5x" * n)) for n in (_CHUNK, 512, 64, 8, 1))


def _scan(
    buf: bytes, start: int, count: int, base: int, aset: frozenset[int], hits: list[tuple[int, int]]
) -> None:
    """Anchors ``start .. start+count`` of ``buf`` (anchor i at byte 9i); hits at ``base``+."""
    done = 0
    for size, unpacker in _UNPACKERS:
        unpack = unpacker.unpack_from
        while count - done >= size:
            off = (start + done) * STRIDE
            ints = unpack(buf, off)
            if not aset.isdisjoint(ints):
                common = aset.intersection(ints)
                if len(common) > 2:
                    hits.extend(
                        (base + off + STRIDE * i, v) for i, v in enumerate(ints) if v in common
                    )
                else:
                    for v in common:  # one or two: find them with C-level index()
                        i = ints.index(v)
                        while True:
                            hits.append((base + off + STRIDE * i, v))
                            try:
                                i = ints.index(v, i + 1)
                            except ValueError:
                                break
            done += size


VECTOR_MIN = 1 << 14  # texts this long (16 KB) are scanned with numpy where it is installed
_HASH = 2654435761  # Knuth's multiplicative hash: 4 bytes of text spread over the table
_numpy: Any = None  # numpy once imported; False when it cannot be
_numpy_lock = threading.Lock()
_tables: list[tuple[Index, Any, int]] = []  # (index, its bit table, shift): the last few


def _np() -> Any:
    """numpy, imported the first time a large text is scanned; None where it cannot be."""
    global _numpy
    if _numpy is None:
        with _numpy_lock:
            if _numpy is None:
                try:
                    import numpy
                except Exception:  # not installed, or broken: the pure-Python scan is used
                    _numpy = False
                else:
                    _numpy = numpy
    return _numpy or None


def _table(np: Any, ix: Index) -> tuple[Any, int]:
    """The bit table of ``ix``'s anchors (about 1 in 64 of its slots set) and its shift."""
    for known, table, shift in _tables:
        if known is ix:
            return table, shift
    bits = min(22, max(16, (len(ix.anchor_set) * 64).bit_length()))
    shift = 32 - bits
    table = np.zeros(1 << bits, dtype=bool)
    anchors = np.fromiter(ix.anchor_set, dtype=np.uint32, count=len(ix.anchor_set))
    table[(anchors * np.uint32(_HASH)) >> np.uint32(shift)] = True
    _tables.insert(0, (ix, table, shift))
    del _tables[4:]
    return table, shift


def _vector_hits(np: Any, b: bytes, ix: Index) -> list[tuple[int, int]]:
    """:func:`_anchor_hits` with numpy: the same hits, in order."""
    table, shift = _table(np, ix)
    count = (len(b) - ANCHOR) // STRIDE + 1
    anchors = np.ndarray((count,), dtype="<u4", buffer=b, strides=(STRIDE,))
    slots = anchors * np.uint32(_HASH)
    slots >>= np.uint32(shift)
    maybe = np.flatnonzero(table[slots])
    aset = ix.anchor_set
    return [
        (STRIDE * i, v)
        for i, v in zip(maybe.tolist(), anchors[maybe].tolist(), strict=True)
        if v in aset
    ]


def _anchor_hits(b: bytes, ix: Index) -> list[tuple[int, int]]:
    """(position, anchor) of each anchor of ``b`` that is a 4-gram of some form, in order."""
    if len(b) >= VECTOR_MIN:
        np = _np()
        if np is not None:
            return _vector_hits(np, b, ix)
    return _python_hits(b, ix)


def _python_hits(b: bytes, ix: Index) -> list[tuple[int, int]]:
    """:func:`_anchor_hits` in pure Python: ``struct`` and a set, 36 KB at a time."""
    n = len(b)
    hits: list[tuple[int, int]] = []
    if n < RUN:
        return hits
    count = (n - ANCHOR) // STRIDE + 1  # anchors at 0, 9, 18, ... that fit in b
    whole = min(count, n // STRIDE) // _CHUNK * _CHUNK  # read in place, 9 bytes each
    _scan(b, 0, whole, 0, ix.anchor_set, hits)
    if count > whole:  # the rest, with the last anchor's skipped bytes padded
        base = whole * STRIDE
        tail = b[base:] + b"\0" * STRIDE
        _scan(tail, 0, count - whole, base, ix.anchor_set, hits)
    hits.sort()
    return hits


def runs(b: bytes, ix: Index) -> list[tuple[int, int, str]]:
    """(start, end, label) of each run of 12 or more bytes of a run-matched form in ``b``."""
    out: list[tuple[int, int, str]] = []
    hits = _anchor_hits(b, ix)
    if not hits:
        return out
    n = len(b)
    seen: dict[tuple[int, int], tuple[int, int]] = {}  # (form, diagonal) -> segment found
    after, before = ix.after, ix.before
    for p, _v in hits:
        # a run of 12 through this 4-byte anchor goes on for 4 more bytes on one side
        candidates = after.get(b[p : p + 8], ())
        if p >= 4:
            candidates += before.get(b[p - 4 : p + 4], ())
        for fi, j in candidates:
            diag = (fi, p - j)
            prior = seen.get(diag)
            if prior is not None and prior[0] <= p < prior[1]:
                continue
            f = ix.forms[fi]
            a, fa = p, j
            while a > 0 and fa > 0 and b[a - 1] == f[fa - 1]:
                a -= 1
                fa -= 1
            e, fe = p, j
            while e < n and fe < len(f) and b[e] == f[fe]:
                e += 1
                fe += 1
            seen[diag] = (a, e)
            if e - a >= RUN:
                out.append((a, e, ix.form_labels[fi]))
    return out


_ESCAPE_TAIL = re.compile(rb"\\(?:u[0-9A-Fa-f]{0,3}|x[0-9A-Fa-f]?)?\Z")


_SYNTAX = frozenset(b"\"'<>")  # quotes and angle brackets at the edges of a run stay


def _adjust(b: bytes, a: int, e: int, text: bool) -> tuple[int, int]:
    """Move the edges of a cut so the text stays valid for its type.

    A run of a key that holds quotes or angle brackets can take in the quote that opens a
    JSON string or closes an HTML attribute: those stay visible at the edges. A cut never
    splits a backslash escape (``\\"``, ``\\u0022``), and, for text, no UTF-8 character.
    """
    while a < e and b[a] in _SYNTAX:
        a += 1
    while e > a and b[e - 1] in _SYNTAX:
        e -= 1
    # an escape that starts before the cut and would lose its tail: take it in
    m = _ESCAPE_TAIL.search(b, max(0, a - 6), a)
    if m is not None:
        start = m.start()
        slashes = 0
        while start - slashes - 1 >= 0 and b[start - slashes - 1] == 0x5C:
            slashes += 1
        if slashes % 2 == 0:  # the backslash is not itself escaped
            a = start
    # a backslash at the end of the cut that escapes what follows: leave it with what follows
    slashes = 0
    while e - slashes - 1 >= a and b[e - slashes - 1] == 0x5C:
        slashes += 1
    if slashes % 2 == 1:
        e -= 1
    if text:
        while a > 0 and 0x80 <= b[a] < 0xC0:
            a -= 1
        while e < len(b) and 0x80 <= b[e] < 0xC0:
            e += 1
    return a, e


def ranges(b: bytes, ix: Index, text: bool) -> list[tuple[int, int, str]]:
    """(start, end, label) of what to replace in ``b``: runs and exact forms, merged, with
    edges moved so the result stays valid (``text``: UTF-8 text, else any bytes)."""
    found = runs(b, ix) if ix.forms else []
    for f, label in ix.exact:
        i = b.find(f)
        while i >= 0:
            found.append((i, i + len(f), label))
            i = b.find(f, i + 1)
    if not found:
        return found
    adjusted = sorted((*_adjust(b, a, e, text), label) for a, e, label in found)
    merged: list[tuple[int, int, str]] = []
    for a, e, label in adjusted:
        if e <= a:
            continue
        if merged and a <= merged[-1][1]:
            start, end, first = merged[-1]
            merged[-1] = (start, max(end, e), first)
        else:
            merged.append((a, e, label))
    return merged


def splice(b: bytes, ranges: Iterable[tuple[int, int, str]]) -> bytes:
    """``b`` with each (start, end, label) range replaced by the label's marker."""
    parts = []
    pos = 0
    for a, e, label in ranges:
        parts.append(b[pos:a])
        parts.append(marker(label).encode("ascii"))
        pos = e
    parts.append(b[pos:])
    return b"".join(parts)
