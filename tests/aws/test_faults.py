"""Faults made for real: a closed port, a slow endpoint, throttling, no or expired credentials.

Each ends in the documented exception with one sentence, after a number of attempts fixed by
configuration (counted through the proxy or botocore's own send events, never timed), leaves
the environment as it was, and a later call works once the fault is gone.
"""

from __future__ import annotations

import os

import pytest
from IPython.core.error import UsageError

import nbsecrets
from nbsecrets import api
from nbsecrets.aws import transport
from tests.regions import MotoProcess, free_port

KEY = "sk-test-0123456789abcdefghij"
OTHER = "sk-ant-test-abcdefghij0123456789"


@pytest.fixture
def keys(seed):
    seed("nbsecrets/openai", KEY)
    seed("nbsecrets/anthropic", OTHER)


def one_sentence(message: str) -> None:
    assert "\n" not in message and message.endswith(".")
    assert KEY not in message and OTHER not in message


def load_fails(proxy, match: str, *names: str) -> None:
    """Loading ``names`` fails with StoreUnavailableError, one sentence matching ``match``,
    after MAX_ATTEMPTS BatchGetSecretValue requests, and changes no variable."""
    before = dict(os.environ)
    with pytest.raises(nbsecrets.StoreUnavailableError, match=match) as info:
        nbsecrets.load(*names)
    one_sentence(str(info.value))
    assert proxy.actions() == ["BatchGetSecretValue"] * transport.MAX_ATTEMPTS
    assert dict(os.environ) == before


def count_sends() -> list[str]:
    """Every HTTP request the shared store's client sends, through botocore's events."""
    sent: list[str] = []
    api.store().client().meta.events.register(
        "before-send", lambda request, **_: sent.append(request.url)
    )
    return sent


def test_client_timeouts_and_retries_are_bounded():
    config = api.store().client().meta.config
    assert config.connect_timeout == transport.CONNECT_TIMEOUT_S <= 5
    assert config.read_timeout == transport.READ_TIMEOUT_S <= 10
    assert config.retries == {"mode": "adaptive", "total_max_attempts": transport.MAX_ATTEMPTS}
    assert transport.MAX_ATTEMPTS <= 3


def test_closed_port(aws_env):
    server = MotoProcess()  # its port is closed until it starts
    os.environ["AWS_ENDPOINT_URL"] = server.url
    before = dict(os.environ)
    sent = count_sends()
    with pytest.raises(nbsecrets.StoreUnavailableError) as info:
        nbsecrets.load("openai", "anthropic")
    message = str(info.value)
    one_sentence(message)
    assert message.startswith(f"Cannot reach Secrets Manager in us-east-1 at {server.url};")
    assert len(sent) == transport.MAX_ATTEMPTS
    assert dict(os.environ) == before
    # The fault goes away: the same store, same settings, now works.
    server.start()
    try:
        import boto3

        boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="nbsecrets/openai", SecretString=KEY
        )
        assert nbsecrets.load("openai") == {"openai": ("OPENAI_API_KEY",)}
        assert os.environ["OPENAI_API_KEY"] == KEY
    finally:
        server.stop()


def test_closed_port_through_the_magic_is_one_line(aws_env, ip):
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    os.environ["AWS_MAX_ATTEMPTS"] = "1"  # the standard variable is honoured
    sent = count_sends()
    before = dict(os.environ)
    with pytest.raises(UsageError, match=r"^Cannot reach Secrets Manager in us-east-1") as info:
        ip.run_line_magic("aikey", "openai anthropic")
    one_sentence(str(info.value))
    assert len(sent) == 1
    assert dict(os.environ) == before


def test_dead_upstream_behind_the_proxy(keys, proxy):
    proxy.routes["us-east-1"] = f"http://127.0.0.1:{free_port()}"  # connection refused
    load_fails(proxy, "Cannot reach", "openai")
    del proxy.routes["us-east-1"]
    assert nbsecrets.get("openai") == KEY


def test_slow_endpoint_times_out(keys, proxy, monkeypatch):
    monkeypatch.setattr(transport, "READ_TIMEOUT_S", 0.2)
    proxy.delay_s = 1.0
    load_fails(proxy, "did not answer in time", "openai", "anthropic")
    proxy.delay_s = 0.0
    proxy.requests.clear()
    assert nbsecrets.load("openai", "anthropic")
    assert proxy.actions() == ["BatchGetSecretValue"]


def test_slow_but_in_time_is_one_request(keys, proxy, monkeypatch):
    monkeypatch.setattr(transport, "READ_TIMEOUT_S", 2.0)
    proxy.delay_s = 0.2
    assert nbsecrets.get("openai") == KEY
    assert proxy.actions() == ["BatchGetSecretValue"]


def test_throttling_is_retried_then_succeeds(keys, proxy):
    proxy.fail(400, "ThrottlingException", times=transport.MAX_ATTEMPTS - 1)
    assert nbsecrets.load("openai", "anthropic")
    assert proxy.actions() == ["BatchGetSecretValue"] * transport.MAX_ATTEMPTS
    assert os.environ["ANTHROPIC_API_KEY"] == OTHER


def test_throttling_that_persists(keys, proxy):
    proxy.fail(400, "ThrottlingException", times=transport.MAX_ATTEMPTS + 1)
    load_fails(proxy, "kept throttling", "openai", "anthropic")
    proxy.faults.clear()
    assert nbsecrets.get("openai") == KEY


def test_no_credentials_at_all(keys, proxy, aws_env):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        os.environ.pop(var, None)
    for var in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        open(aws_env[var], "w").close()
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"  # no instance metadata lookup
    before = dict(os.environ)
    with pytest.raises(nbsecrets.NoCredentialsError, match="No AWS credentials were found") as info:
        nbsecrets.load("openai", "anthropic")
    one_sentence(str(info.value))
    assert proxy.requests == []  # nothing is sent unsigned
    assert dict(os.environ) == before
    # `aws configure` writes the credentials file; the next call picks it up, no restart.
    with open(aws_env["AWS_SHARED_CREDENTIALS_FILE"], "w") as f:
        f.write("[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    assert nbsecrets.get("openai") == KEY
    assert proxy.actions() == ["BatchGetSecretValue"]


def test_expired_token(keys, proxy):
    proxy.fail(400, "ExpiredTokenException", times=1)
    before = dict(os.environ)
    with pytest.raises(nbsecrets.NoCredentialsError, match="invalid or expired") as info:
        nbsecrets.load("openai")
    one_sentence(str(info.value))
    assert proxy.actions() == ["BatchGetSecretValue"]  # not retried
    assert dict(os.environ) == before
    assert nbsecrets.get("openai") == KEY
    assert proxy.actions() == ["BatchGetSecretValue"] * 2


def test_failures_are_not_cached_and_keep_earlier_keys(keys, proxy):
    nbsecrets.load("openai")
    proxy.fail(400, "ThrottlingException", times=transport.MAX_ATTEMPTS)
    with pytest.raises(nbsecrets.StoreUnavailableError):
        nbsecrets.load("openai", "anthropic", refresh=True)
    assert os.environ["OPENAI_API_KEY"] == KEY and "ANTHROPIC_API_KEY" not in os.environ
    assert nbsecrets.load("anthropic")
