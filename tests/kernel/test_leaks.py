"""A loaded key never appears in what a real kernel shows or keeps.

Notebooks are executed with nbclient in a kernel started from this interpreter, against the
moto server. The cells load a key with ``%aikey`` and then try to leak it every way a user
might. Each notebook runs once per key shape (the ``key_shape`` fixture, tests/keys.py), twice for
each: with redaction on (the default), where no 12-character run of
the value (nor of its base64 or URL-encoded forms) may appear in the saved ``.ipynb``, the
kernel's history database, its ``%logstart`` file or its ``%notebook`` export; and with
``NBSECRETS_REDACT=0``, where every channel must show the value: proof each check can fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sqlite3
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from tests.conftest import REGION, emulator_env
from tests.keys import make_key

pytestmark = pytest.mark.kernel

SETUP = [
    "%load_ext nbsecrets",
    "%logstart -o -q session.log",
    "%aikey openai",
    "import base64, hashlib, json, logging, os, re, sys, urllib.parse\n"
    "key = os.environ['OPENAI_API_KEY']\n"
    "print(f'sha256: {hashlib.sha256(key.encode()).hexdigest()}')\n"
    "print(f'python: {sys.executable}')",
]

# channel -> cell source. Each cell tries to show the loaded key one way.
CHANNELS: dict[str, str] = {
    "print": "print(key)",
    "stderr": "print('on stderr:', key, file=sys.stderr)",
    "last_expression": "key",
    "display": "display(key)",
    "html": "from IPython.display import HTML\nHTML(f'<p>key: <code>{key}</code></p>')",
    "json": "from IPython.display import JSON\n"
    "JSON({'config': {'providers': [{'name': 'openai', 'api_key': key}]}})",
    "markdown": "from IPython.display import Markdown\ndisplay(Markdown(f'`{key}`'))",
    "repr_dict": "{'api_key': key, 'model': 'gpt-4o'}",
    "env_magic_set": "%env COPY_OF_KEY=$key",
    "env_magic_get": "%env OPENAI_API_KEY",
    "exception": "raise ValueError(f'invalid api key {key}')",
    "http_traceback": "import socket, urllib3\n"
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()\n"
    "urllib3.PoolManager().request('GET', f'http://127.0.0.1:{port}/v1/models?key={key}',\n"
    "                              retries=0)",
    "traceback_locals": "%xmode Verbose\n"
    "def call_api(api_key):\n"
    "    raise ConnectionError('401 Unauthorized')\n"
    "call_api(key)",  # no cell after this one raises, so Verbose can stay
    "slice": "print(key[1:])",
    "middle": "print('part:', key[9:30])",
    "base64": "print(base64.b64encode(key.encode()).decode())",
    "base64_offset": "print(base64.urlsafe_b64encode(b'Bearer ' + key.encode()).decode())",
    "url_encoded": "print(urllib.parse.quote(key, safe=''))",
    "json_escaped": "print(json.dumps({'api_key': key}))",
    "logging": "logging.getLogger('client').warning('using key %s', key)",
    "shell_command": "!echo $OPENAI_API_KEY",
    "fd_output": "os.system('echo fd: $OPENAI_API_KEY')",
    "widget": "import ipywidgets\nipywidgets.Text(value=key, description='key')",
    "out_history": "n_out = sum(key in repr(v) for v in Out.values())\n"
    "n_under = sum(key in repr(v) for k, v in list(globals().items())\n"
    "              if re.fullmatch(r'_+|_[0-9]+', k))\n"
    "print(f'Out leaks: {n_out} {n_under}')  # one write: one stream message",
    # last: the key stays redacted after it is unloaded (and the extension with it)
    "after_unload": "%aikey --unload openai\n%unload_ext nbsecrets\nprint(key)",
}
TEARDOWN = ["%notebook export.ipynb"]

# Channels that are kept by the kernel rather than shown in a cell's outputs.
KEPT = ("history_db_output", "logfile", "notebook_export")


def kept_channel(channel: str) -> str:
    """Skip a channel this IPython does not have: before IPython 9, %notebook saves no outputs
    (IPython 9 needs Python 3.11; SageMaker images still run 3.10 with IPython 8)."""
    import IPython

    if channel == "notebook_export" and IPython.version_info < (9,):
        pytest.skip("IPython 8's %notebook export holds no outputs, so nothing can leak there")
    return channel


@dataclass
class Run:
    """One executed notebook and what its kernel left behind."""

    nb: Any
    path: Path
    workdir: Path
    ipythondir: Path

    def saved(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def cell(self, tag: str) -> Any:
        [cell] = [c for c in self.nb.cells if tag in c.metadata.get("tags", [])]
        return cell

    def outputs(self, tag: str) -> str:
        return json.dumps(self.cell(tag).outputs)

    def history(self) -> tuple[str, str]:
        """(inputs, outputs) in the kernel's history database, each as one text."""
        path = self.ipythondir / "profile_default" / "history.sqlite"
        assert path.is_file(), "the kernel wrote no history database"
        db = sqlite3.connect(path)
        try:
            inputs = "\n".join(
                a + "\n" + b for a, b in db.execute("SELECT source, source_raw FROM history")
            )
            outputs = "\n".join(o for (o,) in db.execute("SELECT output FROM output_history"))
        finally:
            db.close()
        return inputs, outputs

    def kept(self, channel: str) -> str:
        if channel == "history_db_output":
            return self.history()[1]
        if channel == "logfile":
            return (self.workdir / "session.log").read_text(encoding="utf-8")
        if channel == "notebook_export":
            return (self.workdir / "export.ipynb").read_text(encoding="utf-8")
        raise KeyError(channel)


