"""What the SageMaker resource says: its metadata file, its region, its execution role.

No AWS client is built here: the execution role is resolved with clients the caller passes
(from :class:`nbsecrets.aws.transport.Transport`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from nbsecrets.aws import errors as awserrors

__all__ = [
    "SAGEMAKER_METADATA",
    "execution_role",
    "metadata",
    "role_from_identity",
    "sagemaker_region",
    "with_path",
]

SAGEMAKER_METADATA = Path("/opt/ml/metadata/resource-metadata.json")
_ASSUMED = re.compile(r"^arn:([\w-]+):sts::(\d+):assumed-role/([^/]+)/.+$")


def metadata(path: Path = SAGEMAKER_METADATA) -> dict[str, Any]:
    """The notebook instance's or Studio app's resource metadata, or {} off SageMaker."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def sagemaker_region(path: Path = SAGEMAKER_METADATA) -> str | None:
    """The region of the SageMaker notebook instance or Studio space, from its metadata file.

    The file holds the resource's ARN (``arn:aws:sagemaker:REGION:ACCOUNT:...``).
    """
    arn = metadata(path).get("ResourceArn")
    if isinstance(arn, str):
        parts = arn.split(":")
        if len(parts) > 3 and parts[3]:
            return parts[3]
    return None


# -- the execution role (what SageMaker's get_execution_role resolves, without the SDK) ------


def role_from_identity(arn: str) -> str:
    """``arn:aws:sts::A:assumed-role/NAME/SESSION`` -> ``arn:aws:iam::A:role/NAME``.

    Any other ARN (a user, a role ARN) is returned as it is.
    """
    m = _ASSUMED.match(arn)
    return f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}" if m else arn


def execution_role(
    sagemaker: Any, sts: Any, metadata_path: Path = SAGEMAKER_METADATA, iam: Any = None
) -> tuple[str | None, str]:
    """The execution role ARN and how it was found, or ``(None, why not)``.

    Parameters
    ----------
    sagemaker, sts : botocore clients
    metadata_path : Path
        The notebook's resource metadata (``/opt/ml/metadata/resource-metadata.json``).
    iam : botocore client, optional
        With it, a role found through STS (whose assumed-role ARN drops the role's path)
        gets its real ARN from iam:GetRole; without it, or when that is denied, SageMaker's
        console roles (``AmazonSageMaker-ExecutionRole-*``) get their ``service-role/`` path.
    """
    meta = metadata(metadata_path)
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
    return with_path(role, iam), "from STS GetCallerIdentity"


def with_path(role: str, iam: Any = None) -> str:
    """``role`` (``arn:...:role/NAME``, path lost by STS) with its path, if it has one."""
    head, _, name = role.partition(":role/")
    if "/" in name:
        return role
    if iam is not None:
        try:
            return iam.get_role(RoleName=name)["Role"]["Arn"]
        except Exception:  # noqa: S110 - denied or unreachable: guess below
            pass
    if name.startswith("AmazonSageMaker-ExecutionRole-"):
        return f"{head}:role/service-role/{name}"
    return role


def _profile_role(sagemaker: Any, domain: str, profile: str) -> str | None:
    try:
        desc = sagemaker.describe_user_profile(DomainId=domain, UserProfileName=profile)
    except Exception:
        return None  # the domain's default still answers
    return desc.get("UserSettings", {}).get("ExecutionRole")


def _domain_role(sagemaker: Any, domain: str, settings: str) -> str | None:
    """The execution role of the domain's ``settings`` (DefaultUserSettings or
    DefaultSpaceSettings), or None."""
    return sagemaker.describe_domain(DomainId=domain).get(settings, {}).get("ExecutionRole")


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
            # The owner inherits the domain's user default, not its space default.
            role = _domain_role(sagemaker, domain, "DefaultUserSettings")
            if role:
                return role, f"domain {domain} user default, for the owner of space {space}"
        role = _domain_role(sagemaker, domain, "DefaultSpaceSettings")
        if role:
            return role, f"space {space} of domain {domain}"
    if profile:
        role = _profile_role(sagemaker, domain, profile)
        if role:
            return role, f"user profile {profile}"
    role = _domain_role(sagemaker, domain, "DefaultUserSettings")
    return (role, f"domain {domain}") if role else None
