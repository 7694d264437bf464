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
  providers issue, bytes and characters are the same. The hexadecimal form is the exception:
  it is matched whole, because runs of hex digits turn up by chance in outputs full of ids and
  hashes, and checking each one would cost more than the rare hex-printed key is worth.

Short values follow a simpler rule, because a short run would match ordinary text:

- 8 to 11 characters: exact occurrences of the value and its forms only;
- more than 4096 characters (``MAX_RUN_VALUE``; no API key is that long): exact
  occurrences of the value and its forms only, which keeps registration and scanning cheap;
- fewer than 8 characters: not redacted at all. No provider issues keys that short, and
  replacing a 5-letter string everywhere would garble output while protecting nothing.

How it stays fast on large outputs: the text is UTF-8 encoded (a copy for ASCII text) and
``struct`` pulls one 4-byte integer out of every 9 bytes in C. Any 12-byte window contains
one of those anchors, so a single set intersection against the 4-grams of all registered
forms decides, per 36 KB chunk, whether anything needs a closer look. Only chunks with a hit are
examined in Python, by extending each hit along the form it came from. The scan costs the
same for one key or twenty, and text with no key in it is returned unchanged (the same
object). Containers with many strings (a big JSON output) are first checked as one JSON text,
and the last few large texts are remembered, because the kernel looks at each output twice
(to send it, and in what IPython keeps for ``%notebook``). ``benchmarks/bench_redact.py``
measures all this on 10 MB outputs: about 30 ms for 10 MB of text.

Replacements keep the text valid for its type: the marker holds no quote, backslash or angle
bracket; a quote or angle bracket at the edge of a run stays (a key holding quotes must not
take the quote that opens a JSON string with it); a cut never leaves half a backslash escape
behind; and :func:`redact` walks containers (JSON-like dicts and lists) so only string values
change, never the structure.

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
from dataclasses import dataclass, field
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
# Longer values (no provider issues a key this long) are matched whole: indexing every 4-gram
# of a 60 KB secret in a dozen forms would make each registration and scan cost far more.
MAX_RUN_VALUE = 4096
MIN_EXACT = 8  # values shorter than this are not redacted at all
_STRIDE = 9  # one anchor every 9 bytes: any 12-byte window holds a whole 4-byte anchor
_ANCHOR = 4
_CHUNK = 4096  # anchors per struct call (36 KB of text)
_UNPACKERS = tuple((n, struct.Struct("<" + "I5x" * n)) for n in (_CHUNK, 512, 64, 8, 1))

_CACHE_MIN = 1 << 18  # texts this long (256 KB) are remembered...
_CACHE_ENTRIES = 4  # ...this many at a time
_CLEAN = ""  # stands for "nothing to replace" in the cache
_DEPTH_MAX = 100
_WALK_MAX = 256  # containers with more items than this are checked as JSON text first


def _more_nodes_than(obj: Any, limit: int) -> bool:
    """Whether ``obj`` holds more than ``limit`` items in all (stops counting there)."""
    stack = [obj]
    seen = 0
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            seen += len(item)
            if seen > limit:
                return True
            stack.extend(item.values() if isinstance(item, dict) else item)
    return False


class _NotJson(Exception):
    pass


def _not_json(obj: object) -> None:
    raise _NotJson


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
    # (form index, offset j) of each 4-gram, keyed by it with the 4 bytes after it
    # (f[j:j+8]) and with the 4 bytes before it (f[j-4:j+4])
    after: dict[bytes, tuple[tuple[int, int], ...]]
    before: dict[bytes, tuple[tuple[int, int], ...]]
    anchor_set: frozenset[int]
    # forms matched whole only: those of values of 8 to 11 characters, and hexadecimal
    # (hex runs would turn up by chance in hex-heavy output, like ids and hashes)
    exact: tuple[tuple[bytes, str], ...]
    shortest: int
    recent: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, values: dict[str, str]) -> Redactor | None:
        """A redactor for ``values`` (value -> label); None when none is long enough."""
        return _build(values)

    def text(self, text: str) -> str:
        """``text`` with the values replaced; the same object when nothing matched."""
        if len(text) < self.shortest // 4:
            return text
        big = len(text) >= _CACHE_MIN
        if big:
            # the kernel sees a large output twice (sent, and kept for %notebook):
            # remember the last few results, keyed by the text itself (no hash-only match)
            known = self.recent.get(text)
            if known is not None:
                return text if known is _CLEAN else known
        b = text.encode("utf-8", "surrogatepass")
        if len(b) < self.shortest:
            return text
        ranges = _ranges(b, self, text=True)
        out = _splice(b, ranges).decode("utf-8", "surrogatepass") if ranges else text
        if big:
            self._remember(text, _CLEAN if out is text else out)
        return out

    def _remember(self, text: str, result: str) -> None:
        recent = self.recent
        try:
            while len(recent) >= _CACHE_ENTRIES:
                del recent[next(iter(recent))]
        except (KeyError, StopIteration, RuntimeError):  # another thread got there first
            pass
        recent[text] = result

    def binary(self, data: bytes) -> bytes:
        """``data`` with the values replaced; the same object when nothing matched."""
        if len(data) < self.shortest:
            return data
        ranges = _ranges(bytes(data), self, text=False)
        return _splice(bytes(data), ranges) if ranges else data

    def obj(self, obj: T) -> T:
        """``obj`` with the values replaced in every string it holds (see :func:`redact`)."""
        if isinstance(obj, (dict, list, tuple)) and _more_nodes_than(obj, _WALK_MAX):
            # Many strings (a big JSON output): one C-speed pass over its JSON text first.
            # If no form of a value shows in it, no string inside holds one (the JSON
            # escape of every form is a form too).
            try:
                dumped = json.dumps(obj, ensure_ascii=False, default=_not_json,
                                    check_circular=False)
            except (_NotJson, TypeError, ValueError, RecursionError):
                pass
            else:
                b = dumped.encode("utf-8", "surrogatepass")
                if not (self.forms and _runs(b, self)) and not (
                        any(f in b for f, _ in self.exact)):
                    return obj
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
        # Values are any str, lone surrogates included (JSON can carry "\ud800").
        urllib.parse.quote(value, safe="", errors="surrogatepass"),
        urllib.parse.quote(value, errors="surrogatepass"),
        urllib.parse.quote_plus(value, errors="surrogatepass"),
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
    for form in list(seen):  # as it shows inside JSON text (the prefilter of Redactor.obj)
        seen.setdefault(json.dumps(form, ensure_ascii=False)[1:-1], None)
    return list(seen)


