"""NBSECRETS_ROLE_ARN: assume a role first (local Jupyter), on the emulator's STS."""

from __future__ import annotations

import json
import os

import boto3
import pytest

import nbsecrets

KEY = "sk-role-0123456789abcdefghij"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture
def role_arn(aws_env):
    iam = boto3.client("iam", region_name="us-east-1")
    return iam.create_role(RoleName="notebook", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"][
        "Arn"
    ]


def test_assumes_role_once_then_reads(seed, proxy, role_arn):
    seed("nbsecrets/openai", KEY)
    os.environ["NBSECRETS_ROLE_ARN"] = role_arn
    proxy.requests.clear()
    assert nbsecrets.get("openai") == KEY
    assert nbsecrets.get("groq=nbsecrets/openai") == KEY
    assert proxy.requests.count("query.AssumeRole") == 1
    # The secret was read with the role's temporary credentials, not the base ones.
    assert proxy.actions() == ["BatchGetSecretValue"]


def test_assume_denied_says_what_to_do(seed, proxy, role_arn):
    seed("nbsecrets/openai", KEY)
    os.environ["NBSECRETS_ROLE_ARN"] = role_arn
    proxy.fail(403, "AccessDenied", times=5, only="AssumeRole")
    with pytest.raises(nbsecrets.AccessDeniedError) as info:
        nbsecrets.load("openai")
    assert f"Cannot assume NBSECRETS_ROLE_ARN {role_arn}" in str(info.value)
    assert "trust policy" in str(info.value)
    assert "OPENAI_API_KEY" not in os.environ
