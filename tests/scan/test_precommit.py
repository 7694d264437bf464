"""The pre-commit hook through the real pre-commit package, on a temporary repository, offline.

pre-commit installs a ``language: python`` hook by creating a virtualenv and running
``pip install .`` in a clone of the hook repository; that needs the build backend and
nbsecrets' dependencies. The test builds a wheelhouse once (``pip download`` of the project's
wheel and hatchling into a temporary folder, from pip's configured sources), then runs
pre-commit with ``PIP_NO_INDEX=1 PIP_FIND_LINKS=<wheelhouse> PIP_CONFIG_FILE=/dev/null``: the
install sees no index at all. ``pre-commit try-repo`` uses this checkout as the hook repository
(with its uncommitted changes), exactly as a ``repo:`` / ``id: nbsecrets-scan`` entry would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scan.corpus import keys

ROOT = Path(__file__).resolve().parents[2]
KEYS = keys(3)
pre_commit = pytest.importorskip("pre_commit")


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    wh = tmp_path_factory.mktemp("wheelhouse")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wh), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wh.glob("nbsecrets-*.whl")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--only-binary=:all:",
            "-d",
            str(wh),
            str(wheel),
            "hatchling",
        ],
        check=True,
        capture_output=True,
    )
    return wh


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def run_hook(repo: Path, wheelhouse: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "AWS_"))}
    env.update(
        {
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(wheelhouse),
            "PIP_CONFIG_FILE": os.devnull,
            "PRE_COMMIT_HOME": str(home),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "nbsecrets-scan", "--verbose"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_manifest_is_valid():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "validate-manifest",
            str(ROOT / ".pre-commit-hooks.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_hook_scans_staged_files_only(tmp_path, wheelhouse):
    repo = tmp_path / "work"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "clean.py").write_text("print('hi')\n")
    (repo / "leak.env").write_text(f"GROQ_API_KEY={KEYS['groq']}\n")
    (repo / "untracked.txt").write_text(f"{KEYS['openai']}\n")  # never staged
    git(repo, "add", "clean.py", "leak.env")
    proc = run_hook(repo, wheelhouse, tmp_path / "pre-commit-home")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "leak.env: line 1: unknown key of provider groq [gsk_…]" in out
    assert "untracked.txt" not in out and KEYS["groq"] not in out
    git(repo, "rm", "-q", "--cached", "leak.env")
    proc = run_hook(repo, wheelhouse, tmp_path / "pre-commit-home")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout
