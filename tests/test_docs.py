"""The docs name the commands, options and settings that really exist.

Every `nbsecrets ...` command in README.md, docs/*.md and lifecycle-config/pulumi/README.md
(in code blocks and inline code) is parsed by the real argument parser; the Pulumi README's
settings are the ones the program reads; the artifact's printed names are the ones the docs
use; nothing mentions the removed `--pip-spec`.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from nbsecrets import cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "lifecycle-config" / "pulumi" / "README.md",
]
PROGRAM = ROOT / "lifecycle-config" / "pulumi" / "__main__.py"


def _blocks(text: str) -> list[str]:
    """Lines of fenced code blocks, continuations (a trailing backslash) joined."""
    lines: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = not inside
            continue
        if inside:
            if lines and lines[-1].endswith("\\"):
                lines[-1] = lines[-1][:-1] + " " + line.strip()
            else:
                lines.append(line)
    return lines


def commands(text: str) -> list[str]:
    """The `nbsecrets ...` commands written in ``text`` (arguments after `nbsecrets`)."""
    found: list[str] = []
    for line in _blocks(text):
        line = line.split(" #", 1)[0]
        for part in re.split(r"\||&&|;|\$\(| > ", line):
            part = part.strip().rstrip(")")
            for prefix in (".venv/bin/nbsecrets ", "exec nbsecrets ", "nbsecrets "):
                if part.startswith(prefix):
                    found.append(part[len(prefix) :])
    for inline in re.findall(r"`nbsecrets ([^`]+)`", " ".join(text.split())):
        # Not a usage synopsis ("[--days N]", "--role ARN ...") nor a bare command name.
        if not any(c in inline for c in "[|") and "..." not in inline and " " in inline:
            found.append(inline)
    return [c.replace(" ...", "") for c in found]


ALL = sorted(
    {(doc.relative_to(ROOT).as_posix(), c) for doc in DOCS for c in commands(doc.read_text())}
)


def test_the_docs_have_commands_to_check():
    assert len(ALL) > 40
    assert {c.split()[0] for _, c in ALL} >= {
        "artifact",
        "lifecycle",
        "policy",
        "provision",
        "run",
        "rotate",
        "audit",
        "doctor",
        "set",
        "versions",
        "rollback",
        "demo",
    }


@pytest.mark.parametrize(("doc", "command"), ALL)
def test_every_command_in_the_docs_parses(doc, command, capsys):
    argv = shlex.split(command)
    if argv[-1] == "--help":
        return
    try:
        cli.build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(
            f"{doc}: `nbsecrets {command}` is not a valid command: "
            f"{capsys.readouterr().err.strip().splitlines()[-1]}"
        )


def test_pulumi_settings_are_the_ones_the_program_reads():
    readme = (ROOT / "lifecycle-config" / "pulumi" / "README.md").read_text()
    table = [line for line in readme.splitlines() if line.startswith("| `")]
    documented = {
        k for line in table for k in re.findall(r"`([A-Za-z0-9:{}]+)`", line.split("|")[1])
    }
    documented -= {"aws:region", "{provider}ApiKey"}
    read = set(
        re.findall(
            r"(?:cfg\.(?:get|get_bool|get_int|get_object)\(|_list\(cfg, )"
            r'"([A-Za-z0-9]+)"\)',
            PROGRAM.read_text(),
        )
    )
    assert documented == read
    for doc in DOCS:
        for key in re.findall(
            r"pulumi config set (?:--secret |--path )?'?([A-Za-z0-9:]+)", doc.read_text()
        ):
            if not key.isupper():  # KEY: a placeholder
                assert key in read | {"aws:region", "providers", "openaiApiKey"}, (doc, key)


def test_the_artifact_names_in_the_docs_are_the_printed_ones():
    from nbsecrets.admin import deploy_cli

    printed = set(re.findall(r'print\(f"([A-Z_0-9]+)=', Path(deploy_cli.__file__).read_text()))
    assert printed == {"ARTIFACT_URI", "ARTIFACT_SHA256", "WHEEL_URI", "WHEEL_SHA256"}
    for doc in DOCS:
        named = set(re.findall(r"\b(?:ARTIFACT|WHEEL)_[A-Z0-9]+\b", doc.read_text()))
        assert named <= printed, (doc.name, named - printed)
    jobs = (ROOT / "docs" / "jobs.md").read_text()
    assert "WHEEL_URI" in jobs and "WHEEL_SHA256" in jobs


def test_nothing_mentions_the_removed_pip_spec():
    for path in [*DOCS, *(ROOT / "src").rglob("*.py"), *(ROOT / "lifecycle-config").rglob("*")]:
        if path.is_file() and path.name != "decisions.md":
            text = path.read_text(errors="replace")
            assert "pip-spec" not in text and "DEFAULT_PIP_SPEC" not in text, path


def _code_block(text: str, first_line: str) -> str:
    """The fenced code block whose first line is ``first_line``."""
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        if block.startswith(first_line):
            return block
    raise AssertionError(f"no code block starting with {first_line!r}")


def test_the_jobs_launcher_runs_as_written(aws_env, capsys, tmp_path):
    """docs/jobs.md, end to end on the emulator: `nbsecrets artifact` uploads the wheel, the
    job's source_dir gets it (the `aws s3 cp` line, done with boto3), and launch.sh as written
    checks it, installs it offline into a Python that has boto3 only, and runs train.py with
    the key that `job_environment` names. A tampered wheel is refused and nothing installed."""
    import hashlib
    import subprocess
    import sys
    import tarfile

    import boto3

    import nbsecrets
    from nbsecrets.admin.artifact import parse_s3_uri

    jobs = (ROOT / "docs" / "jobs.md").read_text()
    launcher = _code_block(jobs, "#!/bin/sh\n# launch.sh")
    region = aws_env["AWS_REGION"]
    s3 = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket="my-artifacts")
    assert cli.main(["artifact", "--s3", "s3://my-artifacts/nbsecrets/"]) == 0
    printed = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    bucket, key = parse_s3_uri(printed["WHEEL_URI"])
    wheel = key.rsplit("/", 1)[1]
    assert f"wheels/{wheel}" in launcher and f"nbsecrets=={wheel.split('-')[1]}" in launcher, (
        "docs/jobs.md names another nbsecrets version than the one built"
    )
    # A job's Python: boto3 (from the wheelhouse, as a framework container has it), no nbsecrets.
    bucket_a, key_a = parse_s3_uri(printed["ARTIFACT_URI"])
    s3.download_file(bucket_a, key_a, str(tmp_path / "wheelhouse.tar.gz"))
    with tarfile.open(tmp_path / "wheelhouse.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    venv = tmp_path / "job-python"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(tmp_path / "wheelhouse"),
            "boto3",
        ],
        check=True,
    )
    value = "sk-jobs-doc-0123456789abcdefghijklmnopqrstuv"
    boto3.client("secretsmanager", region_name=region).create_secret(
        Name="nbsecrets/openai", SecretString=value
    )
    env = {
        **aws_env,
        **nbsecrets.job_environment("openai"),
        "HOME": str(tmp_path),
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
    }

    def launch(name: str, tamper: bool) -> subprocess.CompletedProcess:
        src = tmp_path / name
        (src / "wheels").mkdir(parents=True)
        s3.download_file(bucket, key, str(src / "wheels" / wheel))
        if tamper:
            with (src / "wheels" / wheel).open("ab") as fh:
                fh.write(b"\0")
        (src / "launch.sh").write_text(launcher.replace("fedcba987654...", printed["WHEEL_SHA256"]))
        (src / "train.py").write_text(
            "import hashlib, os, sys\n"
            "print(hashlib.sha256(os.environ['OPENAI_API_KEY'].encode()).hexdigest(), "
            "sys.argv[1:])\n"
        )
        return subprocess.run(
            ["sh", str(src / "launch.sh"), "--epochs", "3"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    refused = launch("tampered", tamper=True)
    assert refused.returncode != 0 and "FAILED" in refused.stdout + refused.stderr
    assert not (venv / "bin" / "nbsecrets").exists()  # nothing installed
    done = launch("source_dir", tamper=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == (
        f"{hashlib.sha256(value.encode()).hexdigest()} ['--epochs', '3']"
    )
    assert "openai: OPENAI_API_KEY set for python" in done.stderr
    assert value not in done.stdout + done.stderr


# The `nbsecrets` command in /work/shared/DESIGN.md (the contract): each command's options.
CONTRACT = {
    "policy": [
        "--prefix",
        "--provider",
        "--region",
        "--fallback-region",
        "--account",
        "--secrets-account",
        "--kms-key-arn [REGION=]ARN",
        "--allow-write",
        "--no-list",
        "--format {json,cloudformation}",
        "--resource-policy",
        "--role ARN",
        "--admin-role ARN",
        "--key-policy",
        "--audit",
    ],
    "provision": [
        "--role NAME_OR_ARN",
        "--replace",
        "--resource-policy",
        "--prefix",
        "--provider",
        "--fallback-region",
        "--secrets-account",
        "--kms-key-arn [REGION=]ARN",
        "--allow-write",
        "--no-list",
    ],
    "run": ["[NAME ...] -- COMMAND"],
    "rotate": ["NAME"],
    "audit": ["[NAME ...]", "--days N", "--json"],
    "lifecycle": ["--name NAME", "--studio"],
    "doctor": [],
    "list": [],
    "set": ["NAME"],
    "versions": ["NAME"],
    "rollback": ["NAME"],
    "demo": ["--lab"],
}


@pytest.mark.parametrize("command", list(CONTRACT))
def test_the_contracts_names_are_in_the_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        cli.build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert [n for n in CONTRACT[command] if n not in text] == []
