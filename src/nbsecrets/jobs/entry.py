"""The container side of a job: :func:`load_environment` and ``nbsecrets run``.

In the job's container, :func:`load_environment` (first line of the entry point) or
``nbsecrets run -- COMMAND`` fetches what the entries of :func:`~nbsecrets.job_environment`
name (:mod:`nbsecrets.jobs.environment`) with the job's own role, in one request, and sets
the provider variables. A denied read names the role in use and the policy to give it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from nbsecrets import api
from nbsecrets.aws.sagemaker import role_from_identity
from nbsecrets.errors import AccessDeniedError, ConfigError, NbSecretsError
from nbsecrets.jobs.environment import keys_named

__all__ = ["load_environment", "run", "split_command"]


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
    denied = [
        r for r in refs if r.name in exc.failures or (not exc.failures and exc.key == r.label)
    ] or refs
    if any(r.secret_id != f"{st.config.prefix}{r.provider.name}" for r in denied):
        return exc.reworded(f"{exc} These credentials are {role}.")
    prefix = "" if st.config.prefix == "nbsecrets/" else f" --prefix {st.config.prefix}"
    flags = prefix + "".join(f" --provider {r.label}" for r in denied) + " --no-list"
    return exc.reworded(
        f"The role in use, {role}, may not read {', '.join(r.secret_id for r in denied)}; an "
        f"admin grants it with `nbsecrets provision --role {role}{flags}` (`nbsecrets "
        f"policy{flags}` prints that policy)."
    )


def load_environment() -> dict[str, tuple[str, ...]]:
    """Load the keys that ``NBSECRETS_KEYS`` names into their variables (a job's entry point).

    Call it first thing in the entry point of a job launched with
    ``environment=nbsecrets.job_environment(...)``. It reads the keys with the job's role in one
    request (BatchGetSecretValue, up to 20 keys) and sets each provider's variables.

    Returns
    -------
    dict[str, tuple[str, ...]]
        Each provider and the variables that were set.

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
        raise ConfigError(
            "Put -- before the command: nbsecrets run [NAME ...] -- COMMAND "
            "(e.g. nbsecrets run openai -- python app.py)."
        )
    cut = list(rest).index("--")
    names, command = list(rest[:cut]), list(rest[cut + 1 :])
    if not command:
        raise ConfigError(
            "Name the command to run after --, e.g. nbsecrets run openai -- python app.py."
        )
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
        raise NbSecretsError(
            f"Cannot run {command[0]} ({exc.strerror}); check that it is an executable program."
        ) from None
    return 127  # pragma: no cover - execv does not return
