"""The secret's side: resource policies and the KMS key policy statement, proven with the
package's evaluator (principals included) and parliament; cross-account role policies."""

from __future__ import annotations

import json

import pytest

from nbsecrets import cli
from nbsecrets.admin.policy import PolicyOptions, policy_document
from nbsecrets.admin.resource_policy import (
    broad_principals,
    decide,
    key_policy_statement,
    resource_policies,
    resource_policy,
)
from nbsecrets.errors import ConfigError

R, HOME, CENTRAL = "us-east-1", "111122223333", "999988887777"
NOTEBOOK = f"arn:aws:iam::{HOME}:role/notebook"
OTHER = f"arn:aws:iam::{HOME}:role/someone-else"
ADMIN = f"arn:aws:iam::{HOME}:role/admin"
STRANGER = f"arn:aws:iam::{CENTRAL}:role/stranger"
SECRET = f"arn:aws:secretsmanager:{R}:{HOME}:secret:nbsecrets/openai-AbCdEf"
CENTRAL_SECRET = f"arn:aws:secretsmanager:{R}:{CENTRAL}:secret:team/openai-AbCdEf"
KEY = f"arn:aws:kms:{R}:{CENTRAL}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GET = "secretsmanager:GetSecretValue"
# What a broad identity grant looks like: everything in Secrets Manager, on every secret.
BROAD = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}],
}
POLICY = resource_policy([NOTEBOOK], [ADMIN])


def test_shape():
    allow, deny = POLICY["Statement"]
    assert allow["Principal"] == {"AWS": [NOTEBOOK]}
    assert allow["Action"] == ["secretsmanager:DescribeSecret", GET]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    # Each exempt role by name, with or without a path (role/service-role/NAME).
    assert deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == [
        NOTEBOOK,
        NOTEBOOK.replace("role/", "role/*/"),
        ADMIN,
        ADMIN.replace("role/", "role/*/"),
    ]


def test_named_role_reads_even_without_its_own_grant_in_the_account():
    assert decide(POLICY, NOTEBOOK, GET, SECRET).allowed
    assert decide(POLICY, NOTEBOOK, "secretsmanager:DescribeSecret", SECRET).allowed
    assert not decide(POLICY, NOTEBOOK, "secretsmanager:PutSecretValue", SECRET).allowed


def test_another_principal_of_the_account_is_denied_despite_a_broad_grant():
    d = decide(POLICY, OTHER, GET, SECRET, [BROAD])
    assert not d.allowed and d.reason == "explicit deny"
    # Without the resource policy the broad grant would have let it in: the test can fail.
    assert decide(None, OTHER, GET, SECRET, [BROAD]).allowed


def test_admin_role_reads_through_its_own_grant_only():
    assert decide(POLICY, ADMIN, GET, SECRET, [BROAD]).allowed
    assert not decide(POLICY, ADMIN, GET, SECRET).allowed  # the resource policy grants it nothing


def test_everyone_else_is_denied_and_nothing_is_public():
    assert not decide(POLICY, STRANGER, GET, SECRET, [BROAD]).allowed
    assert broad_principals(POLICY) == []


def test_cross_account_needs_both_sides():
    central = resource_policy([NOTEBOOK])
    opts = PolicyOptions(
        region=R,
        account=HOME,
        secrets_account=CENTRAL,
        prefix="team/",
        providers=("openai",),
        kms_key_arn=KEY,
    )
    role = policy_document(opts)
    assert role["Statement"][0]["Resource"] == [
        f"arn:aws:secretsmanager:{R}:{CENTRAL}:secret:team/openai-??????"
    ]
    assert decide(central, NOTEBOOK, GET, CENTRAL_SECRET, [role]).allowed
    assert not decide(central, NOTEBOOK, GET, CENTRAL_SECRET).allowed  # role's side missing
    assert not decide(None, NOTEBOOK, GET, CENTRAL_SECRET, [role]).allowed  # secret's side
    other = CENTRAL_SECRET.replace("team/openai", "team/anthropic")
    assert not decide(central, NOTEBOOK, GET, other, [role]).allowed


