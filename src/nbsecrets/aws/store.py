"""The store: the one object every caller uses to reach AWS.

A store holds one :class:`~nbsecrets.aws.transport.Transport` (session, clients, calls,
failover, error translation), one :class:`~nbsecrets.aws.cache.Cache`, and the parts that
use both: reads, writes and versions, and rotation staging. The API, the CLI, doctor, deploys,
rotation and the audit log all start from a store; none builds a client of its own.

boto3 is imported the first time a client is needed, never at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nbsecrets.aws.cache import Cache
from nbsecrets.aws.pending import Staging
from nbsecrets.aws.reads import Reader
from nbsecrets.aws.records import LoadedKey, SecretInfo, SecretVersion, VersionInfo
from nbsecrets.aws.transport import Transport
from nbsecrets.aws.writes import Writer
from nbsecrets.config import Config
from nbsecrets.refs import KeyRef

__all__ = ["Store"]


class Store:
    """Reads and writes provider keys in Secrets Manager; hands out clients for the rest.

    Parameters
    ----------
    config : Config, optional
        Settings; read from the environment and config file when omitted.
    session : boto3.Session, optional
        Session to use; by default one is built from the standard credential chain (on
        SageMaker, the execution role), after assuming ``config.role_arn`` if set.
    on_notice : callable, optional
        Receives one-line notices, such as a failover to a replica region.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        session: Any = None,
        on_notice: Callable[[str], None] | None = None,
    ):
        self.config = config or Config.load()
        self.transport = Transport(self.config, session=session, on_notice=on_notice)
        self.cache = Cache()
        self.reads = Reader(self.transport, self.cache)
        self.writes = Writer(self.transport, self.cache)
        self.staging = Staging(self.transport, self.cache)

    # -- the transport ----------------------------------------------------------------------

    @property
    def region(self) -> str:
        """The primary region."""
        return self.transport.region

    @property
    def regions(self) -> tuple[str, ...]:
        """The primary region, then the fallback regions, in the order they are tried."""
        return self.transport.regions

    def client(
        self,
        service: str = "secretsmanager",
        *,
        region: str | None = None,
        attempts: int | None = None,
        connect_timeout_s: float | None = None,
        read_timeout_s: float | None = None,
    ) -> Any:
        """A cached boto3 client for ``service`` in ``region`` (default: the primary).

        See :meth:`Transport.client <nbsecrets.aws.transport.Transport.client>`.
        """
        return self.transport.client(
            service,
            region=region,
            attempts=attempts,
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
        )

    def identity(self) -> dict[str, Any]:
        """STS GetCallerIdentity of the credentials in use (``Account``, ``Arn``)."""
        return self.transport.identity()

    def account(self) -> str | None:
        """The account id of the credentials in use (STS GetCallerIdentity), or None."""
        return self.transport.account()

    # -- reads ------------------------------------------------------------------------------

    def fetch(
        self,
        refs: Sequence[KeyRef],
        *,
        stage: str | None = None,
        version_id: str | None = None,
        refresh: bool = False,
    ) -> list[LoadedKey]:
        """Fetch the keys for ``refs`` in as few requests as the API allows (see Reader)."""
        return self.reads.fetch(refs, stage=stage, version_id=version_id, refresh=refresh)

    def list_keys(self) -> list[SecretInfo]:
        """Secrets under the prefix that the role can list (no values)."""
        return self.reads.list_keys()

    def describe(self, secret_id: str) -> SecretInfo:
        """One secret's tags and version stages (DescribeSecret; no value)."""
        return self.reads.describe(secret_id)

    def forget(self, secret_id: str | None = None) -> None:
        """Drop ``secret_id`` (every stage and version) from the cache, or everything."""
        self.cache.forget(secret_id)

    # -- writes and versions ----------------------------------------------------------------

    def put(self, provider: str, value: str) -> SecretVersion:
        """Store ``value`` as the new current version of ``{prefix}{provider}``."""
        return self.writes.put(provider, value)

    def versions(self, secret_id: str) -> list[VersionInfo]:
        """The versions of ``secret_id`` (ids, staging labels, dates; no values)."""
        return self.writes.versions(secret_id)

    def rollback(self, secret_id: str) -> tuple[str, str]:
        """Move AWSCURRENT back to the AWSPREVIOUS version of ``secret_id``."""
        return self.writes.rollback(secret_id)
