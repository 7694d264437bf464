"""Reads: batched fetches through the cache, listings; failover is the transport's."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from nbsecrets.aws import errors as awserrors
from nbsecrets.aws.cache import Cache
from nbsecrets.aws.records import CURRENT, LoadedKey, SecretInfo, SecretVersion
from nbsecrets.aws.transport import Transport
from nbsecrets.errors import (
    AccessDeniedError,
    ConfigError,
    KeyNotFoundError,
    NbSecretsError,
    SecretFormatError,
    combine,
)
from nbsecrets.refs import KeyRef, extract_value

__all__ = ["BATCH_LIMIT", "Reader"]

BATCH_LIMIT = 20  # BatchGetSecretValue takes at most 20 ids
GET = "secretsmanager:GetSecretValue"


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Reader:
    """Reads provider keys through the shared cache and the transport.

    Parameters
    ----------
    transport : Transport
        Where requests go (it fails over to replica regions).
    cache : Cache
        The store's one cache of fetched versions.
    """

    def __init__(self, transport: Transport, cache: Cache):
        self.transport = transport
        self.config = transport.config
        self.cache = cache
        self._batch_denied = False

    def cached(
        self, secret_id: str, stage: str | None = None, version_id: str | None = None
    ) -> SecretVersion | None:
        """The cached, unexpired version of ``secret_id`` (as :meth:`fetch` would return it
        without a request), or None. The warm path of ``nbsecrets.get``: no lock, no request.
        """
        return self.cache.get((secret_id, stage, version_id))

    def fetch(
        self,
        refs: Sequence[KeyRef],
        *,
        stage: str | None = None,
        version_id: str | None = None,
        refresh: bool = False,
    ) -> list[LoadedKey]:
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

    def _versions(
        self, ids: list[str], stage: str | None, version_id: str | None, refresh: bool
    ) -> tuple[dict[str, tuple[SecretVersion, bool]], dict[str, NbSecretsError]]:
        found: dict[str, tuple[SecretVersion, bool]] = {}
        failures: dict[str, NbSecretsError] = {}
        missing: list[str] = []
        for sid in ids:
            hit = None if refresh else self.cache.get((sid, stage, version_id))
            if hit is not None:
                found[sid] = (hit, True)
            else:
                missing.append(sid)
        if not missing:
            return found, failures
        if stage in (None, CURRENT) and version_id is None and not self._batch_denied:
            missing = self._batch(missing, found, failures)
        for sid in missing:
            try:
                kwargs: dict[str, Any] = {"SecretId": sid}
                if version_id:
                    kwargs["VersionId"] = version_id
                elif stage:
                    kwargs["VersionStage"] = stage
                resp, region = self.transport.call(
                    "get_secret_value", target=sid, action=GET, **kwargs
                )
                found[sid] = (self._remember(sid, stage, version_id, resp, region), False)
            except (KeyNotFoundError, AccessDeniedError, SecretFormatError) as exc:
                failed: NbSecretsError = exc
                if isinstance(exc, KeyNotFoundError) and (stage or version_id):
                    failed = self._version_missing(sid, stage, version_id, exc) or exc
                failures[sid] = failed
                continue
            except NbSecretsError as exc:
                if type(exc) is NbSecretsError and (stage or version_id):
                    # InvalidRequest for a version that exists but cannot be read.
                    failures[sid] = KeyNotFoundError(
                        f"secret {sid} has no readable version {version_id or stage}; see "
                        f"`nbsecrets versions {sid}`.",
                        version=version_id or stage,
                        **{**exc.fields(), "failures": None},
                    )
                    continue
                raise
        return found, failures

    def _version_missing(
        self, sid: str, stage: str | None, version_id: str | None, err: KeyNotFoundError
    ) -> NbSecretsError | None:
        """When a versioned read finds nothing, tell a missing version from a missing secret."""
        try:
            self.transport.call(
                "describe_secret", target=sid, action="secretsmanager:DescribeSecret", SecretId=sid
            )
        except NbSecretsError:
            return None
        what = f"version id {version_id}" if version_id else f"staging label {stage}"
        return err.reworded(
            f"secret {sid} has no {what}; list them with `nbsecrets versions {sid}`.",
            version=version_id or stage,
        )

    def _batch(
        self,
        ids: list[str],
        found: dict[str, tuple[SecretVersion, bool]],
        failures: dict[str, NbSecretsError],
    ) -> list[str]:
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
                match = next(
                    (
                        v
                        for v in values
                        if sid in (v.get("Name"), v.get("ARN"))
                        or (sid.startswith("arn:") and v.get("ARN", "").startswith(sid))
                    ),
                    None,
                )
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

    def _batch_request(
        self, chunk: list[str]
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], str]:
        values: list[dict[str, Any]] = []
        errors: dict[str, dict[str, Any]] = {}
        region = self.transport.region
        for resp, region in self.transport.pages(
            "batch_get_secret_value",
            target=", ".join(chunk),
            action="secretsmanager:BatchGetSecretValue",
            SecretIdList=chunk,
        ):
            if "SecretValues" not in resp and "Errors" not in resp:
                raise awserrors.not_secrets_manager(region, region=region)
            values.extend(resp.get("SecretValues", []))
            errors.update({e.get("SecretId", ""): e for e in resp.get("Errors", [])})
        return values, errors, region

    @staticmethod
    def _batch_error(sid: str, error: dict[str, Any], region: str) -> NbSecretsError:
        code = error.get("ErrorCode", "")
        fields: dict[str, Any] = {"secret_id": sid, "region": region, "action": GET, "code": code}
        if awserrors.is_key_failure(code, error.get("ErrorMessage")):
            return awserrors.key_failure(sid, region, GET, code)
        if code in awserrors.NOT_FOUND_CODES:
            return KeyNotFoundError(f"secret {sid} was not found in {region}.", **fields)
        if code in awserrors.DENIED_CODES:
            return AccessDeniedError(
                f"the credentials in use are not allowed secretsmanager:GetSecretValue on {sid}.",
                **fields,
            )
        return NbSecretsError(f"secret {sid} could not be read ({code}).", **fields)

    def _remember(
        self, sid: str, stage: str | None, version_id: str | None, resp: dict[str, Any], region: str
    ) -> SecretVersion:
        payload = resp.get("SecretString")
        name = resp.get("Name", sid)
        if payload is None and "SecretBinary" not in resp:
            raise awserrors.not_secrets_manager(region, region=region)
        if payload is None:
            raise SecretFormatError(
                f"secret {name} holds binary data (SecretBinary); store the key as a string.",
                reason="binary",
                secret_id=name,
                region=region,
            )
        version = SecretVersion(
            name=name,
            arn=resp.get("ARN", ""),
            version_id=resp.get("VersionId", ""),
            stages=tuple(resp.get("VersionStages", ())),
            created=resp.get("CreatedDate"),
            region=region,
            payload=payload,
        )
        self.cache.put((sid, stage, version_id), version, self.config.cache_ttl_s)
        return version

    def _explain(self, ref: KeyRef, err: NbSecretsError) -> NbSecretsError:
        """Name the key in a per-key failure, with what an admin can do about it.

        What the user does next (store the key, from a notebook or a terminal) is the front
        end's to word, from the fields: ``key``, and for a missing secret no ``version``.
        """
        message = f"{ref.label}: {err}"
        if isinstance(err, KeyNotFoundError) and err.version is None:
            close = self._suggest(ref)
            if close:
                message += f" Did you mean {' or '.join(close)}?"
            return err.reworded(message, key=ref.label, suggestions=close)
        if isinstance(err, AccessDeniedError):
            message += f" {self._statement_hint(ref)}"
        return err.reworded(message, key=ref.label)

    def _statement_hint(self, ref: KeyRef) -> str:
        if ref.secret_id.startswith("arn:"):
            resource = ref.secret_id if ref.secret_id.count("-") else f"{ref.secret_id}-??????"
        else:
            account = self.transport.account() or "ACCOUNT_ID"
            resource = (
                f"arn:aws:secretsmanager:{self.transport.region}:{account}:secret:"
                f"{ref.secret_id}-??????"
            )
        other = resource.split(":")[4] if resource.startswith("arn:") else ""
        own = self.transport.account() if other else None
        if other and own and other != own:
            return (
                f"The secret is in account {other}: its resource policy must allow the "
                "role too (`nbsecrets policy --resource-policy --role ROLE_ARN`, put there "
                "by that account's admin), and the role's policy must name it "
                f"(`nbsecrets policy --secrets-account {other}`)."
            )
        return (
            'The role needs {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", '
            f'"secretsmanager:DescribeSecret"], "Resource": "{resource}"}}; an admin can add it '
            f"with `nbsecrets provision --role ROLE --provider {ref.label}`."
        )

    def _suggest(self, ref: KeyRef) -> list[str]:
        """Close names among the secrets under the prefix and the known providers."""
        prefix = self.config.prefix
        try:
            listed = [s.name for s in self.list_keys()]
        except NbSecretsError:
            listed = []
        if ref.secret_id.startswith(prefix):
            # Compare what differs (the provider part), not the shared prefix.
            wanted = ref.secret_id[len(prefix) :]
            candidates = [n[len(prefix) :] for n in listed]
            if not self.config.providers.is_known(ref.name):
                candidates += self.config.providers.known()
        else:
            wanted, candidates = ref.secret_id, listed
        import difflib

        close = difflib.get_close_matches(wanted, list(dict.fromkeys(candidates)), n=2, cutoff=0.7)
        return [c for c in close if c != wanted]

    def list_keys(self) -> list[SecretInfo]:
        """Secrets under the prefix that the role can list (no values)."""
        prefix = self.config.prefix
        out: list[SecretInfo] = []
        for resp, _ in self.transport.pages(
            "list_secrets",
            target=f"{prefix}*",
            action="secretsmanager:ListSecrets",
            Filters=[{"Key": "name", "Values": [prefix]}],
            MaxResults=100,
        ):
            for item in resp.get("SecretList", []):
                name = item.get("Name", "")
                if not name.startswith(prefix) or len(name) == len(prefix):
                    continue
                tags = {t["Key"]: t.get("Value", "") for t in item.get("Tags", [])}
                out.append(
                    SecretInfo(
                        provider=tags.get("nbsecrets:provider") or name[len(prefix) :],
                        name=name,
                        arn=item.get("ARN", ""),
                        last_changed=item.get("LastChangedDate") or item.get("CreatedDate"),
                        tags=tags,
                        rotation_enabled=bool(item.get("RotationEnabled")),
                        last_rotated=item.get("LastRotatedDate"),
                        stages=_stages(item.get("SecretVersionsToStages")),
                    )
                )
        return sorted(out, key=lambda s: s.name)

    def describe(self, secret_id: str) -> SecretInfo:
        """One secret as DescribeSecret describes it: tags and version stages, no value.

        Raises
        ------
        KeyNotFoundError
            If the secret does not exist.
        """
        item, _ = self.transport.call(
            "describe_secret",
            target=secret_id,
            action="secretsmanager:DescribeSecret",
            SecretId=secret_id,
        )
        name = item.get("Name", secret_id)
        tags = {t["Key"]: t.get("Value", "") for t in item.get("Tags", [])}
        return SecretInfo(
            provider=tags.get("nbsecrets:provider") or name.removeprefix(self.config.prefix),
            name=name,
            arn=item.get("ARN", ""),
            last_changed=item.get("LastChangedDate") or item.get("CreatedDate"),
            tags=tags,
            rotation_enabled=bool(item.get("RotationEnabled")),
            last_rotated=item.get("LastRotatedDate"),
            stages=_stages(item.get("VersionIdsToStages")),
        )


def _stages(raw: dict[str, list[str]] | None) -> dict[str, tuple[str, ...]]:
    return {v: tuple(st) for v, st in (raw or {}).items()}
