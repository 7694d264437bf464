"""``nbsecrets federate`` against loopback IAM (outbound federation), loopback OpenAI and
Anthropic admin APIs, and moto: creates once, a second run changes nothing, refuses a rule for
any role, reads the admin credentials only from Secrets Manager; and what it writes makes
``%aikey`` work."""

from __future__ import annotations

import json
import os

import pytest

from nbsecrets import api
from nbsecrets.admin.federate import FederateOptions, federate
from nbsecrets.errors import ConfigError
from tests.conftest import SAGEMAKER_TRUST
from tests.federation.servers import (
    ACCOUNT,
    AnthropicApi,
    FederationIam,
    OpenAIApi,
    StsApi,
)


@pytest.fixture
def world(moto_endpoint, aws_env, iam, seed):
    sts = StsApi(moto_endpoint)
    fiam = FederationIam(moto_endpoint, sts.issuer)
    oai, ant = (
        OpenAIApi(admin_token="oai-admin-0123456789"),
        AnthropicApi(admin_token="ant-oat-admin-0123456789"),
    )
    os.environ.update(
        {
            "AWS_ENDPOINT_URL_STS": sts.url,
            "AWS_ENDPOINT_URL_IAM": fiam.url,
            "NBSECRETS_OPENAI_BASE_URL": f"{oai.url}/v1",
            "NBSECRETS_ANTHROPIC_BASE_URL": ant.url,
            "ANTHROPIC_BASE_URL": ant.url,
        }
    )
    for name in ("nb-exec", "nb-other"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    seed("nbsecrets-admin/openai", {"admin_key": oai.admin_token, "project_id": "proj_1"})
    seed("nbsecrets-admin/anthropic", {"org_admin_token": ant.admin_token})
    yield sts, fiam, oai, ant
    for server in (sts, fiam, oai, ant):
        server.close()


def run(opts: FederateOptions) -> tuple[int, list[str]]:
    lines: list[str] = []
    n = federate(opts, api.store(), lines.append)
    return n, lines


OPENAI = FederateOptions("openai", ("nb-exec",), "svc_nb", project_id="proj_1")


def test_openai_creates_once_then_changes_nothing(world, sm):
    sts, fiam, oai, _ant = world
    n, lines = run(OPENAI)
    assert n == 5, lines  # enable, provider, rule, secret, tag
    assert fiam.enabled
    assert len(oai.providers) == 1 and len(oai.rules) == 1
    [provider] = oai.providers.values()
    assert provider["issuer"] == sts.issuer and provider["audience"] == "https://api.openai.com/v1"
    [rule] = oai.rules.values()
    assert rule["attribute_matchers"] == {"sub": f"arn:aws:iam::{ACCOUNT}:role/nb-exec"}
    fed = json.loads(sm.get_secret_value(SecretId="nbsecrets/openai")["SecretString"])
    assert fed == {
        "federation": {
            "audience": "https://api.openai.com/v1",
            "identity_provider_id": provider["id"],
            "service_account_id": "svc_nb",
        }
    }
    writes = len(oai.admin_writes)
    n2, lines2 = run(OPENAI)
    assert n2 == 0, lines2
    assert len(oai.admin_writes) == writes
    assert any("outbound identity federation is on" in line for line in lines2)
    assert "oai-admin-0123456789" not in "\n".join(lines + lines2)


def test_what_federate_writes_loads(world, sm):
    _sts, _fiam, oai, ant = world
    run(OPENAI)
    run(
        FederateOptions(
            "anthropic",
            ("nb-exec",),
            "svac_nb",
            organization_id=ant.organization_id,
            workspace_id="default",
        )
    )
    oai_token_url = f"{oai.url}/oauth/token"
    fed = json.loads(sm.get_secret_value(SecretId="nbsecrets/openai")["SecretString"])
    fed["federation"]["token_url"] = oai_token_url  # the loopback's exchange endpoint
    sm.put_secret_value(SecretId="nbsecrets/openai", SecretString=json.dumps(fed))
    api.load("openai", "anthropic")
    assert os.environ["OPENAI_API_KEY"] in oai.issued
    assert os.environ["ANTHROPIC_FEDERATION_RULE_ID"] in ant.rules
    tags = {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId="nbsecrets/openai")["Tags"]}
    assert tags["nbsecrets:mode"] == "federated"
    assert {k.info.provider: k.mode for k in api.list_keys()} == {
        "openai": "federated",
        "anthropic": "federated",
    }


