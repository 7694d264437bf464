from __future__ import annotations

import os

import pytest

from nbsecrets.cli import main
from tests.conftest import closed_port

KEY = "sk-cli-0123456789abcdefghij"


def test_list(seed, capsys):
    seed("nbsecrets/openai", KEY)
    seed("nbsecrets/huggingface", {"api_key": KEY})
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "openai" in out and "HF_TOKEN" in out and KEY not in out


def test_errors_exit_1_with_one_line(aws_env, capsys):
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{closed_port()}"
    assert main(["list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nbsecrets: Cannot reach Secrets Manager") and err.count("\n") == 1


def test_unknown_command_exits_2():
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
