"""What a role's policy lets nbsecrets do, on a moto server that enforces IAM.

Auth is global to a moto server, so these tests run their own server in a subprocess, with
``INITIAL_NO_AUTH_ACTION_COUNT=0`` (every request is checked). Each test opens a setup window
with ``POST /moto-api/reset-auth`` to create users, keys and secrets, then closes it.

moto checks Secrets Manager calls against resource ``*`` only, ignores conditions, and
answers HTTP 500 to a ``-??????`` resource pattern (DESIGN.md, "The emulator"). So here the
users get the actions of the generated policy with every Resource widened to ``*``: this
proves the action-level half (which actions nbsecrets needs, and that it fails cleanly
without them); tests/test_access.py proves the resource-level half with the evaluator.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from IPython.core.error import UsageError

import nbsecrets
from nbsecrets import api
from nbsecrets.admin.policy import PolicyOptions, policy_document
from nbsecrets.errors import AccessDeniedError
from nbsecrets.notebook.magic import AikeyMagics
from tests.conftest import trust_policy

REGION = "us-east-1"
KEY = "sk-enforced-0123456789abcdefghijkl"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: bytes = b"") -> None:
    # text/plain: moto reads reset-auth's number from the raw body, not from a form.
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def assumer(iam: Any, user: str, roles: dict[str, Any]) -> dict[str, Any]:
    """Create the roles (name: policy) and ``user``, who may assume them; the user's key."""
    trust = trust_policy({"AWS": f"arn:aws:iam::123456789012:user/{user}"})
    for role, policy in roles.items():
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
        iam.put_role_policy(
            RoleName=role, PolicyName="nbsecrets", PolicyDocument=json.dumps(policy)
        )
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="assume",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
            }
        ),
    )
    return iam.create_access_key(UserName=user)["AccessKey"]


@pytest.fixture(scope="module")
def auth_server() -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # wait for it to listen (bounded)
            try:
                _post(f"{url}/moto-api/reset")
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("moto server exited") from None
                time.sleep(0.1)
        else:
            raise RuntimeError("moto server did not start")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def widened(opts: PolicyOptions) -> dict:
    """The generated policy's statements with each Resource as ``*`` (moto's limit)."""
    doc = policy_document(opts)
    for st in doc["Statement"]:
        st["Resource"] = "*"
        st.pop("Condition", None)
    return doc


NO_SECRETS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "sts:GetCallerIdentity"], "Resource": "*"}
    ],
}
OPTS = PolicyOptions(region=REGION, account="123456789012", providers=("openai", "anthropic"))


@pytest.fixture
def enforcing(auth_server, aws_env, monkeypatch):
    """Seed the secrets, then ``as_user(policy)`` switches to a new user holding it."""
    _post(f"{auth_server}/moto-api/reset")
    _post(f"{auth_server}/moto-api/reset-auth", b"inf")  # setup window
    admin = {"region_name": REGION, "endpoint_url": auth_server}
    sm = boto3.client("secretsmanager", **admin)
    sm.create_secret(Name="nbsecrets/openai", SecretString=KEY)
    sm.create_secret(Name="nbsecrets/anthropic", SecretString=json.dumps({"api_key": KEY[::-1]}))
    iam = boto3.client("iam", **admin)
    users = {}
    writable = dataclasses.replace(OPTS, allow_write=True)
    for name, policy in (
        ("reader", widened(OPTS)),
        ("writer", widened(writable)),
        ("nothing", NO_SECRETS),
    ):
        iam.create_user(UserName=name)
        iam.put_user_policy(
            UserName=name, PolicyName="nbsecrets", PolicyDocument=json.dumps(policy)
        )
        users[name] = iam.create_access_key(UserName=name)["AccessKey"]
    users["assumer"] = assumer(iam, "assumer", {"notebook": widened(OPTS), "bare": NO_SECRETS})
    _post(f"{auth_server}/moto-api/reset-auth", b"0")  # every request checked from here

    def as_user(name: str) -> None:
        key = users[name]
        monkeypatch.setenv("AWS_ENDPOINT_URL", auth_server)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        monkeypatch.setenv("NBSECRETS_CACHE_TTL", "0")

    yield as_user
    _post(f"{auth_server}/moto-api/reset-auth", b"inf")


def test_without_secretsmanager_actions_load_is_refused(enforcing):
    enforcing("nothing")
    with pytest.raises(AccessDeniedError) as info:
        nbsecrets.load("openai")
    message = str(info.value)
    assert "not allowed secretsmanager:GetSecretValue on nbsecrets/openai" in message
    assert "nbsecrets provision --role ROLE --provider openai" in message
    assert "OPENAI_API_KEY" not in os.environ


def test_without_secretsmanager_actions_magic_says_access_denied(enforcing):
    enforcing("nothing")
    magics = AikeyMagics(shell=None)
    with pytest.raises(UsageError) as info:
        magics.aikey("openai anthropic")
    message = str(info.value)
    assert message.startswith("2 keys failed, nothing was changed.")
    assert "openai: the credentials in use are not allowed secretsmanager:GetSecretValue" in message
    assert "anthropic: the credentials in use are not allowed" in message
    assert KEY not in message
    assert "OPENAI_API_KEY" not in os.environ and "ANTHROPIC_API_KEY" not in os.environ


def test_with_the_policy_actions_load_succeeds(enforcing, capsys):
    enforcing("reader")
    assert nbsecrets.load("openai", "anthropic") == {
        "openai": ("OPENAI_API_KEY",),
        "anthropic": ("ANTHROPIC_API_KEY",),
    }
    assert os.environ["OPENAI_API_KEY"] == KEY
    assert os.environ["ANTHROPIC_API_KEY"] == KEY[::-1]
    AikeyMagics(shell=None).aikey("openai")
    out = capsys.readouterr().out
    assert out.startswith("openai") and KEY not in out


def test_listing_needs_list_secrets(enforcing, auth_server):
    enforcing("reader")
    assert [k.info.name for k in api.list_keys()] == ["nbsecrets/anthropic", "nbsecrets/openai"]
    enforcing("nothing")
    with pytest.raises(AccessDeniedError, match="secretsmanager:ListSecrets"):
        api.list_keys()


def test_writes_need_allow_write(enforcing):
    enforcing("reader")
    with pytest.raises(AccessDeniedError, match="secretsmanager:CreateSecret"):  # created first
        api.store_key("openai", "sk-new-value-0123456789abcdef")
    enforcing("writer")
    version = api.store_key("openai", "sk-new-value-0123456789abcdef")
    assert version.name == "nbsecrets/openai"
    assert nbsecrets.get("openai", refresh=True) == "sk-new-value-0123456789abcdef"
    # A new provider: CreateSecret (with its tags) is among the write actions too.
    api.store_key("mistral", "mistral-new-0123456789abcdef")
    assert nbsecrets.get("mistral") == "mistral-new-0123456789abcdef"


@pytest.mark.parametrize(("role", "allowed"), [("notebook", True), ("bare", False)])
def test_through_an_assumed_role(enforcing, monkeypatch, role, allowed):
    """As on SageMaker: the role's policy decides (NBSECRETS_ROLE_ARN assumes it first)."""
    enforcing("assumer")
    monkeypatch.setenv("NBSECRETS_ROLE_ARN", f"arn:aws:iam::123456789012:role/{role}")
    if allowed:
        assert nbsecrets.get("openai") == KEY
    else:
        with pytest.raises(AccessDeniedError, match="not allowed secretsmanager:GetSecretValue"):
            nbsecrets.get("openai")
