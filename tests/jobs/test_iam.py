"""`nbsecrets run` with a job role's credentials on a moto server that enforces IAM.

The job role holds the actions of `nbsecrets policy --provider openai --no-list` (Resource
widened to ``*``, moto's limit: see tests/admin/test_enforcement.py, whose server fixture this
reuses); a bare role holds none. The first hands the program its key with no ListSecrets;
the second fails in one line that names the role and the command that grants it.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import boto3
import pytest

from nbsecrets.admin.policy import PolicyOptions
from tests.admin.test_enforcement import NO_SECRETS, _post, assumer, auth_server, widened  # noqa: F401

REGION = "us-east-1"
KEY = "sk-job-iam-0123456789abcdefghijklmnopqr"
CHILD = (
    "import hashlib, os; print(hashlib.sha256(os.environ['OPENAI_API_KEY'].encode()).hexdigest())"
)
JOB_POLICY = PolicyOptions(
    region=REGION, account="123456789012", providers=("openai",), list_secrets=False
)


@pytest.fixture
def job_roles(auth_server, tmp_path):  # noqa: F811
    """Roles `training-job` (the job policy) and `bare`; returns env(role) for the container."""
    _post(f"{auth_server}/moto-api/reset")
    _post(f"{auth_server}/moto-api/reset-auth", b"inf")  # setup window
    admin = {"region_name": REGION, "endpoint_url": auth_server}
    boto3.client("secretsmanager", **admin).create_secret(Name="nbsecrets/openai", SecretString=KEY)
    iam = boto3.client("iam", **admin)
    policy = widened(JOB_POLICY)
    assert "secretsmanager:ListSecrets" not in json.dumps(policy)
    key = assumer(iam, "sagemaker", {"training-job": policy, "bare": NO_SECRETS})
    _post(f"{auth_server}/moto-api/reset-auth", b"0")  # every request checked from here
    sts = boto3.client(
        "sts",
        **admin,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )

    def env(role: str) -> dict[str, str]:
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::123456789012:role/{role}", RoleSessionName="SageMaker"
        )["Credentials"]
        return {
            "NBSECRETS_KEYS": "openai",
            "NBSECRETS_PREFIX": "nbsecrets/",
            "NBSECRETS_REGION": REGION,
            "AWS_ENDPOINT_URL": auth_server,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"],
            "HOME": str(tmp_path),
        }

    yield env
    _post(f"{auth_server}/moto-api/reset-auth", b"inf")


def run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nbsecrets.cli", "run", "--", sys.executable, "-c", CHILD],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_job_policy_is_enough_for_nbsecrets_run(job_roles):
    done = run(job_roles("training-job"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == hashlib.sha256(KEY.encode()).hexdigest()
    assert KEY not in done.stderr


def test_a_bare_job_role_is_told_what_to_add(job_roles):
    done = run(job_roles("bare"))
    assert done.returncode == 1 and done.stdout == ""
    role = "arn:aws:iam::123456789012:role/bare"
    assert done.stderr.splitlines() == [
        f"nbsecrets: The role in use, {role}, may not read nbsecrets/openai; an admin grants "
        f"it with `nbsecrets provision --role {role} --provider openai --no-list` "
        "(`nbsecrets policy --provider openai --no-list` prints that policy)."
    ]
