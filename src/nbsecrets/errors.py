"""The exceptions nbsecrets raises.

Every message is one sentence that names what went wrong and what to do next. No message,
``repr`` or ``__cause__`` ever carries a secret value: errors that could hold the payload
(JSON decoding, botocore responses) are raised ``from None``.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "ConfigError",
    "KeyNotFoundError",
    "NbSecretsError",
    "NoCredentialsError",
    "NoRegionError",
    "SecretFormatError",
    "StoreUnavailableError",
]


class NbSecretsError(Exception):
    """Base class of every error nbsecrets raises.

    Attributes
    ----------
    failures : dict[str, NbSecretsError]
        When several keys failed at once (``%aikey a b``), each failing key and its own error.
    """

    def __init__(self, message: str, *, failures: dict[str, NbSecretsError] | None = None):
        super().__init__(message)
        self.failures: dict[str, NbSecretsError] = dict(failures or {})


class ConfigError(NbSecretsError):
    """A malformed name, reference, option or configuration file."""


class KeyNotFoundError(NbSecretsError):
    """The secret, version or stage does not exist."""


class AccessDeniedError(NbSecretsError):
    """The credentials in use are not allowed to do what was asked."""


class NoCredentialsError(NbSecretsError):
    """No AWS credentials were found, or they are invalid or expired."""


class NoRegionError(NbSecretsError):
    """No AWS region could be determined."""


class SecretFormatError(NbSecretsError):
    """The secret exists but its value cannot be read as a key (binary, bad JSON, no field)."""


class StoreUnavailableError(NbSecretsError):
    """Secrets Manager could not be reached, timed out or kept throttling."""


def combine(failures: dict[str, NbSecretsError]) -> NbSecretsError:
    """Fold per-key failures into one error that names each key and why.

    The result is of the failures' common class when they share one, else the base class.
    """
    if len(failures) == 1:
        return next(iter(failures.values()))
    kinds = {type(e) for e in failures.values()}
    cls = kinds.pop() if len(kinds) == 1 else NbSecretsError
    parts = "; ".join(f"{name}: {err}" for name, err in failures.items())
    return cls(f"{len(failures)} keys failed, nothing was changed. {parts}", failures=failures)
