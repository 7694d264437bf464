"""The record of every key rotation put into a secret, kept where only admins write.

One JSON document per rotated secret, the secret ``nbsecrets-admin/minted/<secret name>``,
written by the rotation role (and admins running ``nbsecrets rotate``); no notebook policy
grants anything under ``nbsecrets-admin/``. Each entry is one key: its provider, project (or
workspace), ids, the provider's masked hint, and the version of the secret that holds it. An
entry is written *before* the key is minted (state ``minting``, so a crash leaves a name to
clean up) and updated as the key moves on:

``minting`` -> ``pending`` -> ``current`` -> ``retired`` (a later rotation promoted another
key; revoked once the grace period since then has passed) -> ``revoked``. A ``pending`` key
that a later rotation supersedes before it was promoted becomes ``abandoned`` and is revoked
at once. Rotation revokes only keys listed here, and decides when from these dates only: the
secret's version stages and payloads, which a notebook can write, decide nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone

from nbsecrets.errors import ConfigError

__all__ = ["STATES", "Ledger", "Minted"]

STATES = ("minting", "pending", "current", "retired", "abandoned", "revoked")
_RANK = {"minting": 0, "pending": 1, "current": 2, "retired": 3, "abandoned": 3, "revoked": 4}
KEEP_REVOKED = 20  # revoked entries kept for the record; older ones are dropped


def _now_text(now: datetime) -> str:
    return now.astimezone(timezone.utc).isoformat(timespec="seconds")


def _parse_time(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Minted:
    """One key rotation put into the secret (never its value)."""

    provider: str
    project: str  # OpenAI project id; Anthropic workspace id ("" for the default workspace)
    secret: str
    version: str
    state: str = "minting"
    name: str = ""  # the OpenAI service account's name (finds a crashed step's orphan)
    service_account_id: str = ""
    key_id: str = ""
    hint: str = ""  # the provider's own masked form (redacted_value / partial_key_hint)
    minted_at: str = ""
    retired_at: str = ""
    revoked_at: str = ""

    @property
    def label(self) -> str:
        """What the provider calls it, for messages: never the key."""
        if self.service_account_id:
            return f"service account {self.service_account_id}"
        return f"key {self.key_id}" if self.key_id else f"the key of version {self.version}"

    def due(self, now: datetime, grace_days: float) -> bool:
        """True when the key should be revoked now."""
        if self.state == "abandoned":
            return True
        if self.state != "retired":
            return False
        since = _parse_time(self.retired_at)
        return since is not None and now - since >= timedelta(days=grace_days)


@dataclass
class Ledger:
    """The entries of one secret; :meth:`text` is what is stored."""

    secret: str
    entries: list[Minted] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str | None, secret: str, where: str) -> Ledger:
        """The ledger stored as ``text`` (None: none yet).

        Raises
        ------
        ConfigError
            If the stored document is not a ledger (an admin must fix or delete it).
        """
        if text is None:
            return cls(secret)
        try:
            obj = json.loads(text)
            known = {f.name for f in fields(Minted)}
            entries = [
                Minted(**{k: str(v) for k, v in e.items() if k in known}) for e in obj["keys"]
            ]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ConfigError(
                f"the rotation record {where} is not one nbsecrets wrote; restore "
                "an earlier version of it or delete it."
            ) from None
        if any(e.state not in STATES or e.secret != secret for e in entries):
            raise ConfigError(
                f"the rotation record {where} holds entries of another secret or "
                "of an unknown state; restore an earlier version of it."
            )
        return cls(secret, entries)

    def text(self) -> str:
        revoked = [e for e in self.entries if e.state == "revoked"]
        drop = {id(e) for e in revoked[:-KEEP_REVOKED]} if len(revoked) > KEEP_REVOKED else set()
        keep = [asdict(e) for e in self.entries if id(e) not in drop]
        return json.dumps({"secret": self.secret, "keys": keep}, indent=1, sort_keys=True)

    def of_version(self, version: str) -> list[Minted]:
        return [e for e in self.entries if e.version == version]

    def put(self, entry: Minted) -> None:
        """Add ``entry``, or replace the entry of the same version and provider."""
        for i, e in enumerate(self.entries):
            if e.version == entry.version and e.provider == entry.provider:
                self.entries[i] = entry
                return
        self.entries.append(entry)

    def promote(self, version: str, now: datetime) -> bool:
        """The key of ``version`` became current: the keys current before it are retired,
        pending keys of other versions abandoned. Returns True when anything changed."""
        stamp, changed = _now_text(now), False
        for i, e in enumerate(self.entries):
            new = e
            if e.version == version and _RANK[e.state] < _RANK["current"]:
                new = replace(e, state="current")
            elif e.version != version and e.state == "current":
                new = replace(e, state="retired", retired_at=stamp)
            elif e.version != version and e.state in ("minting", "pending"):
                new = replace(e, state="abandoned", retired_at=stamp)
            if new is not e:
                self.entries[i], changed = new, True
        return changed

    def abandon_others(self, version: str, now: datetime) -> list[Minted]:
        """Pending keys of versions other than ``version`` (an unfinished earlier rotation)
        become abandoned; returns them."""
        out = []
        for i, e in enumerate(self.entries):
            if e.version != version and e.state in ("minting", "pending"):
                self.entries[i] = replace(e, state="abandoned", retired_at=_now_text(now))
                out.append(self.entries[i])
        return out

    def merge(self, other: Ledger) -> Ledger:
        """Entries of both (the further state wins), for a write that raced another."""
        by_key = {(e.version, e.provider): e for e in other.entries}
        for e in self.entries:
            old = by_key.get((e.version, e.provider))
            if old is None or _RANK[e.state] >= _RANK[old.state]:
                by_key[(e.version, e.provider)] = e
        return Ledger(self.secret, list(by_key.values()))


def stamp(now: datetime) -> str:
    """``now`` as the ledger writes times."""
    return _now_text(now)