def windows(key: str) -> set[str]:
    """Every 12-character run of the value and of the encodings the cells print."""
    raw = key.encode()
    shown = [
        key,
        base64.b64encode(raw).decode()[:-2],
        base64.urlsafe_b64encode(b"Bearer " + raw).decode()[10:-2],
        urllib.parse.quote(key, safe=""),
    ]
    return {s[i : i + 12] for s in shown for i in range(len(s) - 11)}


def leaks(text: str, key: str) -> list[str]:
    return sorted(w for w in windows(key) if w in text)


def notebook(cells: dict[str, str]) -> Any:
    nb = new_notebook()
    for tag, source in cells.items():
        nb.cells.append(new_code_cell(source, metadata={"tags": [tag]}))
    return nb


def kernel_env(endpoint: str, tmp: Path, redact: bool) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "NBSECRETS_", "JPY_", "PYTEST_"))
        and not k.endswith(("_API_KEY", "_API_TOKEN"))
    }
    ipythondir = tmp / "ipython"
    (ipythondir / "profile_default").mkdir(parents=True, exist_ok=True)
    config = "c.HistoryManager.db_log_output = True\n"
    for name in ("ipython_config.py", "ipython_kernel_config.py"):
        (ipythondir / "profile_default" / name).write_text(config, encoding="utf-8")
    env.update(emulator_env(endpoint, tmp))
    env.update(
        {
            "NBSECRETS_PREFIX": f"leaks-{tmp.name}/",
            "IPYTHONDIR": str(ipythondir),
            "NBSECRETS_REDACT": "1" if redact else "0",
        }
    )
    return env


def seed_keys(endpoint: str, env: dict[str, str], **values: str) -> None:
    """Store each value in the emulator as the secret ``{NBSECRETS_PREFIX}{name}``."""
    sm = boto3.client(
        "secretsmanager",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for name, value in values.items():
        sm.create_secret(Name=env["NBSECRETS_PREFIX"] + name, SecretString=value)


def run_cells(nb: Any, env: dict[str, str], history: Path, workdir: Path) -> None:
    """Execute ``nb`` in a fresh kernel with ``env``, its history in the file ``history``."""
    # nbclient keeps history in memory unless told otherwise; a Jupyter server does not.
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        ipython_hist_file=str(history),
        resources={"metadata": {"path": str(workdir)}},
    )
    # The kernel ends with a shutdown request, so its history thread writes everything out.
    client.execute(env=env)


def execute(nb: Any, endpoint: str, tmp: Path, key: str, redact: bool) -> Run:
    env = kernel_env(endpoint, tmp, redact)
    seed_keys(endpoint, env, openai=key)
    workdir = tmp / "work"
    workdir.mkdir()
    history = Path(env["IPYTHONDIR"]) / "profile_default" / "history.sqlite"
    run_cells(nb, env, history, workdir)
    path = tmp / "executed.ipynb"
    nbformat.write(nb, path)
    return Run(nb, path, workdir, Path(env["IPYTHONDIR"]))


def _run(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    cells: dict[str, str],
    redact: bool,
) -> tuple[Run, str]:
    endpoint = request.getfixturevalue("moto_endpoint")
    key = make_key(request.getfixturevalue("key_shape"))
    tmp = tmp_path_factory.mktemp("on" if redact else "off")
    return execute(notebook(cells), endpoint, tmp, key, redact), key


