"""Records under the admin namespace ``nbsecrets-admin/``: rotation's settings and ledger.

A record is a Secrets Manager secret with a JSON string. Reading one that does not exist gives
None; writing one creates it the first time. Names outside ``nbsecrets-admin/`` are refused,
so this can never write a notebook's secret. Every call goes to the primary region through the
transport, so errors arrive as nbsecrets' one-line errors.
"""

from __future__ import annotations

from typing import Any

from nbsecrets.errors import ConfigError, KeyNotFoundError

__all__ = ["NAMESPACE", "AdminRecords"]

NAMESPACE = "nbsecrets-admin/"


def _check(name: str) -> None:
    if not name.startswith(NAMESPACE) or any(c in name for c in "*?"):
        raise ConfigError(
            f"{name[:80]} is not a record under {NAMESPACE}; rotation keeps its records only there."
        )


class AdminRecords:
    """Read and write JSON records under ``nbsecrets-admin/``.

    Parameters
    ----------
    transport
        Anything with nbsecrets' ``call(op, target=, action=, write=, **kwargs)``.
    """

    def __init__(self, transport: Any):
        self.transport = transport

    def _call(self, op: str, name: str, action: str, **kwargs: Any) -> Any:
        resp, _ = self.transport.call(
            op, target=name, action=f"secretsmanager:{action}", write=True, **kwargs
        )
        return resp

    def read(self, name: str) -> str | None:
        """The record's text, or None when there is no such record.

        Raises
        ------
        AccessDeniedError
            If the caller may not read it (rotation then stops: it cannot know its settings).
        """
        _check(name)
        try:
            resp = self._call("get_secret_value", name, "GetSecretValue", SecretId=name)
        except KeyNotFoundError:
            return None
        return resp.get("SecretString")

    def write(self, name: str, text: str, *, description: str) -> None:
        """Store ``text`` as the record's new current version (creating the record if needed).

        Raises
        ------
        AccessDeniedError
            If the caller may not write it: a notebook role never may.
        """
        _check(name)
        try:
            self._call("put_secret_value", name, "PutSecretValue", SecretId=name, SecretString=text)
        except KeyNotFoundError:
            self._call(
                "create_secret",
                name,
                "CreateSecret",
                Name=name,
                SecretString=text,
                Description=description,
            )
