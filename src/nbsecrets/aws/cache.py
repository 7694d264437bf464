"""The one cache of fetched secret versions: a TTL per entry, a lock around every change."""

from __future__ import annotations

import threading
import time

from nbsecrets.aws.records import SecretVersion

__all__ = ["Cache"]

CacheKey = tuple[str, str | None, str | None]  # secret id, stage, version id


class Cache:
    """Fetched versions by (secret id, stage, version id), each until its time is up.

    Reads, writes, rollbacks and rotation staging share one: a write or a label move forgets
    what it changed. Nothing failed is ever kept. Every change holds the lock; a read takes
    one dictionary lookup and no lock (a stale read of a concurrent change is a cache miss
    or a hit of the version just replaced, as without the cache).
    """

    def __init__(self) -> None:
        self._entries: dict[CacheKey, tuple[float, SecretVersion]] = {}
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> SecretVersion | None:
        """The version kept under ``key``, or None when there is none or its time is up."""
        hit = self._entries.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def put(self, key: CacheKey, version: SecretVersion, ttl_s: float) -> None:
        """Keep ``version`` under ``key`` for ``ttl_s`` seconds (not at all when <= 0)."""
        if ttl_s <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + ttl_s, version)

    def forget(self, secret_id: str | None = None) -> None:
        """Drop ``secret_id`` (every stage and version), or everything."""
        with self._lock:
            if secret_id is None:
                self._entries.clear()
            else:
                for key in [k for k in self._entries if k[0] == secret_id]:
                    del self._entries[key]
