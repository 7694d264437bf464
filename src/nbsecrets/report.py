"""Plain-text lines and tables shared by the magic and the CLI. Values never reach here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from nbsecrets import api
from nbsecrets.aws.records import LoadedKey, SecretInfo, SecretVersion

if TYPE_CHECKING:
    from nbsecrets.aws.audit import SecretRead

__all__ = [
    "age_days",
    "audit_table",
    "audit_text",
    "day",
    "list_table",
    "loaded_line",
    "rotation_text",
    "stored_line",
    "table",
]


def day(when: datetime | None) -> str:
    return when.date().isoformat() if when else "-"


def age_days(when: datetime | None, now: datetime | None = None) -> int | None:
    if when is None:
        return None
    now = now or datetime.now(timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (now - when).days


def rotation_text(info: SecretInfo | None) -> str:
    """``on, last 2026-11-20`` / ``on, not yet`` / ``off`` (``-`` when there is no secret)."""
    if info is None:
        return "-"
    if not info.rotation_enabled:
        return "off" if info.last_rotated is None else f"off, last {day(info.last_rotated)}"
    return f"on, last {day(info.last_rotated)}" if info.last_rotated else "on, not yet"


def version_bits(secret: SecretVersion) -> str:
    bits = [f"version {secret.version_id[:8]}"] if secret.version_id else []
    bits.append(f"changed {day(secret.created)}")
    return ", ".join(bits)


def loaded_line(key: LoadedKey, env_vars: Sequence[str], primary_region: str) -> str:
    """``openai: OPENAI_API_KEY <- nbsecrets/openai (version 1a2b3c4d, changed 2026-11-20)``.

    A federated provider's line starts ``(federated, token valid until 14:05, ...``, in the
    kernel's local time.
    """
    bits = [version_bits(key.secret)]
    if key.valid_until is not None:
        until = datetime.fromtimestamp(key.valid_until).strftime("%H:%M")
        bits.insert(0, f"federated, token valid until {until}")
    if key.ref.field:
        bits.append(f"field {key.ref.field}")
    if key.secret.stages and "AWSCURRENT" not in key.secret.stages:
        bits.append("stage " + "/".join(key.secret.stages))
    if key.secret.region != primary_region:
        bits.append(f"replica in {key.secret.region}")
    if key.cached:
        bits.append("cached")
    return f"{key.ref.label}: {', '.join(env_vars)} <- {key.secret.name} ({', '.join(bits)})"


def stored_line(provider: str, version: SecretVersion) -> str:
    """``openai: stored as nbsecrets/openai (version 1a2b3c4d).``"""
    return f"{provider}: stored as {version.name} (version {version.version_id[:8]})."


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A left-aligned plain-text table."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)).rstrip()
        for r in (headers, *rows)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def list_table() -> str:
    """The ``--list`` table: what the role can see under the prefix, without values."""
    keys = api.list_keys()
    if not keys:
        prefix = api.store().config.prefix
        return (
            f"No keys under {prefix} that these credentials can list; store one with "
            "%aikey --set PROVIDER."
        )
    rows = [
        (
            k.info.provider,
            ", ".join(k.env_vars),
            k.info.name,
            day(k.info.last_changed),
            rotation_text(k.info),
            k.mode,
            "loaded" if k.loaded else "-",
        )
        for k in keys
    ]
    return table(
        ("provider", "variables", "secret", "last changed", "rotation", "mode", "loaded"), rows
    )


def audit_text(names: Sequence[str], *, days: float = 7, as_json: bool = False) -> str:
    """``nbsecrets audit``: the reads of ``names`` (default: every key under the prefix)."""
    import json

    from nbsecrets.aws.audit import AuditLog

    st = api.store()
    reads = AuditLog(st.transport).reads(
        [st.config.ref(n).secret_id for n in names], prefix=st.config.prefix, days=days
    )
    return json.dumps([r.as_json() for r in reads], indent=2) if as_json else audit_table(reads)


def audit_table(reads: Sequence[SecretRead]) -> str:
    """``nbsecrets audit``: one row per read (time, principal, source, key, version)."""
    if not reads:
        return "No reads of these keys in CloudTrail's event history for that period."
    rows = [
        (
            r.time.strftime("%Y-%m-%d %H:%M:%S"),
            r.principal,
            r.source_ip,
            r.user_agent[:40],
            r.secret,
            r.version or "-",
            r.result,
        )
        for r in reads
    ]
    return table(
        ("time (UTC)", "principal", "source IP", "user agent", "key", "version", "result"), rows
    )
