"""The one way nbsecrets talks to AWS: session, clients, calls, pages, failover, errors.

This module (with :mod:`nbsecrets.aws.errors`, which translates botocore's exceptions) is the
only place that imports boto3 or botocore's client machinery and builds clients; a test
(tests/test_layout.py) keeps it so. Every request goes through :meth:`Transport.call` or
:meth:`Transport.pages` (the API, reads, writes, rotation staging, the audit log), or through
a client from :meth:`Transport.client` that the admin code is handed. So every request has
the same retries, timeouts and user agent, botocore's DEBUG logs carry no secret material
(:mod:`nbsecrets.aws.logs`), and every failure arrives as one of nbsecrets' errors with its
fields set.

boto3 is imported the first time a session or client is needed, never at import time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from nbsecrets._version import __version__
from nbsecrets.aws import errors as awserrors
from nbsecrets.aws import logs
from nbsecrets.aws.sagemaker import sagemaker_region
from nbsecrets.config import Config, no_region_error
from nbsecrets.errors import AccessDeniedError, NbSecretsError, NoCredentialsError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "DOWN_FOR_S",
    "MAX_ATTEMPTS",
    "READ_TIMEOUT_S",
    "Transport",
    "region_of",
]

# A dead or hung endpoint costs at most MAX_ATTEMPTS * (timeout + backoff) per region, about
# 20 s. Secrets Manager answers in well under a second. AWS_MAX_ATTEMPTS and AWS_RETRY_MODE,
# when set, take precedence.
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0
MAX_ATTEMPTS = 3  # requests per call and region, the first included
DOWN_FOR_S = 60.0  # a region found unreachable is tried last for this long
SECRETS = "secretsmanager"


def region_of(config: Config, session: Any = None) -> str | None:
    """The region nbsecrets uses, resolved without a request, or None.

    ``NBSECRETS_REGION`` (or ``region =`` in the config file), then ``AWS_REGION``, then
    boto3's own resolution (``AWS_DEFAULT_REGION``, the profile) of ``session`` (default: a
    new session from the standard chain), then the SageMaker resource's metadata.
    """
    # botocore reads AWS_DEFAULT_REGION and the profile; the newer AWS_REGION, which the
    # other AWS SDKs put first, it does not read everywhere.
    region = config.region or os.environ.get("AWS_REGION")
    if region:
        return region
    if session is None:
        import boto3

        session = boto3.Session()
    return session.region_name or sagemaker_region()


def _boto_config(attempts: int | None, connect_timeout_s: float, read_timeout_s: float) -> Any:
    from botocore.config import Config as BotoConfig

    retries: dict[str, Any] = {}
    if attempts is not None:
        # A caller that counts its own requests (the audit log's pacing, doctor's one try
        # at the IAM simulation) gets exactly this many, whatever AWS_MAX_ATTEMPTS says.
        retries = {"total_max_attempts": attempts, "mode": "standard"}
    else:
        # Adaptive retry mode: standard's fixed number of attempts with jittered backoff on
        # connection errors, 5xx and throttling, plus client-side rate limiting once
        # throttled, so a room full of notebooks backs off together. Persistent throttling
        # costs a few seconds before the one-line error; AWS_RETRY_MODE=standard drops the
        # rate limiter.
        if not os.environ.get("AWS_RETRY_MODE"):
            retries["mode"] = "adaptive"
        if not os.environ.get("AWS_MAX_ATTEMPTS"):
            retries["total_max_attempts"] = MAX_ATTEMPTS  # the first request included
    return BotoConfig(
        user_agent_extra=f"nbsecrets/{__version__}",
        retries=retries or None,
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
    )


# Endpoint settings that a user or the environment gave: where one is set, STS goes where it
# says. Otherwise nbsecrets names STS's regional endpoint itself, because botocore before 1.40
# sends STS of the older regions to the global https://sts.amazonaws.com, which a VPC's STS
# interface endpoint does not serve.
_ENDPOINT_SETTINGS = (
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
)


def sts_endpoint(region: str) -> str | None:
    """``https://sts.REGION.DNS_SUFFIX``: STS's regional endpoint, whatever the botocore
    version; None where an endpoint setting decides (``AWS_ENDPOINT_URL*``, FIPS,
    dual-stack) or ``AWS_STS_REGIONAL_ENDPOINTS=legacy`` asks for the global one."""
    if any(os.environ.get(name) for name in _ENDPOINT_SETTINGS):
        return None
    if os.environ.get("AWS_STS_REGIONAL_ENDPOINTS", "").lower() == "legacy":
        return None
    suffix = "amazonaws.com"
    try:
        import re

        from botocore.loaders import create_loader

        for partition in create_loader().load_data("partitions")["partitions"]:
            if re.match(partition["regionRegex"], region):
                suffix = partition["outputs"]["dnsSuffix"]
                break
    except Exception:  # an old botocore without partitions data: the commercial suffix
        if region.startswith("cn-"):
            suffix = "amazonaws.com.cn"
    return f"https://sts.{region}.{suffix}"


# Operations botocore has no paginator for: their NextToken loop is ours (Transport.pages).
_UNPAGINATED = frozenset({"batch_get_secret_value", "list_secret_version_ids"})


def _starting_token(token: str) -> str:
    """A page token as a botocore paginator's ``StartingToken`` takes it."""
    from botocore.paginate import TokenEncoder

    return TokenEncoder().encode({"NextToken": token})


