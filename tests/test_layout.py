"""The layout holds: imports point one way, no two modules import each other (imports inside
functions and under TYPE_CHECKING count too), and no module grows past 600 lines (one that
does usually holds two jobs: split it by job, not to fit the number)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "nbsecrets"
# The core: imports nothing of nbsecrets outside the core. redaction/ is a core package.
CORE = {
    "nbsecrets._version",
    "nbsecrets.errors",
    "nbsecrets.providers",
    "nbsecrets.refs",
    "nbsecrets.config",
    "nbsecrets.fingerprint",
}
CORE_PACKAGES = {"redaction"}
# What each part may import, besides itself and the core. The package root
# (nbsecrets/__init__.py) is the composition root and may import anything.
ALLOWED = {
    "core": set(),
    "aws": {"aws"},
    "api": {"aws", "api"},
    "jobs": {"aws", "api", "jobs"},
    "notebook": {"aws", "api", "notebook"},
    "admin": {"aws", "api", "admin"},
    "rotation": {"aws", "api", "rotation"},
    # the leak scanner: reads fingerprints through the API's store, redacts with redaction/
    "leakscan": {"aws", "api", "leakscan"},
    "top": {"aws", "api", "jobs", "notebook", "admin", "rotation", "leakscan", "top"},
}
API_LEVEL = {"nbsecrets.api", "nbsecrets.report"}
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SRC.rglob("*.py")}


def part(module: str) -> str:
    pieces = module.split(".")
    if module in CORE or (len(pieces) > 1 and pieces[1] in CORE_PACKAGES):
        return "core"
    if module in API_LEVEL:
        return "api"
    if len(pieces) > 2 or (len(pieces) == 2 and MODULES[module].name == "__init__.py"):
        return pieces[1]  # a package: aws, jobs, notebook, ...
    return "top"  # cli, demo, ...


def imports(module: str) -> set[str]:
    """Every nbsecrets module that ``module`` imports, anywhere in its body."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1]
                    + ([base] if base else [])
                )
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


GRAPH = {m: imports(m) for m in MODULES}


def test_the_walker_sees_imports_inside_functions():
    assert "nbsecrets.notebook.install" in GRAPH["nbsecrets"]  # imported inside a function
    assert "nbsecrets.jobs.guard" in GRAPH["nbsecrets"]
    assert "nbsecrets.aws.store" in GRAPH["nbsecrets.api"]


def test_every_module_has_a_part_with_rules():
    assert {part(m) for m in MODULES} <= set(ALLOWED)
    assert part("nbsecrets.redaction") == part("nbsecrets.redaction.search") == "core"
    assert part("nbsecrets.jobs") == part("nbsecrets.jobs.guard") == "jobs"
    assert part("nbsecrets.notebook") == part("nbsecrets.notebook.send") == "notebook"
    assert part("nbsecrets.api") == "api" and part("nbsecrets.cli") == "top"


def test_the_guard_imports_only_the_core():
    # The package root installs it on the first registration: it must pull in no AWS or API
    # code of its own (and botocore only once botocore is loaded).
    assert {part(m) for m in GRAPH["nbsecrets.jobs.guard"]} <= {"core"}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_at_most_600_lines(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines: does it hold two jobs?"


def test_no_import_cycles():
    cycles = []
    for start in GRAPH:
        stack = [(start, [start])]
        seen = set()
        while stack:
            node, path = stack.pop()
            for nxt in GRAPH[node]:
                if nxt == start:
                    cycles.append(" -> ".join([*path, start]))
                elif nxt not in seen and nxt != "nbsecrets":
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert cycles == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "nbsecrets"))
def test_imports_point_one_way(module):
    mine = part(module)
    wrong = sorted(
        m
        for m in GRAPH[module]
        if m != "nbsecrets" and part(m) != "core" and part(m) not in ALLOWED[mine]
    )
    assert wrong == [], f"{module} ({mine}) may not import {wrong}"
    assert "nbsecrets" not in GRAPH[module], f"{module} imports the package root"
