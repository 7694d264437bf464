"""Versions in flight for rotation: a secret's state, the AWSPENDING version, promotion.

Every call goes to the primary region (replicas are read-only) through the
:class:`~nbsecrets.aws.transport.Transport`, so errors arrive as nbsecrets' one-line errors.
No value is cached or logged here.
:func:`version_list` and :func:`move_current` are also the version listing and the rollback of
:class:`~nbsecrets.aws.writes.Writer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from nbsecrets import fingerprint
from nbsecrets.aws.cache import Cache
from nbsecrets.aws.records import CURRENT, PREVIOUS
from nbsecrets.aws.transport import Transport
from nbsecrets.errors import KeyNotFoundError, NbSecretsError

__all__ = ["PENDING", "SecretState", "Stages", "Staging", "holder", "move_current", "version_list"]

PENDING = "AWSPENDING"
Stages = Mapping[str, tuple[str, ...]]  # version id -> its staging labels


def holder(stages: Stages, stage: str) -> str | None:
    """The version id that carries ``stage``, or None."""
    return next((v for v, st in stages.items() if stage in st), None)


def version_list(
    transport: Transport, secret_id: str, *, primary: bool = False
) -> list[dict[str, Any]]:
    """Every version of ``secret_id`` as ListSecretVersionIds gives it (deprecated ones too).

    ``primary`` reads the primary region only.
    """
    return [
        item
        for page, _ in transport.pages(
            "list_secret_version_ids",
            target=secret_id,
            write=primary,
            action="secretsmanager:ListSecretVersionIds",
            SecretId=secret_id,
            IncludeDeprecated=True,
        )
        for item in page.get("Versions", [])
    ]


def _describe(transport: Transport, secret_id: str) -> dict[str, Any]:
    resp: dict[str, Any] = transport.call(
        "describe_secret",
        target=secret_id,
        write=True,
        action="secretsmanager:DescribeSecret",
        SecretId=secret_id,
    )[0]
    return resp


def _stages_of(resp: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    return {v: tuple(st) for v, st in resp.get("VersionIdsToStages", {}).items()}


def _move(
    transport: Transport, secret_id: str, stage: str, to: str | None, away: str | None
) -> None:
    kwargs: dict[str, Any] = {"MoveToVersionId": to} if to else {}
    if away:
        kwargs["RemoveFromVersionId"] = away
    transport.call(
        "update_secret_version_stage",
        target=secret_id,
        write=True,
        action="secretsmanager:UpdateSecretVersionStage",
        SecretId=secret_id,
        VersionStage=stage,
        **kwargs,
    )


def move_current(
    transport: Transport, secret_id: str, stages: Stages, to: str
) -> dict[str, tuple[str, ...]]:
    """Move AWSCURRENT to version ``to``; the version it leaves carries AWSPREVIOUS.

    ``stages`` are the secret's staging labels as last read. Secrets Manager moves AWSPREVIOUS
    along with AWSCURRENT; the labels are read again once to make sure of it (and AWSPREVIOUS
    is moved if not). Returns the labels after the move.
    """
    current = holder(stages, CURRENT)
    if current == to:
        return dict(stages)
    _move(transport, secret_id, CURRENT, to, current)
    after = _stages_of(_describe(transport, secret_id))
    if current and PREVIOUS not in after.get(current, ()):
        before = holder(after, PREVIOUS)
        _move(transport, secret_id, PREVIOUS, current, before)
        after = {v: tuple(s for s in st if s != PREVIOUS) for v, st in after.items()}
        after[current] = (*after.get(current, ()), PREVIOUS)
    return after


@dataclass(frozen=True)
class SecretState:
    """A secret's metadata as DescribeSecret and ListSecretVersionIds give it (no value).

    Read once per rotation step by :meth:`Staging.state` and handed down to what the step
    does; ``secret_id`` is the id the caller named it by (a name or an ARN).
    """

    arn: str
    name: str
    tags: dict[str, str]
    stages: dict[str, tuple[str, ...]]
    created: dict[str, datetime] = field(default_factory=dict)
    rotation_enabled: bool = False
    secret_id: str = ""

    def holder(self, stage: str) -> str | None:
        """The version id that carries ``stage``, or None."""
        return holder(self.stages, stage)

    def has(self, version_id: str, stage: str) -> bool:
        """Whether version ``version_id`` carries ``stage``."""
        return stage in self.stages.get(version_id, ())


class Staging:
    """AWSPENDING versions and staging-label moves on one Secrets Manager secret at a time."""

    def __init__(self, transport: Transport, cache: Cache):
        self.transport = transport
        self.cache = cache

    def state(self, secret_id: str, *, dates: bool = True) -> SecretState:
        """DescribeSecret, plus each version's CreatedDate from ListSecretVersionIds.

        Raises
        ------
        KeyNotFoundError
            If the secret does not exist.
        """
        resp = _describe(self.transport, secret_id)
        created: dict[str, datetime] = {}
        if dates:
            created = {
                item["VersionId"]: item["CreatedDate"]
                for item in version_list(self.transport, secret_id, primary=True)
                if item.get("CreatedDate")
            }
        return SecretState(
            arn=resp.get("ARN", ""),
            name=resp.get("Name", secret_id),
            tags={t["Key"]: t.get("Value", "") for t in resp.get("Tags", [])},
            stages=_stages_of(resp),
            created=created,
            rotation_enabled=bool(resp.get("RotationEnabled")),
            secret_id=secret_id,
        )

    def payload(
        self, secret_id: str, *, version_id: str | None = None, stage: str | None = None
    ) -> str:
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
        resp, _ = self.transport.call(
            "get_secret_value",
            target=secret_id,
            write=True,
            action="secretsmanager:GetSecretValue",
            **kwargs,
        )
        if "SecretString" not in resp:
            raise KeyNotFoundError(f"secret {secret_id} has no string value in that version.")
        return str(resp["SecretString"])

    def pending_payload(self, state: SecretState, token: str) -> str | None:
        """The value put under ``token`` as AWSPENDING, or None when there is none yet."""
        if not state.has(token, PENDING):
            return None
        try:
            return self.payload(state.secret_id, version_id=token)
        except KeyNotFoundError:
            return None

    def put_pending(
        self,
        secret_id: str,
        token: str,
        payload: str,
        *,
        key: str | None = None,
        old_tag: str | None = None,
    ) -> None:
        """PutSecretValue with ``token`` as the version id, labelled AWSPENDING only; then the
        ``nbsecrets:fingerprint`` tag for it, of ``key`` (the key inside ``payload``; the payload
        itself when it is the key), keeping the newest entry of ``old_tag`` (the tag as the
        caller last described it; read with DescribeSecret when not given). A tag that cannot
        be written is a notice.

        Secrets Manager treats a repeated token with the same value as a no-op, so a retried
        step cannot create a second version.
        """
        self.transport.call(
            "put_secret_value",
            target=secret_id,
            write=True,
            action="secretsmanager:PutSecretValue",
            SecretId=secret_id,
            ClientRequestToken=token,
            SecretString=payload,
            VersionStages=[PENDING],
        )
        old = old_tag
        if old is None:
            desc, _ = self.transport.call(
                "describe_secret",
                target=secret_id,
                write=True,
                action="secretsmanager:DescribeSecret",
                SecretId=secret_id,
            )
            tags = desc.get("Tags", [])
            old = next((t.get("Value") for t in tags if t.get("Key") == fingerprint.TAG), "")
        entry = fingerprint.entry(payload if key is None else key, token)
        try:
            self.transport.call(
                "tag_resource",
                target=secret_id,
                write=True,
                action="secretsmanager:TagResource",
                SecretId=secret_id,
                Tags=[{"Key": fingerprint.TAG, "Value": fingerprint.tag_value(entry, old)}],
            )
        except NbSecretsError as err:
            self.transport.on_notice(
                f"{secret_id}: the new version is stored, but its {fingerprint.TAG} tag was not "
                f"written ({err.code or type(err).__name__}); `nbsecrets scan` will know this "
                "key by its format only."
            )

    def promote(self, state: SecretState, token: str) -> tuple[str | None, SecretState]:
        """Move AWSCURRENT to ``token``; the version it leaves becomes AWSPREVIOUS.

        Returns the version id that was current before (None if ``token`` already was) and the
        state after the move. AWSPENDING is taken off ``token`` afterwards, as Secrets Manager
        does.
        """
        current = state.holder(CURRENT)
        stages = move_current(self.transport, state.secret_id, state.stages, token)
        if PENDING in stages.get(token, ()):
            _move(self.transport, state.secret_id, PENDING, None, token)
            stages[token] = tuple(s for s in stages[token] if s != PENDING)
        self.cache.forget()
        return (current if current != token else None), replace(state, stages=stages)
