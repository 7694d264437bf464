"""The pinned install artifact: built with pip, uploaded to S3 (the emulator) by
`nbsecrets artifact`, with its sha256 and the bare wheel (the rotation Lambda's code)."""

from __future__ import annotations

import hashlib
import json
import subprocess
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
    assert all(n.startswith("wheelhouse/") for n in names if n != "targets.json")
    assert "targets.json" in names
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


# -- one wheelhouse for every Python the targets run ------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheelhouse")
    return artifact.build(out), out


def interpreter(version: str) -> str | None:
    """A CPython ``version`` on this machine (Debian's or pyenv's), or None."""
    import glob
    import shutil

    found = shutil.which(f"python{version}")
    candidates = [found] if found else []
    candidates += sorted(glob.glob(f"/root/.pyenv/versions/{version}.*/bin/python{version}"))
    for path in candidates:
        done = subprocess.run([path, "-c", "import venv, ensurepip"], capture_output=True)
        if done.returncode == 0:
            return path
    return None


def test_each_target_gets_a_complete_set_of_wheels_it_can_install(built):
    b, out = built
    manifest = json.loads((out / "targets.json").read_text())
    with tarfile.open(b.archive) as tar:
        shipped = {n.removeprefix("wheelhouse/") for n in tar.getnames()}
        assert json.loads(tar.extractfile("targets.json").read()) == manifest
    assert set(manifest) == set(artifact.TARGETS) == {"3.10", "3.12"}
    house = out / "wheelhouse"
    for target, wheels in manifest.items():
        assert set(wheels) <= shipped
        # Every requirement, markers evaluated for the target, has a wheel whose tags fit.
        taken, missing = artifact.closure(house, f"nbsecrets=={b.version}", target)
        assert missing == [], (target, missing)
        assert sorted(p.name for p in taken) == sorted(wheels)
        assert all(artifact.compatible(w, target) for w in wheels)
        names = {w.split("-")[0].lower() for w in wheels}
        assert {"nbsecrets", "boto3", "ipython", "ipywidgets"} <= names
    # tomllib is in the standard library from 3.11: the backport only for 3.10, as the
    # dependency's marker says (a wheelhouse resolved on 3.11 alone lacked it).
    assert any(w.startswith("tomli-") for w in manifest["3.10"])
    assert not any(w.startswith("tomli-") for w in manifest["3.12"])
    ipython = {t: [w for w in ws if w.startswith("ipython-")] for t, ws in manifest.items()}
    assert ipython["3.10"][0].startswith("ipython-8.")  # IPython 9 needs 3.11


def test_a_cp310_only_wheel_is_not_taken_for_3_12():
    assert artifact.compatible("x-1.0-cp310-cp310-manylinux_2_17_x86_64.whl", "3.10")
    assert not artifact.compatible("x-1.0-cp310-cp310-manylinux_2_17_x86_64.whl", "3.12")
    assert artifact.compatible("x-1.0-cp310-abi3-manylinux2014_x86_64.whl", "3.12")
    assert not artifact.compatible("x-1.0-cp312-cp312-macosx_11_0_arm64.whl", "3.12")
    assert artifact.compatible("x-1.0-py3-none-any.whl", "3.10")


@pytest.mark.parametrize("target", ["3.10", "3.12"])
def test_the_wheelhouse_installs_offline_on_each_target(built, target, tmp_path):
    python = interpreter(target)
    if python is None:
        pytest.skip(
            f"no Python {target} here (Debian has only 3.11): its wheels' tags and requirements "
            "are checked by test_each_target_gets_a_complete_set_of_wheels_it_can_install"
        )
    b, out = built
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    done = subprocess.run(
        [
            py,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-index",
            "--find-links",
            str(out / "wheelhouse"),
            f"nbsecrets=={b.version}",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    check = "import nbsecrets.config, IPython, boto3, sys; print(sys.version_info[:2])"
    ran = subprocess.run([py, "-c", check], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == str(tuple(int(x) for x in target.split(".")))
