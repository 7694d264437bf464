"""The pinned install artifact: a wheelhouse of nbsecrets and its dependencies in S3.

The lifecycle scripts install nbsecrets from exactly this object, offline
(``pip install --no-index --find-links``), after checking the sha256 that was fixed when the
lifecycle configuration was deployed. :func:`build` makes the archive with pip; :func:`upload`
puts it, and the bare nbsecrets wheel next to it (the rotation Lambda's code: a pure-Python
wheel is a zip with the package at its root), under an S3 prefix the admin names. Object keys
carry the first 12 hex digits of the content's sha256, so an uploaded object never changes.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbsecrets.errors import ConfigError, NbSecretsError

__all__ = ["Artifact", "Built", "build", "parse_s3_uri", "publish", "sha256_of", "upload"]

_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/([A-Za-z0-9!_.*'()/+=@-]*)$")
WHEELHOUSE_DIR = "wheelhouse"  # the archive's top folder, which the scripts pass to pip


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``(bucket, key)`` from ``s3://BUCKET/KEY``.

    Raises
    ------
    ConfigError
        If ``uri`` is not an S3 URI with a plain bucket name and key.
    """
    match = _URI.match(uri or "")
    if not match:
        raise ConfigError(
            f"{uri!r} is not an S3 location; give s3://BUCKET/PREFIX/ (letters, "
            "digits and / . _ - in the key)."
        )
    return match.group(1), match.group(2)


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Built:
    """A built wheelhouse archive, and the nbsecrets wheel inside it."""

    archive: Path
    wheel: Path
    version: str


def _source_tree() -> Path | None:
    root = Path(__file__).resolve().parents[3]
    return (
        root
        if (root / "pyproject.toml").is_file() and (root / "src" / "nbsecrets").is_dir()
        else None
    )


def build(out_dir: Path, *, wheel: Path | None = None, pip_args: tuple[str, ...] = ()) -> Built:
    """Build ``nbsecrets-wheelhouse-VERSION.tar.gz`` in ``out_dir`` with pip.

    The archive holds ``wheelhouse/``: the nbsecrets wheel and wheels of all its dependencies
    (for this interpreter's Python version; they are pure Python), so an environment that
    lacks boto3 or ipywidgets gets them offline, while one that has them keeps its own.

    Parameters
    ----------
    wheel : Path, optional
        A built nbsecrets wheel; default: build one from the source tree.
    pip_args : tuple of str
        Extra ``pip wheel`` arguments (e.g. ``--find-links DIR`` for a local wheel cache).

    Raises
    ------
    NbSecretsError
        If pip fails, or there is neither a wheel nor a source tree.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    house = out_dir / WHEELHOUSE_DIR
    house.mkdir(exist_ok=True)
    source = str(wheel) if wheel else None
    if source is None:
        tree = _source_tree()
        if tree is None:
            raise ConfigError(
                "No nbsecrets source tree here; pass --wheel PATH to an nbsecrets "
                "wheel (pip wheel nbsecrets from your checkout)."
            )
        source = str(tree)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--disable-pip-version-check",
        "--wheel-dir",
        str(house),
        *pip_args,
        source,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise NbSecretsError(f"pip wheel failed ({tail[0]}); check the network or pip_args.")
    wheels = sorted(house.glob("nbsecrets-*.whl"))
    if len(wheels) != 1:
        raise NbSecretsError(
            f"expected one nbsecrets wheel in {house}, found {len(wheels)}; "
            "empty the folder and build again."
        )
    version = wheels[0].name.split("-")[1]
    archive = out_dir / f"nbsecrets-wheelhouse-{version}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for item in sorted(house.iterdir()):
            tar.add(item, arcname=f"{WHEELHOUSE_DIR}/{item.name}")
    return Built(archive, wheels[0], version)


@dataclass(frozen=True)
class Artifact:
    """What :func:`upload` put in S3: the wheelhouse archive and the bare nbsecrets wheel."""

    bucket: str
    key: str
    sha256: str
    wheel_key: str
    wheel_sha256: str
    version: str

    @property
    def uri(self) -> str:
        """``s3://bucket/key`` of the wheelhouse archive."""
        return f"s3://{self.bucket}/{self.key}"


def _key(prefix: str, path: Path, sha: str) -> str:
    if path.suffix == ".whl":
        # pip parses a wheel's file name: keep it, under a folder named by its hash.
        return f"{prefix}{sha[:12]}/{path.name}"
    return f"{prefix}{path.name.removesuffix('.tar.gz')}-{sha[:12]}.tar.gz"


def upload(s3: Any, built: Built, location: str) -> Artifact:
    """Upload ``built`` under ``location`` (``s3://BUCKET/PREFIX/``).

    Raises
    ------
    ConfigError
        If the location does not end in ``/``.
    NbSecretsError
        If S3 refuses.
    """
    bucket, prefix = parse_s3_uri(location)
    if prefix and not prefix.endswith("/"):
        raise ConfigError(
            f"{location} names an object; give a folder ending in '/', e.g. "
            f"s3://{bucket}/nbsecrets/."
        )
    sha, wheel_sha = sha256_of(built.archive), sha256_of(built.wheel)
    key, wheel_key = _key(prefix, built.archive, sha), _key(prefix, built.wheel, wheel_sha)
    for path, object_key, digest in (
        (built.archive, key, sha),
        (built.wheel, wheel_key, wheel_sha),
    ):
        try:
            s3.upload_file(
                str(path), bucket, object_key, ExtraArgs={"Metadata": {"sha256": digest}}
            )
        except Exception as exc:
            from nbsecrets.aws import errors as awserrors

            raise awserrors.translate(
                exc, action="s3:PutObject", target=f"s3://{bucket}/{object_key}", region=""
            ) from None
    return Artifact(bucket, key, sha, wheel_key, wheel_sha, built.version)


def publish(
    s3: Any,
    location: str,
    work_dir: Path,
    *,
    wheel: Path | None = None,
    pip_args: tuple[str, ...] = (),
) -> Artifact:
    """:func:`build` in ``work_dir``, then :func:`upload` to ``location``."""
    parse_s3_uri(location)  # refuse a bad location before the build
    return upload(s3, build(work_dir, wheel=wheel, pip_args=pip_args), location)
