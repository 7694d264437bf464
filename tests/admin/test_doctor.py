"""``nbsecrets doctor`` against roles on the emulator; what moto cannot serve
(SimulatePrincipalPolicy, AccessDenied on reading a role's policies) comes from a loopback
server speaking IAM's query protocol (tests/iam_api.py) that forwards the rest to moto."""

from __future__ import annotations

import json

import boto3
import pytest

from nbsecrets import cli
from nbsecrets.admin import doctor, escalation
from nbsecrets.admin.policy import PolicyOptions, policy_document
from tests.conftest import SAGEMAKER_TRUST
from tests.iam_api import IamApi

ACCOUNT = "123456789012"
KEY = "sk-doctor-0123456789abcdefghijklmnop"
LEAST = policy_document(PolicyOptions(region="us-east-1", account=ACCOUNT, providers=("openai",)))
STAR = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:ListSecrets"],
            "Resource": "*",
        }
    ],
}
SM_ALL = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Everything",
            "Effect": "Allow",
            "Action": "secretsmanager:*",
            "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:nbsecrets/*",
        }
    ],
}
ADMIN = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def make_role(iam, name, policy, managed=False):
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=SAGEMAKER_TRUST)["Role"]["Arn"]
    if managed:
        parn = iam.create_policy(PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))[
            "Policy"
        ]["Arn"]
        iam.attach_role_policy(RoleName=name, PolicyArn=parn)
    else:
        iam.put_role_policy(
            RoleName=name, PolicyName="nbsecrets", PolicyDocument=json.dumps(policy)
        )
    return arn


@pytest.fixture
def notebook(iam, tmp_path):
    """A notebook instance whose metadata file names it; returns (metadata path, make)."""
    sm = boto3.client("sagemaker", region_name="us-east-1")

    def _make(policy, managed=False):
        arn = make_role(iam, "notebook", policy, managed)
        sm.create_notebook_instance(
            NotebookInstanceName="nb", InstanceType="ml.t3.medium", RoleArn=arn
        )
        meta = tmp_path / "resource-metadata.json"
        meta.write_text(
            json.dumps(
                {
                    "ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb",
                    "ResourceName": "nb",
                }
            )
        )
        return meta

    return _make


def lines(report, level):
    return [f.text for f in report.findings if f.level == level]


def test_least_privilege_role_is_healthy(notebook, seed, proxy):
    seed("nbsecrets/openai", KEY)
    meta = notebook(LEAST)
    report = doctor.run(metadata_path=meta)
    text = report.text()
    assert report.ok, text
    assert "Role arn:aws:iam::123456789012:role/notebook (notebook instance nb)" in text
    assert "Key openai is readable (nbsecrets/openai" in text
    assert "No grant wider than needed in the 1 policies of role notebook." in text
    assert "Policy allows GetSecretValue on openai." in text
    # moto answers SimulatePrincipalPolicy with HTTP 500: one request, then the local answer.
    assert (
        "Policy answers below come from local evaluation of the role's policies "
        "(SimulatePrincipalPolicy failed"
    ) in text
    assert proxy.actions("query.").count("SimulatePrincipalPolicy") == 1
    assert KEY not in text and KEY[3:15] not in text


@pytest.mark.parametrize(
    ("policy", "managed", "warning"),
    [
        (
            STAR,
            False,
            "inline policy nbsecrets, statement #1 allows "
            "secretsmanager:GetSecretValue on every secret (Resource *)",
        ),
        (
            STAR,
            True,
            "managed policy notebook-policy, statement #1 allows "
            "secretsmanager:GetSecretValue on every secret (Resource *)",
        ),
        (
            SM_ALL,
            False,
            "inline policy nbsecrets, statement Everything allows secretsmanager:* "
            "(every Secrets Manager action)",
        ),
        (ADMIN, True, "managed policy notebook-policy, statement #1 allows every action (*:*)"),
    ],
)
def test_over_broad_grants_are_flagged(notebook, seed, policy, managed, warning):
    seed("nbsecrets/openai", KEY)
    report = doctor.run(metadata_path=notebook(policy, managed))
    assert not report.ok
    warns = lines(report, "warn")
    assert f"Over-broad grant: {warning}." in warns
    fix = next(f.fix for f in report.findings if f.text == f"Over-broad grant: {warning}.")
    assert "nbsecrets provision --role notebook" in fix


