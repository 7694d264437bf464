"""What a reader sees of marked-up text: ANSI escape sequences and HTML tags taken out.

A syntax highlighter or pretty-printer (pygments, rich, IPython's coloured tracebacks, an HTML
table) wraps parts of a value in colour codes or ``<span>`` elements, so the raw text holds a
key only in pieces shorter than 12 characters, while the terminal, JupyterLab and nbconvert's
HTML show it whole. :class:`View` is the text as it reads rendered, with a map from each
visible character back to the raw string, so a match in the visible text is replaced in the
raw one (:meth:`View.replace`): its visible characters give way to one marker, and the markup
between them stays, so colours and elements stay balanced and the output still renders.

What is taken out (all of it, wherever it occurs: over-stripping can only redact more):

- ANSI: CSI sequences the way nbconvert's ``ansi2html`` and JupyterLab read them
  (``ESC [`` up to the first final byte ``@``-``~`` on the line: colours, cursor moves),
  OSC sequences (``ESC ]`` ... ``BEL`` or ``ESC \\``: rich's ``ESC ]8;;url`` hyperlinks) and
  the two- and three-character escapes (``ESC ( B``, ``ESC 7``);
- HTML: tags (``<span class="n">``, ``</td>``, ``<br/>``), comments, and whitespace that
  stands alone between two tags (the indentation of a table's rows: a browser lays cells
  side by side); entities (``&#45;``, ``&amp;``, ``&lt;``) read as the characters they stand
  for.

Only text holding an ESC, ``<`` or ``&`` can hold any of this (:func:`marked`); the rest never
gets here.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterable
from itertools import accumulate

__all__ = ["View", "marked", "marked_bytes", "quick"]

# ECMA-48 escapes: CSI as nbconvert and JupyterLab match it (``\x1b\[(.*?)([@-~])``), OSC up to
# BEL or ST (rich's ``ESC ]8;;url ESC \`` hyperlinks), 2- and 3-character escapes (``ESC ( B``,
# ``ESC 7``) and a lone ESC
_ANSI = (
    r"\x1b(?:\[[^\n@-~]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\|(?=[\x1b\n])|\Z)"
    r"|[ -/]*[0-~])?"
)
# comments, tags (stopping at the next '<' keeps the search linear), <!DOCTYPE>, <?xml?>
_TAG = r"<(?:!--.*?(?:-->|\Z)|/?[A-Za-z][^<>]*>|[!?][^<>]*>)"
_BETWEEN = r"(?<=>)\s+(?=<[A-Za-z/!])"  # whitespace alone between two tags
# a line break and the indentation after it: a pretty-printer's wrap of a long value (rich wraps
# at the console width) reads as one text, so marked-up text is matched across its lines
_WRAP = r"\n[ \t]*"
_ENTITY = r"&(?:#[0-9]{1,8};?|#[xX][0-9A-Fa-f]{1,7};?|[A-Za-z][A-Za-z0-9]{0,31};?)"
_ANSI_RE = re.compile(_ANSI)
_TAG_RE = re.compile(f"{_TAG}|{_BETWEEN}", re.DOTALL)
_ENTITY_RE = re.compile(_ENTITY)
_WRAP_RE = re.compile(_WRAP)
# each alternative opens with a literal, so the search skips plain text at C speed
_SPLIT = re.compile(f"({_ANSI}|{_TAG}|{_ENTITY}|{_BETWEEN}|{_WRAP})", re.DOTALL)


def marked(text: str) -> bool:
    """Whether ``text`` may hold markup (an ESC, ``<`` or ``&``): C-speed character tests."""
    return "\x1b" in text or "<" in text or "&" in text


def marked_bytes(data: bytes) -> bool:
    """:func:`marked` for bytes (what a pipe carries)."""
    return b"\x1b" in data or b"<" in data or b"&" in data


def _entity(m: re.Match[str]) -> str:
    return html.unescape(m.group(0))


def _entity_text(token: str) -> str:
    """What a token shows: an entity its characters, markup nothing."""
    return html.unescape(token) if token.startswith("&") else ""


def quick(text: str) -> str:
    """The visible text of ``text``, without the map back (what :class:`View` reads)."""
    out = _ANSI_RE.sub("", text) if "\x1b" in text else text
    out = _TAG_RE.sub("", out) if "<" in out else out
    out = _WRAP_RE.sub("", out) if "\n" in out else out
    return _ENTITY_RE.sub(_entity, out) if "&" in out else out


class View:
    """``raw`` as it reads rendered (:attr:`text`), with each visible character's raw span.

    Built with one C-level ``re.split`` of ``raw`` into literal text and markup tokens, and
    running sums of their lengths, so a 1 MB coloured output costs tens of milliseconds.

    Parameters
    ----------
    raw : str
        Text that may hold ANSI escape sequences and HTML markup.
    """

    def __init__(self, raw: str) -> None:
        self.raw = raw
        # parts[0::2] are literal text, parts[1::2] the tokens (markup, or entities)
        self._parts = parts = _SPLIT.split(raw)
        lens = list(map(len, parts))
        self._raw_starts = list(accumulate(lens, initial=0))
        shown: list[str] | None = None
        if "&" in raw:
            decoded = [_entity_text(t) for t in parts[1::2]]
            lens[1::2] = map(len, decoded)
            shown = parts[:]
            shown[1::2] = decoded
        else:
            lens[1::2] = [0] * (len(parts) // 2)
        self._vis_starts = list(accumulate(lens, initial=0))
        self.text = "".join(shown if shown is not None else parts[0::2])

    def _part(self, v: int) -> int:
        """The part that holds visible character ``v``."""
        return bisect.bisect_right(self._vis_starts, v, hi=len(self._parts)) - 1

    def span(self, a: int, e: int) -> tuple[int, int]:
        """The raw span of the visible characters ``a .. e`` (``a < e``)."""
        i, j = self._part(a), self._part(e - 1)
        start = self._raw_starts[i] + (a - self._vis_starts[i] if i % 2 == 0 else 0)
        end = (
            self._raw_starts[j] + (e - self._vis_starts[j])
            if j % 2 == 0
            else self._raw_starts[j + 1]
        )
        return start, end

    def replace(self, cuts: Iterable[tuple[int, int, str]], start: int = 0) -> str:
        """The raw text with each raw span ``(a, e, marker)`` of ``cuts`` (sorted, apart)
        shown as ``marker``: its visible characters dropped, its markup kept, the marker where
        its first visible character was.

        Returns ``raw[start:]`` of the result: the text before ``start`` (shown already, when
        a stream's earlier piece is part of the view) is left out, and cuts begin at ``start``
        at the earliest.
        """
        raw, parts, starts = self.raw, self._parts, self._raw_starts
        out: list[str] = []
        pos = start
        for a, e, mark in cuts:
            a = max(a, start)
            if e <= a:
                continue
            out.append(raw[pos:a])
            placed = False
            i = bisect.bisect_right(starts, a, hi=len(parts)) - 1
            while i < len(parts) and starts[i] < e:
                lo, hi = max(starts[i], a), min(starts[i + 1], e)
                if hi > lo:
                    markup = i % 2 == 1 and not parts[i].startswith("&")
                    if markup:
                        out.append(raw[lo:hi])  # a straddling token: its part inside
                    elif not placed:
                        out.append(mark)
                        placed = True
                i += 1
            if not placed:
                out.append(mark)
            pos = e
        out.append(raw[pos:])
        return "".join(out)
