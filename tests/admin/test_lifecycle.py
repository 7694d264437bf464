"""Lifecycle scripts (lint, size, a run in a fake SageMaker layout), ``nbsecrets lifecycle``
on the emulator and, for what moto does not serve, with botocore's Stubber; template.yaml."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from nbsecrets import cli
from nbsecrets.admin import lifecycle
from nbsecrets.admin.policy import PolicyOptions, cloudformation_policy

ROOT = Path(__file__).resolve().parents[2]
LC = ROOT / "lifecycle-config"
SCRIPTS = ["provision.sh", "notebook-instance/on-create.sh", "notebook-instance/on-start.sh",
           "studio/on-start.sh"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_is_valid_bash_and_shellcheck_clean(name):
    subprocess.run(["bash", "-n", str(LC / name)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is not installed (scripts/test.sh installs it)")
    result = subprocess.run(["shellcheck", "-s", "bash", str(LC / name)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_sizes(name):
    data = (LC / name).read_bytes()
    assert len(data) < lifecycle.MAX_SCRIPT_BYTES
    assert len(base64.b64encode(data)) <= 16_384


@pytest.mark.parametrize("name", SCRIPTS[1:])
def test_scripts_never_touch_iam(name):
    text = (LC / name).read_text()
    for word in ("provision", "put-role-policy", "put_role_policy", "aws iam", "attach-role"):
        assert word not in text.replace("`nbsecrets provision`", ""), word


def test_scripts_dir_is_the_source_tree():
    assert lifecycle.scripts_dir() == LC


# -- a run in a fake SageMaker layout ---------------------------------------------------------

FAKE_PYTHON = """#!/bin/bash
# Records its calls; "pip install" waits for the gate file, to show the script does not wait.
echo "$(basename "$(dirname "$(dirname "$0")")") $*" >>"$RECORD"
if [ "$2" = pip ]; then
  for _ in $(seq 600); do [ -e "$GATE" ] && break; sleep 0.1; done
  echo "fake pip: installed $5"
