"""Test harness: a real moto server on 127.0.0.1, reached over HTTP through boto3.

Every test starts from an empty emulator, a clean environment (AWS variables pointing at the
server, no NBSECRETS_* settings, no provider variables) and a config path that does not exist.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from nbsecrets.demo import DEMO_REGION, demo_environment, emulator
from tests.keys import SHAPES
from tests.proxy import Proxy

REGION = DEMO_REGION


def trust_policy(principal: dict[str, str]) -> str:
    """A role's trust policy (JSON) that lets ``principal`` assume it."""
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


# The trust policy of a SageMaker execution role (notebook or job).
SAGEMAKER_TRUST = trust_policy({"Service": "sagemaker.amazonaws.com"})
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The moto server, started as `nbsecrets demo` starts it."""
    with emulator() as endpoint:
        yield endpoint


def closed_port() -> int:
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reset_moto(endpoint: str) -> None:
    req = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def emulator_env(endpoint: str, tmp: Path) -> dict[str, str]:
    """Standard AWS variables pointing at the emulator, with files of our own in ``tmp``: the
    demo's, without its prefix, IPython directory and default region."""
    demo_only = ("AWS_DEFAULT_REGION", "NBSECRETS_PREFIX", "IPYTHONDIR")
    return {k: v for k, v in demo_environment(endpoint, tmp).items() if k not in demo_only}


@pytest.fixture(autouse=True)
def aws_env(moto_endpoint: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    saved = dict(os.environ)
    for var in list(os.environ):
        if (
            var.startswith(("AWS_", "NBSECRETS_"))
            or var.endswith(("_API_KEY", "_API_TOKEN"))
            or var == "HF_TOKEN"
        ):
            del os.environ[var]
    env = emulator_env(moto_endpoint, tmp_path)
    os.environ.update(env)
    reset_moto(moto_endpoint)
    yield env
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def nbsecrets_state(aws_env) -> Iterator[None]:
    """nbsecrets' process state as a fresh import has it, before and after each test.

    The one place tests reset module state, through ``nbsecrets.api.reset`` (no shared
    store, the configuration read again, nothing recorded as loaded, no pending notices).
    Registered values stay registered, as they do for the life of a kernel.
    """
    from nbsecrets import api

    api.reset()
    yield
    api.reset()


@pytest.fixture
def sm(aws_env) -> object:
    """A plain boto3 Secrets Manager client on the emulator, for seeding and checking."""
    return boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def seed(sm):
    """seed(name, value) creates a secret; dicts are stored as JSON."""

    def _seed(name: str, value, **kwargs):
        if isinstance(value, dict):
            value = json.dumps(value)
        if isinstance(value, bytes):
            return sm.create_secret(Name=name, SecretBinary=value, **kwargs)
        return sm.create_secret(Name=name, SecretString=value, **kwargs)

    return _seed


@pytest.fixture
def proxy(moto_endpoint: str, aws_env) -> Iterator[Proxy]:
    """A counting, fault-injecting proxy in front of the emulator; boto3 goes through it."""
    p = Proxy(moto_endpoint).start()
    os.environ["AWS_ENDPOINT_URL"] = p.url
    yield p
    p.stop()


@pytest.fixture(scope="session")
def _shell(tmp_path_factory) -> object:
    """One real IPython InteractiveShell for the whole session (it is a singleton)."""
    os.environ["IPYTHONDIR"] = str(tmp_path_factory.mktemp("ipython"))
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell.instance()


@pytest.fixture
def ip(_shell, aws_env):
    """The shell with ``%load_ext nbsecrets`` done, as a user would have it."""
    _shell.run_line_magic("load_ext", "nbsecrets")
    return _shell


@pytest.fixture
def iam(aws_env: dict[str, str]):
    """An IAM client on the emulator."""
    return boto3.client("iam", region_name=REGION)


@pytest.fixture
def sm_api(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    """The loopback SageMaker server (tests/sagemaker_api.py), where moto lacks the API:
    SageMaker clients made after this point use it; its ``requests`` are what they asked."""
    from tests.sagemaker_api import SageMakerApi

    api = SageMakerApi()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", api.url)
    yield api
    api.close()


@pytest.fixture(scope="module", params=sorted(SHAPES))
def key_shape(request: pytest.FixtureRequest) -> str:
    """Each shape of key (tests/keys.py): a test that seeds a key runs once per shape."""
    return request.param
