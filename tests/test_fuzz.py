"""Bad input, generated: magic argument strings, names and references, secret payloads.

Whatever comes in, nbsecrets answers with a value or one of its own exceptions (the magic
with IPython's one-line UsageError), never a traceback from our code, never a secret value
in a message, and a failed load changes no variable. Real shell, real moto server over HTTP.
"""

from __future__ import annotations

import getpass
import itertools
import json
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

import nbsecrets
from nbsecrets.errors import NbSecretsError

KEY = "sk-test-0123456789abcdefghij"
OTHER = "sk-ant-test-abcdefghij0123456789"
BUNDLE = "sk-bundle-zyxwvutsrq9876543210"
MARK = "Zq9SEKRITz"  # planted in every fuzzed payload; must never reach a message or output
SEEDED = (KEY, OTHER, BUNDLE, MARK)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))  # raise it for a longer hunt
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

TOKENS = [
    "openai",
    "anthropic",
    "claude",
    "hf",
    "google",
    "my-llm",
    "OpenAI",
    "nope",
    "openai=APIKEYS#openai",
    "anthropic=APIKEYS#anthropic",
    "x=APIKEYS#missing",
    "openai=APIKEYS",
    "openai=nbsecrets/bin",
    "openai=",
    "=APIKEYS",
    "openai=#f",
    "#",
    "=",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:APIKEYS",
    "openai=arn:aws:secretsmanager:us-east-1:123456789012:secret:APIKEYS-abcdef#openai",
    "--stage",
    "AWSPREVIOUS",
    "AWSCURRENT",
    "--version-id",
    "0" * 32,
    "--env",
    "MY_VAR",
    "1BAD",
    "BAD=VAR",
    "--refresh",
    "--list",
    "--unload",
    "--set",
    "--se",
    "--st",
    "-h",
    "--",
    "-",
    "'",
    '"',
    "\\",
    "é",
    "\x00",
    "\n",
    "\t",
    ";",
    "$(id)",
    "{}",
    "[]",
]
# Characters that break things more often than a random code point does.
nasty = st.text(
    alphabet=st.sampled_from(
        [
            "\x00",
            "\n",
            "\r",
            "\t",
            " ",
            "a",
            "é",
            "{",
            "}",
            '"',
            "\\",
            "#",
            "=",
            "\u2028",
            "\U0001f4a5",
            "\udc80",
            "\ud800",
            "\ufeff",
        ]
    ),
    max_size=40,
)
token_lines = st.lists(
    st.one_of(st.sampled_from(TOKENS), st.text(max_size=12), nasty), max_size=6
).map(" ".join)
# Quoting and option syntax, glued together without spaces as often as with them.
SYNTAX = [
    "'",
    '"',
    "\\",
    "=",
    "#",
    "-",
    "--",
    " ",
    "openai",
    "x",
    "--env",
    "--stage",
    "--set",
    "--unload",
    "--list",
    "--refresh",
]
syntax_lines = st.lists(st.sampled_from(SYNTAX), max_size=8).map("".join)
lines = st.one_of(token_lines, syntax_lines, st.text(max_size=60))
# What --set reads from the hidden prompt; None stands for a closed stdin (EOF).
typed = st.one_of(st.from_regex(r"\Ask-[A-Za-z0-9]{24}\Z"), st.text(max_size=40), nasty, st.none())

_counter = itertools.count()


@pytest.fixture
def seeded(seed, sm) -> None:
    seed("nbsecrets/openai", KEY)
    sm.put_secret_value(SecretId="nbsecrets/openai", SecretString=KEY + "-v2")
    seed("nbsecrets/anthropic", {"api_key": OTHER, "org": "o-1"})
    seed("APIKEYS", {"openai": BUNDLE, "anthropic": BUNDLE[::-1]})
    seed("nbsecrets/bin", b"\x00\x01binary")


@pytest.fixture
def clean_env() -> Iterator[None]:
    """Each example starts from the environment the test started with."""
    snapshot = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(snapshot)


