"""Putting the notebook policy on a role: the inline policy ``nbsecrets``, with a diff."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from nbsecrets.admin.policy import POLICY_NAME
from nbsecrets.errors import ConfigError

__all__ = ["ProvisionResult", "merge", "provision", "role_name"]


def role_name(name_or_arn: str) -> str:
    """The role name from a name or an ARN (``arn:aws:iam::A:role/path/NAME``)."""
    if name_or_arn.startswith("arn:"):
        resource = name_or_arn.split(":", 5)[-1]
        if not resource.startswith("role/"):
            raise ConfigError(
                f"{name_or_arn} is not a role ARN; give a role name or "
                "arn:aws:iam::ACCOUNT:role/NAME."
            )
        return resource.rsplit("/", 1)[-1]
    return name_or_arn


@dataclass(frozen=True)
class ProvisionResult:
    """What :func:`provision` did: the role, whether it changed, and the unified diff."""

    role: str
    changed: bool
    diff: str


def _canonical(document: Any) -> str:
    return json.dumps(document, indent=2)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [] if value is None else [value]


def _shape(st: dict[str, Any]) -> str:
    """What a statement grants apart from its resources (statements of one shape merge)."""
    return json.dumps(
        {
            "Effect": st.get("Effect"),
            "Action": sorted(_as_list(st.get("Action"))),
            "NotAction": st.get("NotAction"),
            "Condition": st.get("Condition"),
        },
        sort_keys=True,
    )


def merge(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """``new`` merged into ``old``: nothing ``old`` grants is dropped.

    A new statement with the same effect, actions and condition as an existing one adds its
    resources to it; any other is appended (its Sid made unique). Merging again changes
    nothing.
    """
    if old is None:
        return new
    statements = [dict(st) for st in _as_list(old.get("Statement"))]
    for st in _as_list(new.get("Statement")):
        if st in statements:
            continue
        same = next(
            (
                o
                for o in statements
                if "Resource" in o and "Resource" in st and _shape(o) == _shape(st)
            ),
            None,
        )
        if same is not None:
            have = _as_list(same["Resource"])
            more = [r for r in _as_list(st["Resource"]) if r not in have]
            if more:
                same["Resource"] = have + more
            continue
        st = dict(st)
        sids = {o.get("Sid") for o in statements}
        base, n = st.get("Sid", ""), 2
        while st.get("Sid") in sids and base:
            st["Sid"], n = f"{base}{n}", n + 1
        statements.append(st)
    return {
        "Version": new.get("Version", old.get("Version", "2012-10-17")),
        "Statement": statements,
    }


def provision(
    iam: Any, role: str, document: dict[str, Any], *, replace: bool = False
) -> ProvisionResult:
    """Merge ``document`` into the role's inline policy ``nbsecrets`` (see :func:`merge`),
    or with ``replace`` put it as it is; only when that changes the policy.

    Parameters
    ----------
    iam : botocore client
        An IAM client with admin rights (iam:GetRolePolicy and iam:PutRolePolicy on the role).
    role : str
        Role name or ARN.

    Raises
    ------
    NbSecretsError
        If the role does not exist or the credentials may not change it.
    """
    from nbsecrets.aws import errors as awserrors

    name = role_name(role)
    try:
        old: Any = iam.get_role_policy(RoleName=name, PolicyName=POLICY_NAME)["PolicyDocument"]
        if isinstance(old, str):  # the API returns it URL-encoded JSON; boto3 decodes it
            old = json.loads(old)
    except Exception as exc:
        if awserrors.error_code(exc) != "NoSuchEntity":
            raise _iam_error(exc, "iam:GetRolePolicy", name) from None
        old = None
        try:
            iam.get_role(RoleName=name)
        except Exception as exc2:
            raise _iam_error(exc2, "iam:GetRole", name) from None
    if not replace:
        document = merge(old, document)
    before = _canonical(old).splitlines() if old is not None else []
    after = _canonical(document).splitlines()
    diff = "\n".join(
        difflib.unified_diff(
            before,
            after,
            fromfile=f"{name}/{POLICY_NAME} (before)" if old is not None else "/dev/null",
            tofile=f"{name}/{POLICY_NAME}",
            lineterm="",
        )
    )
    if old == document:
        return ProvisionResult(name, False, "")
    try:
        iam.put_role_policy(
            RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(document)
        )
    except Exception as exc:
        raise _iam_error(exc, "iam:PutRolePolicy", name) from None
    return ProvisionResult(name, True, diff)


def _iam_error(exc: BaseException, action: str, role: str) -> Exception:
    from nbsecrets.aws import errors as awserrors
    from nbsecrets.errors import AccessDeniedError, KeyNotFoundError

    code = awserrors.error_code(exc)
    if code == "NoSuchEntity":
        return KeyNotFoundError(
            f"IAM role {role} does not exist; check the name, or create it "
            "(lifecycle-config/template.yaml creates one)."
        )
    if code in awserrors.DENIED_CODES:
        return AccessDeniedError(
            f"the credentials in use are not allowed {action} on role "
            f"{role}; run this with admin credentials."
        )
    return awserrors.translate(exc, action=action, target=f"role {role}", region="global")
