"""Redaction of loaded key values from what the kernel shows or keeps.

Every value loaded by nbsecrets is registered here (:func:`register`) before it reaches the
environment, so redaction is in force from the first moment the value exists in the kernel, and
it stays in force until the kernel ends (``--unload`` does not forget a value).

What is replaced, by ``[REDACTED:provider]``:

- the value itself and its encoded forms: base64 (standard and URL-safe, each at the three
  byte offsets a value can start at inside a larger encoded payload, so the base64 of
  ``"x" + key`` is caught too), hexadecimal, URL-encoded (``quote`` and ``quote_plus``),
  JSON-escaped, HTML-escaped and ``repr``-escaped;
- for values of 12 characters or more: **any run of 12 or more consecutive characters** of the
  value or of any of those forms, so ``print(key[1:])`` or ``key[5:30]`` is caught, which exact
  matching (what Databricks does) misses. Runs are measured in UTF-8 bytes; for the ASCII keys
  providers issue, bytes and characters are the same.

Short values follow a simpler rule, because a short run would match ordinary text:

- 8 to 11 characters: exact occurrences of the value and its forms only;
- fewer than 8 characters: not redacted at all. No provider issues keys that short, and
  replacing a 5-letter string everywhere would garble output while protecting nothing.

How it stays fast on large outputs: the text is UTF-8 encoded (a copy for ASCII text) and
``struct`` pulls one 4-byte integer out of every 9 bytes in C. Any 12-byte window contains
one of those anchors, so a single set intersection against the 4-grams of all registered
forms decides, per 36 KB chunk, whether anything needs a closer look. Only chunks with a hit are
examined in Python, by extending each hit along the form it came from. The cost does not
depend on how many keys are loaded, and text with no key in it is returned unchanged (the same
object). ``benchmarks/bench_redact.py`` measures it on 10 MB outputs.

Replacements keep the text valid for its type: the marker holds no quote, backslash or angle
bracket, a cut never leaves half a backslash escape behind, and :func:`redact` walks
containers (JSON-like dicts and lists) so only string values change, never the structure.

``NBSECRETS_REDACT=0`` (or ``redact = false`` in the config file) turns the kernel hooks off;
:func:`redact` and :func:`redact_text` always apply, for callers that want them.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import struct
import sys
import threading
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "MIN_EXACT",
    "RUN",
    "Redactor",
    "active",
    "enabled",
    "forms",
    "marker",
    "redact",
    "redact_bytes",
    "redact_text",
    "register",
    "registered",
]

RUN = 12  # a run of this many bytes of a loaded value (or of an encoded form) is redacted
MIN_EXACT = 8  # values shorter than this are not redacted at all
_STRIDE = 9  # one anchor every 9 bytes: any 12-byte window holds a whole 4-byte anchor
_ANCHOR = 4
_CHUNK = 4096  # anchors per struct call (36 KB of text)
_UNPACKERS = tuple((n, struct.Struct("<" + "I5x" * n)) for n in (_CHUNK, 512, 64, 8, 1))

T = TypeVar("T")
_lock = threading.Lock()
_values: dict[str, str] = {}  # value -> provider label


@dataclass(frozen=True)
class Redactor:
    """Replaces a fixed set of values (each with its provider label). Build with :meth:`of`.

    The module keeps one for the registered values; build your own to redact other values.
    """

    forms: tuple[bytes, ...]  # run-matched forms
    form_labels: tuple[str, ...]
    anchors: dict[int, tuple[tuple[int, int], ...]]  # 4-byte int -> (form index, offset)
    anchor_set: frozenset[int]
    exact: re.Pattern[bytes] | None  # exact-only forms (values of 8 to 11 characters)
    exact_labels: dict[bytes, str]
    shortest: int

    @classmethod
    def of(cls, values: dict[str, str]) -> Redactor | None:
        """A redactor for ``values`` (value -> label); None when none is long enough."""
        return _build(values)

    def text(self, text: str) -> str:
        """``text`` with the values replaced; the same object when nothing matched."""
        if len(text) < self.shortest // 4:
            return text
        b = text.encode("utf-8", "surrogatepass")
        if len(b) < self.shortest:
            return text
        ranges = _ranges(b, self, text=True)
        if not ranges:
            return text
        return _splice(b, ranges).decode("utf-8", "surrogatepass")

    def binary(self, data: bytes) -> bytes:
        """``data`` with the values replaced; the same object when nothing matched."""
        if len(data) < self.shortest:
            return data
        ranges = _ranges(bytes(data), self, text=False)
        return _splice(bytes(data), ranges) if ranges else data

    def obj(self, obj: T) -> T:
        """``obj`` with the values replaced in every string it holds (see :func:`redact`)."""
        return _walk(obj, self, 0)


_matcher: Redactor | None = None
_enabled = True


def marker(label: str) -> str:
    """The text that stands in for a value of ``label``: ``[REDACTED:label]``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", label) or "key"
    return f"[REDACTED:{safe}]"


