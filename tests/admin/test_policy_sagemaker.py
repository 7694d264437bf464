"""Issue 10's policy points, each proven with the package's evaluator and parliament:
fallback regions, per-region KMS keys, GenerateDataKey for writes, aws:TagKeys, the prefix
rule and s3:GetObject on the install artifact only."""

from __future__ import annotations

import json

import pytest

from nbsecrets import cli
from nbsecrets.admin.evaluator import allows, evaluate
from nbsecrets.admin.policy import PolicyOptions, policy_document
from nbsecrets.errors import ConfigError

R, R2, A = "eu-west-1", "us-west-2", "111122223333"
KMS = f"arn:aws:kms:{R}:{A}:key/1111aaaa-11aa-11aa-11aa-111111111111"
KMS2 = f"arn:aws:kms:{R2}:{A}:key/2222bbbb-22bb-22bb-22bb-222222222222"
ARTIFACT = "s3://team-artifacts/nbsecrets/nbsecrets-wheelhouse-0.1.0-0123456789ab.tar.gz"


def secret(region: str, name: str = "nbsecrets/openai-AbCdEf") -> str:
    return f"arn:aws:secretsmanager:{region}:{A}:secret:{name}"


def via(region: str) -> dict[str, str]:
    return {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}


def doc(**kwargs) -> dict:
    return policy_document(PolicyOptions(region=R, account=A, **kwargs))


def parliament_findings(document: dict) -> list[str]:
    from parliament import analyze_policy_string

    policy = analyze_policy_string(json.dumps(document), include_community_auditors=True)
    return [f"{f.issue}: {f.detail}" for f in policy.findings]


ALL_OPTIONS = {
    "fallback": {"providers": ("openai",), "fallback_regions": (R2,)},
    "kms per region": {"fallback_regions": (R2,), "kms_key_arns": (KMS, f"{R2}={KMS2}")},
    "write with kms": {"allow_write": True, "kms_key_arn": KMS, "providers": ("openai",)},
    "artifact": {"install_artifact": ARTIFACT},
    "everything": {
        "allow_write": True,
        "fallback_regions": (R2,),
        "kms_key_arns": (KMS, f"{R2}={KMS2}"),
        "install_artifact": ARTIFACT,
    },
}


@pytest.mark.parametrize("case", list(ALL_OPTIONS))
def test_parliament_clean(case):
    assert parliament_findings(doc(**ALL_OPTIONS[case])) == []


def test_fallback_region_grants_the_replica_arn():
    pol = [doc(providers=("openai",), fallback_regions=(R2,))]
    for region in (R, R2):
        assert allows(pol, "secretsmanager:GetSecretValue", secret(region))
    assert not allows(pol, "secretsmanager:GetSecretValue", secret("eu-central-1"))
    # Without the option, a failover read is denied: the bug this fixes.
    assert not allows([doc(providers=("openai",))], "secretsmanager:GetSecretValue", secret(R2))


def test_fallback_region_writes_stay_in_the_primary():
    pol = [doc(allow_write=True, fallback_regions=(R2,))]
    assert allows(pol, "secretsmanager:PutSecretValue", secret(R))
    assert not allows(pol, "secretsmanager:PutSecretValue", secret(R2))


def test_each_region_decrypts_with_its_own_key_through_secrets_manager_only():
    pol = [doc(fallback_regions=(R2,), kms_key_arns=(KMS, f"{R2}={KMS2}"))]
    assert allows(pol, "kms:Decrypt", KMS, via(R))
    assert allows(pol, "kms:Decrypt", KMS2, via(R2))
    assert not allows(pol, "kms:Decrypt", KMS2, {"kms:ViaService": "s3.us-west-2.amazonaws.com"})
    assert not allows(pol, "kms:Decrypt", KMS2, {})
    assert not allows(pol, "kms:GenerateDataKey", KMS, via(R))  # read-only: no encrypt


def test_write_with_a_customer_managed_key_grants_generate_data_key():
    pol = [doc(allow_write=True, kms_key_arn=KMS)]
    assert allows(pol, "kms:GenerateDataKey", KMS, via(R))
    assert not allows(
        pol, "kms:GenerateDataKey", KMS, {"kms:ViaService": "ec2.eu-west-1.amazonaws.com"}
    )
    assert not allows(pol, "kms:Encrypt", KMS, via(R))


@pytest.mark.parametrize("arn", [f"arn:aws:kms:{R}:{A}:alias/team", "alias/team"])
def test_alias_arn_is_refused_with_a_sentence(arn):
    with pytest.raises(ConfigError, match=r"alias|key ARN") as err:
        PolicyOptions(region=R, account=A, kms_key_arn=arn)
    assert "\n" not in str(err.value)


