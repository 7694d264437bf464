"""A training job launched through the SageMaker Python SDK v2 carries only references, and its
entry point gets the key through nbsecrets; a value passed by hand is refused unsent.

The SDK (the ``sagemaker-sdk`` test extra) talks real HTTP to moto through the counting proxy,
which records each request body: moto's Describe* calls return no Environment, so the bodies
are what SageMaker would have stored. The job's container is played by a fresh process that
has only the Environment of the recorded CreateTrainingJob request, the AWS endpoint and
region, and the credentials of the job's role.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

import nbsecrets
from nbsecrets.jobs.guard import KeyInRequestError
from tests.conftest import SAGEMAKER_TRUST

OPENAI = "sk-sdk-openai-0123456789abcdefghijklmnopq"
HF = "hf_sdk_0123456789ABCDEFGHIJKLMNOPQRSTUVW"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1"
# What the SDK's defaults config needs to say so it sends no telemetry beyond loopback.
SDK_CONFIG = (
    "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"
)
ENTRY = (
    "import hashlib, json, os, sys\n"
    "import nbsecrets\n"
    "nbsecrets.load_environment()\n"
    "print(json.dumps({'sha': {v: hashlib.sha256(os.environ[v].encode()).hexdigest() "
    "for v in ('OPENAI_API_KEY', 'HF_TOKEN')}, "
    "'sdk': sorted(m for m in sys.modules if m.split('.')[0] == 'sagemaker')}))\n"
)


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture
def notebook(seed, proxy, moto_endpoint, tmp_path, monkeypatch):
    """A notebook's process: keys loaded, a SageMaker SDK session on the emulator, a job role."""
    seed("nbsecrets/openai", OPENAI)
    seed("nbsecrets/huggingface", HF)
    boto3.client("s3", region_name="us-east-1", endpoint_url=moto_endpoint).create_bucket(
        Bucket="jobs"
    )
    role = boto3.client("iam", region_name="us-east-1").create_role(
        RoleName="training-job", AssumeRolePolicyDocument=SAGEMAKER_TRUST
    )["Role"]["Arn"]
    config = tmp_path / "sagemaker.yaml"
    config.write_text(SDK_CONFIG)
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
    monkeypatch.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", str(config))
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    import sagemaker

    session = sagemaker.Session(
        boto_session=boto3.Session(region_name="us-east-1"), default_bucket="jobs"
    )
    nbsecrets.load("openai", "hf")  # what %aikey openai hf does in the notebook
    proxy.requests.clear()
    proxy.bodies.clear()
    return session, role


def estimator(session, role: str, environment: dict[str, str]):
    from sagemaker.estimator import Estimator

    return Estimator(
        image_uri=IMAGE,
        role=role,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path="s3://jobs/out",
        sagemaker_session=session,
        environment=environment,
    )


def sent(proxy, action: str) -> list[dict]:
    return [
        json.loads(body)
        for label, body in zip(proxy.requests, proxy.bodies, strict=True)
        if label == f"sagemaker.{action}"
    ]


def no_key_in(bodies: list[bytes]) -> bool:
    return not any(
        v[i : i + 12].encode() in body
        for body in bodies
        for v in (OPENAI, HF)
        for i in range(len(v) - 11)
    )


def test_a_training_job_carries_references_and_its_entry_point_gets_the_keys(
    notebook, proxy, tmp_path
):
    session, role = notebook
    estimator(session, role, {**nbsecrets.job_environment("openai", "hf"), "EPOCHS": "3"}).fit(
        wait=False, job_name="by-reference"
    )
    [request] = sent(proxy, "CreateTrainingJob")
    assert request["Environment"] == {
        "NBSECRETS_KEYS": "openai,huggingface",
        "NBSECRETS_PREFIX": "nbsecrets/",
        "NBSECRETS_REGION": "us-east-1",
        "EPOCHS": "3",
    }
    assert no_key_in(proxy.bodies)
    job = boto3.client("sagemaker", region_name="us-east-1").describe_training_job(
        TrainingJobName="by-reference"
    )
    assert job["RoleArn"] == role  # moto has the job

    # The container: the job's Environment, the endpoint, and the job role's credentials.
    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=role, RoleSessionName="SageMaker"
    )["Credentials"]
    container = {
        **request["Environment"],
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
        "HOME": str(tmp_path),
    }
    entry = tmp_path / "train.py"
    entry.write_text(ENTRY)
    for argv in (
        [sys.executable, str(entry)],  # load_environment() in the entry point
        [sys.executable, "-m", "nbsecrets.cli", "run", "--", sys.executable, str(entry)],
    ):  # nbsecrets run -- python train.py
        done = subprocess.run(argv, env=container, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        got = json.loads(done.stdout.splitlines()[-1])
        assert got == {"sha": {"OPENAI_API_KEY": sha(OPENAI), "HF_TOKEN": sha(HF)}, "sdk": []}
        assert no_key_in([(done.stdout + done.stderr).encode()])


def test_a_value_passed_to_the_sdk_is_refused_unsent(notebook, proxy):
    session, role = notebook
    with pytest.raises(KeyInRequestError) as err:
        estimator(session, role, {"HF_TOKEN": os.environ["HF_TOKEN"]}).fit(
            wait=False, job_name="by-value"
        )
    assert str(err.value).startswith(
        "CreateTrainingJob was not sent: Environment.HF_TOKEN holds the huggingface key"
    )
    assert "environment=nbsecrets.job_environment('huggingface')" in str(err.value)
    assert sent(proxy, "CreateTrainingJob") == []
    assert no_key_in(proxy.bodies)


def test_processor_and_model_by_reference_pass_by_value_are_refused(notebook, proxy):
    from sagemaker.model import Model
    from sagemaker.processing import Processor

    session, role = notebook
    refs = nbsecrets.job_environment("openai")

    def processor(env):
        return Processor(
            role=role,
            image_uri=IMAGE,
            instance_count=1,
            instance_type="ml.m5.large",
            sagemaker_session=session,
            env=env,
        )

    def model(env, name):
        return Model(image_uri=IMAGE, role=role, env=env, sagemaker_session=session, name=name)

    processor(refs).run(wait=False, logs=False, job_name="proc-by-reference")
    model(refs, "model-by-reference").create(instance_type="ml.m5.large")
    assert [r["Environment"]["NBSECRETS_KEYS"] for r in sent(proxy, "CreateProcessingJob")] == [
        "openai"
    ]
    assert [
        r["PrimaryContainer"]["Environment"]["NBSECRETS_KEYS"] for r in sent(proxy, "CreateModel")
    ] == ["openai"]
    before = len(proxy.requests)
    value = {"OPENAI_API_KEY": os.environ["OPENAI_API_KEY"]}
    with pytest.raises(KeyInRequestError, match=r"^CreateProcessingJob was not sent"):
        processor(value).run(wait=False, logs=False, job_name="proc-by-value")
    with pytest.raises(KeyInRequestError, match=r"^CreateModel was not sent"):
        model(value, "model-by-value").create(instance_type="ml.m5.large")
    assert [a for a in proxy.requests[before:] if a.startswith("sagemaker.Create")] == []
    assert no_key_in(proxy.bodies)


def test_the_sdk_config_is_the_one_the_fixture_wrote(notebook, tmp_path):
    # The SDK read our defaults (telemetry off), so nothing it sends leaves loopback.
    session, _ = notebook
    assert session.sagemaker_config["SageMaker"]["PythonSDK"]["Modules"]["TelemetryOptOut"]
    assert Path(os.environ["SAGEMAKER_USER_CONFIG_OVERRIDE"]).read_text() == SDK_CONFIG
