"""What redaction matches, and the matcher that replaces it: :class:`Redactor`.

The registry of loaded values is :mod:`nbsecrets.redaction.registry`; the forms of a value and
their :class:`~nbsecrets.redaction.index.Index` are :mod:`nbsecrets.redaction.index`; the byte
search is :mod:`nbsecrets.redaction.search`. What is replaced, by ``[REDACTED:provider]``:

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

Text that holds markup (an ESC, ``<`` or ``&``) is also matched as a reader sees it rendered:
ANSI escape sequences and HTML tags taken out, entities read
(:mod:`nbsecrets.redaction.markup`), so a key a highlighter split into coloured pieces shorter
than 12 characters is caught; its visible characters give way to the marker and the markup
between them stays (:meth:`Redactor.visible`).

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
measures all this on 10 MB outputs: about 6 ms for 10 MB of text with numpy installed
(:mod:`nbsecrets.redaction.search` looks large texts' anchors up with it), 35 ms without.

Replacements keep the text valid for its type: the marker holds no quote, backslash or angle
bracket; a quote or angle bracket at the edge of a run stays (a key holding quotes must not
take the quote that opens a JSON string with it); a cut never leaves half a backslash escape
behind; and :func:`redact` walks containers (JSON-like dicts and lists) so only string values
change, never the structure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from nbsecrets.redaction.index import RUN, Index, marker
from nbsecrets.redaction.markup import View, marked, quick
from nbsecrets.redaction.search import ranges, runs, splice

__all__ = ["Redactor", "walk"]

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


@dataclass(frozen=True)
class Redactor:
    """Replaces a fixed set of values (each with its provider label). Build with :meth:`of`.

    The registry keeps one for the registered values; build your own to redact other values.
    """

    index: Index
    recent: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, values: dict[str, str]) -> Redactor | None:
        """A redactor for ``values`` (value -> label); None when none is long enough."""
        index = Index.of(values)
        return None if index is None else cls(index)

    def plus(self, values: dict[str, str]) -> Redactor:
        """A redactor for this one's values and ``values``, indexing only the new ones."""
        index = Index.of(values, base=self.index)
        assert index is not None  # this index is not empty, so neither is the new one
        return type(self)(index)

    def text(self, text: str) -> str:
        """``text`` with the values replaced; the same object when nothing matched.

        Matched in the raw text, and, when it holds markup (an ESC, ``<`` or ``&``), in the
        text as a reader sees it rendered (:meth:`visible`).
        """
        if len(text) < self.index.shortest // 4:
            return text
        big = len(text) >= _CACHE_MIN
        if big:
            # the kernel sees a large output twice (sent, and kept for %notebook):
            # remember the last few results, keyed by the text itself (no hash-only match)
            known = self.recent.get(text)
            if known is not None:
                return text if known is _CLEAN else known
        out = self.raw_text(text)
        if marked(out):
            out = self.visible(out)
        if big:
            self._remember(text, _CLEAN if out is text else out)
        return out

    def raw_text(self, text: str) -> str:
        """``text`` with the values replaced as they occur in it, markup or not."""
        b = text.encode("utf-8", "surrogatepass")
        if len(b) < self.index.shortest:
            return text
        found = ranges(b, self.index, text=True)
        return splice(b, found).decode("utf-8", "surrogatepass") if found else text

    def visible(self, text: str, start: int = 0) -> str:
        """``text`` with the values replaced as a reader sees them once it is rendered.

        ANSI escape sequences and HTML markup are taken out, entities read
        (:class:`~nbsecrets.redaction.markup.View`); the visible characters of each match give
        way to the marker, and the markup between them stays. With ``start``, ``text[:start]``
        was shown already: only what follows is returned, a match that begins earlier replaced
        from ``start``. The same object when nothing matched (and ``start`` is 0).
        """
        seen = quick(text)
        if seen == text:
            return text[start:] if start else text
        enc = "surrogatepass"
        sb = seen.encode("utf-8", enc)
        if len(sb) < self.index.shortest or not ranges(sb, self.index, text=True):
            return text[start:] if start else text
        view = View(text)
        vb = view.text.encode("utf-8", enc)
        found = ranges(vb, self.index, text=True)
        ascii_ = len(vb) == len(view.text)
        cuts: list[tuple[int, int, str]] = []
        for a, e, label in found:
            if not ascii_:  # byte offsets to character offsets
                a = len(vb[:a].decode("utf-8", enc))
                e = len(vb[:e].decode("utf-8", enc))
            ra, re_ = view.span(a, e)
            if re_ <= start:
                continue
            if cuts and ra <= cuts[-1][1]:
                cuts[-1] = (cuts[-1][0], max(re_, cuts[-1][1]), cuts[-1][2])
            else:
                cuts.append((ra, re_, marker(label)))
        if not cuts:
            return text[start:] if start else text
        return view.replace(cuts, start)

    def visible_after(self, before: str, text: str) -> str:
        """``text`` (raw matches replaced already) as it reads rendered after ``before``.

        The markup-aware half of :func:`~nbsecrets.redaction.registry.redact_after`: a value
        whose visible characters start in ``before`` (shown already) and go on in ``text`` is
        replaced from the start of ``text``. The same object when nothing matched.
        """
        if not (marked(text) or marked(before)):
            return text
        if not before:
            return self.visible(text)
        out = self.visible(before + text, len(before))
        return text if out == text else out

    def _remember(self, text: str, result: str) -> None:
        recent = self.recent
        try:
            while len(recent) >= _CACHE_ENTRIES:
                del recent[next(iter(recent))]
        except (KeyError, StopIteration, RuntimeError):  # another thread got there first
            pass
        recent[text] = result

    def continued(self, before: bytes, data: bytes, text: bool = False) -> bytes | None:
        """``data`` redacted as it reads after ``before`` (shown already, so left as it is).

        A run that starts in ``before`` and goes on in ``data`` is replaced from the start of
        ``data``. Returns None when no run crosses from ``before`` into ``data`` (then
        :meth:`text` or :meth:`binary` of ``data`` alone is the answer).
        """
        n = len(before)
        if not n or not (self.index.forms or self.index.exact):
            return None
        longest = max([len(f) for f, _ in self.index.exact] + [RUN])
        seam = before + data[:longest]
        if not any(a < n < e for a, e, _ in ranges(seam, self.index, text=text)):
            return None
        cut = [
            (max(a, n) - n, e - n, label)
            for a, e, label in ranges(before + data, self.index, text=text)
            if e > n
        ]
        return splice(data, cut)

    @overload
    def binary(self, data: bytes) -> bytes: ...
    @overload
    def binary(self, data: bytearray) -> bytes | bytearray: ...

    def binary(self, data: bytes | bytearray) -> bytes | bytearray:
        """``data`` with the values replaced; the same object when nothing matched."""
        if len(data) < self.index.shortest:
            return data
        found = ranges(bytes(data), self.index, text=False)
        return splice(bytes(data), found) if found else data

    def obj(self, obj: T) -> T:
        """``obj`` with the values replaced in every string it holds (see :func:`redact`)."""
        if isinstance(obj, (dict, list, tuple)) and _more_nodes_than(obj, _WALK_MAX):
            # Many strings (a big JSON output): one C-speed pass over its JSON text first.
            # If no form of a value shows in it, no string inside holds one (the JSON
            # escape of every form is a form too).
            try:
                dumped = json.dumps(
                    obj, ensure_ascii=False, default=_not_json, check_circular=False
                )
            except (_NotJson, TypeError, ValueError, RecursionError):
                pass
            else:
                b = dumped.encode("utf-8", "surrogatepass")
                if (
                    not (self.index.forms and runs(b, self.index))
                    and not (any(f in b for f, _ in self.index.exact))
                    and not (marked(dumped) or "\\u001b" in dumped)
                ):
                    return obj
        return walk(obj, self, 0)


def walk(obj: Any, m: Redactor, depth: int) -> Any:
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
            nk = walk(k, m, depth + 1) if isinstance(k, str) else k
            nv = walk(v, m, depth + 1)
            changed = changed or nk is not k or nv is not v
            items.append((nk, nv))
        return dict(items) if changed else obj
    if isinstance(obj, (list, tuple)):
        new = [walk(v, m, depth + 1) for v in obj]
        if any(n is not o for n, o in zip(new, obj, strict=True)):
            return new if isinstance(obj, list) else tuple(new)
        return obj
    if isinstance(obj, (bytes, bytearray)):
        return m.binary(obj)
    return obj
