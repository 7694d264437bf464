"""More leak channels in a real kernel (nbclient): what the kernel kept before a key was loaded,
a key printed in pieces, message buffers and the widget state saved with the notebook, and a
provider variable that held a key before ``%aikey`` overwrote it.

Each notebook runs with redaction on and with ``NBSECRETS_REDACT=0``: each check asserts the
leak is there when off (so it can see the channel) and gone when on.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.kernel.test_leaks import kernel_env, leaks, notebook, run_cells, seed_keys
from tests.keys import make_key

pytestmark = pytest.mark.kernel

CELLS = {
    "logstart": "%logstart -o -q early.log",
    # before nbsecrets: the user reads keys some other way, and one is shown
    "early_read": "import os, time, boto3\n"
    "sm = boto3.client('secretsmanager', region_name=os.environ['AWS_REGION'])\n"
    "prefix = os.environ['NBSECRETS_PREFIX']\n"
    "old = sm.get_secret_value(SecretId=prefix + 'old')['SecretString']\n"
    "os.environ['OPENAI_API_KEY'] = old  # a variable that already holds a key\n"
    "early = sm.get_secret_value(SecretId=prefix + 'openai')['SecretString']",
    "early_shown": "early",
    "load": "%load_ext nbsecrets\n%aikey openai\nkey = os.environ['OPENAI_API_KEY']",
    "overwritten": "print('old value:', old)",
    # consecutive stream messages of 8 characters each (ipykernel sends every 0.2 s)
    "pieces": "for i in range(0, len(key), 8):\n"
    "    print(key[i:i + 8], end='', flush=True)\n"
    "    time.sleep(0.3)\n"
    "print()",
    # a large print goes out in 256 KB pieces: this key straddles the first seam
    "big": "print('x' * ((1 << 18) - 10) + key + '\\n' + 'y' * (3 << 20))",
    "image": "import ipywidgets\n"
    "ipywidgets.Image(value=b'\\x89PNG\\r\\n' + key.encode() + b'\\x00', format='png')",
    # botocore at DEBUG during a fetch: a file and the cell's stderr; the bundle's other field
    # ("db") is never asked for, so never registered
    "debug_log": "import logging, sys\n"
    "logging.basicConfig(level=logging.DEBUG, force=True, handlers=[\n"
    "    logging.FileHandler('debug.log'), logging.StreamHandler(sys.stderr)])\n"
    "prefix = os.environ['NBSECRETS_PREFIX']\n"
    "%aikey mistral={prefix}bundle#mistral\n"
    "logging.getLogger().setLevel(logging.WARNING)",
    "flush": "get_ipython().history_manager.writeout_cache()",
}


class Run:
    def __init__(self, nb: Any, tmp: Path, keys: dict[str, str]) -> None:
        self.nb, self.tmp, self.keys = nb, tmp, keys

    def cell(self, tag: str) -> Any:
        [cell] = [c for c in self.nb.cells if tag in c.metadata.get("tags", [])]
        return cell

    def stream(self, tag: str) -> str:
        """The cell's stream outputs joined, as a front end shows them."""
        return "".join(
            o.get("text", "") for o in self.cell(tag).outputs if o.output_type == "stream"
        )

    def output_rows(self) -> str:
        db = sqlite3.connect(self.tmp / "ipython" / "profile_default" / "history.sqlite")
        try:
            return "\n".join(o for (o,) in db.execute("SELECT output FROM output_history"))
        finally:
            db.close()

    def logfile(self) -> str:
        return (self.tmp / "work" / "early.log").read_text(encoding="utf-8")

    def widget_buffers(self) -> str:
        """Every binary buffer of the saved widget state, decoded, as one text."""
        state = (
            self.nb.metadata.get("widgets", {})
            .get("application/vnd.jupyter.widget-state+json", {})
            .get("state", {})
        )
        out = []
        for model in state.values():
            for buf in model.get("buffers", []):
                out.append(base64.b64decode(buf["data"]).decode("latin-1"))
        return "\n".join(out)


