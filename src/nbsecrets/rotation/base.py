"""The one interface of a provider's rotation module, and the settings they read.

A provider (:class:`KeyProvider`) tests a key, may mint one through its admin API, revokes an
old one and says which of a secret's fields hold a minted key's ids; everything else (the
steps, the staging labels, the grace period) is :mod:`nbsecrets.rotation.steps`. Each step
reads the secret once and hands it to the provider as a :class:`Context`.

Settings come from the secret's tags first, then the environment (the Lambda's variables, or
the shell of whoever runs ``nbsecrets rotate``), then a default.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from nbsecrets.aws.pending import SecretState, Staging
from nbsecrets.errors import ConfigError, KeyNotFoundError, SecretFormatError
from nbsecrets.refs import json_object

__all__ = ["GRACE_TAG", "Context", "KeyProvider", "hint_matches"]

GRACE_TAG = "nbsecrets:rotation-grace-days"
GRACE_ENV = "NBSECRETS_ROTATION_GRACE_DAYS"
DEFAULT_GRACE_DAYS = 1.0


@dataclass
class Context:
    """One secret being rotated: its state (read once per step), the staging calls and the
    settings."""

    secret: SecretState
    staging: Staging
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def setting(self, tag: str, env: str, default: str | None = None) -> str | None:
        """The tag ``tag`` on the secret, else the variable ``env``, else ``default``."""
        return self.secret.tags.get(tag) or self.environ.get(env) or default

    def grace_days(self) -> float:
        """Days an old key stays valid after it stops being current.

        Raises
        ------
        ConfigError
            If the tag or variable is not a number of days >= 0.
        """
        text = self.setting(GRACE_TAG, GRACE_ENV, str(DEFAULT_GRACE_DAYS)) or ""
        try:
            days = float(text)
        except ValueError:
            days = -1.0
        if not days >= 0:
            raise ConfigError(
                f"{GRACE_TAG} / {GRACE_ENV} is {text!r}; give a number of days (0 or more)."
            )
        return days

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


class KeyProvider(ABC):
    """A provider whose keys nbsecrets can test, and maybe mint and revoke.

    A subclass names itself, its admin key secret and its base URL setting; it implements
    :meth:`test` and :meth:`revoke`, and :meth:`mint` when its admin API creates keys.
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

    def mint(self, ctx: Context, token: str) -> dict[str, str]:
        """A new key as the fields of the new secret value (``api_key`` and ids).

        Raises
        ------
        ConfigError
            If the provider's API cannot create keys (the default): rotate by hand.
        """
        raise ConfigError(
            f"{self.name} keys cannot be created through its API; rotate by "
            f"hand with `nbsecrets rotate {self.name}`."
        )

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

    def minted(self, fields: Mapping[str, str]) -> bool:
        """Whether a secret version with these fields holds a key this provider minted (which
        rotation may then revoke when it was never promoted)."""
        return False

    @abstractmethod
    def revoke(self, ctx: Context, fields: Mapping[str, str], value: str) -> str:
        """Revoke the key ``value`` (whose secret version held ``fields``).

        Returns one line saying what was done (or what to do by hand). Revoking a key that is
        already gone is a success, so a retried step does no harm.
        """
