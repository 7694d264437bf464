"""The rotation handler's four steps, called with the events Secrets Manager sends, against the
moto server and the loopback provider stand-in (moto's rotate_secret is broken, so the steps
are called directly, as AWS would)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest

import nbsecrets
from nbsecrets import rotation
from nbsecrets.aws.store import Store
from nbsecrets.errors import NbSecretsError
from nbsecrets.rotation.http import KeyRejectedError, ProviderError
from nbsecrets.rotation.steps import STEPS, Rotation

SECRET = "nbsecrets/openai"


@pytest.fixture
def openai_secret(stored):
    """nbsecrets/openai holding a hand-stored key, and the admin key outside the prefix."""
    return stored("openai")


def event(step: str, token: str, secret: str = SECRET) -> dict:
    return {"SecretId": secret, "ClientRequestToken": token, "Step": step}


def rotate(token: str, steps=STEPS, secret: str = SECRET) -> None:
    for step in steps:
        rotation.handler(event(step, token, secret), None)


def stages(sm, name=SECRET) -> dict[str, set[str]]:
    return {
        v["VersionId"]: set(v["VersionStages"])
        for v in sm.list_secret_version_ids(SecretId=name)["Versions"]
    }


def current(sm, name=SECRET) -> str:
    return sm.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"]


def test_rotation_end_to_end_new_key_current_old_revoked_after_grace(
    openai_secret, provider, sm, capsys, caplog
):
    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "0"
    old = openai_secret
    assert nbsecrets.get("openai") == old
    token = str(uuid.uuid4())
    rotate(token)
    payload = json.loads(current(sm))
    new = payload["api_key"]
    assert new != old and provider.openai_valid(new)
    assert payload["openai_service_account_id"] in provider.service_accounts
    assert stages(sm)[token] == {"AWSCURRENT"}
    assert "AWSPREVIOUS" in next(st for v, st in stages(sm).items() if v != token)
    # The hand-stored old key is found by its redacted form and deleted (grace 0).
    assert old not in provider.openai_keys
    deletes = [r for r in provider.requests if r["method"] == "DELETE"]
    assert [r["path"].rsplit("/", 2)[-2] for r in deletes] == ["api_keys"]
    # The cached value is replaced by the next refresh.
    assert nbsecrets.get("openai") == old  # still cached
    assert nbsecrets.get("openai", refresh=True) == new
    # A second rotation deletes the first rotation's service account (it minted that key).
    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "0"
    rotate(str(uuid.uuid4()))
    assert new not in provider.openai_keys
    assert payload["openai_service_account_id"] not in provider.service_accounts
    # No key value reached any output or log record.
    out = capsys.readouterr()
    for value in (old, new, provider.openai_admin, json.loads(current(sm))["api_key"]):
        assert value not in out.out + out.err + caplog.text


def test_old_key_kept_until_the_grace_period_has_passed(openai_secret, provider, sm):
    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "2"
    token = str(uuid.uuid4())
    rotate(token)
    assert provider.openai_valid(openai_secret)  # still valid: notebooks keep working
    staging = Store().staging
    assert Rotation(staging).revoke_previous(SECRET) is None
    later = Rotation(staging, now=lambda: datetime.now(timezone.utc) + timedelta(days=1))
    assert later.revoke_previous(SECRET) is None and provider.openai_valid(openai_secret)
    later = Rotation(staging, now=lambda: datetime.now(timezone.utc) + timedelta(days=3))
    assert "deleted" in later.revoke_previous(SECRET)
    assert not provider.openai_valid(openai_secret)
    # The scheduled event does the same, and again is harmless.
    rotation.handler({"SecretId": SECRET, "Step": "revokePrevious"}, None)


def test_grace_from_a_tag_on_the_secret(openai_secret, provider, sm):
    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "30"
    sm.tag_resource(SecretId=SECRET, Tags=[{"Key": "nbsecrets:rotation-grace-days", "Value": "0"}])
    rotate(str(uuid.uuid4()))
    assert not provider.openai_valid(openai_secret)


def test_every_step_retried_after_success_changes_nothing(openai_secret, provider, sm):
    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "0"
    token = str(uuid.uuid4())
    for step in STEPS:
        rotation.handler(event(step, token), None)
        before = (stages(sm), len(provider.service_accounts), len(provider.openai_keys))
        rotation.handler(event(step, token), None)  # AWS retries a step
        assert (stages(sm), len(provider.service_accounts), len(provider.openai_keys)) == before
    assert len(provider.service_accounts) == 1
    assert provider.openai_valid(json.loads(current(sm))["api_key"])


def test_a_new_key_the_provider_rejects_never_becomes_current(openai_secret, provider, sm):
    provider.reject_new = True
    token = str(uuid.uuid4())
    rotate(token, STEPS[:2])
    with pytest.raises(KeyRejectedError, match="HTTP 401"):
        rotation.handler(event("testSecret", token), None)
    assert current(sm) == openai_secret and stages(sm)[token] == {"AWSPENDING"}
    assert nbsecrets.get("openai", refresh=True) == openai_secret
    # The next rotation (a new token) revokes the unfinished one's key and succeeds.
    provider.reject_new = False
    rejected = json.loads(sm.get_secret_value(SecretId=SECRET, VersionId=token)["SecretString"])
    rotate(str(uuid.uuid4()))
    assert rejected["openai_service_account_id"] not in provider.service_accounts
    assert json.loads(current(sm))["api_key"] != openai_secret
    assert provider.openai_valid(json.loads(current(sm))["api_key"])


def test_provider_down_at_each_step_leaves_awscurrent_and_loses_nothing(
    openai_secret, provider, sm
):
    token = str(uuid.uuid4())
    provider.down = True
    with pytest.raises(ProviderError, match="HTTP 503"):
        rotation.handler(event("createSecret", token), None)
    assert token not in stages(sm) and current(sm) == openai_secret
    provider.down = False
    rotation.handler(event("createSecret", token), None)
    rotation.handler(event("setSecret", token), None)
    provider.down = True
    with pytest.raises(ProviderError, match="HTTP 503"):
        rotation.handler(event("testSecret", token), None)
    assert current(sm) == openai_secret
    provider.down = False  # AWS retries the failed step: the same pending key goes through
    rotation.handler(event("testSecret", token), None)
    rotation.handler(event("finishSecret", token), None)
    assert stages(sm)[token] == {"AWSCURRENT"}
    assert len(provider.service_accounts) == 1
    assert nbsecrets.get("openai", refresh=True) == json.loads(current(sm))["api_key"]


def test_admin_key_missing_or_wrong_fails_create_cleanly(provider, seed, sm):
    old = provider.add_openai_key()
    seed(SECRET, old)
    with pytest.raises(NbSecretsError, match=r"nbsecrets-admin/openai does not exist.*--prompt"):
        rotation.handler(event("createSecret", str(uuid.uuid4())), None)
    seed("nbsecrets-admin/openai", json.dumps({"admin_key": "sk-admin-wrong"}))
    with pytest.raises(KeyRejectedError, match="HTTP 401") as info:
        rotation.handler(event("createSecret", str(uuid.uuid4())), None)
    assert "sk-admin-wrong" not in str(info.value)
    assert list(stages(sm).values()) == [{"AWSCURRENT"}]


def test_json_secret_keeps_its_other_fields(provider, seed, sm):
    old = provider.add_openai_key()
    seed(SECRET, {"api_key": old, "organization": "org-123"})
    seed(
        "nbsecrets-admin/openai",
        json.dumps({"admin_key": provider.openai_admin, "project_id": "proj_test"}),
    )
    rotate(str(uuid.uuid4()))
    payload = json.loads(current(sm))
    assert payload["organization"] == "org-123" and payload["api_key"] != old


def test_anthropic_cannot_be_minted_by_the_lambda(provider, seed, sm):
    seed("nbsecrets/anthropic", provider.add_anthropic_key())
    with pytest.raises(NbSecretsError, match="nbsecrets rotate anthropic"):
        rotation.handler(event("createSecret", str(uuid.uuid4()), "nbsecrets/anthropic"), None)


def test_unknown_step_and_provider_are_one_sentence_errors(seed):
    seed("nbsecrets/mistral", "m-0123456789abcdef")
    with pytest.raises(NbSecretsError, match="unknown rotation step"):
        rotation.handler(event("rotateEverything", "t"), None)
    with pytest.raises(NbSecretsError, match="not mistral"):
        rotation.handler(event("createSecret", str(uuid.uuid4()), "nbsecrets/mistral"), None)


def test_the_lambda_runs_with_boto3_alone(openai_secret, provider, sm, aws_env):
    """As in Lambda: a fresh interpreter where IPython and ipywidgets cannot be imported."""
    import subprocess
    import sys

    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "0"
    token = str(uuid.uuid4())
    code = (
        "import sys, json\n"
        "for m in ('IPython', 'ipywidgets', 'traitlets', 'ipykernel'): sys.modules[m] = None\n"
        "from nbsecrets.rotation import handler\n"
        "for step in ('createSecret', 'setSecret', 'testSecret', 'finishSecret'):\n"
        f"    handler({{'SecretId': '{SECRET}', 'ClientRequestToken': '{token}', "
        "'Step': step}, None)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert stages(sm)[token] == {"AWSCURRENT"} and not provider.openai_valid(openai_secret)
    new = json.loads(current(sm))["api_key"]
    assert new not in result.stdout + result.stderr
    assert openai_secret not in result.stdout + result.stderr


def test_provider_down_while_revoking_postpones_revocation_only(openai_secret, provider, sm):
    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "0"
    token = str(uuid.uuid4())
    rotate(token, STEPS[:3])
    provider.down = True
    rotation.handler(event("finishSecret", token), None)  # promoted; revocation waits
    assert stages(sm)[token] == {"AWSCURRENT"}
    assert openai_secret in provider.openai_keys
    provider.down = False
    rotation.handler({"SecretId": SECRET, "Step": "revokePrevious"}, None)
    assert openai_secret not in provider.openai_keys


def test_aikey_refresh_in_a_notebook_gets_the_rotated_key(openai_secret, provider, sm, ip, capsys):
    ip.run_line_magic("aikey", "openai")
    assert os.environ["OPENAI_API_KEY"] == openai_secret
    rotate(str(uuid.uuid4()))
    ip.run_line_magic("aikey", "openai")  # cached: still the old key until a refresh
    assert os.environ["OPENAI_API_KEY"] == openai_secret
    ip.run_line_magic("aikey", "--refresh openai")
    new = json.loads(current(sm))["api_key"]
    assert os.environ["OPENAI_API_KEY"] == new
    out = capsys.readouterr().out
    assert new not in out and openai_secret not in out


def test_create_retried_after_a_crash_between_mint_and_put_leaves_no_orphan(
    openai_secret, provider, sm
):
    """The Lambda died after OpenAI created the key but before PutSecretValue: AWS retries
    createSecret with the same token, and the orphan (same name) is deleted first."""
    from nbsecrets.rotation.openai import OpenAI

    token = str(uuid.uuid4())
    staging = Store().staging
    orphan = OpenAI().mint(Rotation(staging).context(SECRET), token)  # minted, never stored
    assert len(provider.service_accounts) == 1
    rotate(token)
    assert orphan["openai_service_account_id"] not in provider.service_accounts
    assert len(provider.service_accounts) == 1
    assert json.loads(current(sm))["api_key"] != orphan["api_key"]


def test_the_role_policy_allows_every_call_a_rotation_makes_and_no_more(
    openai_secret, provider, sm, proxy
):
    """Every Secrets Manager request of a full rotation (with revocation), seen at the proxy,
    is allowed by the rotation role's policy on the secret it names; nothing else is granted."""
    from nbsecrets.admin.evaluator import allows
    from nbsecrets.admin.ops_policy import ROTATION_ACTIONS, rotation_policy_document

    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "0"
    arn = sm.describe_secret(SecretId=SECRET)["ARN"]
    admin_arn = sm.describe_secret(SecretId="nbsecrets-admin/openai")["ARN"]
    first = len(proxy.requests)
    rotate(str(uuid.uuid4()))
    calls = [
        (a, json.loads(b or b"{}").get("SecretId"))
        for a, b in zip(proxy.requests[first:], proxy.bodies[first:], strict=True)
    ]
    doc = rotation_policy_document(region="us-east-1", account=arn.split(":")[4], secrets=[SECRET])
    used = set()
    for action, secret_id in calls:
        target = admin_arn if secret_id == "nbsecrets-admin/openai" else arn
        iam_action = action.replace("secretsmanager.", "secretsmanager:")
        assert allows([doc], iam_action, target), (iam_action, secret_id)
        if target == arn:
            used.add(iam_action)
    # each granted action is needed (TagResource: the new version's fingerprint tag)
    assert used == {*ROTATION_ACTIONS, "secretsmanager:TagResource"}


def test_each_step_reads_the_secret_once(openai_secret, provider, sm, proxy):
    """A step reads the secret's state once (one DescribeSecret, ListSecretVersionIds only
    where the grace period needs the dates) and hands it down; finishSecret reads it once more
    only to check that AWSPREVIOUS followed AWSCURRENT."""
    from collections import Counter

    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "0"
    token = str(uuid.uuid4())
    reads = {}
    for step in STEPS:
        first = len(proxy.requests)
        rotation.handler(event(step, token), None)
        seen = Counter(proxy.requests[first:])
        reads[step] = (
            seen["secretsmanager.DescribeSecret"],
            seen["secretsmanager.ListSecretVersionIds"],
        )
    assert reads == {
        "createSecret": (1, 1),
        "setSecret": (1, 0),
        "testSecret": (1, 0),
        "finishSecret": (2, 1),
    }
    assert stages(sm)[token] == {"AWSCURRENT"}