def _b64_cores(raw: bytes) -> list[str]:
    """The base64 characters that depend only on ``raw``, at each of the 3 byte offsets."""
    out = []
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + raw).decode("ascii")
        start = -(-8 * k // 6)  # first character with no prefix bits
        end = 8 * (k + len(raw)) // 6  # characters past this one hold bits of what follows
        core = enc[start:end]
        out.append(core)
        out.append(core.replace("+", "-").replace("/", "_"))
    return out


def forms(value: str) -> list[str]:
    """The forms of ``value`` that are redacted: itself, then its encodings, without repeats.

    Examples
    --------
    >>> forms("sk-abc/def+ghi")[0]
    'sk-abc/def+ghi'
    """
    raw = value.encode("utf-8", "surrogatepass")
    candidates = [
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote(value),
        urllib.parse.quote_plus(value),
        html.escape(value),
        html.escape(value, quote=False),
        repr(value)[1:-1],
        raw.hex(),
        *_b64_cores(raw),
    ]
    seen: dict[str, None] = {}
    for form in candidates:
        if form:
            seen.setdefault(form, None)
    return list(seen)


def _build(values: dict[str, str]) -> Redactor | None:
    run_forms: list[bytes] = []
    run_labels: list[str] = []
    exact_labels: dict[bytes, str] = {}
    for value, label in values.items():
        if len(value) < MIN_EXACT:
            continue
        for form in forms(value):
            b = form.encode("utf-8", "surrogatepass")
            if len(value) >= RUN and len(b) >= RUN:
                if b not in run_forms:
                    run_forms.append(b)
                    run_labels.append(label)
            else:
                exact_labels.setdefault(b, label)
    if not run_forms and not exact_labels:
        return None
    anchors: dict[int, list[tuple[int, int]]] = {}
    for i, b in enumerate(run_forms):
        for j in range(len(b) - _ANCHOR + 1):
            anchors.setdefault(int.from_bytes(b[j:j + _ANCHOR], "little"), []).append((i, j))
    exact = None
    if exact_labels:
        alternatives = sorted(exact_labels, key=len, reverse=True)
        exact = re.compile(b"|".join(re.escape(a) for a in alternatives))
    lengths = [RUN] if run_forms else []
    lengths += [len(b) for b in exact_labels]
    return Redactor(
        forms=tuple(run_forms), form_labels=tuple(run_labels),
        anchors={k: tuple(v) for k, v in anchors.items()}, anchor_set=frozenset(anchors),
        exact=exact, exact_labels=exact_labels, shortest=min(lengths))


def _read_enabled() -> bool:
    try:
        from nbsecrets.config import Config

        return Config.load().redact
    except Exception:  # a broken config file must not switch redaction off
        return os.environ.get("NBSECRETS_REDACT", "1").strip().lower() not in (
            "0", "false", "no", "off")


def refresh_setting() -> bool:
    """Re-read ``NBSECRETS_REDACT`` (and the config file); return whether redaction is on."""
    global _enabled
    _enabled = _read_enabled()
    return _enabled


def enabled() -> bool:
    """Whether the kernel hooks redact (``NBSECRETS_REDACT``, read when a key is registered)."""
    return _enabled


def active() -> bool:
    """Whether the kernel hooks have anything to do: redaction is on and a value is known."""
    return _enabled and _matcher is not None


def register(label: str, value: str) -> None:
    """Remember ``value`` (loaded for ``label``) for redaction until the kernel ends.

    Also re-reads the ``NBSECRETS_REDACT`` setting and, inside IPython, makes sure the
    redaction hooks are installed and scrubs what the shell kept before this value was known.
    """
    global _matcher
    with _lock:
        new = value not in _values
        _values.setdefault(value, label)
        if new:
            _matcher = _build(_values)
    refresh_setting()
    if "IPython" in sys.modules:
        from nbsecrets import redact_hooks

        redact_hooks.on_register(new)


def registered() -> dict[str, str]:
    """A copy of the registered values, each with its provider label."""
    with _lock:
        return dict(_values)


# --- scanning -------------------------------------------------------------------------------


def _anchor_hits(b: bytes, m: Redactor) -> list[tuple[int, int]]:
    """(position, anchor) of each anchor of ``b`` that is a 4-gram of some form."""
    n = len(b)
    if n < RUN:
        return []
    count = (n - _ANCHOR) // _STRIDE + 1
    padded = b + b"\0" * (_STRIDE - _ANCHOR)  # the last anchor's skipped bytes
    hits: list[tuple[int, int]] = []
    aset = m.anchor_set
    done = 0
    for size, unpacker in _UNPACKERS:
        unpack = unpacker.unpack_from
        while count - done >= size:
            off = done * _STRIDE
            ints = unpack(padded, off)
            if not aset.isdisjoint(ints):
                common = aset.intersection(ints)
                hits.extend((off + _STRIDE * i, v) for i, v in enumerate(ints) if v in common)
            done += size
    return hits


def _runs(b: bytes, m: Redactor) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    hits = _anchor_hits(b, m)
    if not hits:
        return out
    n = len(b)
    seen: dict[tuple[int, int], tuple[int, int]] = {}  # (form, diagonal) -> segment found
    for p, v in hits:
        for fi, j in m.anchors[v]:
            diag = (fi, p - j)
            prior = seen.get(diag)
            if prior is not None and prior[0] <= p < prior[1]:
                continue
            f = m.forms[fi]
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
                out.append((a, e, m.form_labels[fi]))
    return out


_ESCAPE_TAIL = re.compile(rb"\\(?:u[0-9A-Fa-f]{0,3}|x[0-9A-Fa-f]?)?\Z")


def _widen(b: bytes, a: int, e: int, text: bool) -> tuple[int, int]:
    """Move a cut so it splits no backslash escape and (for text) no UTF-8 character."""
    # an escape that starts before the cut and would lose its tail: take it in
    m = _ESCAPE_TAIL.search(b, max(0, a - 6), a)
    if m is not None:
        start = m.start()
        slashes = 0
        while start - slashes - 1 >= 0 and b[start - slashes - 1] == 0x5C:
            slashes += 1
        if slashes % 2 == 0:  # the backslash is not itself escaped
            a = start
    # a backslash at the end of the range that escapes what follows: take that in too
    slashes = 0
    while e - slashes - 1 >= a and b[e - slashes - 1] == 0x5C:
        slashes += 1
    if slashes % 2 == 1 and e < len(b):
        e += 1
    if text:
        while a > 0 and 0x80 <= b[a] < 0xC0:
            a -= 1
        while e < len(b) and 0x80 <= b[e] < 0xC0:
            e += 1
    return a, e


def _ranges(b: bytes, m: Redactor, text: bool) -> list[tuple[int, int, str]]:
    found = _runs(b, m) if m.forms else []
    if m.exact is not None:
        found.extend((x.start(), x.end(), m.exact_labels[x.group()])
                     for x in m.exact.finditer(b))
    if not found:
        return found
    found.sort()
    merged: list[list[Any]] = []
    for a, e, label in found:
        a, e = _widen(b, a, e, text)
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([a, e, label])
    return [(a, e, label) for a, e, label in merged]


def _splice(b: bytes, ranges: Iterable[tuple[int, int, str]]) -> bytes:
    parts = []
    pos = 0
    for a, e, label in ranges:
        parts.append(b[pos:a])
        parts.append(marker(label).encode("ascii"))
        pos = e
    parts.append(b[pos:])
    return b"".join(parts)


def redact_text(text: str) -> str:
    """``text`` with every registered value (forms and runs) replaced by its marker.

    Returns the same object when there is nothing to replace.
    """
    m = _matcher
    return text if m is None else m.text(text)


def redact_bytes(data: bytes) -> bytes:
    """``data`` with every registered value replaced; the same object when nothing matched."""
    m = _matcher
    return data if m is None else m.binary(data)


def redact(obj: T) -> T:
    """``obj`` with registered values replaced in every string it holds.

    Walks dicts (keys and values), lists and tuples; strings and bytes are redacted; anything
    else is returned as is. Containers are copied only where something changed, so the
    caller's objects are never modified and JSON-like data stays JSON-like.
    """
    m = _matcher
    return obj if m is None else _walk(obj, m, 0)


def _walk(obj: Any, m: Redactor, depth: int) -> Any:
    if isinstance(obj, str):
        return m.text(obj)
    if depth > 200:
        return obj
    if isinstance(obj, dict):
        changed = False
        items = []
        for k, v in obj.items():
            nk = _walk(k, m, depth + 1) if isinstance(k, str) else k
            nv = _walk(v, m, depth + 1)
            changed = changed or nk is not k or nv is not v
            items.append((nk, nv))
        return dict(items) if changed else obj
    if isinstance(obj, (list, tuple)):
        new = [_walk(v, m, depth + 1) for v in obj]
        if any(n is not o for n, o in zip(new, obj, strict=True)):
            return new if isinstance(obj, list) else tuple(new)
        return obj
    if isinstance(obj, (bytes, bytearray)):
        return m.binary(obj)
    return obj