def _build(values: dict[str, str]) -> Redactor | None:
    run_forms: list[bytes] = []
    run_labels: list[str] = []
    exact_labels: dict[bytes, str] = {}
    for value, label in values.items():
        if len(value) < MIN_EXACT:
            continue
        hexed = value.encode("utf-8", "surrogatepass").hex()
        for form in forms(value):
            b = form.encode("utf-8", "surrogatepass")
            if RUN <= len(value) <= MAX_RUN_VALUE and len(b) >= RUN and form != hexed:
                if b not in run_forms:
                    run_forms.append(b)
                    run_labels.append(label)
            else:
                exact_labels.setdefault(b, label)
    if not run_forms and not exact_labels:
        return None
    anchors: set[int] = set()
    after: dict[bytes, list[tuple[int, int]]] = {}
    before: dict[bytes, list[tuple[int, int]]] = {}
    for i, b in enumerate(run_forms):
        for j in range(len(b) - _ANCHOR + 1):
            anchors.add(int.from_bytes(b[j:j + _ANCHOR], "little"))
            if j + 8 <= len(b):
                after.setdefault(b[j:j + 8], []).append((i, j))
            if j >= 4:
                before.setdefault(b[j - 4:j + 4], []).append((i, j))
    lengths = [RUN] if run_forms else []
    lengths += [len(b) for b in exact_labels]
    return Redactor(
        forms=tuple(run_forms), form_labels=tuple(run_labels),
        after={k: tuple(v) for k, v in after.items()},
        before={k: tuple(v) for k, v in before.items()}, anchor_set=frozenset(anchors),
        exact=tuple(exact_labels.items()), shortest=min(lengths))


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
    if value in _values:  # a cached get registers again: keep that path cheap
        return
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


def _scan(buf: bytes, start: int, count: int, base: int, aset: frozenset[int],
          hits: list[tuple[int, int]]) -> None:
    """Anchors ``start .. start+count`` of ``buf`` (anchor i at byte 9i); hits at ``base``+."""
    done = 0
    for size, unpacker in _UNPACKERS:
        unpack = unpacker.unpack_from
        while count - done >= size:
            off = (start + done) * _STRIDE
            ints = unpack(buf, off)
            if not aset.isdisjoint(ints):
                common = aset.intersection(ints)
                if len(common) > 2:
                    hits.extend((base + off + _STRIDE * i, v)
                                for i, v in enumerate(ints) if v in common)
                else:
                    for v in common:  # one or two: find them with C-level index()
                        i = ints.index(v)
                        while True:
                            hits.append((base + off + _STRIDE * i, v))
                            try:
                                i = ints.index(v, i + 1)
                            except ValueError:
                                break
            done += size


def _anchor_hits(b: bytes, m: Redactor) -> list[tuple[int, int]]:
    """(position, anchor) of each anchor of ``b`` that is a 4-gram of some form."""
    n = len(b)
    hits: list[tuple[int, int]] = []
    if n < RUN:
        return hits
    count = (n - _ANCHOR) // _STRIDE + 1  # anchors at 0, 9, 18, ... that fit in b
    whole = min(count, n // _STRIDE) // _CHUNK * _CHUNK  # read in place, 9 bytes each
    _scan(b, 0, whole, 0, m.anchor_set, hits)
    if count > whole:  # the rest, with the last anchor's skipped bytes padded
        base = whole * _STRIDE
        tail = b[base:] + b"\0" * _STRIDE
        _scan(tail, 0, count - whole, base, m.anchor_set, hits)
    hits.sort()
    return hits


def _runs(b: bytes, m: Redactor) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    hits = _anchor_hits(b, m)
    if not hits:
        return out
    n = len(b)
    seen: dict[tuple[int, int], tuple[int, int]] = {}  # (form, diagonal) -> segment found
    after, before = m.after, m.before
    for p, _v in hits:
        # a run of 12 through this 4-byte anchor goes on for 4 more bytes on one side
        candidates = after.get(b[p:p + 8], ())
        if p >= 4:
            candidates += before.get(b[p - 4:p + 4], ())
        for fi, j in candidates:
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


def _ranges(b: bytes, m: Redactor, text: bool) -> list[tuple[int, int, str]]:
    found = _runs(b, m) if m.forms else []
    for f, label in m.exact:
        i = b.find(f)
        while i >= 0:
            found.append((i, i + len(f), label))
            i = b.find(f, i + 1)
    if not found:
        return found
    adjusted = sorted((*_adjust(b, a, e, text), label) for a, e, label in found)
    merged: list[list[Any]] = []
    for a, e, label in adjusted:
        if e <= a:
            continue
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
    if depth > _DEPTH_MAX:  # deeper than any real output: keep it only if its repr is clean
        shown = repr(obj)
        safe = m.text(shown)
        return obj if safe is shown else safe
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
