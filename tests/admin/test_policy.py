"""The policy generator: exact JSON per option combination, third-party analysis, CLI output."""

from __future__ import annotations

import json

import pytest

from nbsecrets import cli
from nbsecrets.admin.cfn import to_yaml
from nbsecrets.admin.policy import PolicyOptions, cloudformation_policy, policy_document
from nbsecrets.errors import ConfigError

R, A = "eu-west-1", "111122223333"
ARN = f"arn:aws:secretsmanager:{R}:{A}:secret:"
KMS = f"arn:aws:kms:{R}:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
READ = {
    "Sid": "ReadKeys",
    "Effect": "Allow",
    "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
}
BATCH = {
    "Sid": "BatchReadKeys",
    "Effect": "Allow",
    "Action": "secretsmanager:BatchGetSecretValue",
    "Resource": "*",
}
LIST = {
    "Sid": "ListKeys",
    "Effect": "Allow",
    "Action": "secretsmanager:ListSecrets",
    "Resource": "*",
}
DECRYPT = {
    "Sid": "DecryptKeys",
    "Effect": "Allow",
    "Action": "kms:Decrypt",
    "Resource": KMS,
    "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{R}.amazonaws.com"}},
}


# Exactly the keys the client writes (issue 20: rotation once read other nbsecrets: tags).
TAGS = {
    "ForAllValues:StringEquals": {
        "aws:TagKeys": ["nbsecrets:provider", "nbsecrets:managed", "nbsecrets:fingerprint"]
    }
}


def write(resources, names, key=None):
    create = {"StringLike": {"secretsmanager:Name": names}, **TAGS}
    if key:  # a new secret must be under the customer managed key
        create["ArnEquals"] = {"secretsmanager:KmsKeyArn": key}
    return [
        {
            "Sid": "WriteKeys",
            "Effect": "Allow",
            "Action": ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
            "Resource": resources,
        },
        {
            "Sid": "TagKeys",
            "Effect": "Allow",
            "Action": "secretsmanager:TagResource",
            "Resource": resources,
            "Condition": TAGS,
        },
        {
            "Sid": "CreateKeys",
            "Effect": "Allow",
            "Action": "secretsmanager:CreateSecret",
            "Resource": resources,
            "Condition": create,
        },
    ]


ENCRYPT = {
    "Sid": "EncryptNewValues",
    "Effect": "Allow",
    "Action": "kms:GenerateDataKey",
    "Resource": KMS,
    "Condition": DECRYPT["Condition"],
}


ALL = [f"{ARN}nbsecrets/*"]
TWO = [f"{ARN}nbsecrets/openai-??????", f"{ARN}nbsecrets/anthropic-??????"]

