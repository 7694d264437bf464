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

__all__ = [
    "TARGETS",
    "Artifact",
    "Built",
    "build",
    "closure",
    "compatible",
    "parse_s3_uri",
    "publish",
    "sha256_of",
    "upload",
]

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


# The Pythons the wheelhouse must install in, offline: notebook-instance kernels (conda_python3
# and the others are Python 3.10 on AL2 and AL2023), Studio's SageMaker Distribution (3.12; the
# same image for JupyterLab and Code Editor) and the rotation Lambda (python3.12).
TARGETS = ("3.10", "3.12")
# SageMaker runs x86_64 Linux; AL2's glibc 2.26 is the oldest (pip takes older manylinux too).
PLATFORM = "manylinux_2_26_x86_64"
MANIFEST = "targets.json"  # in the archive, beside wheelhouse/: the wheels of each target


def _packaging() -> Any:
    """``packaging`` (markers, requirements, tags), or the copy inside pip."""
    try:
        import packaging.markers
        import packaging.requirements
        import packaging.specifiers
        import packaging.tags
        import packaging.utils

        return packaging
    except ImportError:  # pip vendors it: the admin's machine has pip, or nothing builds
        import importlib

        for sub in ("markers", "requirements", "specifiers", "tags", "utils"):
            importlib.import_module(f"pip._vendor.packaging.{sub}")
        return importlib.import_module("pip._vendor.packaging")


def marker_environment(target: str) -> dict[str, str]:
    """The PEP 508 environment of CPython ``target`` (``"3.10"``) on x86_64 Linux."""
    return {
        "python_version": target,
        "python_full_version": f"{target}.0",
        "implementation_name": "cpython",
        "implementation_version": f"{target}.0",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
        "platform_release": "",
        "platform_version": "",
        "extra": "",
    }


def compatible(wheel_name: str, target: str) -> bool:
    """Whether the wheel file ``wheel_name`` installs on CPython ``target`` (x86_64 Linux)."""
    pk = _packaging()
    major, minor = (int(x) for x in target.split("."))
    platforms = [PLATFORM, *(f"manylinux_2_{m}_x86_64" for m in range(5, 26))]
    platforms += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
    supported = {
        *pk.tags.cpython_tags(python_version=(major, minor), platforms=platforms),
        *pk.tags.compatible_tags(
            python_version=(major, minor), interpreter=f"cp{major}{minor}", platforms=platforms
        ),
    }
    return bool(pk.utils.parse_wheel_filename(wheel_name)[3] & supported)


def _metadata(wheel: Path) -> Any:
    """The wheel's METADATA headers (Requires-Dist, Requires-Python)."""
    import zipfile
    from email.parser import HeaderParser

    with zipfile.ZipFile(wheel) as zf:
        [meta] = [
            n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        ]
        return HeaderParser().parsestr(zf.read(meta).decode("utf-8"))


def closure(house: Path, root: str, target: str) -> tuple[list[Path], list[str]]:
    """The wheels in ``house`` that installing ``root`` on ``target`` takes, following each
    wheel's requirements with markers evaluated for ``target``; and the requirements that no
    wheel there satisfies (name and version) or that ``target`` cannot install (tags)."""
    pk = _packaging()
    canon = pk.utils.canonicalize_name
    wheels: dict[str, list[Path]] = {}
    metadata: dict[Path, Any] = {}
    for path in sorted(house.glob("*.whl")):
        name = pk.utils.parse_wheel_filename(path.name)[0]
        if not compatible(path.name, target):
            continue
        metadata[path] = _metadata(path)
        python = metadata[path].get("Requires-Python")
        if python and not pk.specifiers.SpecifierSet(python).contains(f"{target}.0"):
            continue  # pip skips it there too (IPython 9 on 3.10)
        wheels.setdefault(canon(name), []).append(path)
    for found in wheels.values():
        found.sort(key=lambda w: pk.utils.parse_wheel_filename(w.name)[1])
    env = marker_environment(target)
    taken: dict[str, Path] = {}
    missing: list[str] = []
    queue = [pk.requirements.Requirement(root)]
    while queue:
        req = queue.pop()
        name = canon(req.name)
        fits = [
            w
            for w in wheels.get(name, [])
            if req.specifier.contains(pk.utils.parse_wheel_filename(w.name)[1], prereleases=True)
        ]
        if name in taken:
            if taken[name] not in fits:
                missing.append(f"{req.name}{req.specifier} (have {taken[name].name})")
            continue
        if not fits:
            missing.append(f"{req.name}{req.specifier}")
            continue
        taken[name] = fits[-1]
        for line in metadata[fits[-1]].get_all("Requires-Dist") or []:
            dep = pk.requirements.Requirement(line)
            if dep.marker is None or any(
                dep.marker.evaluate({**env, "extra": extra}) for extra in ("", *req.extras)
            ):
                queue.append(dep)
    return sorted(taken.values()), missing


