"""Lifecycle scripts (lint, size, settings, a run in a fake SageMaker layout), ``nbsecrets
lifecycle`` on the emulator and, for what moto does not serve, on a loopback SageMaker API;
provision.sh; template.yaml. The real-machine runs are in tests/sagemaker/."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from nbsecrets import cli
from nbsecrets.admin import lifecycle
from nbsecrets.admin.lifecycle import Settings
from nbsecrets.admin.template import template_text
from nbsecrets.errors import ConfigError
from tests.conftest import SAGEMAKER_TRUST

ROOT = Path(__file__).resolve().parents[2]
LC = ROOT / "lifecycle-config"
SCRIPTS = [
    "provision.sh",
    "notebook-instance/on-create.sh",
    "notebook-instance/on-start.sh",
    "studio/on-start.sh",
    "common.sh",
]
ON_START = ["notebook-instance/on-start.sh", "studio/on-start.sh"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_is_valid_bash_and_shellcheck_clean(name):
    subprocess.run(["bash", "-n", str(LC / name)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is not installed (scripts/test.sh installs it)")
    result = subprocess.run(
        ["shellcheck", "-s", "bash", str(LC / name)], capture_output=True, text=True
    )
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
# Records its calls; "pip install" waits for the gate file (if GATE is set), to show the
# script stops waiting after NBSECRETS_WAIT; "pip list" answers as an environment whose boto3
# the install upgrades.
env="$(basename "$(dirname "$(dirname "$0")")")"
echo "$env $*" >>"$RECORD"
state="$(dirname "$RECORD")/$env.installed"
if [ "$2 $3" = "pip install" ]; then
  if [ -n "$GATE" ]; then for _ in $(seq 600); do [ -e "$GATE" ] && break; sleep 0.1; done; fi
  echo "fake pip: installed $5"
  touch "$state"
fi
if [ "$2 $3" = "pip list" ]; then
  if [ -e "$state" ]; then printf 'boto3==1.35.0\\nnbsecrets==0.1.0\\nsix==1.16.0\\n'
  else printf 'boto3==1.26.0\\nsix==1.16.0\\n'; fi
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


SHA = "ab" * 32
PIP = Settings(
    pip_requirement=f"nbsecrets==0.1.0 --hash=sha256:{SHA}",
    prefix="team-a/",
    region="eu-west-1",
    fallback_regions=("us-west-2",),
    kms_key_id="arn:aws:kms:eu-west-1:111122223333:key/k",
)
ART = Settings(
    artifact_uri="s3://team-artifacts/nbsecrets/nbsecrets-wheelhouse-0.1.0-x.tar.gz",
    artifact_sha256=SHA,
)


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
        "NBSECRETS_WAIT": "1",  # the install waits at the gate: on-start stops waiting
        "NBSECRETS_USER": "notebook-user",  # not us: the script must go through sudo
        "NBSECRETS_HOME": str(home),
        "NBSECRETS_ENVS_DIR": str(home / "anaconda3" / "envs"),
        "NBSECRETS_LOG": str(tmp_path / "lifecycle.log"),
    }
    return env, home


def script(tmp_path: Path, relative: str, settings: Settings = PIP) -> Path:
    path = tmp_path / relative.replace("/", "-")
    path.write_text(lifecycle.script_text(relative, settings))
    return path


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
    assert (home / ".ipython" / "profile_default" / "startup" / "00-nbsecrets.py").is_file()


PIP_ARGS = (
    "-m pip install --quiet --disable-pip-version-check --upgrade-strategy "
    "only-if-needed --require-hashes -r /tmp/nbsecrets-install."
)


def test_notebook_on_start_in_fake_layout(tmp_path):
    env, home = fake_env(tmp_path, ["python3", "pytorch_p310", "JupyterSystemEnv"])
    path = script(tmp_path, "notebook-instance/on-start.sh")
    out = subprocess.run(
        ["bash", str(path)], env=env, check=True, timeout=60, capture_output=True, text=True
    )
    log = Path(env["NBSECRETS_LOG"])
    # It returned while the first install is still held at the gate, and logged to stdout.
    assert "nbsecrets: done" not in log.read_text()
    assert "still installing after 1s: it goes on in the background" in out.stdout
    assert "waiting up to 1s" in log.read_text()
    check_ipython_config(home)  # written before returning
    settings = (home / ".config" / "nbsecrets" / "config.toml").read_text()
    for line in (
        'prefix = "team-a/"',
        'region = "eu-west-1"',
        'fallback_regions = "us-west-2"',
        'kms_key_id = "arn:aws:kms:eu-west-1:111122223333:key/k"',
    ):
        assert line in settings
    Path(env["GATE"]).touch()
    text = wait_for_done(log)
    calls = Path(env["RECORD"]).read_text().splitlines()
    installs = [c for c in calls if " pip install " in c and not c.startswith("sudo")]
    assert sorted(c.split(" ", 1)[0] for c in installs) == ["python3", "pytorch_p310"]
    assert all(c.split(" ", 1)[1].startswith(PIP_ARGS) for c in installs), installs
    assert not any(c.startswith("JupyterSystemEnv") for c in calls)
    assert any(c.endswith("-m nbsecrets.cli doctor --at-start") for c in calls)
    assert all(c.startswith("sudo -u notebook-user -H -- ") for c in calls if c.startswith("sudo"))
    # two environments (pip list, install, pip list) and doctor
    assert len([c for c in calls if c.startswith("sudo")]) == 7
    assert "installed into" in text and "FAKE DOCTOR REPORT" in text
    # What pip changed in a curated environment is in the log.
    assert "(added: nbsecrets 0.1.0; upgraded: boto3 1.26.0->1.35.0)" in text
    # A second start does not add the extension twice.
    subprocess.run(["bash", str(path)], env=env, check=True, timeout=60, capture_output=True)
    wait_for_done(log)
    check_ipython_config(home)


def test_studio_on_start_in_fake_layout(tmp_path):
    env, home = fake_env(tmp_path, ["conda"])
    env["NBSECRETS_CONDA"] = str(home / "anaconda3" / "envs" / "conda")
    env.pop("NBSECRETS_ENVS_DIR")
    env["NBSECRETS_USER"] = subprocess.run(
        ["id", "-un"], capture_output=True, text=True, check=True
    ).stdout.strip()  # already that user
    subprocess.run(
        ["bash", str(script(tmp_path, "studio/on-start.sh"))],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
    )
    log = Path(env["NBSECRETS_LOG"])
    assert "nbsecrets: done" not in log.read_text()
    check_ipython_config(home)
    Path(env["GATE"]).touch()
    wait_for_done(log)
    calls = Path(env["RECORD"]).read_text().splitlines()
    assert len(calls) == 4 and calls[1].startswith(f"conda {PIP_ARGS}")
    assert calls[0] == calls[2] == "conda -m pip list --format=freeze --disable-pip-version-check"
    assert calls[3] == "conda -m nbsecrets.cli doctor --at-start"  # no sudo: already the user


def test_on_start_waits_for_the_install_and_copies_its_outcome_to_stdout(tmp_path):
    """SageMaker sends only the script's stdout to CloudWatch: with no gate the install ends
    within the wait, and its outcome (installed, what changed, doctor) is in stdout."""
    env, _ = fake_env(tmp_path, ["python3", "JupyterSystemEnv"])
    env.pop("GATE")
    env["NBSECRETS_WAIT"] = "100"
    out = subprocess.run(
        ["bash", str(script(tmp_path, "notebook-instance/on-start.sh"))],
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    ).stdout
    assert "nbsecrets: installed into" in out and "upgraded: boto3 1.26.0->1.35.0" in out
    assert "FAKE DOCTOR REPORT" in out and "nbsecrets: done" in out
    assert out.rstrip().endswith("install finished; this script returns now")
    assert out.count("installing in the background") == 1  # foreground lines not repeated
    calls = Path(env["RECORD"]).read_text()
    assert "env AWS_STS_REGIONAL_ENDPOINTS=regional " in calls  # doctor's STS: regional


def test_shipped_scripts_install_nothing_without_a_source(tmp_path):
    env, _ = fake_env(tmp_path, ["python3"])
    subprocess.run(
        ["bash", str(LC / "notebook-instance" / "on-start.sh")],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
    )
    log = Path(env["NBSECRETS_LOG"])
    for _ in range(600):  # a bounded wait for the background job
        if "no install source set" in log.read_text():
            break
        time.sleep(0.1)
    assert "no install source set" in log.read_text()
    assert not Path(env["RECORD"]).exists()  # no python, no pip was run


def test_on_create_logs(tmp_path):
    log = tmp_path / "l.log"
    out = subprocess.run(
        ["bash", str(LC / "notebook-instance" / "on-create.sh")],
        env={"PATH": os.environ["PATH"], "NBSECRETS_LOG": str(log)},
        check=True,
        capture_output=True,
        text=True,
    )
    assert "on-create: instance created" in log.read_text()
    assert "on-create: instance created" in out.stdout


def test_on_start_scripts_share_one_body_and_deploy_as_one_file(tmp_path):
    """Each on-start script is its layout and an include of common.sh; what is deployed is one
    file with common.sh's text in place of the include, shellcheck-clean and within
    SageMaker's size limit."""
    common = (LC / "common.sh").read_text()
    for relative in ON_START:
        source = (LC / relative).read_text()
        assert "LOG=" not in source and source.count('/../common.sh"') == 1
        text = lifecycle.assemble(relative)
        assert text.count(common) == 1 and '/../common.sh"' not in text
        assert text.replace(common, "") == source.replace(
            '# shellcheck source=/dev/null\n. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"\n', ""
        )
        deployed = tmp_path / relative.replace("/", "-")
        deployed.write_text(lifecycle.script_text(relative, PIP))
        result = subprocess.run(
            ["shellcheck", "-s", "bash", str(deployed)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout
        assert len(base64.b64encode(deployed.read_bytes())) <= lifecycle.MAX_BASE64_CHARS


@pytest.mark.parametrize("settings", [PIP, ART])
def test_settings_are_filled_and_read_back_by_bash(settings):
    text = lifecycle.script_text("notebook-instance/on-start.sh", settings)
    head = text.split("# <<< settings <<<")[0]
    for var, value in settings.values().items():
        out = subprocess.run(
            ["bash", "-c", head + f'printf %s "${var}"'],
            env={"PATH": os.environ["PATH"]},
            capture_output=True,
            text=True,
        )
        assert out.stdout == value
    subprocess.run(["bash", "-n"], input=text, text=True, check=True)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"pip_requirement": "nbsecrets"}, "must pin a version and a hash"),
        ({"pip_requirement": "nbsecrets==0.1.0"}, "must pin a version and a hash"),
        ({"pip_requirement": "https://x/nbsecrets.whl"}, "must pin a version and a hash"),
        ({"artifact_uri": "s3://bkt/k.tar.gz"}, "needs its sha256"),
        ({"artifact_uri": "https://b/k", "artifact_sha256": SHA}, "not an S3 location"),
        (
            {
                "artifact_uri": "s3://bkt/k",
                "artifact_sha256": SHA,
                "pip_requirement": PIP.pip_requirement,
            },
            "one install source",
        ),
        ({"prefix": "team-a"}, "must end in '/'"),
        ({"prefix": 'a"$(reboot)"/'}, "quote"),
        ({"region": "x\ny"}, "newline"),
    ],
)
def test_bad_settings_are_refused_in_one_sentence(kwargs, words):
    with pytest.raises(ConfigError, match=re.escape(words)) as err:
        Settings(**kwargs)
    assert "\n" not in str(err.value)


