"""The package's evaluator agrees with one it did not write, @cloud-copilot/iam-simulate, on
every option combination of `nbsecrets policy` and the requests each grant is for (every
action on every resource, with the condition context the service sends), allowed and denied.

One node process answers the whole matrix. Skipped, saying why, where node or the pinned
package is missing (scripts/test.sh installs both).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from nbsecrets.admin.policy import PolicyOptions, policy_document
from nbsecrets.admin.resource_policy import decide, key_policy_statement, resource_policy
from nbsecrets.errors import ConfigError
from tests import iamsim

E, W, X = "us-east-1", "us-west-2", "eu-central-1"  # primary, fallback, neither
A, B = "111122223333", "999988887777"  # the role's account, the secrets' account
KEYS = {
    (A, E): f"arn:aws:kms:{E}:{A}:key/1111aaaa-12ab-34cd-56ef-1234567890ab",
    (A, W): f"arn:aws:kms:{W}:{A}:key/2222bbbb-12ab-34cd-56ef-1234567890ab",
    (B, E): f"arn:aws:kms:{E}:{B}:key/3333cccc-12ab-34cd-56ef-1234567890ab",
    (B, W): f"arn:aws:kms:{W}:{B}:key/4444dddd-12ab-34cd-56ef-1234567890ab",
}
ROLE = f"arn:aws:iam::{A}:role/notebook"
CLIENT_TAGS = ["nbsecrets:provider", "nbsecrets:managed", "nbsecrets:fingerprint"]

pytestmark = pytest.mark.skipif(bool(iamsim.unavailable()), reason=iamsim.unavailable())


def _options() -> list[dict[str, Any]]:
    """The combinations of the CLI's policy options that PolicyOptions accepts: every
    combination of providers, --allow-write, --kms-key-arn, --fallback-region and
    --secrets-account, with --no-list and --prefix alternating over them."""
    out = []
    product = itertools.product(
        [(), ("openai",), ("openai", "anthropic")],
        [False, True],
        [False, True],
        [(), (W,)],
        [None, B],
    )
    for i, (providers, write, kms, fallback, secrets_account) in enumerate(product):
        holder = secrets_account or A
        keys: tuple[str, ...] = ()
        if kms:
            keys = (KEYS[holder, E], *(f"{r}={KEYS[holder, r]}" for r in fallback))
        kwargs = dict(
            region=E,
            account=A,
            prefix="team-a/" if i % 3 == 2 else "nbsecrets/",
            providers=providers,
            allow_write=write,
            list_secrets=i % 2 == 0,
            kms_key_arns=keys,
            fallback_regions=fallback,
            secrets_account=secrets_account,
        )
        try:
            PolicyOptions(**kwargs)
        except ConfigError:
            continue  # refused with one sentence (tested elsewhere): nothing to evaluate
        out.append(kwargs)
    return out


def _secret(account: str, region: str, name: str) -> str:
    return f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-AbCdEf"


def _requests(opts: PolicyOptions) -> list[tuple[str, str, dict[str, Any], str]]:
    """``(action, resource, context, resource account)`` for every grant, and its near misses."""
    holder = opts.secrets_account or A
    names = [f"{opts.prefix}{p}" for p in ("openai", "anthropic", "openai-extra")]
    names += ["other/openai", "nbsecrets-admin/openai"]
    arns = [_secret(acct, r, n) for acct in sorted({A, holder}) for r in (E, W, X) for n in names]
    out: list[tuple[str, str, dict[str, Any], str]] = []
    for arn in arns:
        acct = arn.split(":")[4]
        for action in (
            "secretsmanager:GetSecretValue",
            "secretsmanager:DescribeSecret",
            "secretsmanager:PutSecretValue",
            "secretsmanager:UpdateSecretVersionStage",
            "secretsmanager:DeleteSecret",
            "secretsmanager:PutResourcePolicy",
        ):
            out.append((action, arn, {}, acct))
        for tags in (CLIENT_TAGS, ["nbsecrets:openai-project"], ["SageMaker"]):
            out.append(("secretsmanager:TagResource", arn, {"aws:TagKeys": tags}, acct))
        name = arn.split(":secret:", 1)[1][: -len("-AbCdEf")]
        for key in (None, KEYS[holder, E]):
            ctx: dict[str, Any] = {"secretsmanager:Name": name, "aws:TagKeys": CLIENT_TAGS}
            if key:
                ctx["secretsmanager:KmsKeyArn"] = key
            out.append(("secretsmanager:CreateSecret", arn, ctx, acct))
    for action in ("secretsmanager:BatchGetSecretValue", "secretsmanager:ListSecrets"):
        out.append((action, "*", {}, A))
    for (acct, _), key in KEYS.items():
        for action in ("kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"):
            for region in (E, W, X):
                via = {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
                out.append((action, key, via, acct))
            out.append((action, key, {}, acct))
    return out


def _key_policy(opts: PolicyOptions, key: str) -> dict[str, Any]:
    """The key's policy: its account's root delegation (the default key policy), and for a
    key in the secrets' account, the statement `nbsecrets policy --key-policy` prints."""
    owner = key.split(":")[4]
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{owner}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if owner != A and opts.kms_key_arns:
        statements.append(key_policy_statement(opts, [ROLE]))
    return {"Version": "2012-10-17", "Statement": statements}


def test_local_evaluator_agrees_with_iam_simulate_on_every_generated_policy():
    matrix = _options()
    assert (
        len(matrix) == 30
    )  # 48 combinations, less those refused (no CMK, or writes, across accounts)
    cases, ours, where = [], [], []
    for kwargs in matrix:
        opts = PolicyOptions(**kwargs)
        identity = policy_document(opts)
        holder = opts.secrets_account or A
        readers = resource_policy([ROLE])
        for action, resource, context, account in _requests(opts):
            resource_doc: dict[str, Any] | None = None
            if action.startswith("kms:"):
                resource_doc = _key_policy(opts, resource)
            elif account == B and resource != "*":
                resource_doc = readers  # the secrets' account lets the role read
            ctx = dict(context)
            ours.append(decide(resource_doc, ROLE, action, resource, [identity], ctx).allowed)
            cases.append(
                iamsim.case(
                    action,
                    resource,
                    principal=ROLE,
                    identity=[identity],
                    resource_policy=resource_doc,
                    context={
                        "aws:PrincipalArn": ROLE,
                        "aws:PrincipalAccount": A,
                        "aws:PrincipalIsAWSService": "false",
                        **ctx,
                    }
                    if resource_doc is readers
                    else ctx,
                    resource_account=account,
                )
            )
            where.append((kwargs, action, resource, ctx, holder))
    theirs = iamsim.run(cases)
    disagree = [
        (w, o, t) for w, o, t in zip(where, ours, theirs, strict=True) if o != (t == "Allowed")
    ]
    assert disagree == [], f"{len(disagree)} of {len(cases)} disagree; first: {disagree[:3]}"
    # Both kinds of answer are in the matrix, and nothing under the admin namespace is allowed.
    assert any(ours) and not all(ours)
    assert not any(o for w, o in zip(where, ours, strict=True) if "nbsecrets-admin/" in w[2] and o)
