"""`import nbsecrets` and `%load_ext nbsecrets` do not import boto3 or botocore (fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
before = set(sys.modules)
{code}
new = sorted(set(sys.modules) - before)
print(json.dumps(new))
"""

CASES = {
    "import": "import nbsecrets",
    "load_ext": (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "before = set(sys.modules)\n"
        "shell.run_line_magic('load_ext', 'nbsecrets')\n"
        "assert 'aikey' in shell.magics_manager.magics['line']"
    ),
}


def new_modules(code: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return json.loads(out.splitlines()[-1])


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_boto3_until_first_fetch(case):
    modules = new_modules(CASES[case])
    heavy = [m for m in modules if m.split(".")[0] in ("boto3", "botocore", "s3transfer")]
    assert heavy == []
    assert "nbsecrets" in modules
    if case == "load_ext":
        assert "nbsecrets.notebook.magic" in modules


def test_the_probe_can_see_boto3():
    assert "boto3" in new_modules("import nbsecrets; nbsecrets.api.store().transport.session")