def test_resource_star_can_read_outside_the_prefix(notebook, seed):
    seed("nbsecrets/openai", KEY)
    report = doctor.run(metadata_path=notebook(STAR))
    assert any(
        t.startswith("The role may read secrets outside nbsecrets/") for t in lines(report, "warn")
    )


def test_missing_key_fails_and_a_key_not_granted_is_information(notebook, seed):
    seed("nbsecrets/openai", KEY)
    report = doctor.run(metadata_path=notebook(LEAST), providers=["openai", "anthropic"])
    assert not report.ok
    errors = lines(report, "error")
    assert any(
        t.startswith("Key anthropic: anthropic: secret nbsecrets/anthropic was not found")
        for t in errors
    )
    # Not granted is information, with a fix that adds (provision merges) and drops nothing.
    info = [t for t in lines(report, "info") if t.startswith("Policy does not allow")]
    assert len(info) == 1 and "anthropic" in info[0]
    assert (
        "`nbsecrets provision --role notebook --prefix nbsecrets/ --provider anthropic`" in info[0]
        and "--replace" not in report.text()
    )


def test_at_start_makes_no_call_that_can_be_denied(notebook, seed, proxy):
    seed("nbsecrets/openai", KEY)
    meta = notebook(LEAST)
    proxy.requests.clear()
    report = doctor.run(metadata_path=meta, at_start=True)
    assert report.ok, report.text()
    # STS GetCallerIdentity is never denied; no key reads, no IAM, no SageMaker calls.
    assert proxy.requests == ["query.GetCallerIdentity"]


