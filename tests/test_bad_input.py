"""Every bad input in DESIGN.md: one sentence that says what to do, and nothing changed."""

from __future__ import annotations

import os

import pytest
from IPython.core.error import UsageError

import nbsecrets
from tests.conftest import closed_port

KEY = "sk-bad-input-0123456789abcdef"
BEFORE = {"OPENAI_API_KEY": "before-openai", "ANTHROPIC_API_KEY": "before-anthropic"}


def no_credentials(proxy):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.pop(var)
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def no_region(proxy):
    os.environ.pop("AWS_REGION")


def access_denied(proxy):
    proxy.fail(400, "AccessDeniedException", times=100)


def moto_403(proxy):
    proxy.fail(403, "403", times=100)


def endpoint_down(proxy):
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{closed_port()}"


def throttled(proxy):
    proxy.fail(400, "ThrottlingException", times=100)


def server_error(proxy):
    proxy.fail(500, "InternalServiceError", times=100)


def expired(proxy):
    proxy.fail(400, "ExpiredTokenException", times=100)


CASES = {
    # name: (setup, line, exception, words the sentence must hold)
    "unknown provider": (
        None,
        "%aikey openai opneai",
        nbsecrets.KeyNotFoundError,
        ["opneai", "Did you mean openai?", "--set opneai"],
    ),
    "missing secret": (
        None,
        "%aikey openai anthropic",
        nbsecrets.KeyNotFoundError,
        ["anthropic", "nbsecrets/anthropic", "not found", "--set anthropic"],
    ),
    "malformed json": (
        "json",
        "%aikey openai anthropic",
        nbsecrets.SecretFormatError,
        ["anthropic", "not valid JSON", "api_key"],
    ),
    "ambiguous json": (
        "fields",
        "%aikey openai anthropic",
        nbsecrets.SecretFormatError,
        ["a, b", "#FIELD"],
    ),
    "binary secret": (
        "binary",
        "%aikey openai anthropic",
        nbsecrets.SecretFormatError,
        ["binary", "string"],
    ),
    "no credentials": (
        no_credentials,
        "%aikey openai",
        nbsecrets.NoCredentialsError,
        ["No AWS credentials", "aws configure"],
    ),
    "expired credentials": (
        expired,
        "%aikey openai",
        nbsecrets.NoCredentialsError,
        ["invalid or expired"],
    ),
    "no region": (
        no_region,
        "%aikey openai",
        nbsecrets.NoRegionError,
        ["AWS_REGION", "NBSECRETS_REGION"],
    ),
    "access denied": (
        access_denied,
        "%aikey openai",
        nbsecrets.AccessDeniedError,
        [
            "not allowed",
            "secretsmanager:GetSecretValue",
            ":secret:nbsecrets/openai-??????",
            "nbsecrets provision",
        ],
    ),
    "access denied (moto 403)": (
        moto_403,
        "%aikey openai",
        nbsecrets.AccessDeniedError,
        ["not allowed", "nbsecrets provision"],
    ),
    "endpoint down": (
        endpoint_down,
        "%aikey openai",
        nbsecrets.StoreUnavailableError,
        ["Cannot reach Secrets Manager", "NBSECRETS_FALLBACK_REGIONS"],
    ),
    "throttling": (
        throttled,
        "%aikey openai",
        nbsecrets.StoreUnavailableError,
        ["throttling", "wait"],
    ),
    "server error": (
        server_error,
        "%aikey openai",
        nbsecrets.StoreUnavailableError,
        ["server error", "try again"],
    ),
    "bad --env": (
        None,
        "%aikey openai --env 9BAD",
        nbsecrets.ConfigError,
        ["not a valid environment variable name"],
    ),
}


@pytest.fixture
def before():
    os.environ.update(BEFORE)
    return dict(os.environ)


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input(case, ip, seed, proxy, before, capsys, monkeypatch, tmp_path):
    setup, line, exc_type, words = CASES[case]
    # This machine's own SageMaker metadata (a simulated machine may have left one) is not
    # this test's: read it from an empty place.
    from nbsecrets.aws import sagemaker, transport

    missing = tmp_path / "resource-metadata.json"
    monkeypatch.setattr(transport, "sagemaker_region", lambda: sagemaker.sagemaker_region(missing))
    seed("nbsecrets/openai", KEY)
    if setup == "json":
        seed("nbsecrets/anthropic", '{"api_key": "sk-unterminated')
    elif setup == "fields":
        seed("nbsecrets/anthropic", {"a": "x1234567890", "b": "y1234567890"})
    elif setup == "binary":
        seed("nbsecrets/anthropic", b"\x00\x01binary")
    elif setup is not None:
        setup(proxy)
    env_before = dict(os.environ)

    # The API raises our exception type...
    names = line.split()[1:]
    with pytest.raises(exc_type) as info:
        if "--env" in names:
            nbsecrets.api.load_keys(names[:1], env=names[-1])
        else:
            nbsecrets.load(*names)
    message = str(info.value)
    for word in words:
        assert word in message, message
    assert KEY not in message and "sk-unterminated" not in message

    # ...and the magic shows it as one line, with no traceback, changing nothing.
    result = ip.run_cell(line)
    assert isinstance(result.error_in_exec, UsageError)
    err = capsys.readouterr().err
    assert err.strip() == f"UsageError: {message}", err
    assert err.count("\n") == 1
    assert dict(os.environ) == env_before
    for var, value in BEFORE.items():
        assert os.environ[var] == value


def test_wrong_endpoint_answers_html(ip, before, capsys):
    """AWS_ENDPOINT_URL pointing at some other web server: one sentence, nothing changed."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Html(BaseHTTPRequestHandler):
        def do_POST(self):
            body = b"<html><body>Welcome to nginx!</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Html)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{server.server_address[1]}"
        env_before = dict(os.environ)
        result = ip.run_cell("%aikey openai")
        assert isinstance(result.error_in_exec, UsageError)
        err = capsys.readouterr().err
        assert err.startswith("UsageError: ") and err.count("\n") == 1, err
        assert "check AWS_ENDPOINT_URL" in err
        assert dict(os.environ) == env_before
    finally:
        server.shutdown()
        server.server_close()
