"""The scan of one document: candidates in every view of every place, confirmed and located.

A key is found in three ways, all without reading a secret value:

1. a provider's format (:mod:`~nbsecrets.leakscan.patterns`) in any view of a place
   (:mod:`~nbsecrets.leakscan.views`: as written, base64, URL/JSON/HTML escapes, split
   over lines and over consecutive stream outputs);
2. a token of the length of a managed key whose fingerprint it matches (keys with no known
   prefix);
3. once a key is known from (1) or (2), every other form and piece of it in the document:
   the redaction matcher (:class:`nbsecrets.redaction.Redactor`) built for the found values
   finds their base64 at any offset, escapes, hex, and any run of 12 or more characters of
   them (``print(key[5:30])``).

Each candidate is checked against the fingerprints of managed keys: a match is reported as
that live key (secret name, version, stage), anything else as an unknown key of its provider.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from nbsecrets.leakscan.patterns import Candidate, candidates, public_prefix
from nbsecrets.leakscan.places import Place, notebook_places, text_places
from nbsecrets.leakscan.views import View, views
from nbsecrets.redaction import Redactor
from nbsecrets.redaction.search import ranges

__all__ = ["Finding", "Match", "Matcher", "NoFingerprints", "Result", "scan_bytes", "scan_notebook"]

_TOKEN = r"[A-Za-z0-9_\-]"
_SHORTEST = 32  # no provider key is shorter (Mistral's); a managed key's length may be


@dataclass(frozen=True)
class Match:
    """A managed key a candidate is: its secret, provider, version and staging labels."""

    secret: str
    provider: str
    version: str
    stages: tuple[str, ...]


class Matcher(Protocol):
    """What the scan asks of the fingerprints of managed keys."""

    lengths: frozenset[int]

    def match(self, value: str) -> Match | None: ...


class NoFingerprints:
    """No managed keys known: every finding is a pattern finding."""

    lengths: frozenset[int] = frozenset()

    def match(self, value: str) -> Match | None:
        return None


@dataclass
class Finding:
    """One key found. ``value`` is kept for ``--fix`` only and never shown or serialised."""

    path: str
    cell: int | None
    output: int | None
    line: int
    provider: str
    kind: str  # "managed" or "pattern"
    secret: str | None
    where: str
    encoding: str
    mime: str | None = None
    version: str | None = None
    stages: tuple[str, ...] = ()
    commit: str | None = None
    value: str = field(default="", repr=False, compare=False)

    @property
    def shown(self) -> str:
        """The most of the key a report shows: its public prefix and an ellipsis."""
        return public_prefix(self.value) + "…"

    def record(self) -> dict[str, object]:
        """The JSON record (the fields of DESIGN.md, then the details); never the value."""
        out: dict[str, object] = {
            "path": self.path,
            "cell": self.cell,
            "output": self.output,
            "line": self.line,
            "provider": self.provider,
            "kind": self.kind,
            "secret": self.secret,
            "version": self.version,
            "stages": list(self.stages),
            "where": self.where,
            "mime": self.mime,
            "encoding": self.encoding or "plain",
            "shown": self.shown,
        }
        if self.commit:
            out["commit"] = self.commit
        return out


@dataclass
class Result:
    """What scanning one document gave: its findings and notes (one line each)."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    notebook: bool = False


def _managed_tokens(view: View, fingerprints: Matcher) -> Iterator[Candidate]:
    for n in sorted(fingerprints.lengths):
        rx = re.compile(rf"(?<!{_TOKEN}){_TOKEN}{{{n}}}(?!{_TOKEN})")
        for m in rx.finditer(view.text):
            if fingerprints.match(m.group()):
                yield Candidate("", m.start(), m.end(), m.group())


def _place_candidates(place: Place, fingerprints: Matcher) -> Iterator[tuple[Candidate, View]]:
    if len(place.text) < min((_SHORTEST, *fingerprints.lengths)):
        return
    for view in views(place.text, split=place.split, binary=place.binary):
        for cand in candidates(view.text, loose="base64" in view.encoding):
            yield cand, view
        if fingerprints.lengths:
            for cand in _managed_tokens(view, fingerprints):
                yield cand, view


