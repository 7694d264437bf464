"""Where text lives in a notebook: every place a scan reads, with its cell and output.

A notebook is read as the JSON it is (no nbformat needed, nothing executed): each cell's
source, metadata and attachments; each output's every MIME type (text and JSON as text,
images and other binary types as base64), its metadata, error tracebacks; consecutive stream
outputs of one name joined as JupyterLab shows them; the notebook's metadata, including saved
widget state.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Place", "notebook_places", "text_places"]

_TEXT_MIME = ("text/", "application/json", "application/javascript", "image/svg+xml")


@dataclass(frozen=True)
class Place:
    """One text of a document and where it is.

    ``starts`` maps offsets of a joined stream text to the output each piece came from:
    ``((0, 2), (41, 3))`` means offsets 0-40 are output 2 and 41 on are output 3.
    """

    where: str  # source, output, attachment, metadata, widget-state, cell-metadata, text
    text: str
    cell: int | None = None
    output: int | None = None
    mime: str | None = None
    split: bool = False
    binary: bool = False
    starts: tuple[tuple[int, int], ...] = ()

    def locate(self, offset: int) -> tuple[int | None, int]:
        """The output index and the 1-based line (within that output) of ``offset``."""
        output, base = self.output, 0
        for start, index in self.starts:
            if start <= offset:
                output, base = index, start
        return output, self.text.count("\n", base, max(base, offset)) + 1


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(v if isinstance(v, str) else json.dumps(v) for v in value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _is_text_mime(mime: str) -> bool:
    return mime.startswith(_TEXT_MIME) or mime.endswith("+json") or mime.endswith("+xml")


def _outputs(cell: int, outputs: list[Any]) -> Iterator[Place]:
    stream: list[tuple[int, str]] = []
    name = None

    def flush() -> Iterator[Place]:
        if stream:
            starts, parts, at = [], [], 0
            for index, piece in stream:
                starts.append((at, index))
                parts.append(piece)
                at += len(piece)
            yield Place(
                "output",
                "".join(parts),
                cell,
                stream[0][0],
                "stream",
                split=True,
                starts=tuple(starts),
            )
        stream.clear()

    for j, out in enumerate(outputs):
        if not isinstance(out, dict):
            continue
        if out.get("output_type") == "stream":
            if out.get("name") != name:
                yield from flush()
                name = out.get("name")
            stream.append((j, _text(out.get("text", ""))))
            continue
        yield from flush()
        name = None
        data = out.get("data")
        if isinstance(data, dict):
            for mime, value in data.items():
                text = _text(value)
                if _is_text_mime(mime) or not isinstance(value, str | list):
                    yield Place("output", text, cell, j, mime, split=mime == "text/plain")
                else:
                    yield Place("output", text, cell, j, mime, binary=True)
        if out.get("output_type") == "error":
            tb = out.get("traceback")
            parts = [_text(out.get("ename", "")), _text(out.get("evalue", ""))]
            if isinstance(tb, list):
                parts.extend(_text(t) for t in tb)
            yield Place("output", "\n".join(parts), cell, j, "error", split=True)
        if out.get("metadata"):
            yield Place("output", _text(out["metadata"]), cell, j, "metadata")
    yield from flush()


def notebook_places(nb: dict[str, Any]) -> Iterator[Place]:
    """Every place of a notebook (parsed JSON), cells in order, then the notebook metadata."""
    cells = nb.get("cells")
    if not isinstance(cells, list):  # nbformat 3 keeps cells in worksheets
        cells = [
            c
            for ws in nb.get("worksheets", [])
            if isinstance(ws, dict)
            for c in ws.get("cells", [])
        ]
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict):
            continue
        yield Place("source", _text(cell.get("source", cell.get("input", ""))), i)
        if cell.get("metadata"):
            yield Place("cell-metadata", _text(cell["metadata"]), i)
        attachments = cell.get("attachments")
        if isinstance(attachments, dict):
            for bundle in attachments.values():
                if not isinstance(bundle, dict):
                    continue
                for mime, value in bundle.items():
                    text = _text(value)
                    yield Place("attachment", text, i, None, mime, binary=not _is_text_mime(mime))
        outputs = cell.get("outputs")
        if isinstance(outputs, list):
            yield from _outputs(i, outputs)
    meta = nb.get("metadata")
    if isinstance(meta, dict):
        widgets = meta.get("widgets")
        rest = {k: v for k, v in meta.items() if k != "widgets"}
        if widgets:
            yield Place("widget-state", _text(widgets))
        if rest:
            yield Place("metadata", _text(rest))


def text_places(text: str) -> Iterator[Place]:
    """A text file is one place; its lines are the file's lines."""
    yield Place("text", text)
