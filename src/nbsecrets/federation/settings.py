"""Federation settings: what a provider's secret holds instead of a key.

A secret ``{"federation": {...}}`` holds only non-secret ids (shared/DESIGN.md, "Keyless
providers"). OpenAI: ``audience``, ``identity_provider_id``, ``service_account_id``, optional
``token_url``. Anthropic: ``audience``, ``federation_rule_id``, ``organization_id``,
``service_account_id``, optional ``workspace_id``, and for per-user rules
``federation_rule_ids`` (Studio user profile -> rule id). Both: optional ``duration_seconds``
(the JWT's lifetime asked of STS, 60-3600, default 300; the role policy caps it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from nbsecrets.errors import SecretFormatError

__all__ = [
    "DEFAULT_AUDIENCES",
    "DEFAULT_DURATION_S",
    "FEDERATED",
    "OPENAI_TOKEN_URL",
    "Federation",
    "parse",
    "require_https",
]

OPENAI_TOKEN_URL = "https://auth.openai.com/oauth/token"
DEFAULT_DURATION_S = 300
# The audience each provider's issuer expects by default (``nbsecrets federate --audience``
# may set another); the role policy's sts:IdentityTokenAudience names the same.
DEFAULT_AUDIENCES = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
}
_REQUIRED = {
    "openai": ("audience", "identity_provider_id", "service_account_id"),
    "anthropic": ("audience", "organization_id", "service_account_id"),
}
_OPTIONAL = {
    "openai": ("token_url",),
    "anthropic": ("federation_rule_id", "workspace_id"),
}
FEDERATED = tuple(_REQUIRED)  # the providers that can be federated


@dataclass(frozen=True)
class Federation:
    """One provider's federation settings (no secret in them).

    Attributes
    ----------
    provider : str
        ``openai`` or ``anthropic``.
    audience : str
        The ``aud`` asked of STS; the provider-side issuer expects it.
    duration_s : int
        The JWT lifetime asked of STS (its answer's ``Expiration`` is what counts).
    ids : Mapping[str, str]
        The provider's ids (``identity_provider_id``, ``federation_rule_id``...).
    rules_by_user : Mapping[str, str]
        Anthropic per-user rules: SourceIdentity (Studio user profile) -> rule id.
    """

    provider: str
    audience: str
    duration_s: int = DEFAULT_DURATION_S
    ids: Mapping[str, str] = field(default_factory=dict)
    rules_by_user: Mapping[str, str] = field(default_factory=dict)

    @property
    def token_url(self) -> str:
        """OpenAI's token endpoint (``token_url``, default auth.openai.com)."""
        return self.ids.get("token_url") or OPENAI_TOKEN_URL

    def as_json(self) -> dict[str, object]:
        """The ``federation`` object as stored in the secret."""
        out: dict[str, object] = {"audience": self.audience, **dict(self.ids)}
        if self.duration_s != DEFAULT_DURATION_S:
            out["duration_seconds"] = self.duration_s
        if self.rules_by_user:
            out["federation_rule_ids"] = dict(self.rules_by_user)
        return out


def require_https(url: str, what: str) -> str | None:
    """Why ``url`` may not carry a token (not https, and not a loopback host), or None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    loopback = host == "localhost"
    try:
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if parts.scheme == "https" and host:
        return None
    if parts.scheme == "http" and loopback:
        return None
    return f"{what} {url!r} is not an https URL"


def parse(obj: Mapping[str, object], provider: str, secret_name: str) -> Federation:
    """The settings in ``obj["federation"]`` of ``provider``'s secret.

    Raises
    ------
    SecretFormatError
        ``reason="federation"``: naming the field that is missing or wrong (never a value,
        though none of these is secret).
    """
    fed = obj.get("federation")

    def bad(why: str) -> SecretFormatError:
        return SecretFormatError(
            f"{provider}: the federation settings in secret {secret_name} {why}; an admin "
            f"rewrites them with `nbsecrets federate {provider} ...`.",
            reason="federation",
            key=provider,
            secret_id=secret_name,
        )

    if provider not in _REQUIRED:
        raise SecretFormatError(
            f"{provider}: secret {secret_name} holds federation settings, but only "
            f"{' and '.join(FEDERATED)} can be federated; store a key for {provider} instead.",
            reason="federation",
            key=provider,
            secret_id=secret_name,
        )
    if not isinstance(fed, Mapping):
        raise bad("are not a JSON object")
    known = {*_REQUIRED[provider], *_OPTIONAL[provider], "duration_seconds", "federation_rule_ids"}
    unknown = sorted(k for k in fed if k not in known)
    if unknown:
        raise bad(f"have unknown fields ({', '.join(map(str, unknown))})")
    ids: dict[str, str] = {}
    for name in (*_REQUIRED[provider], *_OPTIONAL[provider]):
        value = fed.get(name)
        if value is None and name in _OPTIONAL[provider]:
            continue
        if not isinstance(value, str) or not value.strip():
            raise bad(f"lack {name}" if value is None else f"have a {name} that is not text")
        ids[name] = value.strip()
    by_user = fed.get("federation_rule_ids") or {}
    if provider == "anthropic":
        if not isinstance(by_user, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in by_user.items()
        ):
            raise bad("have a federation_rule_ids that is not an object of rule ids")
        if "federation_rule_id" not in ids and not by_user:
            raise bad("lack federation_rule_id")
    elif by_user:
        raise bad("have federation_rule_ids, which only Anthropic uses")
    duration = fed.get("duration_seconds", DEFAULT_DURATION_S)
    if isinstance(duration, bool) or not isinstance(duration, int) or not 60 <= duration <= 3600:
        raise bad("have a duration_seconds outside 60-3600")
    audience = ids.pop("audience")
    if provider == "openai":
        why = require_https(ids.get("token_url", OPENAI_TOKEN_URL), "token_url")
        if why:
            raise bad(f"have a {why}")
    return Federation(provider, audience, duration, ids, dict(by_user))
