"""Secrets Manager access: batched reads, versions, a TTL cache and region failover.

boto3 is imported the first time a client is needed, never at import time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nbsecrets import awserrors
from nbsecrets._version import __version__
from nbsecrets.config import Config, no_region_error, sagemaker_region
from nbsecrets.errors import (
    AccessDeniedError,
    ConfigError,
    KeyNotFoundError,
    NbSecretsError,
    NoCredentialsError,
    SecretFormatError,
    StoreUnavailableError,
    combine,
)
from nbsecrets.refs import KeyRef, extract_value

__all__ = ["BATCH_LIMIT", "LoadedKey", "SecretInfo", "SecretVersion", "Store", "VersionInfo"]

BATCH_LIMIT = 20  # BatchGetSecretValue takes at most 20 ids
# A dead or hung endpoint costs at most MAX_ATTEMPTS * (timeout + backoff) per region, about
# 20 s, and then the region is skipped for DOWN_FOR_S. Secrets Manager answers in well under
# a second. AWS_MAX_ATTEMPTS and AWS_RETRY_MODE, when set, take precedence.
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0
MAX_ATTEMPTS = 3  # requests per call and region, the first included
DOWN_FOR_S = 60.0
CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"


@dataclass(frozen=True)
class SecretVersion:
    """One fetched version of a secret. The payload never shows in ``repr``."""

    name: str
    arn: str
    version_id: str
    stages: tuple[str, ...]
    created: datetime | None
    region: str
    payload: str = field(repr=False, compare=False)


@dataclass(frozen=True)
class LoadedKey:
    """A key taken out of a secret. The value never shows in ``repr``."""

    ref: KeyRef
    secret: SecretVersion
    value: str = field(repr=False, compare=False)
    cached: bool = False


@dataclass(frozen=True)
class SecretInfo:
    """A secret under the prefix, as ListSecrets describes it (no value)."""

    provider: str
    name: str
    arn: str
    last_changed: datetime | None
    tags: dict[str, str]


@dataclass(frozen=True)
class VersionInfo:
    """One version of a secret as ListSecretVersionIds describes it (no value)."""

    version_id: str
    stages: tuple[str, ...]
    created: datetime | None
    last_accessed: datetime | None = None


class _VersionNotFound(KeyNotFoundError):
    """The secret exists but not the version or stage asked for."""


def _not_secrets_manager(region: str) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"The endpoint for {region} did not answer like AWS Secrets Manager; check "
        "AWS_ENDPOINT_URL and any HTTP proxy settings.")


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


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
        self._session = session
        self._own_session = session is None
        self._down_until: dict[str, float] = {}  # region -> monotonic time to try it again
        self._session_expires: float | None = None
        self._clients: dict[str, Any] = {}
        self._cache: dict[tuple[str, str | None, str | None], tuple[float, SecretVersion]] = {}
        self._batch_denied = False
        self._lock = threading.RLock()
        self._region: str | None = None
        self.on_notice = on_notice or (lambda message: None)

    # -- sessions, clients, regions -------------------------------------------------------

    @property
    def session(self) -> Any:
        """The boto3 session, assuming ``NBSECRETS_ROLE_ARN`` first when it is set."""
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

        sts = base.client("sts", region_name=self._resolve_region(base), config=self._boto_config())
        try:
            creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="nbsecrets")["Credentials"]
        except Exception as exc:
            err = awserrors.translate(exc, action="sts:AssumeRole", target=role_arn,
                                      region=self._resolve_region(base))
            if isinstance(err, AccessDeniedError):
                err = AccessDeniedError(
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
        # botocore reads AWS_DEFAULT_REGION and the profile; the newer AWS_REGION, which the
        # other AWS SDKs put first, it does not read everywhere.
        region = (self.config.region or os.environ.get("AWS_REGION") or session.region_name
                  or sagemaker_region())
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

    def _read_order(self) -> tuple[str, ...]:
        """Regions to read from: those not recently found unreachable first, in config order."""
        now = time.monotonic()
        regions = self.regions
        up = [r for r in regions if self._down_until.get(r, 0.0) <= now]
        return (*up, *(r for r in regions if r not in up))

    @staticmethod
    def _boto_config() -> Any:
        from botocore.config import Config as BotoConfig

        # Adaptive retry mode: standard's fixed number of attempts with jittered backoff on
        # connection errors, 5xx and throttling, plus client-side rate limiting once throttled,
        # so a room full of notebooks backs off together. Persistent throttling costs a few
        # seconds before the one-line error; AWS_RETRY_MODE=standard drops the rate limiter.
        retries: dict[str, Any] = {}
        if not os.environ.get("AWS_RETRY_MODE"):
            retries["mode"] = "adaptive"
        if not os.environ.get("AWS_MAX_ATTEMPTS"):
            retries["total_max_attempts"] = MAX_ATTEMPTS  # the first request included
        return BotoConfig(
            user_agent_extra=f"nbsecrets/{__version__}",
            retries=retries or None,
            connect_timeout=CONNECT_TIMEOUT_S,
            read_timeout=READ_TIMEOUT_S,
        )

    def client(self, region: str | None = None, service: str = "secretsmanager") -> Any:
        """A cached boto3 client for ``service`` in ``region`` (default: the primary)."""
        region = region or self.region
        key = f"{service}:{region}"
        with self._lock:
            session = self.session
            found = self._clients.get(key)
            if found is None:
                found = session.client(service, region_name=region, config=self._boto_config())
                self._clients[key] = found
        return found

    def _call(self, op: str, *, target: str, action: str, write: bool = False,
              **kwargs: Any) -> tuple[Any, str]:
        """Call ``op``, failing over to replica regions when the primary is unreachable.

        Reads go to the primary region, then to each of ``NBSECRETS_FALLBACK_REGIONS`` while
        the ones before cannot be reached (no connection, timeouts, 5xx or throttling after
        botocore's retries); a region found unreachable is tried last for ``DOWN_FOR_S``.
        Writes (``write=True``) go to the primary region only: replicas are read-only.

        Returns the response and the region that answered.
        """
        regions = (self.region,) if write else self._read_order()
        first: tuple[BaseException, str, str | None] | None = None
        for region in regions:
            client = self.client(region)
            try:
                response = getattr(client, op)(**kwargs)
            except Exception as exc:
                if not awserrors.is_unreachable(exc):
                    err = awserrors.translate(exc, action=action, target=target, region=region,
                                              endpoint=client.meta.endpoint_url)
                    if isinstance(err, NoCredentialsError):
                        self._drop_session()
                    raise err from None
                self._down_until[region] = time.monotonic() + DOWN_FOR_S
                if first is None:
                    first = (exc, region, client.meta.endpoint_url)
                continue
            self._down_until.pop(region, None)
            if region != self.region:
                why = "is unreachable" if first is not None else "was unreachable recently"
                self.on_notice(f"Secrets Manager in {self.region} {why}; read from replica "
                               f"region {region}.")
            return response, region
        assert first is not None
        exc, region, endpoint = first
        raise awserrors.translate(exc, action=action, target=target, region=region,
                                  endpoint=endpoint) from None

    def _drop_session(self) -> None:
        """Forget credentials that failed, so the next call resolves them afresh."""
        if self._own_session:
            with self._lock:
                self._session = None
                self._session_expires = None
                self._clients.clear()

    # -- reads ---------------------------------------------------------------------------

    def fetch(self, refs: Sequence[KeyRef], *, stage: str | None = None,
              version_id: str | None = None, refresh: bool = False) -> list[LoadedKey]:
        """Fetch the keys for ``refs`` in as few requests as the API allows.

        Current versions of up to 20 secrets come in one BatchGetSecretValue request; several
        fields of one secret cost one fetch. A stage or version id reads each secret with
        GetSecretValue, since the batch call only returns AWSCURRENT.

        Raises
        ------
        NbSecretsError
            All or nothing: if any key fails, the error names each failing key and why.
        """
        if stage is not None and version_id is not None:
            raise ConfigError("Give either --stage or --version-id, not both.")
        ids = list(dict.fromkeys(ref.secret_id for ref in refs))
        versions, failures = self._versions(ids, stage, version_id, refresh)
        by_key: dict[str, NbSecretsError] = {}
        loaded: list[LoadedKey] = []
        for ref in refs:
            got = versions.get(ref.secret_id)
            if isinstance(got, tuple):
                secret, cached = got
                try:
                    value = extract_value(secret.payload, ref, secret.name)
                except SecretFormatError as exc:
                    by_key[ref.name] = exc
                    continue
                loaded.append(LoadedKey(ref, secret, value, cached))
            else:
                by_key[ref.name] = self._explain(ref, failures[ref.secret_id])
        if by_key:
            raise combine(by_key)
        return loaded

    def _versions(self, ids: list[str], stage: str | None, version_id: str | None,
                  refresh: bool) -> tuple[dict[str, tuple[SecretVersion, bool]],
                                          dict[str, NbSecretsError]]:
        found: dict[str, tuple[SecretVersion, bool]] = {}
        failures: dict[str, NbSecretsError] = {}
        now = time.monotonic()
        missing: list[str] = []
        for sid in ids:
            hit = None if refresh else self._cache.get((sid, stage, version_id))
            if hit is not None and hit[0] > now:
                found[sid] = (hit[1], True)
            else:
                missing.append(sid)
        if not missing:
            return found, failures
        if stage in (None, CURRENT) and version_id is None and not self._batch_denied:
            missing = self._batch(missing, found, failures)
        for sid in missing:
            try:
                kwargs: dict[str, str] = {"SecretId": sid}
                if version_id:
                    kwargs["VersionId"] = version_id
                elif stage:
                    kwargs["VersionStage"] = stage
                resp, region = self._call("get_secret_value", target=sid,
                                          action="secretsmanager:GetSecretValue", **kwargs)
                found[sid] = (self._remember(sid, stage, version_id, resp, region), False)
            except (KeyNotFoundError, AccessDeniedError, SecretFormatError) as exc:
                if isinstance(exc, KeyNotFoundError) and (stage or version_id):
                    exc = self._version_missing(sid, stage, version_id) or exc
                failures[sid] = exc
                continue
            except NbSecretsError as exc:
                if type(exc) is NbSecretsError and (stage or version_id):
                    # InvalidRequest for a version that exists but cannot be read.
                    failures[sid] = _VersionNotFound(
                        f"secret {sid} has no readable version {version_id or stage}; see "
                        f"`nbsecrets versions {sid}`.")
                    continue
                raise
        return found, failures

    def _version_missing(self, sid: str, stage: str | None, version_id: str | None
                         ) -> NbSecretsError | None:
        """When a versioned read finds nothing, tell a missing version from a missing secret."""
        try:
            self._call("describe_secret", target=sid, action="secretsmanager:DescribeSecret",
                       SecretId=sid)
        except NbSecretsError:
            return None
        what = f"version id {version_id}" if version_id else f"staging label {stage}"
        return _VersionNotFound(f"secret {sid} has no {what}; list them with "
                                f"`nbsecrets versions {sid}`.")

    def _batch(self, ids: list[str], found: dict[str, tuple[SecretVersion, bool]],
               failures: dict[str, NbSecretsError]) -> list[str]:
        """Read current versions with BatchGetSecretValue; return the ids still to read."""
        left: list[str] = []
        for chunk in _chunks(ids, BATCH_LIMIT):
            if self._batch_denied:
                left.extend(chunk)
                continue
            try:
                values, errors, region = self._batch_request(list(chunk))
            except AccessDeniedError:
                # Some roles are granted GetSecretValue only: fall back, and remember.
                self._batch_denied = True
                left.extend(chunk)
                continue
            for sid in chunk:
                match = next((v for v in values
                              if sid in (v.get("Name"), v.get("ARN"))
                              or (sid.startswith("arn:") and v.get("ARN", "").startswith(sid))),
                             None)
                if match is not None:
                    try:
                        found[sid] = (self._remember(sid, None, None, match, region), False)
                    except SecretFormatError as exc:
                        failures[sid] = exc
                elif sid in errors:
                    failures[sid] = self._batch_error(sid, errors[sid], region)
                else:
                    left.append(sid)
        return left

    def _batch_request(self, chunk: list[str]) -> tuple[list[dict], dict[str, dict], str]:
        values: list[dict] = []
        errors: dict[str, dict] = {}
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"SecretIdList": chunk}
            if token:
                kwargs["NextToken"] = token
            resp, region = self._call("batch_get_secret_value", target=", ".join(chunk),
                                      action="secretsmanager:BatchGetSecretValue", **kwargs)
            if "SecretValues" not in resp and "Errors" not in resp:
                raise _not_secrets_manager(region)
            values.extend(resp.get("SecretValues", []))
            errors.update({e.get("SecretId", ""): e for e in resp.get("Errors", [])})
            token = resp.get("NextToken")
            if not token:
                return values, errors, region

    @staticmethod
    def _batch_error(sid: str, error: dict, region: str) -> NbSecretsError:
        code = error.get("ErrorCode", "")
        if code in awserrors.NOT_FOUND_CODES:
            return KeyNotFoundError(f"secret {sid} was not found in {region}.")
        if code in awserrors.DENIED_CODES:
            return AccessDeniedError(
                f"the credentials in use are not allowed secretsmanager:GetSecretValue on {sid}.")
        if code == "DecryptionFailure":
            return AccessDeniedError(
                f"secret {sid} cannot be decrypted: the role needs kms:Decrypt on its KMS key "
                "(see `nbsecrets policy --kms-key-arn`).")
        return NbSecretsError(f"secret {sid} could not be read ({code}).")

    def _remember(self, sid: str, stage: str | None, version_id: str | None,
                  resp: dict, region: str) -> SecretVersion:
        payload = resp.get("SecretString")
        name = resp.get("Name", sid)
        if payload is None and "SecretBinary" not in resp:
            raise _not_secrets_manager(region)
        if payload is None:
            raise SecretFormatError(
                f"secret {name} holds binary data (SecretBinary); store the key as a string.")
        version = SecretVersion(
            name=name,
            arn=resp.get("ARN", ""),
            version_id=resp.get("VersionId", ""),
            stages=tuple(resp.get("VersionStages", ())),
            created=resp.get("CreatedDate"),
            region=region,
            payload=payload,
        )
        ttl = self.config.cache_ttl_s
        if ttl > 0:
            self._cache[(sid, stage, version_id)] = (time.monotonic() + ttl, version)
        return version

    def _explain(self, ref: KeyRef, err: NbSecretsError) -> NbSecretsError:
        """Add what to do next to a per-key failure."""
        kind = type(err)
        if isinstance(err, _VersionNotFound):
            return KeyNotFoundError(f"{ref.label}: {err}")
        if isinstance(err, KeyNotFoundError):
            return kind(f"{ref.label}: {err} {self._suggest(ref)}Store it with "
                        f"`%aikey --set {ref.label}` (or `nbsecrets set {ref.label}`).")
        if isinstance(err, AccessDeniedError):
            return kind(f"{ref.label}: {err} {self._statement_hint(ref)}")
        return kind(f"{ref.label}: {err}")

    def _statement_hint(self, ref: KeyRef) -> str:
        if ref.secret_id.startswith("arn:"):
            resource = ref.secret_id if ref.secret_id.count("-") else f"{ref.secret_id}-??????"
        else:
            account = self.account() or "ACCOUNT_ID"
            resource = (f"arn:aws:secretsmanager:{self.region}:{account}:secret:"
                        f"{ref.secret_id}-??????")
        return (
            'The role needs {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", '
            f'"secretsmanager:DescribeSecret"], "Resource": "{resource}"}}; an admin can add it '
            f"with `nbsecrets provision --role ROLE --provider {ref.label}`."
        )

    def account(self) -> str | None:
        """The account id of the credentials in use (STS GetCallerIdentity), or None."""
        try:
            return self.client(service="sts").get_caller_identity()["Account"]
        except Exception:
            return None

    def _suggest(self, ref: KeyRef) -> str:
        """Close names among the secrets under the prefix and the known providers."""
        prefix = self.config.prefix
        try:
            listed = [s.name for s in self.list_keys()]
        except NbSecretsError:
            listed = []
        if ref.secret_id.startswith(prefix):
            # Compare what differs (the provider part), not the shared prefix.
            wanted = ref.secret_id[len(prefix):]
            candidates = [n[len(prefix):] for n in listed]
            if not self.config.providers.is_known(ref.name):
                candidates += self.config.providers.known()
        else:
            wanted, candidates = ref.secret_id, listed
        import difflib

        close = difflib.get_close_matches(wanted, list(dict.fromkeys(candidates)), n=2,
                                          cutoff=0.7)
        close = [c for c in close if c != wanted]
        return f"Did you mean {' or '.join(close)}? " if close else ""

    def list_keys(self) -> list[SecretInfo]:
        """Secrets under the prefix that the role can list (no values)."""
        prefix = self.config.prefix
        out: list[SecretInfo] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Filters": [{"Key": "name", "Values": [prefix]}],
                                      "MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            resp, _ = self._call("list_secrets", target=f"{prefix}*",
                                 action="secretsmanager:ListSecrets", **kwargs)
            for item in resp.get("SecretList", []):
                name = item.get("Name", "")
                if not name.startswith(prefix) or len(name) == len(prefix):
                    continue
                tags = {t["Key"]: t.get("Value", "") for t in item.get("Tags", [])}
                out.append(SecretInfo(
                    provider=tags.get("nbsecrets:provider") or name[len(prefix):],
                    name=name,
                    arn=item.get("ARN", ""),
                    last_changed=item.get("LastChangedDate") or item.get("CreatedDate"),
                    tags=tags,
                ))
            token = resp.get("NextToken")
            if not token:
                return sorted(out, key=lambda s: s.name)

    # -- versions ------------------------------------------------------------------------

    def _stages(self, secret_id: str, *, primary: bool = False) -> dict[str, tuple[str, ...]]:
        """Version id -> staging labels, from DescribeSecret (which the read policy grants).

        ``primary`` reads the primary region only, as a write that follows must.
        """
        resp, _ = self._call("describe_secret", target=secret_id, write=primary,
                             action="secretsmanager:DescribeSecret", SecretId=secret_id)
        return {vid: tuple(st) for vid, st in resp.get("VersionIdsToStages", {}).items()}

    def versions(self, secret_id: str) -> list[VersionInfo]:
        """The versions of ``secret_id`` (ids, staging labels, dates; no values).

        AWSCURRENT comes first, then AWSPREVIOUS, then the rest, newest first. Dates and
        versions with no label come from ListSecretVersionIds; a role that is not granted it
        (the least-privilege policy is not) gets the labelled versions without dates.

        Raises
        ------
        KeyNotFoundError
            If the secret does not exist.
        """
        stages = self._stages(secret_id)
        out: list[VersionInfo] = []
        token: str | None = None
        try:
            while True:
                kwargs: dict[str, Any] = {"SecretId": secret_id, "IncludeDeprecated": True}
                if token:
                    kwargs["NextToken"] = token
                resp, _ = self._call("list_secret_version_ids", target=secret_id,
                                     action="secretsmanager:ListSecretVersionIds", **kwargs)
                for item in resp.get("Versions", []):
                    out.append(VersionInfo(
                        version_id=item.get("VersionId", ""),
                        stages=tuple(item.get("VersionStages", ())),
                        created=item.get("CreatedDate"),
                        last_accessed=item.get("LastAccessedDate"),
                    ))
                token = resp.get("NextToken")
                if not token:
                    break
        except AccessDeniedError:
            out = [VersionInfo(vid, st, None) for vid, st in stages.items()]

        def order(v: VersionInfo) -> tuple[int, float]:
            rank = 0 if CURRENT in v.stages else 1 if PREVIOUS in v.stages else 2
            return rank, -(v.created.timestamp() if v.created else 0.0)

        return sorted(out, key=order)

    def rollback(self, secret_id: str) -> tuple[str, str]:
        """Move AWSCURRENT back to the AWSPREVIOUS version of ``secret_id``.

        The version that was current becomes AWSPREVIOUS, so a second rollback undoes the
        first. Uses DescribeSecret and UpdateSecretVersionStage, in the primary region only
        (replicas are read-only).

        Returns
        -------
        tuple[str, str]
            The version id now current, and the one that was current before (now AWSPREVIOUS).

        Raises
        ------
        KeyNotFoundError
            If the secret does not exist or has no AWSPREVIOUS version.
        """
        stages = self._stages(secret_id, primary=True)
        current = next((v for v, st in stages.items() if CURRENT in st), None)
        previous = next((v for v, st in stages.items() if PREVIOUS in st), None)
        if current is None or previous is None:
            raise KeyNotFoundError(
                f"secret {secret_id} has no {PREVIOUS} version to roll back to; see "
                f"`nbsecrets versions {secret_id}`.")
        self._call("update_secret_version_stage", target=secret_id, write=True,
                   action="secretsmanager:UpdateSecretVersionStage", SecretId=secret_id,
                   VersionStage=CURRENT, MoveToVersionId=previous,
                   RemoveFromVersionId=current)
        # Secrets Manager moves AWSPREVIOUS to the version AWSCURRENT left; make sure of it.
        after = self._stages(secret_id, primary=True)
        if PREVIOUS not in after.get(current, ()):
            holder = next((v for v, st in after.items() if PREVIOUS in st), None)
            extra = {"RemoveFromVersionId": holder} if holder else {}
            self._call("update_secret_version_stage", target=secret_id, write=True,
                       action="secretsmanager:UpdateSecretVersionStage", SecretId=secret_id,
                       VersionStage=PREVIOUS, MoveToVersionId=current, **extra)
        self.forget()  # the id may be a name or an ARN; cached entries may use either
        return previous, current

    # -- writes --------------------------------------------------------------------------

    def put(self, provider: str, value: str) -> SecretVersion:
        """Store ``value`` as the new current version of ``{prefix}{provider}``.

        Creates the secret, tagged ``nbsecrets:provider`` and ``nbsecrets:managed``, when it
        does not exist yet.

        Raises
        ------
        SecretFormatError
            If the value is empty or has surrounding whitespace.
        """
        if not value:
            raise SecretFormatError(f"{provider}: the value is empty; nothing was stored.")
        if value != value.strip():
            raise SecretFormatError(
                f"{provider}: the value has spaces or newlines around it; nothing was stored. "
                "Paste the key alone.")
        sid = f"{self.config.prefix}{provider}"
        try:
            resp, region = self._call("put_secret_value", target=sid,
                                      action="secretsmanager:PutSecretValue", write=True,
                                      SecretId=sid, SecretString=value)
        except KeyNotFoundError:
            resp, region = self._call(
                "create_secret", target=sid, action="secretsmanager:CreateSecret", write=True,
                Name=sid,
                SecretString=value,
                Description=f"{provider} API key, managed by nbsecrets",
                Tags=[{"Key": "nbsecrets:provider", "Value": provider},
                      {"Key": "nbsecrets:managed", "Value": "true"}])
        self.forget(sid)
        return SecretVersion(name=resp.get("Name", sid), arn=resp.get("ARN", ""),
                             version_id=resp.get("VersionId", ""), stages=(CURRENT,),
                             created=None, region=region, payload="")

    def forget(self, secret_id: str | None = None) -> None:
        """Drop ``secret_id`` (every stage and version) from the cache, or everything."""
        with self._lock:
            if secret_id is None:
                self._cache.clear()
            else:
                for key in [k for k in self._cache if k[0] == secret_id]:
                    del self._cache[key]
