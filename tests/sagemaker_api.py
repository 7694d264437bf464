"""A loopback HTTP server speaking SageMaker's JSON protocol (``X-Amz-Target:
SageMaker.<Op>``) for the calls moto does not serve: Studio lifecycle configurations (create,
describe, list, delete: refused with ResourceInUse while a domain, user profile, space or
running app names one, as SageMaker documents), domains, user profiles, spaces and apps
(list, describe, update), and the update of notebook-instance lifecycle configurations.
Point boto3 at it with ``AWS_ENDPOINT_URL_SAGEMAKER``. It records every request.
"""

from __future__ import annotations

import json
from typing import Any

from tests.loopback import Handler, Served

ACCOUNT, REGION = "123456789012", "us-east-1"


class SageMakerApi(Served):
    """State and handlers; ``requests`` is the list of ``(op, body)`` received."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.studio: dict[str, dict[str, Any]] = {}
        self.notebook: dict[str, dict[str, Any]] = {}
        self.domains: dict[str, dict[str, Any]] = {}
        self.spaces: dict[str, dict[str, Any]] = {}  # space name -> DescribeSpace answer
        self.profiles: dict[str, dict[str, Any]] = {}  # profile -> DescribeUserProfile answer
        self.apps: dict[str, dict[str, Any]] = {}  # "space/AppType" -> DescribeApp answer
        self.serve(_Handler)

    def ops(self) -> list[str]:
        return [op for op, _ in self.requests]

    def in_use(self, arn: str) -> bool:
        """Named anywhere SageMaker's DeleteStudioLifecycleConfig looks: domains' and
        profiles' settings (allowed lists included), spaces, apps that are not deleted."""
        live = [a for a in self.apps.values() if a.get("Status") not in ("Deleted", "Failed")]
        return arn in json.dumps([self.domains, self.profiles, self.spaces, live])

    # -- operations: return (status, body) -------------------------------------------------

    def handle(self, op: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.requests.append((op, body))
        method = getattr(self, f"op_{op}", None)
        if method is None:
            return 400, {"__type": "UnknownOperationException", "message": op}
        return method(body)

    @staticmethod
    def _missing(what: str) -> tuple[int, dict[str, Any]]:
        return 400, {"__type": "ResourceNotFound", "message": f"{what} does not exist"}

    @staticmethod
    def _create(
        table: dict[str, dict[str, Any]], name: str, body: dict[str, Any], kind: str
    ) -> tuple[int, dict[str, Any]]:
        """Store a configuration; answer its ARN under ``{kind's type}Arn``."""
        key = {
            "studio-lifecycle-config": "StudioLifecycleConfigArn",
            "notebook-instance-lifecycle-config": "NotebookInstanceLifecycleConfigArn",
        }[kind]
        table[name] = {**body, key: f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}"}
        return 200, {key: table[name][key]}

    def _describe(self, table: dict[str, dict[str, Any]], name: str) -> tuple[int, dict[str, Any]]:
        found = table.get(name)
        return (200, found) if found else self._missing(name)

    def op_DescribeStudioLifecycleConfig(self, body):
        return self._describe(self.studio, body["StudioLifecycleConfigName"])

    def op_CreateStudioLifecycleConfig(self, body):
        name = body["StudioLifecycleConfigName"]
        if name in self.studio:
            return 400, {"__type": "ResourceInUse", "message": f"{name} exists"}
        return self._create(self.studio, name, body, "studio-lifecycle-config")

    def op_DeleteStudioLifecycleConfig(self, body):
        name = body["StudioLifecycleConfigName"]
        if name not in self.studio:
            return self._missing(name)
        if self.in_use(self.studio[name]["StudioLifecycleConfigArn"]):
            return 400, {"__type": "ResourceInUse", "message": f"{name} is in use"}
        del self.studio[name]
        return 200, {}

    def op_ListStudioLifecycleConfigs(self, body):
        part = body.get("NameContains", "")
        kind = body.get("AppTypeEquals")
        found = [
            {
                k: c[k]
                for k in (
                    "StudioLifecycleConfigName",
                    "StudioLifecycleConfigArn",
                    "StudioLifecycleConfigAppType",
                )
            }
            for name, c in sorted(self.studio.items())
            if part in name and kind in (None, c["StudioLifecycleConfigAppType"])
        ]
        return self._page(body, "StudioLifecycleConfigs", found)

    @staticmethod
    def _page(body: dict[str, Any], key: str, items: list[Any]) -> tuple[int, dict[str, Any]]:
        """Two items a page, with NextToken, so that callers must follow pages."""
        start = int(body.get("NextToken") or 0)
        page: dict[str, Any] = {key: items[start : start + 2]}
        if start + 2 < len(items):
            page["NextToken"] = str(start + 2)
        return 200, page

    def op_ListDomains(self, body):
        found = [{"DomainId": d, "DomainArn": v["DomainArn"]} for d, v in self.domains.items()]
        return self._page(body, "Domains", found)

    def op_DescribeDomain(self, body):
        return self._describe(self.domains, body["DomainId"])

    def op_UpdateDomain(self, body):
        domain = self.domains.get(body["DomainId"])
        if domain is None:
            return self._missing(body["DomainId"])
        for block in ("DefaultUserSettings", "DefaultSpaceSettings"):
            for key, value in body.get(block, {}).items():
                domain.setdefault(block, {})[key] = value
        return 200, {"DomainArn": domain["DomainArn"]}

    def op_ListSpaces(self, body):
        found = [{"DomainId": body.get("DomainIdEquals"), "SpaceName": n} for n in self.spaces]
        return self._page(body, "Spaces", found)

    def op_DescribeSpace(self, body):
        return self._describe(self.spaces, body["SpaceName"])

    def op_ListUserProfiles(self, body):
        found = [
            {"DomainId": body.get("DomainIdEquals"), "UserProfileName": n} for n in self.profiles
        ]
        return self._page(body, "UserProfiles", found)

    def op_DescribeUserProfile(self, body):
        return self._describe(self.profiles, body["UserProfileName"])

    def op_UpdateUserProfile(self, body):
        profile = self.profiles.get(body["UserProfileName"])
        if profile is None:
            return self._missing(body["UserProfileName"])
        for key, value in body.get("UserSettings", {}).items():
            profile.setdefault("UserSettings", {})[key] = value
        return 200, {"UserProfileArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:user-profile/x"}

    def op_ListApps(self, body):
        found = [
            {k: a[k] for k in ("AppName", "AppType", "SpaceName", "Status") if k in a}
            for a in self.apps.values()
        ]
        return self._page(body, "Apps", found)

    def op_DescribeApp(self, body):
        return self._describe(self.apps, f"{body.get('SpaceName', '')}/{body['AppType']}")

    def launch(self, domain_id: str, space: str, app_type: str) -> str:
        """Start an app in ``space`` as Studio does: the built-in configuration resolved from
        the domain at this launch, then the space's pre-selected default, each allowed only if
        in the list (else the launch fails, as in SageMaker). Returns the decoded scripts run,
        built-in first, joined by a line ``# --- next configuration ---``."""
        import base64

        key = {"JupyterLab": "JupyterLabAppSettings", "CodeEditor": "CodeEditorAppSettings"}
        settings = self.spaces[space].get("SpaceSettings", {})
        shared = self.spaces[space].get("SpaceSharingSettings", {}).get("SharingType") == "Shared"
        domain = self.domains[domain_id]
        block = domain.get("DefaultSpaceSettings" if shared else "DefaultUserSettings", {})
        app = block.get(key[app_type], {})
        built_in = app.get("BuiltInLifecycleConfigArn")
        default = (settings.get(key[app_type], {}).get("DefaultResourceSpec") or {}).get(
            "LifecycleConfigArn"
        )
        texts = []
        for arn in (built_in, default):
            if not arn:
                continue
            if arn != built_in and arn not in app.get("LifecycleConfigArns", []):
                raise AssertionError(f"{arn} is not in the domain's allowed list")
            [config] = [c for c in self.studio.values() if c["StudioLifecycleConfigArn"] == arn]
            assert config["StudioLifecycleConfigAppType"] == app_type
            texts.append(base64.b64decode(config["StudioLifecycleConfigContent"]).decode())
        self.apps[f"{space}/{app_type}"] = {
            "AppName": "default",
            "AppType": app_type,
            "SpaceName": space,
            "DomainId": domain_id,
            "Status": "InService",
            "BuiltInLifecycleConfigArn": built_in or "",
            "ResourceSpec": {"LifecycleConfigArn": default} if default else {},
        }
        return "\n# --- next configuration ---\n".join(texts)

    def stop(self, space: str, app_type: str) -> None:
        self.apps[f"{space}/{app_type}"]["Status"] = "Deleted"

    def op_DescribeNotebookInstanceLifecycleConfig(self, body):
        name = body["NotebookInstanceLifecycleConfigName"]
        found = self.notebook.get(name)
        if not found:
            return 400, {"__type": "ValidationException", "message": f"{name} not found"}
        return 200, found

    def op_CreateNotebookInstanceLifecycleConfig(self, body):
        name = body["NotebookInstanceLifecycleConfigName"]
        return self._create(self.notebook, name, body, "notebook-instance-lifecycle-config")

    def op_UpdateNotebookInstanceLifecycleConfig(self, body):
        name = body["NotebookInstanceLifecycleConfigName"]
        if name not in self.notebook:
            return 400, {"__type": "ValidationException", "message": f"{name} not found"}
        self.notebook[name].update(body)
        return 200, {}

    def add_domain(self, domain_id: str, **settings: Any) -> None:
        self.domains[domain_id] = {
            "DomainId": domain_id,
            "DomainArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/{domain_id}",
            **settings,
        }


class _Handler(Handler):
    owner: SageMakerApi

    def do_POST(self) -> None:
        op = self.headers.get("X-Amz-Target", "").removeprefix("SageMaker.")
        self.reply(*self.owner.handle(op, json.loads(self.body() or b"{}")))
