"""The secret's side of least privilege: resource policies for secrets, and the KMS key
policy statement for the roles that read them (possibly from other accounts).

Pure functions, like :func:`nbsecrets.admin.policy.policy_document`:

- :func:`resource_policy`: the policy put on each secret. The named roles may read it
  (GetSecretValue, DescribeSecret); every other principal is denied GetSecretValue except the
  admin roles (and AWS services acting as themselves); nothing is public.
- :func:`key_policy_statement`: the statement to add to the customer managed KMS key's
  policy so those roles may decrypt, through Secrets Manager only, the secrets under the prefix.
- :func:`decide`: what a resource policy (and the caller's identity policies) answer for a
  principal, built on :mod:`nbsecrets.admin.evaluator`, which knows identity policies only.
- :func:`broad_principals`: statements of a resource policy that let in a whole account or
  everyone (``nbsecrets doctor`` reports them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from nbsecrets.admin import evaluator
from nbsecrets.admin.policy import PolicyOptions, secret_arns
from nbsecrets.errors import ConfigError

__all__ = [
    "ALLOW_SID",
    "DENY_SID",
    "KEY_SID",
    "OWN_SIDS",
    "broad_principals",
    "decide",
    "exempt_patterns",
    "key_policy_statement",
    "policy_text",
    "resource_policies",
    "resource_policy",
    "role_arns",
    "secret_ids",
]

ALLOW_SID = "NbsecretsReadByRoles"
DENY_SID = "NbsecretsDenyOtherReaders"
KEY_SID = "NbsecretsDecryptThroughSecretsManager"
OWN_SIDS = (ALLOW_SID, DENY_SID)  # what `provision --resource-policy` owns in a merged policy
RESOURCE_READS = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")
# The only read that returns the value; BatchGetSecretValue is checked against it per secret.
VALUE_READ = "secretsmanager:GetSecretValue"
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_ACCOUNT_ROOT = re.compile(r"^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:root)$")


def role_arns(roles: Iterable[str], option: str = "--role") -> tuple[str, ...]:
    """Check and de-duplicate role ARNs (``arn:aws:iam::ACCOUNT:role/NAME``).

    Raises
    ------
    ConfigError
        If one is not a role ARN: a name is ambiguous across accounts, and an account or
        ``*`` would let in more than a role.
    """
    out = tuple(dict.fromkeys(r.strip() for r in roles))
    for arn in out:
        if not _ROLE_ARN.match(arn):
            raise ConfigError(
                f"{option} takes a role ARN such as "
                f"arn:aws:iam::123456789012:role/notebook, not {arn!r}."
            )
    return out


def resource_policy(roles: Sequence[str], admin_roles: Sequence[str] = ()) -> dict[str, Any]:
    """The resource policy for one secret.

    Parameters
    ----------
    roles : sequence of str
        Role ARNs that may read the secret (any account: the role's own identity policy must
        also allow it, e.g. ``nbsecrets policy --secrets-account``).
    admin_roles : sequence of str
        Role ARNs exempt from the deny (admins, the rotation Lambda's role); they get no
        grant here, their identity policies decide.

    Raises
    ------
    ConfigError
        If no role is given or one is not a role ARN.
    """
    readers = role_arns(roles)
    if not readers:
        raise ConfigError(
            "A resource policy needs the roles that read the keys: "
            "--role arn:aws:iam::ACCOUNT:role/NAME (repeat for more)."
        )
    admins = tuple(a for a in role_arns(admin_roles, "--admin-role") if a not in readers)
    exempt = list(dict.fromkeys(p for arn in (*readers, *admins) for p in exempt_patterns(arn)))
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": ALLOW_SID,
                "Effect": "Allow",
                "Principal": {"AWS": list(readers)},
                "Action": list(RESOURCE_READS),
                "Resource": "*",
            },
            # Principal "*" in a Deny is not public (BlockPublicPolicy looks at Allows only).
            # AWS services acting as themselves are left to their own checks.
            {
                "Sid": DENY_SID,
                "Effect": "Deny",
                "Principal": "*",
                "Action": VALUE_READ,
                "Resource": "*",
                "Condition": {
                    "ArnNotLike": {"aws:PrincipalArn": exempt},
                    "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
                },
            },
        ],
    }


def exempt_patterns(role_arn: str) -> list[str]:
    """The ``aws:PrincipalArn`` patterns that match the role ``role_arn`` whatever its path.

    ``aws:PrincipalArn`` of a role session is the role's ARN with its path
    (``role/service-role/NAME``), which an admin easily leaves out. A role's name is unique in
    its account whatever the path, so ``role/NAME`` and ``role/*/NAME`` match that role and
    no other.
    """
    head, _, resource = role_arn.partition(":role/")
    name = resource.rsplit("/", 1)[-1]
    return [f"{head}:role/{name}", f"{head}:role/*/{name}"]


def secret_ids(prefix: str, providers: Sequence[str]) -> list[str]:
    """The secrets the policy is for: ``{prefix}{provider}``, or ``{prefix}*`` for all."""
    return [f"{prefix}{p}" for p in providers] if providers else [f"{prefix}*"]


def resource_policies(
    opts: PolicyOptions, roles: Sequence[str], admin_roles: Sequence[str] = ()
) -> dict[str, dict[str, Any]]:
    """``{secret id: resource policy}`` for each provider of ``opts`` (``{prefix}*`` if none)."""
    policy = resource_policy(roles, admin_roles)
    return {sid: policy for sid in secret_ids(opts.prefix, opts.providers)}


def key_policy_statement(
    opts: PolicyOptions, roles: Sequence[str], regions: Sequence[str] = ()
) -> dict[str, Any]:
    """The statement for the KMS key policy that lets ``roles`` decrypt the secrets.

    ``kms:Decrypt`` only, only through Secrets Manager (``kms:ViaService`` in each region of
    ``opts.region``, ``opts.fallback_regions`` and ``regions``), and only for secrets under the
    prefix (Secrets Manager passes the secret's ARN as encryption context ``SecretARN``). One
    statement fits each replica of a multi-region key. The roles' own identity policies still
    need ``kms:Decrypt`` on the key (``nbsecrets policy --kms-key-arn``), and name each
    region's key for that region only.

    Raises
    ------
    ConfigError
        If no role is given, one is not a role ARN, or the region or account is missing.
    """
    readers = role_arns(roles)
    if not readers:
        raise ConfigError(
            "A key policy statement needs the roles that read the keys: "
            "--role arn:aws:iam::ACCOUNT:role/NAME (repeat for more)."
        )
    all_regions = list(
        dict.fromkeys(r for r in (opts.region, *opts.fallback_regions, *regions) if r)
    )
    arns = [a for r in all_regions for a in secret_arns(replace(opts, region=r))]
    return {
        "Sid": KEY_SID,
        "Effect": "Allow",
        "Principal": {"AWS": list(readers)},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:ViaService": [f"secretsmanager.{r}.amazonaws.com" for r in all_regions]
            },
            "StringLike": {"kms:EncryptionContext:SecretARN": arns},
        },
    }


