"""The reader's view of outputs: text as JupyterLab and nbconvert render it, and what of a key
can be read there.

- :func:`ansi_text`: terminal text (stream, ``text/plain``, tracebacks) through nbconvert's
  ``ansi2html`` (what the lab template applies; JupyterLab uses the same regex), then read as
  HTML;
- :func:`html_text`: HTML read the way a browser shows it, with the stdlib ``html.parser``
  (entities decoded, ``<script>``/``<style>`` skipped, text of adjacent elements joined);
- :func:`notebook_text`: a saved notebook through nbconvert's ``HTMLExporter`` with the lab
  template (consecutive streams joined and ``\\r`` applied, as JupyterLab does), read as HTML;
- :func:`readable_runs`: every 12-character run of a value that a reader can find in such a
  text, as it reads and with its whitespace taken out.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

__all__ = ["ansi_text", "html_text", "notebook_text", "readable_runs", "runs"]

RUN = 12


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style", "template"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(markup: str) -> str:
    """The text a browser shows of ``markup``."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def ansi_text(text: str) -> str:
    """The text a reader sees of terminal output ``text`` (nbconvert's ``ansi2html``)."""
    from nbconvert.filters.ansi import ansi2html

    return html_text(ansi2html(text))


def notebook_text(nb: Any) -> str:
    """The text of notebook ``nb`` rendered by nbconvert's lab template, as a browser shows it."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.CoalesceStreamsPreprocessor.enabled = True
    exporter = HTMLExporter(template_name="lab", config=config)
    body, _ = exporter.from_notebook_node(nb)
    return html_text(body)


def runs(value: str, n: int = RUN) -> set[str]:
    """Every ``n``-character run of ``value``."""
    return {value[i : i + n] for i in range(len(value) - n + 1)}


def readable_runs(text: str, value: str) -> list[str]:
    """The 12-character runs of ``value`` that can be read in ``text`` (rendered text),
    as it reads and with all whitespace taken out (text split across table cells, lines)."""
    squeezed = re.sub(r"\s+", "", text)
    return sorted(w for w in runs(value) if w in text or w in squeezed)
