"""Key rotation: the Secrets Manager rotation Lambda and the per-provider key modules.

The Lambda's handler string is ``nbsecrets.rotation.handler``. Modules here import api,
aws/ and the core, never notebook/ or admin/; only the CLI imports them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["handler"]


def handler(event: dict[str, Any], context: object = None) -> None:
    """AWS Lambda entry point for Secrets Manager rotation.

    Parameters
    ----------
    event : dict
        ``{"SecretId", "ClientRequestToken", "Step"}`` as Secrets Manager sends it (Step is
        createSecret, setSecret, testSecret or finishSecret), or ``{"SecretId", "Step":
        "revokePrevious"}`` from a schedule, to revoke an old key whose grace has passed.
    context : object
        The Lambda context (unused).

    Raises
    ------
    NbSecretsError
        When a step fails; Secrets Manager then retries it, and AWSCURRENT stays where it is.
    """
    import logging

    from nbsecrets.aws.store import Store
    from nbsecrets.rotation.steps import Rotation

    logging.getLogger("nbsecrets.rotation").setLevel(logging.INFO)
    Rotation(Store().staging).run(event)
