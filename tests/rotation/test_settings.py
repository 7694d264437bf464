"""Rotation's settings come from admins only, and a bad one fails only its own secret.

Through the deployed handler string and `nbsecrets rotate`, against moto and the provider
stand-in. Also: a customer managed key (moto encrypts with it) rotates as any other, and the
rotation role's policy has the KMS statement it needs for it, in template.yaml too.
"""

from __future__ import annotations

import io
import json
import os
import sys
import uuid

import boto3
import pytest

from nbsecrets import cli, rotation
from nbsecrets.errors import ConfigError
from tests.conftest import REGION

SECRET = "nbsecrets/openai"
OTHER = "team-b/openai"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def rotate(secret: str) -> None:
    token = str(uuid.uuid4())
    for step in STEPS:
        rotation.handler({"SecretId": secret, "ClientRequestToken": token, "Step": step}, None)


def sweep(secret: str) -> None:
    rotation.handler({"SecretId": secret, "Step": "revokePrevious"}, None)


def minted(provider, project: str = "proj_test") -> list[str]:
    return [
        s
        for s, a in provider.service_accounts.items()
        if s in provider.minted and a["project"] == project
    ]


@pytest.fixture
def two(provider, seed):
    """Two OpenAI secrets one Lambda rotates (as the Pulumi program deploys it)."""
    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "0"
    seed(SECRET, provider.add_openai_key())
    seed(OTHER, provider.add_openai_key())
    seed("nbsecrets-admin/openai", provider.openai_admin)
    return provider


@pytest.mark.parametrize(
    "record, says",
    [
        ({"grace_days": "soon"}, "grace period in nbsecrets-admin/rotation/nbsecrets/openai"),
        ({"grace_days": 1e10}, "from 0 to 365"),
        ({"grace_days": -1}, "from 0 to 365"),
        ({"provider": "mistral"}, "not 'mistral'"),
        ({"openai_project_id": "other"}, "project id such as proj_"),
        ({"grace": 1}, "unknown field(s) grace"),
    ],
)
def test_a_bad_settings_record_fails_that_secret_only(two, seed, sm, record, says):
    rotate(SECRET)  # a first, good rotation of both
    rotate(OTHER)
    seed("nbsecrets-admin/rotation/nbsecrets/openai", record)
    before = list(two.admin_writes())
    with pytest.raises(ConfigError, match=says.replace("(", r"\(").replace(")", r"\)")) as info:
        rotate(SECRET)
    assert str(info.value).count(". ") == 0 and str(info.value).endswith(".")  # one sentence
    with pytest.raises(ConfigError, match=r"nbsecrets-admin/rotation/nbsecrets/openai|mistral"):
        sweep(SECRET)
    assert two.admin_writes() == before  # nothing minted or revoked for the bad secret
    first_other = minted(two)[-1]
    rotate(OTHER)  # the other secret rotates, its old key is revoked (grace 0)
    sweep(OTHER)
    assert first_other not in two.service_accounts and len(minted(two)) == 2


def test_a_bad_setting_in_the_environment_names_it(two, monkeypatch, capsys):
    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "1e10"
    with pytest.raises(ConfigError, match="NBSECRETS_ROTATION_GRACE_DAYS"):
        rotate(SECRET)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert cli.main(["rotate", "openai"]) == 1
    err = capsys.readouterr().err
    assert "NBSECRETS_ROTATION_GRACE_DAYS" in err and err.count("\n") == 1
    assert not two.admin_writes()


def test_no_project_anywhere_is_one_sentence(provider, seed):
    del os.environ["NBSECRETS_OPENAI_PROJECT_ID"]
    seed(SECRET, provider.add_openai_key())
    seed("nbsecrets-admin/openai", provider.openai_admin)
    with pytest.raises(ConfigError, match="no OpenAI project for nbsecrets/openai"):
        rotate(SECRET)
    assert not provider.admin_writes()


def test_the_settings_record_names_project_and_grace(two, seed):
    seed("nbsecrets-admin/rotation/team-b/openai", {"openai_project_id": "proj_b", "grace_days": 3})
    rotate(OTHER)
    rotate(OTHER)
    assert len(minted(two, "proj_b")) == 2  # the first is within its 3 days of grace
    assert not minted(two)


def test_the_record_prefixes_match_the_rotation_role_policy():
    from nbsecrets.admin import ops_policy
    from nbsecrets.rotation import settings

    assert ops_policy.SETTINGS_PREFIX == settings.SETTINGS_PREFIX
    assert ops_policy.LEDGER_PREFIX == settings.LEDGER_PREFIX


# -- a customer managed key -------------------------------------------------------------------


def test_rotation_of_a_secret_under_a_customer_managed_key(provider, seed, sm):
    """moto encrypts the secret with the key; the rotation role's policy (as the template and
    Pulumi build it with that key) allows the KMS calls Secrets Manager makes for it."""
    from nbsecrets.admin.evaluator import allows
    from nbsecrets.admin.ops_policy import rotation_policy_document

    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "0"
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    old = provider.add_openai_key()
    seed(SECRET, old, KmsKeyId=key)
    seed("nbsecrets-admin/openai", provider.openai_admin)
    rotate(SECRET)
    rotate(SECRET)
    assert sm.describe_secret(SecretId=SECRET)["KmsKeyId"] == key
    value = json.loads(sm.get_secret_value(SecretId=SECRET)["SecretString"])
    assert provider.openai_valid(value["api_key"]) and len(minted(provider)) == 1
    doc = rotation_policy_document(
        region=REGION, account=key.split(":")[4], secrets=[SECRET], kms_key_arn=key
    )
    via = {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        assert allows([doc], action, key, via)
        assert not allows([doc], action, key, {"kms:ViaService": "s3.us-east-1.amazonaws.com"})


def test_the_template_rotation_role_gets_the_customer_managed_key():
    from cfnlint.decode.cfn_yaml import loads

    from nbsecrets.admin.policy import PolicyOptions
    from nbsecrets.admin.template import template_text

    key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    template = json.loads(
        json.dumps(
            loads(template_text(PolicyOptions(region=None, account=None, kms_key_arns=(key,))))
        )
    )
    role = template["Resources"]["RotationRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    [kms] = [s for s in role["Statement"] if s["Sid"] == "KeysEncryption"]
    assert kms["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"] and kms["Resource"] == key
    assert "secretsmanager." in json.dumps(kms["Condition"])
    plain = json.loads(json.dumps(loads(template_text())))
    role = plain["Resources"]["RotationRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert not [s for s in role["Statement"] if s["Sid"] == "KeysEncryption"]
