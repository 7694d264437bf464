"""Putting resource policies on secrets, and checking the ones that are there.

:func:`put` merges nbsecrets' statements (:mod:`nbsecrets.admin.resource_policy`) into a
secret's existing resource policy, shows the difference and puts it with
``BlockPublicPolicy``; statements of other owners are kept. :func:`findings` is what
``nbsecrets doctor`` says about each readable secret's resource policy.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nbsecrets.admin.policy import PolicyOptions
from nbsecrets.admin.resource_policy import (
    ALLOW_SID,
    DENY_SID,
    OWN_SIDS,
    broad_principals,
    exempt_patterns,
    resource_policy,
)
from nbsecrets.aws import errors as awserrors
from nbsecrets.errors import AccessDeniedError, ConfigError, NbSecretsError

__all__ = ["PutResult", "current", "findings", "merge", "provision_secrets", "put", "targets"]


@dataclass(frozen=True)
class PutResult:
    """What :func:`put` did to one secret: whether it changed, and the unified diff."""

    secret: str
    changed: bool
    diff: str


def _error(exc: BaseException, action: str, secret: str) -> NbSecretsError:
    code = awserrors.error_code(exc)
    if code in awserrors.DENIED_CODES:
        return AccessDeniedError(
            f"the credentials in use are not allowed secretsmanager:{action}"
            f" on {secret}; run this with admin credentials in the account "
            "that holds the secret."
        )
    if code in ("PublicPolicyException", "MalformedPolicyDocumentException"):
        return ConfigError(
            f"Secrets Manager refused the resource policy for {secret} ({code}); "
            "remove the statements that open it to everyone or to whole "
            "accounts, then run again."
        )
    return awserrors.translate(exc, action=f"secretsmanager:{action}", target=secret, region="")


def current(sm: Any, secret: str) -> dict[str, Any] | None:
    """The secret's resource policy, or None when it has none.

    Raises
    ------
    NbSecretsError
        If the secret does not exist or the credentials may not read its policy.
    """
    try:
        text = sm.get_resource_policy(SecretId=secret).get("ResourcePolicy")
    except Exception as exc:
        raise _error(exc, "GetResourcePolicy", secret) from None
    return json.loads(text) if text else None


def _values(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value] if value else [])]


def merge(existing: dict[str, Any] | None, ours: dict[str, Any]) -> dict[str, Any]:
    """``existing`` with nbsecrets' own statements (by Sid) replaced by those of ``ours``, and
    the readers and exempt roles already in them kept: provisioning a second team's role adds
    it, it never locks out the first team."""
    if not existing:
        return ours
    raw = existing.get("Statement", [])
    raw = raw if isinstance(raw, list) else [raw]
    kept = [s for s in raw if s.get("Sid") not in OWN_SIDS]
    old = {s.get("Sid"): s for s in raw if s.get("Sid") in OWN_SIDS}
    merged = []
    for st in ours["Statement"]:
        st = json.loads(json.dumps(st))
        before = old.get(st.get("Sid"))
        if before is not None and st["Sid"] == ALLOW_SID:
            had = _values((before.get("Principal") or {}).get("AWS"))
            new = _values(st["Principal"]["AWS"])
            st["Principal"]["AWS"] = list(dict.fromkeys([*had, *new]))
        elif before is not None and st["Sid"] == DENY_SID:
            cond = before.get("Condition") or {}
            had = [  # an older policy of ours exempted exact ARNs (ArnNotEquals)
                p
                for op in ("ArnNotLike", "ArnNotEquals")
                for v in _values((cond.get(op) or {}).get("aws:PrincipalArn"))
                for p in (exempt_patterns(v) if ":role/" in v and "*" not in v else [v])
            ]
            new = st["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
            st["Condition"]["ArnNotLike"]["aws:PrincipalArn"] = list(dict.fromkeys([*had, *new]))
        merged.append(st)
    return {"Version": existing.get("Version", "2012-10-17"), "Statement": [*kept, *merged]}


def put(sm: Any, secret: str, policy: dict[str, Any]) -> PutResult:
    """Merge ``policy`` into ``secret``'s resource policy and put it if it changed.

    PutResourcePolicy is called with ``BlockPublicPolicy=True``, so Secrets Manager refuses a
    result that grants broad access.

    Raises
    ------
    NbSecretsError
        If the secret does not exist, the credentials may not change it, or the merged policy
        is refused.
    """
    old = current(sm, secret)
    new = merge(old, policy)
    if old == new:
        return PutResult(secret, False, "")
    before = json.dumps(old, indent=2).splitlines() if old else []
    diff = "\n".join(
        difflib.unified_diff(
            before,
            json.dumps(new, indent=2).splitlines(),
            fromfile=f"{secret} resource policy (before)" if old else "/dev/null",
            tofile=f"{secret} resource policy",
            lineterm="",
        )
    )
    try:
        sm.put_resource_policy(
            SecretId=secret, ResourcePolicy=json.dumps(new), BlockPublicPolicy=True
        )
    except Exception as exc:
        raise _error(exc, "PutResourcePolicy", secret) from None
    return PutResult(secret, True, diff)


def targets(sm: Any, prefix: str, providers: Sequence[str]) -> list[str]:
    """The secrets to put the policy on: ``{prefix}{provider}``, or every secret under the
    prefix (ListSecrets) when no provider is named.

    Raises
    ------
    NbSecretsError
        If no provider is named and no secret is under the prefix, or listing is refused.
    """
    if providers:
        return [f"{prefix}{p}" for p in providers]
    names: list[str] = []
    try:
        for page in sm.get_paginator("list_secrets").paginate(
            Filters=[{"Key": "name", "Values": [prefix]}]
        ):
            names += [
                s["Name"]
                for s in page.get("SecretList", [])
                if s.get("Name", "").startswith(prefix)
            ]
    except Exception as exc:
        raise _error(exc, "ListSecrets", f"{prefix}*") from None
    if not names:
        raise ConfigError(
            f"No secret under {prefix} to put a resource policy on; store the "
            "keys first, or name them with --provider."
        )
    return sorted(names)


def findings(sm: Any, secrets: Sequence[str]) -> list[tuple[str, str, str]]:
    """``(level, text, fix)`` for ``nbsecrets doctor``: each secret without a resource policy
    (info: the role's own policy is then all that limits readers in its account) and each
    whose policy lets in a whole account or everyone (warn). Never raises for AWS problems:
    a refused GetResourcePolicy (a notebook role is not granted it) gives one info line."""
    out: list[tuple[str, str, str]] = []
    fix = (
        "`nbsecrets provision --role ROLE --resource-policy` (admin credentials) puts one "
        "that only the named roles may read."
    )
    for secret in secrets:
        try:
            policy = current(sm, secret)
        except NbSecretsError as exc:
            why = "not allowed" if isinstance(exc, AccessDeniedError) else str(exc)
            out.append(
                (
                    "info",
                    f"Cannot read the resource policies of the keys ({why}); an "
                    "admin can run `nbsecrets doctor` to check them.",
                    "",
                )
            )
            break
        if policy is None:
            out.append(("info", f"Secret {secret} has no resource policy.", fix))
            continue
        for text in broad_principals(policy):
            out.append(("warn", f"The resource policy of secret {secret}: {text}.", fix))
    return out


def provision_secrets(
    sm: Any, opts: PolicyOptions, role: str, admin_roles: Sequence[str], iam: Any
) -> tuple[str, bool]:
    """``nbsecrets provision --resource-policy``: put the resource policy letting ``role``
    read on each secret of ``opts``; return the text to print, and whether the role is in
    this account (``opts.account``), so that its own policy may be put here too.

    Raises
    ------
    NbSecretsError
        If the role cannot be resolved, or a secret's policy cannot be read or put.
    """
    from nbsecrets.admin.provision import _iam_error, role_name

    if opts.secrets_account not in (None, opts.account):
        raise ConfigError(
            f"The secrets are in account {opts.secrets_account}: put their "
            "resource policies there, with that account's admin credentials "
            "(drop --resource-policy here)."
        )

    def real_arn(role: str) -> str:
        """The role's ARN with its path, from iam:GetRole when the role is in this account."""
        if role.startswith("arn:") and role.split(":")[4:5] != [opts.account]:
            return role  # another account's role: GetRole cannot see it
        try:
            return str(iam.get_role(RoleName=role_name(role))["Role"]["Arn"])
        except Exception as exc:
            raise _iam_error(exc, "iam:GetRole", role) from None

    role_arn = real_arn(role)
    policy = resource_policy([role_arn], [real_arn(a) for a in admin_roles])
    lines = []
    for secret in targets(sm, opts.prefix, opts.providers):
        done = put(sm, secret, policy)
        lines += (
            [done.diff, f"Put the resource policy on secret {secret}."]
            if done.changed
            else [f"Secret {secret} already has this resource policy; nothing changed."]
        )
    account = role_arn.split(":")[4]
    local = opts.account in (None, account)
    if not local:
        lines.append(
            f"Role {role_arn} is in account {account}, not {opts.account}: give it "
            f"its policy there (`nbsecrets provision --role {role_arn} "
            f"--secrets-account {opts.account} --kms-key-arn KEY_ARN`, with that "
            "account's admin credentials)."
        )
    return "\n".join(lines), local
