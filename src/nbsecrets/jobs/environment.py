"""The notebook side of a job: :func:`job_environment`, keys for a job by reference.

In the notebook, :func:`job_environment` returns environment entries that NAME keys (which
providers or secrets, the prefix, the region); pass them as ``environment=`` to a SageMaker
Estimator, Processor or Model, or as ``Environment`` to boto3. The job's entry point loads
what they name (:mod:`nbsecrets.jobs.entry`); :func:`keys_named` reads them back. The entries
are::

    NBSECRETS_KEYS=openai,anthropic=APIKEYS#anthropic   what to load (comma separated)
    NBSECRETS_PREFIX=nbsecrets/                         where provider names point
    NBSECRETS_REGION=us-east-1                          where the secrets are
    NBSECRETS_FALLBACK_REGIONS=us-west-2                replicas (only when configured)

Anyone who can describe the job sees these names; nobody sees a value unless their own role
may read the secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from nbsecrets import api
from nbsecrets.aws.transport import region_of
from nbsecrets.config import Config
from nbsecrets.errors import ConfigError
from nbsecrets.providers import Registry
from nbsecrets.refs import KeyRef

__all__ = ["KEYS_VAR", "MAX_VALUE", "job_environment", "keys_named"]

KEYS_VAR = "NBSECRETS_KEYS"
MAX_VALUE = 1024  # SageMaker's limit on one Environment value


def _entry(ref: KeyRef, config: Config) -> str:
    """How ``ref`` is written in NBSECRETS_KEYS: the provider alone when it is the default."""
    if ref.field is None and ref.secret_id == f"{config.prefix}{ref.provider.name}":
        return ref.provider.name
    text = f"{ref.provider.name}={ref.secret_id}" + (f"#{ref.field}" if ref.field else "")
    if "," in text:
        raise ConfigError(
            f"{text!r} holds a comma, which separates the keys in {KEYS_VAR}; "
            "rename the field or the secret."
        )
    return text


def _check_portable(ref: KeyRef, config: Config) -> None:
    """A provider whose variables come from the config file cannot be named to a job."""
    if (
        ref.provider.name in config.providers.configured
        and Registry().get(ref.provider.name).env_vars != ref.provider.env_vars
    ):
        raise ConfigError(
            f"{ref.provider.name} sets {', '.join(ref.provider.env_vars)} because of the "
            f"[providers] table in {config.source}, which the job does not have; ship that file "
            "with the job and set NBSECRETS_CONFIG to its path there, then call nbsecrets.load."
        )


def job_environment(*names: str) -> dict[str, str]:
    """Environment entries that name keys for a job, a model or any process; never a value.

    Parameters
    ----------
    *names : str
        Providers (``openai``) or references (``openai=SECRET_ID#FIELD``), as for ``%aikey``.

    Returns
    -------
    dict[str, str]
        ``NBSECRETS_KEYS``, ``NBSECRETS_PREFIX``, ``NBSECRETS_REGION`` (when one is resolved)
        and ``NBSECRETS_FALLBACK_REGIONS`` (when configured). Merge it into the job's own
        environment: ``environment={**nbsecrets.job_environment("hf"), "EPOCHS": "3"}``.

    Raises
    ------
    ConfigError
        If no name is given, a name is malformed, or one provider is named with two secrets.

    Examples
    --------
    >>> Estimator(..., environment=nbsecrets.job_environment("huggingface"))  # doctest: +SKIP
    """
    if not names:
        raise ConfigError(
            "Name at least one key for the job, e.g. nbsecrets.job_environment('openai')."
        )
    config = api.store().config
    entries: dict[str, str] = {}
    for name in names:
        ref = config.ref(name)
        _check_portable(ref, config)
        text = _entry(ref, config)
        if entries.setdefault(ref.label, text) != text:
            raise ConfigError(
                f"{ref.label} is named twice with different secrets; name each provider once."
            )
    env = {KEYS_VAR: ",".join(entries.values()), "NBSECRETS_PREFIX": config.prefix}
    # the region the notebook reads from, resolved as the store does but with no request
    # (the store's session would first assume NBSECRETS_ROLE_ARN)
    region = region_of(config)
    if region:  # else the job reads the secrets in its own region (AWS_REGION there)
        env["NBSECRETS_REGION"] = region
    if config.fallback_regions:
        env["NBSECRETS_FALLBACK_REGIONS"] = ",".join(config.fallback_regions)
    for var, value in env.items():
        if len(value) > MAX_VALUE:
            raise ConfigError(
                f"{var} would be {len(value)} characters, more than the "
                f"{MAX_VALUE} SageMaker allows; name fewer keys, or keep them in "
                "one bundle secret (openai=BUNDLE#openai)."
            )
    return env


def keys_named(environ: Mapping[str, str] | None = None) -> list[str]:
    """The names listed in ``NBSECRETS_KEYS`` (what :func:`job_environment` wrote).

    Raises
    ------
    ConfigError
        If the variable is missing or empty.
    """
    env = os.environ if environ is None else environ
    names = [n.strip() for n in env.get(KEYS_VAR, "").split(",") if n.strip()]
    if not names:
        raise ConfigError(
            f"{KEYS_VAR} is not set, so no key is named; launch the job with "
            "environment=nbsecrets.job_environment('openai'), or name the keys: "
            "nbsecrets run openai -- COMMAND."
        )
    return names
