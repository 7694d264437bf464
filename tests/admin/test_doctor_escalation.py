"""doctor finds every grant by which a role could widen its own power or the rotation's (issue
20): answered by IAM's SimulatePrincipalPolicy where IAM answers, else by the local evaluator,
which the report says."""

from __future__ import annotations

import itertools

import pytest

from nbsecrets.admin import doctor, escalation
from nbsecrets.admin.policy import PolicyOptions, policy_document
from tests.admin.test_doctor import ACCOUNT, KEY, LEAST, ROLE, iam_api, make_role  # noqa: F401

SECRETS = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:nbsecrets/*"

# (action, resource, words of the warning)
GRANTS = [
    ("iam:PutRolePolicy", ROLE, "iam:PutRolePolicy on itself"),
    ("iam:AttachRolePolicy", ROLE, "iam:AttachRolePolicy on itself"),
    ("iam:PutRolePermissionsBoundary", "*", "on itself"),
    ("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/*", "on other roles"),
    ("iam:PassRole", "*", "iam:PassRole on other roles"),
    ("sts:AssumeRole", "*", "sts:AssumeRole on other roles"),
    ("iam:CreatePolicyVersion", "*", "iam:CreatePolicyVersion on managed policies"),
    ("lambda:UpdateFunctionCode", "*", "lambda:UpdateFunctionCode on Lambda functions"),
    ("lambda:UpdateFunctionConfiguration", "*", "lambda:UpdateFunctionConfiguration on Lambda"),
    ("secretsmanager:PutResourcePolicy", SECRETS, "secretsmanager:PutResourcePolicy on the keys"),
    ("secretsmanager:DeleteResourcePolicy", SECRETS, "DeleteResourcePolicy on the keys"),
    ("secretsmanager:RotateSecret", SECRETS, "RotateSecret on the keys"),
    ("secretsmanager:UpdateSecret", SECRETS, "UpdateSecret on the keys"),
    (
        "secretsmanager:PutSecretValue",
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:nbsecrets-admin/*",
        "PutSecretValue on the admin namespace",
    ),
    ("kms:CreateGrant", "*", "kms:CreateGrant on the KMS key"),
    ("kms:PutKeyPolicy", "*", "kms:PutKeyPolicy on the KMS key"),
    # Grants on named resources, not on *: found through the ARNs the statements name.
    (
        "lambda:UpdateFunctionCode",
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:nbsecrets-rotation",
        "lambda:UpdateFunctionCode on Lambda functions",
    ),
    (
        "iam:PassRole",
        f"arn:aws:iam::{ACCOUNT}:role/service-role/nbsecrets-rotation",
        "iam:PassRole on other roles",
    ),
    (
        "iam:CreatePolicyVersion",
        f"arn:aws:iam::{ACCOUNT}:policy/nbsecrets-*",
        "iam:CreatePolicyVersion on managed policies",
    ),
    (
        "kms:PutKeyPolicy",
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/2222bbbb-12ab-34cd-56ef-1234567890ab",
        "kms:PutKeyPolicy on the KMS key",
    ),
    (
        "secretsmanager:GetSecretValue",
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:nbsecrets-admin/openai-??????",
        "GetSecretValue on the admin namespace",
    ),
]


def _with(action: str, resource: str) -> dict:
    extra = {"Sid": "Extra", "Effect": "Allow", "Action": action, "Resource": resource}
    return {**LEAST, "Statement": [*LEAST["Statement"], extra]}


@pytest.mark.parametrize(("action", "resource", "words"), GRANTS)
def test_each_self_widening_grant_is_a_warning(iam, seed, action, resource, words):
    seed("nbsecrets/openai", KEY)
    make_role(iam, "notebook", _with(action, resource))
    report = doctor.run(role=ROLE, providers=["openai"])
    warnings = [f.text for f in report.findings if f.level == "warn"]
    assert not report.ok
    assert any(words in w for w in warnings), warnings
    # moto cannot simulate: the report says the answers are the local evaluator's.
    assert "local evaluation of the role's policies" in report.text()
    assert KEY not in report.text()


def test_a_deny_takes_the_grant_away(iam, seed):
    seed("nbsecrets/openai", KEY)
    policy = _with("iam:PutRolePolicy", "*")
    deny = {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}
    make_role(iam, "notebook", {**policy, "Statement": [*policy["Statement"], deny]})
    assert doctor.run(role=ROLE, providers=["openai"]).ok


def test_the_simulation_decides_where_iam_answers(iam, seed, iam_api):  # noqa: F811
    """The role's policies grant nothing wider, but IAM (which sees boundaries, SCPs and
    policies doctor cannot read) says the role may update any Lambda's code."""
    openai = seed("nbsecrets/openai", KEY)["ARN"]
    make_role(iam, "notebook", LEAST)
    iam_api.decisions[("secretsmanager:GetSecretValue", openai)] = "allowed"
    probe = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:nbsecrets-doctor-probe"
    iam_api.decisions[("lambda:UpdateFunctionCode", probe)] = "allowed"
    report = doctor.run(role=ROLE, providers=["openai"])
    text = report.text()
    assert "Policy answers below come from IAM SimulatePrincipalPolicy." in text
    assert not report.ok
    [warning] = [f.text for f in report.findings if f.level == "warn"]
    assert warning.startswith("The role may lambda:UpdateFunctionCode on Lambda functions")
    asked = iam_api.params("SimulatePrincipalPolicy")
    assert any(p.get("ActionNames.member.1") == "iam:PutRolePolicy" for p in asked)
    assert all(p["PolicySourceArn"] == ROLE for p in asked)


@pytest.mark.parametrize(
    ("write", "kms", "fallback"), list(itertools.product([False, True], repeat=3))
)
def test_no_generated_policy_can_widen_itself(write, kms, fallback):
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1111aaaa-12ab-34cd-56ef-1234567890ab"
    opts = PolicyOptions(
        region="us-east-1",
        account=ACCOUNT,
        allow_write=write,
        kms_key_arns=(key,) if kms else (),
        fallback_regions=("us-west-2",) if fallback else (),
    )
    policies = [("inline policy nbsecrets", policy_document(opts))]
    from nbsecrets.admin import evaluator

    probes = escalation.escalation_probes(
        ROLE,
        "us-east-1",
        [f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:nbsecrets/a-AbCdEf"],
        key,
    )
    probes = escalation.named_probes(policies, probes)
    assert escalation.escalations(lambda a, r: evaluator.allows(policies, a, r), probes) == []
    # The same probes do find an administrator's policy.
    admin = [("p", {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})]
    found = escalation.escalations(lambda a, r: evaluator.allows(admin, a, r), probes)
    assert len(found) == len(escalation.ESCALATIONS)
