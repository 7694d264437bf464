"""Rotation's settings, from what an admin writes and nothing a notebook role can write.

In order: the admin's record for the secret, ``nbsecrets-admin/rotation/<secret name>`` (a
JSON object, optional); the environment (the Lambda's variables, which template.yaml and the
Pulumi program set from their parameters, or the shell of the admin running ``nbsecrets
rotate``); then a default. The OpenAI project may also come from the admin key secret's
``project_id``. Never from the rotated secret's tags, description or payload: a notebook
role with ``--allow-write`` may write those.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nbsecrets.errors import ConfigError
from nbsecrets.providers import Registry

__all__ = [
    "ADMIN_NAMESPACE",
    "LEDGER_PREFIX",
    "MAX_GRACE_DAYS",
    "SETTINGS_PREFIX",
    "Settings",
    "grace_days",
    "resolve",
]

ADMIN_NAMESPACE = "nbsecrets-admin/"
SETTINGS_PREFIX = f"{ADMIN_NAMESPACE}rotation/"
LEDGER_PREFIX = f"{ADMIN_NAMESPACE}minted/"
GRACE_ENV = "NBSECRETS_ROTATION_GRACE_DAYS"
PROJECT_ENV = "NBSECRETS_OPENAI_PROJECT_ID"
WORKSPACE_ENV = "NBSECRETS_ANTHROPIC_WORKSPACE_ID"
DEFAULT_GRACE_DAYS = 1.0
MAX_GRACE_DAYS = 365.0
ROTATED = ("openai", "anthropic")
_FIELDS = {"provider", "grace_days", "openai_project_id", "anthropic_workspace_id"}
PROJECT_ID = re.compile(r"proj_[A-Za-z0-9_-]{1,64}")
_WORKSPACE = re.compile(r"wrkspc_[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Settings:
    """What rotation of one secret may do, and where each value came from.

    ``openai_project_id`` is None when no admin setting names one (the admin key secret's
    ``project_id`` may still); ``anthropic_workspace_id`` None means the default workspace.
    """

    secret: str
    provider: str
    grace_days: float
    openai_project_id: str | None = None
    anthropic_workspace_id: str | None = None
    source: str = "defaults"


def grace_days(value: Any, where: str) -> float:
    """``value`` as a number of days from 0 to 365.

    Raises
    ------
    ConfigError
        If it is not a number in that range (``1e10`` and ``nan`` included).
    """
    try:
        days = float(value)
    except (TypeError, ValueError):
        days = math.nan
    if isinstance(value, bool) or not (0 <= days <= MAX_GRACE_DAYS):
        raise ConfigError(
            f"the grace period in {where} is {str(value)[:40]!r}; give a number of "
            f"days from 0 to {MAX_GRACE_DAYS:g}."
        )
    return days


def _provider(raw: str, where: str, secret: str) -> str:
    try:
        name = Registry().get(raw).name
    except ConfigError:
        name = raw
    if name not in ROTATED:
        raise ConfigError(
            f"{secret}: nbsecrets rotates {' and '.join(ROTATED)} keys, not "
            f"{name[:40]!r} (from {where}); store a new key with `nbsecrets set`, "
            f"or name the provider in {SETTINGS_PREFIX}{secret}."
        )
    return name


def _record(text: str | None, name: str) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        raise ConfigError(
            f"the rotation settings {name} are not a JSON object; store e.g. "
            '{"openai_project_id": "proj_...", "grace_days": 1} there.'
        ) from None
    unknown = sorted(set(obj) - _FIELDS)
    if unknown:
        raise ConfigError(
            f"the rotation settings {name} have unknown field(s) "
            f"{', '.join(u[:40] for u in unknown)}; the fields are "
            f"{', '.join(sorted(_FIELDS))}."
        )
    return obj


def resolve(
    secret: str,
    read_admin: Callable[[str], str | None],
    *,
    environ: Mapping[str, str] | None = None,
    provider: str | None = None,
    grace_override: float | None = None,
) -> Settings:
    """The settings for rotating the secret named ``secret``.

    Parameters
    ----------
    secret : str
        The secret's name (from DescribeSecret, never a caller's alias).
    read_admin : callable
        Reads a secret under ``nbsecrets-admin/``; None when it does not exist.
    environ : mapping, optional
        The admin's environment (default ``os.environ``).
    provider : str, optional
        The provider an admin named (``nbsecrets rotate openai=SECRET``); else the settings
        record's ``provider``, else the last part of the secret's name.
    grace_override : float, optional
        ``nbsecrets rotate --grace-days``.

    Raises
    ------
    ConfigError
        If a setting is malformed: one sentence naming where it came from.
    """
    env = os.environ if environ is None else environ
    name = f"{SETTINGS_PREFIX}{secret}"
    record = _record(read_admin(name), name)
    sources = [name] if record else []
    if GRACE_ENV in env or PROJECT_ENV in env or WORKSPACE_ENV in env:
        sources.append("environment")

    if provider:
        chosen = _provider(provider, "the command line", secret)
    elif "provider" in record:
        chosen = _provider(str(record["provider"]), name, secret)
    else:
        chosen = _provider(secret.rsplit("/", 1)[-1], "the secret's name", secret)

    if grace_override is not None:
        grace = grace_days(grace_override, "--grace-days")
    elif "grace_days" in record:
        grace = grace_days(record["grace_days"], name)
    elif env.get(GRACE_ENV):
        grace = grace_days(env[GRACE_ENV], GRACE_ENV)
    else:
        grace = DEFAULT_GRACE_DAYS

    project = record.get("openai_project_id", env.get(PROJECT_ENV) or None)
    if project is not None and not (isinstance(project, str) and PROJECT_ID.fullmatch(project)):
        where = name if "openai_project_id" in record else PROJECT_ENV
        raise ConfigError(
            f"the OpenAI project in {where} is {str(project)[:40]!r}; give a "
            "project id such as proj_abc123."
        )
    workspace = record.get("anthropic_workspace_id", env.get(WORKSPACE_ENV) or None)
    if workspace is not None and not (
        isinstance(workspace, str) and _WORKSPACE.fullmatch(workspace)
    ):
        where = name if "anthropic_workspace_id" in record else WORKSPACE_ENV
        raise ConfigError(
            f"the Anthropic workspace in {where} is {str(workspace)[:40]!r}; give "
            "a workspace id such as wrkspc_abc123 (or none: the default "
            "workspace)."
        )
    return Settings(
        secret=secret,
        provider=chosen,
        grace_days=grace,
        openai_project_id=project,
        anthropic_workspace_id=workspace,
        source=" and ".join(sources) or "defaults",
    )
