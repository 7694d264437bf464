"""Policies for the rotation Lambda's role and for ``nbsecrets audit``: never for a notebook.

Both are pure functions from options to the policy JSON, like :mod:`nbsecrets.admin.policy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbsecrets.admin.policy import ARN_SUFFIX, partition_of
from nbsecrets.errors import ConfigError

__all__ = ["ADMIN_SECRETS", "ROTATION_ACTIONS", "audit_policy_document", "rotation_policy_document"]

# What the four steps call on a rotated secret. Nothing else: no CreateSecret, DeleteSecret,
# TagResource or resource policy (and no ListSecretVersionIds: the grace period runs from the
# ledger's times, not from version dates).
ROTATION_ACTIONS = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
)
ADMIN_SECRETS = ("nbsecrets-admin/openai", "nbsecrets-admin/anthropic")
# Per rotated secret, under the admin namespace: the admin's settings (read only) and the
# ledger of the keys rotation minted (read and written by rotation alone). The same names as
# nbsecrets.rotation.settings (admin/ does not import rotation/; a test keeps them equal).
SETTINGS_PREFIX = "nbsecrets-admin/rotation/"
LEDGER_PREFIX = "nbsecrets-admin/minted/"


def audit_policy_document() -> dict[str, Any]:
    """``nbsecrets policy --audit``: cloudtrail:LookupEvents, which has no resource type, and
    the secrets' metadata (DescribeSecret, ListSecrets: never a value) to find the regions
    each secret is replicated to, whose CloudTrail holds the reads there."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadSecretAccessEvents",
                "Effect": "Allow",
                "Action": "cloudtrail:LookupEvents",
                "Resource": "*",
            },
            {
                "Sid": "FindReplicaRegions",
                "Effect": "Allow",
                "Action": "secretsmanager:DescribeSecret",
                "Resource": "arn:aws:secretsmanager:*:*:secret:*",
            },
            {
                "Sid": "ListSecretsToAudit",
                "Effect": "Allow",
                "Action": "secretsmanager:ListSecrets",
                "Resource": "*",
            },
        ],
    }


def rotation_policy_document(
    *,
    region: str,
    account: str,
    secrets: Sequence[str],
    admin_secrets: Sequence[str] = ADMIN_SECRETS,
    function_name: str | None = None,
    kms_key_arn: str | None = None,
) -> dict[str, Any]:
    """The rotation Lambda role's policy: the rotated secrets, the admin secrets, the admin's
    settings for each secret (read), each one's ledger (read, create, put), its logs, and
    with a customer managed key, that key through Secrets Manager only.

    Parameters
    ----------
    secrets : sequence of str
        Names of the rotated secrets (e.g. ``nbsecrets/openai``); each is matched with the
        six-character ARN suffix, never ``-*``.
    admin_secrets : sequence of str
        Admin key secrets the Lambda reads (GetSecretValue only).
    function_name : str, optional
        The Lambda's name, for CloudWatch Logs on its own log group only.
    kms_key_arn : str, optional
        The customer managed key of the rotated secrets: kms:Decrypt (reads) and
        kms:GenerateDataKey (new versions), with ``kms:ViaService`` Secrets Manager.

    Raises
    ------
    ConfigError
        If no secret is named or a name holds a wildcard.
    """
    if not secrets or any(c in s for s in (*secrets, *admin_secrets) for c in "*?"):
        raise ConfigError(
            "name each rotated secret exactly (no wildcards); the rotation role "
            "may touch only those."
        )
    partition = partition_of(region)
    base = f"arn:{partition}:secretsmanager:{region}:{account}:secret:"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "RotateKeys",
            "Effect": "Allow",
            "Action": list(ROTATION_ACTIONS),
            "Resource": [f"{base}{s}{ARN_SUFFIX}" for s in secrets],
        },
        {
            # the fingerprint of the new version (nbsecrets scan); no other tag key
            "Sid": "FingerprintTag",
            "Effect": "Allow",
            "Action": "secretsmanager:TagResource",
            "Resource": [f"{base}{s}{ARN_SUFFIX}" for s in secrets],
            "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["nbsecrets:fingerprint"]}},
        },
        {
            "Sid": "ReadAdminKeys",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [f"{base}{s}{ARN_SUFFIX}" for s in admin_secrets]
            + [f"{base}{SETTINGS_PREFIX}{s}{ARN_SUFFIX}" for s in secrets],
        },
        {
            "Sid": "KeepRotationLedger",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
            "Resource": [f"{base}{LEDGER_PREFIX}{s}{ARN_SUFFIX}" for s in secrets],
        },
        {
            "Sid": "CreateRotationLedger",
            "Effect": "Allow",
            "Action": "secretsmanager:CreateSecret",
            "Resource": [f"{base}{LEDGER_PREFIX}{s}{ARN_SUFFIX}" for s in secrets],
            "Condition": {
                "StringEquals": {"secretsmanager:Name": [f"{LEDGER_PREFIX}{s}" for s in secrets]}
            },
        },
    ]
    if kms_key_arn:
        statements.append(
            {
                "Sid": "KeysEncryption",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": kms_key_arn,
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
                },
            }
        )
    if function_name:
        group = f"arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{function_name}"
        statements.append(
            {
                "Sid": "OwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{group}:*",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
