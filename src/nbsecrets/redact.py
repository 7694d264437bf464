"""Redaction of loaded key values from what the kernel shows or keeps.

Every value loaded by nbsecrets is registered here before it reaches the environment, so
redaction can be in force from the first moment the value exists in the kernel.
"""

from __future__ import annotations

import threading

__all__ = ["register", "registered"]

_lock = threading.Lock()
_values: dict[str, str] = {}  # value -> provider label


def register(label: str, value: str) -> None:
    """Remember ``value`` (loaded for ``label``) for redaction until the kernel ends."""
    with _lock:
        _values.setdefault(value, label)


def registered() -> dict[str, str]:
    """A copy of the registered values, each with its provider label."""
    with _lock:
        return dict(_values)
