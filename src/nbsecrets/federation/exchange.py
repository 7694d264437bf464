"""OpenAI's token exchange: the AWS JWT for a short-lived OpenAI access token.

``POST token_url`` with a JSON body (RFC 8693 token-exchange grant, as OpenAI's docs and SDK
send it). Standard library HTTP (urllib): no new dependency. Redirects are not followed (the
JWT goes only where the settings say), the answer is read up to 1 MiB, and the access token is
registered for redaction the moment it is parsed.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from nbsecrets import redaction
from nbsecrets._version import __version__
from nbsecrets.aws.identity import IdentityToken
from nbsecrets.errors import FederationError
from nbsecrets.federation.settings import Federation

__all__ = ["GRANT", "JWT_TYPE", "AccessToken", "exchange_openai"]

GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
TIMEOUT_S = 10.0
_MAX_BODY = 1 << 20


@dataclass(frozen=True)
class AccessToken:
    """A provider access token and when it expires (epoch seconds, from ``expires_in``)."""

    value: str = field(repr=False)
    expires_at: float


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _said(body: bytes) -> tuple[str, str]:
    """``error`` and ``error_description`` of an RFC 6749 error body, redacted and short."""
    try:
        obj = json.loads(body)
    except ValueError:
        return "", ""
    if not isinstance(obj, dict):
        return "", ""
    err, desc = obj.get("error"), obj.get("error_description")
    err = err if isinstance(err, str) else ""
    desc = desc if isinstance(desc, str) else ""
    clean = (redaction.redact_text(s)[:200].replace("\n", " ") for s in (err, desc))
    return next(clean), next(clean)


def exchange_openai(fed: Federation, jwt: IdentityToken, label: str = "openai") -> AccessToken:
    """Exchange ``jwt`` at ``fed.token_url`` for an OpenAI access token.

    Raises
    ------
    FederationError
        ``step="exchange"``: refused (names OpenAI's error and what the admin checks), or the
        endpoint down or answering nonsense.
    """
    url = fed.token_url
    body = json.dumps(
        {
            "grant_type": GRANT,
            "subject_token": jwt.value,
            "subject_token_type": JWT_TYPE,
            "identity_provider_id": fed.ids["identity_provider_id"],
            "service_account_id": fed.ids["service_account_id"],
        }
    ).encode()
    # token_url is checked to be https (or http to loopback) by settings.parse
    req = urllib.request.Request(  # noqa: S310
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"nbsecrets/{__version__}",
        },
    )
    fields: dict[str, Any] = {"key": label, "step": "exchange", "secret_id": None}
    try:
        with _opener.open(req, timeout=TIMEOUT_S) as resp:
            status, data = resp.status, resp.read(_MAX_BODY)
    except urllib.error.HTTPError as exc:
        status, data = exc.code, exc.read(_MAX_BODY)
        exc.close()
    except (urllib.error.URLError, OSError) as exc:
        why = getattr(exc, "reason", exc)
        raise FederationError(
            f"{label}: the token endpoint {url} could not be reached ({type(why).__name__}), so "
            "no OpenAI token was obtained and nothing was changed; try again, and if it "
            "persists an admin checks token_url in the secret and the network (proxy, VPC "
            "endpoints).",
            **fields,
        ) from None
    if status in (400, 401, 403):
        error, description = _said(data)
        clock = any(w in description.lower() for w in ("iat", "nbf", "future", "expired"))
        raise FederationError(
            f"{label}: OpenAI refused the AWS token at {url} (HTTP {status}"
            f"{', ' + error if error else ''}{': ' + description if description else ''}); "
            "nothing was changed; an admin checks that identity provider "
            f"{fed.ids['identity_provider_id']} trusts this account's issuer with audience "
            f"{fed.audience} and that a federation rule for service account "
            f"{fed.ids['service_account_id']} matches this role (`nbsecrets federate openai "
            f"--dry-run` shows both){'; the clock here may be off' if clock else ''}.",
            code=error or str(status),
            **fields,
        )
    if status != 200:
        raise FederationError(
            f"{label}: the token endpoint {url} answered HTTP {status}, so nothing was changed; "
            "the provider may be down: try again in a minute.",
            code=str(status),
            **fields,
        )
    try:
        obj = json.loads(data)
    except ValueError:
        obj = None
    token = obj.get("access_token") if isinstance(obj, dict) else None
    expires_in = obj.get("expires_in") if isinstance(obj, dict) else None
    if isinstance(token, str) and token:
        lifetime = expires_in if isinstance(expires_in, (int, float)) else None
        redaction.register(
            label, token, expires_at=None if lifetime is None else time.time() + float(lifetime)
        )
    if (
        not isinstance(token, str)
        or not token
        or isinstance(expires_in, bool)
        or not isinstance(expires_in, (int, float))
        or expires_in <= 0
    ):
        raise FederationError(
            f"{label}: the token endpoint {url} answered without an access_token and "
            "expires_in; nothing was changed; an admin checks token_url in the secret.",
            **fields,
        )
    return AccessToken(token, time.time() + float(expires_in))
