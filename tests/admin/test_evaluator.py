"""The policy evaluator, against examples from AWS's IAM documentation, then the generated
policy: what it allows and what it does not."""

from __future__ import annotations

import pytest

from nbsecrets.admin.evaluator import action_matches, allows, evaluate, resource_matches
from nbsecrets.admin.policy import PolicyOptions, policy_document

# -- wildcards in resources (IAM User Guide, "IAM JSON policy elements: Resource") ------------

B = "arn:aws:s3:::amzn-s3-demo-bucket"
U = "arn:aws:iam::123456789012:user"

RESOURCE_CASES = [
    # The S3 example: "*" expands across "/" within the segment.
    (f"{B}/*/test/*", f"{B}/1/test/object.jpg", True),
    (f"{B}/*/test/*", f"{B}/1/2/test/3/object.jpg", True),
    (f"{B}/*/test/*", f"{B}/1///test///object.jpg", True),
    (f"{B}/*/test/*", f"{B}//test/object.jpg", True),
    (f"{B}/*/test/*", f"{B}/1/test/", True),
    (f"{B}/*/test/*", f"{B}/1-test/object.jpg", False),
    (f"{B}/*/test/*", f"{B}/test/object.jpg", False),
    (f"{B}/*/test/*", f"{B}/1/2/test.jpg", False),
    # All IAM users whose path is /accounting.
    (f"{U}/accounting/*", f"{U}/accounting/bob", True),
    (f"{U}/accounting/*", f"{U}/sales/bob", False),
    # The user name is case sensitive in Resource.
    ("arn:aws:iam::123456789012:user/Bob", "arn:aws:iam::123456789012:user/bob", False),
    ("arn:aws:iam::123456789012:user/Bob", "arn:aws:iam::123456789012:user/Bob", True),
    # "?" is exactly one character. Secrets Manager docs: match a secret name with "-??????",
    # the six random characters it appends to every ARN.
    (
        "arn:aws:secretsmanager:us-east-2:123456789012:secret:MySecret-??????",
        "arn:aws:secretsmanager:us-east-2:123456789012:secret:MySecret-a1b2c3",
        True,
    ),
    (
        "arn:aws:secretsmanager:us-east-2:123456789012:secret:MySecret-??????",
        "arn:aws:secretsmanager:us-east-2:123456789012:secret:MySecret-extra-a1b2c3",
        False,
    ),
    (
        "arn:aws:secretsmanager:us-east-2:123456789012:secret:MySecret-??????",
        "arn:aws:secretsmanager:us-east-2:123456789012:secret:MySecret-a1b2c",
        False,
    ),
    # A "*" at the end of a segment may expand beyond the colon.
    (
        "arn:aws:secretsmanager:us-east-2:123456789012:*",
        "arn:aws:secretsmanager:us-east-2:123456789012:secret:MySecret-a1b2c3",
        True,
    ),
    (
        "arn:aws:secretsmanager:*:123456789012:secret:*",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-a1b2c3",
        True,
    ),
    (
        "arn:aws:secretsmanager:*:123456789012:secret:*",
        "arn:aws:secretsmanager:eu-west-1:999999999999:secret:x-a1b2c3",
        False,
    ),
    ("*", "arn:aws:sqs:us-east-2:123456789012:queue1", True),
]


@pytest.mark.parametrize(("pattern", "arn", "expected"), RESOURCE_CASES)
def test_resource_wildcards(pattern, arn, expected):
    assert resource_matches(pattern, arn) is expected


ACTION_CASES = [
    ("iam:*AccessKey*", "iam:CreateAccessKey", True),
    ("iam:*AccessKey*", "iam:ListAccessKeys", True),
    ("iam:*AccessKey*", "iam:ListUsers", False),
    ("s3:Get*", "s3:GetObject", True),
    ("s3:Get*", "s3:PutObject", False),
    ("*", "ec2:RunInstances", True),
    # Action names are not case sensitive.
    ("SQS:SendMessage", "sqs:sendmessage", True),
    ("secretsmanager:GetSecret?alue", "secretsmanager:GetSecretValue", True),
    ("secretsmanager:*", "kms:Decrypt", False),
]


