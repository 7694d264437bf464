"""Resource policies put on secrets and read back on the moto server (it stores them), merged
with what is there, with the diff; `provision --resource-policy`; doctor's findings."""

from __future__ import annotations

import json

import boto3
import pytest

from nbsecrets import cli
from nbsecrets.admin import doctor, secret_policy
from nbsecrets.admin.resource_policy import resource_policy
from nbsecrets.errors import AccessDeniedError, ConfigError
from tests.conftest import SAGEMAKER_TRUST

ACCOUNT = "123456789012"  # moto's
NOTEBOOK = f"arn:aws:iam::{ACCOUNT}:role/notebook"
OTHER = f"arn:aws:iam::{ACCOUNT}:role/other"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/admin"
KEY = "sk-respol-0123456789abcdefghijklmnop"
FOREIGN = {
    "Sid": "AuditorDescribes",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/auditor"},
    "Action": "secretsmanager:DescribeSecret",
    "Resource": "*",
}


def through(proxy):
    """A client made after the proxy fixture pointed AWS_ENDPOINT_URL at the proxy."""
    return boto3.client("secretsmanager", region_name="us-east-1")


def stored(sm, name):
    text = sm.get_resource_policy(SecretId=name).get("ResourcePolicy")
    return json.loads(text) if text else None


def test_put_reads_back_and_is_idempotent(seed, proxy):
    seed("nbsecrets/openai", KEY)
    sm = through(proxy)
    policy = resource_policy([NOTEBOOK], [ADMIN])
    done = secret_policy.put(sm, "nbsecrets/openai", policy)
    assert done.changed and done.diff.startswith("--- /dev/null")
    assert stored(sm, "nbsecrets/openai") == policy
    [body] = [
        json.loads(b)
        for a, b in zip(proxy.requests, proxy.bodies, strict=True)
        if a == "secretsmanager.PutResourcePolicy"
    ]
    assert body["BlockPublicPolicy"] is True
    proxy.requests.clear()
    again = secret_policy.put(sm, "nbsecrets/openai", policy)
    assert not again.changed and again.diff == ""
    assert proxy.actions() == ["GetResourcePolicy"]


def test_merge_keeps_other_statements_and_replaces_ours(seed, sm):
    seed("nbsecrets/openai", KEY)
    sm.put_resource_policy(
        SecretId="nbsecrets/openai",
        ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [FOREIGN]}),
    )
    secret_policy.put(sm, "nbsecrets/openai", resource_policy([NOTEBOOK]))
    done = secret_policy.put(sm, "nbsecrets/openai", resource_policy([NOTEBOOK, OTHER]))
    after = stored(sm, "nbsecrets/openai")
    assert after["Statement"][0] == FOREIGN
    assert [s.get("Sid") for s in after["Statement"]] == [
        "AuditorDescribes",
        "NbsecretsReadByRoles",
        "NbsecretsDenyOtherReaders",
    ]
    assert after["Statement"][1]["Principal"] == {"AWS": [NOTEBOOK, OTHER]}
    changed = [line for line in done.diff.splitlines()[2:] if line[:1] in "+-"]
    assert any("role/other" in line for line in changed)
    assert all("role/" in line and "auditor" not in line for line in changed)
    assert KEY not in done.diff


def test_missing_secret_and_denied_put_are_one_line(seed, proxy):
    sm = through(proxy)
    with pytest.raises(Exception, match="nbsecrets/nothing was not found"):
        secret_policy.put(sm, "nbsecrets/nothing", resource_policy([NOTEBOOK]))
    seed("nbsecrets/openai", KEY)
    proxy.fail(400, "AccessDeniedException", 1, only="PutResourcePolicy")
    with pytest.raises(AccessDeniedError, match="admin credentials") as err:
        secret_policy.put(sm, "nbsecrets/openai", resource_policy([NOTEBOOK]))
    assert "\n" not in str(err.value)
    assert stored(sm, "nbsecrets/openai") is None  # left as it was


def test_targets(seed, sm):
    with pytest.raises(ConfigError, match="No secret under nbsecrets/"):
        secret_policy.targets(sm, "nbsecrets/", [])
    seed("nbsecrets/openai", KEY)
    seed("nbsecrets/anthropic", KEY)
    seed("other/openai", KEY)
    assert secret_policy.targets(sm, "nbsecrets/", []) == [
        "nbsecrets/anthropic",
        "nbsecrets/openai",
    ]
    assert secret_policy.targets(sm, "nbsecrets/", ["openai"]) == ["nbsecrets/openai"]


