"""Who read which key: GetSecretValue events from CloudTrail LookupEvents.

BatchGetSecretValue writes one GetSecretValue event per secret it returns, so one lookup by
event name finds both kinds of read. LookupEvents allows 2 requests per second per account
and region: requests are paced on the client side, and a ThrottlingException is retried with
exponential backoff (botocore's own retries are off for this client, so every request counts).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from nbsecrets.aws import errors as awserrors
from nbsecrets.aws.transport import Transport
from nbsecrets.errors import AccessDeniedError, ConfigError, NbSecretsError, StoreUnavailableError

__all__ = ["MAX_DAYS", "AuditLog", "SecretRead", "secret_name"]

MAX_DAYS = 90  # what LookupEvents keeps
_ARN = re.compile(r"^arn:[\w-]+:secretsmanager:[\w-]+:\d+:secret:(.+)-[A-Za-z0-9]{6}$")
_ARN_HEAD = re.compile(r"^arn:[\w-]+:secretsmanager:[\w-]*:\d*:secret:")


def secret_name(secret_id: str, full_arn: str = "") -> str:
    """A secret's name from its name, its full ARN (the random suffix dropped) or a partial
    ARN (``...:secret:NAME``, as a caller may give it). ``full_arn``, the secret's ARN as
    CloudTrail's ``resources`` records it, wins: it always has the suffix (a partial ARN whose
    name ends in ``-`` and six letters or digits is otherwise read as a full one)."""
    for arn in (full_arn, secret_id):
        if match := _ARN.match(arn):
            return match.group(1)
    return _ARN_HEAD.sub("", secret_id)


@dataclass(frozen=True)
class SecretRead:
    """One read of a secret's value, as CloudTrail recorded it (never the value)."""

    time: datetime
    secret: str
    principal: str
    source_ip: str
    user_agent: str
    version: str
    region: str
    result: str
    event_id: str

    def as_json(self) -> dict[str, str]:
        row = asdict(self)
        row["time"] = self.time.isoformat()
        return row


def _principal(identity: dict[str, Any]) -> str:
    """``role NAME, session S`` for an assumed role (a notebook), else the ARN or the type."""
    arn = str(identity.get("arn", ""))
    kind = identity.get("type", "")
    if kind == "AssumedRole" and "assumed-role/" in arn:
        role, _, session = arn.split("assumed-role/", 1)[1].partition("/")
        return f"role {role}, session {session}" if session else f"role {role}"
    if kind == "AWSService":
        return str(identity.get("invokedBy", "AWS service"))
    return arn or str(kind or "unknown")


def _read(event: dict[str, Any]) -> SecretRead | None:
    try:
        detail = json.loads(event.get("CloudTrailEvent") or "{}")
    except ValueError:
        return None
    params = detail.get("requestParameters") or {}
    secret_id = params.get("secretId") or next(
        (r.get("ResourceName") for r in event.get("Resources") or [] if r.get("ResourceName")), ""
    )
    if not secret_id:
        return None
    full_arn = next(
        (
            str(r.get("ARN"))
            for r in detail.get("resources") or []
            if r.get("type") == "AWS::SecretsManager::Secret" and r.get("ARN")
        ),
        "",
    )
    when = event.get("EventTime")
    if not isinstance(when, datetime):
        when = datetime.fromisoformat(
            str(detail.get("eventTime", "1970-01-01T00:00:00Z")).replace("Z", "+00:00")
        )
    version = params.get("versionId") or params.get("versionStage") or ""
    return SecretRead(
        time=when if when.tzinfo else when.replace(tzinfo=timezone.utc),
        secret=secret_name(str(secret_id), full_arn),
        principal=_principal(detail.get("userIdentity") or {}),
        source_ip=str(detail.get("sourceIPAddress", "")),
        user_agent=str(detail.get("userAgent", "")),
        version=str(version),
        region=str(detail.get("awsRegion", "")),
        result=str(detail.get("errorCode") or "ok"),
        event_id=str(event.get("EventId") or detail.get("eventID", "")),
    )


