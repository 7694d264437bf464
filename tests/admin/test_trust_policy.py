"""Issue 20, the policy half: what an independent review of the generated policies against
AWS's documented semantics found. Each test here failed on the code before the fix."""

from __future__ import annotations

import json

import pytest

from nbsecrets import cli
from nbsecrets.admin import evaluator
from nbsecrets.admin.policy import PolicyOptions, policy_document
from nbsecrets.admin.resource_policy import decide, key_policy_statement, resource_policy
from nbsecrets.errors import ConfigError

E, W, A, B = "us-east-1", "us-west-2", "111122223333", "999988887777"
KEY_E = f"arn:aws:kms:{E}:{A}:key/1111aaaa-12ab-34cd-56ef-1234567890ab"
KEY_W = f"arn:aws:kms:{W}:{A}:key/2222bbbb-12ab-34cd-56ef-1234567890ab"
DECRYPT = "kms:Decrypt"


def via(region: str) -> dict[str, str]:
    return {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}


# -- kms:ViaService names the key's own region ------------------------------------------------


@pytest.mark.parametrize(
    "keys",
    [
        (KEY_E, f"{W}={KEY_W}"),  # the replica's key given as REGION=ARN
        (KEY_E, KEY_W),  # or plainly: the key ARN names its region
    ],
)
def test_each_key_decrypts_only_through_its_own_regions_secrets_manager(keys):
    doc = policy_document(
        PolicyOptions(region=E, account=A, kms_key_arns=keys, fallback_regions=(W,))
    )
    # Failover: the replica in us-west-2 is decrypted by Secrets Manager in us-west-2.
    assert evaluator.allows([doc], DECRYPT, KEY_W, via(W))
    assert evaluator.allows([doc], DECRYPT, KEY_E, via(E))
    # A key of one region is not usable through another region's Secrets Manager.
    assert not evaluator.allows([doc], DECRYPT, KEY_W, via(E))
    assert not evaluator.allows([doc], DECRYPT, KEY_E, via(W))


def test_key_policy_honours_fallback_regions(capsys):
    args = ["policy", "--key-policy", "--role", f"arn:aws:iam::{A}:role/notebook"]
    args += ["--region", E, "--account", A, "--fallback-region", W, "--kms-key-arn", KEY_E]
    assert cli.main(args) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["Condition"]["StringEquals"]["kms:ViaService"] == [
        f"secretsmanager.{E}.amazonaws.com",
        f"secretsmanager.{W}.amazonaws.com",
    ]
    arns = st["Condition"]["StringLike"]["kms:EncryptionContext:SecretARN"]
    assert f"arn:aws:secretsmanager:{W}:{A}:secret:nbsecrets/*" in arns


def test_key_policy_statement_lets_a_failover_read_decrypt():
    opts = PolicyOptions(region=E, account=A, fallback_regions=(W,), kms_key_arns=(KEY_E,))
    role = f"arn:aws:iam::{A}:role/notebook"
    key_policy = {"Version": "2012-10-17", "Statement": [key_policy_statement(opts, [role])]}
    ctx = {
        **via(W),
        "kms:EncryptionContext:SecretARN": (
            f"arn:aws:secretsmanager:{W}:{A}:secret:nbsecrets/openai-AbCdEf"
        ),
    }
    # The role's own policy names KEY_W for us-west-2 (the key policy names the role too).
    both = PolicyOptions(region=E, account=A, fallback_regions=(W,), kms_key_arns=(KEY_E, KEY_W))
    assert decide(key_policy, role, DECRYPT, KEY_W, [policy_document(both)], ctx).allowed


# -- CreateSecret is pinned to the customer managed key ---------------------------------------


def test_create_secret_needs_the_customer_managed_key():
    opts = PolicyOptions(
        region=E, account=A, providers=("openai",), allow_write=True, kms_key_arns=(KEY_E,)
    )
    doc = policy_document(opts)
    arn = f"arn:aws:secretsmanager:{E}:{A}:secret:nbsecrets/openai-AbCdEf"
    name = {"secretsmanager:Name": "nbsecrets/openai"}
    create = "secretsmanager:CreateSecret"
    assert evaluator.allows([doc], create, arn, {**name, "secretsmanager:KmsKeyArn": KEY_E})
    # No KmsKeyId in the request: Secrets Manager would use aws/secretsmanager. Refused.
    assert not evaluator.allows([doc], create, arn, name)
    assert not evaluator.allows([doc], create, arn, {**name, "secretsmanager:KmsKeyArn": KEY_W})
    # Without a customer managed key, CreateSecret is not conditioned on one.
    plain = policy_document(
        PolicyOptions(region=E, account=A, providers=("openai",), allow_write=True)
    )
    assert evaluator.allows([plain], create, arn, name)


# -- no writes across accounts ----------------------------------------------------------------


