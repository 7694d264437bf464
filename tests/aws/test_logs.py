"""No log record made during nbsecrets' own AWS requests carries secret material.

botocore logs response bodies and request parameters at DEBUG. Each test runs with redaction
on and with ``NBSECRETS_REDACT=0``: off, the log shows the values (the check can fail); on,
neither the loaded key nor the bundle's other field (never asked for, so never registered)
appears, nor a value stored with ``store_key``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from nbsecrets.aws import logs

PROGRAM = """
import logging, sys
logging.basicConfig(level=logging.DEBUG, filename=sys.argv[1])
import nbsecrets
from nbsecrets import api
value = nbsecrets.get("openai=nbsecrets/bundle#openai")
api.store_key("anthropic", sys.argv[2])
print("got", len(value))
"""


def _values() -> dict[str, str]:
    return {
        "openai": "sk-proj-" + secrets.token_urlsafe(30),
        "db": "db-password-" + secrets.token_urlsafe(20),
        "stored": "sk-ant-" + secrets.token_urlsafe(30),
    }


def _runs(value: str) -> list[str]:
    return [value[i : i + 12] for i in range(len(value) - 11)]


def _leaked(text: str, value: str) -> bool:
    return any(run in text for run in _runs(value))


@pytest.mark.parametrize("redact", [True, False], ids=["on", "off"])
def test_debug_log_of_a_plain_process(sm, tmp_path: Path, redact: bool):
    values = _values()
    sm.create_secret(
        Name="nbsecrets/bundle",
        SecretString=json.dumps({"openai": values["openai"], "db": values["db"]}),
    )
    sm.create_secret(Name="nbsecrets/anthropic", SecretString="sk-ant-old-" + "x" * 20)
    log = tmp_path / "debug.log"
    env = {**os.environ, "NBSECRETS_REDACT": "1" if redact else "0"}
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(log), values["stored"]],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"got {len(values['openai'])}" in proc.stdout
    text = log.read_text(encoding="utf-8")
    assert "botocore.parsers" in text and "BatchGetSecretValue" in text  # DEBUG was on
    for name, value in values.items():
        assert _leaked(text, value) is not redact, name
    assert ("nbsecrets withheld" in text) is redact


def test_records_outside_nbsecrets_calls_are_left_alone(caplog):
    with caplog.at_level(logging.DEBUG, logger="probe"):
        logging.getLogger("probe").debug("body %s", '{"SecretString": "mine"}')
        with logs.quiet():
            logging.getLogger("probe").debug("body %s", '{"SecretString": "theirs"}')
        with logs.quiet(enabled=False):
            logging.getLogger("probe").debug("body %s", '{"SecretString": "off"}')
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == 'body {"SecretString": "mine"}'
    assert messages[1] == "body [nbsecrets withheld the rest: it holds secret material]"
    assert messages[2] == 'body {"SecretString": "off"}'
