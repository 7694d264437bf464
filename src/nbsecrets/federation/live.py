"""Federated providers in this process: getting their tokens, all or nothing, and keeping them
fresh in the background.

:func:`prepare` does every request a federated load needs (one STS GetWebIdentityToken per
provider; for OpenAI also the exchange; for Anthropic the token file in a new private
directory) and changes nothing the user can see; :meth:`Pending.discard` undoes it (removes
the file) when another provider of the same load failed. :func:`commit` then sets and unsets
the variables and starts one refresher thread per provider:

- OpenAI: a new JWT and exchange before the access token expires (a third of its lifetime,
  at most 5 minutes, before the ``expires_in`` the server gave), so ``OPENAI_API_KEY`` always
  holds a live token for clients created later.
- Anthropic: a new JWT in the file every fifth of the JWT's lifetime (at most every 60 s), so
  the SDK, which re-reads the file at each exchange, finds a young, unused JWT (Anthropic's
  issuers refuse a ``jti`` seen before).

A refresh that fails keeps the current token, retries with backoff, and leaves a notice (the
next ``%aikey`` prints it). If the user replaced or removed a variable, the refresher stops.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nbsecrets.aws.identity import IdentityToken, _claims, web_identity_token
from nbsecrets.errors import ConfigError, FederationError, NbSecretsError
from nbsecrets.federation.exchange import exchange_openai
from nbsecrets.federation.settings import Federation
from nbsecrets.federation.tokenfile import TokenFile

__all__ = [
    "ANTHROPIC_SHADOWS",
    "ANTHROPIC_VARS",
    "Live",
    "Pending",
    "commit",
    "live",
    "prepare",
    "stop",
    "subject_claims",
]

ANTHROPIC_VARS = (
    "ANTHROPIC_FEDERATION_RULE_ID",
    "ANTHROPIC_ORGANIZATION_ID",
    "ANTHROPIC_SERVICE_ACCOUNT_ID",
    "ANTHROPIC_WORKSPACE_ID",
    "ANTHROPIC_IDENTITY_TOKEN_FILE",
)
# Variables the anthropic SDK prefers over federation: a load removes them.
ANTHROPIC_SHADOWS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_PROFILE",
    "ANTHROPIC_IDENTITY_TOKEN",
)
# Ids, a path and a profile name: what these held before is no secret to keep redacted.
_NOT_SECRET = frozenset((*ANTHROPIC_VARS, "ANTHROPIC_PROFILE"))
OPENAI_LEAD_MAX_S = 300.0
ANTHROPIC_PERIOD_MAX_S = 60.0
MIN_WAIT_S = 1.0
RETRY_MAX_S = 30.0

_lock = threading.RLock()
_live: dict[str, Live] = {}


def subject_claims(jwt: str) -> dict[str, Any]:
    """The claims of a JWT we were just given by STS (not verified: we only read our own)."""
    return _claims(jwt)


def _rule_for(fed: Federation, jwt: IdentityToken, label: str) -> str:
    """The Anthropic rule id: the one rule, or the rule for the token's SourceIdentity (a
    Studio user profile, per-user rules) or for its role (``sub``, several roles)."""
    if not fed.rules_by_user:
        return fed.ids["federation_rule_id"]
    claims = subject_claims(jwt.value)
    aws = claims.get("https://sts.amazonaws.com/") or {}
    user = aws.get("source_identity") if isinstance(aws, dict) else None
    for key in (user, claims.get("sub")):
        if isinstance(key, str) and key in fed.rules_by_user:
            return fed.rules_by_user[key]
    if fed.ids.get("federation_rule_id"):
        return fed.ids["federation_rule_id"]
    who = f"user profile {user}" if user else f"role {claims.get('sub', '?')}"
    raise FederationError(
        f"{label}: the federation settings have no rule for {who}; nothing was changed; an "
        f"admin adds one with `nbsecrets federate anthropic --role ROLE"
        f"{' --per-user ' + user if user else ''} ...` (Studio sets SourceIdentity only when "
        "the domain's ExecutionRoleIdentityConfig is USER_PROFILE_NAME).",
        step="settings",
        key=label,
    )


@dataclass
class Live:
    """One federated provider of this process and its refresher."""

    label: str
    fed: Federation
    transport: Any
    env_vars: tuple[str, ...]
    valid_until: float
    current: str = field(repr=False)  # what the variable holds (OpenAI) / the file (Anthropic)
    file: TokenFile | None = None
    on_notice: Callable[[str], None] = lambda message: None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    refreshes: int = 0

    def start(self, first_due: float) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(first_due,), daemon=True, name=f"nbsecrets-{self.label}-refresh"
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.file is not None:
            self.file.remove()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _run(self, due: float) -> None:
        failing = False
        while not self._stop.wait(max(0.0, due - time.time())):
            try:
                due = self.refresh()
                if failing:
                    self.on_notice(f"{self.label}: refreshing the federated token works again.")
                failing = False
            except NbSecretsError as exc:
                left = self.valid_until - time.time()
                due = time.time() + (
                    max(MIN_WAIT_S, min(RETRY_MAX_S, left / 4)) if left > 0 else RETRY_MAX_S
                )
                if not failing:
                    until = _hhmm(self.valid_until)
                    self.on_notice(
                        f"{exc} Retrying in the background; the current token is "
                        f"valid until {until}."
                    )
                failing = True
            except Exception as exc:  # a refresher must not die silently
                self.on_notice(
                    f"{self.label}: the token refresher stopped "
                    f"({type(exc).__name__}); load {self.label} again."
                )
                return

    def refresh(self) -> float:
        """Get a new token now; return when the next refresh is due (epoch seconds)."""
        jwt = web_identity_token(
            self.transport,
            label=self.label,
            audience=self.fed.audience,
            duration_s=self.fed.duration_s,
        )
        if self.fed.provider == "openai":
            token = exchange_openai(self.fed, jwt, self.label)
            with _lock:
                if self.stopped:
                    return time.time()
                if any(os.environ.get(v) != self.current for v in self.env_vars):
                    self.on_notice(
                        f"{self.label}: {', '.join(self.env_vars)} changed since "
                        "the load, so the federated token is no longer refreshed."
                    )
                    self._stop.set()
                    return time.time()
                for var in self.env_vars:
                    os.environ[var] = token.value
                self.current, self.valid_until = token.value, token.expires_at
                self.refreshes += 1
            return _openai_due(token.expires_at)
        assert self.file is not None
        with _lock:
            if self.stopped:
                return time.time()
            self.file.write(jwt.value)
            self.current, self.valid_until = jwt.value, jwt.expires_at
            self.refreshes += 1
        return _anthropic_due(jwt)


def _openai_due(expires_at: float) -> float:
    now = time.time()
    life = expires_at - now
    return max(now + MIN_WAIT_S * 0.5, expires_at - min(life / 3, OPENAI_LEAD_MAX_S))


def _anthropic_due(jwt: IdentityToken) -> float:
    life = jwt.expires_at - jwt.issued_at
    return jwt.issued_at + max(MIN_WAIT_S, min(ANTHROPIC_PERIOD_MAX_S, life / 5))


def _hhmm(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M")


@dataclass
class Pending:
    """A federated provider ready to commit: what to set and unset, and its refresher."""

    live: Live
    set_env: dict[str, str] = field(repr=False)
    unset_env: tuple[str, ...]
    first_due: float

    def discard(self) -> None:
        """Undo :func:`prepare` (remove the token file); nothing else was changed."""
        if self.live.file is not None:
            self.live.file.remove()


def prepare(
    label: str,
    fed: Federation,
    transport: Any,
    *,
    env: str | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> Pending:
    """Get ``label``'s tokens (STS, and OpenAI's exchange), changing no variable.

    Parameters
    ----------
    env : str, optional
        OpenAI only: the variable to set instead of OPENAI_API_KEY (``--env``).

    Raises
    ------
    FederationError
        Naming the step that failed; then nothing was changed and no file is left.
    """
    notice = on_notice or (lambda message: None)
    jwt = web_identity_token(
        transport, label=label, audience=fed.audience, duration_s=fed.duration_s
    )
    if fed.provider == "openai":
        token = exchange_openai(fed, jwt, label)
        var = env or "OPENAI_API_KEY"
        live = Live(label, fed, transport, (var,), token.expires_at, token.value, on_notice=notice)
        return Pending(live, {var: token.value}, (), _openai_due(token.expires_at))
    if env is not None:
        raise ConfigError(
            f"{label} is federated: the anthropic SDK reads its settings from "
            f"{', '.join(ANTHROPIC_VARS)}, so --env does not apply; drop it."
        )
    rule = _rule_for(fed, jwt, label)
    file = TokenFile(label)
    try:
        file.write(jwt.value)
    except FederationError:
        file.remove()
        raise
    values = {
        "ANTHROPIC_FEDERATION_RULE_ID": rule,
        "ANTHROPIC_ORGANIZATION_ID": fed.ids["organization_id"],
        "ANTHROPIC_SERVICE_ACCOUNT_ID": fed.ids["service_account_id"],
        "ANTHROPIC_WORKSPACE_ID": fed.ids.get("workspace_id", ""),
        "ANTHROPIC_IDENTITY_TOKEN_FILE": str(file.path),
    }
    if not values["ANTHROPIC_WORKSPACE_ID"]:
        del values["ANTHROPIC_WORKSPACE_ID"]
    unset = ANTHROPIC_SHADOWS + (
        () if "ANTHROPIC_WORKSPACE_ID" in values else ("ANTHROPIC_WORKSPACE_ID",)
    )
    live = Live(
        label, fed, transport, tuple(values), jwt.expires_at, jwt.value, file=file, on_notice=notice
    )
    return Pending(live, values, unset, _anthropic_due(jwt))


def commit(pending: Sequence[Pending]) -> list[tuple[str, str]]:
    """Set the variables of ``pending`` and start their refreshers; stop the ones they replace.

    Returns
    -------
    list[tuple[str, str]]
        Each provider and a value its variables held before that is now overwritten or
        removed (the caller keeps them redacted: an old key is likely one).
    """
    old_values: list[tuple[str, str]] = []
    with _lock:
        for p in pending:
            stop(p.live.label)
            for var in (*p.set_env, *p.unset_env):
                old = os.environ.get(var)
                if old and old != p.set_env.get(var) and var not in _NOT_SECRET:
                    old_values.append((p.live.label, old))
            for var in p.unset_env:
                os.environ.pop(var, None)
            os.environ.update(p.set_env)
            _live[p.live.label] = p.live
            p.live.start(p.first_due)
    return old_values


def stop(label: str) -> Live | None:
    """Stop ``label``'s refresher and remove its token file (its variables are the caller's)."""
    with _lock:
        found = _live.pop(label, None)
    if found is not None:
        found.stop()
    return found


def live(label: str) -> Live | None:
    """The federated provider ``label`` of this process, while its refresher runs."""
    with _lock:
        found = _live.get(label)
        return found if found is not None and not found.stopped else None
