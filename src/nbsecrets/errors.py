"""The exceptions nbsecrets raises.

Every message is one sentence that names what went wrong and what to do next. No message,
``repr`` or ``__cause__`` ever carries a secret value: errors that could hold the payload
(JSON decoding, botocore responses) are raised ``from None``.

Errors carry what failed as fields (the key, the secret, the region, the action, AWS's error
code, the per-key failures). Code decides on those fields, never on the message text; each
front end (the API, the magic, the picker, the CLI, jobs) words its own next step from them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

__all__ = [
    "AccessDeniedError",
    "ConfigError",
    "FederationError",
    "KeyNotFoundError",
    "NbSecretsError",
    "NoCredentialsError",
    "NoRegionError",
    "SecretFormatError",
    "StoreUnavailableError",
]

_E = TypeVar("_E", bound="NbSecretsError")


class NbSecretsError(Exception):
    """Base class of every error nbsecrets raises.

    Attributes
    ----------
    failures : dict[str, NbSecretsError]
        When several keys failed at once (``%aikey a b``), each failing key and its own error.
    key : str | None
        The key (provider label, ``openai``) the error is about, when it is about one.
    secret_id : str | None
        The secret name or ARN (or, for other services, the resource) that was asked for.
    region : str | None
        The AWS region that answered, or was tried last.
    action : str | None
        The IAM action that failed (``secretsmanager:GetSecretValue``).
    code : str | None
        AWS's error code (``ResourceNotFoundException``, ``ThrottlingException``...).
    advised : bool
        True once a front end has added its next step to the message (it adds it once).
    """

    _fields: tuple[str, ...] = (
        "failures",
        "key",
        "secret_id",
        "region",
        "action",
        "code",
        "advised",
    )

    def __init__(
        self,
        message: str,
        *,
        failures: Mapping[str, NbSecretsError] | None = None,
        key: str | None = None,
        secret_id: str | None = None,
        region: str | None = None,
        action: str | None = None,
        code: str | None = None,
        advised: bool = False,
    ):
        super().__init__(message)
        self.failures: dict[str, NbSecretsError] = dict(failures or {})
        self.key = key
        self.secret_id = secret_id
        self.region = region
        self.action = action
        self.code = code
        self.advised = advised

    @property
    def message(self) -> str:
        """The one sentence users see (``str(error)``)."""
        return str(self.args[0]) if self.args else ""

    def fields(self) -> dict[str, Any]:
        """The error's fields, as keyword arguments of its constructor."""
        return {name: getattr(self, name) for name in self._fields}

    def reworded(self: _E, message: str, **changes: Any) -> _E:
        """The same error (class and fields, with ``changes``) under a new message."""
        return type(self)(message, **{**self.fields(), **changes})


class ConfigError(NbSecretsError):
    """A malformed name, reference, option or configuration file."""


class KeyNotFoundError(NbSecretsError):
    """The secret, version or stage does not exist.

    Attributes
    ----------
    version : str | None
        The version id or staging label asked for, when that (not the secret) is missing.
    suggestions : tuple[str, ...]
        Close names among the secrets and providers ("Did you mean ...?").
    """

    _fields = (*NbSecretsError._fields, "version", "suggestions")

    def __init__(
        self,
        message: str,
        *,
        version: str | None = None,
        suggestions: Sequence[str] = (),
        **fields: Any,
    ):
        super().__init__(message, **fields)
        self.version = version
        self.suggestions = tuple(suggestions)


class AccessDeniedError(NbSecretsError):
    """The credentials in use are not allowed to do what was asked."""


class NoCredentialsError(NbSecretsError):
    """No AWS credentials were found, or they are invalid or expired."""


class NoRegionError(NbSecretsError):
    """No AWS region could be determined."""


class SecretFormatError(NbSecretsError):
    """The secret exists but its value cannot be read as a key (binary, bad JSON, no field).

    Attributes
    ----------
    reason : str | None
        What is wrong, for front ends to word a next step: ``"empty"``, ``"binary"``,
        ``"json"`` (not valid JSON), ``"field"`` (no field fits) or ``"value"`` (a value
        given to store that cannot be stored).
    """

    _fields = (*NbSecretsError._fields, "reason")

    def __init__(self, message: str, *, reason: str | None = None, **fields: Any):
        super().__init__(message, **fields)
        self.reason = reason


class StoreUnavailableError(NbSecretsError):
    """Secrets Manager could not be reached, timed out or kept throttling."""


class FederationError(NbSecretsError):
    """A federated provider's short-lived token could not be had (shared/DESIGN.md, "Keyless
    providers").

    Attributes
    ----------
    step : str | None
        What failed: ``"sts"`` (GetWebIdentityToken), ``"clock"`` (skew against AWS),
        ``"exchange"`` (the provider's token endpoint), ``"settings"`` or ``"file"`` (the
        identity-token file).
    """

    _fields = (*NbSecretsError._fields, "step")

    def __init__(self, message: str, *, step: str | None = None, **fields: Any):
        super().__init__(message, **fields)
        self.step = step


def combine(failures: Mapping[str, NbSecretsError]) -> NbSecretsError:
    """Fold per-key failures into one error that names each key and why.

    The result is of the failures' common class when they share one, else the base class.
    """
    if len(failures) == 1:
        return next(iter(failures.values()))
    kinds = {type(e) for e in failures.values()}
    cls = kinds.pop() if len(kinds) == 1 else NbSecretsError
    parts = "; ".join(f"{name}: {err}" for name, err in failures.items())
    return cls(
        f"{len(failures)} keys failed, nothing was changed. {parts}", failures=dict(failures)
    )
