"""%aikey / nbsecrets.load on federated secrets: requests, variables, the token file, the
refreshers, and every failure leaving nothing changed. Real HTTP to the loopback STS (in front
of moto) and the loopback providers; no mocks."""

from __future__ import annotations

import os
import stat
import time
import urllib.request
from pathlib import Path

import pytest

from nbsecrets import api, redaction
from nbsecrets.errors import FederationError, SecretFormatError
from nbsecrets.federation import live
from nbsecrets.federation.tokenfile import base_dir
from tests.conftest import closed_port
from tests.federation.conftest import ANTHROPIC_AUD, OPENAI_AUD
from tests.federation.servers import jti

ANTHROPIC_SET = (
    "ANTHROPIC_FEDERATION_RULE_ID",
    "ANTHROPIC_ORGANIZATION_ID",
    "ANTHROPIC_SERVICE_ACCOUNT_ID",
    "ANTHROPIC_WORKSPACE_ID",
    "ANTHROPIC_IDENTITY_TOKEN_FILE",
)


def wait_for(cond, what: str, timeout_s: float = 15.0) -> None:
    """Poll ``cond`` (a refresher runs in the background); the deadline only bounds a hang."""
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def token_dirs() -> set[Path]:
    return set(base_dir().glob("kernel-*"))


def models(url: str, token: str) -> int:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_one_batch_read_one_sts_call_per_provider_one_exchange(keyless, proxy):
    os.environ["AWS_ENDPOINT_URL_STS"] = keyless.sts.url  # proxy took AWS_ENDPOINT_URL
    os.environ["ANTHROPIC_API_KEY"] = "sk-ant-old-long-lived-key-0123456789"
    loaded = api.load("openai", "anthropic")
    assert proxy.requests == ["secretsmanager.BatchGetSecretValue"]
    assert [c["Audience.member.1"] for c in keyless.sts.calls] == [OPENAI_AUD, ANTHROPIC_AUD]
    assert all(
        c["DurationSeconds"] == "300" and c["SigningAlgorithm"] == "RS256"
        for c in keyless.sts.calls
    )
    assert keyless.openai.exchanges == 1 and keyless.anthropic.exchanges == 0
    assert loaded["openai"] == ("OPENAI_API_KEY",)
    assert loaded["anthropic"] == ANTHROPIC_SET
    token = os.environ["OPENAI_API_KEY"]
    assert token in keyless.openai.issued
    assert models(f"{keyless.openai.url}/v1/models", token) == 200
    assert "ANTHROPIC_API_KEY" not in os.environ
    assert os.environ["ANTHROPIC_FEDERATION_RULE_ID"] == keyless.anthropic_rule
    assert os.environ["ANTHROPIC_WORKSPACE_ID"] == "default"
    # every JWT and token is registered; the replaced long-lived key stays redacted
    values = redaction.registered()
    assert token in values and all(t in values for t in keyless.sts.tokens)
    assert "sk-ant-old-long-lived-key-0123456789" in values


