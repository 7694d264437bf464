"""Anthropic: keys come from the Console (the Admin API cannot create them), so rotation is by
hand (``nbsecrets rotate anthropic``); the old key is archived through the Admin API.

Endpoints (https://docs.claude.com/en/api/admin-api): ``GET /v1/organizations/api_keys``
lists keys with a ``partial_key_hint``; ``POST /v1/organizations/api_keys/{id}`` with
``{"status": "archived"}`` archives one. The test call is ``GET /v1/models``. The base URL is
``NBSECRETS_ANTHROPIC_BASE_URL`` (default ``https://api.anthropic.com``, the SDK's convention).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping

from nbsecrets.errors import AccessDeniedError, KeyNotFoundError
from nbsecrets.rotation.base import Context, KeyProvider, hint_matches
from nbsecrets.rotation.http import request

__all__ = ["ADMIN_SECRET", "Anthropic"]

ADMIN_SECRET = "nbsecrets-admin/anthropic"
VERSION = "2023-06-01"


class Anthropic(KeyProvider):
    """Anthropic keys: test with ``GET /v1/models``; archive the old one with the Admin API."""

    name = "anthropic"
    can_mint = False

    def __init__(self, environ: Mapping[str, str] | None = None):
        env = os.environ if environ is None else environ
        self.base = (env.get("NBSECRETS_ANTHROPIC_BASE_URL") or "https://api.anthropic.com"
                     ).rstrip("/")

    def _headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key, "anthropic-version": VERSION}

    def test(self, value: str) -> None:
        request("GET", f"{self.base}/v1/models", self._headers(value),
                what="Anthropic GET /v1/models with the new key")

    def revoke(self, ctx: Context, fields: dict[str, str], value: str) -> str:
        try:
            admin = ctx.admin_secret(self.name, ADMIN_SECRET)
        except (KeyNotFoundError, AccessDeniedError):
            return ("the Anthropic admin key secret cannot be read, so the old key was not "
                    "archived; archive it in the Claude Console.")
        headers = self._headers(admin["admin_key"])
        matches: list[dict] = []
        after: str | None = None
        for _ in range(100):
            query = {"limit": "1000", "status": "active", **({"after_id": after} if after else {})}
            _, body = request("GET", f"{self.base}/v1/organizations/api_keys?"
                              + urllib.parse.urlencode(query), headers,
                              what="Anthropic GET /v1/organizations/api_keys")
            data = (body or {}).get("data") or []
            matches += [k for k in data if hint_matches(str(k.get("partial_key_hint", "")), value)]
            if not body.get("has_more") or not data:
                break
            after = body.get("last_id") or data[-1].get("id")
        if len(matches) != 1:
            return ("no single active Anthropic key matches the old key (already archived?); "
                    "check the Claude Console.")
        key_id = str(matches[0]["id"])
        request("POST", f"{self.base}/v1/organizations/api_keys/"
                + urllib.parse.quote(key_id, safe=""), headers, {"status": "archived"},
                what=f"Anthropic POST /v1/organizations/api_keys/{key_id}")
        return f"old Anthropic key {key_id} archived."
