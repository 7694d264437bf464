"""The container side: load_environment and `nbsecrets run` load what job_environment named.

`nbsecrets run` is tested in a fresh process that has only what a SageMaker job's container
has: the job_environment entries, the AWS endpoint and region, and the credentials of the
job's role (a role on moto's IAM, assumed through STS). The program it starts proves it got
the key by printing the key's sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

import nbsecrets
from nbsecrets.errors import AccessDeniedError, ConfigError
from tests.conftest import SAGEMAKER_TRUST

OPENAI = "sk-job-openai-0123456789abcdefghijklmnop"
HF = "hf_job_0123456789ABCDEFGHIJKLMNOPQRSTUV"
ANTHROPIC = "sk-ant-job-0123456789abcdefghijklmnopq"
CHILD = (
    "import hashlib, json, os; print(json.dumps({v: hashlib.sha256(os.environ[v].encode())"
    ".hexdigest() if v in os.environ else None for v in "
    "('OPENAI_API_KEY', 'HF_TOKEN', 'ANTHROPIC_API_KEY')}))"
)


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture
def secrets(seed):
    seed("nbsecrets/openai", OPENAI)
    seed("nbsecrets/huggingface", {"api_key": HF})
    seed("team/bundle", {"anthropic": ANTHROPIC, "other": "x" * 20})


# -- load_environment -----------------------------------------------------------------------


def test_load_environment_sets_the_named_keys_in_one_request(secrets, proxy, monkeypatch):
    env = nbsecrets.job_environment("openai", "hf", "anthropic=team/bundle#anthropic")
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    proxy.requests.clear()
    assert nbsecrets.load_environment() == {
        "openai": ("OPENAI_API_KEY",),
        "huggingface": ("HF_TOKEN",),
        "anthropic": ("ANTHROPIC_API_KEY",),
    }
    assert (
        os.environ["OPENAI_API_KEY"],
        os.environ["HF_TOKEN"],
        os.environ["ANTHROPIC_API_KEY"],
    ) == (OPENAI, HF, ANTHROPIC)
    assert proxy.actions() == ["BatchGetSecretValue"]


def test_load_environment_without_entries_says_how_to_launch_the_job():
    with pytest.raises(ConfigError, match=r"NBSECRETS_KEYS is not set.*job_environment"):
        nbsecrets.load_environment()


def denied(keys: str, proxy, monkeypatch, get_denials: int = 10) -> tuple[str, str]:
    """load_environment() of ``keys`` as a job role whose reads are denied: (role, error).

    The batch read is denied, then ``get_denials`` of the one-key reads that follow it.
    """
    role = job_role_credentials(monkeypatch)
    monkeypatch.setenv("NBSECRETS_KEYS", keys)
    proxy.fail(400, "AccessDeniedException", 10, only="BatchGetSecretValue")
    proxy.fail(400, "AccessDeniedException", get_denials, only="GetSecretValue")
    with pytest.raises(AccessDeniedError) as err:
        nbsecrets.load_environment()
    return role, str(err.value)


def test_a_denied_key_names_the_role_and_the_policy_to_give_it(secrets, proxy, monkeypatch):
    role, error = denied("openai,hf", proxy, monkeypatch)
    flags = "--provider openai --provider huggingface --no-list"
    assert error == (
        f"The role in use, {role}, may not read nbsecrets/openai, nbsecrets/huggingface; an "
        f"admin grants it with `nbsecrets provision --role {role} {flags}` "
        f"(`nbsecrets policy {flags}` prints that policy)."
    )
    assert "OPENAI_API_KEY" not in os.environ


def test_only_the_denied_key_is_named(secrets, proxy, monkeypatch):
    role, error = denied("openai,hf", proxy, monkeypatch, get_denials=1)  # the first: openai
    assert proxy.actions()[-2:] == ["GetSecretValue", "GetSecretValue"]
    assert error.startswith(f"The role in use, {role}, may not read nbsecrets/openai; ")
    assert "--provider openai --no-list`" in error
    assert "huggingface" not in error


def test_a_denied_reference_keeps_the_statement_and_names_the_role(secrets, proxy, monkeypatch):
    role, error = denied("anthropic=team/bundle#anthropic", proxy, monkeypatch)
    assert "secret:team/bundle-??????" in error
    assert error.endswith(f"These credentials are {role}.")
    assert ANTHROPIC not in error


# -- nbsecrets run --------------------------------------------------------------------------


def job_role_credentials(monkeypatch=None) -> str:
    """A job role on moto's IAM, assumed through STS; returns its ARN (sets the env if asked)."""
    iam = boto3.client("iam", region_name="us-east-1")
    arn = iam.create_role(RoleName="training-job", AssumeRolePolicyDocument=SAGEMAKER_TRUST)[
        "Role"
    ]["Arn"]
    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=arn, RoleSessionName="SageMaker"
    )["Credentials"]
    job_role_credentials.creds = creds  # type: ignore[attr-defined]
    if monkeypatch is not None:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
        monkeypatch.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])
    return arn


