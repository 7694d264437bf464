"""Loopback servers for keyless providers: an STS that vends signed JWTs, and OpenAI's and
Anthropic's token endpoints, model APIs and federation admin APIs.

- :class:`StsApi` speaks the STS query protocol (POST, form-encoded ``Action=...``, XML in the
  ``https://sts.amazonaws.com/doc/2011-06-15/`` namespace) for GetWebIdentityToken, signs RS256
  JWTs with a real RSA key and the claims AWS documents, serves the account issuer's discovery
  document and JWKS, and forwards every other request (GetCallerIdentity, AssumeRole) to the
  moto server, so ``AWS_ENDPOINT_URL_STS`` can point here. IAM's Enable/Get outbound web
  identity federation are in :class:`FederationIam` (an :class:`tests.iam_api.IamApi`).
- :class:`OpenAIApi` and :class:`AnthropicApi` verify each assertion (signature through the
  issuer's JWKS fetched over HTTP, ``iss``, ``aud``, ``exp``, ``iat``, and the subject against
  the rule), return access tokens with a lifetime the test chooses, and accept those tokens on
  their model API only while they are valid. Anthropic's checks ``jti`` single use, as
  Anthropic's issuers do by default. Their admin APIs hold providers/issuers and rules.

Every server counts its requests; nothing here sleeps.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from tests.federation.jwts import InvalidToken, SigningKey, decode, verify
from tests.iam_api import IamApi, _error
from tests.loopback import Handler, Served

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/nb-exec"
AWS_CLAIMS = "https://sts.amazonaws.com/"

Answer = tuple[int, dict[str, str], bytes]


class _Routed(Handler):
    """Hands every request to the owner's ``route`` (keep-alive, as the SDKs use it)."""

    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        status, headers, data = self.owner.route(
            self.command, self.path, dict(self.headers), self.body()
        )
        self.send(status, data, headers)

    do_GET = do_POST = do_DELETE = _serve


