"""Secrets Manager's four rotation steps for provider keys, each safe to run again.

createSecret puts the new key (minted, or given by hand) as AWSPENDING under the request
token; setSecret has nothing to do (the provider already holds the key); testSecret proves the
pending key works at the provider; finishSecret moves AWSCURRENT to it. The old key becomes
AWSPREVIOUS and is revoked once its grace period has passed: at finishSecret when the grace is
0, else at the next step that runs after it (the next rotation's createSecret, or the
``revokePrevious`` event / ``nbsecrets rotate --revoke-previous``). AWSCURRENT moves only in
finishSecret, so it never points to a key that has not passed testSecret in this rotation.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone

from nbsecrets.aws.pending import PENDING, SecretState, Staging
from nbsecrets.aws.records import CURRENT, PREVIOUS
from nbsecrets.errors import ConfigError, KeyNotFoundError, NbSecretsError, SecretFormatError
from nbsecrets.providers import Registry
from nbsecrets.refs import KeyRef, extract_value, json_object
from nbsecrets.rotation.anthropic import Anthropic
from nbsecrets.rotation.base import Context, KeyProvider
from nbsecrets.rotation.openai import OpenAI

__all__ = ["PROVIDERS", "STEPS", "Rotation"]

log = logging.getLogger("nbsecrets.rotation")
PROVIDERS: dict[str, type[KeyProvider]] = {"openai": OpenAI, "anthropic": Anthropic}
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
# Fields holding a minted key's ids, of any provider: a new key's payload drops them.
_ID_PREFIXES = tuple(p.id_prefix for p in PROVIDERS.values() if p.id_prefix)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _fields(payload: str) -> dict[str, str]:
    """The string fields of a JSON payload, or {} for a raw key."""
    try:
        obj = json_object(payload) or {}
    except SecretFormatError:
        return {}
    return {k: v for k, v in obj.items() if isinstance(v, str)}


def _key(payload: str, provider: KeyProvider, name: str) -> str:
    """The key in a payload of the provider's secret ``name``."""
    return extract_value(payload, KeyRef(provider.name, Registry().get(provider.name), name), name)


def _compose(current: str, fields: dict[str, str], provider: KeyProvider, name: str) -> str:
    """The new payload: the current one's shape, with the key (and its ids) replaced."""
    value = fields["api_key"]
    if not current.lstrip().startswith("{"):
        return value if len(fields) == 1 else json.dumps(fields)
    obj = json_object(current) or {}
    key_field = next((f for f in ("api_key", provider.name) if isinstance(obj.get(f), str)), None)
    strings = [k for k, v in obj.items() if isinstance(v, str)]
    if key_field is None and len(strings) == 1:
        key_field = strings[0]
    if key_field is None or (len(fields) > 1 and key_field != "api_key"):
        raise SecretFormatError(
            f"{name}: rotation replaces the api_key field, and this secret's JSON has "
            'none; store the key as a raw string or as {"api_key": "..."} first.'
        )
    obj = {k: v for k, v in obj.items() if not k.startswith(_ID_PREFIXES)}
    obj.update(fields if key_field == "api_key" else {key_field: value})
    return json.dumps(obj)


