"""Anthropic: keys come from the Console (the Admin API cannot create them), so rotation is by
hand (``nbsecrets rotate anthropic``); the old key is archived through the Admin API.

Endpoints (https://docs.claude.com/en/api/admin-api): ``GET /v1/organizations/api_keys``
lists keys with a ``partial_key_hint``; ``GET /v1/organizations/api_keys/{id}`` retrieves one
(with its ``workspace_id`` and ``status``); ``POST /v1/organizations/api_keys/{id}`` with
``{"status": "archived"}`` archives it. The test call is ``GET /v1/models``. The base URL is
``NBSECRETS_ANTHROPIC_BASE_URL`` (default ``https://api.anthropic.com``, the SDK's convention).

Anthropic keys are organization-wide, so the admin key could archive any team's key. Rotation
archives only a key it recorded when an admin typed it at ``nbsecrets rotate``, and only after
the Admin API confirms that the id still has the recorded hint and is in the configured
workspace (``NBSECRETS_ANTHROPIC_WORKSPACE_ID`` or the settings record; none: the default).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import replace
from typing import Any

from nbsecrets.errors import AccessDeniedError, KeyNotFoundError
from nbsecrets.rotation.base import Context, KeyProvider, Verdict, hint_matches
from nbsecrets.rotation.http import ProviderError, listing, request
from nbsecrets.rotation.ledger import Minted

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

    def _admin(self, ctx: Context) -> dict[str, str]:
        return self._headers(ctx.admin_secret(self.name, self.admin_secret)["admin_key"])

    def _key_url(self, key_id: str) -> str:
        return f"{self.base}/v1/organizations/api_keys/" + urllib.parse.quote(key_id, safe="")

    def test(self, value: str) -> None:
        request(
            "GET",
            f"{self.base}/v1/models",
            self._headers(value),
            what="Anthropic GET /v1/models with the new key",
        )

    def project(self, ctx: Context) -> str:
        return ctx.settings.anthropic_workspace_id or ""

    def identify(self, ctx: Context, value: str, entry: Minted) -> tuple[Minted, str]:
        workspace = self.project(ctx)
        entry = replace(entry, project=workspace)
        try:
            headers = self._admin(ctx)
        except (KeyNotFoundError, AccessDeniedError):
            return entry, (
                "the Anthropic admin key secret cannot be read, so the new key's id "
                "is not recorded and rotation will not archive it; archive old keys "
                "in the Claude Console"
            )
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
            return entry, (
                "no single active Anthropic key matches the new key, so its id is not "
                "recorded and rotation will not archive it"
            )
        found = matches[0]
        if (found.get("workspace_id") or "") != workspace:
            return entry, (
                f"the new key is in workspace {found.get('workspace_id') or 'default'}"
                f", not the configured {workspace or 'default'} one, so rotation "
                "will not archive it"
            )
        return replace(
            entry, key_id=str(found.get("id", "")), hint=str(found.get("partial_key_hint", ""))
        ), ""

    def verify(self, ctx: Context, entry: Minted) -> Verdict:
        workspace = self.project(ctx)
        if entry.project != workspace:
            return Verdict(
                False,
                False,
                f"it was recorded in workspace "
                f"{entry.project or 'default'}, and rotation is now "
                f"configured for {workspace or 'the default one'}",
            )
        if not entry.key_id:
            return Verdict(False, False, "the record holds no id of it")
        try:
            _, body = request(
                "GET",
                self._key_url(entry.key_id),
                self._admin(ctx),
                what=f"Anthropic GET /v1/organizations/api_keys/{entry.key_id}",
            )
        except ProviderError as exc:
            if exc.status == 404:
                return Verdict(False, True, "the organization has no such key")
            raise
        body = body or {}
        if (body.get("workspace_id") or "") != workspace or body.get(
            "partial_key_hint"
        ) != entry.hint:
            return Verdict(False, False, "the key of that id is not the one rotation recorded")
        if body.get("status") != "active":
            return Verdict(False, True, f"it is already {body.get('status')}")
        return Verdict(True, False)

    def revoke(self, ctx: Context, entry: Minted) -> str:
        request(
            "POST",
            self._key_url(entry.key_id),
            self._admin(ctx),
            {"status": "archived"},
            what=f"Anthropic POST /v1/organizations/api_keys/{entry.key_id}",
        )
        return f"old Anthropic key {entry.key_id} archived."
