"""The save hook through a real Jupyter server's contents API (PUT /api/contents/...)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scan.corpus import keys

KEYS = keys(5)
TOKEN = "nbsecrets-test-token"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path, Path]]:
    tmp = tmp_path_factory.mktemp("jupyter")
    root = tmp / "root"
    root.mkdir()
    config = tmp / "jupyter_server_config.py"
    config.write_text('c.FileContentsManager.pre_save_hook = "nbsecrets.jupyter_pre_save_hook"\n')
    log = tmp / "server.log"
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JPY_", "JUPYTER_"))}
    env.update(
        {
            "JUPYTER_CONFIG_DIR": str(tmp / "cfg"),
            "JUPYTER_DATA_DIR": str(tmp / "data"),
            "JUPYTER_RUNTIME_DIR": str(tmp / "run"),
        }
    )
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                f"--config={config}",
                "--no-browser",
                f"--ServerApp.root_dir={root}",
                f"--ServerApp.port={port}",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={TOKEN}",
                "--ServerApp.port_retries=0",
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # bounded wait for the server to listen
            try:
                call(url, "GET", "/api/status")
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(log.read_text()) from None
                time.sleep(0.1)
        else:
            raise RuntimeError("jupyter server did not start")
        yield url, root, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def call(url: str, method: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(
        url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def notebook() -> dict:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "id": "c1",
                "metadata": {},
                "execution_count": 1,
                "source": ["import os\n", f"os.environ['OPENAI_API_KEY'] = '{KEYS['openai']}'"],
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": [KEYS["anthropic"][:50]]},
                    {
                        "output_type": "stream",
                        "name": "stdout",
                        "text": [KEYS["anthropic"][50:], "\n"],
                    },
                ],
            },
            {"cell_type": "markdown", "id": "c2", "metadata": {}, "source": "no key here"},
        ],
    }


def test_a_notebook_saved_with_keys_is_redacted_before_it_reaches_disk(server):
    url, root, log = server
    resp = call(
        url,
        "PUT",
        "/api/contents/leak.ipynb",
        {"type": "notebook", "format": "json", "content": notebook()},
    )
    on_disk = (root / "leak.ipynb").read_text(encoding="utf-8")
    for key in (KEYS["openai"], KEYS["anthropic"]):
        assert key[:20] not in on_disk and key[-20:] not in on_disk
    saved = json.loads(on_disk)
    assert "".join(saved["cells"][0]["source"]) == (
        "import os\nos.environ['OPENAI_API_KEY'] = '[REDACTED:openai]'"
    )
    assert "[REDACTED:anthropic]" in "".join(
        "".join(o["text"]) for o in saved["cells"][0]["outputs"]
    )
    assert "".join(saved["cells"][1]["source"]) == "no key here"
    assert resp["message"].startswith("nbsecrets: 2 API key(s) (anthropic, openai) replaced")
    assert "reload it from disk" in resp["message"]
    text = log.read_text()
    assert "nbsecrets: 2 API key(s)" in text and KEYS["openai"] not in text


def test_a_text_file_with_a_key_is_redacted_and_a_clean_one_is_untouched(server):
    url, root, _ = server
    call(
        url,
        "PUT",
        "/api/contents/local.env",
        {"type": "file", "format": "text", "content": f"GROQ_API_KEY={KEYS['groq']}\nA=1\n"},
    )
    assert (root / "local.env").read_text() == "GROQ_API_KEY=[REDACTED:groq]\nA=1\n"
    clean = notebook()
    clean["cells"] = clean["cells"][1:]
    resp = call(
        url,
        "PUT",
        "/api/contents/clean.ipynb",
        {"type": "notebook", "format": "json", "content": clean},
    )
    assert not resp.get("message")
    saved = json.loads((root / "clean.ipynb").read_text())["cells"]
    assert [("".join(c["source"]), c["id"]) for c in saved] == [("no key here", "c2")]


def test_the_hook_called_directly_fails_closed():
    import nbsecrets

    class Boom(dict):
        def get(self, key, default=None):
            if key == "content":
                raise RuntimeError("broken model")
            return super().get(key, default)

    from tornado.web import HTTPError

    with pytest.raises(HTTPError) as info:
        nbsecrets.jupyter_pre_save_hook(
            model=Boom(type="notebook"), path="x.ipynb", contents_manager=None
        )
    assert info.value.status_code == 500
    assert "was not saved" in info.value.log_message
