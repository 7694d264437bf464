"""``--fix``: each key found replaced by ``[REDACTED:provider]``, everything else kept.

The replacement is the redaction matcher's (:class:`nbsecrets.redaction.Redactor`) applied to
the file's own text, for the values found in it: it replaces every form of them (as written,
JSON-escaped, base64 at any offset, URL and HTML escapes, hex) and every run of 12 or more of
their characters (a key split over two outputs), and its marker holds no quote or backslash,
so a notebook's JSON stays valid and every other byte stays as it was (no re-serialisation,
no reordering). A notebook that would no longer parse is rewritten instead through an
nbformat round trip of the redacted cells. A backup of the file goes first, outside the
working tree (it holds the keys), in ``$XDG_CACHE_HOME/nbsecrets/backups`` (default
``~/.cache``), readable by the user alone.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from nbsecrets.leakscan.engine import Finding
from nbsecrets.redaction import Redactor

__all__ = ["backup_dir", "fixed_bytes", "write_fixed"]


def backup_dir() -> Path:
    """Where ``--fix`` puts backups: ``$XDG_CACHE_HOME/nbsecrets/backups`` (or ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nbsecrets" / "backups"


def _valid_notebook(text: str) -> bool:
    try:
        nb = json.loads(text)
    except ValueError:
        return False
    try:
        import nbformat
    except ImportError:  # nbformat is not a dependency of nbsecrets: JSON must do
        return isinstance(nb, dict)
    try:
        nbformat.validate(nbformat.from_dict(nb))
    except Exception:  # any validation failure means "not valid"
        return False
    return True


def fixed_bytes(path: str, data: bytes, findings: Sequence[Finding]) -> bytes | None:
    """``data`` with the found keys replaced, or None when nothing changed."""
    redactor = Redactor.of({f.value: f.provider for f in findings if f.value})
    if redactor is None:
        return None
    text = data.decode("utf-8", "surrogateescape")
    new = redactor.text(text)
    if (
        path.endswith(".ipynb")
        and new is not text
        and not _valid_notebook(new)
        and _valid_notebook(text)
    ):
        import nbformat

        nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
        new = nbformat.writes(nbformat.from_dict(redactor.obj(dict(nb))))
    if new is text:
        return None
    return new.encode("utf-8", "surrogateescape")


def write_fixed(path: str, data: bytes, new: bytes) -> Path:
    """Back ``data`` up, then write ``new`` to ``path`` in place; returns the backup's path."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = backup_dir() / stamp / Path(os.path.abspath(path)).relative_to("/")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    mode = os.stat(path).st_mode & 0o777
    tmp = f"{path}.nbsecrets-tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(new)
    os.replace(tmp, path)
    return target
