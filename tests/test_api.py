"""The shared store is reused while nothing that selects it changes, and rebuilt when it does."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nbsecrets import api


def test_store_reused_then_rebuilt_on_each_watched_change(aws_env):
    first = api.store()
    assert api.store() is first
    for var, value in [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("NBSECRETS_PREFIX", "t/"),
        ("AWS_PROFILE", "other"),
        ("HOME", "/nonexistent-home"),
    ]:
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


def test_a_warm_get_follows_a_changed_prefix_or_config_file(seed, proxy, aws_env):
    import nbsecrets

    values = {p: f"sk-{p[:-1]}-" + "v" * 30 for p in ("nbsecrets/", "team/", "other/")}
    for prefix, value in values.items():
        seed(f"{prefix}openai", value)
    proxy.requests.clear()
    assert nbsecrets.get("openai") == nbsecrets.get("openai") == values["nbsecrets/"]
    assert len(proxy.actions()) == 1  # the second one came from the cache
    os.environ["NBSECRETS_PREFIX"] = "team/"
    assert nbsecrets.get("openai") == values["team/"]
    del os.environ["NBSECRETS_PREFIX"]
    with open(aws_env["NBSECRETS_CONFIG"], "w") as f:
        f.write('prefix = "other/"\n')
    assert nbsecrets.get("openai") == values["other/"]
    with open(aws_env["NBSECRETS_CONFIG"], "w") as f:
        f.write('prefix = "nbsecrets/"\n')
    assert nbsecrets.get("openai") == values["nbsecrets/"]
    assert len(proxy.actions()) == 4  # each change read the key again


# Run in a process of its own: the audit hook that sees file opens cannot be removed.
_COUNTED = """
import json, os, sys
import nbsecrets
from nbsecrets import config
key = nbsecrets.get("openai")  # the first get: one request, the config file read
opens, checks = [], []
sys.addaudithook(lambda event, args: opens.append(str(args[0])) if event == "open" else None)
stat, access = os.stat, os.access
os.stat = lambda path, *a, **k: checks.append(("stat", str(path))) or stat(path, *a, **k)
os.access = lambda path, *a, **k: checks.append(("access", str(path))) or access(path, *a, **k)
same = all(nbsecrets.get("openai") == key for _ in range(100))
guard = [config.safety_switch("guard") for _ in range(100)]
os.stat, os.access = stat, access
print(json.dumps({"same": same, "guard": all(guard), "opens": opens, "checks": checks}))
"""


@pytest.mark.parametrize("with_file", [True, False], ids=["config-file", "no-config-file"])
def test_a_warm_get_costs_one_file_check_and_no_request(seed, proxy, aws_env, with_file):
    seed("nbsecrets/openai", "sk-counted-" + "c" * 30)
    path = aws_env["NBSECRETS_CONFIG"]
    if with_file:
        with open(path, "w") as f:
            f.write('prefix = "nbsecrets/"\n')
    proxy.requests.clear()
    out = subprocess.run(
        [sys.executable, "-c", _COUNTED],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.splitlines()[-1])
    assert got["same"] and got["guard"]
    assert proxy.actions() == ["BatchGetSecretValue"]  # the first get only
    assert got["opens"] == []  # the config file (or anything else) was not read again
    kind = "stat" if with_file else "access"  # no exception to build when there is no file
    assert got["checks"] == [[kind, path]] * 200  # one check per get and per safety switch