@pytest.mark.parametrize(("pattern", "action", "expected"), ACTION_CASES)
def test_action_wildcards(pattern, action, expected):
    assert action_matches(pattern, action) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        "secretsmanager:*",
        "secretsmanager:Get*",
        "secretsmanager:*Secret*",
        "secretsmanager:?ist*",
        "kms:Decrypt",
        "iam:*AccessKey*",
        "s3:Get*Tagging",
    ],
)
def test_action_expansion_agrees_with_parliament(pattern):
    """Our matching, over parliament's catalogue of actions, gives parliament's expansion."""
    import parliament

    service = pattern.split(":")[0]
    catalogue = next(s for s in parliament.iam_definition if s["prefix"] == service)
    names = [f"{service}:{p['privilege']}" for p in catalogue["privileges"]]
    ours = {n.lower() for n in names if action_matches(pattern, n)}
    theirs = {f"{a['service']}:{a['action']}".lower() for a in parliament.expand_action(pattern)}
    assert ours == theirs and ours


# -- evaluation logic (IAM User Guide, "Policy evaluation logic" and the element pages) -------

ALLOW_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}
# NotAction: allow everything except IAM.
NOT_IAM = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
}
# NotResource: allow all S3 except the payroll folder.
NOT_PAYROLL = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"],
        }
    ],
}
# An explicit deny wins over any allow, in the same or another policy.
DENY_DELETE = {
    "Version": "2012-10-17",
    "Statement": {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::prod/*"},
}
# Deny with NotAction: deny everything but IAM user self-service.
DENY_NOT_SELF = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Deny", "NotAction": ["iam:ChangePassword", "iam:GetUser"], "Resource": "*"}
    ],
}
VIA_SM = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": "arn:aws:kms:us-east-1:1:key/k",
            "Condition": {
                "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
            },
        }
    ],
}

EVAL_CASES = [
    ([], "s3:GetObject", "arn:aws:s3:::b/k", {}, "implicit deny"),
    ([ALLOW_S3], "s3:GetObject", "arn:aws:s3:::b/k", {}, "allowed"),
    ([ALLOW_S3], "ec2:RunInstances", "*", {}, "implicit deny"),
    ([NOT_IAM], "ec2:RunInstances", "*", {}, "allowed"),
    ([NOT_IAM], "iam:CreateUser", "arn:aws:iam::1:user/x", {}, "implicit deny"),
    ([NOT_PAYROLL], "s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/jan.csv", {}, "implicit deny"),
    ([NOT_PAYROLL], "s3:GetObject", "arn:aws:s3:::HRBucket/Benefits/plan.pdf", {}, "allowed"),
    ([ALLOW_S3, DENY_DELETE], "s3:DeleteObject", "arn:aws:s3:::prod/k", {}, "explicit deny"),
    ([DENY_DELETE, ALLOW_S3], "s3:DeleteObject", "arn:aws:s3:::dev/k", {}, "allowed"),
    ([ALLOW_S3, DENY_NOT_SELF], "s3:GetObject", "arn:aws:s3:::b/k", {}, "explicit deny"),
    ([NOT_IAM, DENY_NOT_SELF], "iam:GetUser", "arn:aws:iam::1:user/x", {}, "implicit deny"),
    (
        [VIA_SM],
        "kms:Decrypt",
        "arn:aws:kms:us-east-1:1:key/k",
        {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"},
        "allowed",
    ),
    (
        [VIA_SM],
        "kms:Decrypt",
        "arn:aws:kms:us-east-1:1:key/k",
        {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
        "implicit deny",
    ),
    ([VIA_SM], "kms:Decrypt", "arn:aws:kms:us-east-1:1:key/k", {}, "implicit deny"),
    (
        [VIA_SM],
        "kms:Decrypt",
        "arn:aws:kms:us-east-1:1:key/other",
        {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"},
        "implicit deny",
    ),
]


@pytest.mark.parametrize(("policies", "action", "resource", "context", "reason"), EVAL_CASES)
def test_evaluation(policies, action, resource, context, reason):
    decision = evaluate(policies, action, resource, context)
    assert decision.reason == reason
    assert decision.allowed is (reason == "allowed")


def test_unknown_condition_operator_is_answered_safely():
    cond = {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    allow = {
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": cond}]
    }
    deny = {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": cond}]}
    assert not allows([allow], "s3:GetObject", "arn:aws:s3:::b/k")
    assert evaluate([ALLOW_S3, deny], "s3:GetObject", "arn:aws:s3:::b/k").reason == "explicit deny"


def test_negated_condition_with_missing_key_holds():
    pol = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}},
            }
        ]
    }
    assert allows([pol], "s3:GetObject", "arn:aws:s3:::b/k")
    assert not allows(
        [pol], "s3:GetObject", "arn:aws:s3:::b/k", {"aws:RequestedRegion": "eu-west-1"}
    )


# -- the generated policy -------------------------------------------------------------------

R, A = "us-east-1", "123456789012"
SECRET = f"arn:aws:secretsmanager:{R}:{A}:secret:"
KMS = f"arn:aws:kms:{R}:{A}:key/k1"


def generated(**kwargs):
    return [policy_document(PolicyOptions(region=R, account=A, **kwargs))]


@pytest.mark.parametrize("write", [False, True])
def test_generated_policy_reads_each_listed_key_and_nothing_else(write):
    pol = generated(providers=("openai", "anthropic"), kms_key_arn=KMS, allow_write=write)
    read = "secretsmanager:GetSecretValue"
    for name in ("openai", "anthropic"):
        assert allows(pol, read, f"{SECRET}nbsecrets/{name}-AbCdEf")
        assert allows(pol, "secretsmanager:DescribeSecret", f"{SECRET}nbsecrets/{name}-AbCdEf")
    denied = [
        f"{SECRET}nbsecrets/other-AbCdEf",  # another key under the prefix
        f"{SECRET}nbsecrets/openai-extra-AbCdEf",  # why "-??????" and not "-*"
        f"{SECRET}nbsecrets/openai",  # no suffix is not a secret ARN
        f"{SECRET}team-b/openai-AbCdEf",  # another prefix
        f"arn:aws:secretsmanager:eu-west-1:{A}:secret:nbsecrets/openai-AbCdEf",  # region
        f"arn:aws:secretsmanager:{R}:999999999999:secret:nbsecrets/openai-AbCdEf",  # account
    ]
    for arn in denied:
        assert not allows(pol, read, arn), arn
    # Other services and other Secrets Manager actions.
    assert not allows(pol, "s3:GetObject", "arn:aws:s3:::bucket/key")
    assert not allows(pol, "secretsmanager:DeleteSecret", f"{SECRET}nbsecrets/openai-AbCdEf")
    assert not allows(pol, "secretsmanager:PutResourcePolicy", f"{SECRET}nbsecrets/openai-AbCdEf")
    assert not allows(pol, "iam:PutRolePolicy", f"arn:aws:iam::{A}:role/me")
    # KMS: only the named key, only through Secrets Manager in this region.
    via = {"kms:ViaService": f"secretsmanager.{R}.amazonaws.com"}
    assert allows(pol, "kms:Decrypt", KMS, via)
    assert not allows(pol, "kms:Decrypt", KMS)
    assert not allows(pol, "kms:Decrypt", KMS, {"kms:ViaService": f"s3.{R}.amazonaws.com"})
    assert not allows(pol, "kms:Decrypt", f"arn:aws:kms:{R}:{A}:key/k2", via)
    assert not allows(pol, "kms:Encrypt", KMS, via)


def test_generated_policy_writes_only_with_allow_write():
    arn = f"{SECRET}nbsecrets/openai-AbCdEf"
    read_only = generated(providers=("openai",))
    writable = generated(providers=("openai",), allow_write=True)
    for action in (
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
        "secretsmanager:TagResource",
    ):
        assert not allows(read_only, action, arn)
        assert allows(writable, action, arn)
        assert not allows(writable, action, f"{SECRET}nbsecrets/other-AbCdEf")
    create = "secretsmanager:CreateSecret"
    assert not allows(read_only, create, arn, {"secretsmanager:Name": "nbsecrets/openai"})
    assert allows(writable, create, arn, {"secretsmanager:Name": "nbsecrets/openai"})
    assert not allows(
        writable, create, f"{SECRET}other/openai-AbCdEf", {"secretsmanager:Name": "other/openai"}
    )


def test_generated_policy_without_providers_covers_the_prefix_only():
    pol = generated()
    read = "secretsmanager:GetSecretValue"
    assert allows(pol, read, f"{SECRET}nbsecrets/anything-AbCdEf")
    assert not allows(pol, read, f"{SECRET}other/openai-AbCdEf")
    assert allows(pol, "secretsmanager:ListSecrets", "*")
    assert allows(pol, "secretsmanager:BatchGetSecretValue", "*")
    assert not allows(generated(list_secrets=False), "secretsmanager:ListSecrets", "*")
