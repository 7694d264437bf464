"""report.py's rotation column, in `%aikey --list` / `nbsecrets list`, from ListSecrets'
RotationEnabled and LastRotatedDate."""

from __future__ import annotations

from datetime import datetime, timezone

from moto.backends import get_backend

from nbsecrets import cli
from nbsecrets.aws.records import SecretInfo
from nbsecrets.report import rotation_text

WHEN = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)


def info(enabled: bool, last: datetime | None) -> SecretInfo:
    return SecretInfo("openai", "nbsecrets/openai", "arn", None, {}, enabled, last)


def test_rotation_text():
    assert rotation_text(info(True, WHEN)) == "on, last 2026-11-20"
    assert rotation_text(info(True, None)) == "on, not yet"
    assert rotation_text(info(False, None)) == "off"
    assert rotation_text(info(False, WHEN)) == "off, last 2026-11-20"
    assert rotation_text(None) == "-"


def rotation_on(name: str, when: datetime) -> None:
    """What Secrets Manager records once a rotation schedule ran (moto's RotateSecret needs a
    Lambda it can invoke, so the emulator's record is set directly)."""
    secret = get_backend("secretsmanager")["123456789012"]["us-east-1"].secrets[name]
    secret.rotation_requested = True
    secret.rotation_enabled = True
    secret.auto_rotate_after_days = 30
    secret.last_rotation_date = int(when.timestamp())


def test_list_shows_whether_rotation_is_on_and_when_it_last_ran(seed, capsys):
    seed("nbsecrets/openai", "sk-list-0123456789abcdef")
    seed("nbsecrets/anthropic", "sk-ant-list-0123456789abcdef")
    rotation_on("nbsecrets/openai", WHEN)
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "rotation" in lines[0].split()
    row = {line.split()[0]: line for line in lines[2:]}
    assert "on, last 2026-11-20" in row["openai"]
    assert " off " in row["anthropic"]
