"""The policy for ``nbsecrets scan``: read the fingerprint tags, never a value.

The scanner recognises managed keys by the ``nbsecrets:fingerprint`` tag
(:mod:`nbsecrets.fingerprint`), which ListSecrets returns with each secret (and its version
stages); DescribeSecret gives the same for one secret when listing is not allowed. Neither
returns a value, so a role with this policy alone (a CI job, a pre-commit hook on a laptop)
cannot read any key.
"""

from __future__ import annotations

from typing import Any

from nbsecrets.admin.policy import PolicyOptions, secret_arns

__all__ = ["SCAN_ACTIONS", "scan_policy_document"]

SCAN_ACTIONS = ("secretsmanager:DescribeSecret", "secretsmanager:ListSecrets")


def scan_policy_document(opts: PolicyOptions) -> dict[str, Any]:
    """``nbsecrets policy --scan``: DescribeSecret on the secrets, ListSecrets on ``*``.

    ListSecrets has no resource type (``*``); it is left out with ``--no-list`` (the scanner
    then describes ``{prefix}{provider}`` for each provider it knows). No GetSecretValue, no
    KMS: tags and stages are not encrypted.

    Raises
    ------
    ConfigError
        If the region or account is missing.
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadFingerprintTags",
            "Effect": "Allow",
            "Action": "secretsmanager:DescribeSecret",
            "Resource": secret_arns(opts),
        }
    ]
    if opts.list_secrets:
        statements.append(
            {
                "Sid": "ListKeys",
                "Effect": "Allow",
                "Action": "secretsmanager:ListSecrets",
                "Resource": "*",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
