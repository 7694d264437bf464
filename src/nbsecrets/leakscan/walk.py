"""What a scan reads: files under the given paths, or every blob of a repository's history.

Directories are walked in sorted order. ``.git`` is skipped (``--git`` reads history
instead), and so are ``__pycache__``, ``node_modules`` and virtual environments (a folder with
a ``pyvenv.cfg``), which hold installed code rather than a team's work; a path named on the
command line is always read. ``.ipynb_checkpoints`` is read: checkpoints keep old outputs.

``--git`` lists each commit's changed blobs with ``git log --raw`` and reads each blob once,
with one ``git cat-file --batch``, so the cost is the repository's distinct content.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

__all__ = ["GitError", "files", "git_blobs"]

_SKIP_DIRS = {
    ".git",
    "__pycache__",
    "node_modules",
    ".hg",
    ".svn",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
}


class GitError(Exception):
    """git failed; the message is one sentence."""


def files(paths: list[str]) -> Iterator[str]:
    """Each file under ``paths`` (files as given, directories walked), in a stable order."""
    for p in paths:
        if not os.path.isdir(p):
            yield p
            continue
        for root, dirs, names in os.walk(p):
            dirs[:] = sorted(
                d
                for d in dirs
                if d not in _SKIP_DIRS and not os.path.exists(os.path.join(root, d, "pyvenv.cfg"))
            )
            for name in sorted(names):
                full = os.path.join(root, name)
                if not os.path.islink(full):
                    yield full


def _git(repo: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["git", "-C", repo, "-c", "core.quotepath=off", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _changed_blobs(repo: str) -> Iterator[tuple[str, str, str]]:
    """(commit, path, blob id) for each blob as a commit first brings it, oldest first."""
    proc = _git(
        repo,
        "log",
        "--all",
        "--reverse",
        "-m",
        "--no-renames",
        "--raw",
        "--no-abbrev",
        "--format=commit %H",
        "-z",
    )
    assert proc.stdout is not None
    out, err = proc.communicate()
    if proc.returncode:
        msg = err.decode("utf-8", "replace").strip().splitlines()
        raise GitError(
            f"git log failed in {repo}: {msg[-1] if msg else 'no output'}; is it a git repository?"
        )
    commit = ""
    fields = out.split(b"\0")
    i = 0
    while i < len(fields):
        item = fields[i].lstrip(b"\n")
        if item.startswith(b"commit "):
            commit = item[7:47].decode()
            rest = item[48:].lstrip(b"\n")
            if rest.startswith(b":"):
                item = rest
            else:
                i += 1
                continue
        if item.startswith(b":"):
            meta = item[1:].split()
            path = fields[i + 1].decode("utf-8", "replace") if i + 1 < len(fields) else ""
            i += 2
            if len(meta) >= 5 and meta[4] != b"D" and meta[1] != b"160000":
                yield commit, path, meta[3].decode()
            continue
        i += 1


def git_blobs(repo: str) -> Iterator[tuple[str, str, bytes, int, int]]:
    """(commit, path, content, commits seen, commits in all) for each distinct blob."""
    listed = list(_changed_blobs(repo))
    total = len({c for c, _, _ in listed})
    first: dict[str, tuple[str, str]] = {}
    order: list[str] = []
    for commit, path, blob in listed:
        if blob not in first:
            first[blob] = (commit, path)
            order.append(blob)
    commit_index: dict[str, int] = {}
    for commit, _, _ in listed:
        commit_index.setdefault(commit, len(commit_index) + 1)
    if not order:
        return
    proc = subprocess.Popen(
        ["git", "-C", repo, "cat-file", "--batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    import threading

    def feed() -> None:
        assert proc.stdin is not None
        try:
            for blob in order:
                proc.stdin.write(blob.encode() + b"\n")
            proc.stdin.close()
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        for blob in order:
            header = proc.stdout.readline().split()
            if len(header) < 3 or header[1] != b"blob":
                continue
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)  # the newline after the content
            commit, path = first[blob]
            yield commit, path, data, commit_index[commit], total
    finally:
        proc.stdout.close()
        proc.wait()
        writer.join()


def read(path: str) -> bytes:
    """The bytes of ``path`` (OSError for the caller to report in one line)."""
    return Path(path).read_bytes()
