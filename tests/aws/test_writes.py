"""Versions and rollback on the emulator: `nbsecrets versions`, `nbsecrets rollback`, --stage."""

from __future__ import annotations

import json
import os

import pytest

import nbsecrets
from nbsecrets import api, cli

KEY = "sk-test-0123456789abcdefghij"
NEW = "sk-test-new-9876543210zyxwvu"


@pytest.fixture
def two_versions(seed, sm):
    seed("nbsecrets/openai", KEY)
    sm.put_secret_value(SecretId="nbsecrets/openai", SecretString=NEW)
    ids = {
        s: v["VersionId"]
        for v in sm.list_secret_version_ids(SecretId="nbsecrets/openai")["Versions"]
        for s in v["VersionStages"]
    }
    return ids["AWSPREVIOUS"], ids["AWSCURRENT"]


def stages(sm, name="nbsecrets/openai"):
    return {
        v["VersionId"]: set(v["VersionStages"])
        for v in sm.list_secret_version_ids(SecretId=name)["Versions"]
    }


def test_versions_lists_ids_and_stages_not_values(two_versions, capsys):
    old, new = two_versions
    found = api.store().versions("nbsecrets/openai")
    assert [(v.version_id, v.stages) for v in found] == [
        (new, ("AWSCURRENT",)),
        (old, ("AWSPREVIOUS",)),
    ]
    assert cli.main(["versions", "openai"]) == 0
    out = capsys.readouterr().out
    assert old in out and new in out and "AWSPREVIOUS" in out and "created" in out
    assert KEY not in out and NEW not in out


def test_versions_without_list_permission_shows_labelled_versions(two_versions, proxy):
    old, new = two_versions
    proxy.fail(400, "AccessDeniedException", times=1, only="ListSecretVersionIds")
    found = api.store().versions("nbsecrets/openai")
    assert [(v.version_id, v.stages, v.created) for v in found] == [
        (new, ("AWSCURRENT",), None),
        (old, ("AWSPREVIOUS",), None),
    ]
    assert proxy.actions() == ["DescribeSecret", "ListSecretVersionIds"]


def test_versions_by_reference(seed, sm, capsys):
    seed("APIKEYS", {"openai": KEY})
    sm.put_secret_value(SecretId="APIKEYS", SecretString=json.dumps({"openai": NEW}))
    assert cli.main(["versions", "openai=APIKEYS#openai"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("APIKEYS:") and out.count("AWS") == 2
    assert KEY not in out and NEW not in out


def test_rollback_moves_current_back_and_previous_forward(two_versions, sm, proxy, capsys):
    old, new = two_versions
    assert nbsecrets.get("openai") == NEW  # cached now; rollback must drop it
    proxy.requests.clear()
    assert cli.main(["rollback", "openai"]) == 0
    assert "UpdateSecretVersionStage" in proxy.actions()
    assert stages(sm) == {old: {"AWSCURRENT"}, new: {"AWSPREVIOUS"}}
    out = capsys.readouterr().out
    assert old in out and KEY not in out and NEW not in out
    # moto serves reads without a stage from its default version, which
    # UpdateSecretVersionStage does not move; name the stage to read what AWS would serve.
    assert (
        sm.get_secret_value(SecretId="nbsecrets/openai", VersionStage="AWSCURRENT")["SecretString"]
        == KEY
    )
    # A second rollback undoes the first.
    assert cli.main(["rollback", "openai"]) == 0
    assert stages(sm) == {old: {"AWSPREVIOUS"}, new: {"AWSCURRENT"}}


def test_rollback_forgets_the_cache_in_process(two_versions, proxy):
    assert nbsecrets.get("openai", stage="AWSPREVIOUS") == KEY
    assert nbsecrets.get("openai", stage="AWSPREVIOUS") == KEY  # cached
    assert proxy.actions() == ["GetSecretValue"]
    assert api.store().rollback("nbsecrets/openai") == two_versions
    assert nbsecrets.get("openai", stage="AWSPREVIOUS") == NEW


def test_rollback_without_previous_is_one_clear_error(seed, sm, capsys):
    seed("nbsecrets/openai", KEY)
    with pytest.raises(nbsecrets.KeyNotFoundError, match="no AWSPREVIOUS version"):
        api.store().rollback("nbsecrets/openai")
    assert cli.main(["rollback", "openai"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nbsecrets versions nbsecrets/openai" in err
    assert [set(s) for s in stages(sm).values()] == [{"AWSCURRENT"}]


def test_versions_of_missing_secret(capsys):
    with pytest.raises(nbsecrets.KeyNotFoundError, match="nbsecrets/openai"):
        api.store().versions("nbsecrets/openai")
    assert cli.main(["versions", "openai"]) == 1
    assert "was not found" in capsys.readouterr().err


def test_magic_stage_reads_previous(two_versions, ip, capsys):
    old, _new = two_versions
    ip.run_line_magic("aikey", "openai --stage AWSPREVIOUS")
    assert os.environ["OPENAI_API_KEY"] == KEY
    out = capsys.readouterr().out
    assert old[:8] in out and "stage AWSPREVIOUS" in out and KEY not in out
    ip.run_line_magic("aikey", "openai")
    assert os.environ["OPENAI_API_KEY"] == NEW


# -- issue 10: CreateSecret first, with NBSECRETS_KMS_KEY_ID --------------------------------


def test_new_key_is_created_first_and_with_the_configured_kms_key(sm, proxy, monkeypatch):
    import boto3

    kms = boto3.client("kms", region_name="us-east-1")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setenv("NBSECRETS_KMS_KEY_ID", key_arn)
    proxy.requests.clear()
    api.store_key("openai", "sk-test-created-first-000000000000")
    # No PutSecretValue first: a "-??????" grant cannot match a secret that does not exist.
    assert proxy.actions() == ["CreateSecret"]
    desc = sm.describe_secret(SecretId="nbsecrets/openai")
    assert desc["KmsKeyId"] == key_arn
    assert {t["Key"] for t in desc["Tags"]} == {
        "nbsecrets:provider",
        "nbsecrets:managed",
        "nbsecrets:fingerprint",
    }


def test_existing_key_gets_a_new_version_after_resource_exists(seed, sm, proxy):
    seed("nbsecrets/openai", "sk-test-old-value-00000000000000000")
    proxy.requests.clear()
    api.store_key("openai", "sk-test-new-value-00000000000000000")
    # DescribeSecret: the fingerprint tag to keep; TagResource: the new version's fingerprint
    assert proxy.actions() == ["CreateSecret", "DescribeSecret", "PutSecretValue", "TagResource"]
    assert (
        sm.get_secret_value(SecretId="nbsecrets/openai")["SecretString"]
        == "sk-test-new-value-00000000000000000"
    )
