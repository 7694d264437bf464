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
DIGEST = (
    "import hashlib, os; print(hashlib.sha256(os.environ['OPENAI_API_KEY'].encode()).hexdigest())"
)


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
    arn = lab["BuiltInLifecycleConfigArn"]
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


def deploy_cli(up) -> None:
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


def launch(space, sm_api, aws_env, name, app_type):
    """Start ``app_type`` in the space ``name`` as Studio does: the scripts the domain resolves
    at this launch, run as sagemaker-user within 5 minutes; their stdout (CloudWatch)."""
    text = sm_api.launch("d-sim", name, app_type)
    done, pid = sim.run_script(
        text, space.home / ".on-start.sh", sim.aws_for_kernel(aws_env), user=space
    )
    assert done.returncode == 0, done.stderr
    sim.wait_for(pid)
    return done.stdout


def test_a_space_launched_twice_across_an_upgrade_and_a_code_editor_space(
    space, aws_env, sm_api, capsys, tmp_path
):
    """The first artifact, a space and a Code Editor space; then a new release deployed: the
    space's next launch runs the new built-in configuration (no user action), the old ones stay
    (attached), and what pip upgraded reaches the launch's stdout."""
    space.reset_home()
    assert sim.python_version(space.envs["conda"] / "bin" / "python") in ("3.12", "3.11")
    first = sim.publish(space, "team-s/openai", KEY)
    deploy_cli(first)
    capsys.readouterr()
    sm_api.spaces["alice"] = {
        "SpaceName": "alice",
        "SpaceSharingSettings": {"SharingType": "Private"},
    }
    out = launch(space, sm_api, aws_env, "alice", "JupyterLab")
    assert f"artifact {first.uri} verified" in out and "installed into /opt/conda" in out
    assert space.installed("conda", "nbsecrets") == space.built.version
    old_configs = set(sm_api.studio)
    sm_api.stop("alice", "JupyterLab")

    # The next release: a new artifact, deployed the same way.
    nxt = sim.bumped_artifact(tmp_path, "0.1.1")
    second = sim.publish(space, "team-s/openai", KEY, built=nxt)
    deploy_cli(second)
    capsys.readouterr()
    assert old_configs < set(sm_api.studio)  # new ones beside the old, nothing deleted
    space.reset_home()
    out = launch(space, sm_api, aws_env, "alice", "JupyterLab")
    assert f"artifact {second.uri} verified" in out
    assert "upgraded: nbsecrets 0.1.0->0.1.1" in out  # in CloudWatch, not only in the file
    assert space.installed("conda", "nbsecrets") == "0.1.1"
    shown, loaded = space.kernel("conda", sim.aws_for_kernel(aws_env), "%aikey openai", DIGEST)
    assert "team-s/openai" in shown and KEY not in shown
    assert loaded.strip() == sim.digest(KEY)

    # A Code Editor space: the same image and user, the same script as a CodeEditor
    # configuration, the built-in one of the domain's user settings.
    sm_api.spaces["bob-code"] = {
        "SpaceName": "bob-code",
        "SpaceSharingSettings": {"SharingType": "Private"},
    }
    space.reset_home()
    out = launch(space, sm_api, aws_env, "bob-code", "CodeEditor")
    assert f"artifact {second.uri} verified" in out and "install finished" in out
    [ran] = [a for a in sm_api.apps.values() if a["SpaceName"] == "bob-code"]
    [config] = [
        c
        for c in sm_api.studio.values()
        if c["StudioLifecycleConfigArn"] == ran["BuiltInLifecycleConfigArn"]
    ]
    assert config["StudioLifecycleConfigAppType"] == "CodeEditor"
    shown, _ = space.kernel("conda", sim.aws_for_kernel(aws_env), "%aikey openai", DIGEST)
    assert "team-s/openai" in shown and KEY not in shown
    assert KEY not in space.log.read_text()
