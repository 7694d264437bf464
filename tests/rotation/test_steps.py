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


def ledger(sm, name=SECRET) -> list[dict]:
    """The entries rotation recorded under nbsecrets-admin/minted/ for ``name``."""
    text = sm.get_secret_value(SecretId=f"nbsecrets-admin/minted/{name}")["SecretString"]
    return json.loads(text)["keys"]


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
    # The key stored by hand was not minted by rotation: it is left alone, with a note.
    assert provider.openai_valid(old)
    assert not [r for r in provider.requests if r["method"] == "DELETE"]
    assert "leaves it alone" in caplog.text
    [entry] = ledger(sm)
    assert (entry["state"], entry["version"], entry["project"]) == ("current", token, "proj_test")
    assert entry["service_account_id"] == payload["openai_service_account_id"]
    # The cached value is replaced by the next refresh.
    assert nbsecrets.get("openai") == old  # still cached
    assert nbsecrets.get("openai", refresh=True) == new
    # A second rotation deletes the first rotation's service account (it minted that key),
    # after asking the Admin API that the recorded id is that account in the project.
    rotate(str(uuid.uuid4()))
    assert new not in provider.openai_keys
    assert payload["openai_service_account_id"] not in provider.service_accounts
    gets = [
        r["path"]
        for r in provider.requests
        if r["method"] == "GET" and r["path"].endswith(payload["openai_service_account_id"])
    ]
    assert gets == [
        f"/v1/organization/projects/proj_test/service_accounts/"
        f"{payload['openai_service_account_id']}"
    ]
    assert [e["state"] for e in ledger(sm)] == ["revoked", "current"]
    # No key value reached any output or log record.
    out = capsys.readouterr()
    for value in (old, new, provider.openai_admin, json.loads(current(sm))["api_key"]):
        assert value not in out.out + out.err + caplog.text


def test_old_key_kept_until_the_grace_period_has_passed(openai_secret, provider, sm):
    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "2"
    rotate(str(uuid.uuid4()))
    first = json.loads(current(sm))["api_key"]
    rotate(str(uuid.uuid4()))
    assert provider.openai_valid(first)  # still valid: notebooks keep working
    staging = Store().staging
    assert Rotation(staging).revoke_previous(SECRET) is None
    later = Rotation(staging, now=lambda: datetime.now(timezone.utc) + timedelta(days=1))
    assert later.revoke_previous(SECRET) is None and provider.openai_valid(first)
    later = Rotation(staging, now=lambda: datetime.now(timezone.utc) + timedelta(days=3))
    assert "deleted" in later.revoke_previous(SECRET)
    assert not provider.openai_valid(first)
    # The scheduled event does the same, and again is harmless.
    rotation.handler({"SecretId": SECRET, "Step": "revokePrevious"}, None)
    assert provider.openai_valid(json.loads(current(sm))["api_key"])


def test_grace_from_the_admins_settings_record(openai_secret, provider, seed, sm):
    """nbsecrets-admin/rotation/<secret> (admins only) beats the environment."""
    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "30"
    seed("nbsecrets-admin/rotation/nbsecrets/openai", {"grace_days": 0})
    rotate(str(uuid.uuid4()))
    first = json.loads(current(sm))["api_key"]
    rotate(str(uuid.uuid4()))
    assert not provider.openai_valid(first)


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
    with pytest.raises(NbSecretsError, match="not 'mistral'"):
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
    assert stages(sm)[token] == {"AWSCURRENT"} and [e["state"] for e in ledger(sm)] == ["current"]
    new = json.loads(current(sm))["api_key"]
    assert new not in result.stdout + result.stderr
    assert openai_secret not in result.stdout + result.stderr


def test_provider_down_while_revoking_postpones_revocation_only(openai_secret, provider, sm):
    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "0"
    rotate(str(uuid.uuid4()))
    first = json.loads(current(sm))["api_key"]
    token = str(uuid.uuid4())
    rotate(token, STEPS[:3])
    provider.down = True
    rotation.handler(event("finishSecret", token), None)  # promoted; revocation waits
    assert stages(sm)[token] == {"AWSCURRENT"}
    assert first in provider.openai_keys
    provider.down = False
    rotation.handler({"SecretId": SECRET, "Step": "revokePrevious"}, None)
    assert first not in provider.openai_keys


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
    """The Lambda died after OpenAI created the key but before its ids were recorded: AWS
    retries createSecret with the same token, and the orphan (named in the record written
    before it was minted) is deleted first."""
    from nbsecrets.rotation.openai import OpenAI

    token = str(uuid.uuid4())
    rot = Rotation(Store().staging)
    ctx = rot.context(SECRET)
    intent = OpenAI().intent(ctx, token)
    book = rot.ledger(ctx)
    book.put(intent)
    rot._save(ctx, book)  # what rotation records before it asks for the key
    orphan, _ = OpenAI().mint(ctx, intent)  # minted; the Lambda dies here
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
    account = arn.split(":")[4]
    base = f"arn:aws:secretsmanager:us-east-1:{account}:secret:"
    first = len(proxy.requests)
    rotate(str(uuid.uuid4()))
    rotate(str(uuid.uuid4()))  # the second one revokes the first one's key
    calls = [
        (a, json.loads(b or b"{}"))
        for a, b in zip(proxy.requests[first:], proxy.bodies[first:], strict=True)
    ]
    doc = rotation_policy_document(region="us-east-1", account=account, secrets=[SECRET])
    used, records = set(), set()
    for action, body in calls:
        secret_id = body.get("SecretId") or body.get("Name")
        target = arn if secret_id == SECRET else f"{base}{secret_id}-AbCdEf"
        iam_action = action.replace("secretsmanager.", "secretsmanager:")
        context = {"secretsmanager:Name": body["Name"]} if "Name" in body else {}
        assert allows([doc], iam_action, target, context), (iam_action, secret_id)
        if target == arn:
            used.add(iam_action)
        else:
            records.add((iam_action, secret_id))
    # each granted action is needed (TagResource: the new version's fingerprint tag)
    assert used == {*ROTATION_ACTIONS, "secretsmanager:TagResource"}
    ledger_name = "nbsecrets-admin/minted/nbsecrets/openai"
    assert {
        ("secretsmanager:CreateSecret", ledger_name),
        ("secretsmanager:PutSecretValue", ledger_name),
    } <= records
    # The rotation role may write nothing else under the admin namespace.
    for other in (
        "nbsecrets-admin/openai",
        "nbsecrets-admin/rotation/nbsecrets/openai",
        "nbsecrets-admin/minted/nbsecrets/other",
    ):
        assert not allows([doc], "secretsmanager:PutSecretValue", f"{base}{other}-AbCdEf")


def test_each_step_reads_the_secret_once(openai_secret, provider, sm, proxy):
    """A step reads the secret's state once (one DescribeSecret; no ListSecretVersionIds: the
    grace period runs from the ledger's times, not the versions' dates) and hands it down;
    finishSecret reads it once more only to check that AWSPREVIOUS followed AWSCURRENT."""
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
        "createSecret": (1, 0),
        "setSecret": (1, 0),
        "testSecret": (1, 0),
        "finishSecret": (2, 0),
    }
    assert stages(sm)[token] == {"AWSCURRENT"}