def policy_text(
    opts: PolicyOptions, roles: Sequence[str], admin_roles: Sequence[str] = (), *, key: bool = False
) -> str:
    """What ``nbsecrets policy --resource-policy`` (or ``--key-policy`` with ``key``) prints."""
    doc = key_policy_statement(opts, roles) if key else resource_policies(opts, roles, admin_roles)
    return json.dumps(doc, indent=2)


# -- evaluation with principals ---------------------------------------------------------------


def _principals(raw: Any) -> list[str]:
    if raw == "*":
        return ["*"]
    if isinstance(raw, dict):
        return [str(p) for v in raw.values() for p in (v if isinstance(v, list) else [v])]
    return []


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else arn


def _names(statement: dict[str, Any], principal_arn: str, direct: bool) -> bool:
    """True if the statement's Principal covers the IAM role ``principal_arn``: by name or
    ``*`` (``direct``), or also through its account (``ACCOUNT`` / ``:root``), which in an
    Allow only hands the decision to that account's own policies.

    A ``NotPrincipal`` statement covers every principal that none of its entries names, by
    ARN, by its account or by ``*`` (an account entry leaves out all of that account's
    principals): as AWS evaluates it, and as @cloud-copilot/iam-simulate does."""
    if "NotPrincipal" in statement:
        return not any(
            p == "*"
            or p == principal_arn
            or (
                _ACCOUNT_ROOT.match(p)
                and _account_of(p if ":" in p else f"::::{p}") == _account_of(principal_arn)
            )
            for p in _principals(statement["NotPrincipal"])
        )
    for p in _principals(statement.get("Principal")):
        if p == "*" or p == principal_arn:
            return True
        if (
            not direct
            and _ACCOUNT_ROOT.match(p)
            and _account_of(p if ":" in p else f"::::{p}") == _account_of(principal_arn)
        ):
            return True
    return False


def _applicable(
    policy: dict[str, Any] | str, principal_arn: str, direct: bool
) -> list[evaluator.Statement]:
    doc = json.loads(policy) if isinstance(policy, str) else policy
    raw = doc.get("Statement", [])
    raw = raw if isinstance(raw, list) else [raw]
    kept = {
        "Version": "2012-10-17",
        "Statement": [s for s in raw if _names(s, principal_arn, direct)],
    }
    return evaluator.statements(kept, "resource policy")