def test_deploy_needs_an_install_source(aws_env, capsys):
    assert cli.main(["lifecycle", "--name", "lc"]) == 1
    assert "Give the install source" in capsys.readouterr().err


# -- nbsecrets lifecycle ---------------------------------------------------------------------


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_lifecycle_creates_on_emulator_then_is_unchanged(aws_env, capsys):
    argv = [
        "lifecycle",
        "--name",
        "nbsecrets",
        "--artifact",
        ART.artifact_uri,
        "--artifact-sha256",
        SHA,
    ]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Created the notebook instance lifecycle configuration nbsecrets (arn:aws:sagemaker:"
    )
    assert f"s3:GetObject on {ART.artifact_uri}" in out
    sm = boto3.client("sagemaker", region_name="us-east-1")
    got = sm.describe_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName="nbsecrets"
    )
    assert got["OnCreate"] == [
        {"Content": b64(lifecycle.script_text("notebook-instance/on-create.sh"))}
    ]
    assert got["OnStart"] == [
        {"Content": b64(lifecycle.script_text("notebook-instance/on-start.sh", ART))}
    ]
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.startswith(
        "The notebook instance lifecycle configuration nbsecrets is already up to date"
    )


def test_lifecycle_update_request(sm_api, capsys):
    assert cli.main(["lifecycle", "--name", "lc", "--pip-requirement", PIP.pip_requirement]) == 0
    assert (
        cli.main(
            ["lifecycle", "--name", "lc", "--artifact", ART.artifact_uri, "--artifact-sha256", SHA]
        )
        == 0
    )
    assert "Updated the notebook instance lifecycle configuration lc" in capsys.readouterr().out
    assert sm_api.ops() == [
        "DescribeNotebookInstanceLifecycleConfig",
        "CreateNotebookInstanceLifecycleConfig",
        "DescribeNotebookInstanceLifecycleConfig",
        "UpdateNotebookInstanceLifecycleConfig",
    ]
    assert sm_api.notebook["lc"]["OnStart"] == [
        {"Content": b64(lifecycle.script_text("notebook-instance/on-start.sh", ART))}
    ]


