"""The public API behind ``import nbsecrets``: get, load, unload and list keys.

The magic, the widget and the CLI are thin layers over these functions.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TextIO

from nbsecrets import config, redaction
from nbsecrets.aws.records import LoadedKey, SecretInfo, SecretVersion
from nbsecrets.aws.store import Store
from nbsecrets.errors import (
    ConfigError,
    KeyNotFoundError,
    NbSecretsError,
    SecretFormatError,
    combine,
)
from nbsecrets.providers import check_env_var
from nbsecrets.refs import KeyRef, extract_value

__all__ = [
    "KeyStatus",
    "get",
    "list_keys",
    "load",
    "load_keys",
    "load_names",
    "next_step",
    "print_notices",
    "reset",
    "store",
    "store_key",
    "unload",
]


@dataclass(frozen=True)
class KeyStatus:
    """A secret under the prefix, the variables it would set, and whether it is loaded."""

    info: SecretInfo
    env_vars: tuple[str, ...]
    loaded: bool
    mode: str = "key"  # or "federated" (loaded as such, or tagged by `nbsecrets federate`)


class _State:
    """This process's API state: the shared store, what was loaded, and pending notices."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.store: Store | None = None  # built from config.current(); rebuilt when it changes
        # provider label -> (variables set, secret version) of what this kernel loaded
        self.loaded: dict[str, tuple[tuple[str, ...], SecretVersion]] = {}
        self.notices: list[str] = []


_state = _State()


def store() -> Store:
    """The shared store, rebuilt when the configuration or AWS settings change.

    "Change" is :func:`nbsecrets.config.current` returning another Config (a watched variable
    or the config file changed): the store is kept while it is the same object.
    """
    cfg = config.current()
    current = _state.store
    if current is not None and current.config is cfg:
        return current
    with _state.lock:
        cfg = config.current()  # the newest, should another thread have changed it meanwhile
        if _state.store is None or _state.store.config is not cfg:
            _state.store = Store(cfg, on_notice=_state.notices.append)
        return _state.store


def reset() -> None:
    """Forget this process's state, as a fresh import has it: the shared store (its cache and
    clients), the configuration in force, the record of what was loaded, pending notices.

    Nothing else changes: the variables that were set stay set, and every value stays
    registered for redaction until the process ends.
    """
    from nbsecrets.federation import live

    with _state.lock:
        for label in list(_state.loaded):
            live.stop(label)
        _state.store = None
        _state.loaded.clear()
        _state.notices.clear()
        config.reset()


def _refs(names: Sequence[str], st: Store) -> list[KeyRef]:
    if not names:
        raise ConfigError("Name at least one provider, e.g. %aikey openai.")
    refs = [st.config.ref(n) for n in names]
    unique: dict[str, KeyRef] = {}
    for ref in refs:
        prior = unique.get(ref.label)
        if prior is not None and prior != ref:
            raise ConfigError(
                f"{ref.label} is named twice with different secrets; name each provider once."
            )
        unique[ref.label] = ref
    return list(unique.values())


def get(
    name: str, *, stage: str | None = None, version_id: str | None = None, refresh: bool = False
) -> str:
    """Return the key for ``name`` without touching the environment.

    Parameters
    ----------
    name : str
        A provider (``openai``) or a reference (``openai=SECRET_ID#FIELD``).
    stage, version_id : str, optional
        Read another version (e.g. ``stage="AWSPREVIOUS"``) instead of AWSCURRENT.
    refresh : bool
        Bypass the cache.

    Raises
    ------
    NbSecretsError
        KeyNotFoundError, AccessDeniedError, NoCredentialsError, NoRegionError,
        SecretFormatError or StoreUnavailableError, with a message that says what to do.
    """
    cfg = config.current()
    st = _state.store
    if st is None or st.config is not cfg:
        st = store()
    if not refresh and not _state.notices:
        # The warm path: a cached version, no request, nothing to print (the full path
        # below does the same with a list of refs and a LoadedKey around the value).
        ref = st.config.ref(name)
        secret = st.reads.cached(ref.secret_id, stage, version_id)
        if secret is not None:
            try:
                value = extract_value(secret.payload, ref, secret.name)
            except SecretFormatError:
                pass  # the full path words it, with the key's name
            else:
                redaction.register(ref.label, value)
                return value
    try:
        [key] = _fetch(st, _refs([name], st), stage=stage, version_id=version_id, refresh=refresh)
        if key.federation is not None:
            return _federated_value(key, st)
    finally:
        print_notices()
    redaction.register(key.ref.label, key.value)
    return key.value


def _federated_value(key: LoadedKey, st: Store) -> str:
    """What :func:`get` returns for a federated secret: a fresh OpenAI access token."""
    from nbsecrets.federation import live

    fed = key.federation
    assert fed is not None
    if fed.provider != "openai":
        raise ConfigError(
            f"{key.ref.label} is federated: there is no key to return; load it with %aikey "
            f"{key.ref.label} (the SDK then exchanges by itself), or pass "
            f"credentials=nbsecrets.anthropic_credentials() to the client."
        )
    pending = live.prepare(key.ref.label, fed, st.transport, on_notice=_state.notices.append)
    return pending.set_env[pending.live.env_vars[0]]


