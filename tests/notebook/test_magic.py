"""``%aikey`` in a real IPython shell, against the moto server."""

from __future__ import annotations

import os

import pytest
from IPython.core.error import UsageError

KEY = "sk-magic-0123456789abcdefghij"


def run(ip, line: str):
    """Run a cell as a user would; return the result (errors are shown, not raised)."""
    return ip.run_cell(line, store_history=True)


def test_load_two_keys_one_request(ip, seed, proxy, capsys):
    seed("nbsecrets/openai", KEY)
    seed("nbsecrets/anthropic", {"api_key": KEY[::-1]})
    proxy.requests.clear()
    result = run(ip, "%aikey openai anthropic")
    assert result.success
    out = capsys.readouterr().out
    assert os.environ["OPENAI_API_KEY"] == KEY
    assert os.environ["ANTHROPIC_API_KEY"] == KEY[::-1]
    assert proxy.actions() == ["BatchGetSecretValue"]
    lines = out.strip().splitlines()
    assert lines[0].startswith("openai: OPENAI_API_KEY <- nbsecrets/openai (version ")
    assert lines[1].startswith("anthropic: ANTHROPIC_API_KEY <- nbsecrets/anthropic (version ")
    assert KEY not in out and KEY[::-1] not in out


def test_all_or_nothing(ip, seed, capsys):
    seed("nbsecrets/openai", KEY)
    result = run(ip, "%aikey openai anthropic")
    assert isinstance(result.error_in_exec, UsageError)
    assert "OPENAI_API_KEY" not in os.environ
    err = capsys.readouterr().err
    assert "anthropic: secret nbsecrets/anthropic was not found" in err
    assert "Traceback" not in err
    assert KEY not in err


def test_several_failures_name_each_key(ip, seed, capsys):
    seed("nbsecrets/mistral", "{not json")
    result = run(ip, "%aikey openai mistral")
    assert isinstance(result.error_in_exec, UsageError)
    err = capsys.readouterr().err
    assert "2 keys failed, nothing was changed." in err
    assert "openai: " in err and "mistral: " in err and "not valid JSON" in err
    assert "not json" not in err  # the payload is never echoed


def test_env_option(ip, seed):
    seed("nbsecrets/openai", KEY)
    run(ip, "%aikey openai --env AZURE_OPENAI_API_KEY")
    assert os.environ["AZURE_OPENAI_API_KEY"] == KEY
    assert "OPENAI_API_KEY" not in os.environ


def test_env_option_needs_one_name(ip, seed, capsys):
    seed("nbsecrets/openai", KEY)
    seed("nbsecrets/anthropic", KEY)
    result = run(ip, "%aikey openai anthropic --env X_KEY")
    assert isinstance(result.error_in_exec, UsageError)
    assert "exactly one provider" in capsys.readouterr().err
    assert "X_KEY" not in os.environ


def test_stage_and_refresh(ip, seed, sm, capsys):
    seed("nbsecrets/openai", KEY)
    run(ip, "%aikey openai")
    sm.put_secret_value(SecretId="nbsecrets/openai", SecretString=KEY + "-2")
    run(ip, "%aikey openai")
    assert os.environ["OPENAI_API_KEY"] == KEY  # cached
    assert "cached" in capsys.readouterr().out
    run(ip, "%aikey openai --refresh")
    assert os.environ["OPENAI_API_KEY"] == KEY + "-2"
    run(ip, "%aikey openai --stage AWSPREVIOUS")
    assert os.environ["OPENAI_API_KEY"] == KEY
    assert "stage AWSPREVIOUS" in capsys.readouterr().out


def test_list_and_no_arguments(ip, seed, capsys):
    seed("nbsecrets/openai", KEY)
    seed("nbsecrets/groq", KEY)
    run(ip, "%aikey openai")
    capsys.readouterr()
    run(ip, "%aikey --list")
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert set(rows) == {"openai", "groq"}
    assert rows["openai"].rstrip().endswith("loaded")
    assert "GROQ_API_KEY" in rows["groq"] and not rows["groq"].rstrip().endswith("loaded")
    assert KEY not in out


def test_unload(ip, seed, proxy, capsys):
    seed("nbsecrets/openai", KEY)
    run(ip, "%aikey openai")
    run(ip, "%aikey --unload openai")
    assert "OPENAI_API_KEY" not in os.environ
    assert "removed OPENAI_API_KEY" in capsys.readouterr().out
    proxy.requests.clear()
    run(ip, "%aikey openai")  # dropped from the cache: fetched again
    assert proxy.actions() == ["BatchGetSecretValue"]


def test_help(ip):
    doc = ip.find_line_magic("aikey").__doc__
    for option in ("--env", "--stage", "--version-id", "--refresh", "--list", "--unload", "--set"):
        assert option in doc


def test_bad_option_is_a_usage_error(ip, capsys):
    result = run(ip, "%aikey --bogus")
    assert isinstance(result.error_in_exec, UsageError)
    assert "Traceback" not in capsys.readouterr().err


def test_no_value_in_history(ip, seed):
    seed("nbsecrets/openai", KEY)
    run(ip, "%aikey openai")
    inputs = " ".join(ip.history_manager.input_hist_raw)
    assert "%aikey openai" in inputs and KEY not in inputs


@pytest.mark.parametrize("line", ["%aikey 'open ai'", "%aikey =x", "%aikey openai=", "%aikey a=b#"])
def test_malformed_names(ip, line, capsys):
    result = run(ip, line)
    assert isinstance(result.error_in_exec, UsageError)
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line
