"""OpenAI: keys minted by the organization Admin API, as project service accounts.

Endpoints (https://platform.openai.com/docs/api-reference/administration):
``POST /organization/projects/{project}/service_accounts`` creates a service account and
returns its key (``api_key.value``, shown once); ``DELETE .../service_accounts/{id}`` removes
it with its keys; ``GET .../api_keys`` lists the project's keys (``redacted_value``) and
``DELETE .../api_keys/{id}`` deletes one. The test call is ``GET /models``. The base URL is
``NBSECRETS_OPENAI_BASE_URL`` (default ``https://api.openai.com/v1``, the SDK's convention).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

from nbsecrets.errors import ConfigError
from nbsecrets.rotation.base import Context, KeyProvider, hint_matches
from nbsecrets.rotation.http import ProviderError, listing, request

__all__ = ["ADMIN_SECRET", "PROJECT_TAG", "OpenAI"]

ADMIN_SECRET = "nbsecrets-admin/openai"
PROJECT_TAG = "nbsecrets:openai-project"
PROJECT_ENV = "NBSECRETS_OPENAI_PROJECT_ID"


class OpenAI(KeyProvider):
    """OpenAI keys: test with ``GET /models``; mint and revoke with the Admin API."""

    name = "openai"
    can_mint = True
    admin_secret = ADMIN_SECRET
    base_url_env = "NBSECRETS_OPENAI_BASE_URL"
    default_base_url = "https://api.openai.com/v1"
    id_prefix = "openai_"

    def test(self, value: str) -> None:
        request(
            "GET",
            f"{self.base}/models",
            {"Authorization": f"Bearer {value}"},
            what="OpenAI GET /models with the new key",
        )

    def minted(self, fields: Mapping[str, str]) -> bool:
        """A minted key is a service account's: its id is in the secret."""
        return bool(fields.get("openai_service_account_id"))

    # -- the Admin API ----------------------------------------------------------------------

    def _admin(self, ctx: Context) -> tuple[dict[str, str], str]:
        admin = ctx.admin_secret(self.name, self.admin_secret)
        project = ctx.setting(PROJECT_TAG, PROJECT_ENV) or admin.get("project_id")
        if not project:
            raise ConfigError(
                f"no OpenAI project for {ctx.secret.name}: tag the secret {PROJECT_TAG}=proj_..., "
                f"or set {PROJECT_ENV}, or add project_id to the admin secret."
            )
        return {"Authorization": f"Bearer {admin['admin_key']}"}, project

    def _project_url(self, project: str, *rest: str) -> str:
        parts = [urllib.parse.quote(p, safe="") for p in (project, *rest)]
        return f"{self.base}/organization/projects/" + "/".join(parts)

    def mint(self, ctx: Context, token: str) -> dict[str, str]:
        headers, project = self._admin(ctx)
        label = re.sub(r"[^A-Za-z0-9-]+", "-", ctx.secret.name).strip("-")
        name = f"nbsecrets-{label}-{token[:8]}"
        self._drop_orphans(headers, project, name)
        _, body = request(
            "POST",
            self._project_url(project, "service_accounts"),
            headers,
            {"name": name},
            what="OpenAI POST /organization/projects/{project}/service_accounts",
        )
        key = (body or {}).get("api_key") or {}
        if not isinstance(key, dict) or not key.get("value") or not body.get("id"):
            raise ProviderError(
                "OpenAI created a service account but returned no key; check "
                "the project's key policy."
            )
        return {
            "api_key": key["value"],
            "openai_key_id": str(key.get("id", "")),
            "openai_service_account_id": str(body["id"]),
            "openai_project_id": project,
        }

    def _project_list(
        self, headers: dict[str, str], project: str, kind: str
    ) -> Iterator[dict[str, Any]]:
        """Every item of the project's ``kind`` (``api_keys``, ``service_accounts``): 100 a
        page, at most 100 pages."""
        return listing(
            self._project_url(project, kind),
            headers,
            {"limit": "100"},
            cursor="after",
            what=f"OpenAI GET /organization/projects/{{project}}/{kind}",
        )

    def _drop_orphans(self, headers: dict[str, str], project: str, name: str) -> None:
        """Delete service accounts a crashed earlier try of this step created (same name):
        their keys were never stored, so nobody can use them."""
        for acct in self._project_list(headers, project, "service_accounts"):
            if acct.get("name") == name and acct.get("id"):
                request(
                    "DELETE",
                    self._project_url(project, "service_accounts", str(acct["id"])),
                    headers,
                    what=f"OpenAI DELETE service account {acct['id']}",
                )

    def revoke(self, ctx: Context, fields: Mapping[str, str], value: str) -> str:
        headers, project = self._admin(ctx)
        project = fields.get("openai_project_id") or project
        account = fields.get("openai_service_account_id")
        if account:
            url = self._project_url(project, "service_accounts", account)
            what, done = f"service account {account}", "deleted"
        else:  # a key stored by hand: find it by its redacted form
            key_id = self._find_key(headers, project, value)
            if key_id is None:
                return (
                    f"no key of project {project} matches the old key; delete it in the "
                    "OpenAI dashboard."
                )
            url = self._project_url(project, "api_keys", key_id)
            what, done = f"key {key_id}", "deleted"
        try:
            request("DELETE", url, headers, what=f"OpenAI DELETE {what}")
        except ProviderError as exc:
            if exc.status != 404:
                raise
            done = "already gone"
        return f"old OpenAI {what} {done}."

    def _find_key(self, headers: dict[str, str], project: str, value: str) -> str | None:
        matches = [
            str(k["id"])
            for k in self._project_list(headers, project, "api_keys")
            if hint_matches(str(k.get("redacted_value", "")), value)
        ]
        return matches[0] if len(matches) == 1 else None
