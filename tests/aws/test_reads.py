"""The store against the moto server over HTTP: layouts, batching, cache, versions."""

from __future__ import annotations

import json
import os

import pytest

import nbsecrets
from nbsecrets.aws.store import Store
from nbsecrets.config import Config
from nbsecrets.refs import parse_ref

KEY = "sk-test-0123456789abcdefghij"


def refs(store: Store, *names: str):
    return [parse_ref(n, store.config.providers, store.config.prefix) for n in names]


@pytest.mark.parametrize(
    ("payload", "name"),
    [
        (KEY, "openai"),  # raw string
        ({"api_key": KEY, "org": "org-1"}, "openai"),  # api_key field
        ({"openai": KEY, "note": "x"}, "openai"),  # field named after the provider
        ({"token": KEY, "count": 3}, "openai"),  # the only string field
        ({"anthropic": KEY, "note": "x"}, "claude"),  # alias, canonical field name
        (KEY + "\n", "openai"),  # trailing newline is dropped
    ],
)
def test_layouts(seed, payload, name):
    provider = "anthropic" if name == "claude" else name
    seed(f"nbsecrets/{provider}", payload)
    assert nbsecrets.get(name) == KEY


def test_bundle_fields_cost_one_request(seed, proxy):
    seed("APIKEYS", {"openai": KEY, "anthropic": KEY[::-1]})
    got = nbsecrets.load("openai=APIKEYS#openai", "anthropic=APIKEYS#anthropic")
    assert got == {"openai": ("OPENAI_API_KEY",), "anthropic": ("ANTHROPIC_API_KEY",)}
    assert os.environ["OPENAI_API_KEY"] == KEY
    assert os.environ["ANTHROPIC_API_KEY"] == KEY[::-1]
    assert proxy.actions() == ["BatchGetSecretValue"]


def test_full_arn_reference(seed):
    arn = seed("team/keys", {"openai": KEY})["ARN"]
    assert nbsecrets.get(f"openai={arn}#openai") == KEY


@pytest.mark.parametrize(("count", "requests"), [(1, 1), (10, 1), (25, 2)])
def test_requests_per_key_count(seed, proxy, count, requests):
    names = [f"svc{i}" for i in range(count)]
    for name in names:
        seed(f"nbsecrets/{name}", f"key-{name}-0123456789abcdef")
    proxy.requests.clear()
    loaded = nbsecrets.load(*names)
    assert len(loaded) == count
    assert proxy.actions() == ["BatchGetSecretValue"] * requests
    assert os.environ["SVC0_API_KEY"] == "key-svc0-0123456789abcdef"


def test_cache_and_refresh(seed, sm, proxy):
    seed("nbsecrets/openai", KEY)
    assert nbsecrets.get("openai") == KEY
    sm.put_secret_value(SecretId="nbsecrets/openai", SecretString=KEY + "-v2")
    assert nbsecrets.get("openai") == KEY  # cached
    assert proxy.actions() == ["BatchGetSecretValue"]
    assert nbsecrets.get("openai", refresh=True) == KEY + "-v2"
    assert proxy.actions() == ["BatchGetSecretValue"] * 2


def test_ttl_zero_disables_cache(seed, proxy):
    os.environ["NBSECRETS_CACHE_TTL"] = "0"
    seed("nbsecrets/openai", KEY)
    nbsecrets.get("openai")
    nbsecrets.get("openai")
    assert proxy.actions() == ["BatchGetSecretValue"] * 2


def test_failures_are_not_cached(seed, proxy):
    with pytest.raises(nbsecrets.KeyNotFoundError):
        nbsecrets.get("openai")
    seed("nbsecrets/openai", KEY)
    assert nbsecrets.get("openai") == KEY


def test_staging_labels_after_put(seed, sm):
    seed("nbsecrets/openai", KEY)
    sm.put_secret_value(SecretId="nbsecrets/openai", SecretString=KEY + "-new")
    assert nbsecrets.get("openai") == KEY + "-new"
    assert nbsecrets.get("openai", stage="AWSPREVIOUS") == KEY
    first = sm.list_secret_version_ids(SecretId="nbsecrets/openai")["Versions"]
    old = next(v["VersionId"] for v in first if "AWSPREVIOUS" in v.get("VersionStages", []))
    assert nbsecrets.get("openai", version_id=old) == KEY


def test_unknown_stage(seed):
    seed("nbsecrets/openai", KEY)
    with pytest.raises(nbsecrets.KeyNotFoundError, match="AWSNOPE"):
        nbsecrets.get("openai", stage="AWSNOPE")


def test_batch_denied_falls_back_to_get(seed, proxy):
    seed("nbsecrets/openai", KEY)
    seed("nbsecrets/anthropic", KEY[::-1])
    proxy.fail(400, "AccessDeniedException", times=1, only="BatchGetSecretValue")
    assert nbsecrets.load("openai", "anthropic")
    assert proxy.actions() == ["BatchGetSecretValue", "GetSecretValue", "GetSecretValue"]
    assert os.environ["ANTHROPIC_API_KEY"] == KEY[::-1]


def test_user_agent_names_nbsecrets(seed, proxy):
    seed("nbsecrets/openai", KEY)
    nbsecrets.get("openai")
    assert f"nbsecrets/{nbsecrets.__version__}" in proxy.user_agents[-1]


def test_repr_never_shows_value(seed):
    seed("nbsecrets/openai", KEY)
    store = Store(Config.load())
    [key] = store.fetch(refs(store, "openai"))
    assert key.value == KEY
    assert KEY not in repr(key) and KEY not in str(key)
    assert KEY not in repr(key.secret)


def test_list_keys(seed):
    seed("nbsecrets/openai", KEY)
    seed("nbsecrets/my-llm", KEY)
    seed("other/openai", KEY)
    nbsecrets.load("openai")
    listed = {k.info.name: k for k in nbsecrets.list_keys()}
    assert set(listed) == {"nbsecrets/openai", "nbsecrets/my-llm"}
    assert listed["nbsecrets/openai"].loaded
    assert not listed["nbsecrets/my-llm"].loaded
    assert listed["nbsecrets/my-llm"].env_vars == ("MY_LLM_API_KEY",)


def test_put_creates_then_versions(sm):
    from nbsecrets import api

    first = api.store_key("openai", KEY)
    tags = {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId="nbsecrets/openai")["Tags"]}
    assert tags.pop("nbsecrets:fingerprint").startswith("v1:")
    assert tags == {"nbsecrets:provider": "openai", "nbsecrets:managed": "true"}
    second = api.store_key("openai", KEY + "2")
    assert first.version_id != second.version_id
    assert sm.get_secret_value(SecretId="nbsecrets/openai")["SecretString"] == KEY + "2"


@pytest.mark.parametrize("bad", ["", " sk-x", "sk-x\n"])
def test_put_refuses_bad_values(sm, bad):
    from nbsecrets import api

    with pytest.raises(nbsecrets.SecretFormatError, match="nothing was stored"):
        api.store_key("openai", bad)
    assert sm.list_secrets()["SecretList"] == []


def test_prefix_from_config_file(seed, aws_env):
    with open(aws_env["NBSECRETS_CONFIG"], "w") as f:
        f.write('prefix = "team/"\n[providers]\nopenai = ["OPENAI_API_KEY", "OAI_KEY"]\n')
    seed("team/openai", json.dumps({"api_key": KEY}))
    assert nbsecrets.load("openai") == {"openai": ("OPENAI_API_KEY", "OAI_KEY")}
    assert os.environ["OAI_KEY"] == KEY
