"""Versions in flight for rotation: the AWSPENDING version, its promotion, version dates.

Every call goes to the primary region (replicas are read-only) through the
:class:`~nbsecrets.aws.transport.Transport`, so errors arrive as nbsecrets' one-line errors.
No value is cached or logged here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nbsecrets.aws.cache import Cache
from nbsecrets.aws.records import CURRENT, PREVIOUS
from nbsecrets.aws.transport import Transport
from nbsecrets.errors import KeyNotFoundError

__all__ = ["PENDING", "SecretState", "Staging"]

PENDING = "AWSPENDING"


@dataclass(frozen=True)
class SecretState:
    """A secret's metadata as DescribeSecret and ListSecretVersionIds give it (no value)."""

    arn: str
    name: str
    tags: dict[str, str]
    stages: dict[str, tuple[str, ...]]
    created: dict[str, datetime] = field(default_factory=dict)
    rotation_enabled: bool = False

    def holder(self, stage: str) -> str | None:
        """The version id that carries ``stage``, or None."""
        return next((v for v, st in self.stages.items() if stage in st), None)


class Staging:
    """AWSPENDING versions and staging-label moves on one Secrets Manager secret at a time."""

    def __init__(self, transport: Transport, cache: Cache):
        self.transport = transport
        self.cache = cache

    def _call(self, op: str, secret_id: str, action: str, **kwargs: Any) -> Any:
        resp, _ = self.transport.call(op, target=secret_id, action=f"secretsmanager:{action}",
                                      write=True, **kwargs)
        return resp

    def state(self, secret_id: str, *, dates: bool = True) -> SecretState:
        """DescribeSecret, plus each version's CreatedDate from ListSecretVersionIds.

        Raises
        ------
        KeyNotFoundError
            If the secret does not exist.
        """
        resp = self._call("describe_secret", secret_id, "DescribeSecret", SecretId=secret_id)
        created: dict[str, datetime] = {}
        token: str | None = None
        while dates:
            kwargs: dict[str, Any] = {"SecretId": secret_id, "IncludeDeprecated": True}
            if token:
                kwargs["NextToken"] = token
            page = self._call("list_secret_version_ids", secret_id, "ListSecretVersionIds",
                              **kwargs)
            for item in page.get("Versions", []):
                if item.get("CreatedDate"):
                    created[item["VersionId"]] = item["CreatedDate"]
            token = page.get("NextToken")
            if not token:
                break
        return SecretState(
            arn=resp.get("ARN", ""), name=resp.get("Name", secret_id),
            tags={t["Key"]: t.get("Value", "") for t in resp.get("Tags", [])},
            stages={v: tuple(st) for v, st in resp.get("VersionIdsToStages", {}).items()},
            created=created, rotation_enabled=bool(resp.get("RotationEnabled")))

    def payload(self, secret_id: str, *, version_id: str | None = None,
                stage: str | None = None) -> str:
        """The SecretString of one version (by id and/or stage), read from the primary region.

        Raises
        ------
        KeyNotFoundError
            If no such version (or no string value) exists.
        """
        kwargs: dict[str, Any] = {"SecretId": secret_id}
        if version_id:
            kwargs["VersionId"] = version_id
        if stage:
            kwargs["VersionStage"] = stage
        resp = self._call("get_secret_value", secret_id, "GetSecretValue", **kwargs)
        if "SecretString" not in resp:
            raise KeyNotFoundError(f"secret {secret_id} has no string value in that version.")
        return resp["SecretString"]

    def pending_payload(self, secret_id: str, token: str) -> str | None:
        """The value put under ``token`` as AWSPENDING, or None when there is none yet."""
        if PENDING not in self.state(secret_id, dates=False).stages.get(token, ()):
            return None
        try:
            return self.payload(secret_id, version_id=token)
        except KeyNotFoundError:
            return None

    def put_pending(self, secret_id: str, token: str, payload: str) -> None:
        """PutSecretValue with ``token`` as the version id, labelled AWSPENDING only.

        Secrets Manager treats a repeated token with the same value as a no-op, so a retried
        step cannot create a second version.
        """
        self._call("put_secret_value", secret_id, "PutSecretValue", SecretId=secret_id,
                   ClientRequestToken=token, SecretString=payload, VersionStages=[PENDING])

    def promote(self, secret_id: str, token: str) -> str | None:
        """Move AWSCURRENT to ``token``; the version it leaves becomes AWSPREVIOUS.

        Returns the version id that was current before, or None if ``token`` already was.
        AWSPENDING is taken off ``token`` afterwards, as Secrets Manager does.
        """
        state = self.state(secret_id, dates=False)
        current = state.holder(CURRENT)
        if current != token:
            extra = {"RemoveFromVersionId": current} if current else {}
            self._call("update_secret_version_stage", secret_id, "UpdateSecretVersionStage",
                       SecretId=secret_id, VersionStage=CURRENT, MoveToVersionId=token, **extra)
            after = self.state(secret_id, dates=False)
            if current and PREVIOUS not in after.stages.get(current, ()):
                holder = after.holder(PREVIOUS)
                moved = {"RemoveFromVersionId": holder} if holder else {}
                self._call("update_secret_version_stage", secret_id, "UpdateSecretVersionStage",
                           SecretId=secret_id, VersionStage=PREVIOUS, MoveToVersionId=current,
                           **moved)
            state = after
        if PENDING in state.stages.get(token, ()):
            self._call("update_secret_version_stage", secret_id, "UpdateSecretVersionStage",
                       SecretId=secret_id, VersionStage=PENDING, RemoveFromVersionId=token)
        self.cache.forget()
        return current if current != token else None
