"""The job guard: once a key is loaded, a SageMaker request carrying it is refused unsent.

Requests go through raw boto3 clients over HTTP to a counting proxy in front of moto, so
"nothing was sent" is counted at the proxy, not assumed. moto implements only some of these
operations; the guard must refuse before sending either way.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import boto3
import botocore.session
import pytest

import nbsecrets
from nbsecrets.jobs import guard
from nbsecrets.jobs.guard import GUARDED, KeyInRequestError

KEY = "sk-guard-0123456789abcdefghijklmnopqrstuv"
ROLE = "arn:aws:iam::123456789012:role/training-job"
ENV = {"OPENAI_API_KEY": KEY}

# Where each operation would carry the key: a dotted path ("[]" is a list of one item) and
# what sits at its end. Operations with no environment of their own carry it in a tag.
PLACES: dict[str, tuple[str, object]] = {
    "CreateAlgorithm": (
        "ValidationSpecification.ValidationProfiles[].TrainingJobDefinition.HyperParameters",
        ENV,
    ),
    "CreateAppImageConfig": (
        "JupyterLabAppImageConfig.ContainerConfig.ContainerEnvironmentVariables",
        ENV,
    ),
    "CreateAutoMLJob": ("Tags[].Value", KEY),
    "CreateAutoMLJobV2": ("Tags[].Value", KEY),
    "CreateCompilationJob": ("Tags[].Value", KEY),
    "CreateDataQualityJobDefinition": ("DataQualityAppSpecification.Environment", ENV),
    "CreateEndpoint": ("Tags[].Value", KEY),
    "CreateEndpointConfig": ("Tags[].Value", KEY),
    "CreateHyperParameterTuningJob": ("TrainingJobDefinition.Environment", ENV),
    "CreateInferenceComponent": ("Specification.Container.Environment", ENV),
    "CreateInferenceRecommendationsJob": ("Tags[].Value", KEY),
    "CreateModel": ("Containers[].Environment", ENV),
    "CreateModelBiasJobDefinition": ("ModelBiasAppSpecification.Environment", ENV),
    "CreateModelExplainabilityJobDefinition": (
        "ModelExplainabilityAppSpecification.Environment",
        ENV,
    ),
    "CreateModelPackage": ("InferenceSpecification.Containers[].Environment", ENV),
    "CreateModelQualityJobDefinition": ("ModelQualityAppSpecification.Environment", ENV),
    "CreateMonitoringSchedule": (
        "MonitoringScheduleConfig.MonitoringJobDefinition.Environment",
        ENV,
    ),
    "CreateNotebookInstanceLifecycleConfig": (
        "OnStart[].Content",
        base64.b64encode(f"export OPENAI_API_KEY={KEY}\n".encode()).decode(),
    ),
    "CreateOptimizationJob": ("OptimizationEnvironment", ENV),
    "CreatePipeline": (
        "PipelineDefinition",
        json.dumps({"Steps": [{"Arguments": {"Environment": ENV}}]}),
    ),
    "CreateProcessingJob": ("Environment", ENV),
    "CreateStudioLifecycleConfig": (
        "StudioLifecycleConfigContent",
        base64.b64encode(f"#!/bin/bash\nOPENAI_API_KEY={KEY} jupyter lab\n".encode()).decode(),
    ),
    "CreateTrainingJob": ("HyperParameters", {"api_key": KEY}),
    "CreateTransformJob": ("Environment", ENV),
    "StartPipelineExecution": ("PipelineParameters[].Value", KEY),
    "UpdateAppImageConfig": (
        "CodeEditorAppImageConfig.ContainerConfig.ContainerEnvironmentVariables",
        ENV,
    ),
    "UpdateEndpoint": ("EndpointConfigName", KEY),
    "UpdateNotebookInstanceLifecycleConfig": (
        "OnCreate[].Content",
        base64.b64encode(KEY.encode()).decode(),
    ),
    "UpdatePipeline": ("PipelineDefinition", json.dumps({"Environment": ENV})),
}
# Updates that take the same input as their Create twin carry the key in the same place.
PLACES.update(
    {
        f"Update{thing}": PLACES[f"Create{thing}"]
        for thing in ("InferenceComponent", "ModelPackage", "MonitoringSchedule")
    }
)


def nest(path: str, leaf: object) -> dict:
    """``"A[].B"`` and a leaf -> ``{"A": [{"B": leaf}]}``."""
    obj: object = leaf
    for part in reversed(path.split(".")):
        name, is_list = part.removesuffix("[]"), part.endswith("[]")
        obj = {name: [obj] if is_list else obj}
    return obj  # type: ignore[return-value]


def call(client, op: str, params: dict):
    """Call ``op`` (e.g. CreateTrainingJob) through the client's own method for it."""
    [method] = [m for m, api in client.meta.method_to_api_mapping.items() if api == op]
    return getattr(client, method)(**params)


