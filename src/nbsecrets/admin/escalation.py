"""The grants by which a role could widen its own power or the rotation's, and the resource
ARNs doctor probes them on (its fixed probes, and the resources the role's statements name).
``nbsecrets doctor`` asks IAM (or the local evaluator) about each and reports the hits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nbsecrets.admin import evaluator
from nbsecrets.aws.admin_records import NAMESPACE

__all__ = ["ESCALATIONS", "escalation_probes", "escalations", "named_probes"]


# Every path by which a role could widen its own power or the rotation's: (target, actions,
# what it would let the role do). Targets are probes: the role itself, another role (such as
# the rotation Lambda's), any managed policy, any Lambda function (the rotation function holds
# the organization's admin keys), the secrets, a record under the admin namespace, the key.
ESCALATIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "self",
        (
            "iam:PutRolePolicy",
            "iam:AttachRolePolicy",
            "iam:PutRolePermissionsBoundary",
            "iam:DeleteRolePermissionsBoundary",
            "iam:UpdateAssumeRolePolicy",
        ),
        "it could grant itself anything",
    ),
    (
        "role",
        (
            "iam:PutRolePolicy",
            "iam:AttachRolePolicy",
            "iam:UpdateAssumeRolePolicy",
            "iam:PassRole",
            "sts:AssumeRole",
        ),
        "it could act as, or widen, another role such as the rotation Lambda's",
    ),
    (
        "policy",
        ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"),
        "it could rewrite a managed policy attached to itself or to the rotation role",
    ),
    (
        "function",
        (
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:CreateFunction",
        ),
        "it could run its own code, or change the settings, of the rotation Lambda, which "
        "holds the admin keys",
    ),
    (
        "secret",
        (
            "secretsmanager:PutResourcePolicy",
            "secretsmanager:DeleteResourcePolicy",
            "secretsmanager:RotateSecret",
            "secretsmanager:CancelRotateSecret",
            "secretsmanager:UpdateSecret",
            "secretsmanager:ReplicateSecretToRegions",
        ),
        "it could open the keys to others, move them off the customer managed key, or change "
        "how and when they rotate",
    ),
    (
        "admin",
        (
            "secretsmanager:GetSecretValue",
            "secretsmanager:PutSecretValue",
            "secretsmanager:CreateSecret",
            "secretsmanager:TagResource",
            "secretsmanager:UpdateSecretVersionStage",
            "secretsmanager:DeleteSecret",
        ),
        "the admin namespace nbsecrets-admin/ holds the admin keys and the settings and "
        "records rotation trusts",
    ),
    (
        "key",
        ("kms:PutKeyPolicy", "kms:CreateGrant"),
        "it could let itself or others decrypt outside Secrets Manager",
    ),
)


def escalation_probes(
    role_arn: str, region: str, secret_arns: Sequence[str], key_arn: str | None = None
) -> dict[str, list[str]]:
    """The resource ARNs each :data:`ESCALATIONS` target is probed on."""
    account = role_arn.split(":")[4]
    part = role_arn.split(":")[1]
    probe = "nbsecrets-doctor-probe"
    sm = f"arn:{part}:secretsmanager:{region}:{account}:secret:"
    return {
        "self": [role_arn],
        "role": [f"arn:{part}:iam::{account}:role/{probe}"],
        "policy": [f"arn:{part}:iam::{account}:policy/{probe}"],
        "function": [f"arn:{part}:lambda:{region}:{account}:function:{probe}"],
        "secret": list(secret_arns) or [f"{sm}nbsecrets/{probe}-AbCdEf"],
        "admin": [f"{sm}nbsecrets-admin/{probe}-AbCdEf"],
        "key": [key_arn or f"arn:{part}:kms:{region}:{account}:key/{probe}"],
    }


def _target_of(arn: str) -> str | None:
    """Which :data:`ESCALATIONS` target a resource ARN is of, or None."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return None
    service, rest = parts[2], parts[5]
    if service == "iam":
        return {"role": "role", "policy": "policy"}.get(rest.split("/", 1)[0])
    if service == "lambda" and rest.startswith("function:"):
        return "function"
    if service == "secretsmanager" and rest.startswith("secret:"):
        return "admin" if rest[len("secret:") :].startswith(NAMESPACE) else "secret"
    if service == "kms" and rest.startswith(("key/", "alias/")):
        return "key"
    return None


def named_probes(
    policies: Sequence[tuple[str, dict[str, Any]]], probes: dict[str, list[str]], limit: int = 20
) -> dict[str, list[str]]:
    """``probes`` plus each resource an Allow statement of ``policies`` names, under its
    target: a grant on one named function (the rotation Lambda) or one named role is found,
    not only grants on ``*``. Wildcards in a named ARN become a letter, giving an ARN the
    pattern matches; at most ``limit`` more per target."""
    out = {target: list(arns) for target, arns in probes.items()}
    for _, doc in policies:
        for st in evaluator.statements(doc):
            if st.effect != "Allow" or st.not_resource:
                continue
            for pattern in st.resources:
                target = _target_of(pattern)
                arn = pattern.replace("*", "x").replace("?", "x")
                if (
                    target
                    and arn not in out[target]
                    and len(out[target]) < len(probes[target]) + limit
                ):
                    out[target].append(arn)
    return out


def escalations(
    allowed: Callable[[str, str], bool], probes: dict[str, list[str]]
) -> list[tuple[str, str]]:
    """``(finding, fix)`` for each :data:`ESCALATIONS` entry that ``allowed(action, arn)``
    answers yes for on one of its probes."""
    out = []
    for target, actions, why in ESCALATIONS:
        hits = [(a, arn) for a in actions for arn in probes[target] if allowed(a, arn)]
        if not hits:
            continue
        names = ", ".join(dict.fromkeys(a for a, _ in hits))
        where = {
            "self": "itself",
            "role": "other roles",
            "policy": "managed policies",
            "function": "Lambda functions",
            "secret": "the keys",
            "admin": "the admin namespace nbsecrets-admin/",
            "key": "the KMS key",
        }[target]
        out.append(
            (
                f"The role may {names} on {where} ({hits[0][1]}): {why}.",
                "remove that grant: a notebook role needs only what `nbsecrets policy` prints "
                "(docs/security.md lists what an admin must not grant).",
            )
        )
    return out
