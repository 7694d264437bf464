"""The values loaded in this process, and redaction of them from any text, bytes or object.

Every value loaded by nbsecrets is registered here (:func:`register`) before it reaches the
environment, so redaction is in force from the first moment the value exists in the process,
and it stays in force until the process ends (``--unload`` does not forget a value);
short-lived tokens registered with an expiry stay until shortly after they expire. What is
matched, and how it stays fast, is in :mod:`nbsecrets.redaction.matcher`.

This is core code: the API registers values, and the kernel hooks (``nbsecrets.notebook``)
subscribe with :func:`on_register` to scrub what a kernel kept before a value was known.

``NBSECRETS_REDACT=0`` (or ``redact = false`` in the config file) turns the kernel hooks off;
:func:`redact` and :func:`redact_text` always apply, for callers that want them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from nbsecrets.redaction.markup import marked_bytes
from nbsecrets.redaction.matcher import Redactor, walk

__all__ = [
    "active",
    "enabled",
    "on_register",
    "redact",
    "redact_after",
    "redact_bytes",
    "redact_text",
    "refresh_setting",
    "register",
    "registered",
]

T = TypeVar("T")
S = TypeVar("S", str, bytes)
_lock = threading.Lock()
_values: dict[str, str] = {}  # value -> provider label
# Short-lived tokens (federated providers' JWTs and access tokens): value -> when it expires.
# An expired token is no credential; it is dropped RETIRE_AFTER_S later, at the next
# registration, so a kernel that refreshes tokens all day keeps a bounded set (every value
# makes each registration and scan dearer). Values without an expiry stay until the end.
_expiry: dict[str, float] = {}
RETIRE_AFTER_S = 120.0
RETIRE_BATCH = 8  # expired tokens dropped together, in one rebuild of the matcher
_matcher: Redactor | None = None
_enabled = True
_listeners: list[Callable[[bool], None]] = []


def on_register(listener: Callable[[bool], None]) -> None:
    """Call ``listener(new)`` after each registration (``new``: the value was not known)."""
    if listener not in _listeners:
        _listeners.append(listener)


def _read_enabled() -> bool:
    from nbsecrets.config import safety_switch

    return safety_switch("redact")


def refresh_setting() -> bool:
    """Re-read ``NBSECRETS_REDACT`` (and the config file); return whether redaction is on."""
    global _enabled
    _enabled = _read_enabled()
    return _enabled


def enabled() -> bool:
    """Whether the kernel hooks redact (``NBSECRETS_REDACT``, read when a key is registered)."""
    return _enabled


def active() -> bool:
    """Whether the kernel hooks have anything to do: redaction is on and a value is known."""
    return _enabled and _matcher is not None


def register(label: str, value: str, *, expires_at: float | None = None) -> None:
    """Remember ``value`` (loaded for ``label``) for redaction until the kernel ends.

    ``expires_at`` (epoch seconds) marks a short-lived token: it is forgotten
    :data:`RETIRE_AFTER_S` after it expired. Also re-reads the ``NBSECRETS_REDACT`` setting
    and tells the listeners (inside IPython, the
    kernel hooks: they install themselves and scrub what the shell kept before this value).
    """
    global _matcher
    if value in _values:  # a cached get registers again: keep that path cheap
        return
    with _lock:
        new = value not in _values
        _values.setdefault(value, label)
        if expires_at is not None and new:
            _expiry[value] = expires_at
        if new:
            now = time.time()
            expired = [v for v, exp in _expiry.items() if exp + RETIRE_AFTER_S < now and v != value]
            if _matcher is None or len(expired) >= RETIRE_BATCH:
                for old in expired:  # retired in batches: each batch is one full rebuild
                    _values.pop(old, None)
                    del _expiry[old]
                _matcher = Redactor.of(_values)
            else:
                _matcher = _matcher.plus({value: label})
    refresh_setting()
    for listener in list(_listeners):
        listener(new)


def registered() -> dict[str, str]:
    """A copy of the registered values, each with its provider label."""
    with _lock:
        return dict(_values)


def redact_text(text: str) -> str:
    """``text`` with every registered value (forms and runs) replaced by its marker.

    Returns the same object when there is nothing to replace.
    """
    m = _matcher
    return text if m is None else m.text(text)


def redact_bytes(data: bytes) -> bytes:
    """``data`` with every registered value replaced; the same object when nothing matched."""
    m = _matcher
    return data if m is None else m.binary(data)


def redact_after(before: S, text: S) -> S:
    """``text`` redacted as it reads right after ``before``, which was shown already.

    For output that arrives in pieces (consecutive stream messages, reads from a pipe), which
    a reader sees joined: a run of a value that starts in ``before`` and goes on in ``text``
    is replaced from the start of ``text``. The same object when nothing matched.

    Parameters
    ----------
    before : str or bytes
        The raw (unredacted) end of what was shown just before, e.g. its last 512 characters.
    text : str or bytes
        What is shown now; the same type as ``before``.

    Returns
    -------
    str or bytes
        ``text`` with every run of a registered value replaced, including a run that began in
        ``before``.
    """
    m = _matcher
    if m is None:
        return text
    if isinstance(text, bytes):
        new = m.continued(bytes(before), text) if before else None
        out = m.binary(text) if new is None else new
        if marked_bytes(out) or marked_bytes(before):  # a pipe's bytes, read as text
            esc = "surrogateescape"
            was = out.decode("utf-8", esc)
            seen = m.visible_after(bytes(before).decode("utf-8", esc), was)
            if seen is not was:
                out = seen.encode("utf-8", esc)
        return out
    enc = "surrogatepass"
    if not before:
        return m.text(text)
    new = m.continued(before.encode("utf-8", enc), text.encode("utf-8", enc), text=True)
    raw = m.raw_text(text) if new is None else new.decode("utf-8", enc)
    return m.visible_after(before, raw)


def redact(obj: T) -> T:
    """``obj`` with registered values replaced in every string it holds.

    Walks dicts (keys and values), lists and tuples; strings and bytes are redacted; anything
    else is returned as is. Containers are copied only where something changed, so the
    caller's objects are never modified and JSON-like data stays JSON-like.
    """
    m = _matcher
    return obj if m is None else walk(obj, m, 0)
