"""OpenAI: keys minted by the organization Admin API, as project service accounts.

Endpoints (https://platform.openai.com/docs/api-reference/administration), under
``/organization/projects/{project}``: ``POST .../service_accounts`` creates a service account
and returns its key (``api_key.value``, shown once); ``GET``/``DELETE
.../service_accounts/{id}`` retrieve and remove one with its keys; ``GET .../api_keys`` lists
the project's keys (``redacted_value``), ``GET``/``DELETE .../api_keys/{id}`` retrieve and
delete one. The test call is ``GET /models``. The base URL is ``NBSECRETS_OPENAI_BASE_URL``
(default ``https://api.openai.com/v1``, the SDK's convention).

The project is the admin's setting (:mod:`nbsecrets.rotation.settings`, else the admin key
secret's ``project_id``); what is revoked is the ledger's entry, never a payload's ids.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import replace

from nbsecrets.errors import ConfigError
from nbsecrets.rotation.base import Context, KeyProvider, Verdict, hint_matches
from nbsecrets.rotation.http import ProviderError, listing, request
from nbsecrets.rotation.ledger import Minted
from nbsecrets.rotation.settings import PROJECT_ENV, PROJECT_ID, SETTINGS_PREFIX

__all__ = ["ADMIN_SECRET", "OpenAI"]

ADMIN_SECRET = "nbsecrets-admin/openai"


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

    # -- the Admin API ----------------------------------------------------------------------

    def _headers(self, ctx: Context) -> dict[str, str]:
        admin = ctx.admin_secret(self.name, self.admin_secret)
        return {"Authorization": f"Bearer {admin['admin_key']}"}

    def project(self, ctx: Context) -> str:
        project = ctx.settings.openai_project_id
        if project is None:
            project = ctx.admin_secret(self.name, self.admin_secret).get("project_id") or None
            if project is not None and not PROJECT_ID.fullmatch(project):
                raise ConfigError(
                    f"the project_id in {self.admin_secret} is {project[:40]!r}; "
                    "give a project id such as proj_abc123."
                )
        if not project:
            raise ConfigError(
                f"no OpenAI project for {ctx.secret.name}: set {PROJECT_ENV} (the template's "
                f"OpenAIProjectId), or openai_project_id in {SETTINGS_PREFIX}{ctx.secret.name}, "
                f"or project_id in {self.admin_secret}."
            )
        return project

    def _url(self, project: str, *rest: str) -> str:
        parts = [urllib.parse.quote(p, safe="") for p in (project, *rest)]
        return f"{self.base}/organization/projects/" + "/".join(parts)

    def intent(self, ctx: Context, token: str) -> Minted:
        label = re.sub(r"[^A-Za-z0-9-]+", "-", ctx.secret.name).strip("-")
        return Minted(
            provider=self.name,
            project=self.project(ctx),
            secret=ctx.secret.name,
            version=token,
            state="minting",
            name=f"nbsecrets-{label}-{token[:8]}",
        )

    def mint(self, ctx: Context, entry: Minted) -> tuple[dict[str, str], Minted]:
        _, body = request(
            "POST",
            self._url(entry.project, "service_accounts"),
            self._headers(ctx),
            {"name": entry.name},
            what="OpenAI POST /organization/projects/{project}/service_accounts",
        )
        key = (body or {}).get("api_key") or {}
        if not isinstance(key, dict) or not key.get("value") or not body.get("id"):
            raise ProviderError(
                "OpenAI created a service account but returned no key; check "
                "the project's key policy."
            )
        value = str(key["value"])
        done = replace(
            entry,
            state="pending",
            service_account_id=str(body["id"]),
            key_id=str(key.get("id", "")),
            hint=f"{value[:8]}...{value[-4:]}",
        )
        fields = {
            "api_key": value,
            "openai_key_id": done.key_id,
            "openai_service_account_id": done.service_account_id,
            "openai_project_id": entry.project,
        }
        return fields, done

    def drop_orphans(self, ctx: Context, entry: Minted) -> None:
        """Delete the service accounts named as ``entry`` in its project: a crashed earlier
        try of the step created them, and their keys were never stored."""
        if not entry.name or entry.project != self.project(ctx):
            return
        headers = self._headers(ctx)
        for acct in listing(
            self._url(entry.project, "service_accounts"),
            headers,
            {"limit": "100"},
            cursor="after",
            what="OpenAI GET /organization/projects/{project}/service_accounts",
        ):
            if acct.get("name") == entry.name and acct.get("id"):
                request(
                    "DELETE",
                    self._url(entry.project, "service_accounts", str(acct["id"])),
                    headers,
                    what=f"OpenAI DELETE service account {acct['id']}",
                )

    def identify(self, ctx: Context, value: str, entry: Minted) -> tuple[Minted, str]:
        project = self.project(ctx)
        entry = replace(entry, project=project)
        try:
            matches = [
                k
                for k in listing(
                    self._url(project, "api_keys"),
                    self._headers(ctx),
                    {"limit": "100"},
                    cursor="after",
                    what="OpenAI GET /organization/projects/{project}/api_keys",
                )
                if hint_matches(str(k.get("redacted_value", "")), value)
            ]
        except ProviderError as exc:
            return entry, f"the new key could not be looked up in project {project} ({exc})"
        if len(matches) != 1:
            return entry, (
                f"no single key of project {project} matches the new key, so "
                "rotation will not revoke it"
            )
        return replace(
            entry,
            key_id=str(matches[0].get("id", "")),
            hint=str(matches[0].get("redacted_value", "")),
        ), ""

    def verify(self, ctx: Context, entry: Minted) -> Verdict:
        project = self.project(ctx)
        if entry.project != project:
            return Verdict(
                False,
                False,
                f"it was recorded in project {entry.project}, and "
                f"rotation is now configured for {project}",
            )
        if entry.service_account_id:
            url = self._url(project, "service_accounts", entry.service_account_id)
            what, field, want = "service account", "name", entry.name
        elif entry.key_id:
            url = self._url(project, "api_keys", entry.key_id)
            what, field, want = "key", "redacted_value", entry.hint
        else:
            return Verdict(False, False, "the record holds no id of it")
        try:
            _, body = request("GET", url, self._headers(ctx), what=f"OpenAI GET {entry.label}")
        except ProviderError as exc:
            if exc.status == 404:
                return Verdict(False, True, f"project {project} has no such {what}")
            raise
        if want and (body or {}).get(field) != want:
            return Verdict(
                False,
                False,
                f"the {what} of that id in project {project} is not the one rotation recorded",
            )
        return Verdict(True, False)

    def revoke(self, ctx: Context, entry: Minted) -> str:
        kind = "service_accounts" if entry.service_account_id else "api_keys"
        url = self._url(entry.project, kind, entry.service_account_id or entry.key_id)
        try:
            request("DELETE", url, self._headers(ctx), what=f"OpenAI DELETE {entry.label}")
        except ProviderError as exc:
            if exc.status != 404:
                raise
            return f"old OpenAI {entry.label} already gone."
        return f"old OpenAI {entry.label} deleted."