def training_job(name: str, environment: dict[str, str]) -> dict:
    """A CreateTrainingJob request moto accepts."""
    return {
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
            "TrainingInputMode": "File",
        },
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "Environment": environment,
    }


@pytest.fixture
def loaded(seed, proxy):
    """A SageMaker client made BEFORE the key is loaded, then the key loaded by the API."""
    seed("nbsecrets/openai", KEY)
    client = boto3.client("sagemaker", region_name="us-east-1")
    nbsecrets.load("openai")
    proxy.requests.clear()
    proxy.bodies.clear()
    return client


def _python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with this environment; it must exit 0."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_every_guarded_operation_is_a_sagemaker_operation_and_has_a_test():
    model = botocore.session.get_session().get_service_model("sagemaker")
    assert set(GUARDED) <= set(model.operation_names)
    assert set(PLACES) == set(GUARDED)
    for op in (
        "CreateTrainingJob",
        "CreateProcessingJob",
        "CreateModel",
        "CreateTransformJob",
        "CreateHyperParameterTuningJob",
        "CreateEndpointConfig",
        "CreateAutoMLJobV2",
    ):
        assert op in GUARDED


@pytest.mark.parametrize("op", sorted(GUARDED))
def test_a_loaded_key_is_refused_before_it_is_sent(loaded, proxy, op):
    path, leaf = PLACES[op]
    with pytest.raises(KeyInRequestError) as err:
        call(loaded, op, nest(path, leaf))
    message = str(err.value)
    assert message.startswith(f"{op} was not sent: ")
    assert "openai key loaded in this process" in message
    assert "environment=nbsecrets.job_environment('openai')" in message
    assert KEY not in message and KEY[5:17] not in message
    assert proxy.requests == []  # nothing left the process


def test_without_the_guard_the_same_call_fails_otherwise(loaded, proxy, monkeypatch):
    """The refusal above is the guard's: switched off, the request goes out (or botocore's
    own validation complains), never KeyInRequestError."""
    monkeypatch.setenv("NBSECRETS_GUARD", "0")
    for op in sorted(GUARDED):
        path, leaf = PLACES[op]
        with pytest.raises(Exception) as err:  # anything but ours
            call(loaded, op, nest(path, leaf))
        assert not isinstance(err.value, KeyInRequestError), op


def test_guard_off_sends_the_value_as_asked(loaded, proxy, monkeypatch):
    monkeypatch.setenv("NBSECRETS_GUARD", "0")
    loaded.create_training_job(**training_job("off", ENV))
    assert proxy.actions("sagemaker.") == ["CreateTrainingJob"]
    assert KEY.encode() in proxy.bodies[0]


def test_a_run_of_the_key_or_an_encoded_form_is_caught(loaded, proxy):
    for value in (
        KEY[3:19],
        f"Bearer {KEY}",
        base64.b64encode(KEY.encode()).decode(),
        json.dumps({"token": KEY}),
    ):
        with pytest.raises(KeyInRequestError, match=r"Environment\.TOKEN holds the openai"):
            loaded.create_processing_job(
                ProcessingJobName="p",
                RoleArn=ROLE,
                ProcessingResources={},
                AppSpecification={},
                Environment={"TOKEN": value},
            )
    assert proxy.requests == []


def test_references_pass_and_carry_no_value(loaded, proxy):
    env = nbsecrets.job_environment("openai")
    loaded.create_training_job(**training_job("byref", env))
    loaded.create_processing_job(
        ProcessingJobName="byref",
        RoleArn=ROLE,
        Environment=env,
        ProcessingResources={
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 10,
            }
        },
        AppSpecification={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/p:1"},
    )
    loaded.create_model(
        ModelName="byref",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={
            "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1",
            "Environment": env,
        },
    )
    assert proxy.actions("sagemaker.") == [
        "CreateTrainingJob",
        "CreateProcessingJob",
        "CreateModel",
    ]
    for body in proxy.bodies:
        assert b"NBSECRETS_KEYS" in body and KEY.encode() not in body
        assert KEY[10:22].encode() not in body


def test_other_services_and_reads_are_not_checked(loaded, proxy):
    # The guard looks at SageMaker's guarded operations only: a key stored in Secrets Manager
    # is the point of nbsecrets, and reading a job is harmless.
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    sm.create_secret(Name="other/openai", SecretString=KEY)
    loaded.list_training_jobs()
    assert proxy.actions("secretsmanager.") == ["CreateSecret"]


