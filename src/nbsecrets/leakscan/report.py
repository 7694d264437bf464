"""Reports of a scan: one line per finding, JSON (the fields of DESIGN.md), SARIF 2.1.0.

No report holds a key: at most its public prefix (``sk-proj-…``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from nbsecrets._version import __version__
from nbsecrets.leakscan.engine import Finding

__all__ = ["describe", "json_report", "location", "sarif_report", "text_line"]

_INFO_URI = "https://github.com/nbsecrets/nbsecrets#finding-keys-that-already-leaked"
_ENCODINGS = {
    "split": "split over lines or outputs",
    "piece": "a piece or another form of it",
    "base64": "in base64",
    "url": "URL-encoded",
    "json": "escaped",
    "html": "HTML-escaped",
}


def location(f: Finding) -> str:
    """``path[@commit]: cell 3, output 1, line 2`` (the parts a finding has)."""
    where = f"{f.path}@{f.commit[:12]}" if f.commit else f.path
    parts = []
    if f.cell is not None:
        parts.append(f"cell {f.cell}")
    if f.output is not None:
        parts.append(f"output {f.output}")
    elif f.where not in ("source", "text"):
        parts.append(f.where)
    parts.append(f"line {f.line}")
    return f"{where}: {', '.join(parts)}"


def describe(f: Finding) -> str:
    """What was found: the live managed key (secret, version, stage) or the provider."""
    if f.kind == "managed":
        stage = "/".join(f.stages) if f.stages else "no longer a staged version"
        live = "live key" if "AWSCURRENT" in f.stages else "managed key"
        return f"{live} {f.secret}, version {f.version} ({stage})"
    return f"unknown key of provider {f.provider}"


def text_line(f: Finding) -> str:
    """The one line a terminal shows for ``f``."""
    how = [f.shown]
    for part in f.encoding.split("+"):
        if part in _ENCODINGS:
            how.append(_ENCODINGS[part])
    if f.mime and f.mime not in ("stream",):
        how.append(f.mime)
    return f"{location(f)}: {describe(f)} [{', '.join(how)}]"


def json_report(findings: Sequence[Finding], errors: Sequence[str]) -> str:
    """``{"findings": [...], "errors": [...]}``."""
    return json.dumps(
        {"findings": [f.record() for f in findings], "errors": list(errors)}, indent=2
    )


def _rule(f: Finding) -> str:
    return "nbsecrets/managed-key" if f.kind == "managed" else f"nbsecrets/{f.provider}"


def sarif_report(
    findings: Sequence[Finding], errors: Sequence[str], file_lines: dict[int, int] | None = None
) -> str:
    """A SARIF 2.1.0 log: one rule per provider (and one for managed keys), one result per
    finding, located at the file line (``file_lines``: id of a finding -> line in the file,
    for notebooks) and, for notebooks, a logical location ``cell N/output M``."""
    file_lines = file_lines or {}
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results = []
    for f in findings:
        rid = _rule(f)
        if rid not in index:
            index[rid] = len(rules)
            text = (
                "A live key managed by nbsecrets"
                if f.kind == "managed"
                else f"An API key of provider {f.provider}"
            )
            rules.append(
                {
                    "id": rid,
                    "shortDescription": {"text": text},
                    "defaultConfiguration": {"level": "error"},
                }
            )
        loc: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": {"uri": f.path.replace("\\", "/").lstrip("./") or f.path},
                "region": {"startLine": max(1, file_lines.get(id(f), f.line))},
            }
        }
        if f.cell is not None:
            name = f"cell {f.cell}" + (f"/output {f.output}" if f.output is not None else "")
            loc["logicalLocations"] = [{"fullyQualifiedName": name, "kind": "element"}]
        result: dict[str, Any] = {
            "ruleId": rid,
            "ruleIndex": index[rid],
            "level": "error",
            "message": {"text": f"{describe(f)} ({f.shown})"},
            "locations": [loc],
            "partialFingerprints": {
                "nbsecrets/location/v1": f"{f.path}:{f.cell}:{f.output}:{f.where}:{f.provider}"
            },
        }
        if f.commit:
            result["properties"] = {"commit": f.commit}
        results.append(result)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "nbsecrets",
                "version": __version__,
                "informationUri": _INFO_URI,
                "rules": rules,
            }
        },
        "results": results,
    }
    if errors:
        run["invocations"] = [
            {
                "executionSuccessful": False,
                "toolExecutionNotifications": [
                    {"level": "error", "message": {"text": e}} for e in errors
                ],
            }
        ]
    return json.dumps(
        {
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [run],
        },
        indent=2,
    )
