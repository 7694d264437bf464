"""Writes and versions: put a new value, list versions, roll back. Primary region only."""

from __future__ import annotations

import uuid
from typing import Any

from nbsecrets import fingerprint
from nbsecrets.aws.cache import Cache
from nbsecrets.aws.pending import holder, move_current, version_list
from nbsecrets.aws.records import CURRENT, PREVIOUS, SecretVersion, VersionInfo
from nbsecrets.aws.transport import Transport
from nbsecrets.errors import (
    AccessDeniedError,
    KeyNotFoundError,
    NbSecretsError,
    SecretFormatError,
)

__all__ = ["Writer"]


class Writer:
    """Stores keys and moves staging labels, through the transport; forgets what it changed.

    Parameters
    ----------
    transport : Transport
        Where requests go (writes: the primary region only).
    cache : Cache
        The store's one cache, which a write or a label move invalidates.
    """

    def __init__(self, transport: Transport, cache: Cache):
        self.transport = transport
        self.config = transport.config
        self.cache = cache

    # -- versions ------------------------------------------------------------------------

    def _stages(self, secret_id: str, *, primary: bool = False) -> dict[str, tuple[str, ...]]:
        """Version id -> staging labels, from DescribeSecret (which the read policy grants).

        ``primary`` reads the primary region only, as a write that follows must.
        """
        resp, _ = self.transport.call(
            "describe_secret",
            target=secret_id,
            write=primary,
            action="secretsmanager:DescribeSecret",
            SecretId=secret_id,
        )
        return {vid: tuple(st) for vid, st in resp.get("VersionIdsToStages", {}).items()}

    def versions(self, secret_id: str) -> list[VersionInfo]:
        """The versions of ``secret_id`` (ids, staging labels, dates; no values).

        AWSCURRENT comes first, then AWSPREVIOUS, then the rest, newest first. Dates and
        versions with no label come from ListSecretVersionIds; a role that is not granted it
        (the least-privilege policy is not) gets the labelled versions without dates.

        Raises
        ------
        KeyNotFoundError
            If the secret does not exist.
        """
        stages = self._stages(secret_id)
        try:
            out = [
                VersionInfo(
                    version_id=item.get("VersionId", ""),
                    stages=tuple(item.get("VersionStages", ())),
                    created=item.get("CreatedDate"),
                    last_accessed=item.get("LastAccessedDate"),
                )
                for item in version_list(self.transport, secret_id)
            ]
        except AccessDeniedError:
            out = [VersionInfo(vid, st, None) for vid, st in stages.items()]

        def order(v: VersionInfo) -> tuple[int, float]:
            rank = 0 if CURRENT in v.stages else 1 if PREVIOUS in v.stages else 2
            return rank, -(v.created.timestamp() if v.created else 0.0)

        return sorted(out, key=order)

    def rollback(self, secret_id: str) -> tuple[str, str]:
        """Move AWSCURRENT back to the AWSPREVIOUS version of ``secret_id``.

        The version that was current becomes AWSPREVIOUS, so a second rollback undoes the
        first. Uses DescribeSecret and UpdateSecretVersionStage, in the primary region only
        (replicas are read-only).

        Returns
        -------
        tuple[str, str]
            The version id now current, and the one that was current before (now AWSPREVIOUS).

        Raises
        ------
        KeyNotFoundError
            If the secret does not exist or has no AWSPREVIOUS version.
        """
        stages = self._stages(secret_id, primary=True)
        current, previous = holder(stages, CURRENT), holder(stages, PREVIOUS)
        if current is None or previous is None:
            raise KeyNotFoundError(
                f"secret {secret_id} has no {PREVIOUS} version to roll back to; see "
                f"`nbsecrets versions {secret_id}`.",
                secret_id=secret_id,
                version=PREVIOUS,
            )
        move_current(self.transport, secret_id, stages, previous)
        self.cache.forget()  # the id may be a name or an ARN; cached entries may use either
        return previous, current

    # -- writes --------------------------------------------------------------------------

    def _create_or_put(self, provider: str, sid: str, value: str) -> tuple[Any, str]:
        """CreateSecret first: a policy granting "{prefix}{provider}-??????" cannot match a
        secret that does not exist yet, so PutSecretValue on it would be AccessDenied. On
        ResourceExistsException, add a version.

        The version id is chosen here (``ClientRequestToken``), so the fingerprint tag
        (:mod:`nbsecrets.fingerprint`) names it: in CreateSecret's own tags, or by a
        TagResource after the put."""
        kms = self.config.kms_key_id
        extra: dict[str, Any] = {"KmsKeyId": kms} if kms else {}
        token = str(uuid.uuid4())
        entry = fingerprint.entry(value, token)
        try:
            return self.transport.call(
                "create_secret",
                target=sid,
                action="secretsmanager:CreateSecret",
                write=True,
                Name=sid,
                SecretString=value,
                ClientRequestToken=token,
                Description=f"{provider} API key, managed by nbsecrets",
                Tags=[
                    {"Key": "nbsecrets:provider", "Value": provider},
                    {"Key": "nbsecrets:managed", "Value": "true"},
                    {"Key": fingerprint.TAG, "Value": fingerprint.tag_value(entry)},
                ],
                **extra,
            )
        except NbSecretsError as err:
            if err.code != "ResourceExistsException":
                raise
        return self._put_and_tag(sid, value, token, entry)

    def _put_and_tag(
        self, sid: str, value: str, token: str, entry: fingerprint.Entry
    ) -> tuple[Any, str]:
        """PutSecretValue as version ``token``, then the fingerprint tag naming it."""
        old = self.fingerprint_tag(sid)
        out = self.transport.call(
            "put_secret_value",
            target=sid,
            action="secretsmanager:PutSecretValue",
            write=True,
            SecretId=sid,
            SecretString=value,
            ClientRequestToken=token,
        )
        self.tag_fingerprint(sid, fingerprint.tag_value(entry, old))
        return out

    def fingerprint_tag(self, sid: str) -> str | None:
        """The secret's ``nbsecrets:fingerprint`` tag now (DescribeSecret), or None."""
        try:
            resp, _ = self.transport.call(
                "describe_secret",
                target=sid,
                write=True,
                action="secretsmanager:DescribeSecret",
                SecretId=sid,
            )
        except NbSecretsError:
            return None
        tags = resp.get("Tags", [])
        return next((t.get("Value") for t in tags if t.get("Key") == fingerprint.TAG), None)

    def tag_fingerprint(self, sid: str, tag: str) -> None:
        """Write the fingerprint tag; a failure is a notice (the value is stored already)."""
        try:
            self.transport.call(
                "tag_resource",
                target=sid,
                write=True,
                action="secretsmanager:TagResource",
                SecretId=sid,
                Tags=[{"Key": fingerprint.TAG, "Value": tag}],
            )
        except NbSecretsError as err:
            self.transport.on_notice(
                f"{sid}: the key is stored, but its {fingerprint.TAG} tag was not written "
                f"({err.code or type(err).__name__}); `nbsecrets scan` will know this key by "
                "its format only (the policy of `nbsecrets policy --allow-write` allows it)."
            )

    def put(self, provider: str, value: str) -> SecretVersion:
        """Store ``value`` as the new current version of ``{prefix}{provider}``.

        Creates the secret (CreateSecret first), tagged ``nbsecrets:provider`` and
        ``nbsecrets:managed`` and encrypted with ``NBSECRETS_KMS_KEY_ID`` when set, or adds a
        version when it exists (ResourceExistsException).

        Raises
        ------
        SecretFormatError
            If the value is empty or has surrounding whitespace.
        """
        if not value:
            raise SecretFormatError(
                f"{provider}: the value is empty; nothing was stored.", reason="value", key=provider
            )
        if value != value.strip():
            raise SecretFormatError(
                f"{provider}: the value has spaces or newlines around it; nothing was stored. "
                "Paste the key alone.",
                reason="value",
                key=provider,
            )
        sid = f"{self.config.prefix}{provider}"
        if sid.startswith("arn:"):  # an ARN prefix: the keys are held in another account
            token = str(uuid.uuid4())
            try:
                resp, region = self._put_and_tag(sid, value, token, fingerprint.entry(value, token))
            except KeyNotFoundError as err:
                raise err.reworded(
                    f"secret {sid} does not exist, and a secret cannot be created by ARN; an "
                    "admin of the account that holds the keys creates it, then this adds "
                    "versions.",
                    key=provider,
                ) from None
        else:
            resp, region = self._create_or_put(provider, sid, value)
        self.cache.forget(sid)
        return SecretVersion(
            name=resp.get("Name", sid),
            arn=resp.get("ARN", ""),
            version_id=resp.get("VersionId", ""),
            stages=(CURRENT,),
            created=None,
            region=region,
            payload="",
        )
