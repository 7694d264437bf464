"""``nbsecrets demo``: the whole flow on a local emulator, with no AWS account.

Starts a moto server on loopback, seeds demo keys, executes ``notebooks/quickstart.ipynb``
against it in a real kernel and prints what the notebook showed. The seeded values are random
and are checked to appear nowhere in the executed notebook.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["DEMO_REGION", "DEMO_ROLE", "emulator", "quickstart_path", "run", "seed", "seed_role"]

DEMO_REGION = "us-east-1"
# Demo keys are random per run; the prefixes only make them look like what they stand for.
_DEMO_KEYS = {
    "openai": "sk-demo-",
    "anthropic": "sk-ant-demo-",
    "huggingface": "hf_demo",
    "mistral": "demo-mistral-",
}


def quickstart_path() -> Path:
    """The quickstart notebook: shipped in the wheel, or in the source tree."""
    here = Path(__file__).resolve().parent
    for candidate in (
        here / "_shipped" / "quickstart.ipynb",
        here.parents[1] / "notebooks" / "quickstart.ipynb",
    ):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("quickstart.ipynb is missing from this installation")


@contextmanager
def emulator(port: int = 0) -> Iterator[str]:
    """Run a moto server on 127.0.0.1 and yield its endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise SystemExit("The demo needs the emulator: pip install 'nbsecrets[demo]'") from None
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, real_port = server.get_host_and_port()
    try:
        yield f"http://{host}:{real_port}"
    finally:
        server.stop()


def demo_environment(endpoint: str, workdir: Path) -> dict[str, str]:
    """Variables that point boto3 (and so nbsecrets) at the emulator, isolated from the user's."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": DEMO_REGION,
        "AWS_DEFAULT_REGION": DEMO_REGION,
        "AWS_ACCESS_KEY_ID": "demo",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_CONFIG_FILE": str(workdir / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "aws-credentials"),
        "NBSECRETS_CONFIG": str(workdir / "nbsecrets.toml"),
        "NBSECRETS_PREFIX": "nbsecrets/",
        "IPYTHONDIR": str(workdir / "ipython"),
    }


def seed(client: Any) -> dict[str, str]:
    """Create the demo secrets with ``client`` (a Secrets Manager client); return the values.

    ``nbsecrets/openai`` holds a raw key, ``nbsecrets/anthropic`` a JSON object with
    ``api_key``, and ``demo/bundle`` one JSON object holding two providers' keys.
    """
    values = {p: prefix + secrets.token_urlsafe(24) for p, prefix in _DEMO_KEYS.items()}
    client.create_secret(Name="nbsecrets/openai", SecretString=values["openai"])
    client.create_secret(
        Name="nbsecrets/anthropic", SecretString=json.dumps({"api_key": values["anthropic"]})
    )
    client.create_secret(
        Name="demo/bundle",
        SecretString=json.dumps(
            {"huggingface": values["huggingface"], "mistral": values["mistral"]}
        ),
    )
    return values


DEMO_ROLE = "nbsecrets-demo-notebook"


def seed_role(iam: Any, region: str = DEMO_REGION, account: str = "123456789012") -> str:
    """Create the role ``nbsecrets-demo-notebook`` with the least-privilege policy inline."""
    from nbsecrets.admin.policy import POLICY_NAME, PolicyOptions, policy_document

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
            }
        ],
    }
    arn = iam.create_role(RoleName=DEMO_ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    policy = policy_document(PolicyOptions(region=region, account=account))
    iam.put_role_policy(
        RoleName=DEMO_ROLE, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy)
    )
    return arn


def _summary(nb: Any) -> list[str]:
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines.append("In:  " + cell.source.strip().replace("\n", "\n     "))
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                text = out.text
            elif out.output_type == "error":
                text = f"{out.ename}: {out.evalue}"
            else:
                text = out.get("data", {}).get("text/plain", "")
            for line in str(text).rstrip().splitlines():
                lines.append("Out: " + line)
    return lines


def execute(nb: Any, workdir: Path, timeout_s: int = 120) -> Any:
    """Execute ``nb`` in a fresh kernel of this interpreter, started in ``workdir``.

    The kernel talks over local IPC sockets rather than TCP.
    """
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    km = KernelManager(
        kernel_name="python3", transport="ipc", connection_file=str(workdir / "kernel.json")
    )
    client = NotebookClient(
        nb, km=km, timeout=timeout_s, resources={"metadata": {"path": str(workdir)}}
    )
    try:
        return client.execute()
    finally:
        if km.has_kernel:
            km.shutdown_kernel()  # nbclient leaves a kernel it did not start running


def run(*, lab: bool = False, keep: Path | None = None) -> int:
    """Run the demo; return a process exit code."""
    try:
        import nbformat
    except ImportError:
        print("The demo needs its extras: pip install 'nbsecrets[demo]'", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="nbsecrets-demo-") as tmp, emulator() as endpoint:
        workdir = Path(tmp)
        os.environ.update(demo_environment(endpoint, workdir))
        for var in (
            "AWS_PROFILE",
            "NBSECRETS_REGION",
            "NBSECRETS_ROLE_ARN",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            "AWS_SESSION_TOKEN",
        ):
            os.environ.pop(var, None)
        from nbsecrets.aws.store import Store

        store = Store()  # after the variables above: it talks to the emulator
        values = seed(store.client("secretsmanager"))
        role = seed_role(store.client("iam"))
        print(
            f"Emulator: moto on {endpoint} ({DEMO_REGION}), seeded nbsecrets/openai, "
            "nbsecrets/anthropic and demo/bundle with random demo keys, and the "
            f"least-privilege role {role}."
        )
        notebook = workdir / "quickstart.ipynb"
        notebook.write_bytes(quickstart_path().read_bytes())
        if lab:
            return _lab(workdir)
        nb = nbformat.read(notebook, as_version=4)
        print(f"Executing {quickstart_path().name} in a real kernel ({sys.executable})...\n")
        execute(nb, workdir)
        out = keep or Path.cwd() / "nbsecrets-demo.ipynb"
        nbformat.write(nb, out)
        print("\n".join(_summary(nb)))
        saved = out.read_text(encoding="utf-8")
        leaked = [p for p, v in values.items() if v in saved]
        print()
        if leaked:
            print(f"LEAK: the executed notebook contains the value of {', '.join(leaked)}.")
            return 1
        print(
            f"Executed notebook saved to {out}; none of the {len(values)} demo key values "
            "appears in it."
        )
        return 0


def _lab(workdir: Path) -> int:
    import subprocess

    print(f"Starting JupyterLab in {workdir} against the emulator; Ctrl-C stops it.")
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ip=127.0.0.1",
        f"--notebook-dir={workdir}",
        "--LabApp.default_url=/lab/tree/quickstart.ipynb",
    ]
    if os.environ.get("CI") or not (os.environ.get("DISPLAY") or sys.platform == "darwin"):
        cmd.append("--no-browser")  # print the URL to open instead
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and SageMaker-like images often run as root
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 0
