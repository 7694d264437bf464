"""Writes the user asks for (notebook/writes.py, notebook/history.py): ``%store``, ``%save``,
``%load`` refuse a loaded value in one sentence unless the command is repeated as the next
cell; ``%history -f`` and ``%save`` of input ranges write redacted history."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from nbsecrets import redaction
from nbsecrets.notebook.writes import held_labels
from tests.keys import make_key
from tests.render import runs


@pytest.fixture
def shell(ip, tmp_path, key_shape):
    """The test shell with ``%store`` loaded, a fresh key registered as ``key``, in tmp_path."""
    ip.run_line_magic("load_ext", "storemagic")
    key = make_key(key_shape)
    ip.user_ns["key"] = key
    redaction.register("openai", key)  # installs the guards on the running shell
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield ip, key
    finally:
        os.chdir(old)
        ip.user_ns.pop("key", None)


def run(ip, code: str):
    """Run ``code`` as a cell; return its error (or None) and what it printed."""
    result = ip.run_cell(code, store_history=True)
    return result.error_in_exec


def leaked(text: str, key: str) -> bool:
    return any(w in text for w in runs(key))


def _autorestore(ip) -> Path:
    return Path(ip.profile_dir.location) / "db" / "autorestore"


def test_store_refuses_then_stores_when_asked_twice(shell, capsys):
    ip, key = shell
    (_autorestore(ip) / "key").unlink(missing_ok=True)
    error = run(ip, "%store key")
    assert type(error).__name__ == "UsageError"
    message = str(error)
    assert "%store would write the loaded openai key in `key` to " in message
    assert str(_autorestore(ip)) in message and "%aikey openai" in message
    assert "run `%store key` again as the next cell" in message
    assert message.count(". ") == 0 and not leaked(message, key)  # one sentence, no value
    assert not (_autorestore(ip) / "key").exists()
    assert run(ip, "%store key") is None  # asked twice
    with open(_autorestore(ip) / "key", "rb") as f:
        assert pickle.load(f) == key
    run(ip, "%store -d key")


def test_store_confirmation_is_only_for_the_next_cell(shell):
    ip, _ = shell
    (_autorestore(ip) / "key").unlink(missing_ok=True)
    assert run(ip, "%store key") is not None
    run(ip, "x = 1")
    assert run(ip, "%store key") is not None  # another cell came between: refused again
    assert not (_autorestore(ip) / "key").exists()


def test_store_of_values_without_a_key_and_other_options_work(shell):
    ip, _ = shell
    ip.user_ns["plain"] = ["hello", 10]
    assert run(ip, "%store plain") is None
    assert (_autorestore(ip) / "plain").exists()
    assert run(ip, "%store -d plain") is None
    assert not (_autorestore(ip) / "plain").exists()


def test_store_to_a_file_and_objects_holding_a_key(shell, tmp_path):
    ip, key = shell
    ip.user_ns["config"] = {"openai": {"api_key": key}}
    for line in ("%store key >k.txt", "%store config >>k.txt", "%store config"):
        assert run(ip, line) is not None, line
    assert not (tmp_path / "k.txt").exists()
    assert not (_autorestore(ip) / "config").exists()
    # an expression is checked as the magic evaluates it (the magic has opened the file)
    assert run(ip, "%store key[2:] >part.txt") is not None
    assert not leaked((tmp_path / "part.txt").read_text(), key)


def test_save_refuses_a_variable_then_writes_when_asked_twice(shell, tmp_path):
    ip, key = shell
    error = run(ip, "%save -f k.py key")
    assert error is not None
    assert (
        f"%save would write the loaded openai key in `key` to the file {tmp_path / 'k.py'}"
        in str(error)
    )
    assert not (tmp_path / "k.py").exists()
    assert run(ip, "%save -f k.py key") is None
    assert key in (tmp_path / "k.py").read_text()


def test_load_refuses_a_key_into_the_next_cell(shell):
    ip, _ = shell
    error = run(ip, "%load key")
    assert error is not None and "into the next cell's source" in str(error)


def test_history_files_hold_redacted_history(shell, tmp_path):
    ip, key = shell
    run(ip, f"pasted = {key!r}")  # a key pasted into a cell
    run(ip, "y = 2")
    assert run(ip, "%history -f h.txt") is None
    assert run(ip, "%save -f ranges.py") is None  # the whole session's input
    assert run(ip, "%history -g pasted -f grep.txt") is None
    for name in ("h.txt", "ranges.py", "grep.txt"):
        text = (tmp_path / name).read_text()
        assert "[REDACTED:openai]" in text, name
        assert not leaked(text, key), name


def test_history_rows_of_an_earlier_session_are_redacted_when_read(shell):
    ip, key = shell
    hm = ip.history_manager
    rows = [(0, 1, f"old = {key!r}")]

    class Earlier:
        def get_tail(self, *args, **kwargs):
            return list(rows)

        def search(self, *args, **kwargs):
            return iter(rows)

    from nbsecrets.notebook.history import wrap_reads

    earlier = Earlier()
    wrap_reads(earlier)
    assert not leaked(repr(earlier.get_tail(1)), key)
    assert not leaked(repr(list(earlier.search("*"))), key)
    assert isinstance(earlier.get_tail(1), list)
    del hm


def test_without_redaction_everything_is_written(shell, tmp_path, monkeypatch):
    ip, key = shell
    monkeypatch.setenv("NBSECRETS_REDACT", "0")
    redaction.refresh_setting()
    try:
        assert run(ip, "%save -f off.py key") is None
        assert key in (tmp_path / "off.py").read_text()
    finally:
        monkeypatch.delenv("NBSECRETS_REDACT")
        redaction.refresh_setting()


def test_held_labels():
    key = make_key("letters-digits")  # no prefix shared with keys other tests registered
    redaction.register("mistral", key)
    assert held_labels(key) == ["mistral"]
    assert held_labels({"k": [key[3:20]]}) == ["mistral"]
    assert held_labels(key.encode()) == ["mistral"]
    assert held_labels(("a", object(), key[::-1])) == []
    assert held_labels("nothing here") == []