fi
if [ "$2" = nbsecrets.cli ]; then echo "FAKE DOCTOR REPORT"; fi
"""
FAKE_SUDO = """#!/bin/bash
# sudo shim: records the call, drops the options, runs the command as this user.
echo "sudo $*" >>"$RECORD"
while [ "$1" != "--" ]; do shift; done
shift
exec "$@"
"""


def fake_env(tmp_path: Path, env_names: list[str]) -> tuple[dict[str, str], Path]:
    home = tmp_path / "home"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    sudo = bindir / "sudo"
    sudo.write_text(FAKE_SUDO)
    sudo.chmod(0o755)
    for name in env_names:
        py = home / "anaconda3" / "envs" / name / "bin" / "python"
        py.parent.mkdir(parents=True)
        py.write_text(FAKE_PYTHON)
        py.chmod(0o755)
    env = {
        "PATH": f"{bindir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "RECORD": str(tmp_path / "record.txt"),
        "GATE": str(tmp_path / "gate"),
        "NBSECRETS_USER": "notebook-user",  # not us: the script must go through sudo
        "NBSECRETS_HOME": str(home),
        "NBSECRETS_ENVS_DIR": str(home / "anaconda3" / "envs"),
        "NBSECRETS_LOG": str(tmp_path / "lifecycle.log"),
        "NBSECRETS_PIP_SPEC": "nbsecrets @ https://example.invalid/nbsecrets.whl",
    }
    return env, home


def wait_for_done(log: Path) -> str:
    for _ in range(600):  # a bounded wait for the background job, not a timing assertion
        text = log.read_text() if log.exists() else ""
        if "nbsecrets: done" in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"the background install never finished:\n{text}")


def check_ipython_config(home: Path) -> None:
    from traitlets.config import Config

    config = (home / ".ipython" / "profile_default" / "ipython_config.py").read_text()
    assert config.count("# >>> nbsecrets >>>") == 1
    c = Config()
    exec(compile(config, "ipython_config.py", "exec"), {"c": c})  # nbsecrets is importable here
    assert list(c.InteractiveShellApp.extensions.get_value([])) == ["nbsecrets"]


def test_notebook_on_start_in_fake_layout(tmp_path):
    env, home = fake_env(tmp_path, ["python3", "pytorch_p310", "JupyterSystemEnv"])
    script = LC / "notebook-instance" / "on-start.sh"
    subprocess.run(["bash", str(script)], env=env, check=True, timeout=60)
    log = Path(env["NBSECRETS_LOG"])
    # It returned while the first install is still held at the gate.
    assert "nbsecrets: done" not in log.read_text()
    assert "this script returns now" in log.read_text()
    check_ipython_config(home)  # written before returning
    Path(env["GATE"]).touch()
    text = wait_for_done(log)
    calls = Path(env["RECORD"]).read_text().splitlines()
    spec = env["NBSECRETS_PIP_SPEC"]
    pip = f"-m pip install --quiet --disable-pip-version-check {spec}"
    installs = [c for c in calls if " pip " in c and not c.startswith("sudo")]
    assert sorted(installs) == [f"python3 {pip}", f"pytorch_p310 {pip}"]
    assert not any(c.startswith("JupyterSystemEnv") for c in calls)
    assert any(c.endswith("-m nbsecrets.cli doctor") for c in calls)
    assert all(c.startswith("sudo -u notebook-user -H -- ") for c in calls if c.startswith("sudo"))
    assert len([c for c in calls if c.startswith("sudo")]) == 3  # two installs and doctor
    assert "installed into python3" in text and "installed into pytorch_p310" in text
    assert "FAKE DOCTOR REPORT" in text
    # A second start does not add the extension twice.
    subprocess.run(["bash", str(script)], env=env, check=True, timeout=60)
    wait_for_done(log)
    check_ipython_config(home)


def test_studio_on_start_in_fake_layout(tmp_path):
    env, home = fake_env(tmp_path, ["conda"])
    env["NBSECRETS_CONDA"] = str(home / "anaconda3" / "envs" / "conda")
    env.pop("NBSECRETS_ENVS_DIR")
    env["NBSECRETS_USER"] = subprocess.run(["id", "-un"], capture_output=True, text=True,
                                           check=True).stdout.strip()  # already that user
    subprocess.run(["bash", str(LC / "studio" / "on-start.sh")], env=env, check=True,
                   timeout=60)
    log = Path(env["NBSECRETS_LOG"])
    assert "nbsecrets: done" not in log.read_text()
    check_ipython_config(home)
    Path(env["GATE"]).touch()
    wait_for_done(log)
    calls = Path(env["RECORD"]).read_text().splitlines()
    spec = env["NBSECRETS_PIP_SPEC"]
    assert calls == [f"conda -m pip install --quiet --disable-pip-version-check {spec}",
                     "conda -m nbsecrets.cli doctor"]  # no sudo: already the user


def test_on_create_logs(tmp_path):
    log = tmp_path / "l.log"
    subprocess.run(["bash", str(LC / "notebook-instance" / "on-create.sh")],
                   env={"PATH": os.environ["PATH"], "NBSECRETS_LOG": str(log)}, check=True)
    assert "on-create: instance created" in log.read_text()


@pytest.mark.parametrize("spec", ["nbsecrets @ https://x/y.whl",
                                  "git+https://h/r.git@v1#egg=nbsecrets",
                                  'odd "spec" with $HOME, `x` and {}\\'])
def test_pip_spec_replaces_the_default(spec):
    text = lifecycle.script_text("notebook-instance/on-start.sh", spec)
    assert text.count("NBSECRETS_PIP_SPEC=") == 1
    head = text.split("NB_USER=")[0]
    out = subprocess.run(["bash", "-c", head + 'printf %s "$NBSECRETS_PIP_SPEC"'],
                         env={"PATH": os.environ["PATH"]}, capture_output=True, text=True)
    assert out.stdout == spec
    subprocess.run(["bash", "-n"], input=text, text=True, check=True)


# -- nbsecrets lifecycle ---------------------------------------------------------------------

def b64(relative: str) -> str:
    return base64.b64encode((LC / relative).read_bytes()).decode()


def test_lifecycle_creates_on_emulator_then_is_unchanged(aws_env, capsys):
    assert cli.main(["lifecycle", "--name", "nbsecrets"]) == 0
    assert capsys.readouterr().out.startswith(
        "Created the notebook instance lifecycle configuration nbsecrets (arn:aws:sagemaker:")
    sm = boto3.client("sagemaker", region_name="us-east-1")
    got = sm.describe_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName="nbsecrets")
    assert got["OnCreate"] == [{"Content": b64("notebook-instance/on-create.sh")}]
    assert got["OnStart"] == [{"Content": b64("notebook-instance/on-start.sh")}]
    assert cli.main(["lifecycle", "--name", "nbsecrets"]) == 0
    assert capsys.readouterr().out.startswith(
        "The notebook instance lifecycle configuration nbsecrets is already up to date")


def test_lifecycle_update_request(aws_env):
    sm = boto3.client("sagemaker", region_name="us-east-1")
    arn = "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance-lifecycle-config/lc"
    with Stubber(sm) as stub:
        stub.add_response("describe_notebook_instance_lifecycle_config",
                          {"NotebookInstanceLifecycleConfigArn": arn,
                           "NotebookInstanceLifecycleConfigName": "lc",
                           "OnStart": [{"Content": "ZWNobyBvbGQ="}]},
                          {"NotebookInstanceLifecycleConfigName": "lc"})
        stub.add_response("update_notebook_instance_lifecycle_config", {}, {
            "NotebookInstanceLifecycleConfigName": "lc",
            "OnCreate": [{"Content": b64("notebook-instance/on-create.sh")}],
            "OnStart": [{"Content": b64("notebook-instance/on-start.sh")}]})
        done = lifecycle.deploy(sm, "lc")
        stub.assert_no_pending_responses()
    assert (done.action, done.arn) == ("updated", arn)


STUDIO_ARN = "arn:aws:sagemaker:us-east-1:123456789012:studio-lifecycle-config/lc"


def test_studio_create_request(aws_env):
    sm = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(sm) as stub:
        stub.add_client_error("describe_studio_lifecycle_config", "ResourceNotFound",
                              http_status_code=400,
                              expected_params={"StudioLifecycleConfigName": "lc"})
        stub.add_response("create_studio_lifecycle_config", {"StudioLifecycleConfigArn":
                                                             STUDIO_ARN}, {
            "StudioLifecycleConfigName": "lc",
            "StudioLifecycleConfigContent": b64("studio/on-start.sh"),
            "StudioLifecycleConfigAppType": "JupyterLab"})
        done = lifecycle.deploy(sm, "lc", studio=True)
        stub.assert_no_pending_responses()
    assert (done.action, done.arn, done.studio) == ("created", STUDIO_ARN, True)


def test_studio_replace_request(aws_env):
    """Studio has no update call: a changed configuration is deleted and created again."""
    sm = boto3.client("sagemaker", region_name="us-east-1")
    spec = "nbsecrets @ https://example.invalid/nbsecrets-0.2.whl"
    content = base64.b64encode(lifecycle.script_text("studio/on-start.sh", spec).encode()
                               ).decode()
    with Stubber(sm) as stub:
        stub.add_response("describe_studio_lifecycle_config", {
            "StudioLifecycleConfigArn": STUDIO_ARN, "StudioLifecycleConfigName": "lc",
            "StudioLifecycleConfigContent": b64("studio/on-start.sh"),
            "StudioLifecycleConfigAppType": "JupyterLab"}, {"StudioLifecycleConfigName": "lc"})
        stub.add_response("delete_studio_lifecycle_config", {},
                          {"StudioLifecycleConfigName": "lc"})
        stub.add_response("create_studio_lifecycle_config", {"StudioLifecycleConfigArn":
                                                             STUDIO_ARN}, {
            "StudioLifecycleConfigName": "lc", "StudioLifecycleConfigContent": content,
            "StudioLifecycleConfigAppType": "JupyterLab"})
        done = lifecycle.deploy(sm, "lc", studio=True, pip_spec=spec)
        stub.assert_no_pending_responses()
    assert done.action == "updated"


def test_provision_sh_sets_up_role_and_lifecycle(aws_env, tmp_path):
    iam = boto3.client("iam", region_name="us-east-1")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"Service": "sagemaker.amazonaws.com"}}]}
    iam.create_role(RoleName="nb", AssumeRolePolicyDocument=json.dumps(trust))
    env = {**os.environ, "NBSECRETS_CLI": f"{sys.executable} -m nbsecrets.cli",
           "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run(["bash", str(LC / "provision.sh"), "--role", "nb", "--name", "lc",
                          "--provider", "openai"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Put the inline policy nbsecrets on role nb." in out.stdout
    assert "Created the notebook instance lifecycle configuration lc" in out.stdout
    doc = iam.get_role_policy(RoleName="nb", PolicyName="nbsecrets")["PolicyDocument"]
    assert doc["Statement"][0]["Resource"] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nbsecrets/openai-??????"]


def test_provision_sh_needs_a_role():
    out = subprocess.run(["bash", str(LC / "provision.sh")], capture_output=True, text=True)
    assert out.returncode == 2 and "--role NAME_OR_ARN" in out.stderr


# -- template.yaml -----------------------------------------------------------------------------

def test_template_is_generated_from_scripts_and_policy():
    assert (LC / "template.yaml").read_text() == lifecycle.template_text(), \
        "regenerate: nbsecrets lifecycle --template > lifecycle-config/template.yaml"


def test_template_policy_and_scripts():
    from cfnlint.decode.cfn_yaml import loads

    template = json.loads(json.dumps(loads((LC / "template.yaml").read_text())))
    role = template["Resources"]["NotebookRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "sagemaker.amazonaws.com"}
    [policy] = role["Policies"]
    assert policy == {"PolicyName": "nbsecrets", "PolicyDocument": cloudformation_policy(
        PolicyOptions(region=None, account=None))}
    # ... which is what `nbsecrets policy --format cloudformation` prints.
    printed = subprocess.run([sys.executable, "-m", "nbsecrets.cli", "policy", "--format",
                              "cloudformation"], capture_output=True, text=True, check=True)
    assert json.loads(json.dumps(loads(printed.stdout)))["Policies"] == [policy]
    config = template["Resources"]["LifecycleConfig"]["Properties"]
    assert config["OnCreate"] == [{"Content": {"Fn::Base64": (
        LC / "notebook-instance" / "on-create.sh").read_text()}}]
    assert config["OnStart"] == [{"Content": {"Fn::Base64": (
        LC / "notebook-instance" / "on-start.sh").read_text()}}]


def test_template_passes_cfn_lint():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(LC / "template.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
