"""STS GetWebIdentityToken: a JWT signed by the account's issuer that names the role.

The request goes through the one transport (:mod:`nbsecrets.aws.transport`) to the regional
STS endpoint (botocore's default; the API is not on the global endpoint), so
``AWS_ENDPOINT_URL_STS`` and ``AWS_ENDPOINT_URL`` apply as for every other call. The token is
registered for redaction as soon as the response is parsed, and its expiry is taken from the
answer's ``Expiration`` (AWS's clock), never from the lifetime asked for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from nbsecrets import redaction
from nbsecrets.errors import FederationError, NbSecretsError, NoCredentialsError

__all__ = ["ACTION", "ALGORITHM", "IdentityToken", "web_identity_token"]

ACTION = "sts:GetWebIdentityToken"
ALGORITHM = "RS256"  # every provider here verifies RS256; ES384 is the other choice
SKEW_S = 60.0  # AWS's clock and ours disagreeing by more than this is clock skew
_DISABLED = (
    "OutboundWebIdentityFederationDisabledException",
    "OutboundWebIdentityFederationDisabled",
)


@dataclass(frozen=True)
class IdentityToken:
    """A JWT from STS and when it expires (epoch seconds, from ``Expiration``)."""

    value: str = field(repr=False)
    expires_at: float
    audience: str
    issued_at: float  # by our clock, when the answer arrived


def web_identity_token(
    transport: Any, *, label: str, audience: str, duration_s: int
) -> IdentityToken:
    """A fresh JWT for ``audience`` (STS GetWebIdentityToken, RS256, ``duration_s``).

    Parameters
    ----------
    transport : nbsecrets.aws.transport.Transport
        The store's transport (its session: on SageMaker, the execution role).
    label : str
        The provider, for redaction and messages.

    Raises
    ------
    FederationError
        ``step="sts"``: federation not enabled, denied, the clock off, STS unreachable; one
        sentence that says what an admin does. No credentials stays a NoCredentialsError.
    """
    try:
        resp, _region = transport.call(
            "get_web_identity_token",
            target=f"a token for audience {audience}",
            action=ACTION,
            service="sts",
            Audience=[audience],
            SigningAlgorithm=ALGORITHM,
            DurationSeconds=duration_s,
        )
    except NoCredentialsError:
        raise
    except NbSecretsError as exc:
        raise _explain(exc, label, audience, duration_s) from None
    except AttributeError:  # a botocore older than 1.41 has no such operation
        raise FederationError(
            f"{label}: the installed botocore has no STS GetWebIdentityToken (it arrived in "
            "1.41.0); upgrade boto3 in this environment to use federated providers.",
            step="sts",
            key=label,
        ) from None
    value = resp.get("WebIdentityToken") or ""
    expiration = resp.get("Expiration")
    if value:  # before it can be anywhere else
        redaction.register(
            label, value, expires_at=getattr(expiration, "timestamp", lambda: None)()
        )
    if not value or expiration is None:
        raise FederationError(
            f"{label}: STS answered GetWebIdentityToken without a token; check that "
            "AWS_ENDPOINT_URL_STS (or AWS_ENDPOINT_URL) points at STS.",
            step="sts",
            key=label,
        )
    now = time.time()
    expires = expiration.timestamp()
    # AWS's clock against ours: the token's iat (when STS signed it), else its Expiration
    # against the lifetime asked for.
    iat = _claims(value).get("iat")
    off = (float(iat) - now) if isinstance(iat, (int, float)) else (expires - now) - duration_s
    if abs(off) > SKEW_S or expires - now <= 1:
        raise FederationError(
            f"{label}: this machine's clock is about {abs(round(off))} s "
            f"{'ahead of' if off < 0 else 'behind'} AWS's, so providers would refuse its "
            "tokens; nothing was changed; sync the clock (e.g. restart chronyd, or the "
            "instance) and load again.",
            step="clock",
            key=label,
        )
    return IdentityToken(value, expires, audience, now)


def _claims(jwt: str) -> dict[str, Any]:
    """The claims of a JWT STS just gave us (read, not verified: it is our own)."""
    import base64
    import json

    try:
        body = jwt.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _explain(exc: NbSecretsError, label: str, audience: str, duration_s: int) -> FederationError:
    fields = {"key": label, "code": exc.code, "region": exc.region, "action": ACTION}
    if exc.code in _DISABLED:
        return FederationError(
            f"{label}: AWS outbound identity federation is not enabled in this account, so STS "
            f"GetWebIdentityToken refused; an admin enables it with `nbsecrets federate {label} "
            "...` (or `aws iam enable-outbound-web-identity-federation`).",
            step="sts",
            **fields,
        )
    if exc.code == "SessionDurationEscalationException":
        return FederationError(
            f"{label}: the role's session ends in less than {duration_s} s, so STS will not "
            "vend a token that long; load again once the credentials have refreshed.",
            step="sts",
            **fields,
        )
    if exc.code in ("AccessDenied", "AccessDeniedException", "403"):
        return FederationError(
            f"{label}: the role may not call sts:GetWebIdentityToken for audience {audience} "
            f"with a {duration_s}-second lifetime; an admin grants exactly that with "
            f"`nbsecrets provision --role ROLE --provider {label} --federated "
            f"{label}={audience} --token-duration {duration_s}`.",
            step="sts",
            **fields,
        )
    return FederationError(
        f"{label}: STS GetWebIdentityToken failed ({exc.code or type(exc).__name__}); nothing "
        "was changed; try again, and if it persists an admin checks STS in "
        f"{exc.region or 'this region'} (`nbsecrets doctor`).",
        step="sts",
        **fields,
    )