def test_cross_account_requires_a_customer_managed_key():
    with pytest.raises(ConfigError, match="customer managed KMS key") as err:
        PolicyOptions(region=R, account=HOME, secrets_account=CENTRAL)
    assert str(err.value).count(".") <= 3
    with pytest.raises(ConfigError, match="12-digit"):
        PolicyOptions(region=R, account=HOME, secrets_account="central", kms_key_arn=KEY)
    # The same account is not cross-account: no key needed.
    assert PolicyOptions(region=R, account=HOME, secrets_account=HOME).secrets_account == HOME


def test_key_policy_statement_decrypts_through_secrets_manager_only():
    opts = PolicyOptions(region=R, account=CENTRAL, prefix="team/", providers=("openai",))
    st = key_policy_statement(opts, [NOTEBOOK], regions=["eu-west-1"])
    key_policy = {"Version": "2012-10-17", "Statement": [st]}
    role = policy_document(
        PolicyOptions(
            region=R,
            account=HOME,
            secrets_account=CENTRAL,
            prefix="team/",
            providers=("openai",),
            kms_key_arn=KEY,
        )
    )
    via = {
        "kms:ViaService": f"secretsmanager.{R}.amazonaws.com",
        "kms:EncryptionContext:SecretARN": CENTRAL_SECRET,
    }
    assert st["Action"] == "kms:Decrypt"
    assert decide(key_policy, NOTEBOOK, "kms:Decrypt", KEY, [role], via).allowed
    # Straight to KMS (no ViaService), another secret, another role, another action: no.
    direct = {"kms:EncryptionContext:SecretARN": CENTRAL_SECRET}
    assert not decide(key_policy, NOTEBOOK, "kms:Decrypt", KEY, [role], direct).allowed
    other = {**via, "kms:EncryptionContext:SecretARN": CENTRAL_SECRET.replace("openai", "x")}
    assert not decide(key_policy, NOTEBOOK, "kms:Decrypt", KEY, [role], other).allowed
    assert not decide(
        key_policy,
        STRANGER.replace(CENTRAL, HOME),
        "kms:Decrypt",
        KEY,
        [
            BROAD,
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}],
            },
        ],
        via,
    ).allowed
    assert not decide(key_policy, NOTEBOOK, "kms:Encrypt", KEY, [role], via).allowed
    assert st["Condition"]["StringEquals"]["kms:ViaService"] == [
        f"secretsmanager.{R}.amazonaws.com",
        "secretsmanager.eu-west-1.amazonaws.com",
    ]


@pytest.mark.parametrize(
    "doc",
    [
        POLICY,
        {
            "Version": "2012-10-17",
            "Statement": [
                key_policy_statement(PolicyOptions(region=R, account=CENTRAL), [NOTEBOOK])
            ],
        },
    ],
)
def test_parliament_finds_nothing_but_resource_star(doc):
    from parliament import analyze_policy_string

    found = analyze_policy_string(json.dumps(doc), include_community_auditors=True).findings
    # Resource "*" in a resource or key policy means the secret (key) it is attached to;
    # parliament lints every document as an identity policy, where it would mean everything.
    assert [f"{f.issue}: {f.detail}" for f in found if f.issue != "RESOURCE_STAR"] == []
    bad = (
        json.dumps(doc)
        .replace("GetSecretValue", "GetSecretValu")
        .replace("kms:Decrypt", "kms:Decrypted")
    )
    assert analyze_policy_string(bad).findings  # and it does look


@pytest.mark.parametrize(
    ("principal", "words"),
    [
        ("*", "everyone (*)"),
        ({"AWS": "*"}, "everyone (*)"),
        ({"AWS": HOME}, f"account {HOME}"),
        ({"AWS": [NOTEBOOK, f"arn:aws:iam::{HOME}:root"]}, f"account {HOME}"),
    ],
)
def test_broad_principals(principal, words):
    doc = {
        "Statement": [
            {
                "Sid": "Open",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "secretsmanager:Get*",
                "Resource": "*",
            }
        ]
    }
    [text] = broad_principals(doc)
    assert words in text and "statement Open" in text


