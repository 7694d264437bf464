"""The registry: registered values are redacted by the package functions, the switch is read
from the environment, and registering imports no boto3."""

from __future__ import annotations

import subprocess
import sys

from nbsecrets import redaction


def test_registered_values_are_redacted_by_the_module_functions():
    value = "sk-registry-test-" + "Zq8Wv2Lp5Nx7Rt3Ks9Mb"
    redaction.register("openai", value)
    assert redaction.registered()[value] == "openai"
    assert redaction.redact_text(f"k={value[3:]}") == "k=[REDACTED:openai]"
    assert redaction.redact({"k": [value]}) == {"k": ["[REDACTED:openai]"]}
    assert redaction.redact_bytes(value.encode()) == b"[REDACTED:openai]"


def test_switch_is_read_from_the_environment(monkeypatch):
    redaction.register("openai", "sk-switch-test-Hq3Vb7Xn2Lm9Pw4R")
    monkeypatch.setenv("NBSECRETS_REDACT", "0")
    assert redaction.refresh_setting() is False
    assert not redaction.active()
    monkeypatch.setenv("NBSECRETS_REDACT", "1")
    assert redaction.refresh_setting() is True
    assert redaction.active()


def test_load_ext_and_register_do_not_import_boto3():
    code = (
        "import sys\n"
        "from traitlets.config import Config\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "c = Config(); c.HistoryManager.hist_file = ':memory:'\n"
        "shell = InteractiveShell.instance(config=c)\n"
        "shell.run_line_magic('load_ext', 'nbsecrets')\n"
        "from nbsecrets import redaction\n"
        "redaction.register('openai', 'sk-boto3-free-Hq3Vb7Xn2Lm9Pw4R')\n"
        "assert getattr(shell.history_manager, '_nbsecrets_redaction', False)\n"
        "print('boto3' in sys.modules, 'botocore' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False False"


def test_expired_short_lived_tokens_are_retired_in_batches():
    import secrets
    import time

    from nbsecrets.redaction import registry

    gone = time.time() - registry.RETIRE_AFTER_S - 1
    old = [secrets.token_urlsafe(40) for _ in range(2 * registry.RETIRE_BATCH)]
    live, key = secrets.token_urlsafe(40), secrets.token_urlsafe(40)
    registry.register("openai", key)
    for value in old:
        registry.register("openai", value, expires_at=gone)
    registry.register("openai", live, expires_at=time.time() + 300)
    held = set(old) & set(registry.registered())
    assert old[0] not in held and len(held) < registry.RETIRE_BATCH  # bounded
    assert registry.redact_text(old[0]) == old[0]  # an expired token is no credential
    assert registry.redact_text(live) == "[REDACTED:openai]"
    assert registry.redact_text(key) == "[REDACTED:openai]"  # keys never expire


def test_an_index_extended_equals_one_built_at_once():
    import secrets

    from nbsecrets.redaction.index import Index

    a = {secrets.token_urlsafe(30): "a", "short-ok": "a"}
    b = {secrets.token_urlsafe(30): "b", "sk-" + "x" * 30: "b"}
    whole, extended = Index.of({**a, **b}), Index.of(b, base=Index.of(a))
    assert whole is not None and extended is not None
    assert whole.forms == extended.forms and whole.form_labels == extended.form_labels
    assert whole.anchor_set == extended.anchor_set and whole.exact == extended.exact
    assert {k: set(v) for k, v in whole.after.items()} == {
        k: set(v) for k, v in extended.after.items()
    }
    assert {k: set(v) for k, v in whole.before.items()} == {
        k: set(v) for k, v in extended.before.items()
    }
