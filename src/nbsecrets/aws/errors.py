"""Turning botocore's exceptions into nbsecrets' one-sentence errors.

botocore is imported lazily inside these functions, so importing this module stays cheap.
Messages are built from what we asked for (secret id, region, action), never from response
bodies, which could in principle echo a payload.
"""

from __future__ import annotations

from typing import Any

from nbsecrets.errors import (
    AccessDeniedError,
    KeyNotFoundError,
    NbSecretsError,
    NoCredentialsError,
    StoreUnavailableError,
)

DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "403"})  # moto says "403"
BAD_CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
    }
)
THROTTLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
    }
)
NOT_FOUND_CODES = frozenset({"ResourceNotFoundException"})
# The secret was found, but its KMS key would not decrypt it (GetSecretValue, and the batch).
KMS_CODES = frozenset(
    {
        "DecryptionFailure",
        "DecryptionFailureException",
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "KMSInvalidStateException",
        "KMSNotFoundException",
    }
)


def is_key_failure(code: str | None, message: str | None) -> bool:
    """True when a read failed on the secret's KMS key rather than on the secret: a KMS code,
    or an access denial whose message names KMS ("Access to KMS is not allowed"). The
    message is only looked at, never repeated."""
    return code in KMS_CODES or (code in DENIED_CODES and "kms" in (message or "").lower())


def key_failure(
    secret: str,
    region: str | None = None,
    action: str = "secretsmanager:GetSecretValue",
    code: str | None = None,
) -> AccessDeniedError:
    """The secret was found but its KMS key would not decrypt it for these credentials."""
    return AccessDeniedError(
        f"secret {secret} was found, but its KMS key would not decrypt it for these "
        "credentials: the role needs kms:Decrypt on the key (`nbsecrets policy --kms-key-arn "
        "ARN`) and, for a key in another account, the key policy must allow the role "
        "(`nbsecrets policy --key-policy --role ROLE_ARN`).",
        secret_id=secret,
        region=region,
        action=action,
        code=code,
    )


def error_code(exc: BaseException | None) -> str | None:
    """AWS's error code in a botocore error (or our error's ``code``), else None."""
    if isinstance(exc, NbSecretsError):
        return exc.code
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code is None:
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return str(status) if status else None
        return str(code)
    return None


def is_unreachable(exc: BaseException) -> bool:
    """True for faults that another region might not have: no connection, timeouts, 5xx."""
    from botocore import exceptions as bce

    if isinstance(
        exc,
        bce.EndpointConnectionError
        | bce.ConnectTimeoutError
        | bce.ReadTimeoutError
        | bce.ConnectionClosedError,
    ):
        return True
    if isinstance(exc, bce.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or error_code(exc) in THROTTLE_CODES
    return False


def no_credentials(**fields: Any) -> NoCredentialsError:
    return NoCredentialsError(
        "No AWS credentials were found; on SageMaker give the notebook an execution role, "
        "locally run `aws configure` or `aws sso login`, or set AWS_PROFILE or NBSECRETS_ROLE_ARN.",
        **fields,
    )


def translate(
    exc: BaseException, *, action: str, target: str, region: str, endpoint: str | None = None
) -> NbSecretsError:
    """Map a botocore exception raised by ``action`` on ``target`` to an nbsecrets error.

    Connectivity and credential problems concern every key; callers raise them at once.
    Per-secret problems (not found, denied) are returned for the caller to attach to a key.
    The error carries ``secret_id=target``, ``region``, ``action`` and AWS's ``code``.
    """
    from botocore import exceptions as bce

    if isinstance(exc, NbSecretsError):
        return exc
    where = f"{region}" + (f" at {endpoint}" if endpoint else "")
    code = error_code(exc)
    fields: dict[str, Any] = {"secret_id": target, "region": region, "action": action, "code": code}
    if isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError):
        return no_credentials(**fields)
    if isinstance(exc, bce.NoRegionError):
        from nbsecrets.config import no_region_error

        return no_region_error()
    if isinstance(exc, bce.ConnectTimeoutError | bce.ReadTimeoutError):
        return StoreUnavailableError(
            f"Secrets Manager in {where} did not answer in time; check the network or "
            "AWS_ENDPOINT_URL, or set NBSECRETS_FALLBACK_REGIONS to a replica region.",
            **fields,
        )
    if isinstance(exc, bce.EndpointConnectionError | bce.ConnectionClosedError):
        return StoreUnavailableError(
            f"Cannot reach Secrets Manager in {where}; check the network or AWS_ENDPOINT_URL, "
            "or set NBSECRETS_FALLBACK_REGIONS to a replica region.",
            **fields,
        )
    if isinstance(exc, bce.ClientError):
        if code in BAD_CREDENTIAL_CODES:
            return NoCredentialsError(
                "The AWS credentials in use are invalid or expired; refresh them "
                "(`aws sso login`, new keys, or restart the kernel on SageMaker) and run again.",
                **fields,
            )
        if code in THROTTLE_CODES:
            return StoreUnavailableError(
                f"Secrets Manager in {region} kept throttling requests; wait a few seconds and "
                "run again.",
                **fields,
            )
        message = exc.response.get("Error", {}).get("Message")
        if action.startswith("secretsmanager:") and is_key_failure(code, message):
            return key_failure(target, region, action, code)
        if code in DENIED_CODES:
            return AccessDeniedError(
                f"the credentials in use are not allowed {action} on {target}; "
                "grant it with `nbsecrets provision` (see `nbsecrets policy`).",
                **fields,
            )
        if code in NOT_FOUND_CODES:
            return KeyNotFoundError(f"secret {target} was not found in {region}.", **fields)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status >= 500:
            return StoreUnavailableError(
                f"Secrets Manager in {where} answered with a server error ({code}); try again "
                "shortly, or set NBSECRETS_FALLBACK_REGIONS to a replica region.",
                **fields,
            )
        return NbSecretsError(
            f"{action} on {target} failed with {code}; check the request.", **fields
        )
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ResponseParserError):
        return not_secrets_manager(where, **fields)
    if isinstance(exc, bce.BotoCoreError):
        return StoreUnavailableError(
            f"Secrets Manager in {where} could not be used ({type(exc).__name__}); check the "
            "network and AWS settings.",
            **fields,
        )
    raise exc


def not_secrets_manager(where: str, **fields: Any) -> StoreUnavailableError:
    """Something answered, but not Secrets Manager: a wrong endpoint or a captive proxy."""
    return StoreUnavailableError(
        f"The endpoint for {where} did not answer like AWS Secrets Manager; check "
        "AWS_ENDPOINT_URL and any HTTP proxy settings.",
        **fields,
    )