def test_a_broken_config_file_does_not_switch_the_guard_off(loaded, aws_env):
    with open(aws_env["NBSECRETS_CONFIG"], "w") as f:
        f.write("guard = [not toml\n")
    with pytest.raises(KeyInRequestError):
        loaded.create_training_job(**training_job("x", ENV))


def test_install_is_once_per_process():
    assert guard.installed()  # the fixtures above loaded keys in this process
    assert guard.install() is False


def test_a_fresh_process_guards_clients_of_any_session_made_before_the_load(seed, aws_env):
    """No test of this process has installed anything: import, load, and the wiring works
    for a client from boto3's default session and one from a separate botocore session."""
    seed("nbsecrets/openai", KEY)
    code = (
        "import boto3, botocore.session, sys\n"
        "early = boto3.client('sagemaker', region_name='us-east-1')\n"
        "other = botocore.session.Session().create_client('sagemaker', region_name='us-east-1')\n"
        "import nbsecrets\n"
        "from nbsecrets.jobs import guard\n"
        "assert not guard.installed()\n"
        "nbsecrets.load('openai')\n"
        "late = boto3.Session().client('sagemaker', region_name='us-east-1')\n"
        "for client in (early, other, late):\n"
        "    try:\n"
        "        client.create_model(ModelName='m', PrimaryContainer={'Environment': "
        "{'K': __import__('os').environ['OPENAI_API_KEY']}})\n"
        "    except guard.KeyInRequestError as exc:\n"
        "        print('refused:', exc)\n"
    )
    done = _python(code)
    lines = done.stdout.splitlines()
    refused = "refused: CreateModel was not sent: PrimaryContainer.Environment.K holds"
    assert len(lines) == 3 and all(line.startswith(refused) for line in lines)
    assert KEY not in done.stdout + done.stderr


def test_the_guard_works_in_ipython(ip, seed, proxy):
    seed("nbsecrets/openai", KEY)
    ip.run_line_magic("aikey", "openai")
    ip.user_ns["sagemaker"] = boto3.client("sagemaker", region_name="us-east-1")
    proxy.requests.clear()
    result = ip.run_cell(
        "sagemaker.create_transform_job(TransformJobName='t', "
        "Environment={'OPENAI_API_KEY': __import__('os').environ"
        "['OPENAI_API_KEY']})"
    )
    assert isinstance(result.error_in_exec, KeyInRequestError)
    assert proxy.requests == []


def test_guard_false_in_the_config_file_turns_it_off(loaded, proxy, aws_env):
    with open(aws_env["NBSECRETS_CONFIG"], "w") as f:
        f.write("guard = false\n")
    loaded.create_training_job(**training_job("file-off", ENV))
    assert proxy.actions("sagemaker.") == ["CreateTrainingJob"]


def test_a_value_registered_before_botocore_is_guarded_once_botocore_loads(aws_env):
    """Registration imports no botocore; the guard installs itself when botocore loads."""
    code = (
        "import sys\n"
        "import nbsecrets\n"
        "from nbsecrets import redaction\n"
        "from nbsecrets.jobs import guard\n"
        f"redaction.register('openai', {KEY!r})\n"
        "print('botocore' in sys.modules, guard.installed())\n"
        "import boto3\n"
        "print(guard.installed())\n"
        "client = boto3.client('sagemaker', region_name='us-east-1')\n"
        "try:\n"
        f"    client.create_model(ModelName='m', PrimaryContainer={{'Environment': "
        f"{{'K': {KEY!r}}}}})\n"
        "except guard.KeyInRequestError as exc:\n"
        "    print(str(exc).split(':')[0])\n"
    )
    done = _python(code)
    assert done.stdout.splitlines() == ["False False", "True", "CreateModel was not sent"]


def test_the_guard_does_not_depend_on_the_redaction_setting(loaded, proxy, monkeypatch):
    monkeypatch.setenv("NBSECRETS_REDACT", "0")
    with pytest.raises(KeyInRequestError):
        loaded.create_training_job(**training_job("redact-off", ENV))
    assert proxy.requests == []


def test_a_value_nested_deeper_than_any_request_is_still_found(loaded, proxy):
    deep: object = {"K": KEY}
    for _ in range(60):
        deep = [deep]
    with pytest.raises(KeyInRequestError, match=r"^CreateModel was not sent: Containers"):
        loaded.create_model(ModelName="m", Containers=deep)
    assert proxy.requests == []