def test_provision_sh_sets_up_role_and_lifecycle(aws_env, tmp_path):
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_role(RoleName="nb", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    env = {
        **os.environ,
        "NBSECRETS_CLI": f"{sys.executable} -m nbsecrets.cli",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    out = subprocess.run(
        [
            "bash",
            str(LC / "provision.sh"),
            "--role",
            "nb",
            "--name",
            "lc",
            "--provider",
            "openai",
            "--prefix",
            "team-a/",
            "--artifact",
            ART.artifact_uri,
            "--artifact-sha256",
            SHA,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "Put the inline policy nbsecrets on role nb." in out.stdout
    assert "Created the notebook instance lifecycle configuration lc" in out.stdout
    doc = iam.get_role_policy(RoleName="nb", PolicyName="nbsecrets")["PolicyDocument"]
    assert doc["Statement"][0]["Resource"] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:team-a/openai-??????"
    ]
    assert {
        "Sid": "ReadInstallArtifact",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::" + ART.artifact_uri[5:],
    } in doc["Statement"]
    sm = boto3.client("sagemaker", region_name="us-east-1")
    got = sm.describe_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="lc")
    text = base64.b64decode(got["OnStart"][0]["Content"]).decode()
    assert f'ARTIFACT_SHA256="{SHA}"' in text and 'PREFIX="team-a/"' in text


@pytest.mark.parametrize(
    "argv, words",
    [
        ([], "--role NAME_OR_ARN"),
        (["--role", "nb"], "--artifact s3://"),
        (["--role", "nb", "--artifact", "s3://b/k"], "sha256"),
    ],
)
def test_provision_sh_needs_role_and_artifact(argv, words):
    out = subprocess.run(["bash", str(LC / "provision.sh"), *argv], capture_output=True, text=True)
    assert out.returncode == 2 and words in out.stderr


def test_provision_sh_expands_no_empty_array():
    """bash < 4.4 (Amazon Linux 2 has 4.2, macOS 3.2) fails on "${a[@]}" of an empty array
    under set -u: every array the script expands starts with an element."""
    text = "\n".join(
        line
        for line in (LC / "provision.sh").read_text().splitlines()
        if not line.lstrip().startswith("#")
    )
    expanded = set(re.findall(r'"\$\{(\w+)\[@\]', text))
    assert expanded
    for name in expanded:
        assert re.search(rf"^{name}=\(\S", text, re.M), name
        assert not re.search(rf"^{name}=\(\)", text, re.M), name


# -- template.yaml -----------------------------------------------------------------------------


def test_template_is_generated_from_scripts_and_policy():
    assert (LC / "template.yaml").read_text() == template_text(), (
        "regenerate: nbsecrets lifecycle --template > lifecycle-config/template.yaml"
    )


def test_template_policy_and_scripts():
    from cfnlint.decode.cfn_yaml import loads

    template = json.loads(json.dumps(loads((LC / "template.yaml").read_text())))
    role = template["Resources"]["NotebookRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "sagemaker.amazonaws.com"
    }
    policy, logs = role["Policies"]
    assert (policy["PolicyName"], logs["PolicyName"]) == ("nbsecrets", "nbsecrets-lifecycle-logs")
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert statements["ReadKeys"]["Resource"] == [
        {
            "Fn::Sub": (
                "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
                "${Prefix}*"
            )
        }
    ]
    assert statements["ReadInstallArtifact"] == {
        "Sid": "ReadInstallArtifact",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ArtifactBucket}/${ArtifactKey}"},
    }
    config = template["Resources"]["LifecycleConfig"]["Properties"]
    assert config["OnCreate"] == [
        {"Content": {"Fn::Base64": lifecycle.script_text("notebook-instance/on-create.sh")}}
    ]
    studio = template["Resources"]["StudioLifecycleConfig"]["Properties"]
    assert studio["StudioLifecycleConfigAppType"] == "JupyterLab"
    for sub in (config["OnStart"][0]["Content"], studio["StudioLifecycleConfigContent"]):
        text = sub["Fn::Base64"]["Fn::Sub"]
        assert 'ARTIFACT_URI="s3://${ArtifactBucket}/${ArtifactKey}"' in text
        assert 'ARTIFACT_SHA256="${ArtifactSha256}"' in text and 'PREFIX="${Prefix}"' in text
        # Every other "${" of bash is escaped for Fn::Sub.
        params = {"${ArtifactBucket}", "${ArtifactKey}", "${ArtifactSha256}", "${Prefix}"}
        assert set(re.findall(r"\$\{[^!][^}]*\}", text)) == params


def test_template_carries_policy_options(capsys):
    assert (
        cli.main(
            [
                "lifecycle",
                "--template",
                "--fallback-region",
                "us-west-2",
                "--kms-key-arn",
                "arn:aws:kms:us-east-1:111122223333:key/k",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "secretsmanager:us-west-2:" in out and 'FALLBACK_REGIONS="us-west-2"' in out
    assert "kms:Decrypt" in out and 'KMS_KEY_ID="arn:aws:kms:us-east-1:111122223333:key/k"' in out


def test_template_passes_cfn_lint(tmp_path, capsys):
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    assert cli.main(["lifecycle", "--template", "--fallback-region", "us-west-2"]) == 0
    variant = tmp_path / "variant.yaml"
    variant.write_text(capsys.readouterr().out)
    for path in (LC / "template.yaml", variant):
        result = subprocess.run([str(cfn_lint), str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_provision_sh_builds_the_artifact_then_passes_its_key_and_hash(tmp_path):
    """An S3 folder: `artifact` runs first and its printed URI and sha256 reach both
    `provision` (s3:GetObject) and `lifecycle`; settings go to both, Studio options to one."""
    record = tmp_path / "calls"
    fake = tmp_path / "fake-cli"
    fake.write_text(
        '#!/bin/bash\necho "$*" >>"$RECORD"\nif [ "$1" = artifact ]; then\n'
        '  echo "ARTIFACT_URI=s3://bkt/nb/w-0.1.0-abc.tar.gz"\n'
        f'  echo "ARTIFACT_SHA256={SHA}"\n  echo "WHEEL_URI=s3://bkt/nb/x.whl"\nfi\n'
    )
    fake.chmod(0o755)
    out = subprocess.run(
        [
            "bash",
            str(LC / "provision.sh"),
            "--role",
            "nb",
            "--artifact",
            "s3://bkt/nb/",
            "--studio",
            "--domain-id",
            "d-1",
            "--prefix",
            "t/",
            "--provider",
            "openai",
        ],
        env={"PATH": os.environ["PATH"], "NBSECRETS_CLI": str(fake), "RECORD": str(record)},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert record.read_text().splitlines() == [
        "artifact --s3 s3://bkt/nb/",
        "provision --prefix t/ --provider openai --role nb --artifact "
        "s3://bkt/nb/w-0.1.0-abc.tar.gz",
        "lifecycle --studio --domain-id d-1 --prefix t/ --name nbsecrets --artifact "
        f"s3://bkt/nb/w-0.1.0-abc.tar.gz --artifact-sha256 {SHA}",
    ]
