"""Markup-aware matching: a key split by ANSI colours or HTML elements, as a reader sees it.

Each case renders the redacted text the way JupyterLab and nbconvert do (tests/render.py) and
looks for every 12-character run of the key there; each also checks that the raw text holds
no such run before redaction (the pieces are shorter), so only the visible-text matching can
have caught it. Every case runs once per key shape (the ``key_shape`` fixture).
"""

from __future__ import annotations

import html
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbsecrets.redaction import Redactor
from nbsecrets.redaction.markup import View, quick
from tests.keys import SHAPES, make_key
from tests.render import ansi_text, html_text, readable_runs, runs

MARK = re.compile(r"\[REDACTED:[a-z]+\]")


@pytest.fixture
def key(key_shape: str) -> str:
    return make_key(key_shape)


@pytest.fixture
def r(key: str) -> Redactor:
    made = Redactor.of({key: "openai"})
    assert made is not None
    return made


def pieces(key: str, n: int = 5) -> list[str]:
    return [key[i : i + n] for i in range(0, len(key), n)]


def coloured(key: str) -> str:
    """The key in 5-character pieces of alternating colours (a highlighter's output)."""
    return "".join(f"\x1b[{31 + i % 6}m{p}\x1b[39m" for i, p in enumerate(pieces(key)))


def spans(key: str) -> str:
    """The key in ``<span>`` pieces, dashes and underscores as entities (pygments' HTML)."""
    out = []
    for i, p in enumerate(pieces(key)):
        p = html.escape(p).replace("-", "&#45;").replace("_", "&#x5f;")
        out.append(f'<span class="{"nom"[i % 3]}">{p}</span>')
    return "".join(out)


def _raw_has_no_run(text: str, key: str) -> None:
    assert not [w for w in runs(key) if w in text], "the test should split the key"


def test_ansi_split_key_is_redacted_as_seen(r, key):
    text = f"api key: {coloured(key)} (loaded)\n"
    _raw_has_no_run(text, key)
    out = r.text(text)
    assert readable_runs(ansi_text(out), key) == []
    assert ansi_text(out) == "api key: [REDACTED:openai] (loaded)\n"
    # every colour change stays, so what follows keeps its colour
    assert re.findall(r"\x1b\[[0-9;]*m", out) == re.findall(r"\x1b\[[0-9;]*m", text)
    assert readable_runs(ansi_text(text), key)  # the reader would have seen it


def test_html_split_key_is_redacted_and_elements_stay_balanced(r, key):
    text = f'<div class="highlight"><pre>{spans(key)}</pre></div>'
    _raw_has_no_run(text, key)
    out = r.text(text)
    assert html_text(out) == "[REDACTED:openai]"
    assert out.count("<span") == out.count("</span>") == text.count("<span")
    assert readable_runs(html_text(text), key)


def test_table_cells_and_word_breaks(r, key):
    # a long value in a table cell with <wbr> break points and indented markup between cells
    cell = "<wbr>".join(pieces(key, 9))
    text = (
        "<table>\n  <thead><tr><th>name</th><th>value</th></tr></thead>\n  <tbody>\n"
        f"    <tr>\n      <td>openai</td>\n      <td>{cell}</td>\n    </tr>\n  </tbody>\n"
        "</table>"
    )
    _raw_has_no_run(text, key)
    out = r.text(text)
    assert readable_runs(html_text(out), key) == []
    assert "<td>[REDACTED:openai]" in out and "<td>openai</td>" in out


def test_osc8_hyperlinks_and_other_escapes(r, key):
    half = len(key) // 2
    text = (
        f"\x1b]8;id=1;https://example.com/docs\x1b\\{key[:half]}\x1b]8;;\x1b\\"
        f"\x1b(B{key[half : half + 6]}\x1b7{key[half + 6 :]}\x07\n"
    )
    out = r.text(text)
    assert readable_runs(quick(out), key) == []
    assert "https://example.com/docs" in out


def test_text_without_a_key_is_returned_unchanged(r):
    for text in (
        "<Response [200]> a < b && c > d",
        "\x1b[31mred\x1b[0m <b>bold</b> &amp;",
        "<td>" + "x" * 5000 + "</td>",
    ):
        assert r.text(text) is text


def test_markup_between_characters_that_merely_resemble_a_key(r, key):
    # pieces of the key with other characters between them: visibly not the key
    text = "\x1b[1m" + " ".join(pieces(key, 11)) + "\x1b[0m"
    assert r.text(text) is text