def _main_cells() -> dict[str, str]:
    cells = {f"setup{i}": src for i, src in enumerate(SETUP)}
    cells.update(CHANNELS)
    cells.update({f"teardown{i}": src for i, src in enumerate(TEARDOWN)})
    return cells


def _pasted_cells(key: str) -> dict[str, str]:
    return {
        "setup0": "%load_ext nbsecrets",
        "setup1": "%aikey openai",
        # The user pastes the value into a cell after loading it: the cell source keeps it
        # (that is the front end's), but the kernel's echo, In, _ih, _i* and history must not.
        "pasted": f"%env PASTED_KEY={key}",
        "in_history": "import os, re\nkey = os.environ['OPENAI_API_KEY']\n"
        "n = sum(key in s for s in In) + sum(key in s for s in _ih)\n"
        "n += sum(key in str(v) for k, v in list(globals().items())\n"
        "         if re.fullmatch(r'_i+[0-9]*', k))\n"
        "print(f'In leaks: {n}')",
        "works": "print(f\"pasted works: {os.environ['PASTED_KEY'] == key}\")",
    }


@pytest.fixture(scope="module")
def on(request, tmp_path_factory, key_shape) -> tuple[Run, str]:
    return _run(request, tmp_path_factory, _main_cells(), redact=True)


@pytest.fixture(scope="module")
def off(request, tmp_path_factory, key_shape) -> tuple[Run, str]:
    return _run(request, tmp_path_factory, _main_cells(), redact=False)


def _pasted(request, tmp_path_factory, redact: bool) -> tuple[Run, str]:
    endpoint = request.getfixturevalue("moto_endpoint")
    key = make_key(request.getfixturevalue("key_shape"))
    tmp = tmp_path_factory.mktemp("pasted-on" if redact else "pasted-off")
    return execute(notebook(_pasted_cells(key)), endpoint, tmp, key, redact), key


@pytest.fixture(scope="module")
def pasted_on(request, tmp_path_factory, key_shape) -> tuple[Run, str]:
    return _pasted(request, tmp_path_factory, redact=True)


@pytest.fixture(scope="module")
def pasted_off(request, tmp_path_factory, key_shape) -> tuple[Run, str]:
    return _pasted(request, tmp_path_factory, redact=False)


# --- redaction on --------------------------------------------------------------------------


def test_code_still_sees_the_real_value(on):
    run, key = on
    digest = hashlib.sha256(key.encode()).hexdigest()
    assert f"sha256: {digest}" in run.outputs("setup3")


def test_saved_notebook_holds_no_run_of_the_key(on):
    run, key = on
    assert leaks(run.saved(), key) == []
    assert "[REDACTED:openai]" in run.saved()


def test_history_database_holds_no_run_of_the_key(on):
    run, key = on
    inputs, outputs = run.history()
    assert "%aikey openai" in inputs  # the database was written
    assert "[REDACTED:openai]" in outputs  # and output logging was on
    assert leaks(inputs, key) == []
    assert leaks(outputs, key) == []


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_channel_is_redacted(on, channel):
    run, key = on
    outputs = run.outputs(channel)
    assert leaks(outputs, key) == []
    if channel != "out_history":
        assert "REDACTED:openai" in outputs or channel == "widget"


def test_widget_state_is_redacted(on):
    run, key = on
    state = json.dumps(run.nb.metadata.get("widgets", {}))
    assert "[REDACTED:openai]" in state
    assert leaks(state, key) == []


def test_out_and_underscores_hold_no_key(on):
    run, _ = on
    assert "Out leaks: 0 0" in run.outputs("out_history")


@pytest.mark.parametrize("channel", KEPT)
def test_kept_channel_is_redacted(on, channel):
    run, key = on
    text = run.kept(kept_channel(channel))
    assert "[REDACTED:openai]" in text
    assert leaks(text, key) == []


def test_json_output_stays_valid_json(on):
    run, _ = on
    [out] = [o for o in run.cell("json").outputs if o.output_type == "execute_result"]
    data = out.data["application/json"]
    assert data == {"config": {"providers": [{"name": "openai", "api_key": "[REDACTED:openai]"}]}}
    [line] = [o for o in run.cell("json_escaped").outputs if o.output_type == "stream"]
    assert json.loads(line.text) == {"api_key": "[REDACTED:openai]"}


def test_pasted_value_is_kept_out_of_history(pasted_on):
    run, key = pasted_on
    assert "pasted works: True" in run.outputs("works")
    assert "In leaks: 0" in run.outputs("in_history")
    inputs, _ = run.history()
    assert "PASTED_KEY=[REDACTED:openai]" in inputs
    assert leaks(inputs, key) == []
    assert leaks(run.outputs("pasted"), key) == []


