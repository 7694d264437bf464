"""``nbsecrets provision`` on the emulator's IAM: puts the inline policy, idempotent, diff."""

from __future__ import annotations

import json

import pytest

from nbsecrets import cli
from nbsecrets.admin.policy import PolicyOptions, policy_document
from nbsecrets.admin.provision import provision
from nbsecrets.errors import KeyNotFoundError
from tests.conftest import SAGEMAKER_TRUST

ACCOUNT = "123456789012"


@pytest.fixture
def role(iam):
    return iam.create_role(RoleName="notebook", AssumeRolePolicyDocument=SAGEMAKER_TRUST)["Role"]


def inline(iam, name="notebook"):
    return iam.get_role_policy(RoleName=name, PolicyName="nbsecrets")["PolicyDocument"]


def test_provision_puts_policy_then_is_idempotent(iam, role, capsys):
    assert cli.main(["provision", "--role", "notebook", "--provider", "openai"]) == 0
    out = capsys.readouterr().out
    expected = policy_document(
        PolicyOptions(region="us-east-1", account=ACCOUNT, providers=("openai",))
    )
    assert inline(iam) == expected
    assert out.startswith("--- /dev/null\n+++ notebook/nbsecrets\n")
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nbsecrets/openai-??????"
    assert f'+        "{arn}"' in out.splitlines()
    assert out.rstrip().endswith("Put the inline policy nbsecrets on role notebook.")

    assert cli.main(["provision", "--role", role["Arn"], "--provider", "openai"]) == 0
    assert capsys.readouterr().out == (
        "Role notebook already has this inline policy nbsecrets; nothing changed.\n"
    )
    assert inline(iam) == expected


def test_provision_merges_and_prints_the_difference(iam, role, capsys):
    assert cli.main(["provision", "--role", "notebook", "--provider", "openai"]) == 0
    capsys.readouterr()
    assert (
        cli.main(["provision", "--role", "notebook", "--provider", "anthropic", "--no-list"]) == 0
    )
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[:2] == ["--- notebook/nbsecrets (before)", "+++ notebook/nbsecrets"]
    added = [x for x in lines if x.startswith("+") and not x.startswith("+++")]
    removed = [x for x in lines if x.startswith("-") and not x.startswith("---")]
    assert any("nbsecrets/anthropic-??????" in x for x in added)
    # Merged: openai and ListSecrets are kept (a line at most gains a comma).
    assert {x[1:].rstrip(",") for x in removed} <= {x[1:].rstrip(",") for x in added}
    doc = inline(iam)
    assert doc["Statement"][0]["Resource"] == [
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:nbsecrets/openai-??????",
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:nbsecrets/anthropic-??????",
    ]
    assert any(st["Action"] == "secretsmanager:ListSecrets" for st in doc["Statement"])
    # Merging again changes nothing.
    assert (
        cli.main(["provision", "--role", "notebook", "--provider", "anthropic", "--no-list"]) == 0
    )
    assert "nothing changed" in capsys.readouterr().out
    # --replace drops what the new policy does not grant, and shows it.
    assert (
        cli.main(
            ["provision", "--role", "notebook", "--provider", "anthropic", "--no-list", "--replace"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert any('"secretsmanager:ListSecrets"' in x for x in out.splitlines() if x.startswith("-"))
    assert inline(iam) == policy_document(
        PolicyOptions(
            region="us-east-1", account=ACCOUNT, providers=("anthropic",), list_secrets=False
        )
    )


def test_merge_keeps_other_statements_and_makes_sids_unique():
    from nbsecrets.admin.provision import merge

    old = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadKeys", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "x"}
        ],
    }
    new = policy_document(PolicyOptions(region="us-east-1", account=ACCOUNT))
    merged = merge(old, new)
    assert merged["Statement"][0] == old["Statement"][0]
    assert [st["Sid"] for st in merged["Statement"]][:2] == ["ReadKeys", "ReadKeys2"]
    assert merge(merged, new) == merged


def test_provision_leaves_other_policies_alone(iam, role):
    other = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"}
        ],
    }
    iam.put_role_policy(RoleName="notebook", PolicyName="data", PolicyDocument=json.dumps(other))
    doc = policy_document(PolicyOptions(region="us-east-1", account=ACCOUNT))
    result = provision(iam, "notebook", doc)
    assert result.changed
    assert sorted(iam.list_role_policies(RoleName="notebook")["PolicyNames"]) == [
        "data",
        "nbsecrets",
    ]
    assert iam.get_role_policy(RoleName="notebook", PolicyName="data")["PolicyDocument"] == other
    assert not provision(iam, "notebook", doc).changed


def test_provision_unknown_role(iam, capsys):
    with pytest.raises(KeyNotFoundError, match="IAM role nobody does not exist"):
        provision(
            iam, "nobody", policy_document(PolicyOptions(region="us-east-1", account=ACCOUNT))
        )
    assert cli.main(["provision", "--role", "nobody"]) == 1
    assert "IAM role nobody does not exist" in capsys.readouterr().err


def test_role_arn_with_path(iam):
    iam.create_role(RoleName="nb", Path="/service-role/", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    doc = policy_document(PolicyOptions(region="us-east-1", account=ACCOUNT))
    result = provision(iam, f"arn:aws:iam::{ACCOUNT}:role/service-role/nb", doc)
    assert result.role == "nb" and result.changed
    assert inline(iam, "nb") == doc
