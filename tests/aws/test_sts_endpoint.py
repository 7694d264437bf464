"""STS through its regional endpoint whatever the botocore version: botocore before 1.40
sends STS of us-east-1 (and the other older regions) to the global https://sts.amazonaws.com,
which a VPC's STS interface endpoint does not serve. The transport names the regional endpoint
itself; the lifecycle scripts also export AWS_STS_REGIONAL_ENDPOINTS=regional for the kernels'
own boto3. Checked here with the installed botocore and with boto3/botocore 1.37.3 (what
SageMaker Distribution 3.9 ships) in a venv of their own: the endpoint each client would use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nbsecrets.aws.transport import Transport, sts_endpoint
from nbsecrets.config import Config

ROOT = Path(__file__).resolve().parents[2]
OLD = "1.37.3"
PROBE = r"""
import json, boto3, botocore
from nbsecrets.aws.transport import Transport
from nbsecrets.config import Config
plain = boto3.client("sts", region_name="us-east-1").meta.endpoint_url
ours = Transport(Config(region="us-east-1")).client("sts").meta.endpoint_url
print(json.dumps({"botocore": botocore.__version__, "plain": plain, "ours": ours}))
"""
ENDPOINT_VARS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
)


@pytest.fixture
def no_endpoint(monkeypatch):
    for name in ENDPOINT_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def test_regional_names_per_partition(no_endpoint, monkeypatch):
    assert sts_endpoint("us-east-1") == "https://sts.us-east-1.amazonaws.com"
    assert sts_endpoint("cn-north-1") == "https://sts.cn-north-1.amazonaws.com.cn"
    assert sts_endpoint("us-gov-west-1") == "https://sts.us-gov-west-1.amazonaws.com"
    client = Transport(Config(region="eu-west-1")).client("sts")
    assert client.meta.endpoint_url == "https://sts.eu-west-1.amazonaws.com"
    # An endpoint the environment names wins (the tests' emulator, a proxy, FIPS).
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    assert sts_endpoint("us-east-1") is None
    assert Transport(Config(region="us-east-1")).client("sts").meta.endpoint_url == (
        "http://127.0.0.1:1"
    )
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_STS_REGIONAL_ENDPOINTS", "legacy")  # asked for: kept
    assert sts_endpoint("us-east-1") is None


@pytest.fixture(scope="module")
def old_boto3(tmp_path_factory):
    venv = tmp_path_factory.mktemp("old-boto3") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            f"boto3=={OLD}",
            f"botocore=={OLD}",
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.fail(f"pip install boto3=={OLD} failed: {done.stderr[-2000:]}")
    return venv / "bin" / "python"


def probe(python: Path, **env: str) -> dict[str, str]:
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src"), "HOME": "/nonexistent"}
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    done = subprocess.run(
        [str(python), "-c", PROBE],
        env={**base, **creds, "AWS_CONFIG_FILE": "/nonexistent", **env},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_old_boto3_goes_global_but_nbsecrets_goes_regional(old_boto3):
    found = probe(old_boto3)
    assert found["botocore"] == OLD
    # What the issue is about: an old botocore's own choice is the global name...
    assert found["plain"] == "https://sts.amazonaws.com"
    # ...and nbsecrets' STS client goes to the regional one all the same.
    assert found["ours"] == "https://sts.us-east-1.amazonaws.com"
    # The setting the lifecycle scripts export for kernels fixes the kernels' own boto3 too.
    fixed = probe(old_boto3, AWS_STS_REGIONAL_ENDPOINTS="regional")
    assert fixed["plain"] == fixed["ours"] == "https://sts.us-east-1.amazonaws.com"
