"""Studio JupyterLab lifecycle configurations: create, and switch a domain to the new one.

Studio has no update call, and a configuration a domain or user profile uses cannot be
deleted. So a changed script gets a new configuration named after its content
(``NAME-XXXXXXXX``), the domain's default switches to it, and the old one stays (delete it
once nothing uses it). Nothing attached is ever deleted.
"""

from __future__ import annotations

from typing import Any

from nbsecrets.admin.lifecycle import Deployed, _exists_error, _sm_error, content_name

__all__ = ["attach_to_domain", "deploy_studio"]

APP_TYPE = "JupyterLab"


def _describe(sagemaker: Any, name: str) -> dict[str, Any] | None:
    try:
        return sagemaker.describe_studio_lifecycle_config(StudioLifecycleConfigName=name)
    except Exception as exc:
        if not _exists_error(exc):
            raise _sm_error(exc, "DescribeStudioLifecycleConfig", name) from None
        return None


def _same(found: dict[str, Any] | None, content: str) -> bool:
    return bool(found) and found.get("StudioLifecycleConfigContent") == content \
        and found.get("StudioLifecycleConfigAppType") == APP_TYPE


def deploy_studio(sagemaker: Any, name: str, content: str, domain_id: str | None = None
                  ) -> Deployed:
    """Create the configuration (base64 ``content``) as ``name``, or as a content-named
    sibling when ``name`` exists with other content; then, with ``domain_id``, make it the
    domain's default JupyterLab configuration.

    Raises
    ------
    NbSecretsError
        If SageMaker refuses.
    """
    old = _describe(sagemaker, name)
    replaced = ""
    if _same(old, content):
        target, action, arn = name, "unchanged", old["StudioLifecycleConfigArn"]  # type: ignore[index]
    else:
        target = name if old is None else content_name(name, content)
        found = _describe(sagemaker, target) if old is not None else None
        replaced = old["StudioLifecycleConfigArn"] if old is not None else ""
        if _same(found, content):
            action, arn = "unchanged", found["StudioLifecycleConfigArn"]  # type: ignore[index]
        else:
            try:
                arn = sagemaker.create_studio_lifecycle_config(
                    StudioLifecycleConfigName=target, StudioLifecycleConfigContent=content,
                    StudioLifecycleConfigAppType=APP_TYPE)["StudioLifecycleConfigArn"]
            except Exception as exc:
                raise _sm_error(exc, "CreateStudioLifecycleConfig", target) from None
            action = "created" if old is None else "updated"
    if domain_id:
        if attach_to_domain(sagemaker, domain_id, arn, replaced) and action == "unchanged":
            action = "updated"
    return Deployed(target, action, arn, True, domain=domain_id or "", replaced=replaced)


def attach_to_domain(sagemaker: Any, domain_id: str, arn: str, replaced: str = "") -> bool:
    """Make ``arn`` the default JupyterLab configuration of the domain's users.

    It goes into ``DefaultUserSettings.JupyterLabAppSettings``: in place of ``replaced``
    in ``LifecycleConfigArns`` (or added), and as ``DefaultResourceSpec.LifecycleConfigArn``
    so it runs without the user choosing it. Private spaces run their owner's settings.
    Returns whether the domain changed.
    """
    try:
        domain = sagemaker.describe_domain(DomainId=domain_id)
    except Exception as exc:
        raise _sm_error(exc, "DescribeDomain", domain_id) from None
    lab = dict(domain.get("DefaultUserSettings", {}).get("JupyterLabAppSettings", {}))
    arns = [a for a in lab.get("LifecycleConfigArns", []) if a not in (replaced, arn)]
    spec = dict(lab.get("DefaultResourceSpec", {}))
    if lab.get("LifecycleConfigArns", []) == [*arns, arn] and \
            spec.get("LifecycleConfigArn") == arn:
        return False
    spec["LifecycleConfigArn"] = arn
    lab["LifecycleConfigArns"] = [*arns, arn]
    lab["DefaultResourceSpec"] = spec
    try:
        sagemaker.update_domain(DomainId=domain_id,
                                DefaultUserSettings={"JupyterLabAppSettings": lab})
    except Exception as exc:
        raise _sm_error(exc, "UpdateDomain", domain_id) from None
    return True