class Rotation:
    """Runs the rotation steps on secrets through a :class:`Staging`.

    Each step reads the secret's state once (:meth:`Staging.state`: one DescribeSecret, and
    ListSecretVersionIds where the grace period needs the versions' dates) and hands it down as
    a :class:`Context`; only the values and the writes are further calls.

    Parameters
    ----------
    staging : Staging
        Secrets Manager calls (primary region).
    environ : mapping, optional
        Settings (default ``os.environ``): grace days, admin secret names, base URLs.
    now : callable, optional
        The clock used for the grace period (default: UTC now).
    grace_days : float, optional
        Overrides the grace period the secret's tag or the environment give.
    """

    def __init__(
        self,
        staging: Staging,
        *,
        environ: Mapping[str, str] | None = None,
        now: Callable[[], datetime] | None = None,
        grace_days: float | None = None,
    ):
        self.staging = staging
        self.grace_days = grace_days
        self.environ = os.environ if environ is None else environ
        self.now = now or _utcnow
        self.notes: list[str] = []

    def _note(self, line: str) -> None:
        log.info(line)
        self.notes.append(line)

    # -- what is rotated ----------------------------------------------------------------

    def context(self, secret_id: str, *, dates: bool = True) -> Context:
        """The secret's state, read once, with the staging calls and the settings."""
        return Context(self.staging.state(secret_id, dates=dates), self.staging, self.environ)

    def provider(self, ctx: Context) -> KeyProvider:
        """The provider of the secret: its ``nbsecrets:provider`` tag, else its last name part.

        Raises
        ------
        ConfigError
            If nbsecrets cannot test keys of that provider.
        """
        raw = ctx.secret.tags.get("nbsecrets:provider") or ctx.secret.name.rsplit("/", 1)[-1]
        try:
            name = Registry().get(raw).name
        except ConfigError:
            name = raw
        if name not in PROVIDERS:
            raise ConfigError(
                f"{ctx.secret.name}: nbsecrets rotates {' and '.join(PROVIDERS)} "
                f"keys, not {name}; store a new {name} key with `nbsecrets set`."
            )
        return PROVIDERS[name](self.environ)

    # -- the four steps -----------------------------------------------------------------

    def create(
        self, secret_id: str, token: str, value: str | None = None, *, ctx: Context | None = None
    ) -> None:
        """createSecret: put the new key as AWSPENDING under ``token`` (once).

        ``value`` is a key given by hand; without it the provider mints one. ``ctx`` is the
        secret as just read (with dates), when the caller has it.
        """
        ctx = ctx or self.context(secret_id)
        secret = ctx.secret
        if secret.has(token, CURRENT):
            return
        if self.staging.pending_payload(secret, token) is not None:
            self._note(f"{secret.name}: version {token} is already pending.")
            return
        current = self.staging.payload(secret_id, stage=CURRENT)
        provider = self.provider(ctx)
        _key(current, provider, secret.name)  # the current value must be readable
        if self._revoke_later_if_it_fails(ctx, provider, current=current) is None and secret.holder(
            PREVIOUS
        ) not in (None, secret.holder(CURRENT)):
            self._note(
                f"{secret.name}: the {PREVIOUS} key is still in its grace period; "
                "this rotation retires it unrevoked: revoke it by hand if it must go."
            )
        self._drop_stale_pending(ctx, provider, token)
        minted = value is None
        fields = provider.mint(ctx, token) if value is None else provider.typed(value)
        payload = _compose(current, fields, provider, secret.name)
        try:
            self.staging.put_pending(
                secret_id,
                token,
                payload,
                key=fields["api_key"],
                old_tag=secret.tags.get("nbsecrets:fingerprint", ""),
            )
        except NbSecretsError:
            if minted:  # a key no secret holds is of no use to anyone: take it back
                try:
                    provider.revoke(ctx, fields, fields["api_key"])
                except NbSecretsError as exc:
                    self._note(f"{secret.name}: could not revoke the unused new key: {exc}")
            raise
        self._note(f"{secret.name}: new {provider.name} key put as {PENDING} (version {token}).")

    def _drop_stale_pending(self, ctx: Context, provider: KeyProvider, token: str) -> None:
        """Revoke a minted key left AWSPENDING by an earlier rotation that did not finish."""
        secret = ctx.secret
        stale = secret.holder(PENDING)
        if not stale or stale == token or secret.has(stale, CURRENT):
            return
        payload = self.staging.pending_payload(secret, stale)
        fields = _fields(payload or "")
        if payload and provider.minted(fields):
            done = provider.revoke(ctx, fields, _key(payload, provider, secret.name))
            self._note(f"{secret.name}: unfinished rotation {stale}: {done}")

    def set(self, secret_id: str, token: str) -> None:
        """setSecret: the provider already holds the key; check that the version exists."""
        self._pending_or_current(self.staging.state(secret_id, dates=False), token)

    def _pending_or_current(self, secret: SecretState, token: str) -> str | None:
        """The pending value under ``token``; None when ``token`` is already AWSCURRENT.

        Raises
        ------
        KeyNotFoundError
            If ``token`` is neither.
        """
        payload = self.staging.pending_payload(secret, token)
        if payload is None and not secret.has(token, CURRENT):
            raise KeyNotFoundError(
                f"secret {secret.secret_id} has no {PENDING} version "
                f"{token}; run the rotation again from createSecret."
            )
        return payload

    def test(self, secret_id: str, token: str) -> None:
        """testSecret: the pending key must work at the provider (no tokens spent)."""
        ctx = self.context(secret_id, dates=False)
        payload = self._pending_or_current(ctx.secret, token)
        if payload is None:
            return  # already current: it passed this test before finishSecret moved it
        provider = self.provider(ctx)
        provider.test(_key(payload, provider, ctx.secret.name))
        self._note(f"{ctx.secret.name}: the new {provider.name} key works.")

    def finish(self, secret_id: str, token: str) -> None:
        """finishSecret: move AWSCURRENT to ``token``; revoke what the grace period allows."""
        ctx = self.context(secret_id)
        self._pending_or_current(ctx.secret, token)
        before, after = self.staging.promote(ctx.secret, token)
        if before:
            self._note(f"{secret_id}: version {token} is {CURRENT}; {before} is {PREVIOUS}.")
        self._revoke_later_if_it_fails(Context(after, self.staging, self.environ))

    def run(self, event: Mapping[str, str]) -> None:
        """Run the step an event from Secrets Manager names."""
        step, secret_id = event.get("Step"), event.get("SecretId")
        if not secret_id:
            raise ConfigError("the rotation event has no SecretId.")
        if step == "revokePrevious":
            self.revoke_previous(secret_id)
            return
        token = event.get("ClientRequestToken")
        if step not in STEPS or not token:
            raise ConfigError(
                f"unknown rotation step {step!r}; expected one of "
                f"{', '.join(STEPS)} with a ClientRequestToken."
            )
        if step == "createSecret":
            self.create(secret_id, token)
        elif step == "setSecret":
            self.set(secret_id, token)
        elif step == "testSecret":
            self.test(secret_id, token)
        else:
            self.finish(secret_id, token)

    # -- the old key --------------------------------------------------------------------

    def revoke_previous(self, secret_id: str, *, grace_days: float | None = None) -> str | None:
        """Revoke the AWSPREVIOUS key once its grace period has passed.

        The period starts when the AWSCURRENT version was created (the rotation that retired
        the old key). Returns what was done, or None when nothing was due.
        """
        return self._revoke_previous(self.context(secret_id), grace_days=grace_days)

    def _revoke_previous(
        self,
        ctx: Context,
        provider: KeyProvider | None = None,
        *,
        grace_days: float | None = None,
        current: str | None = None,
    ) -> str | None:
        """:meth:`revoke_previous` on the secret as read; ``current`` is its AWSCURRENT
        value when the caller has it already."""
        secret = ctx.secret
        prev, cur = secret.holder(PREVIOUS), secret.holder(CURRENT)
        since = secret.created.get(cur or "")
        if not prev or not cur or prev == cur or since is None:
            return None
        grace = grace_days if grace_days is not None else self.grace_days
        grace = ctx.grace_days() if grace is None else grace
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        if self.now() - since < timedelta(days=grace):
            return None
        provider = provider or self.provider(ctx)
        sid = secret.secret_id
        payload = self.staging.payload(sid, version_id=prev)
        old = _key(payload, provider, secret.name)
        if current is None:
            current = self.staging.payload(sid, version_id=cur)
        if old == _key(current, provider, secret.name):
            return None  # the same key stored twice: it is still in use
        done = provider.revoke(ctx, _fields(payload), old)
        self._note(f"{secret.name}: {done}")
        return done

    def _revoke_later_if_it_fails(
        self, ctx: Context, provider: KeyProvider | None = None, *, current: str | None = None
    ) -> str | None:
        """:meth:`revoke_previous`, but a provider that is down only postpones it."""
        try:
            return self._revoke_previous(ctx, provider, current=current)
        except NbSecretsError as exc:
            sid = ctx.secret.secret_id
            self._note(
                f"{sid}: the old key could not be revoked yet ({exc}); the daily "
                "revokePrevious event or `nbsecrets rotate --revoke-previous` retries."
            )
            log.warning("revocation postponed for %s", sid)
            return ""
