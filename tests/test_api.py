"""The shared store is reused while nothing that selects it changes, and rebuilt when it does."""

from __future__ import annotations

import os

from nbsecrets import api


def test_store_reused_then_rebuilt_on_each_watched_change(aws_env):
    first = api.store()
    assert api.store() is first
    for var, value in [("AWS_ENDPOINT_URL", "http://127.0.0.1:9"), ("NBSECRETS_PREFIX", "t/"),
                       ("AWS_PROFILE", "other"), ("HOME", "/nonexistent-home")]:
        before = api.store()
        os.environ[var] = value
        assert api.store() is not before, var
        assert api.store() is api.store()
    os.environ["UNRELATED_VARIABLE"] = "1"
    assert api.store() is api.store()


def test_store_rebuilt_when_config_file_appears_or_changes(aws_env):
    first = api.store()
    assert first.config.prefix == "nbsecrets/"
    with open(aws_env["NBSECRETS_CONFIG"], "w") as f:
        f.write('prefix = "team/"\n')
    second = api.store()
    assert second is not first and second.config.prefix == "team/"
    with open(aws_env["NBSECRETS_CONFIG"], "w") as f:
        f.write('prefix = "other/"\n')
    os.utime(aws_env["NBSECRETS_CONFIG"], ns=(1, 1))  # a different mtime, whatever the clock
    assert api.store().config.prefix == "other/"


def test_overwritten_variable_value_is_registered(sm, aws_env):
    import secrets

    from nbsecrets import redaction

    old, new = "sk-old-" + secrets.token_urlsafe(24), "sk-new-" + secrets.token_urlsafe(24)
    sm.create_secret(Name="nbsecrets/openai", SecretString=new)
    os.environ["OPENAI_API_KEY"] = old
    assert old not in redaction.registered()
    api.load_keys(["openai"])
    assert os.environ["OPENAI_API_KEY"] == new
    assert redaction.registered()[old] == "openai"
    assert redaction.redact_text(f"was {old}") == "was [REDACTED:openai]"