def test_doctor_command_exit_codes(iam, seed, capsys):
    seed("nbsecrets/openai", KEY)
    make_role(iam, "good", LEAST)
    assert cli.main(["doctor", "--role", "good"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("All good.")
    iam.create_role(RoleName="wide", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    iam.put_role_policy(RoleName="wide", PolicyName="p", PolicyDocument=json.dumps(SM_ALL))
    assert cli.main(["doctor", "--role", "wide"]) == 1
    out = capsys.readouterr().out
    assert "WARN Over-broad grant: inline policy p, statement Everything allows" in out
    assert "Fix: replace it with the least-privilege policy" in out
    assert KEY not in out


def test_doctor_without_credentials_says_so(monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert cli.main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL Identity: Cannot reach" in out


# -- SimulatePrincipalPolicy ---------------------------------------------------------------

ROLE = f"arn:aws:iam::{ACCOUNT}:role/notebook"
OPENAI = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:nbsecrets/openai-AbCdEf"
OUTSIDE = (
    f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:"
    "nbsecrets-doctor-probe-outside-prefix-AbCdEf"
)


@pytest.fixture
def iam_api(moto_endpoint, aws_env, monkeypatch):
    """The IAM loopback server, in front of moto; only IAM clients are pointed at it."""
    api = IamApi(moto_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", api.url)
    yield api
    api.close()


def simulation(arns):
    """The form parameters of a SimulatePrincipalPolicy of GetSecretValue on ``arns``."""
    return {
        "Action": "SimulatePrincipalPolicy",
        "Version": "2010-05-08",
        "PolicySourceArn": ROLE,
        "ActionNames.member.1": "secretsmanager:GetSecretValue",
        **{f"ResourceArns.member.{n}": arn for n, arn in enumerate(arns, 1)},
    }


def test_simulate_request(iam_api):
    iam_api.decisions[("secretsmanager:GetSecretValue", OPENAI)] = "allowed"
    iam_api.decisions[("secretsmanager:GetSecretValue", OUTSIDE)] = "implicitDeny"
    client = boto3.client("iam", region_name="us-east-1")
    got = doctor.simulate(client, ROLE, ["secretsmanager:GetSecretValue"], [OPENAI, OUTSIDE])
    assert got == {
        ("secretsmanager:GetSecretValue", OPENAI): True,
        ("secretsmanager:GetSecretValue", OUTSIDE): False,
    }
    assert iam_api.requests == [("SimulatePrincipalPolicy", simulation([OPENAI, OUTSIDE]))]


def test_doctor_uses_simulation_when_iam_answers(seed, iam, iam_api):
    """Where IAM answers (real AWS), the policy check says it used SimulatePrincipalPolicy."""
    openai = seed("nbsecrets/openai", KEY)["ARN"]  # doctor simulates on the real ARN
    make_role(iam, "notebook", LEAST)
    # A notebook role may not read its own policies; the simulation still answers.
    iam_api.denied.add("ListRolePolicies")
    iam_api.decisions[("secretsmanager:GetSecretValue", openai)] = "allowed"
    report = doctor.run(role=ROLE, providers=["openai"])
    text = report.text()
    assert report.ok, text
    assert "Policy answers below come from IAM SimulatePrincipalPolicy." in text
    assert "Cannot read the policies of role notebook (AccessDenied)" in text
    assert "Policy allows GetSecretValue on openai." in text
    assert iam_api.requests[:2] == [
        (
            "ListRolePolicies",
            {"Action": "ListRolePolicies", "Version": "2010-05-08", "RoleName": "notebook"},
        ),
        ("SimulatePrincipalPolicy", simulation([openai, OUTSIDE])),
    ]
    # Then one simulation per kind of escalation, each answered "implicitDeny": no warning;
    # and one of GetWebIdentityToken for a probe audience (no federated key: nothing else).
    assert set(iam_api.actions()[2:]) == {"SimulatePrincipalPolicy"}
    assert len(iam_api.actions()[2:]) == len(escalation.ESCALATIONS) + 1


def test_doctor_trusts_the_simulation_over_the_policies(notebook, seed, iam_api):
    """With the policies readable (forwarded to moto) and IAM simulating, the simulation's
    answers are the ones reported: here it allows a read outside the prefix (as a permission
    boundary or SCP the policies do not show could), and doctor warns."""
    openai = seed("nbsecrets/openai", KEY)["ARN"]
    meta = notebook(LEAST)
    iam_api.decisions[("secretsmanager:GetSecretValue", openai)] = "allowed"
    iam_api.decisions[("secretsmanager:GetSecretValue", OUTSIDE)] = "allowed"
    report = doctor.run(metadata_path=meta, providers=["openai"])
    text = report.text()
    assert "No grant wider than needed in the 1 policies of role notebook." in text
    assert "Policy answers below come from IAM SimulatePrincipalPolicy." in text
    assert (
        f"The role may read secrets outside nbsecrets/ (GetSecretValue allowed on "
        f"{OUTSIDE})." in lines(report, "warn")
    )
    # The role's policies were read from moto through the server; one simulation was asked.
    assert {"ListRolePolicies", "GetRolePolicy", "ListAttachedRolePolicies"} <= set(
        iam_api.actions()
    )
    assert iam_api.params("SimulatePrincipalPolicy")[0] == simulation([openai, OUTSIDE])
    assert KEY not in text


def test_demo_role_is_least_privilege(seed, iam):
    from nbsecrets import demo

    seed("nbsecrets/openai", KEY)
    arn = demo.seed_role(iam)
    assert arn == f"arn:aws:iam::{ACCOUNT}:role/{demo.DEMO_ROLE}"
    report = doctor.run(role=demo.DEMO_ROLE)
    assert report.ok, report.text()
    assert (
        "No grant wider than needed in the 1 policies of role nbsecrets-demo-notebook."
        in report.text()
    )


def test_references_are_checked_by_their_secret(seed, iam):
    arn = seed("team/APIKEYS", {"openai": KEY})["ARN"]
    make_role(
        iam,
        "bundle",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": (
                        "arn:aws:secretsmanager:us-east-1:123456789012:secret:team/APIKEYS-??????"
                    ),
                }
            ],
        },
    )
    report = doctor.run(role="bundle", providers=["openai=team/APIKEYS#openai", "bad name"])
    text = report.text()
    assert "Key openai is readable (team/APIKEYS" in text
    assert "Policy allows GetSecretValue on openai." in text
    assert "FAIL Key bad name: 'bad name' is not a valid provider name" in text
    assert arn and KEY not in text


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            {"Effect": "Allow", "Action": "secretsmanager:*Secret*", "Resource": "*"},
            "p, statement #1 allows secretsmanager:*Secret*, which covers reading and deleting "
            "secrets",
        ),
        (
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            "p, statement #1 allows every action except iam:* (NotAction)",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "NotResource": "arn:aws:secretsmanager:us-east-1:1:secret:prod/*",
            },
            "p, statement #1 allows secretsmanager:GetSecretValue on every secret (Resource *)",
        ),
        (
            {"Effect": "Allow", "Action": "SecretsManager:Get*", "Resource": ["*"]},
            "p, statement #1 allows secretsmanager:GetSecretValue on every secret (Resource *)",
        ),
        ({"Effect": "Deny", "Action": "*", "Resource": "*"}, None),
        ({"Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*"}, None),
    ],
)
def test_broad_grants_table(statement, expected):
    found = doctor.broad_grants([("p", {"Version": "2012-10-17", "Statement": [statement]})])
    assert found == ([expected] if expected else [])


