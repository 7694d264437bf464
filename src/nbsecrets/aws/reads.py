"""Reads: batched fetches, the TTL cache, listings, and failover to replica regions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from nbsecrets.aws import errors as awserrors
from nbsecrets.aws import logs
from nbsecrets.aws.records import CURRENT, LoadedKey, SecretInfo, SecretVersion
from nbsecrets.aws.session import AwsSession
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

__all__ = ["BATCH_LIMIT", "DOWN_FOR_S", "Reader"]

BATCH_LIMIT = 20  # BatchGetSecretValue takes at most 20 ids
DOWN_FOR_S = 60.0  # a region found unreachable is tried last for this long


class _VersionNotFound(KeyNotFoundError):
    """The secret exists but not the version or stage asked for."""


def _not_secrets_manager(region: str) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"The endpoint for {region} did not answer like AWS Secrets Manager; check "
        "AWS_ENDPOINT_URL and any HTTP proxy settings.")


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]




class Reader:
    """Reads provider keys, with a TTL cache and region failover.

    Parameters
    ----------
    aws : AwsSession
        Where requests go.
    on_notice : callable, optional
        Receives one-line notices, such as a failover to a replica region.
    """

    def __init__(self, aws: AwsSession, on_notice: Callable[[str], None] | None = None):
        self.aws = aws
        self.config = aws.config
        self._down_until: dict[str, float] = {}  # region -> monotonic time to try it again
        self._cache: dict[tuple[str, str | None, str | None], tuple[float, SecretVersion]] = {}
        self._batch_denied = False
        self._lock = threading.RLock()
        self.on_notice = on_notice or (lambda message: None)

    def _read_order(self) -> tuple[str, ...]:
        """Regions to read from: those not recently found unreachable first, in config order."""
        now = time.monotonic()
        regions = self.aws.regions
        up = [r for r in regions if self._down_until.get(r, 0.0) <= now]
        return (*up, *(r for r in regions if r not in up))

    def call(self, op: str, *, target: str, action: str, write: bool = False,
              **kwargs: Any) -> tuple[Any, str]:
        """Call ``op``, failing over to replica regions when the primary is unreachable.

        Reads go to the primary region, then to each of ``NBSECRETS_FALLBACK_REGIONS`` while
        the ones before cannot be reached (no connection, timeouts, 5xx or throttling after
        botocore's retries); a region found unreachable is tried last for ``DOWN_FOR_S``.
        Writes (``write=True``) go to the primary region only: replicas are read-only.

        Returns the response and the region that answered.
        """
        regions = (self.aws.region,) if write else self._read_order()
        first: tuple[BaseException, str, str | None] | None = None
        # botocore logs bodies (the key, a bundle's other fields) at DEBUG: withhold them
        quiet = self.config.redact
        for region in regions:
            with logs.quiet(quiet):
                client = self.aws.client(region)
            try:
                with logs.quiet(quiet):
                    response = getattr(client, op)(**kwargs)
            except Exception as exc:
                if not awserrors.is_unreachable(exc):
                    err = awserrors.translate(exc, action=action, target=target, region=region,
                                              endpoint=client.meta.endpoint_url)
                    if isinstance(err, NoCredentialsError):
                        self.aws.drop_session()
                    raise err from None
                self._down_until[region] = time.monotonic() + DOWN_FOR_S
                if first is None:
                    first = (exc, region, client.meta.endpoint_url)
                continue
            self._down_until.pop(region, None)
            if region != self.aws.region:
                why = "is unreachable" if first is not None else "was unreachable recently"
                self.on_notice(f"Secrets Manager in {self.aws.region} {why}; read from replica "
                               f"region {region}.")
            return response, region
        assert first is not None
        exc, region, endpoint = first
        raise awserrors.translate(exc, action=action, target=target, region=region,
                                  endpoint=endpoint) from None


    def cached(self, secret_id: str, stage: str | None = None,
               version_id: str | None = None) -> SecretVersion | None:
        """The cached, unexpired version of ``secret_id`` (as :meth:`fetch` would return it
        without a request), or None. The warm path of ``nbsecrets.get``: no lock, no request.
        """
        hit = self._cache.get((secret_id, stage, version_id))
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

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
                resp, region = self.call("get_secret_value", target=sid,
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
            self.call("describe_secret", target=sid, action="secretsmanager:DescribeSecret",
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
            resp, region = self.call("batch_get_secret_value", target=", ".join(chunk),
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
        if awserrors.is_key_failure(code, error.get("ErrorMessage")):
            return awserrors.key_failure(sid)
        if code in awserrors.NOT_FOUND_CODES:
            return KeyNotFoundError(f"secret {sid} was not found in {region}.")
        if code in awserrors.DENIED_CODES:
            return AccessDeniedError(
                f"the credentials in use are not allowed secretsmanager:GetSecretValue on {sid}.")
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
            account = self.aws.account() or "ACCOUNT_ID"
            resource = (f"arn:aws:secretsmanager:{self.aws.region}:{account}:secret:"
                        f"{ref.secret_id}-??????")
        other = resource.split(":")[4] if resource.startswith("arn:") else ""
        own = self.aws.account() if other else None
        if other and own and other != own:
            return (f"The secret is in account {other}: its resource policy must allow the "
                    "role too (`nbsecrets policy --resource-policy --role ROLE_ARN`, put there "
                    "by that account's admin), and the role's policy must name it "
                    f"(`nbsecrets policy --secrets-account {other}`).")
        return (
            'The role needs {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", '
            f'"secretsmanager:DescribeSecret"], "Resource": "{resource}"}}; an admin can add it '
            f"with `nbsecrets provision --role ROLE --provider {ref.label}`."
        )


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
            resp, _ = self.call("list_secrets", target=f"{prefix}*",
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
                    rotation_enabled=bool(item.get("RotationEnabled")),
                    last_rotated=item.get("LastRotatedDate"),
                ))
            token = resp.get("NextToken")
            if not token:
                return sorted(out, key=lambda s: s.name)


    def forget(self, secret_id: str | None = None) -> None:
        """Drop ``secret_id`` (every stage and version) from the cache, or everything."""
        with self._lock:
            if secret_id is None:
                self._cache.clear()
            else:
                for key in [k for k in self._cache if k[0] == secret_id]:
                    del self._cache[key]
