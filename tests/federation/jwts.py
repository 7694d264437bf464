"""RS256 JWTs signed and verified with a real RSA key (the ``cryptography`` package), and the
issuer's JWKS, for the loopback STS and the loopback providers. No PyJWT: it is not installed,
and the few lines here are all the tests need.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KID = "RSA_0"  # the kid AWS's account issuers use for RS256


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


@dataclass
class SigningKey:
    """An RSA key that signs RS256 JWTs and publishes itself as a JWKS."""

    kid: str = KID
    private: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": "RS256", "kid": self.kid, "typ": "JWT"}
        head = b64url(json.dumps(header, separators=(",", ":")).encode())
        body = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{head}.{body}".encode("ascii")
        sig = self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{body}.{b64url(sig)}"

    def jwks(self) -> dict[str, Any]:
        pub = self.private.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.kid,
                    "n": _int_b64(pub.n),
                    "e": _int_b64(pub.e),
                }
            ]
        }


class InvalidToken(Exception):
    """Why a JWT was refused (the loopback providers answer it as ``error_description``)."""


def decode(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Header, claims, signing input and signature of a compact JWT (no verification)."""
    try:
        head, body, sig = token.split(".")
        header = json.loads(unb64url(head))
        claims = json.loads(unb64url(body))
        return header, claims, f"{head}.{body}".encode("ascii"), unb64url(sig)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken(f"malformed JWT ({type(exc).__name__})") from None


def fetch_jwks(issuer: str) -> dict[str, Any]:
    """The issuer's JWKS, found the way a provider finds it: discovery, then ``jwks_uri``."""
    with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=5) as r:
        discovery = json.load(r)
    if discovery.get("issuer") != issuer:
        raise InvalidToken("discovery document names another issuer")
    with urllib.request.urlopen(discovery["jwks_uri"], timeout=5) as r:
        return json.load(r)


def verify(token: str, *, issuer: str, audience: str, leeway_s: float = 0.0) -> dict[str, Any]:
    """The claims of ``token`` after checking signature (JWKS fetched over HTTP), ``iss``,
    ``aud``, ``exp`` and ``iat``.

    Raises
    ------
    InvalidToken
        Naming the check that failed.
    """
    header, claims, signing_input, sig = decode(token)
    if header.get("alg") != "RS256":
        raise InvalidToken(f"unsupported alg {header.get('alg')!r}")
    keys = {k["kid"]: k for k in fetch_jwks(issuer)["keys"]}
    jwk = keys.get(header.get("kid"))
    if jwk is None:
        raise InvalidToken("unknown kid")
    pub = rsa.RSAPublicNumbers(
        int.from_bytes(unb64url(jwk["e"]), "big"), int.from_bytes(unb64url(jwk["n"]), "big")
    ).public_key()
    try:
        pub.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise InvalidToken("bad signature") from None
    for claim in ("iss", "aud", "sub", "exp", "iat", "jti"):
        if claim not in claims:
            raise InvalidToken(f"missing claim {claim}")
    if claims["iss"] != issuer:
        raise InvalidToken("issuer mismatch")
    auds = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if audience not in auds:
        raise InvalidToken("audience mismatch")
    now = time.time()
    if claims["exp"] <= now - leeway_s:
        raise InvalidToken("token expired")
    if claims["iat"] > now + leeway_s + 1:
        raise InvalidToken("token issued in the future (iat)")
    return claims