def test_region_of_a_replica_key_must_match():
    with pytest.raises(ConfigError, match="is in us-west-2, not eu-central-1"):
        PolicyOptions(region=R, account=A, kms_key_arns=(f"eu-central-1={KMS2}",))


@pytest.mark.parametrize("action", ["secretsmanager:TagResource", "secretsmanager:CreateSecret"])
def test_tags_are_limited_to_nbsecrets_keys(action):
    pol = [doc(allow_write=True)]
    ctx = {"secretsmanager:Name": "nbsecrets/openai"}
    arn = secret(R)
    assert allows(
        pol, action, arn, {**ctx, "aws:TagKeys": ["nbsecrets:provider", "nbsecrets:managed"]}
    )
    # SageMaker=true would make AmazonSageMakerFullAccess roles able to read the secret.
    assert not allows(pol, action, arn, {**ctx, "aws:TagKeys": ["SageMaker"]})
    assert not allows(pol, action, arn, {**ctx, "aws:TagKeys": ["nbsecrets:provider", "SageMaker"]})


def test_create_without_tags_is_still_allowed_and_named():
    pol = [doc(allow_write=True)]
    assert allows(
        pol, "secretsmanager:CreateSecret", secret(R), {"secretsmanager:Name": "nbsecrets/openai"}
    )
    assert not allows(
        pol,
        "secretsmanager:CreateSecret",
        secret(R, "other/openai-AbCdEf"),
        {"secretsmanager:Name": "other/openai"},
    )


@pytest.mark.parametrize("prefix", ["team-a", "nbsecrets", "team/a"])
def test_prefix_not_ending_in_slash_is_refused(prefix):
    with pytest.raises(ConfigError, match="must end in '/'") as err:
        PolicyOptions(region=R, account=A, prefix=prefix)
    assert f"{prefix}/" in str(err.value)


def test_prefix_ending_in_slash_is_accepted_even_as_an_arn():
    PolicyOptions(region=R, account=A, prefix="team-a/")
    PolicyOptions(region=R, account=A, prefix=f"arn:aws:secretsmanager:{R}:{A}:secret:team/")


def test_team_prefix_does_not_cover_a_lookalike_team():
    pol = [doc(prefix="team-a/")]
    assert allows(pol, "secretsmanager:GetSecretValue", secret(R, "team-a/openai-AbCdEf"))
    assert not allows(pol, "secretsmanager:GetSecretValue", secret(R, "team-ab/openai-AbCdEf"))


def test_install_artifact_is_readable_and_nothing_else_in_s3():
    pol = [doc(install_artifact=ARTIFACT)]
    obj = "arn:aws:s3:::team-artifacts/nbsecrets/nbsecrets-wheelhouse-0.1.0-0123456789ab.tar.gz"
    assert evaluate(pol, "s3:GetObject", obj).statement.sid == "ReadInstallArtifact"
    assert not allows(pol, "s3:GetObject", "arn:aws:s3:::team-artifacts/nbsecrets/other.tar.gz")
    assert not allows(pol, "s3:GetObject", "arn:aws:s3:::other-bucket/x")
    assert not allows(pol, "s3:PutObject", obj)
    assert not allows(pol, "s3:ListBucket", "arn:aws:s3:::team-artifacts")


def test_cli_policy_options(capsys):
    code = cli.main(
        [
            "policy",
            "--region",
            R,
            "--account",
            A,
            "--fallback-region",
            R2,
            "--kms-key-arn",
            KMS,
            "--kms-key-arn",
            f"{R2}={KMS2}",
            "--allow-write",
            "--artifact",
            ARTIFACT,
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    pol = [json.loads(out)]
    assert allows(pol, "secretsmanager:GetSecretValue", secret(R2))
    assert allows(pol, "kms:Decrypt", KMS2, via(R2))
    assert allows(pol, "kms:GenerateDataKey", KMS, via(R))
    assert "every key under the prefix nbsecrets/" in err


def test_cli_fallback_regions_default_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("NBSECRETS_FALLBACK_REGIONS", R2)
    assert cli.main(["policy", "--region", R, "--account", A]) == 0
    pol = [json.loads(capsys.readouterr().out)]
    assert allows(pol, "secretsmanager:GetSecretValue", secret(R2))


def test_cli_refuses_bad_prefix_in_one_line(capsys):
    assert cli.main(["policy", "--region", R, "--account", A, "--prefix", "team-a"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "must end in '/'" in err
