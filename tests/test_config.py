from __future__ import annotations

import json
import os
from pathlib import Path

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
    path.write_text(
        'prefix = "file/"\nregion = "eu-west-1"\ncache_ttl = 60\n'
        'nbsecrets_fallback_regions = ["eu-central-1"]\n'
    )
    cfg = Config.load(
        {
            "NBSECRETS_CONFIG": str(path),
            "NBSECRETS_PREFIX": "env/",
            "NBSECRETS_FALLBACK_REGIONS": "us-west-2, us-east-2",
        }
    )
    assert cfg.prefix == "env/" and cfg.region == "eu-west-1" and cfg.cache_ttl_s == 60
    assert cfg.fallback_regions == ("us-west-2", "us-east-2")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('prefx = "x/"\n', "unknown key 'prefx'"),
        ("prefix = \n", "not valid TOML"),
        ('cache_ttl = "soon"\n', "number of seconds"),
        ("cache_ttl = -1\n", "number of seconds"),
        ('redact = "maybe"\n', "must be 1 or 0"),
    ],
)
def test_bad_files_are_errors(tmp_path, text, words):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words):
        Config.load({"NBSECRETS_CONFIG": str(path)})


def test_redact_switch(tmp_path):
    env = {"NBSECRETS_CONFIG": str(tmp_path / "none"), "NBSECRETS_REDACT": "0"}
    assert Config.load(env).redact is False


@pytest.mark.parametrize(
    ("arn", "region"),
    [
        ("arn:aws:sagemaker:eu-west-2:111122223333:notebook-instance/my-nb", "eu-west-2"),
        (
            "arn:aws:sagemaker:us-east-1:111122223333:app/d-abc/space/JupyterLab/default",
            "us-east-1",
        ),
    ],
)
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


# --- the configuration in force: read once, again when its sources change -----------------


def test_current_is_one_object_until_a_variable_or_the_file_changes(aws_env):
    from nbsecrets import config

    first = config.current()
    assert config.current() is first and first.prefix == "nbsecrets/"
    os.environ["UNRELATED_VARIABLE"] = "1"
    assert config.current() is first
    os.environ["NBSECRETS_PREFIX"] = "env/"
    second = config.current()
    assert second is not first and second.prefix == "env/" and config.current() is second
    del os.environ["NBSECRETS_PREFIX"]
    path = Path(aws_env["NBSECRETS_CONFIG"])
    path.write_text('prefix = "team/"\n')  # the file appears
    assert config.current().prefix == "team/"
    path.write_text('prefix = "oth/"\n')  # same size: the new mtime tells
    os.utime(path, ns=(1, 1))
    assert config.current().prefix == "oth/"
    path.unlink()
    assert config.current().prefix == "nbsecrets/"
    os.environ["NBSECRETS_CONFIG"] = str(path.with_name("elsewhere.toml"))
    path.with_name("elsewhere.toml").write_text('prefix = "moved/"\n')
    assert config.current().prefix == "moved/"


def test_a_broken_file_raises_on_each_use_and_leaves_the_protections_on(aws_env):
    from nbsecrets import config

    path = Path(aws_env["NBSECRETS_CONFIG"])
    path.write_text("redact = false\nguard = [not toml\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match="not valid TOML") as caught:
            config.current()
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert config.safety_switch("redact") is True and config.safety_switch("guard") is True
    os.environ["NBSECRETS_GUARD"] = "0"  # the environment alone still counts
    assert config.safety_switch("guard") is False
    path.write_text("redact = false\n")
    os.utime(path, ns=(2, 2))
    assert config.safety_switch("redact") is False and config.current().redact is False


def test_reset_reads_again_what_the_check_cannot_see(aws_env):
    from nbsecrets import config

    path = Path(aws_env["NBSECRETS_CONFIG"])
    path.write_text('prefix = "aaa/"\n')
    os.utime(path, ns=(5, 5))
    assert config.current().prefix == "aaa/"
    path.write_text('prefix = "bbb/"\n')  # same size, same inode, mtime put back
    os.utime(path, ns=(5, 5))
    assert config.current().prefix == "aaa/"
    config.reset()
    assert config.current().prefix == "bbb/"