# --- redaction off: the same notebooks leak, so the checks above can fail -------------------


@pytest.mark.parametrize("channel", [c for c in CHANNELS if c not in ("widget", "out_history")])
def test_without_redaction_channel_leaks(off, channel):
    run, key = off
    assert leaks(run.outputs(channel), key), f"{channel} shows no key even without redaction"


def test_without_redaction_widget_state_leaks(off):
    run, key = off
    assert leaks(json.dumps(run.nb.metadata.get("widgets", {})), key)


def test_without_redaction_out_holds_the_key(off):
    run, _ = off
    text = run.outputs("out_history")
    match = re.search(r"Out leaks: (\d+) (\d+)", text)
    assert match and int(match.group(1)) > 0 and int(match.group(2)) > 0, text


@pytest.mark.parametrize("channel", KEPT)
def test_without_redaction_kept_channel_leaks(off, channel):
    run, key = off
    assert leaks(run.kept(kept_channel(channel)), key)


def test_without_redaction_saved_notebook_and_history_leak(off):
    run, key = off
    assert leaks(run.saved(), key)
    assert leaks(run.history()[1], key)
    assert "[REDACTED" not in run.saved()


def test_without_redaction_pasted_value_reaches_history(pasted_off):
    run, key = pasted_off
    assert "pasted works: True" in run.outputs("works")
    text = run.outputs("in_history")
    match = re.search(r"In leaks: (\d+)", text)
    assert match and int(match.group(1)) > 0, text
    assert leaks(run.history()[0], key)
    assert leaks(run.outputs("pasted"), key)


def test_kernel_runs_this_interpreter(on):
    run, _ = on
    assert f"python: {sys.executable}" in json.loads(run.outputs("setup3"))[0]["text"]


# --- every message to every client, not only what a notebook saves ---------------------------


def _messages(endpoint: str, tmp: Path, redact: bool, shape: str) -> tuple[dict[str, str], str]:
    """Talk to a kernel directly; return the text of each kind of message, and the key."""
    from jupyter_client.manager import start_new_kernel

    key = make_key(shape)
    env = kernel_env(endpoint, tmp, redact)
    seed_keys(endpoint, env, openai=key)
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp))
    seen: dict[str, list[Any]] = {}

    def keep(msg: dict[str, Any]) -> None:
        seen.setdefault(msg["msg_type"], []).append(msg["content"])

    try:
        reply = kc.execute_interactive(
            "%load_ext nbsecrets\n%aikey openai\nimport os\nkey = os.environ['OPENAI_API_KEY']",
            timeout=60,
            output_hook=keep,
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        # a cell holding the literal value: the execute_input broadcast echoes its code
        reply = kc.execute_interactive(
            f"pasted = {key!r}\nlen(pasted)",
            timeout=60,
            output_hook=keep,
            user_expressions={"k": "key", "part": "key[4:40]"},
        )
        seen["execute_reply"] = [reply["content"]]
        seen["inspect_reply"] = [
            kc.inspect("key", detail_level=0, reply=True, timeout=60)["content"]
        ]
        seen["history_reply"] = [
            kc.history(
                hist_access_type="tail", n=10, raw=True, output=False, reply=True, timeout=60
            )["content"]
        ]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    return {kind: json.dumps(contents) for kind, contents in seen.items()}, key


MESSAGES = ("execute_input", "execute_reply", "inspect_reply", "history_reply")


@pytest.fixture(scope="module")
def messages_on(request, tmp_path_factory, key_shape):
    return _messages(
        request.getfixturevalue("moto_endpoint"), tmp_path_factory.mktemp("msg-on"), True, key_shape
    )


@pytest.fixture(scope="module")
def messages_off(request, tmp_path_factory, key_shape):
    return _messages(
        request.getfixturevalue("moto_endpoint"),
        tmp_path_factory.mktemp("msg-off"),
        False,
        key_shape,
    )


@pytest.mark.parametrize("kind", MESSAGES)
def test_messages_to_clients_are_redacted(messages_on, kind):
    texts, key = messages_on
    assert "[REDACTED:openai]" in texts[kind]
    assert leaks(texts[kind], key) == []
    assert leaks(" ".join(texts.values()), key) == []


@pytest.mark.parametrize("kind", MESSAGES)
def test_without_redaction_messages_leak(messages_off, kind):
    texts, key = messages_off
    assert leaks(texts[kind], key)