def _execute(endpoint: str, tmp: Path, redact: bool, shape: str) -> Run:
    keys = {name: make_key(shape) for name in ("openai", "old", "mistral", "db")}
    env = kernel_env(endpoint, tmp, redact)
    seed_keys(
        endpoint,
        env,
        openai=keys["openai"],
        old=keys["old"],
        bundle=json.dumps({"mistral": keys["mistral"], "db": keys["db"]}),
    )
    workdir = tmp / "work"
    workdir.mkdir()
    history = tmp / "ipython" / "profile_default" / "history.sqlite"
    nb = notebook(CELLS)
    run_cells(nb, env, history, workdir)
    nbformat.write(nb, tmp / "executed.ipynb")
    return Run(nb, tmp, keys)


@pytest.fixture(scope="module", params=[True, False], ids=["on", "off"])
def run(request, tmp_path_factory, key_shape) -> tuple[bool, Run]:
    redact = request.param
    tmp = tmp_path_factory.mktemp("more-on" if redact else "more-off")
    return redact, _execute(request.getfixturevalue("moto_endpoint"), tmp, redact, key_shape)


def check(redact: bool, text: str, key: str, what: str) -> None:
    if redact:
        assert leaks(text, key) == [], f"{what} shows the key: {text[:400]}"
        assert "[REDACTED:openai]" in text, f"{what}: {text[:400]}"
    else:
        assert leaks(text, key), f"{what} shows no key even without redaction: {text[:400]}"


def test_cells_ran(run):
    _redact, r = run
    for cell in r.nb.cells:
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
    assert "openai: OPENAI_API_KEY <- " in r.stream("load")


def test_history_output_rows_written_before_loading(run):
    redact, r = run
    check(redact, r.output_rows(), r.keys["openai"], "the history database's output rows")


def test_logstart_file_written_before_loading(run):
    redact, r = run
    text = r.logfile()
    assert "early" in text  # the file holds the cells
    check(redact, text, r.keys["openai"], "the %logstart file")


def test_key_printed_in_pieces_across_stream_messages(run):
    redact, r = run
    outputs = [o for o in r.cell("pieces").outputs if o.output_type == "stream"]
    assert len(outputs) > 1 or "\n" in outputs[0].text  # several messages reached the client
    check(redact, r.stream("pieces"), r.keys["openai"], "the joined stream outputs")


def test_widget_buffers_in_saved_state(run):
    redact, r = run
    text = r.widget_buffers()
    assert text.startswith("\x89PNG"), text[:40]
    check(redact, text, r.keys["openai"], "the saved widget state's buffers")


def test_overwritten_variable_stays_redacted(run):
    redact, r = run
    check(redact, r.stream("overwritten"), r.keys["old"], "the overwritten variable's value")


def test_saved_notebook(run):
    redact, r = run
    saved = (r.tmp / "executed.ipynb").read_text(encoding="utf-8")
    early_output = json.dumps(r.cell("early_shown").outputs)
    # shown before it was loaded: the front end has it, nothing can take it back (README)
    assert leaks(early_output, r.keys["openai"])
    rest = saved.replace(early_output, "")
    for name in ("openai", "old", "mistral", "db"):
        cells = json.dumps(
            [c.outputs for c in r.nb.cells if "early_shown" not in c.metadata.get("tags", [])]
        )
        assert bool(leaks(cells, r.keys[name])) is not redact, name
    assert rest


def test_botocore_debug_log_during_fetch(run):
    redact, r = run
    text = (r.tmp / "work" / "debug.log").read_text(encoding="utf-8")
    assert "botocore.parsers" in text and "BatchGetSecretValue" in text  # DEBUG was on
    shown = r.stream("debug_log")
    assert "Response body" in shown
    for name in ("mistral", "db"):
        assert bool(leaks(text, r.keys[name])) is not redact, (name, "debug.log")
        assert bool(leaks(shown, r.keys[name])) is not redact, (name, "cell output")


def test_large_print_in_pieces_arrives_whole_and_redacted(run):
    redact, r = run
    outputs = [o for o in r.cell("big").outputs if o.output_type == "stream"]
    text = "".join(o.text for o in outputs)
    assert text.startswith("x" * ((1 << 18) - 10)) and text.endswith("\n" + "y" * (3 << 20) + "\n")
    middle = text[(1 << 18) - 10 : -(3 << 20) - 2]
    if redact:
        assert len(outputs) > 1  # it came in pieces
        assert leaks(text, r.keys["openai"]) == []
        assert middle.endswith("[REDACTED:openai]"), middle
    else:
        assert middle == r.keys["openai"]