def job_env(entries: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """What a SageMaker job's container has: the entries, the endpoint, the role's credentials."""
    job_role_credentials()
    creds = job_role_credentials.creds  # type: ignore[attr-defined]
    return {
        **entries,
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
        "HOME": str(tmp_path),
    }


def nbsecrets_run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nbsecrets.cli", "run", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_hands_the_job_its_keys_from_the_entries_alone(secrets, proxy, tmp_path):
    entries = nbsecrets.job_environment("openai", "hf")
    proxy.requests.clear()
    done = nbsecrets_run(["--", sys.executable, "-c", CHILD], job_env(entries, tmp_path))
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.splitlines()[-1])
    assert got == {"OPENAI_API_KEY": sha(OPENAI), "HF_TOKEN": sha(HF), "ANTHROPIC_API_KEY": None}
    assert proxy.actions() == ["BatchGetSecretValue"]  # one request for both keys
    for value in (OPENAI, HF):
        assert value not in done.stdout + done.stderr
    assert "openai: OPENAI_API_KEY set for" in done.stderr


def test_run_with_names_serves_a_terminal_and_the_shell_gets_nothing(secrets, tmp_path):
    env = {**job_env({}, tmp_path), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    script = (
        f"{sys.executable} -m nbsecrets.cli run anthropic=team/bundle#anthropic -- "
        f'{sys.executable} -c "$CHILD"; echo "shell: ${{ANTHROPIC_API_KEY:-unset}}"'
    )
    done = subprocess.run(
        ["bash", "-c", script],
        env={**env, "CHILD": CHILD},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    got, shell = done.stdout.splitlines()[-2:]
    assert json.loads(got)["ANTHROPIC_API_KEY"] == sha(ANTHROPIC)
    assert shell == "shell: unset"


def test_run_passes_on_the_exit_status_and_arguments(secrets, tmp_path):
    env = job_env({"NBSECRETS_KEYS": "openai"}, tmp_path)
    done = nbsecrets_run(
        ["--", sys.executable, "-c", "import sys; sys.exit(len(sys.argv))", "a", "--", "b"], env
    )
    assert done.returncode == 4


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["openai", "python"], "Put -- before the command"),
        (["openai", "--"], "Name the command to run after --"),
        (["openai", "--", "no-such-program-here"], "no-such-program-here: command not found"),
        (["--", sys.executable, "-c", "pass"], "NBSECRETS_KEYS is not set"),
        (["nosuchkey", "--", sys.executable, "-c", "print('ran')"], "nosuchkey"),
    ],
)
def test_run_errors_are_one_line_and_nothing_runs(secrets, tmp_path, args, says):
    done = nbsecrets_run(args, job_env({}, tmp_path))
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("nbsecrets: ") and says in line


def test_run_imports_boto3_and_nothing_heavy(secrets, tmp_path):
    """Counts the modules `nbsecrets run` has imported when it hands over to the command."""
    probe = (
        "import json, os, sys\n"
        "def execv(path, argv):\n"
        "    print(json.dumps(sorted(sys.modules)), flush=True)\n"
        "    os._exit(0)\n"
        "os.execv = execv\n"
        "from nbsecrets.cli import main\n"
        f"main(['run', 'openai', '--', {sys.executable!r}, '-c', 'pass'])\n"
    )
    env = job_env({}, tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout.splitlines()[-1])
    tops = {m.split(".")[0] for m in modules}
    third_party = {t for t in tops - set(sys.stdlib_module_names) if not t.startswith("_")}
    assert {"boto3", "botocore", "nbsecrets"} <= third_party  # the probe sees imports
    assert third_party <= {
        "nbsecrets",
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "dateutil",
        "urllib3",
        "six",
        "certifi",
        "awscrt",
    }
    for heavy in ("IPython", "ipywidgets", "sagemaker", "numpy", "pandas", "traitlets"):
        assert heavy not in tops


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "openai", "--", "python", "-h", "x"],
        ["run", "--", "python", "--help"],
        ["run", "openai", "x"],
    ],
)
def test_the_parser_reads_run_as_the_fast_path_does(argv):
    from nbsecrets.cli import build_parser

    assert build_parser().parse_args(argv).rest == argv[1:]
