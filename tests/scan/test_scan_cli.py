"""``nbsecrets scan`` end to end: exit codes, text/json/SARIF reports, progress, --git, --fix."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import jsonschema
import nbformat
import pytest

from nbsecrets.cli import main
from nbsecrets.leakscan.run import Options
from nbsecrets.leakscan.run import main as run_scan
from tests.scan.corpus import keys

KEYS = keys(11)
SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


def leaky_notebook(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Analysis"),
        nbformat.v4.new_code_cell(f"client = Anthropic(api_key='{KEYS['anthropic']}')"),
        nbformat.v4.new_code_cell(
            "print(key)",
            outputs=[
                nbformat.v4.new_output("stream", name="stdout", text=f"{KEYS['openai']}\n"),
                nbformat.v4.new_output("display_data", data={"text/plain": "'ok'"}),
            ],
        ),
        nbformat.v4.new_code_cell(
            "x = 1",
            outputs=[
                nbformat.v4.new_output(
                    "execute_result", data={"text/plain": "1"}, execution_count=3
                )
            ],
        ),
    ]
    nbformat.write(nb, path)
    return nb


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_clean_folder_exits_0(tmp_path, capsys):
    (tmp_path / "a.py").write_text("print('hello')\n")
    assert main(["scan", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == "no keys found"


def test_findings_exit_1_with_one_line_each_and_no_value(tmp_path, capsys):
    leaky_notebook(tmp_path / "a.ipynb")
    (tmp_path / ".env").write_text(f"GROQ_API_KEY={KEYS['groq']}\n")
    assert main(["scan", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0] == (f"{tmp_path}/.env: line 1: unknown key of provider groq [gsk_…]")
    assert lines[1] == (
        f"{tmp_path}/a.ipynb: cell 1, line 1: unknown key of provider anthropic [sk-ant-api03-…]"
    )
    assert lines[2] == (
        f"{tmp_path}/a.ipynb: cell 2, output 0, line 1: unknown key of provider openai [sk-proj-…]"
    )
    assert lines[-1] == "3 key(s) found (0 managed)"
    for key in KEYS.values():
        assert key[:16] not in out.replace("sk-ant-api03-…", "")


def test_an_unreadable_path_is_one_line_and_the_scan_goes_on(tmp_path, capsys):
    (tmp_path / "ok.txt").write_text("nothing\n")
    missing = tmp_path / "missing.ipynb"
    assert main(["scan", str(missing), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{missing}: not readable" in err
    (tmp_path / "k.txt").write_text(KEYS["xai"])
    assert main(["scan", str(missing), str(tmp_path)]) == 1  # found beats unreadable


def test_json_report_has_the_contract_fields(tmp_path, capsys):
    leaky_notebook(tmp_path / "a.ipynb")
    assert main(["scan", "--format", "json", str(tmp_path / "a.ipynb")]) == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert captured.err == ""  # no progress and no notes in json mode
    first = doc["findings"][0]
    assert {"path", "cell", "output", "line", "provider", "kind", "secret"} <= set(first)
    assert [
        (f["cell"], f["output"], f["line"], f["provider"], f["kind"], f["secret"])
        for f in doc["findings"]
    ] == [(1, None, 1, "anthropic", "pattern", None), (2, 0, 1, "openai", "pattern", None)]
    assert all(k not in captured.out for k in (KEYS["anthropic"], KEYS["openai"]))


def test_sarif_validates_against_the_oasis_schema(tmp_path, capsys):
    leaky_notebook(tmp_path / "a.ipynb")
    (tmp_path / "b.txt").write_text(f"\n\nkey: {KEYS['google']}\n")
    assert main(["scan", "--format", "sarif", str(tmp_path)]) == 1
    log = json.loads(capsys.readouterr().out)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(log))
    assert errors == []
    results = log["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == [
        "nbsecrets/anthropic",
        "nbsecrets/openai",
        "nbsecrets/google",
    ]
    # notebook findings are at the line of the .ipynb file that holds them
    text = (tmp_path / "a.ipynb").read_text().splitlines()
    line = results[0]["locations"][0]["physicalLocation"]["region"]["startLine"]
    assert "Anthropic(api_key=" in text[line - 1]
    assert results[2]["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert results[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "cell 1"
    bad = dict(log, version="2.0")
    assert list(jsonschema.Draft4Validator(schema).iter_errors(bad))  # the check can fail


def test_progress_on_a_terminal_only(tmp_path):
    for i in range(3):
        (tmp_path / f"f{i}.txt").write_text("x\n")
    err = Tty()
    assert (
        run_scan(
            Options(paths=(str(tmp_path),)),
            out=io.StringIO(),
            err=err,
            matcher=None,
            load=lambda notice: _none(),
        )
        == 0
    )
    assert err.getvalue().endswith("3 files scanned, 0 found\n")
    err = Tty()
    run_scan(
        Options(paths=(str(tmp_path),), format="json"),
        out=io.StringIO(),
        err=err,
        load=lambda notice: _none(),
    )
    assert err.getvalue() == ""


def _none():
    from nbsecrets.leakscan.engine import NoFingerprints

    return NoFingerprints()


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def test_git_history_each_blob_once(tmp_path, capsys):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.txt").write_text(f"key = {KEYS['groq']}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    first = git(repo, "rev-parse", "HEAD").strip()
    (repo / "b.txt").write_text(f"key = {KEYS['groq']}\n")  # the same blob under a new name
    (repo / "a.txt").write_text("key = os.environ['GROQ_API_KEY']\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "two")
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "c.ipynb").write_text(
        json.dumps(
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "source": KEYS["huggingface"],
                        "outputs": [],
                        "metadata": {},
                    }
                ]
            }
        )
    )
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "three")
    git(repo, "checkout", "-q", "main")
    assert main(["scan", "--git", "--format", "json", str(repo)]) == 1
    found = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["path"], f["commit"], f["provider"]) for f in found] == [
        ("a.txt", first, "groq"),
        ("c.ipynb", found[1]["commit"], "huggingface"),
    ]
    assert main(["scan", "--git", str(tmp_path / "nope")]) == 2
    assert "git log failed" in capsys.readouterr().err


def test_fix_replaces_each_finding_and_nothing_else(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "a.ipynb"
    leaky_notebook(path)
    before = path.read_text()
    assert main(["scan", "--fix", str(path)]) == 1
    out = capsys.readouterr().out
    assert "2 of 2 replaced by [REDACTED:provider]" in out
    after = path.read_text()
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.cells[1].source == "client = Anthropic(api_key='[REDACTED:anthropic]')"
    assert nb.cells[2].outputs[0].text == "[REDACTED:openai]\n"
    expected = before.replace(KEYS["anthropic"], "[REDACTED:anthropic]").replace(
        KEYS["openai"], "[REDACTED:openai]"
    )
    assert after == expected  # byte-identical elsewhere: no reordering, no reformatting
    backups = list((tmp_path / "cache" / "nbsecrets" / "backups").rglob("a.ipynb"))
    assert len(backups) == 1 and backups[0].read_text() == before
    assert oct(backups[0].stat().st_mode & 0o777) == "0o600"
    assert main(["scan", str(path)]) == 0


def test_fix_and_git_together_are_refused(tmp_path, capsys):
    assert main(["scan", "--git", "--fix", str(tmp_path)]) == 2
    assert "--fix rewrites files, not history" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["xml"])
def test_bad_format_is_refused_by_the_parser(fmt, capsys):
    with pytest.raises(SystemExit) as info:
        main(["scan", "--format", fmt])
    assert info.value.code == 2