def test_an_account_principal_defers_to_that_accounts_policies():
    doc = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{HOME}:root"},
                "Action": GET,
                "Resource": "*",
            }
        ]
    }
    assert not decide(doc, OTHER, GET, SECRET).allowed  # same account: its own policy decides
    assert decide(doc, OTHER, GET, SECRET, [BROAD]).allowed
    # From another account the account principal is the secret's side of the grant.
    assert decide(doc, OTHER, GET, CENTRAL_SECRET, [BROAD]).allowed
    assert not decide(doc, OTHER, GET, CENTRAL_SECRET).allowed
    assert not decide(
        doc, STRANGER.replace(CENTRAL, "444455556666"), GET, CENTRAL_SECRET, [BROAD]
    ).allowed


def test_broad_not_principal_and_narrow_ones():
    doc = {
        "Statement": [
            {
                "Sid": "AllBut",
                "Effect": "Allow",
                "NotPrincipal": {"AWS": NOTEBOOK},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            },
            {
                "Sid": "Describe",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "secretsmanager:DescribeSecret",
                "Resource": "*",
            },
            {"Sid": "Deny", "Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"},
        ]
    }
    assert broad_principals(doc) == ["statement AllBut lets everyone but its NotPrincipal read it"]


@pytest.mark.parametrize(
    "bad", ["notebook", "*", HOME, f"arn:aws:iam::{HOME}:root", f"arn:aws:iam::{HOME}:user/bob"]
)
def test_only_role_arns(bad):
    with pytest.raises(ConfigError, match="takes a role ARN"):
        resource_policy([bad])
    with pytest.raises(ConfigError, match="takes a role ARN"):
        resource_policy([NOTEBOOK], [bad])


def test_no_role_is_an_error():
    with pytest.raises(ConfigError, match="--role arn:aws:iam::ACCOUNT:role/NAME"):
        resource_policy([])


# -- the command line -------------------------------------------------------------------------


def test_cli_resource_policy(capsys):
    rc = cli.main(
        [
            "policy",
            "--resource-policy",
            "--role",
            NOTEBOOK,
            "--admin-role",
            ADMIN,
            "--provider",
            "openai",
            "--provider",
            "claude",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    opts = PolicyOptions(region=None, account=None, providers=("openai", "anthropic"))
    assert out == resource_policies(opts, [NOTEBOOK], [ADMIN])
    assert list(out) == ["nbsecrets/openai", "nbsecrets/anthropic"]


def test_cli_key_policy(capsys):
    rc = cli.main(
        [
            "policy",
            "--key-policy",
            "--role",
            NOTEBOOK,
            "--region",
            R,
            "--account",
            CENTRAL,
            "--prefix",
            "team/",
        ]
    )
    assert rc == 0
    st = json.loads(capsys.readouterr().out)
    assert st["Condition"]["StringLike"]["kms:EncryptionContext:SecretARN"] == [
        f"arn:aws:secretsmanager:{R}:{CENTRAL}:secret:team/*"
    ]


def test_cli_bad_role_is_one_line(capsys):
    assert cli.main(["policy", "--resource-policy", "--role", "notebook"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "takes a role ARN" in err
    assert cli.main(["policy", "--role", NOTEBOOK]) == 1
    assert "go with --resource-policy or --key-policy" in capsys.readouterr().err


def test_cli_arn_prefix_means_secrets_account(capsys, monkeypatch):
    base = ["policy", "--account", HOME, "--provider", "openai", "--kms-key-arn", KEY]
    assert cli.main([*base, "--region", R, "--secrets-account", CENTRAL, "--prefix", "team/"]) == 0
    explicit = json.loads(capsys.readouterr().out)
    monkeypatch.setenv("NBSECRETS_PREFIX", f"arn:aws:secretsmanager:{R}:{CENTRAL}:secret:team/")
    assert cli.main(base) == 0
    assert json.loads(capsys.readouterr().out) == explicit
    monkeypatch.setenv("NBSECRETS_PREFIX", f"arn:aws:secretsmanager:{R}:{CENTRAL}:team/")
    assert cli.main(base) == 1
    assert "is not a secret ARN prefix" in capsys.readouterr().err


def test_cli_cross_account_without_key(capsys):
    rc = cli.main(["policy", "--region", R, "--account", HOME, "--secrets-account", CENTRAL])
    assert rc == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--kms-key-arn" in err
