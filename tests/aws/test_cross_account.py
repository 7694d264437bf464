"""Keys held in another account: an ARN prefix, requests that name the full ARN, and
one-line errors that tell a refused KMS key from a refused secret."""

from __future__ import annotations

import json
import os

import pytest

import nbsecrets
from nbsecrets.aws.reads import Reader
from nbsecrets.errors import AccessDeniedError, ConfigError

KEY = "sk-central-0123456789abcdefghijklmnop"
MOTO = "123456789012"  # moto holds the "central" secret in its one account
PREFIX = f"arn:aws:secretsmanager:us-east-1:{MOTO}:secret:team/"


def test_arn_prefix_reads_by_full_arn(seed, proxy, monkeypatch):
    arn = seed("team/openai", KEY)["ARN"]
    monkeypatch.setenv("NBSECRETS_PREFIX", PREFIX)
    assert nbsecrets.load("openai") == {"openai": ("OPENAI_API_KEY",)}
    assert os.environ["OPENAI_API_KEY"] == KEY
    [body] = [
        json.loads(b)
        for a, b in zip(proxy.requests, proxy.bodies, strict=True)
        if a == "secretsmanager.BatchGetSecretValue"
    ]
    assert body["SecretIdList"] == [f"{PREFIX}openai"]
    assert arn.startswith(f"{PREFIX}openai-")


def test_malformed_arn_prefix_is_one_sentence(monkeypatch):
    monkeypatch.setenv("NBSECRETS_PREFIX", "arn:aws:secretsmanager:us-east-1:123:secret:team/")
    with pytest.raises(ConfigError, match="not a secret ARN prefix") as err:
        nbsecrets.get("openai")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("AccessDeniedException", "Access to KMS is not allowed"),
        ("DecryptionFailureException", "Secrets Manager can't decrypt the protected secret text"),
        ("KMSAccessDeniedException", "denied"),
    ],
)
def test_key_refusal_is_told_apart(seed, proxy, monkeypatch, code, message):
    seed("team/openai", KEY)
    monkeypatch.setenv("NBSECRETS_PREFIX", PREFIX)
    # A role granted GetSecretValue but not the batch: the read falls back to GetSecretValue.
    proxy.fail(400, "AccessDeniedException", 5, only="BatchGetSecretValue")
    proxy.fail(400, code, 5, only="GetSecretValue", message=message)
    with pytest.raises(AccessDeniedError) as err:
        nbsecrets.get("openai")
    text = str(err.value)
    assert "KMS key would not decrypt it" in text and "--key-policy" in text
    assert message not in text and "\n" not in text and KEY not in text
    assert "OPENAI_API_KEY" not in os.environ


def test_secret_refusal_in_another_account_points_to_the_resource_policy(seed, proxy, monkeypatch):
    monkeypatch.setenv(
        "NBSECRETS_PREFIX", "arn:aws:secretsmanager:us-east-1:999988887777:secret:team/"
    )
    proxy.fail(400, "AccessDeniedException", 5, only="BatchGetSecretValue")
    proxy.fail(
        400,
        "AccessDeniedException",
        5,
        only="GetSecretValue",
        message="no resource-based policy allows the action",
    )
    with pytest.raises(AccessDeniedError) as err:
        nbsecrets.get("openai")
    text = str(err.value)
    assert "in account 999988887777" in text and "--resource-policy" in text
    assert "KMS" not in text and "\n" not in text


@pytest.mark.parametrize(
    ("error", "words"),
    [
        ({"ErrorCode": "DecryptionFailure", "ErrorMessage": "x"}, "KMS key would not decrypt"),
        (
            {"ErrorCode": "AccessDeniedException", "ErrorMessage": "Access to KMS is not allowed"},
            "KMS key would not decrypt",
        ),
        (
            {"ErrorCode": "AccessDeniedException", "ErrorMessage": "not authorized"},
            "not allowed secretsmanager:GetSecretValue",
        ),
    ],
)
def test_batch_errors(error, words):
    err = Reader._batch_error("team/openai", {"SecretId": "team/openai", **error}, "us-east-1")
    assert isinstance(err, AccessDeniedError) and words in str(err)
    assert error["ErrorMessage"] not in str(err)


def test_set_by_arn_prefix_adds_versions_but_creates_nothing(seed, sm, proxy, monkeypatch):
    from nbsecrets import api
    from nbsecrets.errors import KeyNotFoundError

    seed("team/openai", KEY)
    monkeypatch.setenv("NBSECRETS_PREFIX", PREFIX)
    api.store_key("openai", KEY[::-1])
    assert sm.get_secret_value(SecretId="team/openai")["SecretString"] == KEY[::-1]
    with pytest.raises(KeyNotFoundError, match="cannot be created by ARN") as err:
        api.store_key("anthropic", KEY)
    assert KEY not in str(err.value)
    assert "CreateSecret" not in proxy.actions()
    assert [s["Name"] for s in sm.list_secrets()["SecretList"]] == ["team/openai"]
