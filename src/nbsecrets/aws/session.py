"""Credentials, region, assumed role and the execution role: one place for each.

boto3 is imported the first time a session or client is needed, never at import time.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from nbsecrets._version import __version__
from nbsecrets.aws import errors as awserrors
from nbsecrets.aws import logs
from nbsecrets.config import SAGEMAKER_METADATA, Config, no_region_error, sagemaker_region
from nbsecrets.errors import AccessDeniedError

__all__ = ["CONNECT_TIMEOUT_S", "MAX_ATTEMPTS", "READ_TIMEOUT_S", "AwsSession", "execution_role",
           "role_from_identity"]

# A dead or hung endpoint costs at most MAX_ATTEMPTS * (timeout + backoff) per region, about
# 20 s. Secrets Manager answers in well under a second. AWS_MAX_ATTEMPTS and AWS_RETRY_MODE,
# when set, take precedence.
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0
MAX_ATTEMPTS = 3  # requests per call and region, the first included
_ASSUMED = re.compile(r"^arn:([\w-]+):sts::(\d+):assumed-role/([^/]+)/.+$")


class AwsSession:
    """The boto3 session, its clients and the regions nbsecrets talks to.

    Parameters
    ----------
    config : Config
        Settings (region, fallback regions, role to assume).
    session : boto3.Session, optional
        Session to use; by default one is built from the standard credential chain (on
        SageMaker, the execution role), after assuming ``config.role_arn`` if set.
    """

    def __init__(self, config: Config, *, session: Any = None):
        self.config = config
        self._session = session
        self._own_session = session is None
        self._session_expires: float | None = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._region: str | None = None


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
            with logs.quiet(self.config.redact):  # the response holds credentials
                creds = sts.assume_role(RoleArn=role_arn,
                                        RoleSessionName="nbsecrets")["Credentials"]
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

    def drop_session(self) -> None:
        """Forget credentials that failed, so the next call resolves them afresh."""
        if self._own_session:
            with self._lock:
                self._session = None
                self._session_expires = None
                self._clients.clear()


    def account(self) -> str | None:
        """The account id of the credentials in use (STS GetCallerIdentity), or None."""
        try:
            return self.client(service="sts").get_caller_identity()["Account"]
        except Exception:
            return None


# -- the execution role (what SageMaker's get_execution_role resolves, without the SDK) ------

def role_from_identity(arn: str) -> str:
    """``arn:aws:sts::A:assumed-role/NAME/SESSION`` -> ``arn:aws:iam::A:role/NAME``.

    Any other ARN (a user, a role ARN) is returned as it is.
    """
    m = _ASSUMED.match(arn)
    return f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}" if m else arn


def _metadata(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def execution_role(sagemaker: Any, sts: Any, metadata_path: Path = SAGEMAKER_METADATA
                   ) -> tuple[str | None, str]:
    """The execution role ARN and how it was found, or ``(None, why not)``.

    Parameters
    ----------
    sagemaker, sts : botocore clients
    metadata_path : Path
        The notebook's resource metadata (``/opt/ml/metadata/resource-metadata.json``).
    """
    meta = _metadata(metadata_path)
    try:
        if meta.get("ExecutionRoleArn"):
            return meta["ExecutionRoleArn"], f"from {metadata_path}"
        if meta.get("DomainId"):
            found = _studio_role(sagemaker, meta)
            if found:
                return found
        elif meta.get("ResourceName"):
            desc = sagemaker.describe_notebook_instance(NotebookInstanceName=meta["ResourceName"])
            return desc["RoleArn"], f"notebook instance {meta['ResourceName']}"
    except Exception:  # noqa: S110 - fall back to STS, as get_execution_role does
        pass
    try:
        arn = sts.get_caller_identity()["Arn"]
    except Exception as exc:
        return None, f"STS GetCallerIdentity failed ({awserrors.error_code(exc) or exc})"
    role = role_from_identity(arn)
    if ":role/" not in role:
        return None, f"the credentials are not a role ({arn})"
    return role, "from STS GetCallerIdentity"


def _profile_role(sagemaker: Any, domain: str, profile: str) -> str | None:
    try:
        desc = sagemaker.describe_user_profile(DomainId=domain, UserProfileName=profile)
    except Exception:
        return None  # the domain's default still answers
    return desc.get("UserSettings", {}).get("ExecutionRole")


def _studio_role(sagemaker: Any, meta: dict[str, Any]) -> tuple[str, str] | None:
    """A Studio app's role: a private space runs as its owner's user profile, a shared space
    as the domain's space default; a user's app as the profile, else the domain default."""
    domain = meta["DomainId"]
    space, profile = meta.get("SpaceName"), meta.get("UserProfileName")
    if space:
        try:
            desc = sagemaker.describe_space(DomainId=domain, SpaceName=space)
        except Exception:
            desc = {}
        if desc.get("SpaceSharingSettings", {}).get("SharingType") == "Private":
            owner = desc.get("OwnershipSettings", {}).get("OwnerUserProfileName")
            role = _profile_role(sagemaker, domain, owner) if owner else None
            if role:
                return role, f"user profile {owner}, owner of space {space}"
        role = sagemaker.describe_domain(DomainId=domain).get(
            "DefaultSpaceSettings", {}).get("ExecutionRole")
        if role:
            return role, f"space {space} of domain {domain}"
    if profile:
        role = _profile_role(sagemaker, domain, profile)
        if role:
            return role, f"user profile {profile}"
    role = sagemaker.describe_domain(DomainId=domain).get(
        "DefaultUserSettings", {}).get("ExecutionRole")
    return (role, f"domain {domain}") if role else None
