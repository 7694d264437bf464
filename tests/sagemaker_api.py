"""A loopback HTTP server speaking SageMaker's JSON protocol (``X-Amz-Target:
SageMaker.<Op>``) for the calls moto does not serve: Studio lifecycle configurations,
DescribeDomain/UpdateDomain, DescribeSpace/DescribeUserProfile (the execution role of a Studio
app), and the update of notebook-instance lifecycle configurations.
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
        self.serve(_Handler)

    def ops(self) -> list[str]:
        return [op for op, _ in self.requests]

    def in_use(self, arn: str) -> bool:
        return arn in json.dumps(self.domains)

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

    def op_DescribeDomain(self, body):
        return self._describe(self.domains, body["DomainId"])

    def op_UpdateDomain(self, body):
        domain = self.domains.get(body["DomainId"])
        if domain is None:
            return self._missing(body["DomainId"])
        for key, value in body.get("DefaultUserSettings", {}).items():
            domain.setdefault("DefaultUserSettings", {})[key] = value
        return 200, {"DomainArn": domain["DomainArn"]}

    def op_DescribeSpace(self, body):
        return self._describe(self.spaces, body["SpaceName"])

    def op_DescribeUserProfile(self, body):
        return self._describe(self.profiles, body["UserProfileName"])

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