def test_anthropic_creates_once_then_changes_nothing(world, sm):
    sts, fiam, _oai, ant = world
    fiam.enabled = True
    opts = FederateOptions(
        "anthropic", ("nb-exec", "nb-other"), "svac_nb", organization_id=ant.organization_id
    )
    n, lines = run(opts)
    assert n == 5, lines  # issuer, two rules, secret, tag
    [issuer] = ant.issuers.values()
    assert issuer["issuer_url"] == sts.issuer and issuer["check_jti"] is True
    subjects = sorted(r["match"]["subject_prefix"] for r in ant.rules.values())
    assert subjects == [
        f"arn:aws:iam::{ACCOUNT}:role/nb-exec",
        f"arn:aws:iam::{ACCOUNT}:role/nb-other",
    ]
    fed = json.loads(sm.get_secret_value(SecretId="nbsecrets/anthropic")["SecretString"])
    assert set(fed["federation"]["federation_rule_ids"]) == set(subjects)
    assert run(opts)[0] == 0


def test_per_user_rules_match_source_identity(world, sm):
    sts, _fiam, _oai, ant = world
    opts = FederateOptions(
        "anthropic",
        ("nb-exec",),
        "svac_nb",
        organization_id=ant.organization_id,
        per_user=("alice", "bob"),
    )
    run(opts)
    assert sorted(r["match"].get("condition", "") for r in ant.rules.values()) == [
        'claims["https://sts.amazonaws.com/"]["source_identity"] == "alice"',
        'claims["https://sts.amazonaws.com/"]["source_identity"] == "bob"',
    ]
    sts.source_identity = "bob"
    api.load("anthropic")
    rules = json.loads(sm.get_secret_value(SecretId="nbsecrets/anthropic")["SecretString"])
    assert (
        os.environ["ANTHROPIC_FEDERATION_RULE_ID"]
        == rules["federation"]["federation_rule_ids"]["bob"]
    )
    import anthropic  # the SDK exchanges: bob's rule accepts bob's token

    assert [m.id for m in anthropic.Anthropic().models.list()] == ["claude-loopback"]
    sts.source_identity = "mallory"
    from nbsecrets.errors import FederationError

    with pytest.raises(FederationError, match="no rule for user profile mallory"):
        api.load("anthropic")


def test_openai_per_user_adds_the_transformation(world):
    _sts, _fiam, oai, _ant = world
    run(FederateOptions("openai", ("nb-exec",), "svc_nb", project_id="proj_1", per_user=("alice",)))
    [provider] = oai.providers.values()
    assert provider["attribute_transformations"][0]["attribute"] == "source_identity"
    [rule] = oai.rules.values()
    assert rule["attribute_matchers"]["openai.source_identity"] == "alice"


@pytest.mark.parametrize("role", ["*", "nb-*", "arn:aws:iam::123456789012:role/*", ""])
def test_refuses_a_rule_for_any_role(world, role):
    _sts, fiam, oai, _ant = world
    with pytest.raises(ConfigError, match="any role"):
        run(FederateOptions("openai", (role,), "svc_nb", project_id="proj_1"))
    assert not oai.admin_writes and not fiam.enabled


def test_dry_run_changes_nothing(world, sm):
    _sts, fiam, oai, _ant = world
    n, lines = run(
        FederateOptions("openai", ("nb-exec",), "svc_nb", project_id="proj_1", dry_run=True)
    )
    assert n == 5 and all("would" in line for line in lines if "+" in line)
    assert not fiam.enabled and not oai.admin_writes
    with pytest.raises(Exception):
        sm.get_secret_value(SecretId="nbsecrets/openai")


def test_admin_credential_comes_from_the_admin_namespace(world, sm):
    sm.delete_secret(SecretId="nbsecrets-admin/anthropic", ForceDeleteWithoutRecovery=True)
    with pytest.raises(
        ConfigError,
        match=r"org:admin.*nbsecrets-admin/anthropic",
    ):
        run(FederateOptions("anthropic", ("nb-exec",), "svac_nb", organization_id="org"))


def test_role_in_another_account_is_refused(world):
    with pytest.raises(ConfigError, match="not 123456789012"):
        run(
            FederateOptions(
                "openai", ("arn:aws:iam::999999999999:role/x",), "svc_nb", project_id="proj_1"
            )
        )