def load_keys(
    names: Sequence[str],
    *,
    stage: str | None = None,
    version_id: str | None = None,
    refresh: bool = False,
    env: str | None = None,
) -> list[tuple[LoadedKey, tuple[str, ...]]]:
    """Load keys into the environment, all or nothing; return each key and its variables.

    Raises
    ------
    NbSecretsError
        If any key fails; then no variable has been changed.
    """
    st = store()
    refs = _refs(names, st)
    targets: list[tuple[KeyRef, tuple[str, ...]]]
    if env is not None:
        if len(refs) != 1:
            raise ConfigError("--env names one variable, so give exactly one provider with it.")
        targets = [(refs[0], (check_env_var(env),))]
    else:
        targets = [(ref, ref.provider.env_vars) for ref in refs]
    owners: dict[str, str] = {}
    for ref, env_vars in targets:
        for var in env_vars:
            if owners.setdefault(var, ref.label) != ref.label:
                raise ConfigError(
                    f"{owners[var]} and {ref.label} would both set {var}; load them separately "
                    "or use --env."
                )
    keys = _fetch(
        st, [ref for ref, _ in targets], stage=stage, version_id=version_id, refresh=refresh
    )
    unfit: dict[str, NbSecretsError] = {
        key.ref.label: _unfit_for_env(key)
        for key in keys
        if key.federation is None and not _env_safe(key.value)
    }
    if unfit:
        raise combine(unfit)
    federated = _federate(keys, st, env)
    result: list[tuple[LoadedKey, tuple[str, ...]]] = []
    for key, (_, env_vars) in zip(keys, targets, strict=True):
        pending = federated.get(key.ref.label)
        if pending is not None:
            result.append(
                (replace(key, valid_until=pending.live.valid_until), pending.live.env_vars)
            )
            continue
        redaction.register(key.ref.label, key.value)  # before the value is anywhere visible
        result.append((key, env_vars))
    with _state.lock:
        if federated:
            from nbsecrets.federation import live

            for label, held in live.commit(list(federated.values())):
                redaction.register(label, held)  # what the variables held stays redacted
        for key, env_vars in result:
            prior = _state.loaded.get(key.ref.label)
            for var in prior[0] if prior else ():
                if var not in env_vars:  # e.g. a federated load's variables, now a key's
                    os.environ.pop(var, None)
            if key.federation is not None:
                _state.loaded[key.ref.label] = (env_vars, key.secret)
                continue
            live_stop(key.ref.label)
            for var in env_vars:
                old = os.environ.get(var)
                if old and old != key.value:
                    # what the variable held is likely a key too: it stays redacted
                    redaction.register(key.ref.label, old)
                os.environ[var] = key.value
            _state.loaded[key.ref.label] = (env_vars, key.secret)
    return result


def live_stop(label: str) -> None:
    """Stop ``label``'s federation refresher, if a federated load left one running."""
    import sys as _sys

    live = _sys.modules.get("nbsecrets.federation.live")
    if live is not None:
        live.stop(label)


def _federate(keys: Sequence[LoadedKey], st: Store, env: str | None) -> dict[str, Any]:
    """Get the tokens of the federated ``keys``, all or nothing; change nothing yet.

    Raises
    ------
    NbSecretsError
        Each failing provider and the step; then no file is left and nothing has changed.
    """
    feds = [k for k in keys if k.federation is not None]
    if not feds:
        return {}
    from nbsecrets.federation import live

    done: dict[str, Any] = {}
    failed: dict[str, NbSecretsError] = {}
    for key in feds:
        assert key.federation is not None
        try:
            done[key.ref.label] = live.prepare(
                key.ref.label,
                key.federation,
                st.transport,
                env=env,
                on_notice=_state.notices.append,
            )
        except NbSecretsError as exc:
            failed[key.ref.name] = exc
    if failed:
        for pending in done.values():
            pending.discard()
        raise combine(failed)
    return done


def _env_safe(value: str) -> bool:
    """Whether ``value`` can be an environment variable's value (no NUL, encodable)."""
    if "\x00" in value:
        return False
    try:
        os.fsencode(value)
    except UnicodeError:
        return False
    return True


def _unfit_for_env(key: LoadedKey) -> SecretFormatError:
    return SecretFormatError(
        f"{key.ref.label}: secret {key.secret.name} holds characters an environment variable "
        "cannot (a NUL byte or invalid Unicode); store the key as plain text."
    )


def load(
    *names: str, refresh: bool = False, stage: str | None = None, version_id: str | None = None
) -> dict[str, tuple[str, ...]]:
    """Load keys into their environment variables, all or nothing.

    Returns
    -------
    dict[str, tuple[str, ...]]
        Each provider and the variables that were set.

    Raises
    ------
    NbSecretsError
        If any key fails; then no variable has been changed.
    """
    return load_names(names, stage=stage, version_id=version_id, refresh=refresh)


