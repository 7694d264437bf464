"""The one interface of a provider's rotation module, and what it is given.

A provider (:class:`KeyProvider`) tests a key, may mint one through its admin API, finds the
id of a key an admin typed, and revokes a key rotation recorded, after asking its admin API
that the recorded id is still that key in the configured project; everything else (the
steps, the staging labels, the ledger, the grace period) is :mod:`nbsecrets.rotation.steps`.
Each step reads the secret once and hands it to the provider as a :class:`Context`, with the
admin's :class:`~nbsecrets.rotation.settings.Settings` (never the secret's tags or payload).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

from nbsecrets.aws.pending import SecretState, Staging
from nbsecrets.errors import ConfigError, KeyNotFoundError, SecretFormatError
from nbsecrets.refs import json_object
from nbsecrets.rotation.ledger import Minted
from nbsecrets.rotation.settings import Settings

__all__ = ["Context", "KeyProvider", "Verdict", "hint_matches"]


@dataclass
class Context:
    """One secret being rotated: its state (read once per step), the staging calls, the
    admin's settings for it, and the environment (admin key secret names, base URLs)."""

    secret: SecretState
    staging: Staging
    settings: Settings
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def admin_secret(self, provider: str, default: str) -> dict[str, str]:
        """The provider's admin key secret as a dict with ``admin_key`` (and any other fields).

        The secret is a raw key or a JSON object with ``admin_key`` or ``api_key``.

        Raises
        ------
        KeyNotFoundError, AccessDeniedError
            If the secret cannot be read.
        SecretFormatError
            If it holds neither form.
        """
        env = f"NBSECRETS_{provider.upper()}_ADMIN_SECRET"
        name = self.environ.get(env) or default
        try:
            payload = self.staging.payload(name).strip()
        except KeyNotFoundError:
            raise KeyNotFoundError(
                f"the {provider} admin key secret {name} does not exist; store the admin key "
                f"there (or name another secret in {env}), or paste a new key with "
                f"`nbsecrets rotate {provider} --prompt`."
            ) from None
        try:
            obj = json_object(payload)
        except SecretFormatError:
            obj = {}
        if obj is None:
            return {"admin_key": payload}
        if obj:
            key = obj.get("admin_key") or obj.get("api_key")
            if isinstance(key, str) and key:
                return {**{k: str(v) for k, v in obj.items()}, "admin_key": key}
        raise SecretFormatError(
            f"the admin secret {name} holds neither a raw key nor a JSON "
            "object with an admin_key field; store one of those."
        ) from None


def hint_matches(hint: str, value: str) -> bool:
    """True when a provider's masked hint (``sk-ant-api03-R2D...igAA``) fits ``value``."""
    head, sep, tail = hint.partition("...")
    if not sep or len(head) < 4 or len(value) <= len(head) + len(tail):
        return False
    return value.startswith(head) and value.endswith(tail)


class Verdict(NamedTuple):
    """The admin API's answer about a recorded key: revoke it, it is gone, or leave it (why)."""

    revoke: bool
    gone: bool
    why: str = ""


class KeyProvider(ABC):
    """A provider whose keys nbsecrets can test, and maybe mint and revoke.

    A subclass names itself, its admin key secret and its base URL setting; it implements
    :meth:`test`, :meth:`project`, :meth:`identify`, :meth:`verify` and :meth:`revoke`, and
    :meth:`intent` / :meth:`mint` when its admin API creates keys.
    """

    name: ClassVar[str] = ""
    #: True when its admin API creates keys, so the Lambda can rotate on its own.
    can_mint: ClassVar[bool] = False
    #: The admin key secret, under the admin namespace (``NBSECRETS_{NAME}_ADMIN_SECRET``
    #: names another).
    admin_secret: ClassVar[str] = ""
    #: The variable that overrides the API's base URL, and the SDK's default.
    base_url_env: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""
    #: Start of the secret fields that hold a minted key's ids (dropped when the key changes).
    id_prefix: ClassVar[str] = ""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        """``environ``: where the base URL and settings are read (default ``os.environ``)."""
        self.environ = os.environ if environ is None else environ
        self.base = (self.environ.get(self.base_url_env) or self.default_base_url).rstrip("/")

    @abstractmethod
    def test(self, value: str) -> None:
        """Prove ``value`` works with a call that spends no tokens.

        Raises
        ------
        KeyRejectedError
            If the provider refuses the key.
        ProviderError
            If the provider cannot be reached or answers oddly.
        """

    @abstractmethod
    def project(self, ctx: Context) -> str:
        """The configured project (OpenAI) or workspace (Anthropic; "" for the default).

        Raises
        ------
        ConfigError
            If the provider needs one and no admin setting names it.
        """

    def intent(self, ctx: Context, token: str) -> Minted:
        """The ledger entry written before a key is minted for version ``token``
        (``state="minting"``, with what finds a crashed try's leftovers).

        Raises
        ------
        ConfigError
            If the provider's API cannot create keys (the default): rotate by hand.
        """
        raise self._cannot_mint()

    def _cannot_mint(self) -> ConfigError:
        return ConfigError(
            f"{self.name} keys cannot be created through its API; rotate by "
            f"hand with `nbsecrets rotate {self.name}`."
        )

    def mint(self, ctx: Context, entry: Minted) -> tuple[dict[str, str], Minted]:
        """A new key: the fields of the new secret value (``api_key`` and ids), and ``entry``
        with the ids filled in (``state="pending"``).

        Raises
        ------
        ConfigError
            If the provider's API cannot create keys (the default): rotate by hand.
        """
        raise self._cannot_mint()

    def drop_orphans(self, ctx: Context, entry: Minted) -> None:
        """Remove what a crashed try of minting ``entry`` (still ``minting``) left behind;
        a provider that cannot mint has nothing to remove."""
        return None

    def typed(self, value: str) -> dict[str, str]:
        """The fields of the new secret value for a key given by hand.

        Raises
        ------
        SecretFormatError
            If the key is empty or has spaces around it.
        """
        if not value or value != value.strip():
            raise SecretFormatError(
                f"{self.name}: the new key is empty or has spaces around "
                "it; nothing was changed. Paste the key alone."
            )
        return {"api_key": value}

    @abstractmethod
    def identify(self, ctx: Context, value: str, entry: Minted) -> tuple[Minted, str]:
        """For a key an admin typed: ``entry`` with the id the admin API gives for ``value``
        in the configured project (none when it cannot tell), and why not, if so."""

    @abstractmethod
    def verify(self, ctx: Context, entry: Minted) -> Verdict:
        """Ask the admin API whether ``entry``'s id is still the recorded key, in the
        configured project.

        Raises
        ------
        KeyRejectedError, ProviderError
            If the admin API cannot answer (revocation then waits for the next run).
        """

    @abstractmethod
    def revoke(self, ctx: Context, entry: Minted) -> str:
        """Revoke the key ``entry`` records; one line saying what was done. Revoking a key
        that is already gone is a success, so a retried step does no harm."""