def test_provision_resource_policy_puts_both_sides(seed, sm, iam, capsys):
    iam.create_role(RoleName="notebook", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    iam.create_role(RoleName="admin", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    seed("nbsecrets/openai", KEY)
    seed("nbsecrets/anthropic", KEY)
    args = [
        "provision",
        "--role",
        "notebook",
        "--resource-policy",
        "--admin-role",
        ADMIN,
        "--region",
        "us-east-1",
        "--account",
        ACCOUNT,
    ]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "Put the resource policy on secret nbsecrets/anthropic." in out
    assert "Put the inline policy nbsecrets on role notebook." in out
    assert KEY not in out
    for name in ("nbsecrets/openai", "nbsecrets/anthropic"):
        assert stored(sm, name) == resource_policy([NOTEBOOK], [ADMIN])
    assert iam.get_role_policy(RoleName="notebook", PolicyName="nbsecrets")
    assert cli.main(args) == 0
    assert "already has this resource policy; nothing changed" in capsys.readouterr().out


def test_provision_for_a_role_in_another_account_leaves_its_policy_to_that_account(
    seed, sm, iam, capsys, proxy
):
    seed("nbsecrets/openai", KEY)
    consumer = "arn:aws:iam::111122223333:role/notebook"
    assert (
        cli.main(
            [
                "provision",
                "--role",
                consumer,
                "--resource-policy",
                "--provider",
                "openai",
                "--region",
                "us-east-1",
                "--account",
                ACCOUNT,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert stored(sm, "nbsecrets/openai") == resource_policy([consumer])
    assert f"--secrets-account {ACCOUNT}" in out
    assert "PutRolePolicy" not in proxy.actions("query.")


def test_provision_resource_policy_for_secrets_in_another_account_is_refused(iam, capsys):
    assert (
        cli.main(
            [
                "provision",
                "--role",
                "notebook",
                "--resource-policy",
                "--region",
                "us-east-1",
                "--account",
                ACCOUNT,
                "--secrets-account",
                "999988887777",
                "--kms-key-arn",
                "arn:aws:kms:us-east-1:999988887777:key/k",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "with that account's admin credentials" in err


def test_doctor_reports_missing_and_broad_resource_policies(seed, sm):
    seed("nbsecrets/openai", KEY)
    seed("nbsecrets/anthropic", KEY)
    seed("nbsecrets/groq", KEY)
    sm.put_resource_policy(
        SecretId="nbsecrets/anthropic",
        ResourcePolicy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "WholeAccount",
                        "Effect": "Allow",
                        "Principal": {"AWS": ACCOUNT},
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    secret_policy.put(sm, "nbsecrets/groq", resource_policy([NOTEBOOK]))
    report = doctor.run(role="arn:aws:iam::123456789012:role/none")
    text = report.text()
    assert (
        "Secret arn:aws:secretsmanager:us-east-1:123456789012:secret:nbsecrets/openai-" in text
        and "has no resource policy" in text
    )
    assert "statement WholeAccount lets every principal of account 123456789012 read it" in text
    assert not any(
        "groq" in f.text and f.level in ("warn", "info") and "resource policy" in f.text
        for f in report.findings
    )
    assert not report.ok
    assert KEY not in text


def test_doctor_says_once_when_it_may_not_read_resource_policies(seed, proxy):
    seed("nbsecrets/openai", KEY)
    seed("nbsecrets/anthropic", KEY)
    proxy.fail(400, "AccessDeniedException", 5, only="GetResourcePolicy")
    report = doctor.run()
    lines = [f.text for f in report.findings if "resource policies" in f.text]
    assert len(lines) == 1 and "not allowed" in lines[0]
    assert proxy.actions().count("GetResourcePolicy") == 1


def test_key_policy_statement_on_a_kms_key_of_the_emulator(aws_env, seed, capsys):
    """The statement `policy --key-policy` prints goes into a real key policy, is stored
    and read back, and still answers as intended; a secret under that key reads fine."""
    import nbsecrets
    from nbsecrets.admin.resource_policy import decide

    kms = boto3.client("kms", region_name="us-east-1")
    key = kms.create_key(Description="nbsecrets keys")["KeyMetadata"]
    assert (
        cli.main(
            [
                "policy",
                "--key-policy",
                "--role",
                NOTEBOOK,
                "--region",
                "us-east-1",
                "--account",
                ACCOUNT,
                "--provider",
                "openai",
            ]
        )
        == 0
    )
    statement = json.loads(capsys.readouterr().out)
    owner = {
        "Sid": "KeyAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    policy = {"Version": "2012-10-17", "Statement": [owner, statement]}
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(policy))
    back = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    assert back == policy
    arn = seed("nbsecrets/openai", KEY, KmsKeyId=key["Arn"])["ARN"]
    assert nbsecrets.get("openai") == KEY
    via = {
        "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
        "kms:EncryptionContext:SecretARN": arn,
    }
    assert decide(back, NOTEBOOK, "kms:Decrypt", key["Arn"], (), via).allowed
    # Another role of the account: only through its own policies (the root statement).
    assert not decide(back, OTHER, "kms:Decrypt", key["Arn"], (), via).allowed
    assert not decide(
        back, NOTEBOOK, "kms:Decrypt", key["Arn"], (), {"kms:EncryptionContext:SecretARN": arn}
    ).allowed
