"""Managed keys: the fingerprint tag on every store path, the scan policy, and a managed key
found with ListSecrets/DescribeSecret alone (moto enforcing IAM)."""

from __future__ import annotations

import io
import json

import boto3
import pytest

from nbsecrets import api, fingerprint
from nbsecrets.admin.evaluator import allows
from nbsecrets.admin.policy import PolicyOptions
from nbsecrets.admin.scan_policy import scan_policy_document
from nbsecrets.cli import main
from nbsecrets.errors import AccessDeniedError
from nbsecrets.leakscan.run import Options
from nbsecrets.leakscan.run import main as run_scan
from tests.admin.test_enforcement import _post, auth_server  # noqa: F401 - the fixture
from tests.conftest import REGION
from tests.scan.corpus import keys

KEYS = keys(13)
A = "123456789012"
TOKEN = "7d3c2a10-5e2f-4b7a-9c1d-0f6e8a4b2c11"
ARN = f"arn:aws:secretsmanager:{REGION}:{A}:secret:"


def tag_of(sm, name: str) -> list[fingerprint.Entry]:
    tags = {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId=name).get("Tags", [])}
    return fingerprint.parse(tags.get(fingerprint.TAG))


def test_set_writes_the_fingerprint_of_each_new_version(sm, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(KEYS["openai"] + "\n"))
    assert main(["set", "openai"]) == 0
    (first,) = tag_of(sm, "nbsecrets/openai")
    stages = sm.describe_secret(SecretId="nbsecrets/openai")["VersionIdsToStages"]
    assert stages == {first.version_id: ["AWSCURRENT"]}  # the version the write chose
    assert first.matches(KEYS["openai"]) and first.length == len(KEYS["openai"])
    api.store_key("openai", KEYS["openai-legacy"])  # %aikey --set and the picker call this
    second, kept = tag_of(sm, "nbsecrets/openai")
    stages = sm.describe_secret(SecretId="nbsecrets/openai")["VersionIdsToStages"]
    assert stages[second.version_id] == ["AWSCURRENT"]
    assert stages[kept.version_id] == ["AWSPREVIOUS"] and kept == first
    assert second.matches(KEYS["openai-legacy"]) and not second.matches(KEYS["openai"])
    out = capsys.readouterr()
    assert KEYS["openai"] not in out.out + out.err


def test_rotations_pending_version_is_fingerprinted_by_its_key(sm):
    sm.create_secret(Name="nbsecrets/anthropic", SecretString=KEYS["anthropic"])
    payload = json.dumps({"api_key": KEYS["groq"], "note": "rotated"})
    api.store().staging.put_pending("nbsecrets/anthropic", TOKEN, payload, key=KEYS["groq"])
    (entry,) = tag_of(sm, "nbsecrets/anthropic")
    assert entry.version_id == TOKEN and entry.matches(KEYS["groq"])


def test_a_tag_that_cannot_be_written_is_a_notice_and_the_value_is_stored(proxy, sm):
    proxy.fail(400, "AccessDeniedException", times=5, only="TagResource")
    sm.create_secret(Name="nbsecrets/groq", SecretString="old-value-0123456789")
    api.store_key("groq", KEYS["groq"])
    assert sm.get_secret_value(SecretId="nbsecrets/groq")["SecretString"] == KEYS["groq"]
    notices = api.take_notices()
    assert any("tag was not written" in n and "format only" in n for n in notices)


OPTS = PolicyOptions(region=REGION, account=A, providers=("openai",))


def test_scan_policy_is_list_and_describe_only():
    doc = scan_policy_document(OPTS)
    assert allows([doc], "secretsmanager:DescribeSecret", f"{ARN}nbsecrets/openai-AbCdEf")
    assert allows([doc], "secretsmanager:ListSecrets", "*")
    for action in (
        "secretsmanager:GetSecretValue",
        "secretsmanager:BatchGetSecretValue",
        "secretsmanager:PutSecretValue",
        "kms:Decrypt",
    ):
        assert not allows([doc], action, f"{ARN}nbsecrets/openai-AbCdEf")
        assert not allows([doc], action, "*")
    assert not allows([doc], "secretsmanager:DescribeSecret", f"{ARN}other/openai-AbCdEf")
    no_list = scan_policy_document(PolicyOptions(region=REGION, account=A, list_secrets=False))
    assert not allows([no_list], "secretsmanager:ListSecrets", "*")


def test_parliament_finds_nothing_in_the_scan_policy():
    from parliament import analyze_policy_string

    policy = analyze_policy_string(
        json.dumps(scan_policy_document(OPTS)), include_community_auditors=True
    )
    assert [f"{f.issue}: {f.detail}" for f in policy.findings] == []


def test_policy_scan_command(capsys):
    assert (
        main(["policy", "--scan", "--region", REGION, "--account", A, "--provider", "openai"]) == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc == scan_policy_document(OPTS)


@pytest.fixture
def scanner(auth_server, aws_env, monkeypatch):  # noqa: F811 - the imported fixture
    """A secret stored by nbsecrets (setup window), then a user holding only the scan
    policy (Resource widened to *: moto's limit, see test_enforcement)."""
    _post(f"{auth_server}/moto-api/reset")
    _post(f"{auth_server}/moto-api/reset-auth", b"inf")
    monkeypatch.setenv("AWS_ENDPOINT_URL", auth_server)
    api.store_key("openai", KEYS["openai"])
    api.store_key("openai", KEYS["openai-legacy"])  # the first key is now AWSPREVIOUS
    iam = boto3.client("iam", region_name=REGION, endpoint_url=auth_server)
    doc = scan_policy_document(OPTS)
    for st in doc["Statement"]:
        st["Resource"] = "*"
    iam.create_user(UserName="scanner")
    iam.put_user_policy(UserName="scanner", PolicyName="scan", PolicyDocument=json.dumps(doc))
    key = iam.create_access_key(UserName="scanner")["AccessKey"]
    _post(f"{auth_server}/moto-api/reset-auth", b"0")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    api.reset()
    yield
    _post(f"{auth_server}/moto-api/reset-auth", b"inf")


def test_a_managed_key_is_found_with_list_and_describe_only(scanner, tmp_path, capsys):
    with pytest.raises(AccessDeniedError):  # this user cannot read any value
        api.store().fetch([api.store().config.ref("openai")])
    (tmp_path / "nb.py").write_text(
        f"a = '{KEYS['openai-legacy']}'\nb = '{KEYS['openai']}'\nc = '{KEYS['groq']}'\n"
    )
    out, err = io.StringIO(), io.StringIO()
    assert run_scan(Options(paths=(str(tmp_path),)), out=out, err=err) == 1
    lines = out.getvalue().splitlines()
    assert "live key nbsecrets/openai, version" in lines[0] and "(AWSCURRENT)" in lines[0]
    assert "managed key nbsecrets/openai, version" in lines[1] and "(AWSPREVIOUS)" in lines[1]
    assert "unknown key of provider groq" in lines[2]
    assert "nbsecrets/openai leaked: rotate it with `nbsecrets rotate openai`" in lines
    assert err.getvalue() == ""
    assert all(k not in out.getvalue() for k in KEYS.values())