def _pip(args: list[str], what: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise NbSecretsError(f"pip {what} failed ({tail[0]}); check the network or pip_args.")


def _download(dest: Path, target: str, reqs: list[str], pip_args: tuple[str, ...]) -> None:
    """``pip download`` of binary wheels for CPython ``target``."""
    nodot = target.replace(".", "")
    _pip(
        [
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--only-binary=:all:",
            "--python-version",
            target,
            "--implementation",
            "cp",
            "--abi",
            f"cp{nodot}",
            "--abi",
            "abi3",
            "--abi",
            "none",
            "--platform",
            PLATFORM,
            "--dest",
            str(dest),
            *pip_args,
            *reqs,
        ],
        f"download for Python {target}",
    )


def build(
    out_dir: Path,
    *,
    wheel: Path | None = None,
    pip_args: tuple[str, ...] = (),
    targets: tuple[str, ...] = TARGETS,
) -> Built:
    """Build ``nbsecrets-wheelhouse-VERSION.tar.gz`` in ``out_dir`` with pip.

    The archive holds ``wheelhouse/``: the nbsecrets wheel and, for each Python of
    ``targets``, binary wheels of all it needs there, resolved for that Python (``pip download
    --python-version``; pip evaluates environment markers such as ``python_version < "3.11"``
    for the Python it runs on, so the wheels' requirements are followed again here with the
    target's markers, and what is missing is downloaded: tomli for 3.10). Each target's set is
    checked to be complete and installable there, and listed in ``targets.json``. An
    environment that has a dependency keeps it unless nbsecrets needs a newer one.

    Parameters
    ----------
    wheel : Path, optional
        A built nbsecrets wheel; default: build one from the source tree.
    pip_args : tuple of str
        Extra pip arguments (e.g. ``--find-links DIR`` for a local wheel cache).
    targets : tuple of str
        Python versions to resolve for (default :data:`TARGETS`).

    Raises
    ------
    NbSecretsError
        If pip fails, a target's set is incomplete, or there is neither a wheel nor a source
        tree.
    """
    import json
    import shutil

    out_dir.mkdir(parents=True, exist_ok=True)
    house = out_dir / WHEELHOUSE_DIR
    house.mkdir(exist_ok=True)
    if wheel is None:
        tree = _source_tree()
        if tree is None:
            raise ConfigError(
                "No nbsecrets source tree here; pass --wheel PATH to an nbsecrets "
                "wheel (pip wheel nbsecrets from your checkout)."
            )
        _pip(
            [
                "wheel",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--wheel-dir",
                str(house),
                *pip_args,
                str(tree),
            ],
            "wheel",
        )
    else:
        shutil.copy2(wheel, house / wheel.name)
    wheels = sorted(house.glob("nbsecrets-*.whl"))
    if len(wheels) != 1:
        raise NbSecretsError(
            f"expected one nbsecrets wheel in {house}, found {len(wheels)}; "
            "empty the folder and build again."
        )
    version = wheels[0].name.split("-")[1]
    root = f"nbsecrets=={version}"
    manifest: dict[str, list[str]] = {}
    for target in targets:
        got = out_dir / f"python{target}"
        got.mkdir(exist_ok=True)
        shutil.copy2(wheels[0], got / wheels[0].name)
        _download(got, target, [root], ("--find-links", str(got), *pip_args))
        for _ in range(5):  # what pip left out for the target's markers
            taken, missing = closure(got, root, target)
            if not missing:
                break
            _download(got, target, missing, ("--find-links", str(got), *pip_args))
        taken, missing = closure(got, root, target)
        if missing:
            raise NbSecretsError(
                f"the wheelhouse for Python {target} lacks {missing[0]}; no binary wheel of "
                "it installs there: pin an older nbsecrets dependency or drop that target."
            )
        for path in taken:
            if not (house / path.name).exists():
                shutil.copy2(path, house / path.name)
        manifest[target] = [p.name for p in taken]
        shutil.rmtree(got)
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    archive = out_dir / f"nbsecrets-wheelhouse-{version}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(out_dir / MANIFEST, arcname=MANIFEST)
        for item in sorted(house.iterdir()):
            tar.add(item, arcname=f"{WHEELHOUSE_DIR}/{item.name}")
    return Built(archive, house / wheels[0].name, version)


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
