"""The notebook side: job_environment names keys for a job, never a value, with no request."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

import nbsecrets
from nbsecrets.aws import transport
from nbsecrets.aws.sagemaker import sagemaker_region
from nbsecrets.errors import ConfigError
from nbsecrets.jobs import environment


def test_job_environment_names_keys_and_sends_nothing(proxy):
    env = nbsecrets.job_environment("openai", "hf", "claude=team/bundle#anthropic")
    assert env == {
        "NBSECRETS_KEYS": "openai,huggingface,anthropic=team/bundle#anthropic",
        "NBSECRETS_PREFIX": "nbsecrets/",
        "NBSECRETS_REGION": "us-east-1",
    }
    assert proxy.requests == []  # names only: no AWS request at all


def test_job_environment_carries_prefix_region_and_replicas(monkeypatch):
    monkeypatch.setenv("NBSECRETS_PREFIX", "team/")
    monkeypatch.setenv("NBSECRETS_REGION", "eu-west-1")
    monkeypatch.setenv("NBSECRETS_FALLBACK_REGIONS", "eu-central-1, us-east-1")
    env = nbsecrets.job_environment("openai", "openai=team/openai")  # the same key twice
    assert env == {
        "NBSECRETS_KEYS": "openai",
        "NBSECRETS_PREFIX": "team/",
        "NBSECRETS_REGION": "eu-west-1",
        "NBSECRETS_FALLBACK_REGIONS": "eu-central-1,us-east-1",
    }


def test_job_environment_reads_back_as_the_same_keys(monkeypatch):
    env = nbsecrets.job_environment(
        "openai",
        "anthropic=arn:aws:secretsmanager:us-east-1:"
        "123456789012:secret:team/bundle-AbCdEf#anthropic",
    )
    config = nbsecrets.api.store().config
    assert [config.ref(n) for n in environment.keys_named(env)] == [
        config.ref("openai"),
        config.ref(
            "anthropic=arn:aws:secretsmanager:us-east-1:123456789012:secret:"
            "team/bundle-AbCdEf#anthropic"
        ),
    ]


@pytest.mark.parametrize(
    ("names", "says"),
    [
        ((), "Name at least one key"),
        (("",), "names no provider"),
        (("openai=",), "is incomplete"),
        (("openai", "openai=other/secret"), "named twice"),
        (("openai=bundle#a,b",), "holds a comma"),
        (
            tuple(
                f"p{i}=arn:aws:secretsmanager:us-east-1:123456789012:secret:team/k{i}-AbCdEf"
                for i in range(20)
            ),
            "more than the 1024",
        ),
    ],
)
def test_job_environment_refuses_bad_names_in_one_sentence(names, says):
    with pytest.raises(ConfigError, match=says) as err:
        nbsecrets.job_environment(*names)
    assert "\n" not in str(err.value)


def test_a_provider_from_the_config_file_cannot_be_named_to_a_job(aws_env):
    Path(aws_env["NBSECRETS_CONFIG"]).write_text('[providers]\nopenai = ["MY_OPENAI"]\n')
    with pytest.raises(ConfigError, match=r"\[providers\] table in .*NBSECRETS_CONFIG"):
        nbsecrets.job_environment("openai")
    assert nbsecrets.job_environment("hf")["NBSECRETS_KEYS"] == "huggingface"


def test_job_environment_sends_nothing_even_with_a_role_to_assume(proxy, monkeypatch):
    monkeypatch.setenv("NBSECRETS_ROLE_ARN", "arn:aws:iam::123456789012:role/somebody")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")  # boto3's own resolution
    assert nbsecrets.job_environment("openai")["NBSECRETS_REGION"] == "eu-west-3"
    assert proxy.requests == []


def test_without_a_region_the_job_uses_its_own(monkeypatch, tmp_path):
    # The SageMaker metadata file is read from tmp_path, not from this machine's /opt/ml.
    meta = tmp_path / "resource-metadata.json"
    monkeypatch.setattr(transport, "sagemaker_region", functools.partial(sagemaker_region, meta))
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert nbsecrets.job_environment("openai") == {
        "NBSECRETS_KEYS": "openai",
        "NBSECRETS_PREFIX": "nbsecrets/",
    }
    meta.write_text(
        json.dumps(
            {"ResourceArn": "arn:aws:sagemaker:eu-north-1:123456789012:notebook-instance/nb"}
        )
    )
    assert nbsecrets.job_environment("openai")["NBSECRETS_REGION"] == "eu-north-1"