def decide(
    resource_policy_doc: dict[str, Any] | str | None,
    principal_arn: str,
    action: str,
    secret_arn: str,
    identity_policies: Iterable[Any] = (),
    context: dict[str, Any] | None = None,
) -> evaluator.Decision:
    """Whether the role ``principal_arn`` may do ``action`` on the secret ``secret_arn``.

    AWS's rule for a resource policy: an explicit Deny in either policy wins; in the secret's
    own account an Allow in either one is enough, where the resource policy's Allow must name
    the role (or ``*``: an account principal defers to the account's identity policies);
    from another account both must allow.
    Conditions see ``aws:PrincipalArn``, ``aws:PrincipalAccount`` and
    ``aws:PrincipalIsAWSService`` (false) besides ``context``.
    """
    ctx = {
        "aws:PrincipalArn": principal_arn,
        "aws:PrincipalAccount": _account_of(principal_arn),
        "aws:PrincipalIsAWSService": "false",
        **(context or {}),
    }
    identity = [
        st
        for pol in identity_policies
        for st in (
            evaluator.statements(pol[1], pol[0])
            if isinstance(pol, tuple)
            else evaluator.statements(pol)
        )
    ]
    doc = resource_policy_doc or {}
    resource = _applicable(doc, principal_arn, direct=False)
    for st in (*identity, *resource):
        if st.effect == "Deny":
            d = evaluator.evaluate([st], action, secret_arn, ctx)
            if d.reason == "explicit deny":
                return d
    by_identity = evaluator.evaluate(identity, action, secret_arn, ctx)
    by_resource = evaluator.evaluate(resource, action, secret_arn, ctx)
    # An action without a resource type (Resource "*") is the caller's account's own.
    same_account = secret_arn == "*" or _account_of(principal_arn) == _account_of(secret_arn)
    if same_account:
        if by_identity.allowed:
            return by_identity
        return evaluator.evaluate(
            _applicable(doc, principal_arn, direct=True), action, secret_arn, ctx
        )
    if by_identity.allowed and by_resource.allowed:
        return by_resource
    return evaluator.Decision(
        False,
        "implicit deny (another account: the role's policy and "
        "the secret's resource policy must both allow)",
    )


# What a resource policy must not let a broad principal do besides reading the value: change
# who may read (the policy itself), the value and its stages, the tags, the key, rotation.
CHANGES = (
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:DeleteResourcePolicy",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:UpdateSecret",
    "secretsmanager:TagResource",
    "secretsmanager:RotateSecret",
    "secretsmanager:CancelRotateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:ReplicateSecretToRegions",
)


def broad_principals(policy: dict[str, Any] | str) -> list[str]:
    """Allow statements that let in everyone (``*``) or a whole account (``ACCOUNT`` or
    ``arn:aws:iam::ACCOUNT:root``) to read the value, or to change the secret, its policy,
    tags or rotation (:data:`CHANGES`), described in a few words each."""
    doc = json.loads(policy) if isinstance(policy, str) else policy
    raw = doc.get("Statement", [])
    found = []
    for i, st in enumerate(raw if isinstance(raw, list) else [raw]):
        if st.get("Effect") != "Allow":
            continue
        actions = st.get("Action", st.get("NotAction", []))
        actions = actions if isinstance(actions, list) else [actions]

        def covers(action: str, st: dict[str, Any] = st, actions: list[Any] = actions) -> bool:
            hit = any(evaluator.action_matches(str(a), action) for a in actions)
            return hit != ("NotAction" in st)

        changes = [c.split(":", 1)[1] for c in CHANGES if covers(c)]
        what = " and ".join(
            (["read it"] if covers(VALUE_READ) else [])
            + ([f"change it ({', '.join(changes)})"] if changes else [])
        )
        if not what:
            continue
        sid = st.get("Sid") or f"#{i + 1}"
        cond = " (with conditions: check them)" if st.get("Condition") else ""
        if "NotPrincipal" in st:
            found.append(f"statement {sid} lets everyone but its NotPrincipal {what}{cond}")
        for p in _principals(st.get("Principal")):
            if p == "*":
                found.append(f"statement {sid} lets everyone (*) {what}{cond}")
            elif _ACCOUNT_ROOT.match(p):
                found.append(
                    f"statement {sid} lets every principal of account "
                    f"{_account_of(p) if ':' in p else p} {what}{cond}"
                )
    return found
