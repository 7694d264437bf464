"""An IAM evaluator nbsecrets did not write: @cloud-copilot/iam-simulate (pinned in
package.json / package-lock.json here; ``scripts/test.sh`` runs ``npm ci``), driven through
``simulate.mjs`` with one node process for a whole list of requests."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "node_modules" / "@cloud-copilot" / "iam-simulate"


def unavailable() -> str:
    """Why the simulator cannot run here ("" when it can)."""
    if shutil.which("node") is None:
        return "node is not installed (scripts/test.sh installs Debian's nodejs and npm)"
    if not PACKAGE.is_dir():
        return f"@cloud-copilot/iam-simulate is not installed: run `npm ci` in {ROOT}"
    return ""


def case(
    action: str,
    resource: str,
    *,
    principal: str,
    identity: Sequence[dict[str, Any]] = (),
    resource_policy: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    resource_account: str | None = None,
) -> dict[str, Any]:
    """One simulation: ``principal`` (a role ARN) asks ``action`` on ``resource``."""
    account = resource_account or (
        resource.split(":")[4] if resource.count(":") >= 5 else principal.split(":")[4]
    )
    sim: dict[str, Any] = {
        "identityPolicies": [
            {"name": f"policy{i}", "policy": doc} for i, doc in enumerate(identity)
        ],
        "request": {
            "action": action,
            "principal": principal,
            "resource": {"resource": resource, "accountId": account},
            "contextVariables": dict(context or {}),
        },
    }
    if resource_policy is not None:
        sim["resourcePolicy"] = resource_policy
    return sim


def run(cases: Sequence[dict[str, Any]]) -> list[str]:
    """``Allowed``, ``ExplicitlyDenied`` or ``ImplicitlyDenied`` for each case.

    Raises
    ------
    AssertionError
        If the simulator rejects a case (invalid action, resource or context key): the
        matrix must only ask what IAM can be asked.
    """
    done = subprocess.run(
        ["node", str(ROOT / "simulate.mjs")],
        input=json.dumps({"cases": list(cases)}),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=600,
    )
    out = json.loads(done.stdout)
    errors = [(c["request"], o["error"]) for c, o in zip(cases, out, strict=True) if "error" in o]
    assert not errors, errors[:3]
    return [o["result"] for o in out]
