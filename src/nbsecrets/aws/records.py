"""What the AWS layer hands back: versions, loaded keys, listings. No value shows in a repr."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from nbsecrets.refs import KeyRef

__all__ = ["CURRENT", "PREVIOUS", "LoadedKey", "SecretInfo", "SecretVersion", "VersionInfo"]

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"


@dataclass(frozen=True)
class SecretVersion:
    """One fetched version of a secret. The payload never shows in ``repr``."""

    name: str
    arn: str
    version_id: str
    stages: tuple[str, ...]
    created: datetime | None
    region: str
    payload: str = field(repr=False, compare=False)


@dataclass(frozen=True)
class LoadedKey:
    """A key taken out of a secret. The value never shows in ``repr``."""

    ref: KeyRef
    secret: SecretVersion
    value: str = field(repr=False, compare=False)
    cached: bool = False


@dataclass(frozen=True)
class SecretInfo:
    """A secret under the prefix, as ListSecrets describes it (no value)."""

    provider: str
    name: str
    arn: str
    last_changed: datetime | None
    tags: dict[str, str]
    rotation_enabled: bool = False
    last_rotated: datetime | None = None
    stages: dict[str, tuple[str, ...]] = field(default_factory=dict)  # version id -> labels


@dataclass(frozen=True)
class VersionInfo:
    """One version of a secret as ListSecretVersionIds describes it (no value)."""

    version_id: str
    stages: tuple[str, ...]
    created: datetime | None
    last_accessed: datetime | None = None
