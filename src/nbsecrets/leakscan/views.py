"""The ways a key can be written in text, undone: the views of a text a scan searches.

The encodings are the ones redaction catches (:mod:`nbsecrets.redaction.index`): base64
(standard and URL-safe, the key at any byte offset of the payload), URL escapes, JSON and
``repr`` escapes, HTML entities; and a key split over lines (``print(key[:20])`` then
``print(key[20:])``). Each view is produced only when the text holds the character that
starts its encoding, so a text with none costs one pass per check.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["View", "views"]

_B64_RUN = re.compile(r"[A-Za-z0-9+/\-_]{40,}={0,2}")  # 40 chars: 30 bytes, under any key
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|\\([\"'\\/])")
_URL_ESC = re.compile(r"%[0-9A-Fa-f]{2}")
_HTML_ESC = re.compile(r"&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+);")
_B64_TABLE = str.maketrans("-_", "+/")
_SHORT_RUN = 1 << 16  # runs up to 64 KB are decoded at each of the 4 character offsets


@dataclass(frozen=True)
class View:
    """A decoded form of a text: ``text``, how it was decoded, and where it came from.

    ``origin`` is the offset in the original text the view starts at (for a base64 run, the
    run's start); a key found at offset ``i`` of a whole-text view is reported at the line of
    offset ``i`` in that view, which for escapes (that never encode newlines) is the line of
    the original.
    """

    text: str
    encoding: str  # "", "base64", "url", "json", "html", "split"
    origin: int = 0
    whole: bool = True  # offsets in ``text`` stand for lines as in the original


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1) or m.group(2)
        return chr(int(code, 16)) if code else m.group(3)

    return _ESCAPE.sub(one, text)


def _b64_views(text: str, base: str) -> Iterator[View]:
    for m in _B64_RUN.finditer(text):
        run = m.group().rstrip("=").translate(_B64_TABLE)
        offsets = range(4) if len(run) <= _SHORT_RUN else range(1)
        for k in offsets:
            part = run[k:]
            if len(part) % 4 == 1:
                part = part[:-1]
            part += "=" * (-len(part) % 4)
            try:
                raw = binascii.a2b_base64(part.encode("ascii"))
            except (binascii.Error, ValueError):
                continue
            yield View(
                raw.decode("latin-1"),
                f"{base}base64" if not base else f"{base}+base64",
                m.start(),
                whole=False,
            )


def views(text: str, *, split: bool = False, binary: bool = False) -> Iterator[View]:
    """The text itself, then each decoded view of it that differs from it.

    Parameters
    ----------
    text : str
        What a cell, output, attachment or file holds.
    split : bool
        Also the text with line breaks removed (stream and plain-text outputs, where a key
        printed in pieces reads as one on screen).
    binary : bool
        The text is base64 of binary data (an image, an attachment): its whitespace is
        dropped before decoding, and the text itself is not searched as text.
    """
    if binary:
        yield from _b64_views(re.sub(r"\s+", "", text), "")
        return
    yield View(text, "")
    if split and "\n" in text:
        yield View(text.replace("\r\n", "").replace("\n", ""), "split", whole=False)
    decoded: list[View] = []
    if "\\" in text and _ESCAPE.search(text):
        decoded.append(View(_unescape(text), "json"))
    if "%" in text and _URL_ESC.search(text):
        decoded.append(View(urllib.parse.unquote(text), "url"))
    if "&" in text and _HTML_ESC.search(text):
        decoded.append(View(html.unescape(text), "html"))
    yield from decoded
    for v in [View(text, ""), *decoded]:
        base = v.encoding
        for b in _b64_views(v.text, base):
            yield b
            # base64 of an escaped or URL-encoded text: one level further
            inner = b.text
            if "%" in inner and _URL_ESC.search(inner):
                yield View(urllib.parse.unquote(inner), b.encoding + "+url", b.origin, False)


def is_b64(text: str) -> bool:
    """Whether ``text`` is one base64 payload (whitespace aside)."""
    try:
        base64.b64decode(re.sub(r"\s+", "", text), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
