"""`nbsecrets rotate NAME`: the steps by hand, the new key read from stdin (never argv), tested
at the provider stand-in before it becomes AWSCURRENT; the old Anthropic key archived."""

from __future__ import annotations

import io
import json
import sys

import pytest

import nbsecrets
from nbsecrets import cli

SECRET = "nbsecrets/anthropic"


@pytest.fixture
def anthropic(stored):
    """nbsecrets/anthropic holding a key stored by hand, and the admin key."""
    return stored("anthropic")


def run(monkeypatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return cli.main(["rotate", *argv])


def current(sm, name=SECRET) -> str:
    return sm.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"]


def test_hand_rotation_promotes_the_tested_key_and_archives_the_old(
    anthropic, provider, sm, monkeypatch, capsys
):
    first, new = provider.add_anthropic_key(), provider.add_anthropic_key()
    assert nbsecrets.get("claude") == anthropic
    assert run(monkeypatch, "claude", "--grace-days", "0", stdin=first + "\n") == 0
    assert current(sm) == first
    # The key stored by hand was not put there by rotation: it is left alone, with a note.
    assert provider.anthropic_active(anthropic)
    assert "leaves it alone" in capsys.readouterr().out
    # The next rotation archives the key the first one recorded.
    assert run(monkeypatch, "claude", "--grace-days", "0", stdin=new + "\n") == 0
    assert current(sm) == new
    assert provider.anthropic_keys[first]["status"] == "archived"
    assert provider.anthropic_active(new) and provider.anthropic_active(anthropic)
    assert nbsecrets.get("claude", refresh=True) == new
    out = capsys.readouterr()
    assert "archived" in out.out and "%aikey --refresh anthropic" in out.out
    for value in (anthropic, first, new, provider.anthropic_admin):
        assert value not in out.out + out.err
    # The test calls spent no tokens: only GET /v1/models with each new key, with the headers.
    tests = [r for r in provider.requests if r["path"] == "/v1/models"]
    assert [r["headers"].get("x-api-key") for r in tests] == [first, new]
    assert tests[0]["headers"].get("anthropic-version") == "2023-06-01"
    # The admin API saw only the admin key: never a key, not even in part.
    for r in provider.requests:
        if r["path"].startswith("/v1/organizations"):
            sent = json.dumps(r)
            assert all(
                v[i : i + 12] not in sent
                for v in (anthropic, first, new)
                for i in range(len(v) - 11)
            )
    archive = [r for r in provider.requests if r["method"] == "POST"]
    assert len(archive) == 1 and json.loads(archive[0]["body"]) == {"status": "archived"}
    assert archive[0]["path"].endswith(provider.anthropic_keys[first]["id"])


def test_a_rejected_key_leaves_awscurrent_and_says_so(anthropic, provider, sm, monkeypatch, capsys):
    bogus = "sk-ant-api03-" + "x" * 60
    assert run(monkeypatch, "anthropic", stdin=bogus) == 1
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "was not promoted" in err and err.count("\n") == 1
    assert bogus not in err
    assert current(sm) == anthropic
    assert provider.anthropic_active(anthropic)


def test_grace_keeps_the_old_key_until_revoke_previous(
    anthropic, provider, sm, monkeypatch, capsys
):
    first, new = provider.add_anthropic_key(), provider.add_anthropic_key()
    assert run(monkeypatch, "anthropic", stdin=first) == 0
    assert run(monkeypatch, "anthropic", stdin=new) == 0  # default grace: 1 day
    assert provider.anthropic_active(first) and current(sm) == new
    capsys.readouterr()
    assert run(monkeypatch, "anthropic", "--revoke-previous") == 0
    assert "no old key is due" in capsys.readouterr().out
    assert provider.anthropic_active(first)
    assert run(monkeypatch, "anthropic", "--revoke-previous", "--grace-days", "0") == 0
    assert provider.anthropic_keys[first]["status"] == "archived"
    assert provider.anthropic_active(anthropic)  # stored by hand: never rotation's to archive


def test_without_the_admin_secret_the_old_key_is_left_with_a_note(
    provider, seed, sm, monkeypatch, capsys
):
    old = provider.add_anthropic_key()
    seed(SECRET, old)
    new = provider.add_anthropic_key()
    assert run(monkeypatch, "anthropic", "--grace-days", "0", stdin=new) == 0
    assert "archive old keys in the Claude Console" in capsys.readouterr().out
    assert current(sm) == new and provider.anthropic_active(old)


def test_openai_by_hand_mints_through_the_admin_api(provider, seed, sm, monkeypatch, capsys):
    old = provider.add_openai_key()
    seed("nbsecrets/openai", old)
    seed("nbsecrets-admin/openai", provider.openai_admin)
    assert run(monkeypatch, "openai", "--grace-days", "0") == 0  # no prompt: minted
    payload = json.loads(current(sm, "nbsecrets/openai"))
    assert provider.openai_valid(payload["api_key"]) and provider.openai_valid(old)
    assert "leaves it alone" in capsys.readouterr().out


def test_bad_input_is_one_sentence_and_changes_nothing(anthropic, seed, sm, monkeypatch, capsys):
    assert run(monkeypatch, "anthropic", stdin=" padded-key \n") == 1
    assert "spaces around it" in capsys.readouterr().err
    seed("nbsecrets/mistral", "m-0123456789abcdef")
    assert run(monkeypatch, "mistral") == 1
    assert "nbsecrets set" in capsys.readouterr().err
    assert run(monkeypatch, "anthropic=nbsecrets/anthropic#api_key") == 1
    assert "without #api_key" in capsys.readouterr().err
    assert current(sm) == anthropic
    assert len(sm.list_secret_version_ids(SecretId=SECRET)["Versions"]) == 1
