"""Configuration: environment variables first, then an optional TOML file.

The file is ``$NBSECRETS_CONFIG`` or ``~/.config/nbsecrets/config.toml``. Its keys are the
variables' names in lower case, with or without the ``nbsecrets_`` part (``prefix`` and
``nbsecrets_prefix`` are the same key), plus a ``[providers]`` table. Unknown keys are errors:
a typo should not silently fall back to a default.

Read one way: :func:`current` is the :class:`Config` in force, parsed once and kept until
what it came from changes (:func:`change_key`: the watched variables and the file's stat).
Everything that follows the live settings (the shared store, the safety switches) asks it;
:meth:`Config.load` is the parser behind it, for a one-off read.
"""

from __future__ import annotations

import copy
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbsecrets.errors import ConfigError, NoRegionError
from nbsecrets.providers import Registry
from nbsecrets.refs import KeyRef, parse_ref

__all__ = [
    "Config",
    "change_key",
    "config_path",
    "current",
    "env_fingerprint",
    "reset",
    "safety_switch",
]

DEFAULT_PREFIX = "nbsecrets/"
DEFAULT_TTL_S = 300.0
_REFS_KEPT = 256  # parsed references a Config keeps (they are a few per notebook)

_KEYS = (
    "prefix",
    "region",
    "fallback_regions",
    "role_arn",
    "cache_ttl",
    "redact",
    "kms_key_id",
    "guard",
)
# What decides which store a call talks to; a change in any of them builds a fresh store.
_WATCHED = (
    *(f"NBSECRETS_{k.upper()}" for k in _KEYS),
    "NBSECRETS_CONFIG",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "HOME",  # the default config file and ~/.aws live under it
)
_WATCHED_BYTES = tuple(k.encode() for k in _WATCHED)
_POSIX = os.name == "posix"


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    explicit = env.get("NBSECRETS_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    return Path.home() / ".config" / "nbsecrets" / "config.toml"


def env_fingerprint() -> tuple[str | bytes | None, ...]:
    """The values of the watched variables (those that select a store), cheap to take.

    Compare fingerprints with each other only. On POSIX this reads the bytes mapping behind
    ``os.environ`` (kept in step by ``os.environ`` itself), which is about 20 times faster
    than 20 ``os.environ.get`` calls, each of which encodes the key and decodes the value.
    """
    data = getattr(os.environ, "_data", None)
    if _POSIX and isinstance(data, dict):
        return tuple(map(data.get, _WATCHED_BYTES))
    get = os.environ.get
    return tuple(get(k) for k in _WATCHED)


def _toml() -> Any:
    """tomllib (tomli on 3.10), imported only when there is a config file to read."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


def _parse_bool(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{key} must be 1 or 0, not {value!r}.")


def _parse_ttl(key: str, value: object) -> float:
    try:
        ttl = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        ttl = -1.0
    if not ttl >= 0:
        raise ConfigError(f"{key} must be a number of seconds, 0 or more, not {value!r}.")
    return ttl


def _parse_regions(value: object) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    return tuple(str(r).strip() for r in items if str(r).strip())


@dataclass(frozen=True)
class Config:
    """Resolved settings. Build with :meth:`Config.load`."""

    prefix: str = DEFAULT_PREFIX
    region: str | None = None
    fallback_regions: tuple[str, ...] = ()
    role_arn: str | None = None
    cache_ttl_s: float = DEFAULT_TTL_S
    redact: bool = True
    guard: bool = True  # refuse SageMaker requests that carry a loaded key (nbsecrets.jobs.guard)
    providers: Registry = field(default_factory=Registry, compare=False)
    source: str = "defaults"
    kms_key_id: str | None = None  # customer managed key for secrets that `set` creates
    # ref() results: they depend on the text, the prefix and the providers only
    _refs: dict[str, KeyRef] = field(default_factory=dict, init=False, repr=False, compare=False)

    def ref(self, text: str) -> KeyRef:
        """Parse ``provider`` or ``provider=SECRET_ID[#FIELD]`` with these providers and prefix."""
        known = self._refs.get(text)
        if known is None:
            known = parse_ref(text, self.providers, self.prefix)
            if len(self._refs) >= _REFS_KEPT:
                self._refs.clear()
            self._refs[text] = known
        return known

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read the environment and the config file.

        Raises
        ------
        ConfigError
            If the file is not valid TOML, has an unknown key, or a value is malformed.
        """
        env = os.environ if environ is None else environ
        path = config_path(env)
        values: dict[str, object] = {}
        provider_table: dict[str, object] = {}
        source = "defaults"
        if path.is_file():
            source = str(path)
            tomllib = _toml()
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{path} is not valid TOML ({exc}); fix or remove it.") from None
            for key, value in data.items():
                short = key.lower().removeprefix("nbsecrets_")
                if short == "providers" and isinstance(value, dict):
                    provider_table = value
                elif short in _KEYS:
                    values[short] = value
                else:
                    allowed = ", ".join((*_KEYS, "[providers]"))
                    raise ConfigError(f"{path}: unknown key {key!r}; the keys are {allowed}.")
        for key in _KEYS:
            env_value = env.get(f"NBSECRETS_{key.upper()}")
            if env_value is not None and env_value != "":
                values[key] = env_value

        prefix = str(values.get("prefix", DEFAULT_PREFIX))
        arn_prefix(prefix)  # an ARN prefix must be well formed
        region = values.get("region")
        role_arn = values.get("role_arn")
        return cls(
            prefix=prefix,
            region=str(region) if region else None,
            fallback_regions=_parse_regions(values.get("fallback_regions", ())),
            role_arn=str(role_arn) if role_arn else None,
            cache_ttl_s=_parse_ttl("NBSECRETS_CACHE_TTL", values.get("cache_ttl", DEFAULT_TTL_S)),
            redact=_parse_bool("NBSECRETS_REDACT", values.get("redact", True)),
            guard=_parse_bool("NBSECRETS_GUARD", values.get("guard", True)),
            providers=Registry(provider_table),
            source=source,
            kms_key_id=str(values["kms_key_id"]) if values.get("kms_key_id") else None,
        )


def arn_prefix(prefix: str) -> tuple[str, str, str] | None:
    """``(region, account, name prefix)`` of an ARN prefix such as
    ``arn:aws:secretsmanager:us-east-1:111122223333:secret:team/`` (keys held in another
    account); None for a plain name prefix such as ``nbsecrets/``.

    Raises
    ------
    ConfigError
        If ``prefix`` starts with ``arn:`` but is not a Secrets Manager secret ARN prefix.
    """
    if not prefix.startswith("arn:"):
        return None
    parts = prefix.split(":", 6)
    if (
        len(parts) != 7
        or parts[2] != "secretsmanager"
        or parts[5] != "secret"
        or not parts[3]
        or not (parts[4].isdigit() and len(parts[4]) == 12)
        or not parts[6].endswith("/")
    ):
        raise ConfigError(
            f"The prefix {prefix!r} is not a secret ARN prefix; write "
            "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME/ (ending in /)."
        )
    return parts[3], parts[4], parts[6]


# --- the configuration in force ----------------------------------------------------------

_Stamp = tuple[int, int, int]  # the config file's (mtime_ns, size, inode)
_Key = tuple[tuple[str | bytes | None, ...], str, _Stamp | None]


class _InForce:
    """This process's configuration: the one module-level holder of config state.

    ``read`` pairs the :func:`change_key` a configuration was read under with the result: a
    :class:`Config`, or the :class:`ConfigError` the file raised. It is replaced whole, never
    changed in place, so a reader without the lock sees one consistent pair.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.read: tuple[_Key, Config | ConfigError] | None = None


_in_force = _InForce()


def _stamp(path: str) -> _Stamp | None:
    """The file's (mtime_ns, size, inode), or None when there is no file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def change_key() -> _Key:
    """What :func:`current` compares: the watched variables, the config path and its stat."""
    return (env_fingerprint(), (path := str(config_path())), _stamp(path))


def current() -> Config:
    """The configuration in force: read once, and again only when :func:`change_key` changes.

    The check costs one look-up per watched variable (:func:`env_fingerprint`) and one system
    call on the config file (``os.access`` while there is none: no exception to build in the
    usual case). The same object is returned while nothing changed, so callers may keep what
    they built from it and compare by identity (``cfg is config.current()``).

    Raises
    ------
    ConfigError
        If the config file is not valid TOML, has an unknown key, or a value is malformed
        (found once per change of the file or the variables, then raised again).
    """
    read = _in_force.read
    if read is not None:
        (env, path, stamp), result = read
        if env == env_fingerprint() and (
            not os.access(path, os.F_OK) if stamp is None else _stamp(path) == stamp
        ):
            if isinstance(result, ConfigError):
                raise copy.copy(result) from None
            return result
    with _in_force.lock:
        key = change_key()  # the path depends on the variables: work it out again
        read = _in_force.read
        if read is None or read[0] != key:
            try:
                loaded: Config | ConfigError = Config.load()
            except ConfigError as exc:
                exc.__context__ = None  # kept: hold no frames, no parser error
                loaded = exc.with_traceback(None)
            read = _in_force.read = (key, loaded)
    result = read[1]
    if isinstance(result, ConfigError):
        raise copy.copy(result) from None
    return result


def reset() -> None:
    """Forget the configuration in force: the next :func:`current` reads it again.

    For a change the check cannot see (a file rewritten with the same size within one tick
    of the file system's clock, on the same inode).
    """
    with _in_force.lock:
        _in_force.read = None


def safety_switch(key: str) -> bool:
    """A protection that is on unless switched off (``redact``, ``guard``).

    Read from the configuration in force (:func:`current`); a config file that cannot be
    read does not switch it off: then only ``NBSECRETS_{KEY}`` in the environment counts.
    """
    try:
        return bool(getattr(current(), key))
    except Exception:
        return os.environ.get(f"NBSECRETS_{key.upper()}", "1").strip().lower() not in (
            "0",
            "false",
            "no",
            "off",
        )


def no_region_error() -> NoRegionError:
    return NoRegionError(
        "No AWS region is set; set NBSECRETS_REGION or AWS_REGION (e.g. %env AWS_REGION=us-east-1) "
        "or add region = ... to the config file."
    )
