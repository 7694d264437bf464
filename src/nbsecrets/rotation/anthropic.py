"""Anthropic: keys come from the Console (the Admin API cannot create them), so rotation is by
hand (``nbsecrets rotate anthropic``); the old key is archived through the Admin API.

Endpoints (https://docs.claude.com/en/api/admin-api): ``GET /v1/organizations/api_keys``
lists keys with a ``partial_key_hint``; ``POST /v1/organizations/api_keys/{id}`` with
``{"status": "archived"}`` archives one. The test call is ``GET /v1/models``. The base URL is
``NBSECRETS_ANTHROPIC_BASE_URL`` (default ``https://api.anthropic.com``, the SDK's convention).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from nbsecrets.errors import AccessDeniedError, KeyNotFoundError
from nbsecrets.rotation.base import Context, KeyProvider, hint_matches
from nbsecrets.rotation.http import listing, request

__all__ = ["ADMIN_SECRET", "Anthropic"]

ADMIN_SECRET = "nbsecrets-admin/anthropic"
VERSION = "2023-06-01"


class Anthropic(KeyProvider):
    """Anthropic keys: test with ``GET /v1/models``; archive the old one with the Admin API."""

    name = "anthropic"
    can_mint = False
    admin_secret = ADMIN_SECRET
    base_url_env = "NBSECRETS_ANTHROPIC_BASE_URL"
    default_base_url = "https://api.anthropic.com"

    def _headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key, "anthropic-version": VERSION}

    def test(self, value: str) -> None:
        request(
            "GET",
            f"{self.base}/v1/models",
            self._headers(value),
            what="Anthropic GET /v1/models with the new key",
        )

    def revoke(self, ctx: Context, fields: Mapping[str, str], value: str) -> str:
        try:
            admin = ctx.admin_secret(self.name, self.admin_secret)
        except (KeyNotFoundError, AccessDeniedError):
            return (
                "the Anthropic admin key secret cannot be read, so the old key was not "
                "archived; archive it in the Claude Console."
            )
        headers = self._headers(admin["admin_key"])
        matches: list[dict[str, Any]] = [
            k
            for k in listing(
                f"{self.base}/v1/organizations/api_keys",
                headers,
                {"limit": "1000", "status": "active"},
                cursor="after_id",
                what="Anthropic GET /v1/organizations/api_keys",
            )
            if hint_matches(str(k.get("partial_key_hint", "")), value)
        ]
        if len(matches) != 1:
            return (
                "no single active Anthropic key matches the old key (already archived?); "
                "check the Claude Console."
            )
        key_id = str(matches[0]["id"])
        request(
            "POST",
            f"{self.base}/v1/organizations/api_keys/" + urllib.parse.quote(key_id, safe=""),
            headers,
            {"status": "archived"},
            what=f"Anthropic POST /v1/organizations/api_keys/{key_id}",
        )
        return f"old Anthropic key {key_id} archived."
