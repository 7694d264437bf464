"""The registry of AI providers and the environment variables their SDKs read."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from nbsecrets.errors import ConfigError

__all__ = ["BUILTIN", "Provider", "Registry", "default_env_var"]


@dataclass(frozen=True)
class Provider:
    """A provider: its canonical name, the variables it sets, and its aliases."""

    name: str
    env_vars: tuple[str, ...]
    aliases: tuple[str, ...] = ()


BUILTIN: tuple[Provider, ...] = (
    Provider("openai", ("OPENAI_API_KEY",)),
    Provider("anthropic", ("ANTHROPIC_API_KEY",), ("claude",)),
    Provider("huggingface", ("HF_TOKEN",), ("hf",)),
    Provider("google", ("GOOGLE_API_KEY", "GEMINI_API_KEY"), ("gemini",)),
    Provider("cohere", ("CO_API_KEY", "COHERE_API_KEY")),
    Provider("mistral", ("MISTRAL_API_KEY",)),
    Provider("groq", ("GROQ_API_KEY",)),
    Provider("together", ("TOGETHER_API_KEY",)),
    Provider("deepseek", ("DEEPSEEK_API_KEY",)),
    Provider("xai", ("XAI_API_KEY",), ("grok",)),
    Provider("openrouter", ("OPENROUTER_API_KEY",)),
    Provider("perplexity", ("PERPLEXITY_API_KEY",)),
    Provider("replicate", ("REPLICATE_API_TOKEN",)),
    Provider("pinecone", ("PINECONE_API_KEY",)),
    Provider("voyage", ("VOYAGE_API_KEY",)),
    Provider("langsmith", ("LANGSMITH_API_KEY",)),
    Provider("wandb", ("WANDB_API_KEY",)),
)

# Provider names become part of secret names: keep them to what Secrets Manager allows.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def default_env_var(name: str) -> str:
    """The variable for a provider not in the registry: ``my-llm`` gives ``MY_LLM_API_KEY``."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_API_KEY"


def check_env_var(var: str) -> str:
    """Return ``var`` if it is a valid environment variable name, else raise ConfigError."""
    if not _ENV_VAR.match(var):
        raise ConfigError(
            f"{var!r} is not a valid environment variable name; use letters, digits and _."
        )
    return var


class Registry:
    """Built-in providers, plus additions and overrides from the config file.

    Parameters
    ----------
    overrides : Mapping[str, Sequence[str] | str]
        ``[providers]`` table of the config file: provider name to its variable(s).
    """

    def __init__(self, overrides: Mapping[str, object] | None = None):
        self._by_name: dict[str, Provider] = {}
        # Names from the config's [providers] table: the keys a user expects to exist.
        self.configured: tuple[str, ...] = tuple(n.lower() for n in (overrides or {}))
        for p in BUILTIN:
            self._add(p)
        for name, value in (overrides or {}).items():
            env_vars = (value,) if isinstance(value, str) else value
            if (
                not isinstance(env_vars, list | tuple)
                or not env_vars
                or not all(isinstance(v, str) for v in env_vars)
            ):
                raise ConfigError(
                    f"[providers] {name} must be a variable name or a list of them, "
                    'e.g. {name} = ["MY_API_KEY"].'
                )
            name = name.lower()
            self._check_name(name)
            old = self._by_name.get(name)
            aliases = old.aliases if old and old.name == name else ()
            self._add(Provider(name, tuple(check_env_var(v) for v in env_vars), aliases))

    def _add(self, provider: Provider) -> None:
        self._by_name[provider.name] = provider
        for alias in provider.aliases:
            self._by_name[alias] = provider

    @staticmethod
    def _check_name(name: str) -> None:
        if not _NAME.match(name):
            raise ConfigError(
                f"{name!r} is not a valid provider name; use letters, digits and -_.@+ "
                "(e.g. openai, my-llm)."
            )

    def get(self, name: str) -> Provider:
        """The provider for ``name`` (case-insensitive, aliases resolved).

        A name outside the registry is an in-house provider whose variable is
        :func:`default_env_var` of the name.

        Raises
        ------
        ConfigError
            If the name cannot be a secret name.
        """
        key = name.lower()
        found = self._by_name.get(key)
        if found is not None:
            return found
        self._check_name(name)
        return Provider(key, (default_env_var(key),))

    def known(self) -> list[str]:
        """Canonical names of the registered providers."""
        return sorted({p.name for p in self._by_name.values()})

    def is_known(self, name: str) -> bool:
        return name.lower() in self._by_name
