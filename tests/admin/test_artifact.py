"""The pinned install artifact: built with pip, uploaded to S3 (the emulator) by
`nbsecrets artifact`, with its sha256 and the bare wheel (the rotation Lambda's code)."""

from __future__ import annotations

import hashlib
import tarfile
import zipfile

import boto3
import pytest

from nbsecrets import cli
from nbsecrets.admin import artifact
from nbsecrets.errors import ConfigError


def test_artifact_command_uploads_wheelhouse_and_wheel(aws_env, capsys, tmp_path):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="team-artifacts")
    assert cli.main(["artifact", "--s3", "s3://team-artifacts/nbsecrets/"]) == 0
    printed = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert set(printed) == {"ARTIFACT_URI", "ARTIFACT_SHA256", "WHEEL_URI", "WHEEL_SHA256"}
    for uri_key, sha_key, name in (
        ("ARTIFACT_URI", "ARTIFACT_SHA256", "archive.tar.gz"),
        ("WHEEL_URI", "WHEEL_SHA256", "nbsecrets.whl"),
    ):
        bucket, key = artifact.parse_s3_uri(printed[uri_key])
        assert bucket == "team-artifacts" and key.startswith("nbsecrets/")
        # The key names the content's hash: an uploaded object never changes.
        assert printed[sha_key][:12] in key
        path = tmp_path / name
        s3.download_file(bucket, key, str(path))
        assert hashlib.sha256(path.read_bytes()).hexdigest() == printed[sha_key]
    with tarfile.open(tmp_path / "archive.tar.gz") as tar:
        names = tar.getnames()
    assert all(n.startswith("wheelhouse/") for n in names)
    for dist in ("nbsecrets-", "boto3-", "ipywidgets-"):
        assert any(n.startswith(f"wheelhouse/{dist}") and n.endswith(".whl") for n in names)
    # A pure-Python wheel is a zip with the package at its root: Lambda takes it as code.
    with zipfile.ZipFile(tmp_path / "nbsecrets.whl") as whl:
        assert "nbsecrets/__init__.py" in whl.namelist()
        for script in ("notebook-instance/on-start.sh", "common.sh"):  # one includes the other
            assert f"nbsecrets/_shipped/lifecycle-config/{script}" in whl.namelist()


@pytest.mark.parametrize(
    "location", ["https://bucket/x/", "s3://bucket", "s3://Bad_Bucket/x/", "s3://bucket/x/a b/"]
)
def test_bad_locations_are_refused(location):
    with pytest.raises(ConfigError, match="S3 location"):
        artifact.parse_s3_uri(location)


def test_upload_needs_a_folder(aws_env, tmp_path):
    built = artifact.Built(tmp_path / "a.tar.gz", tmp_path / "n.whl", "0.1.0")
    with pytest.raises(ConfigError, match="ending in '/'"):
        artifact.upload(boto3.client("s3"), built, "s3://team-artifacts/nbsecrets.tar.gz")
