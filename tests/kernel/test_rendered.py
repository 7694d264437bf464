"""The reader's view: a loaded key cannot be read in the rendered form of any output.

A notebook whose cells show the key the ways highlighters and pretty-printers do (ANSI colours
and HTML elements around pieces of it: pygments, rich, IPython's coloured tracebacks, an HTML
table, an SVG) is executed in a real kernel (nbclient) once per key shape. The saved notebook
is rendered the way JupyterLab and nbconvert show it (nbconvert's lab template, consecutive
streams joined; the HTML read as text with ``html.parser``, tests/render.py), and no
12-character run of the key may be read there, nor in the raw messages.

With ``NBSECRETS_REDACT=0`` every cell's rendered output shows the key (so each check can
fail), and the cells tagged ``split`` hold it only in pieces shorter than 12 characters in
the raw output: matching the raw text alone cannot catch them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_notebook

from nbsecrets.redaction.markup import quick
from tests.kernel.test_leaks import kernel_env, leaks, notebook, seed_keys
from tests.keys import make_key
from tests.render import html_text, notebook_text, readable_runs

pytestmark = pytest.mark.kernel

SETUP = {
    "setup0": "%load_ext nbsecrets",
    "setup1": "%aikey openai",
    "setup2": "import html, os, sys, time\nkey = os.environ['OPENAI_API_KEY']\n"
    "def pieces(n=5):\n    return [key[i:i + n] for i in range(0, len(key), n)]",
}

# tag -> cell source; tags starting with "split" show the key only in pieces of < 12
CELLS = {
    "split_ansi": "print('key:', ''.join(f'\\x1b[{31 + i % 6}m{p}\\x1b[39m'\n"
    "                      for i, p in enumerate(pieces())))",
    "split_ansi_streams":  # coloured pieces, one stream message each, joined by the reader
    "for i, p in enumerate(pieces(11)):\n"
    "    print(f'\\x1b[1;3{i % 7}m{p}\\x1b[0m', end='', flush=True)\n"
    "    time.sleep(0.25)\nprint()",
    "split_html_spans": "from IPython.display import HTML\n"
    "HTML('<pre>' + ''.join(f'<span style=\"color: #{i % 9}{i % 9}0000\">'\n"
    '                       f\'{html.escape(p).replace("-", "&#45;")}</span>\'\n'
    "                       for i, p in enumerate(pieces())) + '</pre>')",
    "split_html_table":  # what a frame's to_html() looks like, with <wbr> break points
    "rows = ''.join(f'    <tr>\\n      <th>{i}</th>\\n      <td>{v}</td>\\n    </tr>\\n'\n"
    "               for i, v in enumerate(['openai', '<wbr>'.join(pieces(9)), 3.5]))\n"
    'display(HTML(\'<table border="1" class="dataframe">\\n  <thead>\\n    <tr>\'\n'
    "             '<th></th><th>value</th></tr>\\n  </thead>\\n  <tbody>\\n'\n"
    "             + rows + '  </tbody>\\n</table>'))",
    "split_svg": "from IPython.display import SVG\n"
    'SVG(\'<svg xmlns="http://www.w3.org/2000/svg" width="900" height="20"><text y="15">\'\n'
    "    + ''.join(f'<tspan>{p}</tspan>' for p in pieces()) + '</text></svg>')",
    "pygments_html": "from IPython.display import Code\n"
    "Code(f'OPENAI_API_KEY = {key}\\nclient = OpenAI()', language='python')",
    "pygments_ansi": "from pygments import highlight\n"
    "from pygments.formatters import TerminalFormatter\n"
    "from pygments.lexers import BashLexer\n"
    "print(highlight(f'export OPENAI_API_KEY={key}', BashLexer(),"
    " TerminalFormatter()))",
    "rich_jupyter": "import rich\nrich.print({'provider': 'openai', 'api_key': key, 'n': 3})",
    "rich_terminal": "from rich.console import Console\n"
    "Console(force_terminal=True, force_jupyter=False, color_system='truecolor',\n"
    "        width=100).print(f'[link=https://example.com/keys]key[/link] {key} ok')",
    "coloured_traceback": "%xmode Context\n"
    "def call(api_key):\n"
    "    raise PermissionError(f'401: {api_key} was refused')\n"
    "call(key)",
}


class Run:
    def __init__(self, nb: Any, key: str) -> None:
        self.nb, self.key = nb, key

    def cell(self, tag: str) -> Any:
        [cell] = [c for c in self.nb.cells if tag in c.metadata.get("tags", [])]
        return cell

    def rendered(self, tag: str) -> str:
        """The cell's outputs as the lab template shows them (its source left out), and the
        text an SVG draws (the template and JupyterLab show SVG as an image)."""
        cell = copy.deepcopy(self.cell(tag))
        cell.source = ""
        nb = new_notebook(cells=[cell], metadata=self.nb.metadata)
        drawn = [
            html_text(o.data["image/svg+xml"])
            for o in cell.outputs
            if "image/svg+xml" in o.get("data", {})
        ]
        return "\n".join([notebook_text(nb), *drawn])

    def raw(self, tag: str) -> str:
        """The cell's outputs as the messages carried them (JSON decoded)."""
        texts: list[str] = []

        def walk(obj: Any) -> None:
            if isinstance(obj, str):
                texts.append(obj)
            elif isinstance(obj, dict):
                for v in obj.values():
                    walk(v)
            elif isinstance(obj, list):
                texts.append("".join(x for x in obj if isinstance(x, str)))
                for v in obj:
                    if not isinstance(v, str):
                        walk(v)

        walk(json.loads(json.dumps(self.cell(tag).outputs)))
        return "\n".join(texts)


