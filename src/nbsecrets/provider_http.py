"""JSON over HTTPS with the standard library, for the providers' key and admin APIs.

Core, so that both rotation/ (minting, testing and revoking keys) and admin/ (``nbsecrets
federate``'s identity providers and rules) use one implementation.

Error messages carry the method, the path and the HTTP status (and the provider's error
``type`` when it gives one), never a request or response body: a create-key response holds
the new key, and a rejection can echo part of the key that was sent.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from nbsecrets._version import __version__
from nbsecrets.errors import NbSecretsError

__all__ = ["TIMEOUT_S", "KeyRejectedError", "ProviderError", "listing", "request"]

TIMEOUT_S = 15.0
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class ProviderError(NbSecretsError):
    """A provider's API could not be used (unreachable, server error, unexpected answer)."""

    status: int | None = None


class KeyRejectedError(ProviderError):
    """The provider answered 401 or 403: the key (or admin key) is not valid there."""


def _error_type(body: bytes) -> str:
    try:
        err = json.loads(body.decode("utf-8", "replace")).get("error")
    except (ValueError, AttributeError):
        return ""
    kind = err.get("type") or err.get("code") if isinstance(err, dict) else None
    return f" ({kind})" if isinstance(kind, str) and kind.isidentifier() else ""


def request(
    method: str, url: str, headers: dict[str, str], body: Any = None, *, what: str
) -> tuple[int, Any]:
    """Send one request and return ``(status, parsed JSON or None)`` for a 2xx answer.

    Parameters
    ----------
    method, url, headers
        The request. ``headers`` carry the credentials; they are never put in a message.
    body : optional
        Sent as JSON.
    what : str
        Names the call in messages, e.g. ``"OpenAI GET /v1/models"``.

    Raises
    ------
    KeyRejectedError
        On 401 or 403.
    ProviderError
        On any other non-2xx status, a network error, or a body that is not JSON.
    """
    parts = urllib.parse.urlsplit(url)
    if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)):
        raise ProviderError(
            f"{what}: the base URL must be https (plain http only to 127.0.0.1 "
            "or localhost); fix the NBSECRETS_*_BASE_URL setting."
        )
    data = None if body is None else json.dumps(body).encode()
    hdrs = {"Accept": "application/json", "User-Agent": f"nbsecrets/{__version__}", **headers}
    if data is not None:
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        detail = _error_type(exc.read() or b"")
        cls = KeyRejectedError if exc.code in (401, 403) else ProviderError
        err = cls(f"{what} answered HTTP {exc.code}{detail}.")
        err.status = exc.code
        raise err from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ProviderError(
            f"{what} could not be reached ({type(reason).__name__}); check the "
            "network or the base URL setting."
        ) from None
    if not raw:
        return status, None
    try:
        return status, json.loads(raw)
    except ValueError:
        raise ProviderError(
            f"{what} did not answer with JSON; check the base URL setting."
        ) from None


def listing(
    url: str,
    headers: dict[str, str],
    query: dict[str, str],
    *,
    cursor: str,
    what: str,
    max_pages: int = 100,
) -> Iterator[dict[str, Any]]:
    """The items of a cursor-paged list (``data``, ``has_more``, ``last_id``), page by page.

    ``cursor`` is the query parameter that takes the last id of the page before (OpenAI
    ``after``, Anthropic ``after_id``); at most ``max_pages`` pages are read.

    Raises
    ------
    KeyRejectedError, ProviderError
        As :func:`request`.
    """
    after: str | None = None
    for _ in range(max_pages):
        page = {**query, **({cursor: after} if after else {})}
        _, body = request("GET", f"{url}?{urllib.parse.urlencode(page)}", headers, what=what)
        data = (body or {}).get("data") or []
        yield from data
        if not (body or {}).get("has_more") or not data:
            return
        after = body.get("last_id") or data[-1].get("id")
