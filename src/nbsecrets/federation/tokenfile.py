"""The identity-token file the anthropic SDK reads (``ANTHROPIC_IDENTITY_TOKEN_FILE``).

One directory per kernel (mode 0700), in ``$XDG_RUNTIME_DIR/nbsecrets`` when that is a private
directory of this user, else in ``<tempdir>/nbsecrets-<uid>`` (0700, owned by this user, not a
symlink). Not under the notebook's folder, and not in ``~/.cache``: Studio's home is the
Jupyter root and lives on EFS. The file is 0600 and replaced atomically (write a new file,
``os.replace``), so a reader sees the old JWT or the new one, never half of one. The
directory is removed at unload and when the process exits.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path

from nbsecrets.errors import FederationError

__all__ = ["TokenFile", "base_dir"]

_live: set[Path] = set()
_lock = threading.Lock()


def _private(path: Path) -> bool:
    try:
        st = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def base_dir() -> Path:
    """This user's private directory for token files (created 0700 if missing).

    Raises
    ------
    FederationError
        If the directory exists but is not private to this user (someone else's, a symlink,
        or readable by others).
    """
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    candidates = []
    if runtime and _private(Path(runtime)):
        candidates.append(Path(runtime) / "nbsecrets")
    candidates.append(Path(tempfile.gettempdir()) / f"nbsecrets-{os.getuid()}")
    candidates.append(Path.home() / ".cache" / "nbsecrets")
    cwd = Path.cwd()
    for base in candidates:
        if _inside(base, cwd):
            continue  # never inside the notebook's folder
        try:
            base.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            continue
        if _private(base):
            return base
    raise FederationError(
        f"no private directory for the identity-token file could be made (tried "
        f"{', '.join(map(str, candidates))}: each must be a directory of this user with mode "
        "0700, not a symlink); fix or remove it and load again.",
        step="file",
    )


class TokenFile:
    """A 0600 file in a fresh 0700 directory, holding the newest JWT for ``label``."""

    def __init__(self, label: str):
        self.label = label
        try:
            self.dir = Path(tempfile.mkdtemp(prefix="kernel-", dir=base_dir()))
        except OSError as exc:
            raise FederationError(
                f"{label}: the identity-token directory could not be made ({exc.strerror}); "
                "nothing was changed.",
                step="file",
                key=label,
            ) from None
        self.path = self.dir / f"{label}-identity-token"
        self._n = 0
        with _lock:
            _live.add(self.dir)

    def write(self, value: str) -> None:
        """Replace the file's content with ``value`` atomically (mode 0600)."""
        self._n += 1
        tmp = self.dir / f".{self.path.name}.{self._n}"
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
            )
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(value)
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise FederationError(
                f"{self.label}: the identity-token file {self.path} could not be written "
                f"({exc.strerror}).",
                step="file",
                key=self.label,
            ) from None

    def remove(self) -> None:
        """Delete the file and its directory."""
        shutil.rmtree(self.dir, ignore_errors=True)
        with _lock:
            _live.discard(self.dir)


@atexit.register
def _cleanup() -> None:
    with _lock:
        dirs = list(_live)
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
