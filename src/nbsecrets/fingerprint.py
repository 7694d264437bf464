"""The ``nbsecrets:fingerprint`` tag: a salted SHA-256 of a stored key, to recognise it later.

Every path that stores a key (``nbsecrets set``, ``%aikey --set``, the picker, rotation's new
version) writes this tag on the secret, so ``nbsecrets scan`` can tell that a string it found
in a notebook *is* a live managed key, using only ListSecrets/DescribeSecret: no secret value
is read. The digest confirms a candidate the scanner already holds; it cannot be reversed for a
random key of 32 characters or more.

Tag value: up to two entries, newest first, separated by one space (at most 256 characters,
the Secrets Manager limit)::

    v1:<version id>:<length>:<salt>:<digest>

``salt`` is 16 random bytes and ``digest`` is ``SHA-256(salt + value)`` (the value as UTF-8),
both unpadded URL-safe base64; ``length`` is the value's length in characters (it lets the
scanner check tokens of that length for keys with no known prefix; provider key lengths are
public). Every character is one Secrets Manager allows in a tag value.

This is core code: it imports nothing of nbsecrets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

__all__ = ["MAX_ENTRIES", "TAG", "Entry", "entry", "parse", "tag_value"]

TAG = "nbsecrets:fingerprint"
MAX_ENTRIES = 2  # the new version and the one before it
_SCHEME = "v1"
_MAX_TAG = 256
_SALT_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Entry:
    """One fingerprint: the version it was written for, the value's length, salt and digest."""

    version_id: str
    length: int
    salt: bytes
    digest: bytes

    def matches(self, candidate: str) -> bool:
        """Whether ``candidate`` is the value this entry was made from."""
        if len(candidate) != self.length:
            return False
        got = hashlib.sha256(self.salt + candidate.encode("utf-8", "surrogatepass")).digest()
        return hmac.compare_digest(got, self.digest)

    def text(self) -> str:
        """The entry as it is written in the tag."""
        return f"{_SCHEME}:{self.version_id}:{self.length}:{_b64(self.salt)}:{_b64(self.digest)}"


def entry(value: str, version_id: str, *, salt: bytes | None = None) -> Entry:
    """The fingerprint of ``value``, stored as version ``version_id``.

    Parameters
    ----------
    value : str
        The whole stored value.
    version_id : str
        The Secrets Manager version id (the ClientRequestToken the write used).
    salt : bytes, optional
        16 random bytes by default.
    """
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    digest = hashlib.sha256(salt + value.encode("utf-8", "surrogatepass")).digest()
    return Entry(version_id, len(value), salt, digest)


def parse(tag: str | None) -> list[Entry]:
    """The entries of a tag value, newest first; malformed parts are skipped."""
    out: list[Entry] = []
    for part in (tag or "").split():
        pieces = part.split(":")
        if len(pieces) != 5 or pieces[0] != _SCHEME or not pieces[2].isdigit():
            continue
        try:
            salt, digest = _unb64(pieces[3]), _unb64(pieces[4])
        except (ValueError, TypeError):
            continue
        if len(digest) == 32 and salt:
            out.append(Entry(pieces[1], int(pieces[2]), salt, digest))
    return out


def tag_value(new: Entry, old: str | None = None) -> str:
    """The tag value after storing ``new``: it first, then the newest entry of ``old`` that
    is for another version, within :data:`MAX_ENTRIES` and 256 characters."""
    parts = [new.text()]
    for e in parse(old):
        if len(parts) >= MAX_ENTRIES:
            break
        if e.version_id != new.version_id and len(" ".join([*parts, e.text()])) <= _MAX_TAG:
            parts.append(e.text())
    return " ".join(parts)
