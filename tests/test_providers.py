from __future__ import annotations

import pytest

from nbsecrets.errors import ConfigError
from nbsecrets.providers import Registry, default_env_var

DESIGN_TABLE = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "claude": ("ANTHROPIC_API_KEY",),
    "huggingface": ("HF_TOKEN",),
    "hf": ("HF_TOKEN",),
    "google": ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    "gemini": ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    "cohere": ("CO_API_KEY", "COHERE_API_KEY"),
    "mistral": ("MISTRAL_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "together": ("TOGETHER_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "xai": ("XAI_API_KEY",),
    "grok": ("XAI_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "perplexity": ("PERPLEXITY_API_KEY",),
    "replicate": ("REPLICATE_API_TOKEN",),
    "pinecone": ("PINECONE_API_KEY",),
    "voyage": ("VOYAGE_API_KEY",),
    "langsmith": ("LANGSMITH_API_KEY",),
    "wandb": ("WANDB_API_KEY",),
}


@pytest.mark.parametrize(("name", "env_vars"), DESIGN_TABLE.items())
def test_registry_matches_design(name, env_vars):
    assert Registry().get(name).env_vars == env_vars


def test_aliases_resolve_to_canonical_name():
    assert Registry().get("Claude").name == "anthropic"
    assert Registry().get("HF").name == "huggingface"


@pytest.mark.parametrize(
    ("name", "var"),
    [
        ("my-llm", "MY_LLM_API_KEY"),
        ("acme.ai", "ACME_AI_API_KEY"),
        ("Foo", "FOO_API_KEY"),
    ],
)
def test_unknown_names_get_derived_variables(name, var):
    assert default_env_var(name) == var
    assert Registry().get(name).env_vars == (var,)


@pytest.mark.parametrize("bad", ["open ai", "", "-x", "a/b", "x" * 200, "ключ"])
def test_invalid_names(bad):
    with pytest.raises(ConfigError):
        Registry().get(bad)


def test_overrides_add_and_replace():
    reg = Registry({"openai": ["OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"], "acme": "ACME_TOKEN"})
    assert reg.get("openai").env_vars == ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY")
    assert reg.get("acme").env_vars == ("ACME_TOKEN",)
    assert reg.get("claude").env_vars == ("ANTHROPIC_API_KEY",)


@pytest.mark.parametrize("bad", [{"acme": []}, {"acme": 3}, {"acme": ["1BAD"]}])
def test_bad_overrides(bad):
    with pytest.raises(ConfigError):
        Registry(bad)