class Routed(Served):
    """A loopback server (the project's scaffold, tests/loopback.py) whose :meth:`route`
    answers each request with ``(status, headers, body)``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.lock = threading.Lock()
        self.serve(_Routed)

    def route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        raise NotImplementedError

    @staticmethod
    def json(status: int, obj: Any) -> Answer:
        return status, {"Content-Type": "application/json"}, json.dumps(obj).encode()


def _xml(status: int, text: str) -> Answer:
    return status, {"Content-Type": "text/xml"}, text.encode()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class StsApi(Routed):
    """STS GetWebIdentityToken on loopback, plus the account's OIDC issuer.

    Attributes (the test's knobs)
    ------------------------------
    role_arn : str
        The ``sub`` of every token (the role ARN, as AWS writes it for a role session).
    lifetime_s : float | None
        When set, tokens expire this many seconds after issue whatever DurationSeconds says
        (the client must time its refreshes from ``Expiration``, not from what it asked).
    audiences : set[str] | None
        When set, an Audience outside it is denied (as the role policy's condition would).
    max_duration_s : int
        A DurationSeconds above this is denied (``NumericLessThanEquals``).
    disabled : bool
        Answer OutboundWebIdentityFederationDisabledException.
    denied : bool
        Answer AccessDenied.
    skew_s : float
        Added to the issuer's clock (iat, exp, Expiration), to fake clock skew.
    source_identity : str | None
        Put into the ``https://sts.amazonaws.com/`` claims (a Studio user profile).
    """

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream
        self.key = SigningKey()
        self.issuer = f"{self.url}/o/{uuid.uuid4()}"
        self.role_arn = ROLE_ARN
        self.lifetime_s: float | None = None
        self.audiences: set[str] | None = None
        self.max_duration_s = 300
        self.disabled = False
        self.denied = False
        self.skew_s = 0.0
        self.source_identity: str | None = None
        self.tokens: list[str] = []  # every JWT vended, in order
        self.calls: list[dict[str, str]] = []  # the form of each GetWebIdentityToken

    def route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        with self.lock:
            self.requests.append((method, path))
        issuer_path = urlsplit(self.issuer).path
        if method == "GET" and path == f"{issuer_path}/.well-known/openid-configuration":
            return self.json(
                200,
                {
                    "issuer": self.issuer,
                    "jwks_uri": f"{self.issuer}/.well-known/jwks.json",
                    "response_types_supported": ["id_token"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256", "ES384"],
                    "claims_supported": ["sub", "iss", "aud", "exp", "iat", "jti", AWS_CLAIMS],
                },
            )
        if method == "GET" and path == f"{issuer_path}/.well-known/jwks.json":
            return self.json(200, self.key.jwks())
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("Action") == "GetWebIdentityToken":
            with self.lock:
                self.calls.append(form)
            return self.vend(form, self.role_of(headers))
        return self.forward(method, path, headers, body)

    def role_of(self, headers: dict[str, str]) -> str:
        """The role whose session signed the request: a session moto's AssumeRole made (the
        moto server runs in this process), else ``role_arn``."""
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        m = re.search(r"Credential=([^/,\s]+)/", auth)
        if m:
            from moto.sts.models import sts_backends

            for _account, backends in list(sts_backends.items()):
                for backend in list(backends.values()):
                    for role in list(backend.assumed_roles):
                        if role.access_key_id == m.group(1):
                            return str(role.role_arn)
        return self.role_arn

    def vend(self, form: dict[str, str], role_arn: str) -> Answer:
        audiences = [form[k] for k in sorted(form) if k.startswith("Audience.member.")]
        duration = int(form.get("DurationSeconds", "300"))
        if self.disabled:
            return _xml(
                403,
                _sts_error(
                    "OutboundWebIdentityFederationDisabledException",
                    "Outbound web identity federation is disabled for this account.",
                ),
            )
        if (
            self.denied
            or duration > self.max_duration_s
            or (self.audiences is not None and not set(audiences) <= self.audiences)
        ):
            return _xml(
                403,
                _sts_error(
                    "AccessDenied",
                    f"User: {role_arn} is not authorized to perform: sts:GetWebIdentityToken",
                ),
            )
        now = time.time() + self.skew_s
        exp = now + (self.lifetime_s if self.lifetime_s is not None else duration)
        aws: dict[str, Any] = {
            "aws_account": ACCOUNT,
            "source_region": "us-east-1",
            "original_session_exp": _iso(now + 3600),
        }
        if self.source_identity:
            aws["source_identity"] = self.source_identity
        token = self.key.sign(
            {
                "iss": self.issuer,
                "aud": audiences[0] if len(audiences) == 1 else audiences,
                "sub": role_arn,
                "iat": int(now),
                "exp": exp,
                "jti": str(uuid.uuid4()),
                AWS_CLAIMS: aws,
            }
        )
        with self.lock:
            self.tokens.append(token)
        return _xml(
            200,
            (
                f'<GetWebIdentityTokenResponse xmlns="{STS_NS}"><GetWebIdentityTokenResult>'
                f"<WebIdentityToken>{token}</WebIdentityToken><Expiration>{_iso(exp)}</Expiration>"
                "</GetWebIdentityTokenResult><ResponseMetadata><RequestId>sts-api-1</RequestId>"
                "</ResponseMetadata></GetWebIdentityTokenResponse>"
            ),
        )

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        up = urlsplit(self.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
        try:
            keep = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
            conn.request(method, path, body=body, headers=keep)
            resp = conn.getresponse()
            data = resp.read()
            ctype = resp.getheader("Content-Type") or "text/xml"
            return resp.status, {"Content-Type": ctype}, data
        finally:
            conn.close()


def _sts_error(code: str, message: str) -> str:
    return (
        f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>sts-api-1</RequestId>"
        "</ErrorResponse>"
    )


class FederationIam(IamApi):
    """IAM on loopback with outbound identity federation (moto has neither operation)."""

    def __init__(self, upstream: str, issuer: str) -> None:
        super().__init__(upstream)
        self.issuer = issuer
        self.enabled = False

    def handle(self, params: dict[str, str]) -> tuple[int, str] | None:
        found = super().handle(params)
        if found is not None:
            return found
        action = params.get("Action", "")
        ns = "https://iam.amazonaws.com/doc/2010-05-08/"
        if action == "GetOutboundWebIdentityFederationInfo":
            if not self.enabled:
                return 404, _error("FeatureDisabled", "Outbound identity federation is disabled")
            return 200, (
                f'<{action}Response xmlns="{ns}"><{action}Result>'
                f"<IssuerIdentifier>{self.issuer}</IssuerIdentifier>"
                f"<JwtVendingEnabled>true</JwtVendingEnabled></{action}Result>"
                f"<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
                f"</{action}Response>"
            )
        if action == "EnableOutboundWebIdentityFederation":
            if self.enabled:
                return 409, _error("FeatureEnabled", "Outbound identity federation is enabled")
            self.enabled = True
            return 200, (
                f'<{action}Response xmlns="{ns}"><{action}Result>'
                f"<IssuerIdentifier>{self.issuer}</IssuerIdentifier></{action}Result>"
                f"<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
                f"</{action}Response>"
            )
        return None


class _Provider(Routed):
    """What the two providers share: minted access tokens valid for ``token_lifetime_s``,
    a model API that accepts them only while valid, counts, and an admin bearer."""

    token_prefix = "tok-"

    def __init__(self, admin_token: str = "") -> None:
        super().__init__()
        self.token_lifetime_s: float = 3600.0
        self.issued: dict[str, float] = {}  # access token -> expiry (epoch)
        self.exchanges = 0
        self.rejected: list[str] = []  # error_description of each refused exchange
        self.api_calls: Counter[str] = Counter()  # "ok" / "expired" / "unknown"
        self.admin_token = admin_token
        self.admin_writes: list[str] = []  # "POST path" of each admin create

    def mint(self, lifetime_s: float) -> dict[str, Any]:
        token = self.token_prefix + secrets.token_urlsafe(32)
        with self.lock:
            self.issued[token] = time.time() + lifetime_s
        return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime_s}

    def valid(self, token: str) -> bool:
        exp = self.issued.get(token)
        return exp is not None and time.time() < exp

    def bearer(self, headers: dict[str, str]) -> str:
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else ""

    def model_api(self, headers: dict[str, str], answer: Any) -> Answer:
        token = self.bearer(headers)
        state = "ok" if self.valid(token) else ("expired" if token in self.issued else "unknown")
        with self.lock:
            self.api_calls[state] += 1
        if state != "ok":
            return self.json(
                401, {"error": {"type": "authentication_error", "message": f"token {state}"}}
            )
        return self.json(200, answer)

    def refuse(self, why: str) -> Answer:
        with self.lock:
            self.rejected.append(why)
        return self.json(400, {"error": "invalid_grant", "error_description": why})

    def control(self, path: str, body: bytes) -> Answer | None:
        """``POST /_test/lifetime`` ``{"seconds": N}``: a notebook under test shortens the
        tokens' lifetime between its cells (this server runs in the test process)."""
        if path != "/_test/lifetime":
            return None
        self.token_lifetime_s = float(json.loads(body)["seconds"])
        return self.json(200, {"token_lifetime_s": self.token_lifetime_s})

    def admin_ok(self, headers: dict[str, str]) -> bool:
        return bool(self.admin_token) and self.bearer(headers) == self.admin_token


class OpenAIApi(_Provider):
    """OpenAI on loopback: ``POST /oauth/token`` (token exchange), ``GET /v1/models``, and the
    workload identity providers and federation rules of the admin API."""

    token_prefix = "oai-wif-"

    def __init__(self, admin_token: str = "") -> None:
        super().__init__(admin_token)
        self.providers: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, dict[str, Any]] = {}  # id -> rule (with provider id)

    def add_provider(self, issuer: str, audience: str, name: str = "aws") -> str:
        pid = f"wip_{secrets.token_hex(6)}"
        self.providers[pid] = {
            "id": pid,
            "object": "organization.workload_identity_provider",
            "name": name,
            "issuer": issuer,
            "audience": audience,
            "type": "oidc",
            "enabled": True,
            "attribute_transformations": [],
            "verification": {"type": "discovery", "discovery_url": None},
        }
        return pid

    def add_rule(
        self,
        provider_id: str,
        matchers: dict[str, Any],
        service_account_id: str,
        project_id: str = "proj_1",
        name: str = "rule",
    ) -> str:
        rid = f"wifr_{secrets.token_hex(6)}"
        self.rules[rid] = {
            "id": rid,
            "object": "organization.workload_identity_federation_rule",
            "workload_identity_provider_id": provider_id,
            "name": name,
            "project_id": project_id,
            "service_account_id": service_account_id,
            "attribute_matchers": matchers,
            "enabled": True,
            "permissions": {"type": "service_account_default"},
        }
        return rid

    def route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        with self.lock:
            self.requests.append((method, path))
        path = urlsplit(path).path
        if method == "POST" and (found := self.control(path, body)) is not None:
            return found
        if method == "POST" and path == "/oauth/token":
            return self.exchange(json.loads(body or b"{}"))
        if method == "GET" and path == "/v1/models":
            return self.model_api(
                headers,
                {
                    "object": "list",
                    "data": [
                        {"id": "gpt-loopback", "object": "model", "created": 0, "owned_by": "test"}
                    ],
                },
            )
        if path.startswith("/v1/organization/workload_identity_providers"):
            if not self.admin_ok(headers):
                return self.json(401, {"error": {"message": "admin key required"}})
            return self.admin(method, path, json.loads(body or b"{}"))
        return self.json(404, {"error": {"message": f"no route {method} {path}"}})

    def exchange(self, req: dict[str, Any]) -> Answer:
        if req.get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange":
            return self.refuse("unsupported grant_type")
        if req.get("subject_token_type") != "urn:ietf:params:oauth:token-type:jwt":
            return self.refuse("unsupported subject_token_type")
        provider = self.providers.get(req.get("identity_provider_id", ""))
        if provider is None:
            return self.refuse("unknown identity provider")
        try:
            claims = verify(
                req.get("subject_token", ""),
                issuer=provider["issuer"],
                audience=provider["audience"],
            )
        except InvalidToken as exc:
            return self.refuse(str(exc))
        attrs = {
            f"openai.{t['attribute']}": _cel(t["expression"], claims, "assertion")
            for t in provider["attribute_transformations"]
        }
        attrs.update({k: v for k, v in claims.items() if isinstance(v, (str, int, bool))})
        match = [
            r
            for r in self.rules.values()
            if r["workload_identity_provider_id"] == provider["id"]
            and r["enabled"]
            and r["service_account_id"] == req.get("service_account_id")
            and all(attrs.get(k) == v for k, v in r["attribute_matchers"].items())
        ]
        if not match:
            return self.refuse("no federation rule matches the subject token")
        with self.lock:
            self.exchanges += 1
        return self.json(200, self.mint(self.token_lifetime_s))

    def admin(self, method: str, path: str, body: dict[str, Any]) -> Answer:
        parts = path.strip("/").split("/")  # v1 organization workload_identity_providers ...
        if len(parts) == 3:
            if method == "GET":
                return self.json(200, _page(list(self.providers.values())))
            pid = self.add_provider(body["issuer"], body["audience"], body.get("name", "aws"))
            self.providers[pid]["attribute_transformations"] = list(
                body.get("attribute_transformations") or []
            )
            self.admin_writes.append(f"POST {path}")
            return self.json(200, self.providers[pid])
        pid = parts[3]
        if pid not in self.providers:
            return self.json(404, {"error": {"message": "no such provider"}})
        if len(parts) == 4:
            if method == "POST":
                self.providers[pid].update({k: v for k, v in body.items() if k != "id"})
                self.admin_writes.append(f"POST {path}")
            return self.json(200, self.providers[pid])
        if parts[4] == "federation_rules" and len(parts) == 5:
            if method == "GET":
                return self.json(
                    200,
                    _page(
                        [
                            r
                            for r in self.rules.values()
                            if r["workload_identity_provider_id"] == pid
                        ]
                    ),
                )
            if any(v in ("*", "") for v in body.get("attribute_matchers", {}).values()):
                return self.json(400, {"error": {"message": "wildcard matcher"}})
            rid = self.add_rule(
                pid,
                body["attribute_matchers"],
                body["service_account_id"],
                body.get("project_id", ""),
                body.get("name", "rule"),
            )
            self.admin_writes.append(f"POST {path}")
            return self.json(200, self.rules[rid])
        return self.json(404, {"error": {"message": "no route"}})