class Transport:
    """The boto3 session, its clients, and every call nbsecrets makes to AWS.

    Parameters
    ----------
    config : Config
        Settings (region, fallback regions, role to assume, redaction).
    session : boto3.Session, optional
        Session to use; by default one is built from the standard credential chain (on
        SageMaker, the execution role), after assuming ``config.role_arn`` if set.
    on_notice : callable, optional
        Receives one-line notices, such as a failover to a replica region.
    """

    def __init__(
        self, config: Config, *, session: Any = None, on_notice: Callable[[str], None] | None = None
    ):
        self.config = config
        self.on_notice: Callable[[str], None] = on_notice or (lambda message: None)
        self._session = session
        self._own_session = session is None
        self._session_expires: float | None = None
        self._clients: dict[tuple[str, str, int | None, float, float], Any] = {}
        self._lock = threading.RLock()
        self._region: str | None = None
        self._down_until: dict[str, float] = {}  # region -> monotonic time to try it again

    # -- the session and the regions --------------------------------------------------------

    @property
    def session(self) -> Any:
        """The boto3 session, assuming ``NBSECRETS_ROLE_ARN`` first when it is set."""
        with self._lock:
            now = time.time()
            if self._session is None or (
                self._session_expires is not None and now > self._session_expires - 300
            ):
                import boto3

                base = boto3.Session()
                if self.config.role_arn:
                    base, self._session_expires = self._assume(base, self.config.role_arn)
                self._session = base
                self._clients.clear()
            return self._session

    def _assume(self, base: Any, role_arn: str) -> tuple[Any, float]:
        import boto3

        region = self._resolve_region(base)
        # the one client built outside client(): the session it would use is being made
        sts = base.client(
            "sts",
            region_name=region,
            config=_boto_config(None, CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
            **({"endpoint_url": url} if (url := sts_endpoint(region)) else {}),
        )
        try:
            with logs.quiet(self.config.redact):  # the response holds credentials
                creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="nbsecrets")[
                    "Credentials"
                ]
        except Exception as exc:
            err = awserrors.translate(exc, action="sts:AssumeRole", target=role_arn, region=region)
            if isinstance(err, AccessDeniedError):
                err = err.reworded(
                    f"Cannot assume NBSECRETS_ROLE_ARN {role_arn}: the credentials in use are not "
                    "allowed sts:AssumeRole on it; fix the role's trust policy or unset "
                    "NBSECRETS_ROLE_ARN."
                )
            raise err from None
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=base.region_name,
        )
        return session, creds["Expiration"].timestamp()

    def _resolve_region(self, session: Any) -> str:
        region = region_of(self.config, session)
        if not region:
            raise no_region_error()
        return region

    @property
    def region(self) -> str:
        """The primary region: NBSECRETS_REGION, boto3's own resolution, or SageMaker's."""
        if self._region is None:
            self._region = self._resolve_region(self.session)
        return self._region

    @property
    def regions(self) -> tuple[str, ...]:
        """The primary region, then the fallback regions, in the order they are tried."""
        extra = tuple(dict.fromkeys(r for r in self.config.fallback_regions if r != self.region))
        return (self.region, *extra)

    def drop_session(self) -> None:
        """Forget credentials that failed, so the next call resolves them afresh."""
        if self._own_session:
            with self._lock:
                self._session = None
                self._session_expires = None
                self._clients.clear()

    # -- clients ----------------------------------------------------------------------------

    def client(
        self,
        service: str = SECRETS,
        *,
        region: str | None = None,
        attempts: int | None = None,
        connect_timeout_s: float | None = None,
        read_timeout_s: float | None = None,
    ) -> Any:
        """A cached boto3 client for ``service`` in ``region`` (default: the primary).

        Parameters
        ----------
        attempts : int, optional
            Requests per call, the first included, in botocore's standard retry mode; by
            default botocore's adaptive mode with ``MAX_ATTEMPTS`` (or ``AWS_MAX_ATTEMPTS``).
        connect_timeout_s, read_timeout_s : float, optional
            Seconds to wait for a connection and for an answer (default
            ``CONNECT_TIMEOUT_S``, ``READ_TIMEOUT_S``).
        """
        connect_timeout_s = CONNECT_TIMEOUT_S if connect_timeout_s is None else connect_timeout_s
        read_timeout_s = READ_TIMEOUT_S if read_timeout_s is None else read_timeout_s
        with self._lock, logs.quiet(self.config.redact):
            session = self.session
            region = region or self.region
            key = (service, region, attempts, connect_timeout_s, read_timeout_s)
            found = self._clients.get(key)
            if found is None:
                url = sts_endpoint(region) if service == "sts" else None
                found = session.client(
                    service,
                    region_name=region,
                    config=_boto_config(attempts, connect_timeout_s, read_timeout_s),
                    **({"endpoint_url": url} if url else {}),
                )
                self._clients[key] = found
        return found

    # -- calls ------------------------------------------------------------------------------

    def _read_order(self) -> tuple[str, ...]:
        """Regions to read from: those not recently found unreachable first, in config order."""
        now = time.monotonic()
        regions = self.regions
        up = [r for r in regions if self._down_until.get(r, 0.0) <= now]
        return (*up, *(r for r in regions if r not in up))

    def _error(
        self, exc: BaseException, *, action: str, target: str, region: str, client: Any
    ) -> NbSecretsError:
        # Secrets Manager's messages name the endpoint (AWS_ENDPOINT_URL is a usual culprit)
        secrets = client.meta.service_model.service_name == SECRETS
        err = awserrors.translate(
            exc,
            action=action,
            target=target,
            region=region,
            endpoint=client.meta.endpoint_url if secrets else None,
        )
        if isinstance(err, NoCredentialsError):
            self.drop_session()
        return err

    def _attempt(
        self,
        send: Callable[[Any], Any],
        *,
        target: str,
        action: str,
        service: str,
        write: bool,
        client_options: dict[str, Any],
        region: str | None = None,
    ) -> tuple[Any, str]:
        """``send(client)`` in the first region that answers (only ``region`` when given);
        see :meth:`call`."""
        secrets = service == SECRETS  # the one service with replica regions
        if region:
            regions: tuple[str, ...] = (region,)
        else:
            regions = self._read_order() if secrets and not write else (self.region,)
        first: tuple[BaseException, str, Any] | None = None
        # botocore logs bodies (the key, a bundle's other fields) at DEBUG: withhold them
        quiet = self.config.redact
        for region in regions:
            client = self.client(service, region=region, **client_options)
            try:
                with logs.quiet(quiet):
                    response = send(client)
            except Exception as exc:
                if not secrets or not awserrors.is_unreachable(exc):
                    raise self._error(
                        exc, action=action, target=target, region=region, client=client
                    ) from None
                self._down_until[region] = time.monotonic() + DOWN_FOR_S
                if first is None:
                    first = (exc, region, client)
                continue
            if secrets:
                self._down_until.pop(region, None)
            if region != self.region:
                why = "is unreachable" if first is not None else "was unreachable recently"
                self.on_notice(
                    f"Secrets Manager in {self.region} {why}; read from replica region {region}."
                )
            return response, region
        assert first is not None
        cause, region, client = first
        raise self._error(
            cause, action=action, target=target, region=region, client=client
        ) from None

    def call(
        self,
        op: str,
        *,
        target: str,
        action: str,
        service: str = SECRETS,
        write: bool = False,
        client_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> tuple[Any, str]:
        """Call ``op`` of ``service``; return the response and the region that answered.

        Secrets Manager reads go to the primary region, then to each of
        ``NBSECRETS_FALLBACK_REGIONS`` while the ones before cannot be reached (no
        connection, timeouts, 5xx or throttling after botocore's retries); a region found
        unreachable is tried last for ``DOWN_FOR_S``. Writes (``write=True``) and other
        services go to the primary region only: replicas are read-only.

        Parameters
        ----------
        op : str
            The boto3 method (``get_secret_value``).
        target, action : str
            What is asked for and the IAM action, for the error's message and fields.
        client_options : dict, optional
            Passed to :meth:`client` (``attempts``, timeouts).

        Raises
        ------
        NbSecretsError
            The translated error, with ``secret_id``, ``region``, ``action`` and ``code``.
        """
        return self._attempt(
            lambda client: getattr(client, op)(**kwargs),
            target=target,
            action=action,
            service=service,
            write=write,
            client_options=client_options or {},
        )

    def pages(
        self,
        op: str,
        *,
        target: str,
        action: str,
        service: str = SECRETS,
        write: bool = False,
        client_options: dict[str, Any] | None = None,
        start: str | None = None,
        before: Callable[[], None] | None = None,
        region: str | None = None,
        **kwargs: Any,
    ) -> Iterator[tuple[dict[str, Any], str]]:
        """Every page of ``op`` (and the region that answered), one request per page.

        botocore's paginator where botocore has one for ``op``; otherwise (it has none for
        BatchGetSecretValue and ListSecretVersionIds) the same NextToken loop, here only.
        The first page may fail over as :meth:`call` does; the later pages come from the
        region that answered it (a page token is only good there). A page is requested
        when the iterator is advanced, and the last page ends it with no further request.

        Parameters
        ----------
        start : str, optional
            The ``NextToken`` of the page to start at (to resume after an error).
        before : callable, optional
            Called before each request (the audit log paces its requests with it).
        region : str, optional
            Ask this region only (CloudTrail keeps each region's events in that region).

        Raises
        ------
        NbSecretsError
            The translated error of the page that failed.
        """
        options = client_options or {}
        live: list[Iterator[dict[str, Any]]] = []
        ready = before or (lambda: None)

        def first(client: Any) -> dict[str, Any]:
            live[:] = [self._page_iterator(client, op, start, kwargs)]
            ready()
            return next(live[0])

        page, region = self._attempt(
            first,
            target=target,
            action=action,
            service=service,
            write=write,
            client_options=options,
            region=region,
        )
        client = self.client(service, region=region, **options)
        while True:
            yield page, region
            if not page.get("NextToken"):
                return
            ready()
            try:
                with logs.quiet(self.config.redact):
                    page = next(live[0])
            except StopIteration:
                return
            except Exception as exc:
                raise self._error(
                    exc, action=action, target=target, region=region, client=client
                ) from None

    @staticmethod
    def _page_iterator(
        client: Any, op: str, start: str | None, kwargs: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        # Asking botocore whether it has a paginator loads the service's paginator file
        # (about 10 ms in a fresh process): not for the operations known to have none,
        # among them the batch read of every %aikey.
        if op not in _UNPAGINATED and client.can_paginate(op):
            config = {"StartingToken": _starting_token(start)} if start else {}
            yield from client.get_paginator(op).paginate(**kwargs, PaginationConfig=config)
            return
        token = start
        while True:
            page = getattr(client, op)(**kwargs, **({"NextToken": token} if token else {}))
            yield page
            token = page.get("NextToken")
            if not token:
                return

    def identity(self) -> dict[str, Any]:
        """STS GetCallerIdentity of the credentials in use (``Account``, ``Arn``).

        Raises
        ------
        NbSecretsError
            The translated error (no credentials, expired, unreachable...).
        """
        resp, _ = self.call(
            "get_caller_identity", target="identity", action="sts:GetCallerIdentity", service="sts"
        )
        return dict(resp)

    def account(self) -> str | None:
        """The account id of the credentials in use (STS GetCallerIdentity), or None."""
        try:
            return str(self.identity()["Account"])
        except Exception:
            return None
