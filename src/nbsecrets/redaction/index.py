"""What is matched: the forms of a value, and :class:`Index`, the one structure built from them.

An :class:`Index` is built once per set of values (each time a new value is registered) and
then only read: :mod:`nbsecrets.redaction.search` finds its forms in bytes, and
:class:`nbsecrets.redaction.matcher.Redactor` replaces what the search found. What is matched
and why is described in :mod:`nbsecrets.redaction.matcher`.
"""

from __future__ import annotations

import base64
import html
import json
import re
import urllib.parse
from dataclasses import dataclass

__all__ = [
    "ANCHOR",
    "MARKER",
    "MAX_RUN_VALUE",
    "MIN_EXACT",
    "RUN",
    "Index",
    "forms",
    "marker",
]

RUN = 12  # a run of this many bytes of a loaded value (or of an encoded form) is redacted
ANCHOR = 4  # bytes of the anchors the search looks up (4-grams of the run-matched forms)
# Longer values (no provider issues a key this long) are matched whole: indexing every 4-gram
# of a 60 KB secret in a dozen forms would make each registration and scan cost far more.
MAX_RUN_VALUE = 4096
MIN_EXACT = 8  # values shorter than this are not redacted at all

Positions = tuple[tuple[int, int], ...]  # (form index, offset in the form) of one 4-gram


def marker(label: str) -> str:
    """The text that stands in for a value of ``label``: ``[REDACTED:label]``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", label) or "key"
    return f"[REDACTED:{safe}]"


MARKER = re.compile(r"\[REDACTED:([A-Za-z0-9_.-]+)\]")  # a marker; group 1 is its label


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


@dataclass(frozen=True)
class Index:
    """The forms of a fixed set of values, indexed for the search. Build with :meth:`of`."""

    forms: tuple[bytes, ...]  # run-matched forms
    form_labels: tuple[str, ...]  # the provider label of each run-matched form
    # (form index, offset j) of each 4-gram, keyed by it with the 4 bytes after it
    # (f[j:j+8]) and with the 4 bytes before it (f[j-4:j+4])
    after: dict[bytes, Positions]
    before: dict[bytes, Positions]
    anchor_set: frozenset[int]  # every 4-gram of a run-matched form, as a little-endian int
    # forms matched whole only: those of values of 8 to 11 characters, and hexadecimal
    # (hex runs would turn up by chance in hex-heavy output, like ids and hashes)
    exact: tuple[tuple[bytes, str], ...]
    shortest: int  # bytes of the shortest text that can hold a match

    @classmethod
    def of(cls, values: dict[str, str], base: Index | None = None) -> Index | None:
        """The index of ``values`` (value -> label); None when none is long enough.

        With ``base``, the index of ``base``'s values and ``values``, built by indexing only
        the new forms: a process that registers short-lived tokens all day pays for each new
        token, not again for every value it holds.
        """
        run_forms: list[bytes] = list(base.forms) if base else []
        run_labels: list[str] = list(base.form_labels) if base else []
        exact_labels: dict[bytes, str] = dict(base.exact) if base else {}
        seen = set(run_forms)
        start = len(run_forms)
        for value, label in values.items():
            if len(value) < MIN_EXACT:
                continue
            hexed = value.encode("utf-8", "surrogatepass").hex()
            for form in forms(value):
                b = form.encode("utf-8", "surrogatepass")
                if RUN <= len(value) <= MAX_RUN_VALUE and len(b) >= RUN and form != hexed:
                    if b not in seen:
                        seen.add(b)
                        run_forms.append(b)
                        run_labels.append(label)
                else:
                    exact_labels.setdefault(b, label)
        if not run_forms and not exact_labels:
            return None
        anchors: set[int] = set(base.anchor_set) if base else set()
        after: dict[bytes, list[tuple[int, int]]] = {}
        before: dict[bytes, list[tuple[int, int]]] = {}
        for i in range(start, len(run_forms)):
            b = run_forms[i]
            for j in range(len(b) - ANCHOR + 1):
                anchors.add(int.from_bytes(b[j : j + ANCHOR], "little"))
                if j + 8 <= len(b):
                    after.setdefault(b[j : j + 8], []).append((i, j))
                if j >= 4:
                    before.setdefault(b[j - 4 : j + 4], []).append((i, j))
        lengths = [RUN] if run_forms else []
        lengths += [len(b) for b in exact_labels]
        return cls(
            forms=tuple(run_forms),
            form_labels=tuple(run_labels),
            after=_merged(base.after if base else None, after),
            before=_merged(base.before if base else None, before),
            anchor_set=frozenset(anchors),
            exact=tuple(exact_labels.items()),
            shortest=min(lengths),
        )


def _merged(
    base: dict[bytes, Positions] | None, new: dict[bytes, list[tuple[int, int]]]
) -> dict[bytes, Positions]:
    """``base``'s positions with ``new``'s added (``base`` is not changed)."""
    out = dict(base) if base else {}
    for key, positions in new.items():
        out[key] = (*out.get(key, ()), *positions)
    return out