def load_names(
    names: Sequence[str],
    *,
    notice_prefix: str = "",
    stage: str | None = None,
    version_id: str | None = None,
    refresh: bool = False,
) -> dict[str, tuple[str, ...]]:
    """:func:`load` for a list of names, its notices on stderr after ``notice_prefix``."""
    try:
        loaded = load_keys(names, stage=stage, version_id=version_id, refresh=refresh)
    finally:
        print_notices(prefix=notice_prefix)
    return {key.ref.label: env_vars for key, env_vars in loaded}


def _fetch(
    st: Store, refs: Sequence[KeyRef], *, stage: str | None, version_id: str | None, refresh: bool
) -> list[LoadedKey]:
    try:
        return st.fetch(refs, stage=stage, version_id=version_id, refresh=refresh)
    except NbSecretsError as exc:
        raise next_step(exc) from None


def next_step(err: NbSecretsError) -> NbSecretsError:
    """``err`` with what to do next, for someone at a notebook or a terminal.

    A missing key is stored with ``%aikey --set`` in a notebook or ``nbsecrets set`` in a
    terminal; an empty one is stored again. Decided on the error's fields (``key``,
    ``version``, ``reason``), once: an error already advised is returned as it is.
    """
    if err.advised:
        return err
    if err.failures:
        worded = {name: next_step(e) for name, e in err.failures.items()}
        if all(worded[name] is e for name, e in err.failures.items()):
            return err
        merged = combine(worded)
        return merged if merged.advised else merged.reworded(str(merged), advised=True)
    key = err.key
    if isinstance(err, KeyNotFoundError) and key and err.version is None:
        return err.reworded(
            f"{err} Store it with `%aikey --set {key}` (or `nbsecrets set {key}`).", advised=True
        )
    if isinstance(err, SecretFormatError) and err.reason == "empty" and key:
        return err.reworded(
            f"{key}: secret {err.secret_id} is empty; store the key with %aikey --set {key}.",
            advised=True,
        )
    return err


def unload(name: str) -> tuple[str, ...]:
    """Remove the variables ``name`` set and drop its secret from the cache.

    Its value stays redacted until the kernel ends.
    """
    st = store()
    ref = _refs([name], st)[0]
    with _state.lock:
        live_stop(ref.label)
        env_vars, _secret = _state.loaded.pop(ref.label, (ref.provider.env_vars, None))
        for var in env_vars:
            os.environ.pop(var, None)
    st.forget(ref.secret_id)
    if _secret is not None:
        st.forget(_secret.name)
    return env_vars


def loaded() -> dict[str, tuple[tuple[str, ...], SecretVersion]]:
    """What this kernel loaded and still has in its environment."""
    with _state.lock:
        return {
            label: rec
            for label, rec in _state.loaded.items()
            if all(var in os.environ for var in rec[0])
        }


def list_keys() -> list[KeyStatus]:
    """The secrets under the prefix the role can list, and whether each is loaded."""
    st = store()
    now_loaded = loaded()
    out = []
    for info in st.list_keys():
        try:
            provider = st.config.providers.get(info.provider)
        except NbSecretsError:
            continue
        rec = now_loaded.get(provider.name)
        here = rec is not None and rec[1].name == info.name
        federated = (
            _is_live(provider.name) if here else info.tags.get("nbsecrets:mode") == "federated"
        )
        out.append(
            KeyStatus(
                info,
                rec[0] if rec else provider.env_vars,
                here,
                "federated" if federated else "key",
            )
        )
    return out


def _is_live(label: str) -> bool:
    import sys as _sys

    live = _sys.modules.get("nbsecrets.federation.live")
    return live is not None and live.live(label) is not None


def store_key(name: str, value: str) -> SecretVersion:
    """Store ``value`` as the new current version of the provider's secret, then forget the cache.

    Raises
    ------
    SecretFormatError
        If the value is empty or has surrounding whitespace.
    """
    st = store()
    provider = st.config.providers.get(name)
    if value and not _env_safe(value):
        raise SecretFormatError(
            f"{provider.name}: the value holds a NUL byte or invalid "
            "Unicode, which no environment variable can; nothing was stored."
        )
    version = st.put(provider.name, value)
    redaction.register(provider.name, value)
    return version


def print_notices(*, prefix: str = "", file: TextIO | None = None) -> None:
    """Print the notices since the last call (e.g. a failover), one line each.

    Python API calls and jobs print them on stderr (jobs after ``nbsecrets: ``), the magic
    on stdout, as its other lines.
    """
    out = sys.stderr if file is None else file
    for notice in take_notices():
        print(f"{prefix}{notice}", file=out)


def take_notices() -> list[str]:
    """One-line notices (e.g. a failover) since the last call."""
    with _state.lock:
        out, _state.notices[:] = list(_state.notices), []
        return out