def leaks(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    return [v for v in (*SEEDED, *extra) if v and v in text]


@FUZZ
@given(line=lines, answer=typed)
def test_magic_arguments(seeded, ip, capsys, monkeypatch, line, answer):
    def fake_getpass(prompt: str = "") -> str:
        if answer is None:
            raise EOFError
        return answer

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    before = dict(os.environ)
    typed_key = (answer,) if answer and answer.startswith("sk-") else ()
    try:
        ip.run_line_magic("aikey", line)
    except UsageError as exc:
        message = str(exc)
        assert "\n" not in message.strip() or "usage:" in message
        assert not leaks(message, typed_key)
        assert dict(os.environ) == before  # all or nothing
    finally:
        out = capsys.readouterr()
        assert not leaks(out.out + out.err, typed_key)
        os.environ.clear()
        os.environ.update(before)


names = st.one_of(
    st.sampled_from(TOKENS),
    st.text(max_size=40),
    nasty,
    st.builds(
        lambda p, s, f: f"{p}={s}#{f}",
        st.sampled_from(["openai", "x", "", "é"]),
        st.one_of(st.sampled_from(["APIKEYS", "nbsecrets/openai", ""]), st.text(max_size=30)),
        st.text(max_size=20),
    ),
)


@FUZZ
@given(
    name=names,
    stage=st.one_of(
        st.none(), st.sampled_from(["AWSPREVIOUS", "AWSCURRENT"]), st.text(max_size=20)
    ),
    refresh=st.booleans(),
)
def test_names_and_references(seeded, clean_env, name, stage, refresh):
    try:
        value = nbsecrets.get(name, stage=stage, refresh=refresh)
    except NbSecretsError as exc:
        assert not leaks(str(exc))
    else:
        assert value in (KEY, KEY + "-v2", OTHER, BUNDLE, BUNDLE[::-1])
    before = dict(os.environ)
    try:
        nbsecrets.load(name, "openai")
    except NbSecretsError as exc:
        assert not leaks(str(exc))
        assert dict(os.environ) == before


@FUZZ
@given(version_id=st.text(max_size=70))
def test_version_ids(seeded, clean_env, version_id):
    try:
        nbsecrets.get("openai", version_id=version_id)
    except NbSecretsError as exc:
        assert not leaks(str(exc))


def _marked(text: str) -> str:
    return text + MARK


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=30).map(_marked),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
payloads = st.one_of(
    st.text(max_size=200).map(_marked),  # raw, any unicode
    nasty.map(lambda t: t + MARK + t),
    st.text(max_size=50).map(lambda t: f"{MARK}{t}"),
    st.dictionaries(st.text(max_size=12), json_values, max_size=5).map(json.dumps),  # JSON objects
    json_values.map(json.dumps),  # JSON, not objects
    st.text(max_size=60).map(lambda t: "{" + t + MARK),  # broken JSON
    st.builds(
        lambda unit, n: (unit * n)[:65_000] + MARK,  # huge
        st.text(min_size=1, max_size=8),
        st.integers(1_000, 65_000),
    ),
    st.sampled_from(["", " ", "\n", "{}", "[]", "null", '{"api_key": ""}']),  # empty-ish
    st.binary(min_size=1, max_size=300),  # SecretBinary
)


def check_payload(sm, ip, capsys, payload, field) -> None:
    name = f"fuzz/{next(_counter)}"
    kwargs = {"SecretBinary": payload} if isinstance(payload, bytes) else {"SecretString": payload}
    try:
        sm.create_secret(Name=name, **kwargs)
    except Exception:
        assume(False)  # the service refuses to store it (e.g. an empty string)
    ref = f"openai={name}" + (f"#{field}" if field is not None else "")
    try:
        value = nbsecrets.get(ref)
    except NbSecretsError as exc:
        assert MARK not in str(exc)
    else:
        assert value and value == value.strip()
        assert isinstance(payload, str)
    before = dict(os.environ)
    plain = ref == "".join(ref.split()) and not set(ref) & set("'\"\\")
    try:
        ip.run_line_magic("aikey", f"{ref} --refresh" if plain else "--list")
    except UsageError as exc:
        assert MARK not in str(exc)
        assert dict(os.environ) == before
    out = capsys.readouterr()
    assert MARK not in out.out + out.err


@FUZZ
@given(payload=payloads)
def test_payloads(sm, ip, capsys, clean_env, payload):
    check_payload(sm, ip, capsys, payload, None)


@FUZZ
@given(
    payload=st.one_of(
        json_values, st.dictionaries(st.text(max_size=12), json_values, max_size=5)
    ).map(json.dumps),
    field=st.one_of(st.sampled_from(["api_key", "openai", ""]), st.text(max_size=10)),
)
def test_payload_fields(sm, ip, capsys, clean_env, payload, field):
    assume(MARK not in field)
    check_payload(sm, ip, capsys, payload, field)


@pytest.mark.parametrize("value", ["sk-\x00abc", "sk-\ud800abc"])
def test_values_no_environment_can_hold_are_refused(sm, seed, clean_env, value):
    from nbsecrets import api

    with pytest.raises(nbsecrets.SecretFormatError, match="nothing was stored"):
        api.store_key("openai", value)
    assert sm.list_secrets()["SecretList"] == []
    seed("nbsecrets/openai", value)
    assert nbsecrets.get("openai") == value  # get() returns it; only loading refuses
    with pytest.raises(nbsecrets.SecretFormatError, match="environment variable cannot"):
        nbsecrets.load("openai")
    assert "OPENAI_API_KEY" not in os.environ
