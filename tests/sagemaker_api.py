"""A loopback HTTP server speaking SageMaker's JSON protocol (``X-Amz-Target:
SageMaker.<Op>``) for the calls moto does not serve: Studio lifecycle configurations,
DescribeDomain/UpdateDomain, DescribeSpace/DescribeUserProfile (the execution role of a Studio
app), and the update of notebook-instance lifecycle configurations.
Point boto3 at it with ``AWS_ENDPOINT_URL_SAGEMAKER``. It records every request.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACCOUNT, REGION = "123456789012", "us-east-1"


class SageMakerApi:
    """State and handlers; ``requests`` is the list of ``(op, body)`` received."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.studio: dict[str, dict[str, Any]] = {}
        self.notebook: dict[str, dict[str, Any]] = {}
        self.domains: dict[str, dict[str, Any]] = {}
        self.spaces: dict[str, dict[str, Any]] = {}  # space name -> DescribeSpace answer
        self.profiles: dict[str, dict[str, Any]] = {}  # profile -> DescribeUserProfile answer
        handler = type("Handler", (_Handler,), {"api": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

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

    def op_DescribeStudioLifecycleConfig(self, body):
        found = self.studio.get(body["StudioLifecycleConfigName"])
        return (200, found) if found else self._missing(body["StudioLifecycleConfigName"])

    def op_CreateStudioLifecycleConfig(self, body):
        name = body["StudioLifecycleConfigName"]
        if name in self.studio:
            return 400, {"__type": "ResourceInUse", "message": f"{name} exists"}
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:studio-lifecycle-config/{name}"
        self.studio[name] = {**body, "StudioLifecycleConfigArn": arn}
        return 200, {"StudioLifecycleConfigArn": arn}

    def op_DeleteStudioLifecycleConfig(self, body):
        name = body["StudioLifecycleConfigName"]
        if name not in self.studio:
            return self._missing(name)
        if self.in_use(self.studio[name]["StudioLifecycleConfigArn"]):
            return 400, {"__type": "ResourceInUse", "message": f"{name} is in use"}
        del self.studio[name]
        return 200, {}

    def op_DescribeDomain(self, body):
        found = self.domains.get(body["DomainId"])
        return (200, found) if found else self._missing(body["DomainId"])

    def op_UpdateDomain(self, body):
        domain = self.domains.get(body["DomainId"])
        if domain is None:
            return self._missing(body["DomainId"])
        for key, value in body.get("DefaultUserSettings", {}).items():
            domain.setdefault("DefaultUserSettings", {})[key] = value
        return 200, {"DomainArn": domain["DomainArn"]}

    def op_DescribeSpace(self, body):
        found = self.spaces.get(body["SpaceName"])
        return (200, found) if found else self._missing(body["SpaceName"])

    def op_DescribeUserProfile(self, body):
        found = self.profiles.get(body["UserProfileName"])
        return (200, found) if found else self._missing(body["UserProfileName"])

    def op_DescribeNotebookInstanceLifecycleConfig(self, body):
        name = body["NotebookInstanceLifecycleConfigName"]
        found = self.notebook.get(name)
        if not found:
            return 400, {"__type": "ValidationException", "message": f"{name} not found"}
        return 200, found

    def op_CreateNotebookInstanceLifecycleConfig(self, body):
        name = body["NotebookInstanceLifecycleConfigName"]
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance-lifecycle-config/{name}"
        self.notebook[name] = {**body, "NotebookInstanceLifecycleConfigArn": arn}
        return 200, {"NotebookInstanceLifecycleConfigArn": arn}

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
            **settings}


class _Handler(BaseHTTPRequestHandler):
    api: SageMakerApi

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        op = self.headers.get("X-Amz-Target", "").removeprefix("SageMaker.")
        status, answer = self.api.handle(op, body)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
