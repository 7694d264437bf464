"""Storing a key: ``%aikey --set`` in a real IPython shell, and ``nbsecrets set``.

The value comes from a hidden prompt (answered here by patching ``getpass.getpass``) or from
stdin; it must never appear in the cell source, history or output.
"""

from __future__ import annotations

import getpass
import io
import os
import secrets
import subprocess
import sys

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from nbsecrets import cli


def new_value(prefix: str = "sk-set-") -> str:
    return prefix + secrets.token_urlsafe(32)


def runs(value: str) -> set[str]:
    return {value[i : i + 12] for i in range(len(value) - 11)}


def leaked(text: str, value: str) -> bool:
    return any(run in text for run in runs(value))


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    sh = InteractiveShell.instance(config=config)
    sh.run_cell("%load_ext nbsecrets", store_history=True)
    return sh


def history_text(shell: InteractiveShell) -> str:
    hm = shell.history_manager
    hm.writeout_cache()
    rows = hm.db.execute(
        "SELECT source, source_raw FROM history WHERE session=?", (hm.session_number,)
    ).fetchall()
    return "\n".join(a + "\n" + b for a, b in rows) + "\n".join(hm.input_hist_raw)


# --- %aikey --set -----------------------------------------------------------------------------


def test_magic_set_prompts_stores_and_loads(shell, sm, monkeypatch, capsys):
    value = new_value()
    prompts: list[str] = []

    def answer(prompt: str = "") -> str:
        prompts.append(prompt)
        return value

    monkeypatch.setattr(getpass, "getpass", answer)
    result = shell.run_cell("%aikey --set openai", store_history=True)
    result.raise_error()
    out, err = capsys.readouterr()

    assert prompts == ["openai API key (input hidden): "]
    assert os.environ["OPENAI_API_KEY"] == value
    assert sm.get_secret_value(SecretId="nbsecrets/openai")["SecretString"] == value
    assert "openai: stored as nbsecrets/openai" in out
    assert "OPENAI_API_KEY" in out
    assert not leaked(out + err, value)
    assert "%aikey --set openai" in history_text(shell)
    assert not leaked(history_text(shell), value)


def test_magic_set_value_is_redacted_afterwards(shell, monkeypatch, capsys):
    value = new_value()
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": value)
    shell.run_cell("%aikey --set openai", store_history=True).raise_error()
    capsys.readouterr()
    # The key as a cell result: shown and kept redacted (Out, _), in a shell without a kernel.
    result = shell.run_cell("import os; os.environ['OPENAI_API_KEY']", store_history=True)
    out, _ = capsys.readouterr()
    assert result.result == value  # the code itself got the real value
    assert "[REDACTED:openai]" in out and not leaked(out, value)
    assert shell.user_ns["_"] == "'[REDACTED:openai]'" or "[REDACTED" in shell.user_ns["_"]
    assert not any(leaked(repr(v), value) for v in shell.user_ns["Out"].values())
    # a failing cell whose message holds the key
    shell.run_cell(
        "raise RuntimeError('bad key ' + os.environ['OPENAI_API_KEY'][2:])", store_history=True
    )
    out, err = capsys.readouterr()
    assert "RuntimeError" in out + err and not leaked(out + err, value)


def test_magic_set_refuses_a_padded_value(shell, sm, monkeypatch, capsys):
    value = new_value()
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": f" {value}\n")
    shell.run_cell("%aikey --set mistral", store_history=True)
    out, err = capsys.readouterr()
    assert "spaces or newlines around it" in out + err
    assert value not in out + err
    assert "MISTRAL_API_KEY" not in os.environ
    assert sm.list_secrets()["SecretList"] == []


# --- nbsecrets set ----------------------------------------------------------------------------


def run_cli(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nbsecrets.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )


def test_cli_set_reads_piped_stdin(sm):
    value = new_value()
    proc = run_cli("set", "openai", stdin=value + "\n")  # `echo KEY | nbsecrets set openai`
    assert proc.returncode == 0, proc.stderr
    assert "openai: stored as nbsecrets/openai" in proc.stdout
    assert not leaked(proc.stdout + proc.stderr, value)
    assert sm.get_secret_value(SecretId="nbsecrets/openai")["SecretString"] == value
    tags = sm.describe_secret(SecretId="nbsecrets/openai")["Tags"]
    assert {"Key": "nbsecrets:provider", "Value": "openai"} in tags
    assert {"Key": "nbsecrets:managed", "Value": "true"} in tags


def test_cli_set_adds_a_version(sm):
    first, second = new_value(), new_value()
    assert run_cli("set", "claude", stdin=first).returncode == 0  # alias of anthropic
    assert run_cli("set", "anthropic", stdin=second + "\n").returncode == 0
    current = sm.get_secret_value(SecretId="nbsecrets/anthropic")
    previous = sm.get_secret_value(SecretId="nbsecrets/anthropic", VersionStage="AWSPREVIOUS")
    assert (current["SecretString"], previous["SecretString"]) == (second, first)


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("", "the value is empty"),
        ("\n", "the value is empty"),
        ("  sk-padded-value-0123456789\n", "spaces or newlines around it"),
        ("sk-two-newlines-0123456789\n\n", "spaces or newlines around it"),
    ],
)
def test_cli_set_refuses_empty_or_padded(sm, stdin, message):
    proc = run_cli("set", "openai", stdin=stdin)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert proc.stderr.count("\n") == 1  # one line, no traceback
    assert "sk-" not in proc.stdout + proc.stderr
    assert sm.list_secrets()["SecretList"] == []


def test_cli_set_never_takes_the_value_as_an_argument(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["set", "openai", new_value()])
    assert exc.value.code == 2


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True

    def read(self, *args: object) -> str:
        raise AssertionError("a terminal must be asked through getpass, not read")


def test_cli_set_prompts_on_a_terminal(sm, monkeypatch, capsys):
    value = new_value()
    prompts: list[str] = []
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": prompts.append(prompt) or value)
    assert cli.main(["set", "groq"]) == 0
    out, err = capsys.readouterr()
    assert prompts == ["groq API key (input hidden): "]
    assert not leaked(out + err, value)
    assert sm.get_secret_value(SecretId="nbsecrets/groq")["SecretString"] == value


def test_cli_set_in_process_from_stdin(sm, monkeypatch, capsys):
    value = new_value()
    monkeypatch.setattr(sys, "stdin", io.StringIO(value + "\r\n"))
    assert cli.main(["set", "hf"]) == 0
    out, _ = capsys.readouterr()
    assert "huggingface: stored as nbsecrets/huggingface" in out
    assert sm.get_secret_value(SecretId="nbsecrets/huggingface")["SecretString"] == value


def test_a_value_typed_before_it_was_stored_is_scrubbed_from_history(shell, monkeypatch):
    value = new_value("sk-pasted-")
    # the user pastes the key into a cell first, and it is written to the history database...
    shell.run_cell(f"pasted = {value!r}", store_history=True).raise_error()
    hm = shell.history_manager
    hm.writeout_cache()
    assert leaked(history_text(shell), value)
    assert leaked(shell.user_ns[f"_i{shell.execution_count - 1}"], value)
    # ...then stores it properly: from then on, the history holds no trace of it
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": value)
    shell.run_cell("%aikey --set openai", store_history=True).raise_error()
    assert not leaked(history_text(shell), value)
    assert not any(leaked(s, value) for s in shell.user_ns["In"])
    assert not any(leaked(str(v), value) for k, v in shell.user_ns.items() if k.startswith("_i"))
    assert shell.user_ns["pasted"] == value  # the variable itself is the user's