def _finding(
    path: str,
    place: Place,
    view: View,
    start: int,
    provider: str,
    value: str,
    fingerprints: Matcher,
    encoding: str | None = None,
) -> Finding:
    offset = start if view.whole else view.origin
    if view.encoding == "split":  # offsets of the joined text: map back through the breaks
        offset = _split_offset(place.text, start)
    output, line = place.locate(offset)
    if (
        encoding is None
        and view.whole
        and any(start < at < start + len(value) for at, _ in place.starts)
    ):
        encoding = "split"  # one key over consecutive stream outputs
    managed = fingerprints.match(value)
    return Finding(
        path=path,
        cell=place.cell,
        output=output,
        line=line,
        provider=managed.provider if managed else provider,
        kind="managed" if managed else "pattern",
        secret=managed.secret if managed else None,
        where=place.where,
        encoding=view.encoding if encoding is None else encoding,
        mime=place.mime,
        version=managed.version if managed else None,
        stages=managed.stages if managed else (),
        value=value,
    )


def _split_offset(text: str, joined: int) -> int:
    """The offset in ``text`` of offset ``joined`` of ``text`` with its line breaks removed."""
    seen = 0
    for i, ch in enumerate(text):
        if ch not in "\r\n":
            if seen == joined:
                return i
            seen += 1
    return len(text)


def _scan_places(path: str, places: Iterable[Place], fingerprints: Matcher) -> list[Finding]:
    places = list(places)
    found: list[Finding] = []
    seen: set[tuple[int, str]] = set()  # (place index, value): one finding per key and place
    values: dict[str, str] = {}
    for k, place in enumerate(places):
        for cand, view in _place_candidates(place, fingerprints):
            if (k, cand.value) in seen:
                continue
            if view.encoding == "split" and cand.value in place.text:
                continue  # found as written already (or will be): not a split
            seen.add((k, cand.value))
            f = _finding(path, place, view, cand.start, cand.provider, cand.value, fingerprints)
            values.setdefault(cand.value, f.provider)
            found.append(f)
    if values:
        found.extend(_forms_of_found(path, places, values, seen, fingerprints))
    found.sort(
        key=lambda f: (f.cell is None, f.cell or 0, f.output is not None, f.output or 0, f.line)
    )
    return found


def _forms_of_found(
    path: str,
    places: list[Place],
    values: dict[str, str],
    seen: set[tuple[int, str]],
    fingerprints: Matcher,
) -> Iterator[Finding]:
    """The found keys' other forms and pieces, through the redaction matcher."""
    for value, provider in values.items():
        redactor = Redactor.of({value: provider})
        if redactor is None:
            continue
        for k, place in enumerate(places):
            if (k, value) in seen:
                continue
            data = place.text.encode("utf-8", "surrogatepass")
            hits = ranges(data, redactor.index, text=True)
            if not hits:
                continue
            seen.add((k, value))
            start = len(data[: hits[0][0]].decode("utf-8", "ignore"))
            yield _finding(
                path,
                place,
                View(place.text, ""),
                start,
                provider,
                value,
                fingerprints,
                encoding="piece",
            )


def _looks_binary(data: bytes) -> bool:
    return b"\0" in data[:8192]


def scan_bytes(path: str, data: bytes, fingerprints: Matcher | None = None) -> Result:
    """Scan one document's bytes: a notebook if it is ``*.ipynb`` JSON, else text.

    A notebook that is not valid JSON is scanned as text, with a note; a binary file
    (a NUL byte in its first 8 KB) is skipped.
    """
    fp = fingerprints or NoFingerprints()
    result = Result()
    if _looks_binary(data):
        return result
    text = data.decode("utf-8", "replace")
    places: Iterable[Place]
    if path.endswith(".ipynb"):
        try:
            nb = json.loads(text)
            if not isinstance(nb, dict):
                raise ValueError("not a JSON object")
        except ValueError as err:
            result.notes.append(f"{path}: not a valid notebook ({str(err)[:80]}); scanned as text")
            places = text_places(text)
        else:
            result.notebook = True
            places = notebook_places(nb)
    else:
        places = text_places(text)
    result.findings = _scan_places(path, places, fp)
    return result


def scan_notebook(
    path: str, nb: dict[str, object], fingerprints: Matcher | None = None
) -> list[Finding]:
    """The findings of a notebook already parsed (e.g. the model a Jupyter server saves)."""
    return _scan_places(path, notebook_places(nb), fingerprints or NoFingerprints())


def scan_text(path: str, text: str, fingerprints: Matcher | None = None) -> list[Finding]:
    """The findings of a text."""
    return _scan_places(path, text_places(text), fingerprints or NoFingerprints())
