"""Keys for the jobs a notebook launches, by reference, never by value.

In the notebook, :func:`job_environment` returns environment entries that NAME keys (which
providers or secrets, the prefix, the region); pass them as ``environment=`` to a SageMaker
Estimator, Processor or Model, or as ``Environment`` to boto3. In the job's container,
:func:`load_environment` (first line of the entry point) or ``nbsecrets run -- COMMAND``
fetches what they name with the job's own role, in one request, and sets the provider
variables. The entries are::

    NBSECRETS_KEYS=openai,anthropic=APIKEYS#anthropic   what to load (comma separated)
    NBSECRETS_PREFIX=nbsecrets/                         where provider names point
    NBSECRETS_REGION=us-east-1                          where the secrets are
    NBSECRETS_FALLBACK_REGIONS=us-west-2                replicas (only when configured)

Anyone who can describe the job sees these names; nobody sees a value unless their own role
may read the secret.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from nbsecrets import api
from nbsecrets.aws.sagemaker import role_from_identity
from nbsecrets.aws.transport import region_of
from nbsecrets.config import Config
from nbsecrets.errors import AccessDeniedError, ConfigError, NbSecretsError
from nbsecrets.providers import Registry
from nbsecrets.refs import KeyRef

__all__ = ["KEYS_VAR", "job_environment", "keys_named", "load_environment", "run",
           "split_command"]

KEYS_VAR = "NBSECRETS_KEYS"
MAX_VALUE = 1024  # SageMaker's limit on one Environment value


def _entry(ref: KeyRef, config: Config) -> str:
    """How ``ref`` is written in NBSECRETS_KEYS: the provider alone when it is the default."""
    if ref.field is None and ref.secret_id == f"{config.prefix}{ref.provider.name}":
        return ref.provider.name
    text = f"{ref.provider.name}={ref.secret_id}" + (f"#{ref.field}" if ref.field else "")
    if "," in text:
        raise ConfigError(f"{text!r} holds a comma, which separates the keys in {KEYS_VAR}; "
                          "rename the field or the secret.")
    return text


def _check_portable(ref: KeyRef, config: Config) -> None:
    """A provider whose variables come from the config file cannot be named to a job."""
    if ref.provider.name in config.providers.configured \
            and Registry().get(ref.provider.name).env_vars != ref.provider.env_vars:
        raise ConfigError(
            f"{ref.provider.name} sets {', '.join(ref.provider.env_vars)} because of the "
            f"[providers] table in {config.source}, which the job does not have; ship that file "
            "with the job and set NBSECRETS_CONFIG to its path there, then call nbsecrets.load.")


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
        raise ConfigError("Name at least one key for the job, e.g. "
                          "nbsecrets.job_environment('openai').")
    config = api.store().config
    entries: dict[str, str] = {}
    for name in names:
        ref = config.ref(name)
        _check_portable(ref, config)
        text = _entry(ref, config)
        if entries.setdefault(ref.label, text) != text:
            raise ConfigError(f"{ref.label} is named twice with different secrets; name each "
                              "provider once.")
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
            raise ConfigError(f"{var} would be {len(value)} characters, more than the "
                              f"{MAX_VALUE} SageMaker allows; name fewer keys, or keep them in "
                              "one bundle secret (openai=BUNDLE#openai).")
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
            "nbsecrets run openai -- COMMAND.")
    return names


def _load(names: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Load ``names`` (one request for up to 20), with a job-role hint when access is denied."""
    try:
        return api.load_names(names, notice_prefix="nbsecrets: ")
    except AccessDeniedError as exc:
        raise _for_this_role(exc, names) from None


def _for_this_role(exc: AccessDeniedError, names: Sequence[str]) -> AccessDeniedError:
    """Name the role in use and the policy to give it (a job's role is not the notebook's)."""
    st = api.store()
    try:
        arn = st.identity()["Arn"]
    except Exception:
        return exc
    role = role_from_identity(arn)
    refs = [st.config.ref(n) for n in names]
    # Several failures come as exc.failures; a single one is the key's own error.
    denied = [r for r in refs if r.name in exc.failures
              or (not exc.failures and exc.key == r.label)] or refs
    if any(r.secret_id != f"{st.config.prefix}{r.provider.name}" for r in denied):
        return exc.reworded(f"{exc} These credentials are {role}.")
    prefix = "" if st.config.prefix == "nbsecrets/" else f" --prefix {st.config.prefix}"
    flags = prefix + "".join(f" --provider {r.label}" for r in denied) + " --no-list"
    return exc.reworded(
        f"The role in use, {role}, may not read {', '.join(r.secret_id for r in denied)}; an "
        f"admin grants it with `nbsecrets provision --role {role}{flags}` (`nbsecrets "
        f"policy{flags}` prints that policy).")


def load_environment() -> dict[str, tuple[str, ...]]:
    """Load the keys that ``NBSECRETS_KEYS`` names into their variables (a job's entry point).

    Call it first thing in the entry point of a job launched with
    ``environment=nbsecrets.job_environment(...)``. It reads the keys with the job's role in one
    request (BatchGetSecretValue, up to 20 keys) and sets each provider's variables.

    Returns
    -------
    dict[str, tuple[str, ...]]
        What :func:`nbsecrets.load` returns: each provider and the variables it set.

    Raises
    ------
    NbSecretsError
        ConfigError if NBSECRETS_KEYS is missing; AccessDeniedError naming the role and the
        ``nbsecrets provision`` command that grants it; any other fetch error. All or nothing.
    """
    return _load(keys_named())


def split_command(rest: Sequence[str]) -> tuple[list[str], list[str]]:
    """``[NAME ...] -- COMMAND ...`` split into the names and the command.

    Raises
    ------
    ConfigError
        If there is no ``--`` or no command after it.
    """
    if "--" not in rest:
        raise ConfigError("Put -- before the command: nbsecrets run [NAME ...] -- COMMAND "
                          "(e.g. nbsecrets run openai -- python app.py).")
    cut = list(rest).index("--")
    names, command = list(rest[:cut]), list(rest[cut + 1:])
    if not command:
        raise ConfigError("Name the command to run after --, e.g. "
                          "nbsecrets run openai -- python app.py.")
    return names, command


def run(names: Sequence[str], command: Sequence[str]) -> int:
    """Run ``command`` with the keys in its environment only; the caller's shell has none.

    Without ``names``, the keys that ``NBSECRETS_KEYS`` names are loaded. On POSIX the
    process becomes ``command`` (exec), so its exit status and signals are the command's own.

    Returns
    -------
    int
        The command's exit status (where exec is not available).

    Raises
    ------
    NbSecretsError
        If a key cannot be loaded (then the command does not run), or the command is not found.
    """
    import shutil  # here, not at the top: `import nbsecrets` imports this module

    path = shutil.which(command[0])
    if path is None:
        raise ConfigError(f"{command[0]}: command not found; check its name or PATH.")
    loaded = _load(list(names) or keys_named())
    for label, env_vars in loaded.items():
        print(f"nbsecrets: {label}: {', '.join(env_vars)} set for {command[0]}", file=sys.stderr)
    sys.stderr.flush()
    sys.stdout.flush()
    if os.name != "posix":  # pragma: no cover - Windows has no exec that keeps the console
        import subprocess

        return subprocess.call([path, *command[1:]])
    try:
        os.execv(path, [command[0], *command[1:]])  # noqa: S606 - the user's own command
    except OSError as exc:
        raise NbSecretsError(f"Cannot run {command[0]} ({exc.strerror}); check that it is an "
                             "executable program.") from None
    return 127  # pragma: no cover - execv does not return