def test_allow_write_with_secrets_account_is_refused(capsys):
    with pytest.raises(ConfigError, match="reads only"):
        PolicyOptions(
            region=E, account=A, secrets_account=B, kms_key_arns=(KEY_E,), allow_write=True
        )
    args = ["policy", "--region", E, "--account", A, "--secrets-account", B]
    assert cli.main([*args, "--kms-key-arn", KEY_E, "--allow-write"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--allow-write" in err
    # The same account named twice is not another account.
    PolicyOptions(region=E, account=A, secrets_account=A, allow_write=True)


# -- the admin namespace ----------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["nbsecrets-admin/", "nbsecrets-admin/team/", "nbsecrets-admin"])
def test_admin_namespace_prefix_is_refused(prefix, capsys):
    with pytest.raises(ConfigError):
        PolicyOptions(region=E, account=A, prefix=prefix)
    assert cli.main(["policy", "--region", E, "--account", A, "--prefix", prefix]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "prefix", [f"arn:aws:secretsmanager:{E}:{B}:secret:nbsecrets-admin/", "nbsecrets-admin*", "*"]
)
def test_admin_namespace_is_refused_in_every_spelling(prefix):
    with pytest.raises(ConfigError):
        PolicyOptions.resolve(region=E, account=A, prefix=prefix, kms_key_arns=(KEY_E,))


# -- resource policies: admin roles with a path, several teams --------------------------------


def test_an_admin_role_given_without_its_path_is_still_exempt():
    real = f"arn:aws:iam::{A}:role/service-role/rotation"
    notebook = f"arn:aws:iam::{A}:role/notebook"
    policy = resource_policy([notebook], [f"arn:aws:iam::{A}:role/rotation"])
    secret = f"arn:aws:secretsmanager:{E}:{A}:secret:nbsecrets/openai-AbCdEf"
    own = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret}
        ],
    }
    assert decide(policy, real, "secretsmanager:GetSecretValue", secret, [own]).allowed
    # A role of another name, or of the same name in another account, is still denied.
    for other in (
        f"arn:aws:iam::{A}:role/service-role/rotation2",
        f"arn:aws:iam::{B}:role/rotation",
    ):
        assert not decide(policy, other, "secretsmanager:GetSecretValue", secret, [own]).allowed


def test_a_second_notebook_role_is_added_to_the_readers(seed, sm, iam, capsys):
    from tests.conftest import SAGEMAKER_TRUST

    account = "123456789012"  # moto's
    iam.create_role(RoleName="team-a", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    iam.create_role(RoleName="team-b", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    iam.create_role(
        RoleName="rotation", Path="/service-role/", AssumeRolePolicyDocument=SAGEMAKER_TRUST
    )
    seed("nbsecrets/openai", "sk-trust-0123456789abcdefghijklmnop")
    base = ["provision", "--resource-policy", "--region", E, "--account", account]
    base += ["--provider", "openai", "--admin-role", f"arn:aws:iam::{account}:role/rotation"]
    assert cli.main([*base, "--role", "team-a"]) == 0
    assert cli.main([*base, "--role", "team-b"]) == 0
    capsys.readouterr()
    policy = json.loads(sm.get_resource_policy(SecretId="nbsecrets/openai")["ResourcePolicy"])
    secret = sm.describe_secret(SecretId="nbsecrets/openai")["ARN"]
    get = "secretsmanager:GetSecretValue"
    for role in ("team-a", "team-b", "service-role/rotation"):
        arn = f"arn:aws:iam::{account}:role/{role}"
        own = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": get, "Resource": secret}],
        }
        assert decide(policy, arn, get, secret, [own]).allowed, role
    assert not decide(policy, f"arn:aws:iam::{account}:role/team-c", get, secret).allowed
    [allow] = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    # provision resolved the admin role's path through GetRole; the readers are both teams.
    assert allow["Principal"] == {
        "AWS": [f"arn:aws:iam::{account}:role/team-a", f"arn:aws:iam::{account}:role/team-b"]
    }
    [deny] = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    exempt = deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    assert f"arn:aws:iam::{account}:role/*/rotation" in exempt


def test_provision_refuses_an_admin_role_that_does_not_exist(seed, iam, capsys):
    from tests.conftest import SAGEMAKER_TRUST

    account = "123456789012"
    iam.create_role(RoleName="team-a", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    seed("nbsecrets/openai", "sk-trust-0123456789abcdefghijklmnop")
    args = ["provision", "--resource-policy", "--region", E, "--account", account, "--role"]
    args += ["team-a", "--provider", "openai", "--admin-role", f"arn:aws:iam::{account}:role/nope"]
    assert cli.main(args) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope" in err


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ("secretsmanager:PutResourcePolicy", "change it (PutResourcePolicy)"),
        ("secretsmanager:DeleteResourcePolicy", "change it (DeleteResourcePolicy)"),
        ("secretsmanager:PutSecretValue", "change it (PutSecretValue)"),
        ("secretsmanager:TagResource", "change it (TagResource)"),
        ("secretsmanager:*", "read it and change it (PutResourcePolicy, DeleteResourcePolicy"),
    ],
)
def test_broad_principals_looks_beyond_reads(action, words):
    from nbsecrets.admin.resource_policy import broad_principals

    for principal in ("*", {"AWS": f"arn:aws:iam::{A}:root"}):
        st = {"Sid": "Open", "Effect": "Allow", "Principal": principal, "Action": action}
        [text] = broad_principals({"Statement": [{**st, "Resource": "*"}]})
        assert words in text and "statement Open" in text
    # A role by name is not broad, whatever it may do.
    named = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:role/admin"}}
    assert broad_principals({"Statement": [{**named, "Action": action, "Resource": "*"}]}) == []
