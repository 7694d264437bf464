"""A loopback stand-in for the OpenAI and Anthropic endpoints rotation uses (real HTTP).

OpenAI (base ``/v1``): ``GET /v1/models`` (Bearer key), ``POST
/v1/organization/projects/{p}/service_accounts``, ``GET``/``DELETE .../service_accounts/{id}``,
``GET .../api_keys``, ``GET``/``DELETE .../api_keys/{id}`` (Bearer admin key). Anthropic:
``GET /v1/models`` (x-api-key), ``GET /v1/organizations/api_keys``, ``GET``/``POST
/v1/organizations/api_keys/{id}`` (x-api-key admin key). Shapes follow the providers' docs.
Every request is recorded; :meth:`StandIn.admin_writes` are those that change something
(create, delete, archive). Faults: ``down`` answers 503 to everything; ``reject_new`` makes
keys minted from now on fail ``/models``.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from urllib.parse import parse_qs, urlparse

from tests.loopback import Handler, Served


def hint(value: str, head: int) -> str:
    return f"{value[:head]}...{value[-4:]}"


class StandIn(Served):
    """Both providers on one 127.0.0.1 port; state is plain dicts the tests inspect."""

    def __init__(self) -> None:
        self.openai_admin = "sk-admin-" + secrets.token_hex(16)
        self.anthropic_admin = "sk-ant-admin01-" + secrets.token_hex(16)
        self.openai_keys: dict[str, dict] = {}  # key value -> {id, service_account, project}
        self.service_accounts: dict[str, dict] = {}  # id -> {project, name, key}
        self.anthropic_keys: dict[str, dict] = {}  # key value -> {id, status, workspace}
        self.minted: set[str] = set()  # service accounts created through the Admin API
        self.requests: list[dict] = []
        self.down = False
        self.reject_new = False
        self.rejected: set[str] = set()
        self._lock = threading.Lock()

    def start(self) -> StandIn:
        self.serve(_Handler)
        return self

    # -- seeding --------------------------------------------------------------------------

    def add_openai_key(self, project: str = "proj_test") -> str:
        value = "sk-proj-" + secrets.token_urlsafe(32)
        self.openai_keys[value] = {
            "id": "key_" + secrets.token_hex(6),
            "service_account": None,
            "project": project,
        }
        return value

    def add_anthropic_key(self, workspace: str | None = None) -> str:
        value = "sk-ant-api03-" + secrets.token_urlsafe(40)
        self.anthropic_keys[value] = {
            "id": "apikey_" + secrets.token_hex(8),
            "status": "active",
            "workspace": workspace,
        }
        return value

    def add_service_account(self, project: str, name: str = "another-app") -> tuple[str, str]:
        """A service account made outside nbsecrets (another app or team): (id, key value)."""
        sid = "svc_acct_" + secrets.token_hex(6)
        value = "sk-svcacct-" + secrets.token_urlsafe(32)
        self.openai_keys[value] = {
            "id": "key_" + secrets.token_hex(6),
            "service_account": sid,
            "project": project,
        }
        self.service_accounts[sid] = {"project": project, "name": name, "key": value}
        return sid, value

    def admin_writes(self) -> list[dict]:
        """The recorded admin requests that create, delete or archive something."""
        return [
            r
            for r in self.requests
            if r["method"] in ("POST", "DELETE")
            and r["path"].startswith(("/v1/organization/", "/v1/organizations/"))
        ]

    def openai_valid(self, value: str) -> bool:
        return value in self.openai_keys and value not in self.rejected

    def anthropic_active(self, value: str) -> bool:
        return self.anthropic_keys.get(value, {}).get("status") == "active"

    # -- the server -----------------------------------------------------------------------

    def answer(self, handler: Handler) -> None:
        """Record the request, then answer it (503 to everything while ``down``)."""
        raw = handler.body()
        url = urlparse(handler.path)
        record = {
            "method": handler.command,
            "path": url.path,
            "query": url.query,
            "headers": {k.lower(): v for k, v in handler.headers.items()},
            "body": raw.decode(),
        }
        with self._lock:
            self.requests.append(record)
            if self.down:
                status, body = 503, {"error": {"type": "overloaded_error"}}
            else:
                status, body = self._route(
                    handler.command,
                    url.path,
                    parse_qs(url.query),
                    handler.headers,
                    json.loads(raw or b"null"),
                )
        handler.reply(status, body, "application/json")

    def _route(self, method: str, path: str, query: dict, headers, body) -> tuple[int, object]:
        bearer = (headers.get("Authorization") or "").removeprefix("Bearer ")
        xkey = headers.get("x-api-key") or ""
        denied = (401, {"error": {"type": "authentication_error"}})
        if method == "GET" and path == "/v1/models":
            if xkey:
                if headers.get("anthropic-version") != "2023-06-01":
                    return 400, {"error": {"type": "invalid_request_error"}}
                ok = self.anthropic_active(xkey) and xkey not in self.rejected
                return (200, {"data": [{"id": "claude-x", "type": "model"}]}) if ok else denied
            return (
                (200, {"object": "list", "data": [{"id": "gpt-x"}]})
                if self.openai_valid(bearer)
                else denied
            )
        m = re.fullmatch(
            r"/v1/organization/projects/([^/]+)/(service_accounts|api_keys)(?:/(.+))?", path
        )
        if m:
            if bearer != self.openai_admin:
                return denied
            return self._openai_admin(method, *m.groups(), query, body)
        m = re.fullmatch(r"/v1/organizations/api_keys(?:/(.+))?", path)
        if m:
            if xkey != self.anthropic_admin:
                return denied
            return self._anthropic_admin(method, m.group(1), body)
        return 404, {"error": {"type": "not_found_error"}}

    def _openai_admin(self, method, project, kind, item, query, body) -> tuple[int, object]:
        if kind == "service_accounts" and method == "POST" and not item:
            sid = "svc_acct_" + secrets.token_hex(6)
            value = "sk-svcacct-" + secrets.token_urlsafe(32)
            key_id = "key_" + secrets.token_hex(6)
            self.openai_keys[value] = {"id": key_id, "service_account": sid, "project": project}
            self.service_accounts[sid] = {"project": project, "name": body["name"], "key": value}
            self.minted.add(sid)
            if self.reject_new:
                self.rejected.add(value)
            return 200, {
                "object": "organization.project.service_account",
                "id": sid,
                "name": body["name"],
                "role": "member",
                "created_at": 1711471533,
                "api_key": {
                    "object": "organization.project.service_account.api_key",
                    "value": value,
                    "name": "Secret Key",
                    "created_at": 1711471533,
                    "id": key_id,
                },
            }
        if kind == "service_accounts" and method == "GET" and not item:
            accts = [
                {
                    "object": "organization.project.service_account",
                    "id": sid,
                    "name": a["name"],
                    "role": "member",
                    "created_at": 1711471533,
                }
                for sid, a in self.service_accounts.items()
                if a["project"] == project
            ]
            return 200, {
                "object": "list",
                "data": accts,
                "has_more": False,
                "first_id": accts[0]["id"] if accts else None,
                "last_id": accts[-1]["id"] if accts else None,
            }
        if kind == "service_accounts" and method == "GET" and item:
            acct = self.service_accounts.get(item)
            if acct is None or acct["project"] != project:
                return 404, {"error": {"type": "invalid_request_error", "code": "not_found"}}
            return 200, {
                "object": "organization.project.service_account",
                "id": item,
                "name": acct["name"],
                "role": "member",
                "created_at": 1711471533,
            }
        if kind == "service_accounts" and method == "DELETE" and item:
            acct = self.service_accounts.get(item)
            if acct is None or acct["project"] != project:
                return 404, {"error": {"type": "invalid_request_error", "code": "not_found"}}
            del self.service_accounts[item]
            self.openai_keys.pop(acct["key"], None)
            return 200, {
                "object": "organization.project.service_account.deleted",
                "id": item,
                "deleted": True,
            }
        if kind == "api_keys" and method == "GET" and not item:
            keys = [
                {
                    "object": "organization.project.api_key",
                    "id": k["id"],
                    "name": "key",
                    "redacted_value": hint(v, 8),
                    "created_at": 1711471533,
                }
                for v, k in self.openai_keys.items()
                if k["project"] == project
            ]
            return 200, {
                "object": "list",
                "data": keys,
                "has_more": False,
                "first_id": keys[0]["id"] if keys else None,
                "last_id": keys[-1]["id"] if keys else None,
            }
        if kind == "api_keys" and method == "GET" and item:
            hit = next(
                (
                    (v, k)
                    for v, k in self.openai_keys.items()
                    if k["id"] == item and k["project"] == project
                ),
                None,
            )
            if hit is None:
                return 404, {"error": {"type": "invalid_request_error", "code": "not_found"}}
            return 200, {
                "object": "organization.project.api_key",
                "id": item,
                "name": "key",
                "redacted_value": hint(hit[0], 8),
                "created_at": 1711471533,
            }
        if kind == "api_keys" and method == "DELETE" and item:
            found = next(
                (
                    v
                    for v, k in self.openai_keys.items()
                    if k["id"] == item and k["project"] == project
                ),
                None,
            )
            if found is None:
                return 404, {"error": {"type": "invalid_request_error", "code": "not_found"}}
            del self.openai_keys[found]
            return 200, {
                "object": "organization.project.api_key.deleted",
                "id": item,
                "deleted": True,
            }
        return 404, {"error": {"type": "not_found_error"}}

    def _anthropic_admin(self, method, item, body) -> tuple[int, object]:
        if method == "GET" and not item:
            keys = [
                {
                    "type": "api_key",
                    "id": k["id"],
                    "name": "key",
                    "status": k["status"],
                    "partial_key_hint": hint(v, 16),
                    "created_at": "2024-10-30T23:58:27Z",
                    "workspace_id": k.get("workspace"),
                }
                for v, k in self.anthropic_keys.items()
                if k["status"] == "active"
            ]
            return 200, {
                "data": keys,
                "has_more": False,
                "first_id": keys[0]["id"] if keys else None,
                "last_id": keys[-1]["id"] if keys else None,
            }
        if method == "GET" and item:
            for v, k in self.anthropic_keys.items():
                if k["id"] == item:
                    return 200, {
                        "type": "api_key",
                        "id": item,
                        "name": "key",
                        "status": k["status"],
                        "partial_key_hint": hint(v, 16),
                        "workspace_id": k.get("workspace"),
                        "created_at": "2024-10-30T23:58:27Z",
                    }
            return 404, {"error": {"type": "not_found_error"}}
        if method == "POST" and item:
            for v, k in self.anthropic_keys.items():
                if k["id"] == item:
                    k["status"] = body.get("status", k["status"])
                    return 200, {
                        "type": "api_key",
                        "id": item,
                        "status": k["status"],
                        "partial_key_hint": hint(v, 16),
                    }
            return 404, {"error": {"type": "not_found_error"}}
        return 404, {"error": {"type": "not_found_error"}}


class _Handler(Handler):
    owner: StandIn

    def _serve(self) -> None:
        self.owner.answer(self)

    do_GET = do_POST = do_DELETE = _serve