CASES = {
    "defaults": ({}, [{**READ, "Resource": ALL}, BATCH, LIST]),
    "one provider": (
        {"providers": ("openai",)},
        [{**READ, "Resource": [f"{ARN}nbsecrets/openai-??????"]}, BATCH, LIST],
    ),
    "alias resolves, duplicates drop": (
        {"providers": ("openai", "claude", "anthropic")},
        [{**READ, "Resource": TWO}, BATCH, LIST],
    ),
    "in-house provider": (
        {"providers": ("my-llm",)},
        [{**READ, "Resource": [f"{ARN}nbsecrets/my-llm-??????"]}, BATCH, LIST],
    ),
    "no list": ({"list_secrets": False}, [{**READ, "Resource": ALL}, BATCH]),
    "kms key": ({"kms_key_arn": KMS}, [{**READ, "Resource": ALL}, BATCH, LIST, DECRYPT]),
    "other prefix": (
        {"prefix": "team-a/", "providers": ("openai",)},
        [{**READ, "Resource": [f"{ARN}team-a/openai-??????"]}, BATCH, LIST],
    ),
    "write, all keys": (
        {"allow_write": True},
        [{**READ, "Resource": ALL}, BATCH, LIST, *write(ALL, ["nbsecrets/*"])],
    ),
    "write, two keys": (
        {"allow_write": True, "providers": ("openai", "anthropic")},
        [
            {**READ, "Resource": TWO},
            BATCH,
            LIST,
            *write(TWO, ["nbsecrets/openai", "nbsecrets/anthropic"]),
        ],
    ),
    "everything": (
        {
            "allow_write": True,
            "providers": ("openai", "anthropic"),
            "list_secrets": False,
            "kms_key_arn": KMS,
        },
        [
            {**READ, "Resource": TWO},
            BATCH,
            DECRYPT,
            *write(TWO, ["nbsecrets/openai", "nbsecrets/anthropic"], KMS),
            ENCRYPT,
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_policy_exact(case):
    kwargs, statements = CASES[case]
    got = policy_document(PolicyOptions(region=R, account=A, **kwargs))
    assert got == {"Version": "2012-10-17", "Statement": statements}


def test_partition_follows_region():
    doc = policy_document(PolicyOptions(region="cn-north-1", account=A, providers=("openai",)))
    assert doc["Statement"][0]["Resource"] == [
        f"arn:aws-cn:secretsmanager:cn-north-1:{A}:secret:nbsecrets/openai-??????"
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"prefix": ""},
        {"prefix": "team/*"},
        {"kms_key_arn": "alias/mine"},
        {"prefix": "team-a"},
        {"kms_key_arn": f"arn:aws:kms:{R}:{A}:alias/mine"},
        {"install_artifact": "s3://bucket"},
        {"kms_key_arns": (f"us-west-2={KMS}",)},
        {"providers": ("bad name",)},
    ],
)
def test_bad_options(kwargs):
    with pytest.raises(ConfigError):
        PolicyOptions(region=R, account=A, **kwargs)


def test_missing_ids_are_errors():
    with pytest.raises(ConfigError, match="--region and --account"):
        policy_document(PolicyOptions(region=None, account=A))


# -- third-party analysis -------------------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
def test_parliament_finds_nothing(case):
    from parliament import analyze_policy_string

    doc = policy_document(PolicyOptions(region=R, account=A, **CASES[case][0]))
    policy = analyze_policy_string(json.dumps(doc), include_community_auditors=True)
    assert [f"{f.issue}: {f.detail}" for f in policy.findings] == []


@pytest.mark.parametrize("case", list(CASES))
def test_cloudsplaining_finds_no_escalation_exposure_or_open_data_access(case):
    from cloudsplaining.scan.policy_document import PolicyDocument

    kwargs = CASES[case][0]
    doc = policy_document(PolicyOptions(region=R, account=A, **kwargs))
    scan = PolicyDocument(doc)
    assert scan.allows_privilege_escalation == []
    assert scan.permissions_management_without_constraints == []  # resource exposure
    assert scan.credentials_exposure == []
    assert scan.allows_data_exfiltration_actions == []
    assert scan.all_allowed_unrestricted_actions == []
    assert scan.service_wildcard == []
    # Flagging statements that do name ARNs shows the only data access left: secret reads,
    # and those statements name only the listed secrets.
    flagged = PolicyDocument(doc, flag_resource_arn_statements=True)
    assert flagged.allows_data_exfiltration_actions == ["secretsmanager:GetSecretValue"]
    reads = [s for s in doc["Statement"] if "secretsmanager:GetSecretValue" in s["Action"]]
    assert [s["Resource"] for s in reads] == [CASES[case][1][0]["Resource"]]


# -- CloudFormation ---------------------------------------------------------------------------


def test_cloudformation_uses_pseudo_parameters():
    doc = cloudformation_policy(
        PolicyOptions(region=None, account=None, providers=("openai",), kms_key_arn=KMS)
    )
    assert doc["Statement"][0]["Resource"] == [
        {
            "Fn::Sub": (
                "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
                "nbsecrets/openai-??????"
            )
        }
    ]
    assert doc["Statement"][3]["Condition"] == {
        "StringEquals": {
            "kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}
        }
    }


def test_cloudformation_keeps_given_ids():
    opts = PolicyOptions(region=R, account=A, providers=("openai",))
    assert cloudformation_policy(opts) == policy_document(opts)


def test_yaml_round_trips_through_cfn_lint_loader():
    from cfnlint.decode.cfn_yaml import loads

    value = {
        "A": [{"B": "x: y", "C": {"Fn::Sub": "${AWS::Region}"}}, "plain", {"Ref": "P"}],
        "D": {"Fn::Base64": "#!/bin/bash\n\necho 'hi'\n"},
        "E": [],
        "F": True,
    }
    assert json.loads(json.dumps(loads(to_yaml(value)))) == value


def test_policy_command_json(capsys):
    assert (
        cli.main(["policy", "--region", R, "--account", A, "--provider", "openai", "--no-list"])
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed == policy_document(
        PolicyOptions(region=R, account=A, providers=("openai",), list_secrets=False)
    )


def test_policy_command_resolves_region_and_account(capsys):
    # The emulator's STS answers the account of the test credentials.
    assert cli.main(["policy", "--provider", "openai"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["Statement"][0]["Resource"] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nbsecrets/openai-??????"
    ]


def test_policy_command_says_when_account_cannot_be_resolved(capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert cli.main(["policy", "--region", R]) == 1
    err = capsys.readouterr().err
    assert "Cannot resolve the AWS account ID" in err and "--account ID" in err


def test_policy_command_cloudformation(capsys):
    from cfnlint.decode.cfn_yaml import loads

    assert cli.main(["policy", "--format", "cloudformation", "--provider", "openai"]) == 0
    parsed = loads(capsys.readouterr().out)
    [entry] = parsed["Policies"]
    assert entry["PolicyName"] == "nbsecrets"
    assert json.loads(json.dumps(entry["PolicyDocument"])) == cloudformation_policy(
        PolicyOptions(region=None, account=None, providers=("openai",))
    )


def test_admin_docs_show_the_generated_policy():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "admin.md").read_text()
    shown = json.loads(text.split("```json\n", 1)[1].split("```", 1)[0])
    assert shown == policy_document(
        PolicyOptions(region="us-east-1", account="111122223333", providers=("openai", "anthropic"))
    )


# -- PolicyOptions.resolve: the defaults every deploy path takes ------------------------------


def test_resolve_takes_the_configured_defaults_and_splits_an_arn_prefix(monkeypatch):
    from nbsecrets.config import Config

    monkeypatch.setenv("NBSECRETS_FALLBACK_REGIONS", "us-west-2")
    monkeypatch.setenv("NBSECRETS_PREFIX", "team-a/")
    opts = PolicyOptions.resolve(defaults=Config.load())
    assert (opts.region, opts.account, opts.prefix, opts.fallback_regions) == (
        None,
        None,
        "team-a/",
        ("us-west-2",),
    )
    assert PolicyOptions.resolve().prefix == "nbsecrets/"  # no configuration: the package's
    central = PolicyOptions.resolve(
        prefix="arn:aws:secretsmanager:eu-west-1:111122223333:secret:team/",
        account="444455556666",
        kms_key_arns=["arn:aws:kms:eu-west-1:111122223333:key/k"],
    )
    assert (central.region, central.secrets_account, central.prefix) == (
        "eu-west-1",
        "111122223333",
        "team/",
    )
    assert central.primary_kms_key == "arn:aws:kms:eu-west-1:111122223333:key/k"


def test_resolve_looks_up_region_and_account_only_when_asked(aws_env):
    opts = PolicyOptions.resolve(need_ids=True)
    assert (opts.region, opts.account) == ("us-east-1", "123456789012")
    assert PolicyOptions.resolve().account is None