def test_token_file_is_private_outside_the_notebook_folder(keyless, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    api.load("anthropic")
    path = Path(os.environ["ANTHROPIC_IDENTITY_TOKEN_FILE"])
    assert path.read_text() == keyless.sts.tokens[-1]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert path.parent.parent.stat().st_uid == os.getuid()
    assert tmp_path not in path.parents
    api.unload("anthropic")
    assert not path.parent.exists()
    assert not any(v in os.environ for v in ANTHROPIC_SET)


def test_openai_token_is_refreshed_before_it_expires(keyless):
    keyless.openai.token_lifetime_s = 2.0
    api.load("openai")
    first = os.environ["OPENAI_API_KEY"]
    # refreshed from the server's expires_in (2 s), not from the JWT's 300 s
    wait_for(lambda: os.environ["OPENAI_API_KEY"] != first, "a refreshed token")
    second = os.environ["OPENAI_API_KEY"]
    wait_for(lambda: os.environ["OPENAI_API_KEY"] not in (first, second), "another refresh")
    assert keyless.openai.exchanges >= 3 and len(keyless.sts.tokens) >= 3
    wait_for(lambda: not keyless.openai.valid(first), "the first token to expire")
    assert models(f"{keyless.openai.url}/v1/models", first) == 401
    assert models(f"{keyless.openai.url}/v1/models", os.environ["OPENAI_API_KEY"]) == 200
    assert os.environ["OPENAI_API_KEY"] in redaction.registered()


def test_anthropic_file_gets_a_fresh_jwt_well_inside_its_lifetime(keyless):
    keyless.sts.lifetime_s = 5.0  # Expiration says 5 s, whatever DurationSeconds asked
    api.load("anthropic")
    path = Path(os.environ["ANTHROPIC_IDENTITY_TOKEN_FILE"])
    first = path.read_text()
    wait_for(lambda: path.read_text() != first, "a fresh JWT in the file")
    assert jti(path.read_text()) != jti(first)
    assert path.read_text() in redaction.registered()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_refresher_stops_when_the_user_replaces_the_variable(keyless):
    keyless.openai.token_lifetime_s = 1.0
    api.load("openai")
    os.environ["OPENAI_API_KEY"] = "sk-user-own-key-0123456789abcdef"
    wait_for(lambda: live.live("openai") is None, "the refresher to stop")
    assert os.environ["OPENAI_API_KEY"] == "sk-user-own-key-0123456789abcdef"
    assert any("no longer refreshed" in n for n in api.take_notices())


def _unchanged(keyless, names, step, words):
    os.environ["ANTHROPIC_API_KEY"] = "sk-ant-kept-0123456789abcdef"
    os.environ["OPENAI_API_KEY"] = "sk-kept-0123456789abcdef"
    before, dirs = dict(os.environ), token_dirs()
    with pytest.raises(FederationError) as err:
        api.load(*names)
    assert dict(os.environ) == before
    assert token_dirs() == dirs
    assert live.live("openai") is None and live.live("anthropic") is None
    message = str(err.value)
    failure = err.value.failures.get(names[-1], err.value) if err.value.failures else err.value
    assert failure.step == step, message
    for word in words:
        assert word in message
    return message


def test_federation_not_enabled(keyless):
    keyless.sts.disabled = True
    _unchanged(
        keyless,
        ["openai", "anthropic"],
        "sts",
        ["outbound identity federation is not enabled", "nbsecrets federate"],
    )


def test_get_web_identity_token_denied(keyless):
    keyless.sts.denied = True
    _unchanged(
        keyless,
        ["anthropic"],
        "sts",
        ["sts:GetWebIdentityToken", ANTHROPIC_AUD, "nbsecrets provision"],
    )


def test_wrong_audience_is_denied_by_the_policy(keyless, seed, sm):
    keyless.sts.audiences = {OPENAI_AUD}
    _unchanged(keyless, ["openai", "anthropic"], "sts", ["audience https://api.anthropic.com"])


def test_exchange_rejected_leaves_the_other_provider_unloaded(keyless):
    keyless.openai.rules.clear()
    message = _unchanged(
        keyless,
        ["anthropic", "openai"],
        "exchange",
        ["OpenAI refused", "invalid_grant", keyless.openai_provider],
    )
    assert keyless.sts.tokens[0] not in message


def test_provider_down(keyless, sm):
    settings = keyless.openai_settings()
    settings["federation"]["token_url"] = f"http://127.0.0.1:{closed_port()}/oauth/token"
    import json

    sm.put_secret_value(SecretId="nbsecrets/openai", SecretString=json.dumps(settings))
    _unchanged(keyless, ["openai"], "exchange", ["could not be reached"])


def test_clock_skew(keyless):
    keyless.sts.skew_s = -400.0  # AWS's clock behind ours: the token looks expired already
    _unchanged(keyless, ["openai"], "clock", ["clock", "sync the clock"])


def test_bad_settings_name_the_field(keyless, sm):
    import json

    sm.put_secret_value(
        SecretId="nbsecrets/openai",
        SecretString=json.dumps(
            {"federation": {"audience": OPENAI_AUD, "identity_provider_id": "wip_1"}}
        ),
    )
    with pytest.raises(SecretFormatError, match="lack service_account_id"):
        api.load("openai")
    assert "OPENAI_API_KEY" not in os.environ and not keyless.sts.calls


def test_plain_http_token_url_is_refused(keyless, sm):
    import json

    settings = keyless.openai_settings()
    settings["federation"]["token_url"] = "http://auth.example.com/oauth/token"
    sm.put_secret_value(SecretId="nbsecrets/openai", SecretString=json.dumps(settings))
    with pytest.raises(SecretFormatError, match="not an https URL"):
        api.load("openai")
    assert not keyless.sts.calls


def test_only_openai_and_anthropic_federate(keyless, seed):
    seed("nbsecrets/groq", {"federation": {"audience": "x"}})
    with pytest.raises(SecretFormatError, match="only openai and anthropic"):
        api.load("groq")
