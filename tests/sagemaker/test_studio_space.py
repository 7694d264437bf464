"""A simulated SageMaker Studio JupyterLab space: real user sagemaker-user, a real virtual
environment at /opt/conda (ipykernel and boto3, as Studio's image has), the resource metadata
file, the moto server as AWS with the wheelhouse in S3. `nbsecrets lifecycle --studio
--domain-id` deploys (to a loopback SageMaker API: moto has no Studio calls); the script the
domain now uses runs as Studio runs it (as sagemaker-user, within 5 minutes)."""

from __future__ import annotations

import base64

import pytest

from nbsecrets import cli
from tests.sagemaker import machine as sim

pytestmark = pytest.mark.sagemaker

KEY = "sk-sim-studio-0123456789abcdefABCDEF"


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    with sim.simulated("studio", tmp_path_factory) as m:
        yield m


@pytest.fixture
def sm_api(sm_api):
    """conftest's loopback SageMaker API, with the domain of the space."""
    sm_api.add_domain("d-sim", DefaultUserSettings={"ExecutionRole": "arn:aws:iam::1:role/r"})
    return sm_api


def deploy(space, sm_api, capsys):
    up = sim.publish(space, "team-s/openai", KEY)
    assert (
        cli.main(
            [
                "lifecycle",
                "--studio",
                "--name",
                "team-s",
                "--domain-id",
                "d-sim",
                "--artifact",
                up.uri,
                "--artifact-sha256",
                up.sha256,
                "--prefix",
                "team-s/",
            ]
        )
        == 0
    )
    capsys.readouterr()
    lab = sm_api.domains["d-sim"]["DefaultUserSettings"]["JupyterLabAppSettings"]
    arn = lab["DefaultResourceSpec"]["LifecycleConfigArn"]
    [config] = [c for c in sm_api.studio.values() if c["StudioLifecycleConfigArn"] == arn]
    return up, base64.b64decode(config["StudioLifecycleConfigContent"]).decode()


def start(space, aws_env, text):
    done, pid = sim.run_script(
        text, space.home / ".on-start.sh", sim.aws_for_kernel(aws_env), user=space
    )
    assert done.returncode == 0, done.stderr
    assert "nbsecrets: installing in the background" in done.stdout
    sim.wait_for(pid)


def test_tampered_artifact_is_refused(space, aws_env, sm_api, capsys, tmp_path):
    space.reset_home()
    up, text = deploy(space, sm_api, capsys)
    sim.tamper(space, up, tmp_path)  # same key, other content
    start(space, aws_env, text)
    assert f"REFUSED {up.uri}" in space.log.read_text()
    assert not space.has_nbsecrets("conda")


def test_deployed_space_loads_the_key_and_a_restart_changes_nothing(space, aws_env, sm_api, capsys):
    space.reset_home()
    boto3_before = space.installed("conda", "boto3")
    up, text = deploy(space, sm_api, capsys)
    start(space, aws_env, text)
    log = space.log.read_text()
    assert f"artifact {up.uri} verified" in log and "installed into /opt/conda" in log, log
    assert space.installed("conda", "nbsecrets") == space.built.version
    assert space.installed("conda", "boto3") == boto3_before  # not upgraded
    shown, loaded = space.kernel(
        "conda",
        sim.aws_for_kernel(aws_env),
        "%aikey openai",
        "import hashlib, os; print(hashlib.sha256(os.environ"
        "['OPENAI_API_KEY'].encode()).hexdigest())",
    )
    assert "team-s/openai" in shown and KEY not in shown, shown
    assert loaded.strip() == sim.digest(KEY)
    # The space restarts: same files, nothing added twice.
    config = space.home / ".ipython/profile_default/ipython_config.py"
    before = config.read_text()
    start(space, aws_env, text)
    assert config.read_text() == before and before.count("# >>> nbsecrets >>>") == 1
    assert space.log.read_text().count("nbsecrets: done") == 2
    assert KEY not in space.log.read_text()