def _page(data: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


_CEL = re.compile(r'^\s*(\w+)((?:\["[^"]*"\])+)\s*(?:==\s*"([^"]*)")?\s*$')


def _cel(expr: str, claims: dict[str, Any], root: str) -> Any:
    """The subset of CEL the rules here use: ``root["a"]["b"]`` and ``... == "value"``."""
    m = _CEL.match(expr)
    if not m or m.group(1) != root:
        raise ValueError(f"unsupported expression {expr!r}")
    value: Any = claims
    for key in re.findall(r'\["([^"]*)"\]', m.group(2)):
        value = value.get(key) if isinstance(value, dict) else None
    return value if m.group(3) is None else value == m.group(3)


class AnthropicApi(_Provider):
    """Anthropic on loopback: ``POST /v1/oauth/token`` (jwt-bearer), ``GET /v1/models``, and
    the federation issuers and rules of the admin API (``/v1/organizations/...``)."""

    token_prefix = "sk-ant-oat01-"

    def __init__(self, admin_token: str = "", organization_id: str = "") -> None:
        super().__init__(admin_token)
        self.organization_id = organization_id or str(uuid.uuid4())
        self.issuers: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, dict[str, Any]] = {}
        self.used_jti: set[str] = set()

    def add_issuer(self, issuer_url: str, name: str = "aws", check_jti: bool = True) -> str:
        iid = f"fdis_{secrets.token_hex(6)}"
        self.issuers[iid] = {
            "id": iid,
            "type": "federation_issuer",
            "name": name,
            "issuer_url": issuer_url,
            "check_jti": check_jti,
            "max_jwt_lifetime_seconds": 3600,
            "archived_at": None,
            "jwks": {"type": "discovery"},
        }
        return iid

    def add_rule(
        self,
        issuer_id: str,
        match: dict[str, Any],
        service_account_id: str,
        name: str = "rule",
        workspace_id: str | None = None,
    ) -> str:
        rid = f"fdrl_{secrets.token_hex(6)}"
        self.rules[rid] = {
            "id": rid,
            "type": "federation_rule",
            "name": name,
            "issuer_id": issuer_id,
            "match": match,
            "archived_at": None,
            "oauth_scope": "workspace:inference",
            "workspace_id": workspace_id,
            "target": {"type": "service_account", "service_account_id": service_account_id},
        }
        return rid

    def route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        with self.lock:
            self.requests.append((method, path))
        path = urlsplit(path).path
        if method == "POST" and (found := self.control(path, body)) is not None:
            return found
        if method == "POST" and path == "/v1/oauth/token":
            beta = {k.lower(): v for k, v in headers.items()}.get("anthropic-beta", "")
            if "oidc-federation" not in beta:
                return self.json(
                    400,
                    {
                        "error": "invalid_request",
                        "error_description": "federation beta header missing",
                    },
                )
            return self.exchange(json.loads(body or b"{}"))
        if method == "GET" and path == "/v1/models":
            return self.model_api(
                headers,
                {
                    "data": [
                        {
                            "id": "claude-loopback",
                            "type": "model",
                            "display_name": "Loopback",
                            "created_at": "2026-01-01T00:00:00Z",
                        }
                    ],
                    "has_more": False,
                    "first_id": "claude-loopback",
                    "last_id": "claude-loopback",
                },
            )
        if path.startswith("/v1/organizations/federation_"):
            if not self.admin_ok(headers):
                return self.json(401, {"error": {"message": "org:admin OAuth token required"}})
            return self.admin(method, path, json.loads(body or b"{}"))
        return self.json(404, {"error": {"message": f"no route {method} {path}"}})

    def exchange(self, req: dict[str, Any]) -> Answer:
        if req.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self.refuse("unsupported grant_type")
        rule = self.rules.get(req.get("federation_rule_id", ""))
        if rule is None or req.get("organization_id") != self.organization_id:
            return self.refuse("unknown federation rule or organization")
        if req.get("service_account_id") not in (None, rule["target"]["service_account_id"]):
            return self.refuse("service account does not match the rule")
        issuer = self.issuers[rule["issuer_id"]]
        match = rule["match"]
        try:
            claims = verify(
                req.get("assertion", ""),
                issuer=issuer["issuer_url"],
                audience=match.get("audience", ""),
            )
        except InvalidToken as exc:
            return self.refuse(str(exc))
        if claims["exp"] - claims["iat"] > issuer["max_jwt_lifetime_seconds"]:
            return self.refuse("JWT lifetime exceeds the issuer's maximum")
        prefix = match.get("subject_prefix", "")
        sub_ok = (
            claims["sub"].startswith(prefix[:-1])
            if prefix.endswith("*")
            else claims["sub"] == prefix
        )
        claims_ok = all(claims.get(k) == v for k, v in (match.get("claims") or {}).items())
        cond_ok = not match.get("condition") or _cel(match["condition"], claims, "claims")
        if not (sub_ok and claims_ok and cond_ok):
            return self.refuse("the federation rule does not match the token")
        with self.lock:
            if issuer["check_jti"]:
                if claims["jti"] in self.used_jti:
                    self.rejected.append("jti replayed")
                    return self.json(
                        400, {"error": "invalid_grant", "error_description": "jti already used"}
                    )
                self.used_jti.add(claims["jti"])
            self.exchanges += 1
        return self.json(200, self.mint(self.token_lifetime_s))

    def admin(self, method: str, path: str, body: dict[str, Any]) -> Answer:
        parts = path.strip("/").split("/")  # v1 organizations federation_issuers [id]
        kind = parts[2]
        store = self.issuers if kind == "federation_issuers" else self.rules
        if len(parts) == 3 and method == "GET":
            return self.json(200, {"data": list(store.values()), "next_page": None})
        if len(parts) == 3 and method == "POST":
            if any(o.get("name") == body.get("name") for o in store.values()):
                return self.json(409, {"error": {"message": "name already exists"}})
            if kind == "federation_issuers":
                oid = self.add_issuer(body["issuer_url"], body["name"], body.get("check_jti", True))
            else:
                match = body.get("match") or {}
                prefix = match.get("subject_prefix", "")
                if (
                    (not prefix or prefix == "*")
                    and not match.get("claims")
                    and not match.get("condition")
                ):
                    return self.json(400, {"error": {"message": "rule matches any subject"}})
                oid = self.add_rule(
                    body["issuer_id"],
                    match,
                    body["target"]["service_account_id"],
                    body["name"],
                    body.get("workspace_id"),
                )
            self.admin_writes.append(f"POST {path}")
            return self.json(200, store[oid])
        if len(parts) == 4 and parts[3] in store:
            return self.json(200, store[parts[3]])
        return self.json(404, {"error": {"message": "no route"}})


def jti(token: str) -> str:
    """The ``jti`` claim of a JWT (unverified), to tell tokens apart in assertions."""
    return str(decode(token)[1]["jti"])
