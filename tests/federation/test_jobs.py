"""Jobs and federated providers: the notebook passes the reference only, and the job's entry
point federates with the job's own role (a real ``nbsecrets run`` process, whose STS calls are
signed with the job role's credentials from moto's AssumeRole)."""

from __future__ import annotations

import os
import subprocess
import sys

import boto3

import nbsecrets
from tests.conftest import REGION, SAGEMAKER_TRUST
from tests.federation.conftest import ANTHROPIC_AUD
from tests.federation.jwts import decode

JOB_ROLE = "arn:aws:iam::123456789012:role/job-exec"

CHILD = (
    "import os, urllib.request\n"
    "req = urllib.request.Request(os.environ['OPENAI_BASE_URL'] + '/models',\n"
    "    headers={'Authorization': 'Bearer ' + os.environ['OPENAI_API_KEY']})\n"
    "print('openai', urllib.request.urlopen(req, timeout=5).status)\n"
    "print('anthropic file', os.path.exists(os.environ['ANTHROPIC_IDENTITY_TOKEN_FILE']))\n"
    "print('no key', 'ANTHROPIC_API_KEY' not in os.environ)\n"
)


def test_job_environment_names_a_federated_provider_only(keyless):
    env = nbsecrets.job_environment("openai", "anthropic")
    assert env["NBSECRETS_KEYS"] == "openai,anthropic"
    assert not keyless.sts.calls and keyless.openai.exchanges == 0  # nothing minted here
    assert not any(v.startswith("eyJ") or v in keyless.openai.issued for v in env.values())


def test_the_job_federates_with_its_own_role(keyless, iam):
    iam.create_role(RoleName="job-exec", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    keyless.openai.rules.clear()  # only the job role is accepted, not the notebook's
    keyless.openai.add_rule(keyless.openai_provider, {"sub": JOB_ROLE}, "svc_nb")
    iid = next(iter(keyless.anthropic.issuers))
    keyless.anthropic.add_rule(
        iid, {"subject_prefix": JOB_ROLE, "audience": ANTHROPIC_AUD}, "svac_nb"
    )
    creds = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=JOB_ROLE, RoleSessionName="job"
    )["Credentials"]
    env = {
        **os.environ,
        **nbsecrets.job_environment("openai", "anthropic"),
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
        "ANTHROPIC_API_KEY": "sk-ant-should-not-reach-the-job-0000",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "nbsecrets.cli", "run", "--", sys.executable, "-c", CHILD],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "openai 200" in proc.stdout
    assert "anthropic file True" in proc.stdout and "no key True" in proc.stdout
    assert keyless.openai.exchanges == 1
    claims = [decode(t)[1] for t in keyless.sts.tokens]
    assert {c["sub"] for c in claims} == {JOB_ROLE}
