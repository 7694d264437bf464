"""A simulated SageMaker notebook instance: what an admin deploys loads a key, no manual step.

Real user ec2-user, real virtual environments in the AL2023 layout (notebook-al2023-v1) as
anaconda3/envs/{python3 (Python 3.10), pytorch (3.12), JupyterSystemEnv} (ipykernel in the
kernel environments, no boto3 nor nbsecrets; 3.10 and 3.12 are copies of pyenv's where this
machine has them, else its own Python, and the test says which), the
resource metadata file, the moto server as AWS with the wheelhouse in an S3 bucket. The
lifecycle configuration is deployed with `nbsecrets lifecycle`, read back from SageMaker and
run as SageMaker runs it (as root, within 5 minutes); kernels run as ec2-user.
The tests run in file order: refused, stand-in, deploy-and-load, idempotent.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tarfile

import boto3
import pytest

from nbsecrets import cli
from tests.sagemaker import machine as sim

pytestmark = pytest.mark.sagemaker

KEY = "sk-sim-notebook-0123456789abcdefABCDEF"
KERNEL_ENVS = ("python3", "pytorch")


@pytest.fixture(scope="module")
def nb(tmp_path_factory):
    with sim.simulated("notebook", tmp_path_factory) as m:
        yield m


def setup(nb, aws_env, capsys, prefix="team-a/"):
    up = sim.publish(nb, f"{prefix}openai", KEY)
    assert (
        cli.main(
            [
                "lifecycle",
                "--name",
                "team-a",
                "--artifact",
                up.uri,
                "--artifact-sha256",
                up.sha256,
                "--prefix",
                prefix,
            ]
        )
        == 0
    )
    capsys.readouterr()
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    found = sagemaker.describe_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName="team-a"
    )
    on_create = base64.b64decode(found["OnCreate"][0]["Content"]).decode()
    on_start = base64.b64decode(found["OnStart"][0]["Content"]).decode()
    return up, on_create, on_start


def start(nb, aws_env, on_start, tmp_path):
    done, pid = sim.run_script(on_start, tmp_path / "on-start.sh", sim.aws_for_kernel(aws_env))
    assert done.returncode == 0, done.stderr
    # Lines reach stdout, which SageMaker sends to CloudWatch.
    assert "nbsecrets: installing in the background" in done.stdout
    sim.wait_for(pid)
    return done


def test_tampered_artifact_is_refused(nb, aws_env, capsys, tmp_path):
    nb.reset_home()
    up, on_create, on_start = setup(nb, aws_env, capsys)
    sim.tamper(nb, up, tmp_path)  # same key, other content
    created, _ = sim.run_script(on_create, tmp_path / "on-create.sh", sim.aws_for_kernel(aws_env))
    assert created.returncode == 0 and "on-create" in created.stdout
    start(nb, aws_env, on_start, tmp_path)
    log = nb.log.read_text()
    assert f"REFUSED {up.uri}: sha256" in log and f"not the deployed {up.sha256}" in log
    assert not any(nb.has_nbsecrets(env) for env in nb.envs)


def test_standin_aikey_while_installing_then_real_one_without_restart(
    nb, aws_env, capsys, tmp_path
):
    nb.reset_home()
    _, _, on_start = setup(nb, aws_env, capsys)
    # The settings and IPython files are written in the foreground; stop before the install
    # by pointing the script at no environments, as if the background job had not run yet.
    done, pid = sim.run_script(
        on_start,
        tmp_path / "on-start.sh",
        {**sim.aws_for_kernel(aws_env), "NBSECRETS_ENVS_DIR": "/nonexistent"},
    )
    assert done.returncode == 0, done.stderr
    sim.wait_for(pid)
    assert not nb.has_nbsecrets("python3")
    # One kernel: %aikey before the install, the install as the background job does it,
    # %aikey again in the same kernel.
    house = nb.home / "house"  # readable by ec2-user
    with tarfile.open(nb.built.archive) as tar:
        tar.extractall(house, filter="data")
    py = nb.envs["python3"] / "bin" / "python"
    before_dists = set(nb.run_as_user([str(py), "-m", "pip", "freeze"], {}).stdout.split())
    install = (
        f"import subprocess; subprocess.run([{str(py)!r}, '-m', 'pip', 'install', '-q', "
        f"'--no-index', '--find-links', {str(house / 'wheelhouse')!r}, 'nbsecrets'], "
        "check=True)"
    )
    subprocess.run(["chown", "-R", nb.user, str(house)], check=True)
    before, _, after, loaded = nb.kernel(
        "python3",
        sim.aws_for_kernel(aws_env),
        "%aikey openai",
        install,
        "%aikey openai",
        "import hashlib, os; print(hashlib.sha256(os.environ"
        "['OPENAI_API_KEY'].encode()).hexdigest())",
    )
    assert "still being installed" in before and str(nb.log) in before
    assert "openai" in after and "OPENAI_API_KEY" in after and KEY not in after
    assert loaded.strip() == sim.digest(KEY)
    # Leave the environment as it was (the next test installs from the artifact).
    added = set(nb.run_as_user([str(py), "-m", "pip", "freeze"], {}).stdout.split()) - before_dists
    nb.run_as_user(
        [
            str(py),
            "-m",
            "pip",
            "uninstall",
            "-y",
            "-q",
            *(d.split("==")[0].split(" @ ")[0] for d in added),
        ],
        {},
    )
    shutil.rmtree(house)


def test_deployed_notebook_instance_loads_the_key_in_every_kernel_env(
    nb, aws_env, capsys, tmp_path
):
    nb.reset_home()
    boto_before = {env: nb.installed(env, "boto3") for env in nb.envs}
    up, on_create, on_start = setup(nb, aws_env, capsys)
    created, _ = sim.run_script(on_create, tmp_path / "on-create.sh", sim.aws_for_kernel(aws_env))
    assert created.returncode == 0
    start(nb, aws_env, on_start, tmp_path)
    log = nb.log.read_text()
    assert f"artifact {up.uri} verified" in log, log
    for env in KERNEL_ENVS:
        assert f"installed into {nb.envs[env]}" in log, log
        assert nb.installed(env, "nbsecrets") == nb.built.version
        # boto3 came from the wheelhouse, offline, where the environment lacked it.
        assert boto_before[env] is None and nb.installed(env, "boto3")
    # The 3.10 kernel got the tomllib backport from the wheelhouse; the log says what pip
    # added in each environment.
    versions = {env: sim.python_version(nb.envs[env] / "bin" / "python") for env in KERNEL_ENVS}
    if versions["python3"] == "3.10":
        assert nb.installed("python3", "tomli") and "tomli" in log
    else:  # only where this machine has no Python 3.10 at all (the tags are tested instead)
        assert not list(sim.PYENV.glob("3.10.*")) and not shutil.which("python3.10")
    if versions["pytorch"] == "3.12":
        assert nb.installed("pytorch", "tomli") is None
    assert f"installed into {nb.envs['python3']} (added:" in log
    # SageMaker's own environment is left alone, its boto3 not upgraded.
    assert not nb.has_nbsecrets("JupyterSystemEnv")
    assert nb.installed("JupyterSystemEnv", "boto3") == boto_before["JupyterSystemEnv"]
    for env in KERNEL_ENVS:
        shown, loaded = nb.kernel(
            env,
            sim.aws_for_kernel(aws_env),
            "%aikey openai",
            "import hashlib, os; print(hashlib.sha256(os.environ"
            "['OPENAI_API_KEY'].encode()).hexdigest())",
        )
        assert "team-a/openai" in shown and KEY not in shown, shown
        assert loaded.strip() == sim.digest(KEY)
    assert KEY not in log


def test_on_start_twice_is_idempotent(nb, aws_env, capsys, tmp_path):
    nb.reset_home()
    _, _, on_start = setup(nb, aws_env, capsys)
    start(nb, aws_env, on_start, tmp_path)
    files = [
        nb.home / ".ipython/profile_default/ipython_config.py",
        nb.home / ".ipython/profile_default/startup/00-nbsecrets.py",
        nb.home / ".config/nbsecrets/config.toml",
    ]
    first = [f.read_text() for f in files]
    start(nb, aws_env, on_start, tmp_path)
    assert [f.read_text() for f in files] == first
    assert first[0].count("# >>> nbsecrets >>>") == 1
    assert 'prefix = "team-a/"' in first[2]
    log = nb.log.read_text()
    assert log.count("nbsecrets: done") == 2 and "FAILED" not in log
    for env in KERNEL_ENVS:
        assert nb.installed(env, "nbsecrets") == nb.built.version
