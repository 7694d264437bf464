"""In a real kernel: after `%aikey`, a training job that would carry the key is refused unsent,
and the same job passed by reference is created.

The notebook runs with nbclient against the moto server; what moto holds afterwards is the
count of what was sent.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import boto3
import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REGION
from tests.kernel.test_leaks import kernel_env, notebook

pytestmark = pytest.mark.kernel

JOB = (
    "dict(RoleArn='arn:aws:iam::123456789012:role/training-job', "
    "AlgorithmSpecification={'TrainingImage': '123456789012.dkr.ecr.us-east-1.amazonaws.com/"
    "train:1', 'TrainingInputMode': 'File'}, OutputDataConfig={'S3OutputPath': "
    "'s3://bucket/out'}, ResourceConfig={'InstanceType': 'ml.m5.large', 'InstanceCount': 1, "
    "'VolumeSizeInGB': 10}, StoppingCondition={'MaxRuntimeInSeconds': 3600})"
)
CELLS = {
    # The client is made before the key is loaded, as a notebook's first cell would.
    "client": "import boto3, os\nsagemaker = boto3.client('sagemaker', region_name='us-east-1')",
    "load": "%load_ext nbsecrets\n%aikey openai",
    "by_value": f"sagemaker.create_training_job(TrainingJobName='by-value', "
    f"Environment={{'OPENAI_API_KEY': os.environ['OPENAI_API_KEY']}}, **{JOB})",
    "by_reference": "import nbsecrets\n"
    f"sagemaker.create_training_job(TrainingJobName='by-reference', "
    f"Environment=nbsecrets.job_environment('openai'), **{JOB})\nprint('sent')",
}


def test_the_kernel_refuses_a_job_that_carries_the_key(moto_endpoint, tmp_path: Path):
    key = "sk-kernel-" + secrets.token_hex(16)
    env = kernel_env(moto_endpoint, tmp_path, redact=True)
    admin = {
        "region_name": REGION,
        "endpoint_url": moto_endpoint,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    boto3.client("secretsmanager", **admin).create_secret(
        Name=env["NBSECRETS_PREFIX"] + "openai", SecretString=key
    )
    nb = notebook(CELLS)
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute(env=env)
    outputs = {cell.metadata["tags"][0]: cell.outputs for cell in nb.cells}
    [error] = outputs["by_value"]
    assert error["ename"] == "KeyInRequestError"
    assert error["evalue"].startswith(
        "CreateTrainingJob was not sent: Environment.OPENAI_API_KEY holds the openai key"
    )
    assert [o.get("text") for o in outputs["by_reference"]] == ["sent\n"]
    jobs = boto3.client("sagemaker", **admin).list_training_jobs()["TrainingJobSummaries"]
    assert [j["TrainingJobName"] for j in jobs] == ["by-reference"]
    assert key[4:16] not in nbformat.writes(nb)
