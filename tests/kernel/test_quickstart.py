"""The quickstart notebook, executed in a real kernel against the moto server."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nbsecrets import demo

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.kernel


def outputs(nb) -> str:
    return nbformat.writes(nb)


def test_quickstart_executes(tmp_path, sm, proxy):
    values = demo.seed(sm)
    os.environ["IPYTHONDIR"] = str(tmp_path / "ipython")
    nb = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import hashlib, os\n"
            "print({v: hashlib.sha256(os.environ[v].encode()).hexdigest()\n"
            "       for v in ('OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'HF_TOKEN')})"
        )
    )
    demo.execute(nb, tmp_path)

    # Requests the kernel sent, in order: each %aikey line is one request; the cached
    # nbsecrets.load("openai") is none; the typo costs a listing for its suggestion.
    assert proxy.actions() == [
        "ListSecrets",  # %aikey --list
        "BatchGetSecretValue",  # %aikey openai anthropic
        "BatchGetSecretValue",  # two fields of demo/bundle
        "BatchGetSecretValue",
        "ListSecrets",  # %aikey opneai, then "did you mean"
    ]

    by_source = {c.source: c for c in nb.cells if c.cell_type == "code"}
    # Step 2 prints the table in a notebook too (a bare %aikey is the one that shows the picker).
    listed = by_source["%aikey --list"].outputs
    assert [o.output_type for o in listed] == ["stream"], listed
    assert "nbsecrets/openai" in listed[0].text and "KeyPicker" not in listed[0].text
    loaded = "".join(o.get("text", "") for o in by_source["%aikey openai anthropic"].outputs)
    assert loaded.startswith("openai: OPENAI_API_KEY <- nbsecrets/openai (version ")
    assert "anthropic: ANTHROPIC_API_KEY <- nbsecrets/anthropic" in loaded
    mistake = by_source['print(os.environ["OPENAI_API_KEY"])\nos.environ["ANTHROPIC_API_KEY"][3:]']
    assert mistake.outputs[0].text == "[REDACTED:openai]\n"
    assert mistake.outputs[1].data["text/plain"] == "'[REDACTED:anthropic]'"
    typo = by_source["%aikey opneai"].outputs
    # A UsageError shows as one line on stderr, with no traceback.
    assert [(o.output_type, o.name) for o in typo] == [("stream", "stderr")]
    assert typo[0].text.startswith("UsageError: opneai: secret nbsecrets/opneai was not found")
    assert "Did you mean openai?" in typo[0].text and typo[0].text.count("\n") == 1
    # The kernel really holds the values: their hashes match.
    hashes = eval(nb.cells[-1].outputs[0].text)  # a dict literal printed by the cell
    assert hashes["OPENAI_API_KEY"] == hashlib.sha256(values["openai"].encode()).hexdigest()
    assert hashes["ANTHROPIC_API_KEY"] == hashlib.sha256(values["anthropic"].encode()).hexdigest()
    assert hashes["HF_TOKEN"] == hashlib.sha256(values["huggingface"].encode()).hexdigest()
    saved = outputs(nb)
    for value in values.values():
        assert value not in saved


def test_demo_command(tmp_path):
    """`nbsecrets demo` end to end, in a fresh process, as the README runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NBSECRETS_"))}
    out = tmp_path / "demo.ipynb"
    proc = subprocess.run(
        [sys.executable, "-m", "nbsecrets.cli", "demo", "--output", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "In:  %aikey openai anthropic" in proc.stdout
    assert "Out: openai: OPENAI_API_KEY <- nbsecrets/openai" in proc.stdout
    assert "none of the 4 demo key values appears in it" in proc.stdout
    assert nbformat.read(out, as_version=4).cells


def test_demo_lab_serves_the_quickstart(tmp_path):
    """`nbsecrets demo --lab` starts JupyterLab on loopback, opening the quickstart notebook."""
    import re
    import signal
    import threading
    import urllib.request

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NBSECRETS_"))}
    env["CI"] = "true"
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbsecrets.cli", "demo", "--lab"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    found: list[str] = []

    def read() -> None:
        for line in proc.stdout:
            m = re.search(
                r"(http://127\.0\.0\.1:\d+)/lab/tree/quickstart\.ipynb\?token=(\w+)", line
            )
            if m and not found:
                found.append(m.group(0))
                found.extend(m.groups())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        for _ in range(240):  # up to two minutes for JupyterLab to print its URL
            if found or proc.poll() is not None:
                break
            reader.join(timeout=0.5)
        assert found, "JupyterLab printed no URL"
        _url, base, token = found
        with urllib.request.urlopen(
            f"{base}/api/contents/quickstart.ipynb?token={token}", timeout=30
        ) as resp:
            assert resp.status == 200
            assert "%aikey openai anthropic" in resp.read().decode()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
