"""The store: one object over the session, reads and writes, as the API uses it.

boto3 is imported the first time a client is needed, never at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nbsecrets.aws.reads import Reader
from nbsecrets.aws.records import LoadedKey, SecretInfo, SecretVersion, VersionInfo
from nbsecrets.aws.session import AwsSession
from nbsecrets.aws.writes import Writer
from nbsecrets.config import Config
from nbsecrets.refs import KeyRef

__all__ = ["Store"]


class Store:
    """Reads and writes provider keys in Secrets Manager.

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

    def __init__(self, config: Config | None = None, *, session: Any = None,
                 on_notice: Callable[[str], None] | None = None):
        self.config = config or Config.load()
        self.aws = AwsSession(self.config, session=session)
        self.reads = Reader(self.aws, on_notice)
        self.writes = Writer(self.reads)

    # -- the session ------------------------------------------------------------------------

    @property
    def session(self) -> Any:
        """The boto3 session (after assuming ``NBSECRETS_ROLE_ARN`` when it is set)."""
        return self.aws.session

    @property
    def region(self) -> str:
        """The primary region."""
        return self.aws.region

    @property
    def regions(self) -> tuple[str, ...]:
        """The primary region, then the fallback regions, in the order they are tried."""
        return self.aws.regions

    def client(self, region: str | None = None, service: str = "secretsmanager") -> Any:
        """A cached boto3 client for ``service`` in ``region`` (default: the primary)."""
        return self.aws.client(region, service)

    def account(self) -> str | None:
        """The account id of the credentials in use (STS GetCallerIdentity), or None."""
        return self.aws.account()

    # -- reads ------------------------------------------------------------------------------

    def fetch(self, refs: Sequence[KeyRef], *, stage: str | None = None,
              version_id: str | None = None, refresh: bool = False) -> list[LoadedKey]:
        """Fetch the keys for ``refs`` in as few requests as the API allows (see Reader)."""
        return self.reads.fetch(refs, stage=stage, version_id=version_id, refresh=refresh)

    def list_keys(self) -> list[SecretInfo]:
        """Secrets under the prefix that the role can list (no values)."""
        return self.reads.list_keys()

    def forget(self, secret_id: str | None = None) -> None:
        """Drop ``secret_id`` (every stage and version) from the cache, or everything."""
        self.reads.forget(secret_id)

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
