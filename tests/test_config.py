from __future__ import annotations

import json

import pytest

from nbsecrets.aws.sagemaker import sagemaker_region
from nbsecrets.config import Config
from nbsecrets.errors import ConfigError


def test_defaults(tmp_path):
    cfg = Config.load({"NBSECRETS_CONFIG": str(tmp_path / "missing.toml")})
    assert (cfg.prefix, cfg.region, cfg.cache_ttl_s, cfg.redact) == ("nbsecrets/", None, 300, True)
    assert cfg.fallback_regions == () and cfg.role_arn is None


def test_environment_wins_over_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('prefix = "file/"\nregion = "eu-west-1"\ncache_ttl = 60\n'
                    'nbsecrets_fallback_regions = ["eu-central-1"]\n')
    cfg = Config.load({"NBSECRETS_CONFIG": str(path), "NBSECRETS_PREFIX": "env/",
                       "NBSECRETS_FALLBACK_REGIONS": "us-west-2, us-east-2"})
    assert cfg.prefix == "env/" and cfg.region == "eu-west-1" and cfg.cache_ttl_s == 60
    assert cfg.fallback_regions == ("us-west-2", "us-east-2")


@pytest.mark.parametrize(("text", "words"), [
    ('prefx = "x/"\n', "unknown key 'prefx'"),
    ("prefix = \n", "not valid TOML"),
    ('cache_ttl = "soon"\n', "number of seconds"),
    ("cache_ttl = -1\n", "number of seconds"),
    ('redact = "maybe"\n', "must be 1 or 0"),
])
def test_bad_files_are_errors(tmp_path, text, words):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words):
        Config.load({"NBSECRETS_CONFIG": str(path)})


def test_redact_switch(tmp_path):
    env = {"NBSECRETS_CONFIG": str(tmp_path / "none"), "NBSECRETS_REDACT": "0"}
    assert Config.load(env).redact is False


@pytest.mark.parametrize(("arn", "region"), [
    ("arn:aws:sagemaker:eu-west-2:111122223333:notebook-instance/my-nb", "eu-west-2"),
    ("arn:aws:sagemaker:us-east-1:111122223333:app/d-abc/space/JupyterLab/default", "us-east-1"),
])
def test_sagemaker_metadata_region(tmp_path, arn, region):
    meta = tmp_path / "resource-metadata.json"
    meta.write_text(json.dumps({"ResourceArn": arn, "ResourceName": "my-nb"}))
    assert sagemaker_region(meta) == region


@pytest.mark.parametrize("content", [None, "not json", "[]", '{"ResourceArn": "nope"}'])
def test_sagemaker_metadata_absent_or_odd(tmp_path, content):
    meta = tmp_path / "resource-metadata.json"
    if content is not None:
        meta.write_text(content)
    assert sagemaker_region(meta) is None


def test_kms_key_id_from_environment_or_file(tmp_path):
    from nbsecrets.config import Config

    key = "arn:aws:kms:us-east-1:111122223333:key/k"
    assert Config.load({"NBSECRETS_KMS_KEY_ID": key}).kms_key_id == key
    path = tmp_path / "c.toml"
    path.write_text(f'kms_key_id = "{key}"\n')
    assert Config.load({"NBSECRETS_CONFIG": str(path)}).kms_key_id == key
    assert Config.load({"NBSECRETS_CONFIG": str(tmp_path / "none.toml")}).kms_key_id is None
