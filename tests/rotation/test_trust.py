"""Nothing a notebook role may write steers rotation (issue 20).

The attacker holds the role that ``nbsecrets policy --provider openai --provider anthropic
--allow-write`` prints. Each of its writes is made only if that policy allows it, as judged by
``nbsecrets.admin.evaluator``; a write the policy refuses is not made. Rotation then runs as
deployed (the handler string ``nbsecrets.rotation.handler``) or by hand (``nbsecrets
rotate``), against the loopback OpenAI and Anthropic admin APIs, which record every admin
request; each test asserts that they saw no write outside the team's own minted keys.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import re
import sys
import uuid

import pytest

from nbsecrets import cli
from nbsecrets.admin import evaluator
from tests.conftest import REGION
from tests.rotation.standin import StandIn

SECRET = "nbsecrets/openai"
ANTHROPIC = "nbsecrets/anthropic"
TEAM = "proj_test"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
POLICY = ["policy", "--provider", "openai", "--provider", "anthropic", "--allow-write"]


# -- the attacker ---------------------------------------------------------------------------


class Notebook:
    """Writes as the notebook role: each one only if the generated policy allows it."""

    def __init__(self, sm, policy: dict, account: str):
        self.sm, self.policy, self.account = sm, policy, account
        self.refused: list[tuple[str, str]] = []

    def _arn(self, name: str) -> str:
        try:
            return self.sm.describe_secret(SecretId=name)["ARN"]
        except self.sm.exceptions.ResourceNotFoundException:
            return f"arn:aws:secretsmanager:{REGION}:{self.account}:secret:{name}-AbCdEf"

    def may(self, action: str, name: str, context: dict | None = None) -> bool:
        ok = evaluator.allows(
            [self.policy], f"secretsmanager:{action}", self._arn(name), context or {}
        )
        if not ok:
            self.refused.append((action, name))
        return ok

    def put(self, name: str, value: str, stages: list[str] | None = None) -> str | None:
        """PutSecretValue; the new version id, or None when the policy refuses it."""
        if not self.may("PutSecretValue", name):
            return None
        extra = {"VersionStages": stages} if stages else {}
        return self.sm.put_secret_value(SecretId=name, SecretString=value, **extra)["VersionId"]

    def tag(self, name: str, tags: dict[str, str]) -> bool:
        if not self.may("TagResource", name, {"aws:TagKeys": list(tags)}):
            return False
        self.sm.tag_resource(SecretId=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        return True

    def create(self, name: str, value: str, tags: dict[str, str]) -> bool:
        ctx = {"secretsmanager:Name": name, "aws:TagKeys": list(tags)}
        if not (self.may("CreateSecret", name, ctx) and self.may("TagResource", name, ctx)):
            return False
        self.sm.create_secret(
            Name=name, SecretString=value, Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
        )
        return True

    def payload_as_previous(self, name: str, payload: str) -> str | None:
        """Make ``payload`` the AWSPREVIOUS version, AWSCURRENT unchanged in value: put it, then
        put the current value again. Returns the planted version id."""
        current = self.sm.get_secret_value(SecretId=name)["SecretString"]
        planted = self.put(name, payload)
        if planted is None or self.put(name, current) is None:
            return None
        return planted


@pytest.fixture
def account(sm) -> str:
    import boto3

    return boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]


@pytest.fixture
def notebook(sm, account, capsys) -> Notebook:
    assert cli.main([*POLICY, "--region", REGION, "--account", account]) == 0
    policy = json.loads(capsys.readouterr().out)
    return Notebook(sm, policy, account)


# -- the team and the victims -----------------------------------------------------------------

CLIENT_TAGS = [
    {"Key": "nbsecrets:provider", "Value": "openai"},
    {"Key": "nbsecrets:managed", "Value": "true"},
]


@pytest.fixture
def team(provider, seed):
    """nbsecrets/openai holding a key stored by hand, both admin keys, the team's project
    (proj_test, from the conftest's ``provider``) and a grace of 0 days, all set by the admin."""
    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "0"
    seed(SECRET, provider.add_openai_key(TEAM), Tags=CLIENT_TAGS)
    seed("nbsecrets-admin/openai", provider.openai_admin)
    seed("nbsecrets-admin/anthropic", provider.anthropic_admin)
    return provider


class Via:
    """One way rotation runs: the deployed Lambda handler, or `nbsecrets rotate`."""

    def __init__(self, how: str, monkeypatch):
        self.how, self.monkeypatch = how, monkeypatch

    def _handler(self):
        return importlib.import_module("nbsecrets.rotation").handler

    def rotate(
        self, secret: str = SECRET, label: str = "openai", key: str | None = None, *args: str
    ) -> None:
        """A full rotation; ``key`` is the new key an admin types (else one is minted)."""
        if self.how == "lambda" and key is None:
            token = str(uuid.uuid4())
            for step in STEPS:
                self._handler()(
                    {"SecretId": secret, "ClientRequestToken": token, "Step": step}, None
                )
            return
        self.monkeypatch.setattr(sys, "stdin", io.StringIO((key or "") + "\n"))
        argv = ["rotate", label, *(["--prompt"] if key else []), *args]
        assert cli.main(argv) == 0

    def sweep(self, secret: str = SECRET, label: str = "openai") -> None:
        """The daily revokePrevious event, or `nbsecrets rotate NAME --revoke-previous`."""
        if self.how == "lambda":
            self._handler()({"SecretId": secret, "Step": "revokePrevious"}, None)
        else:
            assert cli.main(["rotate", label, "--revoke-previous"]) == 0


@pytest.fixture(params=["lambda", "rotate"])
def via(request, monkeypatch) -> Via:
    return Via(request.param, monkeypatch)


def assert_only_team_writes(provider: StandIn, anthropic_ids=()) -> None:
    """Every create, delete or archive the admin APIs saw is of the team's minted keys: a
    service account created in the team's project, deleting one that rotation created
    there, or archiving an Anthropic key the admin gave rotation."""
    for r in provider.admin_writes():
        m = re.fullmatch(
            r"/v1/organization/projects/([^/]+)/service_accounts(?:/([^/]+))?", r["path"]
        )
        if m and m.group(1) == TEAM and r["method"] == "POST" and not m.group(2):
            continue
        if m and m.group(1) == TEAM and r["method"] == "DELETE" and m.group(2) in provider.minted:
            continue
        m = re.fullmatch(r"/v1/organizations/api_keys/([^/]+)", r["path"])
        if m and r["method"] == "POST" and m.group(1) in anthropic_ids:
            continue
        pytest.fail(f"an admin write outside the team's minted keys: {r['method']} {r['path']}")


def crafted(victim: str, head: int) -> str:
    """A value that fits the provider's masked hint of ``victim`` without being it."""
    return victim[:head] + "Z" * 30 + victim[-4:]


def minted_accounts(provider: StandIn) -> list[str]:
    return [sid for sid in provider.service_accounts if sid in provider.minted]


# -- 1. settings from tags --------------------------------------------------------------------


def test_a_project_tag_does_not_move_minting_to_another_project(team, notebook, via):
    notebook.tag(SECRET, {"nbsecrets:openai-project": "proj_other"})
    via.rotate()
    creates = [r for r in team.admin_writes() if r["method"] == "POST"]
    assert len(creates) == 1 and f"/projects/{TEAM}/" in creates[0]["path"]
    assert_only_team_writes(team)


def test_setting_tags_left_by_an_older_policy_are_ignored(team, sm, via):
    """Even when the tags are there (an older policy let a notebook write any nbsecrets: tag),
    project, grace and provider are the admin's."""
    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "2"
    sm.tag_resource(
        SecretId=SECRET,
        Tags=[
            {"Key": "nbsecrets:openai-project", "Value": "proj_other"},
            {"Key": "nbsecrets:rotation-grace-days", "Value": "0"},
            {"Key": "nbsecrets:provider", "Value": "anthropic"},
        ],
    )
    via.rotate()
    first = minted_accounts(team)
    via.rotate()
    assert len(first) == 1 and first[0] in team.service_accounts  # grace of 2 days holds
    assert all(a["project"] == TEAM for a in team.service_accounts.values())
    assert_only_team_writes(team)


def test_a_grace_tag_of_zero_does_not_revoke_the_old_key_early(team, notebook, via):
    os.environ["NBSECRETS_ROTATION_GRACE_DAYS"] = "2"
    via.rotate()
    first = minted_accounts(team)
    notebook.tag(SECRET, {"nbsecrets:rotation-grace-days": "0"})
    via.rotate()
    assert first and first[0] in team.service_accounts
    assert_only_team_writes(team)


@pytest.mark.parametrize("value", ["1e10", "nan", "-1"])
def test_a_broken_grace_tag_does_not_stop_rotation(team, sm, notebook, via, value):
    notebook.tag(SECRET, {"nbsecrets:rotation-grace-days": value})
    sm.tag_resource(
        SecretId=SECRET, Tags=[{"Key": "nbsecrets:rotation-grace-days", "Value": value}]
    )  # as an older policy allowed
    via.rotate()
    via.rotate()
    via.sweep()
    assert len(minted_accounts(team)) == 1  # the first minted key revoked (grace 0), not stuck
    assert_only_team_writes(team)


def test_a_provider_tag_does_not_turn_the_sweep_on_anthropic_keys(team, notebook, via, sm):
    victim = team.add_anthropic_key()  # another team's key: Anthropic keys are org-wide
    via.rotate()
    assert notebook.tag(SECRET, {"nbsecrets:provider": "anthropic"})  # a client tag key
    assert notebook.payload_as_previous(SECRET, crafted(victim, 16))
    via.sweep()
    assert team.anthropic_active(victim)
    via.rotate()
    assert team.anthropic_active(victim)
    assert not [r for r in team.requests if r["path"].startswith("/v1/organizations/")]
    assert_only_team_writes(team)


# -- 2. ids from payloads ---------------------------------------------------------------------


def test_a_previous_payload_cannot_delete_another_projects_service_account(
    team, notebook, via, caplog
):
    victim, _ = team.add_service_account("proj_other")
    via.rotate()
    planted = notebook.payload_as_previous(
        SECRET,
        json.dumps(
            {
                "api_key": "sk-svcacct-" + "Q" * 40,
                "openai_service_account_id": victim,
                "openai_project_id": "proj_other",
            }
        ),
    )
    assert planted
    via.sweep()
    via.rotate()
    assert victim in team.service_accounts
    assert_only_team_writes(team)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(SECRET in w and planted in w for w in warnings), warnings
    assert "Q" * 40 not in caplog.text


def test_a_pending_payload_cannot_delete_another_apps_service_account(team, notebook, via, caplog):
    other, _ = team.add_service_account(TEAM, name="billing-app")  # same project, not ours
    planted = notebook.put(
        SECRET,
        json.dumps({"api_key": "sk-svcacct-" + "P" * 40, "openai_service_account_id": other}),
        stages=["AWSPENDING"],
    )
    assert planted
    via.rotate()
    assert other in team.service_accounts
    assert_only_team_writes(team)
    assert any(
        SECRET in r.getMessage() and planted in r.getMessage()
        for r in caplog.records
        if r.levelname == "WARNING"
    )


def test_a_previous_payload_cannot_delete_another_apps_key_by_its_redacted_form(
    team, notebook, via
):
    other = team.add_openai_key(TEAM)  # another application's key in the team's project
    assert notebook.payload_as_previous(SECRET, crafted(other, 8))
    via.sweep()
    via.rotate()
    assert team.openai_valid(other)
    assert_only_team_writes(team)


@pytest.fixture
def anthropic_team(team, seed):
    seed(
        ANTHROPIC,
        team.add_anthropic_key(),
        Tags=[
            {"Key": "nbsecrets:provider", "Value": "anthropic"},
            {"Key": "nbsecrets:managed", "Value": "true"},
        ],
    )
    return team


@pytest.mark.parametrize("sweep", ["lambda", "rotate", "next-rotation"])
def test_a_previous_payload_cannot_archive_another_teams_anthropic_key(
    anthropic_team, notebook, monkeypatch, sweep
):
    team = anthropic_team
    victim = team.add_anthropic_key()
    by_hand = Via("rotate", monkeypatch)
    ours = team.add_anthropic_key()
    by_hand.rotate(ANTHROPIC, "anthropic", ours)  # the admin gives rotation the team's key
    assert notebook.payload_as_previous(ANTHROPIC, crafted(victim, 16))
    if sweep == "next-rotation":
        by_hand.rotate(ANTHROPIC, "anthropic", team.add_anthropic_key())
        assert not team.anthropic_active(ours)  # the key rotation recorded: archived
    else:
        Via(sweep, monkeypatch).sweep(ANTHROPIC, "anthropic")
    assert team.anthropic_active(victim)
    ours_id = team.anthropic_keys[ours]["id"]
    assert_only_team_writes(team, anthropic_ids={ours_id})


# -- 3. the admin namespace -------------------------------------------------------------------


def test_a_notebook_cannot_forge_rotation_records_or_settings(team, notebook, via, sm):
    via.rotate()
    ledger = "nbsecrets-admin/minted/nbsecrets/openai"
    assert sm.describe_secret(SecretId=ledger)  # rotation keeps its record there
    forged = json.dumps({"secret": SECRET, "keys": []})
    assert notebook.put(ledger, forged) is None
    settings = "nbsecrets-admin/rotation/nbsecrets/openai"
    assert not notebook.create(
        settings, json.dumps({"openai_project_id": "proj_other"}), {"nbsecrets:managed": "true"}
    )
    assert ("PutSecretValue", ledger) in notebook.refused
    assert ("CreateSecret", settings) in notebook.refused


@pytest.mark.parametrize("providers", [(), ("openai", "anthropic")])
@pytest.mark.parametrize("write", [False, True])
@pytest.mark.parametrize("fallback", [(), ("us-west-2",)])
def test_no_generated_notebook_policy_grants_anything_under_the_admin_namespace(
    providers, write, fallback
):
    from nbsecrets.admin.policy import PolicyOptions, policy_document

    account = "123456789012"
    doc = policy_document(
        PolicyOptions(
            region=REGION,
            account=account,
            providers=providers,
            allow_write=write,
            fallback_regions=fallback,
            kms_key_arn=f"arn:aws:kms:{REGION}:{account}:key/k",
        )
    )
    actions = [
        "GetSecretValue",
        "DescribeSecret",
        "PutSecretValue",
        "CreateSecret",
        "UpdateSecretVersionStage",
        "TagResource",
        "DeleteSecret",
        "UpdateSecret",
    ]
    for region in (REGION, *fallback):
        for name in (
            "nbsecrets-admin/openai",
            "nbsecrets-admin/minted/nbsecrets/openai",
            "nbsecrets-admin/rotation/nbsecrets/openai",
        ):
            arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-AbCdEf"
            context = {"secretsmanager:Name": name, "aws:TagKeys": ["nbsecrets:managed"]}
            for action in actions:
                assert not evaluator.allows([doc], f"secretsmanager:{action}", arn, context), (
                    action,
                    name,
                )