class AuditLog:
    """Reads of secrets from CloudTrail, paced under LookupEvents' rate limit.

    Parameters
    ----------
    transport : Transport
        Where requests go (CloudTrail is asked in the primary region).
    min_interval_s : float
        Least time between two LookupEvents requests (default 0.5: 2 per second).
    retries : int
        ThrottlingExceptions retried per page before giving up.
    sleep, clock : callable
        ``time.sleep`` and ``time.monotonic`` by default.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        min_interval_s: float = 0.5,
        retries: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.transport = transport
        self.min_interval_s = min_interval_s
        self.retries = retries
        self.sleep = sleep
        self.clock = clock
        self.requests = 0
        self._last: float | None = None

    def _pace(self) -> None:
        if self._last is not None:
            wait = self._last + self.min_interval_s - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last = self.clock()
        self.requests += 1

    def events(
        self, days: float, now: datetime | None = None, region: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every GetSecretValue event of the last ``days`` days in ``region`` (default: the
        primary), newest first, page by page.

        Each request is paced; a throttled page is asked again after a backoff (up to
        ``retries`` times per page), from where the pages stopped.
        """
        now = now or datetime.now(timezone.utc)
        kwargs: dict[str, Any] = {
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "GetSecretValue"}],
            "StartTime": now - timedelta(days=days),
            "EndTime": now,
            "MaxResults": 50,
        }
        token: str | None = None
        attempt = 0
        while True:
            try:
                # botocore's retries are off here: every request is paced and counted
                for page, _ in self.transport.pages(
                    "lookup_events",
                    service="cloudtrail",
                    target="*",
                    action="cloudtrail:LookupEvents",
                    client_options={"attempts": 1},
                    start=token,
                    before=self._pace,
                    region=region,
                    **kwargs,
                ):
                    attempt = 0
                    yield from page.get("Events", [])
                    token = page.get("NextToken")
                return
            except NbSecretsError as exc:
                if exc.code in awserrors.THROTTLE_CODES and attempt < self.retries:
                    self.sleep(min(2.0**attempt, 8.0))
                    attempt += 1
                    continue
                if exc.code in awserrors.THROTTLE_CODES:
                    raise StoreUnavailableError(
                        "CloudTrail kept throttling LookupEvents; wait a minute and run "
                        "`nbsecrets audit` again, or ask for fewer --days.",
                        **exc.fields(),
                    ) from None
                if isinstance(exc, AccessDeniedError):
                    raise exc.reworded(
                        "the credentials in use are not allowed cloudtrail:LookupEvents; run "
                        "`nbsecrets audit` as an admin whose role has the policy that "
                        "`nbsecrets policy --audit` prints (never the notebook role)."
                    ) from None
                raise

    def reads(
        self, names: Sequence[str], *, prefix: str, days: float = 7, now: datetime | None = None
    ) -> list[SecretRead]:
        """Reads of the secrets ``names`` (names or ARNs), or of every secret under ``prefix``.

        Raises
        ------
        ConfigError
            If ``days`` is not between 0 and 90 (what CloudTrail keeps).
        AccessDeniedError
            If the credentials may not call cloudtrail:LookupEvents (see ``nbsecrets policy
            --audit``).
        """
        if not 0 < days <= MAX_DAYS:
            raise ConfigError(
                f"--days {days:g} is out of range; CloudTrail's event history "
                f"keeps 1 to {MAX_DAYS} days."
            )
        wanted = {secret_name(n) for n in names}
        arn_prefix = prefix if prefix.startswith("arn:") else ""
        prefix = prefix.split(":secret:", 1)[-1]  # an ARN prefix (keys in another account)
        out = []
        for region in self.regions(names, arn_prefix or prefix):
            for event in self.events(days, now, region):
                read = _read(event)
                if read is None:
                    continue
                if (read.secret in wanted) if wanted else read.secret.startswith(prefix):
                    out.append(read)
        return sorted(out, key=lambda r: r.time, reverse=True)

    def regions(self, names: Sequence[str], prefix: str) -> list[str]:
        """Where CloudTrail holds reads of ``names`` (or of the secrets under ``prefix``): the
        primary region, the configured fallback regions, and every region DescribeSecret's
        ``ReplicationStatus`` names (skipped, quietly, where DescribeSecret is refused)."""
        regions = list(self.transport.regions)
        targets = list(names)
        if not targets:
            try:
                for page, _ in self.transport.pages(
                    "list_secrets",
                    target=f"{prefix}*",
                    action="secretsmanager:ListSecrets",
                    Filters=[{"Key": "name", "Values": [prefix.split(":secret:", 1)[-1]]}],
                ):
                    targets += [str(s["ARN"]) for s in page.get("SecretList", []) if s.get("ARN")]
            except NbSecretsError:
                pass
        for secret in targets:
            try:
                described, _ = self.transport.call(
                    "describe_secret",
                    target=secret,
                    action="secretsmanager:DescribeSecret",
                    SecretId=secret,
                )
            except NbSecretsError:
                continue
            regions += [str(r["Region"]) for r in described.get("ReplicationStatus") or []]
        return list(dict.fromkeys(regions))
