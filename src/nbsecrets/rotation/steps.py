"""Secrets Manager's four rotation steps for provider keys, each safe to run again.

createSecret puts the new key (minted, or given by hand) as AWSPENDING under the request
token; setSecret has nothing to do (the provider already holds the key); testSecret proves the
pending key works at the provider; finishSecret moves AWSCURRENT to it. AWSCURRENT moves only
in finishSecret, so it never points to a key that has not passed testSecret in this rotation.

What rotation trusts: its settings come from the admin only
(:mod:`nbsecrets.rotation.settings`); what it revokes, and when, from its ledger under
``nbsecrets-admin/minted/`` only (:mod:`nbsecrets.rotation.ledger`). Every key it mints is
recorded there before the provider is asked for it; finishSecret marks the keys it replaces
retired, and a retired key is revoked once the grace period since then has passed: at
finishSecret when the grace is 0, else at the next step that runs after it (the next
rotation's createSecret, or the ``revokePrevious`` event / ``nbsecrets rotate
--revoke-previous``), after the provider's admin API confirms the recorded id is still that
key in the configured project. The secret's tags, descriptions, version stages and payloads,
which a notebook role may write, decide none of this; a payload naming ids rotation did not
record is left alone with a warning that names the secret and version (never a value).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timezone

from nbsecrets.aws.admin_records import AdminRecords
from nbsecrets.aws.pending import PENDING, SecretState, Staging
from nbsecrets.aws.records import CURRENT, PREVIOUS
from nbsecrets.errors import ConfigError, KeyNotFoundError, NbSecretsError, SecretFormatError
from nbsecrets.providers import Registry
from nbsecrets.refs import KeyRef, extract_value, json_object
from nbsecrets.rotation.anthropic import Anthropic
from nbsecrets.rotation.base import Context, KeyProvider
from nbsecrets.rotation.ledger import Ledger, Minted, stamp
from nbsecrets.rotation.openai import OpenAI
from nbsecrets.rotation.settings import LEDGER_PREFIX, resolve

__all__ = ["PROVIDERS", "STEPS", "Rotation"]

log = logging.getLogger("nbsecrets.rotation")
PROVIDERS: dict[str, type[KeyProvider]] = {"openai": OpenAI, "anthropic": Anthropic}
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
# Fields holding a minted key's ids, of any provider: a new key's payload drops them.
_ID_PREFIXES = tuple(p.id_prefix for p in PROVIDERS.values() if p.id_prefix)
_ID_FIELDS = {
    "openai_service_account_id": "service_account_id",
    "openai_key_id": "key_id",
    "openai_project_id": "project",
}


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

    Parameters
    ----------
    staging : Staging
        Secrets Manager calls (primary region).
    records : AdminRecords, optional
        Reads and writes under ``nbsecrets-admin/`` (default: through the staging's transport).
    environ : mapping, optional
        The admin's environment (default ``os.environ``): settings, admin secret names, base
        URLs.
    now : callable, optional
        The clock used for the grace period (default: UTC now).
    grace_days : float, optional
        Overrides the grace period of the settings (``nbsecrets rotate --grace-days``).
    provider : str, optional
        The provider an admin named on the command line.
    """

    def __init__(
        self,
        staging: Staging,
        *,
        records: AdminRecords | None = None,
        environ: Mapping[str, str] | None = None,
        now: Callable[[], datetime] | None = None,
        grace_days: float | None = None,
        provider: str | None = None,
    ):
        self.staging = staging
        self.records = records or AdminRecords(staging.transport)
        self.grace_days = grace_days
        self.provider_name = provider
        self.environ = os.environ if environ is None else environ
        self.now = now or _utcnow
        self.notes: list[str] = []

    def _note(self, line: str) -> None:
        log.info(line)
        self.notes.append(line)

    def _warn(self, line: str) -> None:
        log.warning(line)
        self.notes.append(line)

    # -- what is rotated ----------------------------------------------------------------

    def context(self, secret_id: str) -> Context:
        """The secret's state, read once (no version dates: the ledger keeps the times), and
        the admin's settings for it.

        Raises
        ------
        ConfigError
            If a setting is malformed (one sentence naming where it came from).
        """
        state = self.staging.state(secret_id, dates=False)
        settings = resolve(
            state.name,
            self.records.read,
            environ=self.environ,
            provider=self.provider_name,
            grace_override=self.grace_days,
        )
        return Context(state, self.staging, settings, self.environ)

    def provider(self, ctx: Context) -> KeyProvider:
        """The provider the admin's settings name (never the secret's tags)."""
        return PROVIDERS[ctx.settings.provider](self.environ)

    # -- the ledger ---------------------------------------------------------------------

    def _ledger_name(self, ctx: Context) -> str:
        return f"{LEDGER_PREFIX}{ctx.secret.name}"

    def ledger(self, ctx: Context) -> Ledger:
        """The keys rotation recorded for the secret.

        Raises
        ------
        ConfigError
            If the record is not one nbsecrets wrote.
        """
        name = self._ledger_name(ctx)
        return Ledger.parse(self.records.read(name), ctx.secret.name, name)

    def _save(self, ctx: Context, ledger: Ledger) -> None:
        """Write ``ledger``, merged with what another run may have written meanwhile."""
        merged = ledger.merge(self.ledger(ctx))
        self.records.write(
            self._ledger_name(ctx),
            merged.text(),
            description=(
                f"nbsecrets rotation: the keys rotation put into {ctx.secret.name} (ids, no "
                "values). Written by the rotation role only."
            ),
        )
        ledger.entries = merged.entries

    # -- the four steps -----------------------------------------------------------------

    def create(
        self, secret_id: str, token: str, value: str | None = None, *, ctx: Context | None = None
    ) -> None:
        """createSecret: put the new key as AWSPENDING under ``token`` (once).

        ``value`` is a key given by hand; without it the provider mints one. ``ctx`` is the
        secret as just read, when the caller has it.
        """
        ctx = ctx or self.context(secret_id)
        if ctx.secret.has(token, CURRENT):
            return
        if self.staging.pending_payload(ctx.secret, token) is not None:
            self._note(f"{ctx.secret.name}: version {token} is already pending.")
            return
        current = self.staging.payload(secret_id, stage=CURRENT)
        provider = self.provider(ctx)
        _key(current, provider, ctx.secret.name)  # the current value must be readable
        typed = None if value is None else provider.typed(value)
        ledger = self.ledger(ctx)
        if ledger.abandon_others(token, self.now()):
            self._save(ctx, ledger)  # an unfinished earlier rotation: its key is revoked now
        self._revoke_later_if_it_fails(ctx, provider)
        ledger = self.ledger(ctx)
        if any(e.state in ("retired", "abandoned") for e in ledger.entries):
            self._note(
                f"{ctx.secret.name}: an earlier key is still in its grace period; it is "
                "revoked once that has passed (the daily revokePrevious event)."
            )
        if typed is None:
            fields, entry = self._mint(ctx, provider, ledger, token)
            minted = True
        else:
            fields, minted = typed, False
            blank = Minted(
                provider=provider.name,
                project="",
                secret=ctx.secret.name,
                version=token,
                state="pending",
                minted_at=stamp(self.now()),
            )
            entry, why = provider.identify(ctx, typed["api_key"], blank)
            if why:
                self._note(f"{ctx.secret.name}: {why}.")
            if entry.key_id or entry.service_account_id:
                ledger.put(entry)
                self._save(ctx, ledger)
        payload = _compose(current, fields, provider, ctx.secret.name)
        try:
            self.staging.put_pending(
                secret_id,
                token,
                payload,
                key=fields["api_key"],
                old_tag=ctx.secret.tags.get("nbsecrets:fingerprint", ""),
            )
        except NbSecretsError:
            if minted:  # a key no secret holds is of no use to anyone: take it back
                self._take_back(ctx, provider, ledger, entry)
            raise
        self._note(
            f"{ctx.secret.name}: new {provider.name} key put as {PENDING} (version {token})."
        )

    def _mint(
        self, ctx: Context, provider: KeyProvider, ledger: Ledger, token: str
    ) -> tuple[dict[str, str], Minted]:
        """Record the intent, mint, record the ids; a key that cannot be recorded is revoked."""
        earlier = next(
            (
                e
                for e in ledger.of_version(token)
                if e.provider == provider.name and e.state == "minting"
            ),
            None,
        )
        if earlier is not None:  # a crashed try of this step: its orphan goes first
            provider.drop_orphans(ctx, earlier)
            entry = earlier
        else:
            entry = provider.intent(ctx, token)
            ledger.put(entry)
            self._save(ctx, ledger)  # before the key exists: only admins may write this
        fields, entry = provider.mint(ctx, entry)
        ledger.put(entry)
        try:
            self._save(ctx, ledger)
        except NbSecretsError:
            self._take_back(ctx, provider, ledger, entry, save=False)
            raise
        return fields, entry

    def _take_back(
        self,
        ctx: Context,
        provider: KeyProvider,
        ledger: Ledger,
        entry: Minted,
        *,
        save: bool = True,
    ) -> None:
        try:
            provider.revoke(ctx, entry)
        except NbSecretsError as exc:
            self._note(f"{ctx.secret.name}: could not revoke the unused new key: {exc}")
            return
        if save:
            ledger.put(replace(entry, state="revoked", revoked_at=stamp(self.now())))
            try:
                self._save(ctx, ledger)
            except NbSecretsError as exc:
                self._note(
                    f"{ctx.secret.name}: the unused new key was revoked but the record "
                    f"could not be updated: {exc}"
                )

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
        ctx = self.context(secret_id)
        payload = self._pending_or_current(ctx.secret, token)
        if payload is None:
            return  # already current: it passed this test before finishSecret moved it
        provider = self.provider(ctx)
        provider.test(_key(payload, provider, ctx.secret.name))
        self._note(f"{ctx.secret.name}: the new {provider.name} key works.")

    def finish(self, secret_id: str, token: str) -> None:
        """finishSecret: move AWSCURRENT to ``token``; the keys it replaces are retired (and
        revoked now if the grace period is 0)."""
        ctx = self.context(secret_id)
        self._pending_or_current(ctx.secret, token)
        before, after = self.staging.promote(ctx.secret, token)
        ledger = self.ledger(ctx)
        if ledger.promote(token, self.now()):
            self._save(ctx, ledger)
        if before:
            self._note(f"{secret_id}: version {token} is {CURRENT}; {before} is {PREVIOUS}.")
            if not ledger.of_version(before):
                self._note(
                    f"{ctx.secret.name}: the key of version {before} was not put there "
                    "by rotation, so rotation leaves it alone; revoke it at the provider "
                    "by hand if it must go."
                )
        self._revoke_later_if_it_fails(replace(ctx, secret=after))

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

    # -- the old keys -------------------------------------------------------------------

    def revoke_previous(self, secret_id: str) -> str | None:
        """Revoke every recorded key whose time has come: retired ones once the grace period
        since their retirement has passed, abandoned ones at once.

        Each is revoked only after the provider's admin API confirms that its recorded id is
        still that key in the configured project. Returns what was revoked, or None.

        Raises
        ------
        ConfigError
            If the admin's settings for the secret are malformed.
        """
        return self._revoke_due(self.context(secret_id))

    def _revoke_due(self, ctx: Context, provider: KeyProvider | None = None) -> str | None:
        provider = provider or self.provider(ctx)
        ledger = self.ledger(ctx)
        self._check_payloads(ctx, ledger)
        now, grace, done, changed = self.now(), ctx.settings.grace_days, [], False
        try:
            for entry in [e for e in ledger.entries if e.due(now, grace)]:
                line = self._revoke_one(ctx, provider, entry)
                if line is None:
                    continue
                ledger.put(replace(entry, state="revoked", revoked_at=stamp(now)))
                changed = True
                done.append(line)
                self._note(f"{ctx.secret.name}: {line}")
        finally:
            if changed:
                self._save(ctx, ledger)
        return " ".join(done) or None

    def _revoke_one(self, ctx: Context, provider: KeyProvider, entry: Minted) -> str | None:
        """Revoke one due entry; None when it is left alone (and said why)."""
        where = f"{ctx.secret.name}: the recorded {entry.label} (version {entry.version})"
        if entry.provider != provider.name:
            self._warn(
                f"{where} is a {entry.provider} key, and the secret is now rotated as "
                f"{provider.name}; it is left alone: revoke it by hand."
            )
            return None
        if not (entry.service_account_id or entry.key_id):
            if entry.state == "abandoned" and entry.name:  # minted, never recorded: by name
                provider.drop_orphans(ctx, replace(entry, state="minting"))
                return f"unfinished rotation {entry.version}: its {entry.name} was removed."
            return None
        verdict = provider.verify(ctx, entry)
        if verdict.gone:
            return f"old {provider.name} {entry.label} already gone ({verdict.why})."
        if not verdict.revoke:
            self._warn(f"{where} was left alone: {verdict.why}.")
            return None
        return provider.revoke(ctx, entry)

    def _check_payloads(self, ctx: Context, ledger: Ledger) -> None:
        """Warn about AWSPREVIOUS / AWSPENDING payloads that name ids rotation did not record
        for that version (a notebook can write them); such ids are never used."""
        for stage in (PREVIOUS, PENDING):
            version = ctx.secret.holder(stage)
            if not version or ctx.secret.has(version, CURRENT):
                continue
            try:
                fields = _fields(self.staging.payload(ctx.secret.secret_id, version_id=version))
            except NbSecretsError:
                continue
            named = {attr: fields[f] for f, attr in _ID_FIELDS.items() if fields.get(f)}
            if not named:
                continue
            entries = ledger.of_version(version)
            if not any(all(getattr(e, attr) == v for attr, v in named.items()) for e in entries):
                self._warn(
                    f"{ctx.secret.name}: version {version} ({stage}) names a "
                    f"{' and '.join(sorted(named))} that rotation did not record for "
                    "it; that is left alone."
                )

    def _revoke_later_if_it_fails(
        self, ctx: Context, provider: KeyProvider | None = None
    ) -> str | None:
        """:meth:`revoke_previous`, but a provider that is down only postpones it (bad
        settings still fail the step)."""
        try:
            return self._revoke_due(ctx, provider)
        except ConfigError:
            raise
        except NbSecretsError as exc:
            secret_id = ctx.secret.secret_id
            self._note(
                f"{secret_id}: the old key could not be revoked yet ({exc}); the daily "
                "revokePrevious event or `nbsecrets rotate --revoke-previous` retries."
            )
            log.warning("revocation postponed for %s", secret_id)
            return ""