def test_generated_policies_have_no_broad_grants():
    for opts in (
        PolicyOptions(region="us-east-1", account=ACCOUNT),
        PolicyOptions(
            region="us-east-1",
            account=ACCOUNT,
            allow_write=True,
            kms_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k",
        ),
    ):
        assert doctor.broad_grants([("nbsecrets", policy_document(opts))]) == []


# -- tags a notebook may write (issue 20) -----------------------------------------------------

ANY_NBSECRETS_TAG = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "TagKeys",
            "Effect": "Allow",
            "Action": "secretsmanager:TagResource",
            "Resource": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:nbsecrets/o*",
            "Condition": {"ForAllValues:StringLike": {"aws:TagKeys": ["nbsecrets:*"]}},
        }
    ],
}


def test_a_role_that_may_set_other_nbsecrets_tags_is_flagged(notebook, seed):
    """The tag grant of earlier `--allow-write` policies (any nbsecrets: key) is a finding."""
    seed("nbsecrets/openai", KEY)
    report = doctor.run(metadata_path=notebook(ANY_NBSECRETS_TAG, False))
    assert not report.ok
    [warn] = [w for w in lines(report, "warn") if "lets the role set the tag" in w]
    assert "statement TagKeys" in warn and "nbsecrets:openai-project" in warn
    assert "nbsecrets:provider, nbsecrets:managed, nbsecrets:fingerprint" in warn


def test_tag_grants_table():
    def found(statement, *more):
        return doctor.tag_grants([("p", {"Statement": [statement, *more]})])

    tag = {"Effect": "Allow", "Action": "secretsmanager:TagResource", "Resource": "*"}
    assert found(tag)  # any key at all
    assert found({**tag, "Action": "secretsmanager:*"})
    only = {"ForAllValues:StringEquals": {"aws:TagKeys": ["nbsecrets:provider"]}}
    assert found({**tag, "Condition": only}) == []
    deny = {"Effect": "Deny", "Action": "secretsmanager:TagResource", "Resource": "*"}
    assert found(tag, deny) == []  # a Deny wins
    assert found({**tag, "Action": "secretsmanager:GetSecretValue"}) == []


def test_generated_write_policies_grant_only_the_client_tags():
    from nbsecrets.admin import evaluator
    from nbsecrets.admin.policy import CLIENT_TAG_KEYS

    opts = PolicyOptions(
        region="us-east-1", account=ACCOUNT, providers=("openai", "anthropic"), allow_write=True
    )
    doc = policy_document(opts)
    assert doctor.tag_grants([("nbsecrets", doc)]) == []
    arn = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:nbsecrets/openai-AbCdEf"
    tag = "secretsmanager:TagResource"
    assert evaluator.allows([doc], tag, arn, {"aws:TagKeys": list(CLIENT_TAG_KEYS)})
    for key in ("nbsecrets:openai-project", "nbsecrets:rotation-grace-days", "SageMaker"):
        assert not evaluator.allows([doc], tag, arn, {"aws:TagKeys": ["nbsecrets:managed", key]})
        create = {"aws:TagKeys": [key], "secretsmanager:Name": "nbsecrets/openai"}
        assert not evaluator.allows([doc], "secretsmanager:CreateSecret", arn, create)
