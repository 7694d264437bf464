"""Keyless providers in a real kernel: the real openai and anthropic SDKs call their loopback
APIs after ``%aikey openai anthropic``, and again after their tokens expired, through the
variables (env path) and through ``nbsecrets.openai_identity()`` /
``nbsecrets.anthropic_credentials()`` (SDK-argument path). Lifetimes are seconds, the cells
wait for refreshes by polling, and the assertions count exchanges. The saved notebook, the
history database and the kernel's files hold no JWT and no access token, and no long-lived
key is anywhere in the kernel's environment.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import boto3
import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from tests.conftest import REGION
from tests.federation.servers import ROLE_ARN, AnthropicApi, OpenAIApi, StsApi
from tests.kernel.test_leaks import kernel_env

pytest.importorskip("openai", minversion="3.0")
pytest.importorskip("anthropic", minversion="2.0")
pytestmark = pytest.mark.kernel

OPENAI_AUD, ANTHROPIC_AUD = "https://api.openai.com/v1", "https://api.anthropic.com"

WAIT = """
import time
def wait_for(cond, what, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, f'timed out waiting for {what}'
        time.sleep(0.05)
"""

CELLS = {
    "ext": "%load_ext nbsecrets\nimport os, json, urllib.request, openai, anthropic",
    "load": "%aikey openai anthropic",
    "env_path": WAIT + "o = openai.OpenAI()\n"
    "a = anthropic.Anthropic()\n"
    "print('openai env', [m.id for m in o.models.list()])\n"
    "print('anthropic env', [m.id for m in a.models.list()])\n"
    "print('no key:', 'ANTHROPIC_API_KEY' not in os.environ)",
    "after_expiry": "t1 = os.environ['OPENAI_API_KEY']\n"
    "f = os.environ['ANTHROPIC_IDENTITY_TOKEN_FILE']\n"
    "j1 = open(f).read()\n"
    "seen = {t1}\n"
    "def refreshed_twice():\n"
    "    seen.add(os.environ['OPENAI_API_KEY'])\n"
    "    return len(seen) >= 3\n"
    "wait_for(refreshed_twice, 'two OpenAI refreshes')\n"
    "wait_for(lambda: open(f).read() != j1, 'a fresh JWT in the token file')\n"
    "print('openai again', [m.id for m in openai.OpenAI().models.list()])\n"
    "print('anthropic again', [m.id for m in a.models.list()])\n"
    "try:\n"
    "    o.models.list()\n"
    "    print('old client: accepted')\n"
    "except openai.AuthenticationError:\n"
    "    print('old client: token expired')",
    "identity_path": "import nbsecrets\n"
    "for url in (os.environ['TEST_OPENAI_CONTROL'], os.environ['TEST_ANTHROPIC_CONTROL']):\n"
    "    urllib.request.urlopen(urllib.request.Request(url, data=b'{\"seconds\": 2}'))\n"
    "from openai.auth._workload import WorkloadIdentityAuth\n"
    "# the SDK hard-codes auth.openai.com; route its exchange to the loopback server\n"
    "WorkloadIdentityAuth.__init__.__kwdefaults__['token_exchange_url'] = "
    "os.environ['TEST_OPENAI_TOKEN_URL']\n"
    "c = openai.OpenAI(workload_identity=nbsecrets.openai_identity())\n"
    "ac = anthropic.Anthropic(credentials=nbsecrets.anthropic_credentials())\n"
    "print('openai identity', [m.id for m in c.models.list()])\n"
    "print('anthropic credentials', [m.id for m in ac.models.list()])\n"
    "time.sleep(2.5)  # both tokens live 2 s: they expire, the SDKs exchange again\n"
    "print('openai identity again', [m.id for m in c.models.list()])\n"
    "print('anthropic credentials again', [m.id for m in ac.models.list()])",
    "list": "%aikey --list",
    "leak": "print(os.environ['OPENAI_API_KEY'])\n"
    "print(open(os.environ['ANTHROPIC_IDENTITY_TOKEN_FILE']).read())\n"
    "os.environ['OPENAI_API_KEY']",
}


@pytest.fixture(scope="module")
def run(moto_endpoint, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("keyless")
    sts = StsApi(moto_endpoint)
    oai, ant = OpenAIApi(), AnthropicApi()
    oai.token_lifetime_s = 6.0  # refreshed 2 s before expiry: a new client has 2 s at least
    ant.token_lifetime_s = 2.0  # the SDK exchanges at every request (30 s mandatory window)
    sts.lifetime_s = 8.0  # the token file's JWT is replaced every ~1.6 s
    pid = oai.add_provider(sts.issuer, OPENAI_AUD)
    oai.add_rule(pid, {"sub": ROLE_ARN}, "svc_nb")
    iid = ant.add_issuer(sts.issuer)
    rid = ant.add_rule(iid, {"subject_prefix": ROLE_ARN, "audience": ANTHROPIC_AUD}, "svac_nb")
    env = kernel_env(moto_endpoint, tmp, True)
    env = {k: v for k, v in env.items() if not k.startswith(("ANTHROPIC_", "OPENAI_"))}
    env.update(
        {
            "AWS_ENDPOINT_URL_STS": sts.url,
            "ANTHROPIC_BASE_URL": ant.url,
            "OPENAI_BASE_URL": f"{oai.url}/v1",
            "TEST_OPENAI_TOKEN_URL": f"{oai.url}/oauth/token",
            "TEST_OPENAI_CONTROL": f"{oai.url}/_test/lifetime",
            "TEST_ANTHROPIC_CONTROL": f"{ant.url}/_test/lifetime",
            # a long-lived key left in the environment: %aikey must remove it
            "ANTHROPIC_API_KEY": "sk-ant-api03-long-lived-should-be-removed-000",
        }
    )
    sm = boto3.client(
        "secretsmanager",
        region_name=REGION,
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    prefix = env["NBSECRETS_PREFIX"]
    sm.create_secret(
        Name=f"{prefix}openai",
        SecretString=json.dumps(
            {
                "federation": {
                    "audience": OPENAI_AUD,
                    "identity_provider_id": pid,
                    "service_account_id": "svc_nb",
                    "token_url": f"{oai.url}/oauth/token",
                }
            }
        ),
    )
    sm.create_secret(
        Name=f"{prefix}anthropic",
        SecretString=json.dumps(
            {
                "federation": {
                    "audience": ANTHROPIC_AUD,
                    "federation_rule_id": rid,
                    "organization_id": ant.organization_id,
                    "service_account_id": "svac_nb",
                }
            }
        ),
    )
    nb = new_notebook(
        cells=[new_code_cell(src, metadata={"tags": [tag]}) for tag, src in CELLS.items()]
    )
    workdir = tmp / "work"
    workdir.mkdir()
    history = Path(env["IPYTHONDIR"]) / "profile_default" / "history.sqlite"
    NotebookClient(
        nb,
        timeout=180,
        kernel_name="python3",
        allow_errors=True,
        ipython_hist_file=str(history),
        resources={"metadata": {"path": str(workdir)}},
    ).execute(env=env)
    path = tmp / "executed.ipynb"
    nbformat.write(nb, path)
    yield nb, path, history, workdir, sts, oai, ant
    for server in (sts, oai, ant):
        server.close()


def out(nb, tag: str) -> str:
    [cell] = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    parts = []
    for o in cell.outputs:
        parts.append(
            o.get("text", "")
            if o.output_type == "stream"
            else json.dumps(o.get("data", {}))
            if "data" in o
            else f"{o.get('ename')}: {o.get('evalue')}"
        )
    return "\n".join(parts)


def test_load_line_says_federated(run):
    nb = run[0]
    text = out(nb, "load")
    assert (
        "openai: OPENAI_API_KEY <- " in text and "anthropic: ANTHROPIC_FEDERATION_RULE_ID" in text
    )
    assert text.count("federated, token valid until ") == 2


def test_env_path_calls_both_apis(run):
    nb, *_, _sts, _oai, _ant = run
    text = out(nb, "env_path")
    assert "openai env ['gpt-loopback']" in text
    assert "anthropic env ['claude-loopback']" in text
    assert "no key: True" in text


def test_env_path_again_after_expiry(run):
    nb, *_, _sts, oai, ant = run
    text = out(nb, "after_expiry")
    assert "openai again ['gpt-loopback']" in text
    assert "anthropic again ['claude-loopback']" in text
    assert "old client: token expired" in text  # a client keeps its token: why the SDK path
    assert ant.rejected == []  # never a replayed or stale JWT
    assert oai.api_calls["expired"] >= 1


def test_sdk_argument_path_refreshes_itself(run):
    nb, *_, _sts, _oai, _ant = run
    text = out(nb, "identity_path")
    for line in (
        "openai identity ['gpt-loopback']",
        "anthropic credentials ['claude-loopback']",
        "openai identity again ['gpt-loopback']",
        "anthropic credentials again ['claude-loopback']",
    ):
        assert line in text, text


def test_exchanges_counted(run):
    _nb, *_, sts, oai, ant = run
    # nbsecrets: 1 at load + >= 2 refreshes; the SDK path: 2 (before and after expiry)
    assert oai.exchanges >= 5
    # the env-path client exchanged twice (first call, after expiry), the credentials twice
    assert ant.exchanges >= 4
    assert {c["Audience.member.1"] for c in sts.calls} == {OPENAI_AUD, ANTHROPIC_AUD}


def test_list_shows_the_mode(run):
    text = out(run[0], "list")
    assert "federated" in text


def test_no_jwt_or_token_in_saved_output_or_history(run):
    nb, path, history, workdir, sts, oai, ant = run
    saved = path.read_text(encoding="utf-8")
    with sqlite3.connect(history) as db:
        kept = "\n".join(str(r) for r in db.execute("SELECT * FROM output_history"))
        kept += "\n".join(str(r) for r in db.execute("SELECT * FROM history"))
    secrets = [*sts.tokens, *oai.issued, *ant.issued]
    assert len(secrets) >= 10
    for value in secrets:
        for channel in (saved, kept):
            assert value not in channel
            assert value[-40:] not in channel  # no run of the signature / token either
    leak = out(nb, "leak")
    # JWTs share their header, so a run of the Anthropic JWT may carry either label
    assert leak.count("[REDACTED:") >= 3 and "eyJ" not in leak.replace("[REDACTED", "")
    assert not any(workdir.rglob("*identity-token*"))
