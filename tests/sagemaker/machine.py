"""A simulated SageMaker machine: real users, real virtual environments as the conda
environments, the resource metadata file, and helpers to run lifecycle scripts as SageMaker
does and to start kernels as the notebook user. Everything created is removed afterwards.

Needs root (CI runs as root); tests skip with the reason otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest

from nbsecrets.admin import artifact

METADATA = Path("/opt/ml/metadata/resource-metadata.json")
ROOT = Path(__file__).resolve().parents[2]
LIMIT_S = 300  # SageMaker stops a lifecycle script after 5 minutes

DRIVER = r"""
import hashlib, json, os, sys
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name="python3", startup_timeout=120)
results = []
try:
    for code in sys.argv[1:]:
        out = []
        def hook(msg, out=out):
            c = msg["content"]
            if msg["msg_type"] == "stream":
                out.append(c["text"])
            elif msg["msg_type"] == "error":
                out.append(c["ename"] + ": " + c["evalue"])
            elif msg["msg_type"] in ("execute_result", "display_data"):
                out.append(c["data"].get("text/plain", ""))
        kc.execute_interactive(code, output_hook=hook, timeout=120)
        results.append("".join(out))
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
print(json.dumps(results))
"""
DIGEST = (
    "import hashlib, os; print(hashlib.sha256(os.environ.get('OPENAI_API_KEY', '')"
    ".encode()).hexdigest())"
)


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip(
            "the simulated SageMaker machine creates users ec2-user/sagemaker-user and "
            "/opt paths: run as root (CI does)"
        )


def base_python() -> str:
    """A Python that another user may run (a venv's interpreter under /root is not)."""
    for cand in ("/usr/bin/python3", "/usr/local/bin/python3", sys._base_executable):
        real = os.path.realpath(cand)
        if not os.path.exists(real) or real.startswith("/root/"):
            continue
        ok = subprocess.run([real, "-c", "import venv, ensurepip"], capture_output=True)
        if ok.returncode == 0:
            return real
    pytest.skip("no Python outside /root with venv and ensurepip (apt-get install python3-venv)")


PYENV = Path("/root/.pyenv/versions")


def target_python(version: str, made: list[Path]) -> str | None:
    """A CPython ``version`` that the notebook user may run: Debian's, or a copy of pyenv's
    outside /root (its interpreter's RUNPATH, which names the pyenv folder, rewritten to the
    copy's); None if this machine has neither."""
    found = shutil.which(f"python{version}")
    if found and not os.path.realpath(found).startswith("/root/"):
        return os.path.realpath(found)
    sources = sorted(PYENV.glob(f"{version}.*"))
    if not sources:
        return None
    src, dest = sources[-1], Path(f"/opt/nbsecrets-sim-py{version}")
    if dest.exists():
        return None
    made.append(dest)
    shutil.copytree(
        src,
        dest,
        symlinks=True,
        ignore=shutil.ignore_patterns("test", "tests", "idle_test", "__pycache__", "*.a"),
    )
    exe = dest / "bin" / f"python{version}"
    old, new = f"{src}/lib".encode(), f"{dest}/lib".encode()
    data = exe.read_bytes()
    if old in data and len(new) <= len(old):
        exe.write_bytes(data.replace(old, new + b"\0" * (len(old) - len(new))))
    subprocess.run(["chmod", "-R", "a+rX", str(dest)], check=True)
    ok = subprocess.run([str(exe), "-c", "import venv, ensurepip, ssl"], capture_output=True)
    return str(exe) if ok.returncode == 0 else None


def python_version(py: Path) -> str:
    done = subprocess.run(
        [str(py), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@dataclass
class Machine:
    """What the fixture made; ``cleanup`` removes it."""

    user: str
    home: Path
    envs: dict[str, Path]
    wheels: Path
    made: list[Path] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    built: artifact.Built | None = None  # the wheelhouse of this checkout (``simulated``)

    @property
    def log(self) -> Path:
        return self.home / "nbsecrets-lifecycle.log"

    def run_as_user(
        self, args: list[str], env: dict[str, str], timeout: int = 300
    ) -> subprocess.CompletedProcess[str]:
        pw = pwd.getpwnam(self.user)
        full = {"HOME": str(self.home), "USER": self.user, "PATH": "/usr/bin:/bin", **env}
        return subprocess.run(
            args,
            env=full,
            user=pw.pw_uid,
            group=pw.pw_gid,
            extra_groups=[],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.home,
        )

    def kernel(self, env_name: str, aws: dict[str, str], *cells: str) -> list[str]:
        """Run ``cells`` in a kernel of ``env_name`` started as the user; their outputs."""
        driver = self.home / ".nbsecrets-test-driver.py"
        driver.write_text(DRIVER)
        done = self.run_as_user(
            [str(self.envs[env_name] / "bin" / "python"), str(driver), *cells], aws
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def has_nbsecrets(self, env_name: str) -> bool:
        py = self.envs[env_name] / "bin" / "python"
        return (
            subprocess.run([str(py), "-c", "import nbsecrets"], capture_output=True).returncode == 0
        )

    def installed(self, env_name: str, dist: str) -> str | None:
        py = self.envs[env_name] / "bin" / "python"
        got = subprocess.run(
            [str(py), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
            capture_output=True,
            text=True,
        )
        return got.stdout.strip() if got.returncode == 0 else None

    def reset_home(self) -> None:
        """Forget what earlier scripts wrote (a restarted notebook instance loses it too)."""
        for sub in (".ipython", ".config", "nbsecrets-lifecycle.log"):
            path = self.home / sub
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


def add_user(name: str) -> None:
    subprocess.run(
        ["useradd", "--create-home", "--shell", "/bin/bash", name], check=True, capture_output=True
    )


def make_env(py: str, path: Path, wheels: Path, packages: list[str], owner: str) -> Path:
    subprocess.run([py, "-m", "venv", str(path)], check=True, capture_output=True)
    if packages:
        subprocess.run(
            [
                str(path / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--no-index",
                "--find-links",
                str(wheels),
                *packages,
            ],
            check=True,
            capture_output=True,
        )
    subprocess.run(["chown", "-R", f"{owner}:{owner}", str(path)], check=True)
    return path


def local_wheels(py: str, dest: Path, packages: list[str]) -> Path:
    """Wheels of ``packages`` for ``py`` (from PyPI, through pip's cache)."""
    dest.mkdir(parents=True, exist_ok=True)
    builder = dest.parent / f"builder-{dest.name}"  # one per Python
    subprocess.run([py, "-m", "venv", str(builder)], check=True, capture_output=True)
    done = subprocess.run(
        [
            str(builder / "bin" / "python"),
            "-m",
            "pip",
            "wheel",
            "-q",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(dest),
            *packages,
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.fail(f"pip wheel {packages} failed: {done.stderr[-2000:]}")
    return dest


@contextmanager
def machine(kind: str, tmp: Path) -> Iterator[Machine]:
    """A notebook instance (``kind="notebook"``) or Studio space (``"studio"``)."""
    need_root()
    user = "ec2-user" if kind == "notebook" else "sagemaker-user"
    home = Path("/home") / user
    taken = [p for p in (home, METADATA, Path("/opt/conda")) if p.exists()]
    try:
        pwd.getpwnam(user)
        taken.append(Path(f"user {user}"))
    except KeyError:
        pass
    if taken:
        pytest.skip(
            f"{', '.join(map(str, taken))} already exist(s) on this machine; the "
            "simulation does not touch them"
        )
    py = base_python()
    made: list[Path] = []
    users: list[str] = []
    try:
        add_user(user)
        users.append(user)
        made.append(home)
        meta_made = not METADATA.parent.parent.exists()
        METADATA.parent.mkdir(parents=True, exist_ok=True)
        made.append(METADATA.parent.parent if meta_made else METADATA)
        arn = (
            "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/sim"
            if kind == "notebook"
            else "arn:aws:sagemaker:us-east-1:123456789012:app/d-sim/sim/JupyterLab/default"
        )
        METADATA.write_text(json.dumps({"ResourceArn": arn, "ResourceName": "sim"}))
        # The targets' Pythons where this machine has them (else the machine's own): notebook
        # kernels 3.10, SageMaker Distribution 3.12.
        py310 = target_python("3.10", made) or py
        py312 = target_python("3.12", made) or py
        wheels: dict[str, Path] = {}
        for interp in {py, py310, py312}:
            wheels[interp] = local_wheels(
                interp, tmp / f"wheels-{os.path.basename(interp)}", ["ipykernel", "boto3"]
            )
        subprocess.run(["chmod", "-R", "a+rX", str(tmp)], check=True)
        envs: dict[str, Path] = {}
        if kind == "notebook":
            # The AL2023 layout (notebook-al2023-v1): conda_python3 (3.10) and conda_pytorch
            # kernels, SageMaker's own JupyterSystemEnv.
            base = home / "anaconda3" / "envs"
            base.mkdir(parents=True)
            for name, interp in (("python3", py310), ("pytorch", py312)):
                envs[name] = make_env(interp, base / name, wheels[interp], ["ipykernel"], user)
            # SageMaker's own environment: has boto3, no kernel; the scripts skip it.
            envs["JupyterSystemEnv"] = make_env(
                py, base / "JupyterSystemEnv", wheels[py], ["boto3"], user
            )
            subprocess.run(["chown", "-R", f"{user}:{user}", str(home / "anaconda3")], check=True)
        else:
            made.append(Path("/opt/conda"))
            envs["conda"] = make_env(
                py312, Path("/opt/conda"), wheels[py312], ["ipykernel", "boto3"], user
            )
        yield Machine(user, home, envs, wheels[py], made, users)
    finally:
        for path in reversed(made):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists():
                path.unlink()
        for name in users:
            subprocess.run(["userdel", "--remove", name], capture_output=True)


def built_artifact(tmp: Path) -> artifact.Built:
    """The wheelhouse of this checkout (pip's cache makes rebuilds quick)."""
    return artifact.build(tmp / "artifact")


def bumped_artifact(tmp: Path, version: str) -> artifact.Built:
    """The wheelhouse of this checkout with nbsecrets as ``version``: the next release."""
    tree = tmp / "next-release"
    for part in ("pyproject.toml", "README.md", "src", "lifecycle-config", "notebooks"):
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, tree / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (tree / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tree / part)
    (tree / "src" / "nbsecrets" / "_version.py").write_text(f'__version__ = "{version}"\n')
    wheels = tmp / "next-wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(tree)],
        check=True,
        capture_output=True,
    )
    [wheel] = wheels.glob("nbsecrets-*.whl")
    return artifact.build(tmp / "next-artifact", wheel=wheel)


BUCKET = "team-artifacts"


@contextmanager
def simulated(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    """A :func:`machine` of ``kind`` with the wheelhouse of this checkout in ``built``."""
    tmp = tmp_path_factory.mktemp(kind)
    with machine(kind, tmp) as m:
        m.built = built_artifact(tmp)
        yield m


def publish(
    m: Machine, secret: str, key: str, built: artifact.Built | None = None
) -> artifact.Artifact:
    """Upload the machine's wheelhouse (or ``built``) to s3://team-artifacts/nbsecrets/ and
    store ``key`` as the secret ``secret``, as an admin does before deploying."""
    built = built or m.built
    assert built is not None
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    up = artifact.upload(s3, built, f"s3://{BUCKET}/nbsecrets/")
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    try:
        sm.create_secret(Name=secret, SecretString=key)
    except sm.exceptions.ResourceExistsException:
        pass
    return up


def tamper(m: Machine, up: artifact.Artifact, tmp: Path) -> None:
    """Replace the uploaded artifact: same key, other content (another nbsecrets version)."""
    assert m.built is not None
    evil = tmp / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(m.built.wheel, arcname="wheelhouse/nbsecrets-9.9.9-py3-none-any.whl")
    boto3.client("s3").upload_file(str(evil), up.bucket, up.key)


def run_script(
    text: str, path: Path, env: dict[str, str], user: Machine | None = None
) -> tuple[subprocess.CompletedProcess[str], int | None]:
    """Run a lifecycle script as SageMaker does (as root, or as ``user``), within 5 minutes.

    Returns the process and the pid of the background install it started.
    """
    path.write_text(text)
    path.chmod(0o755)
    base = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        **env,
    }
    if user is None:
        done = subprocess.run(
            ["bash", str(path)], env=base, capture_output=True, text=True, timeout=LIMIT_S
        )
    else:
        done = user.run_as_user(["bash", str(path)], env, timeout=LIMIT_S)
    match = re.search(r"pid (\d+)", done.stdout)
    return done, int(match.group(1)) if match else None


def wait_for(pid: int | None, limit_s: float = 240) -> None:
    """Wait until the background install ``pid`` has ended."""
    assert pid is not None
    deadline = time.monotonic() + limit_s
    while Path(f"/proc/{pid}").exists():
        stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else ""
        if stat.split(") ")[-1].startswith("Z"):
            break
        if time.monotonic() > deadline:
            pytest.fail(f"the background install {pid} still runs after {limit_s} s")
        time.sleep(0.5)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def aws_for_kernel(aws_env: dict[str, str]) -> dict[str, str]:
    """The role's credentials and the endpoint, as a SageMaker kernel has them (no region,
    no NBSECRETS_* settings: those come from what on-start wrote)."""
    return {
        k: aws_env[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }


__all__ = [
    "ROOT",
    "Machine",
    "aws_for_kernel",
    "built_artifact",
    "bumped_artifact",
    "digest",
    "machine",
    "publish",
    "python_version",
    "run_script",
    "simulated",
    "tamper",
    "target_python",
    "wait_for",
]
