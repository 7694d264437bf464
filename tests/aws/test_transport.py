"""One transport: only aws/transport.py (with aws/errors.py, which translates botocore's
exceptions) imports boto3 or botocore and builds clients; everything else asks the store."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "nbsecrets"
TRANSPORT = {"aws/transport.py", "aws/errors.py"}
# The job guard wraps botocore's BaseClient._make_api_call (every client's calls, the SDK's
# too) and builds no client: it may import botocore.client and nothing else of either.
GUARD_IMPORTS = {"botocore.client"}
# Where a client may come from outside the transport: the store (or the transport itself).
FACADES = {"store", "st", "transport", "Store"}
BUILDERS = {"client", "resource", "create_client", "Session"}


def _rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _receiver(node: ast.expr) -> str:
    """The last name of what a method is called on: ``api.store()`` -> ``store``."""
    while isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def violations(source: str, rel: str) -> list[str]:
    """What in ``source`` (the module at ``rel``) bypasses the transport."""
    if rel in TRANSPORT:
        return []
    allowed = GUARD_IMPORTS if Path(rel).stem == "guard" else set()
    out = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        for name in names:
            if name.split(".")[0] in ("boto3", "botocore") and name not in allowed:
                out.append(f"{rel}:{node.lineno} imports {name}")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in BUILDERS:
                out.append(f"{rel}:{node.lineno} calls {func.id}(")
            elif (
                isinstance(func, ast.Attribute)
                and func.attr in BUILDERS
                and _receiver(func.value) not in FACADES
            ):
                out.append(f"{rel}:{node.lineno} calls {ast.unparse(func)}(")
    return out


def test_only_the_transport_builds_clients():
    found = [
        v
        for path in sorted(SRC.rglob("*.py"))
        for v in violations(path.read_text(encoding="utf-8"), _rel(path))
    ]
    assert found == [], "get clients from the Store (store.client(service)):\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        "import boto3",
        "import botocore.config",
        "from botocore.config import Config",
        "from boto3.session import Session",
        "def f(session):\n    return session.client('iam')",
        "def f(self):\n    return self.transport.session.client('sts')",
        "def f(mod):\n    return mod.Session()",
    ],
)
def test_the_check_fails_on_a_bypass(line):
    assert violations(line, "admin/doctor.py")


def test_the_check_lets_the_facade_and_the_guard_be():
    assert violations("def f(store):\n    return store.client(service='iam')", "cli.py") == []
    assert violations("def f():\n    return api.store().client()", "jobs.py") == []
    assert violations("from botocore.client import BaseClient", "jobs/guard.py") == []
    assert violations("import boto3", "jobs/guard.py")
    assert violations("import boto3\nboto3.client('sts')", "aws/transport.py") == []


COLD_GET = """
import json, sys
from botocore import loaders
loaded = []
original = loaders.Loader.load_service_model

def recording(self, service_name, type_name, api_version=None):
    loaded.append([service_name, type_name])
    return original(self, service_name, type_name, api_version)

loaders.Loader.load_service_model = recording
import nbsecrets
value = nbsecrets.get("openai")
print(json.dumps({"ok": value == "sk-cold-get-0123456789abcdef", "loaded": loaded}))
"""


def test_a_cold_get_loads_no_paginator_model(seed, aws_env):
    """The batch read asks botocore for no paginator: its paginator file stays unread."""
    import subprocess
    import sys

    seed("nbsecrets/openai", "sk-cold-get-0123456789abcdef")
    done = subprocess.run(
        [sys.executable, "-c", COLD_GET],
        env={**os.environ, **aws_env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["ok"]
    assert ["secretsmanager", "service-2"] in out["loaded"]  # the recorder sees loads
    assert [t for _s, t in out["loaded"] if t == "paginators-1"] == []


def test_the_operations_paged_by_hand_have_no_botocore_paginator():
    """What lets pages() skip can_paginate for them: botocore has no paginator to use."""
    import boto3

    from nbsecrets.aws.transport import _UNPAGINATED

    client = boto3.client(
        "secretsmanager", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    for op in sorted(_UNPAGINATED):
        assert hasattr(client, op)
        assert not client.can_paginate(op), op
