"""The rotation role's policy and the audit policy: what they allow and deny, exactly, and
what parliament and cloudsplaining say."""

from __future__ import annotations

import json

import pytest

from nbsecrets.admin.evaluator import allows
from nbsecrets.admin.ops_policy import (
    ROTATION_ACTIONS,
    audit_policy_document,
    rotation_policy_document,
)
from nbsecrets.admin.policy import PolicyOptions, policy_document
from nbsecrets.errors import ConfigError

R, A = "us-east-1", "123456789012"
ARN = f"arn:aws:secretsmanager:{R}:{A}:secret:"
DOC = rotation_policy_document(
    region=R, account=A, secrets=["nbsecrets/openai"], function_name="nb-rotation"
)


@pytest.mark.parametrize("action", ROTATION_ACTIONS)
def test_rotation_role_may_rotate_its_secret_only(action):
    assert allows([DOC], action, f"{ARN}nbsecrets/openai-AbCdEf")
    assert not allows([DOC], action, f"{ARN}nbsecrets/anthropic-AbCdEf")
    assert not allows([DOC], action, f"{ARN}nbsecrets/openai-extra-AbCdEf")


@pytest.mark.parametrize(
    "action",
    [
        "secretsmanager:DeleteSecret",
        "secretsmanager:CreateSecret",
        "secretsmanager:PutResourcePolicy",
        "secretsmanager:RotateSecret",
        "secretsmanager:ListSecrets",
        "secretsmanager:BatchGetSecretValue",
    ],
)
def test_rotation_role_cannot_do_anything_else_to_secrets(action):
    for target in (f"{ARN}nbsecrets/openai-AbCdEf", "*"):
        assert not allows([DOC], action, target)


def test_rotation_role_tags_only_the_fingerprint():
    secret = f"{ARN}nbsecrets/openai-AbCdEf"
    tag = {"aws:TagKeys": ["nbsecrets:fingerprint"]}
    assert allows([DOC], "secretsmanager:TagResource", secret, tag)
    for keys in (["nbsecrets:provider"], ["SageMaker"], ["nbsecrets:fingerprint", "owner"]):
        assert not allows([DOC], "secretsmanager:TagResource", secret, {"aws:TagKeys": keys})
    assert not allows(
        [DOC], "secretsmanager:TagResource", f"{ARN}nbsecrets-admin/openai-AbCdEf", tag
    )


def test_admin_secret_is_read_only_for_rotation_and_unreadable_by_notebooks():
    admin = f"{ARN}nbsecrets-admin/openai-AbCdEf"
    assert allows([DOC], "secretsmanager:GetSecretValue", admin)
    assert not allows([DOC], "secretsmanager:PutSecretValue", admin)
    notebook = policy_document(PolicyOptions(region=R, account=A))  # every key under nbsecrets/
    assert allows([notebook], "secretsmanager:GetSecretValue", f"{ARN}nbsecrets/openai-AbCdEf")
    assert not allows([notebook], "secretsmanager:GetSecretValue", admin)


def test_logs_only_its_own_group():
    group = f"arn:aws:logs:{R}:{A}:log-group:/aws/lambda/nb-rotation:log-stream:x"
    assert allows([DOC], "logs:PutLogEvents", group)
    assert not allows(
        [DOC], "logs:PutLogEvents", f"arn:aws:logs:{R}:{A}:log-group:/aws/lambda/other:log-stream:x"
    )


def test_wildcards_in_names_are_refused():
    with pytest.raises(ConfigError, match="no wildcards"):
        rotation_policy_document(region=R, account=A, secrets=["nbsecrets/*"])
    with pytest.raises(ConfigError):
        rotation_policy_document(region=R, account=A, secrets=[])


def test_audit_policy_is_lookup_events_and_never_on_the_notebook_role():
    doc = audit_policy_document()
    assert allows([doc], "cloudtrail:LookupEvents", "*")
    assert not allows([doc], "cloudtrail:StopLogging", "*")
    assert not allows([doc], "secretsmanager:GetSecretValue", f"{ARN}nbsecrets/openai-AbCdEf")
    for opts in (
        PolicyOptions(region=R, account=A),
        PolicyOptions(region=R, account=A, allow_write=True),
    ):
        assert not allows([policy_document(opts)], "cloudtrail:LookupEvents", "*")


@pytest.mark.parametrize("doc", [DOC, audit_policy_document()], ids=["rotation", "audit"])
def test_parliament_finds_nothing(doc):
    from parliament import analyze_policy_string

    policy = analyze_policy_string(json.dumps(doc), include_community_auditors=True)
    assert [f"{f.issue}: {f.detail}" for f in policy.findings] == []


def test_cloudsplaining_finds_no_escalation_or_exposure():
    from cloudsplaining.scan.policy_document import PolicyDocument

    scan = PolicyDocument(DOC)
    assert scan.allows_privilege_escalation == []
    assert scan.permissions_management_without_constraints == []
    assert scan.credentials_exposure == []