def test_pieces_across_stream_messages_with_colour_codes(key):
    from nbsecrets import redaction

    redaction.register("openai", key)
    text = coloured(key) + "\n"
    # cut in the middle of an escape sequence and of the key
    cut = text.index("\x1b", len(text) // 2) + 2
    first = redaction.redact_after("", text[:cut])
    second = redaction.redact_after(text[:cut][-512:], text[cut:])
    assert readable_runs(ansi_text(first + second), key) == []
    # the pipe of the server log: bytes
    data = text.encode()
    got = redaction.redact_after(b"", data[:cut]) + redaction.redact_after(data[:cut], data[cut:])
    assert readable_runs(quick(got.decode()), key) == []


def test_big_json_display_data_with_split_keys(r, key):
    rows = [{"id": i, "name": f"row {i}"} for i in range(400)]
    rows.append({"id": 400, "html": spans(key)})
    out = r.obj({"rows": rows})
    assert readable_runs(html_text(json.dumps(out)), key) == []
    assert out["rows"][400]["html"].count("<span") == len(pieces(key))


def test_pygments_terminal_and_html(r, key):
    from pygments import highlight
    from pygments.formatters import HtmlFormatter, TerminalFormatter
    from pygments.lexers import PythonLexer

    code = f"OPENAI_API_KEY = {key}\nclient = OpenAI(api_key=OPENAI_API_KEY)\n"
    ansi = highlight(code, PythonLexer(), TerminalFormatter())
    page = highlight(code, PythonLexer(), HtmlFormatter())
    for shown, read in ((ansi, ansi_text), (page, html_text)):
        assert readable_runs(read(shown), key)
        assert readable_runs(read(r.text(shown)), key) == []


def test_rich_terminal_and_html(r, key):
    rich = pytest.importorskip("rich")
    from rich.console import Console

    del rich
    console = Console(force_terminal=True, color_system="truecolor", width=100, record=True)
    with console.capture() as capture:
        console.print({"provider": "openai", "api_key": key, "n": 3})
        console.print(f"[link=https://example.com]key[/link] {key}")
    ansi = capture.get()
    page = console.export_html()
    for shown, read in ((ansi, ansi_text), (page, html_text)):
        assert readable_runs(read(r.text(shown)), key) == []


def test_a_coloured_key_wrapped_across_lines(r, key):
    """A pretty-printer colours the digit group and wraps the line (rich at its width): the
    pieces after the raw pass are short, but they read as one text across the line break."""
    d = next((i for i in range(12, len(key) - 5) if key[i : i + 4].isdigit()), len(key) // 2)
    for w in range(d + 5, len(key)):
        shown = (
            f"\x1b[32m{key[:d]}\x1b[1;36m{key[d : d + 4]}\x1b[0m{key[d + 4 : w]}\n"
            f"    {key[w:]}\x1b[0m\n"
        )
        assert readable_runs(ansi_text(shown), key)
        assert readable_runs(ansi_text(r.text(shown)), key) == [], w


def test_view_maps_visible_characters_back():
    view = View("a\x1b[31mbc&amp;d<b>e</b>")
    assert view.text == "abc&de"
    assert view.span(1, 3) == (6, 8)  # 'bc'
    assert view.span(3, 4) == (8, 13)  # '&' is '&amp;'
    assert view.replace([(6, 13, "#")]) == "a\x1b[31m#d<b>e</b>"


KEY_SHAPES = st.sampled_from(sorted(SHAPES))
TOKENS = st.sampled_from(
    [
        "\x1b[31m",
        "\x1b[0m",
        "\x1b[38;5;208m",
        "<span>",
        "</span>",
        '<span class="mi">',
        "<wbr>",
        "\x1b]8;;http://x\x1b\\",
        "</td>\n<td>",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=KEY_SHAPES, data=st.data())
def test_any_split_with_any_markup(shape, data):
    key = make_key(shape)
    r = Redactor.of({key: "p"})
    assert r is not None
    cuts = sorted(data.draw(st.sets(st.integers(1, len(key) - 1), max_size=30)))
    parts, last = [], 0
    for c in cuts:
        parts.append(key[last:c])
        parts.append(data.draw(TOKENS))
        last = c
    parts.append(key[last:])
    text = "before " + "".join(parts) + " after"
    out = r.text(text)
    assert [w for w in runs(key) if w in quick(out)] == []
    assert quick(out).startswith("before ") and quick(out).endswith(" after")
