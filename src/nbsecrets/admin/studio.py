"""Studio lifecycle configurations: one script as a JupyterLab and a Code Editor configuration,
named after its content, attached as the domain's built-in configuration, and cleaned up only
once nothing uses it.

Studio lifecycle configurations are immutable (no update call; every property of the
CloudFormation resource requires replacement) and one that a domain, user profile, space or
running app uses cannot be deleted. So every deploy path names a configuration after its
content (``NAME-XXXXXXXX``; template.yaml adds the artifact's hash), a new script becomes a new
configuration, and the old one stays until :func:`prune` finds that nothing uses it.

Attaching uses ``BuiltInLifecycleConfigArn`` (resolved from the domain at every launch, run
before any default configuration) in ``DefaultUserSettings`` for JupyterLab and Code Editor
and in ``DefaultSpaceSettings`` for JupyterLab (the API has no Code Editor settings for shared
spaces). Old nbsecrets ARNs stay in ``LifecycleConfigArns`` (the allowed list) while a space
still pre-selects them; an old nbsecrets default (``DefaultResourceSpec.LifecycleConfigArn``)
is removed, as it would run after the built-in one and put the old version back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from nbsecrets.aws import errors as awserrors
from nbsecrets.errors import AccessDeniedError, ConfigError, NbSecretsError

__all__ = [
    "APP_TYPES",
    "Attached",
    "Pruned",
    "StudioDeployed",
    "attach",
    "check_base_name",
    "config_name",
    "deploy",
    "is_ours",
    "prune",
]

APP_TYPES = ("JupyterLab", "CodeEditor")
# Where each app type's settings live: user settings have both, shared-space settings only
# JupyterLab (botocore's DefaultSpaceSettings has no CodeEditorAppSettings).
USER_KEYS = {"JupyterLab": "JupyterLabAppSettings", "CodeEditor": "CodeEditorAppSettings"}
SPACE_KEYS = {"JupyterLab": "JupyterLabAppSettings"}
MAX_ALLOWED = 30  # LifecycleConfigArns holds at most 30 ARNs
# A Studio configuration name is ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$ and SageMaker lower-cases
# it; the base leaves room for "-XXXXXXXX" and template.yaml's "-" and 12-digit artifact hash.
MAX_BASE = 41
_BASE = re.compile(r"^[a-z0-9](-*[a-z0-9]){0,40}$")
_ARN_NAME = re.compile(r":studio-lifecycle-config/(?P<name>[^/]+)$")


def check_base_name(name: str) -> str:
    """``name`` if it can start a Studio configuration name.

    Raises
    ------
    ConfigError
        If it has characters SageMaker does not take or is over :data:`MAX_BASE`.
    """
    if not _BASE.match(name or ""):
        raise ConfigError(
            f"The Studio configuration name {name!r} must be lower-case letters, digits and "
            f"hyphens, at most {MAX_BASE} characters (a content hash is added); e.g. team-a."
        )
    return name


def config_name(base: str, app_type: str, content: str) -> str:
    """``BASE-XXXXXXXX``: the name of the configuration of ``app_type`` with this (base64)
    ``content``; a new content or app type gets a new name."""
    digest = hashlib.sha256(f"{app_type}\n{content}".encode()).hexdigest()
    return f"{base}-{digest[:8]}"


def is_ours(base: str, name: str) -> bool:
    """Whether ``name`` is a configuration deployed as ``base`` (by any path, any version)."""
    return re.fullmatch(rf"{re.escape(base)}(-[0-9a-f]{{8}}(-[0-9a-f]{{12}})?)?", name) is not None


def _name_of(arn: str) -> str:
    match = _ARN_NAME.search(arn or "")
    return match["name"] if match else ""


def _error(exc: BaseException, action: str, target: str) -> NbSecretsError:
    if awserrors.error_code(exc) in awserrors.DENIED_CODES:
        return AccessDeniedError(
            f"the credentials in use are not allowed sagemaker:{action} on {target}; "
            "run this with admin credentials."
        )
    return awserrors.translate(exc, action=f"sagemaker:{action}", target=target, region="")


def _call(sagemaker: Any, method: str, target: str, **kwargs: Any) -> dict[str, Any]:
    try:
        return getattr(sagemaker, method)(**kwargs)
    except Exception as exc:
        action = "".join(part.capitalize() for part in method.split("_"))
        raise _error(exc, action, target) from None


def _pages(sagemaker: Any, method: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a List* call, page by page (NextToken)."""
    token = None
    while True:
        page = _call(sagemaker, method, method, **kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


@dataclass(frozen=True)
class Config:
    """One deployed configuration: its app type, name, ARN and what the deploy did."""

    app_type: str
    name: str
    arn: str
    action: str  # "created" or "unchanged"


@dataclass(frozen=True)
class Attached:
    """What :func:`attach` changed on a domain (and the user profiles it was given)."""

    changed: list[str] = field(default_factory=list)  # "d-xxx", "profile NAME"
    kept: list[str] = field(default_factory=list)  # old nbsecrets ARNs left in allowed lists
    own_settings: list[str] = field(default_factory=list)  # profiles with their own settings


@dataclass(frozen=True)
class StudioDeployed:
    """What :func:`deploy` did: the configurations and, with a domain, the attach."""

    configs: tuple[Config, ...]
    domain: str = ""
    attached: Attached | None = None

    @property
    def action(self) -> str:
        changed = any(c.action != "unchanged" for c in self.configs) or bool(
            self.attached and self.attached.changed
        )
        return "updated" if changed else "unchanged"


def _describe(sagemaker: Any, name: str) -> dict[str, Any] | None:
    try:
        return sagemaker.describe_studio_lifecycle_config(StudioLifecycleConfigName=name)
    except Exception as exc:
        if awserrors.error_code(exc) in ("ResourceNotFound", "ValidationException"):
            return None
        raise _error(exc, "DescribeStudioLifecycleConfig", name) from None


def deploy(
    sagemaker: Any,
    base: str,
    content: str,
    *,
    app_types: tuple[str, ...] = APP_TYPES,
    domain_id: str | None = None,
    user_profiles: tuple[str, ...] = (),
) -> StudioDeployed:
    """Create the configuration of each app type for the base64 ``content`` (unless one of
    that name and content exists), then attach them to ``domain_id`` and ``user_profiles``.

    Raises
    ------
    NbSecretsError
        If the name is not usable or SageMaker refuses.
    """
    check_base_name(base)
    configs = []
    for app_type in app_types:
        name = config_name(base, app_type, content)
        found = _describe(sagemaker, name)
        if found is not None and found.get("StudioLifecycleConfigContent") == content:
            configs.append(Config(app_type, name, found["StudioLifecycleConfigArn"], "unchanged"))
            continue
        made = _call(
            sagemaker,
            "create_studio_lifecycle_config",
            name,
            StudioLifecycleConfigName=name,
            StudioLifecycleConfigContent=content,
            StudioLifecycleConfigAppType=app_type,
        )
        configs.append(Config(app_type, name, made["StudioLifecycleConfigArn"], "created"))
    attached = None
    if domain_id or user_profiles:
        if not domain_id:
            raise ConfigError("--user-profile needs the domain: give --domain-id d-xxxx too.")
        attached = attach(
            sagemaker, domain_id, {c.app_type: c.arn for c in configs}, base, user_profiles
        )
    return StudioDeployed(tuple(configs), domain_id or "", attached)


def _with(settings: dict[str, Any], arn: str, base: str) -> dict[str, Any]:
    """App settings with ``arn`` as the built-in configuration and in the allowed list; an
    old nbsecrets default (which would run after the built-in one) removed."""
    out = dict(settings)
    out["BuiltInLifecycleConfigArn"] = arn
    allowed = list(out.get("LifecycleConfigArns", []))
    if arn not in allowed:
        allowed.append(arn)
    if len(allowed) > MAX_ALLOWED:
        raise ConfigError(
            f"The allowed list would hold {len(allowed)} lifecycle configurations (at most "
            f"{MAX_ALLOWED}); remove unused ones first: nbsecrets lifecycle --studio --name "
            f"{base} --prune."
        )
    out["LifecycleConfigArns"] = allowed
    spec = dict(out.get("DefaultResourceSpec", {}))
    if is_ours(base, _name_of(spec.get("LifecycleConfigArn", ""))):
        del spec["LifecycleConfigArn"]
        if spec:
            out["DefaultResourceSpec"] = spec
        else:
            out.pop("DefaultResourceSpec", None)
    return out


def _apply(
    block: dict[str, Any], keys: dict[str, str], arns: dict[str, str], base: str
) -> dict[str, Any]:
    out = dict(block)
    for app_type, key in keys.items():
        if app_type in arns:
            out[key] = _with(block.get(key, {}), arns[app_type], base)
    return out


def _old_arns(block: dict[str, Any], base: str, current: set[str]) -> list[str]:
    return [
        arn
        for key in USER_KEYS.values()
        for arn in block.get(key, {}).get("LifecycleConfigArns", [])
        if arn not in current and is_ours(base, _name_of(arn))
    ]


def attach(
    sagemaker: Any,
    domain_id: str,
    arns: dict[str, str],
    base: str,
    user_profiles: tuple[str, ...] = (),
) -> Attached:
    """Make ``arns`` (app type -> ARN) the domain's built-in configurations: for the users'
    private spaces (``DefaultUserSettings``: JupyterLab and Code Editor) and for shared spaces
    (``DefaultSpaceSettings``: JupyterLab only), and the same in each of ``user_profiles``.
    Old nbsecrets ARNs stay in the allowed lists (:func:`prune` removes them). Lists the
    profiles that have their own JupyterLab or Code Editor settings."""
    domain = _call(sagemaker, "describe_domain", domain_id, DomainId=domain_id)
    result = Attached()
    user = domain.get("DefaultUserSettings", {})
    space = domain.get("DefaultSpaceSettings", {})
    new_user = _apply(user, USER_KEYS, arns, base)
    new_space = _apply(space, SPACE_KEYS, arns, base)
    current = set(arns.values())
    result.kept.extend(a for a in _old_arns(user, base, current) if a not in result.kept)
    if new_user != user or new_space != space:
        _call(
            sagemaker,
            "update_domain",
            domain_id,
            DomainId=domain_id,
            DefaultUserSettings={k: new_user[k] for k in USER_KEYS.values() if k in new_user},
            DefaultSpaceSettings=new_space,
        )
        result.changed.append(domain_id)
    wanted = set(user_profiles)
    for entry in _pages(sagemaker, "list_user_profiles", "UserProfiles", DomainIdEquals=domain_id):
        name = entry["UserProfileName"]
        profile = _call(
            sagemaker,
            "describe_user_profile",
            name,
            DomainId=domain_id,
            UserProfileName=name,
        )
        settings = profile.get("UserSettings", {})
        if name in wanted:
            wanted.discard(name)
            new = _apply(settings, USER_KEYS, arns, base)
            if new != settings:
                _call(
                    sagemaker,
                    "update_user_profile",
                    name,
                    DomainId=domain_id,
                    UserProfileName=name,
                    UserSettings={k: new[k] for k in USER_KEYS.values() if k in new},
                )
                result.changed.append(f"profile {name}")
        elif any(settings.get(k) for k in USER_KEYS.values()):
            result.own_settings.append(name)
    if wanted:
        raise ConfigError(
            f"Domain {domain_id} has no user profile {sorted(wanted)[0]!r}; "
            "check the name with aws sagemaker list-user-profiles."
        )
    return result


@dataclass(frozen=True)
class Pruned:
    """What :func:`prune` did: configurations deleted, and those kept with what uses them."""

    deleted: list[str] = field(default_factory=list)
    kept: dict[str, list[str]] = field(default_factory=dict)


def _refs(block: dict[str, Any], keys: tuple[str, ...]) -> Iterator[tuple[str, bool]]:
    """(ARN, in use) of each configuration an app settings block names: in use when it runs
    (built-in, default), not when it is only allowed (LifecycleConfigArns)."""
    for key in keys:
        settings = block.get(key) or {}
        for arn in (
            settings.get("BuiltInLifecycleConfigArn"),
            (settings.get("DefaultResourceSpec") or {}).get("LifecycleConfigArn"),
        ):
            if arn:
                yield arn, True
        for arn in settings.get("LifecycleConfigArns", []):
            yield arn, False


def prune(sagemaker: Any, base: str, domain_id: str | None = None) -> Pruned:
    """Delete the configurations deployed as ``base`` that nothing uses: no domain's or user
    profile's built-in or default, no space's pre-selected default, no running app. One only
    in a domain's allowed list is first taken out of it; one a space or profile still uses
    stays, and stays allowed.

    Raises
    ------
    NbSecretsError
        If SageMaker refuses.
    """
    check_base_name(base)
    ours = {
        c["StudioLifecycleConfigArn"]: c["StudioLifecycleConfigName"]
        for c in _pages(
            sagemaker,
            "list_studio_lifecycle_configs",
            "StudioLifecycleConfigs",
            NameContains=base,
        )
        if is_ours(base, c["StudioLifecycleConfigName"])
    }
    uses: dict[str, list[str]] = {arn: [] for arn in ours}
    allowed_in: dict[str, dict[str, Any]] = {}  # domain id -> its description

    def used(arn: str, where: str) -> None:
        if arn in uses and where not in uses[arn]:
            uses[arn].append(where)

    domains = (
        [domain_id]
        if domain_id
        else [d["DomainId"] for d in _pages(sagemaker, "list_domains", "Domains")]
    )
    keys = tuple(USER_KEYS.values())
    for did in domains:
        domain = _call(sagemaker, "describe_domain", did, DomainId=did)
        for block in (
            domain.get("DefaultUserSettings", {}),
            domain.get("DefaultSpaceSettings", {}),
        ):
            for arn, running in _refs(block, keys):
                if running:
                    used(arn, f"domain {did}")
                elif arn in uses:
                    allowed_in[did] = domain
        for entry in _pages(sagemaker, "list_user_profiles", "UserProfiles", DomainIdEquals=did):
            name = entry["UserProfileName"]
            profile = _call(
                sagemaker, "describe_user_profile", name, DomainId=did, UserProfileName=name
            )
            for arn, _ in _refs(profile.get("UserSettings", {}), keys):
                used(arn, f"user profile {name}")
        for entry in _pages(sagemaker, "list_spaces", "Spaces", DomainIdEquals=did):
            name = entry["SpaceName"]
            found = _call(sagemaker, "describe_space", name, DomainId=did, SpaceName=name)
            for arn, _ in _refs(found.get("SpaceSettings", {}), keys):
                used(arn, f"space {name}")
        for app in _pages(sagemaker, "list_apps", "Apps", DomainIdEquals=did):
            if app.get("Status") in ("Deleted", "Failed"):
                continue
            found = _call(
                sagemaker,
                "describe_app",
                app["AppName"],
                DomainId=did,
                AppType=app["AppType"],
                AppName=app["AppName"],
                **{k: app[k] for k in ("SpaceName", "UserProfileName") if app.get(k)},
            )
            for ran in (
                (found.get("ResourceSpec") or {}).get("LifecycleConfigArn"),
                found.get("BuiltInLifecycleConfigArn"),
            ):
                if ran:
                    used(ran, f"running app {app.get('SpaceName', '')}/{app['AppType']}")
    unused = {arn for arn, where in uses.items() if not where}
    for did, domain in allowed_in.items():
        user = dict(domain.get("DefaultUserSettings", {}))
        space = dict(domain.get("DefaultSpaceSettings", {}))
        for block in (user, space):
            for key in keys:
                if key in block and "LifecycleConfigArns" in block[key]:
                    block[key] = {
                        **block[key],
                        "LifecycleConfigArns": [
                            a for a in block[key]["LifecycleConfigArns"] if a not in unused
                        ],
                    }
        _call(
            sagemaker,
            "update_domain",
            did,
            DomainId=did,
            DefaultUserSettings={k: user[k] for k in keys if k in user},
            **({"DefaultSpaceSettings": space} if space else {}),
        )
    result = Pruned()
    for arn in sorted(uses, key=lambda a: ours[a]):
        name = ours[arn]
        if arn not in unused:
            result.kept[name] = uses[arn]
            continue
        try:
            sagemaker.delete_studio_lifecycle_config(StudioLifecycleConfigName=name)
        except Exception as exc:
            if awserrors.error_code(exc) != "ResourceInUse":
                raise _error(exc, "DeleteStudioLifecycleConfig", name) from None
            result.kept[name] = ["SageMaker says it is in use"]
            continue
        result.deleted.append(name)
    return result