def _execute(endpoint: str, tmp: Path, key: str, redact: bool) -> Run:
    env = kernel_env(endpoint, tmp, redact)
    seed_keys(endpoint, env, openai=key)
    nb = notebook({**SETUP, **CELLS})
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp)}},
    )
    client.execute(env=env)
    nbformat.write(nb, tmp / "executed.ipynb")
    return Run(nbformat.read(tmp / "executed.ipynb", as_version=4), key)


@pytest.fixture(scope="module", params=[True, False], ids=["on", "off"])
def run(request, tmp_path_factory, key_shape) -> tuple[bool, Run]:
    redact = request.param
    tmp = tmp_path_factory.mktemp(f"rendered-{'on' if redact else 'off'}-{key_shape}")
    key = make_key(key_shape)
    return redact, _execute(request.getfixturevalue("moto_endpoint"), tmp, key, redact)


def test_cells_ran(run):
    _redact, r = run
    for tag in ("setup0", "setup1", "setup2", *CELLS):
        errors = [o for o in r.cell(tag).outputs if o.output_type == "error"]
        assert (tag == "coloured_traceback") == bool(errors), (tag, errors)
    [error] = [o for o in r.cell("coloured_traceback").outputs if o.output_type == "error"]
    assert "\x1b[" in "".join(error.traceback)  # coloured


@pytest.mark.parametrize("tag", list(CELLS))
def test_rendered_output(run, tag):
    redact, r = run
    shown = r.rendered(tag)
    if redact:
        assert readable_runs(shown, r.key) == [], shown[-600:]
        assert readable_runs(quick(r.raw(tag)), r.key) == []
        assert leaks(json.dumps(r.cell(tag).outputs), r.key) == []
        assert "[REDACTED:openai]" in shown, shown[-600:]
    else:
        assert readable_runs(shown, r.key), f"{tag}: the reader sees no key even unredacted"
        if tag.startswith("split"):
            assert leaks(json.dumps(r.cell(tag).outputs), r.key) == [], (
                f"{tag}: the raw output holds the key whole; the cell should split it"
            )


def test_whole_notebook_rendered(run):
    redact, r = run
    nb = r.nb.copy()
    nb.cells = [c for c in nb.cells if c.metadata.get("tags", [""])[0] in CELLS]
    text = notebook_text(nb)
    assert bool(readable_runs(text, r.key)) is not redact


def test_rendered_outputs_still_render(run):
    """Redacted or not, the outputs keep their markup: elements balanced, colours in place."""
    redact, r = run
    spans = r.cell("split_html_spans").outputs[0].data["text/html"]
    assert spans.count("<span") == spans.count("</span>") > 3
    table = r.cell("split_html_table").outputs[0].data["text/html"]
    assert table.count("<td>") == table.count("</td>") == 3 and "<td>openai</td>" in table
    coloured = "".join(o.text for o in r.cell("split_ansi").outputs if o.output_type == "stream")
    assert coloured.count("\x1b[") == 2 * len(range(0, len(r.key), 5))
    assert ("<td>[REDACTED:openai]" in table) is redact
    assert ("[REDACTED:openai]" in coloured) is redact
