"""``nbsecrets federate openai|anthropic``: keyless providers set up end to end.

1. AWS: outbound identity federation on (``GetOutboundWebIdentityFederationInfo``; when it
   answers FeatureDisabled, ``EnableOutboundWebIdentityFederation``); its issuer URL.
2. The roles: each named role is read with ``iam:GetRole`` (its ARN with path is the JWT's
   ``sub``) and must be in this account; a wildcard is refused.
3. The provider: find or create the issuer / identity provider for that URL, and one rule per
   role (and per user profile with ``--per-user``) that accepts only that exact ``sub`` (the
   issuer URL is unique to the account, so only this account's tokens verify) and the
   audience; with ``--per-user``, also the token's ``source_identity`` claim.
4. The provider's secret (``{prefix}{provider}``) gets ``{"federation": {...}}`` (ids only),
   tagged ``nbsecrets:mode=federated``.

Idempotent: what exists is found and left alone; a second run changes nothing. ``--dry-run``
makes only reads. Provider admin credentials come from Secrets Manager under the admin
namespace, never from an argument: ``nbsecrets-admin/openai`` field ``admin_key`` (an OpenAI
admin API key), ``nbsecrets-admin/anthropic`` field ``org_admin_token`` (an OAuth access
token with the ``org:admin`` scope, from ``ant auth login --scope org:admin``: Anthropic's
federation admin API does not accept admin API keys).
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nbsecrets.aws.admin_records import ADMIN_KEY_SECRETS
from nbsecrets.errors import ConfigError, KeyNotFoundError, NbSecretsError
from nbsecrets.federation.settings import (
    DEFAULT_AUDIENCES,
    DEFAULT_DURATION_S,
    OPENAI_TOKEN_URL,
    require_https,
)
from nbsecrets.provider_http import request
from nbsecrets.refs import json_object

__all__ = ["ADMIN_SECRETS", "DEFAULT_AUDIENCES", "MODE_TAG", "FederateOptions", "federate"]

ADMIN_SECRETS = {
    "openai": (ADMIN_KEY_SECRETS["openai"], "admin_key"),
    "anthropic": (ADMIN_KEY_SECRETS["anthropic"], "org_admin_token"),
}
MODE_TAG = "nbsecrets:mode"
AWS_CLAIMS = "https://sts.amazonaws.com/"
_OPENAI_SOURCE = {
    "attribute": "source_identity",
    "expression": f'assertion["{AWS_CLAIMS}"]["source_identity"]',
}
_WILD = re.compile(r"[*?]")


@dataclass(frozen=True)
class FederateOptions:
    """What ``nbsecrets federate`` was asked.

    Attributes
    ----------
    provider : str
        ``openai`` or ``anthropic``.
    roles : tuple[str, ...]
        Role names or ARNs whose tokens the rules accept (at least one; no wildcard).
    service_account_id : str
        OpenAI: the project's service account; Anthropic: ``svac_...``.
    project_id : str | None
        OpenAI: the project of the service account.
    organization_id, workspace_id : str | None
        Anthropic: the organization UUID; the workspace (``wrkspc_...`` or ``default``).
    audience : str | None
        The JWT audience; default the provider's API URL.
    per_user : tuple[str, ...]
        Studio user profiles: one rule each, matching the token's ``source_identity``.
    duration_s : int
        The JWT lifetime the notebooks ask for (and the policy allows).
    token_url : str | None
        OpenAI: a token endpoint other than auth.openai.com.
    oauth_scope : str
        Anthropic: the scope of the tokens the rule grants.
    dry_run : bool
        Read only, print the plan.
    """

    provider: str
    roles: tuple[str, ...]
    service_account_id: str
    project_id: str | None = None
    organization_id: str | None = None
    workspace_id: str | None = None
    audience: str | None = None
    per_user: tuple[str, ...] = ()
    duration_s: int = DEFAULT_DURATION_S
    token_url: str | None = None
    oauth_scope: str = "workspace:inference"
    dry_run: bool = False


def _check(opts: FederateOptions) -> None:
    if opts.provider not in ADMIN_SECRETS:
        raise ConfigError(f"{opts.provider!r} cannot be federated; name openai or anthropic.")
    if not opts.roles:
        raise ConfigError(
            "Name the roles whose tokens the provider accepts with --role ROLE "
            "(a rule that accepts any role is refused)."
        )
    for role in opts.roles:
        if not role.strip() or _WILD.search(role) or role.rstrip("/").endswith(":role"):
            raise ConfigError(
                f"--role {role!r} would accept any role; name each role exactly (its name or ARN)."
            )
    for user in opts.per_user:
        if not user.strip() or _WILD.search(user):
            raise ConfigError(
                f"--per-user {user!r} is not a user profile name; name each profile exactly."
            )
    if opts.per_user and len(opts.roles) != 1:
        raise ConfigError(
            "--per-user rules are for one shared role (Studio's); name exactly one --role with it."
        )
    if not 60 <= opts.duration_s <= 3600:
        raise ConfigError("--duration-seconds must be 60-3600 (STS's limits).")
    if opts.provider == "openai" and not opts.project_id:
        raise ConfigError(
            "OpenAI rules belong to a project: give --project-id proj_... (the "
            "service account's project)."
        )
    if opts.provider == "anthropic" and not opts.organization_id:
        raise ConfigError("Give --organization-id (the Anthropic organization's UUID).")
    if opts.token_url:
        why = require_https(opts.token_url, "--token-url")
        if why:
            raise ConfigError(f"{why}; give an https URL.")


class _Plan:
    """What was done (or, with ``--dry-run``, would be done), one line each."""

    def __init__(self, dry_run: bool, out: Callable[[str], None]):
        self.dry_run = dry_run
        self.out = out
        self.changes = 0

    def found(self, text: str) -> None:
        self.out(f"  = {text}")

    def change(self, text: str) -> bool:
        """Announce a change; True when it should be made (not a dry run)."""
        self.changes += 1
        self.out(f"  {'would ' if self.dry_run else ''}+ {text}")
        return not self.dry_run


def _code(exc: NbSecretsError) -> str:
    return (exc.code or "").removesuffix("Exception")


def _issuer(transport: Any, plan: _Plan) -> str:
    try:
        resp, _ = transport.call(
            "get_outbound_web_identity_federation_info",
            service="iam",
            target="outbound identity federation",
            action="iam:GetOutboundWebIdentityFederationInfo",
        )
        plan.found(f"AWS outbound identity federation is on; issuer {resp['IssuerIdentifier']}")
        return str(resp["IssuerIdentifier"])
    except NbSecretsError as exc:
        if _code(exc) != "FeatureDisabled":
            raise
    if not plan.change("enable AWS outbound identity federation for this account"):
        return "https://ISSUER-OF-THIS-ACCOUNT.tokens.sts.global.api.aws"
    try:
        resp, _ = transport.call(
            "enable_outbound_web_identity_federation",
            service="iam",
            write=True,
            target="outbound identity federation",
            action="iam:EnableOutboundWebIdentityFederation",
        )
    except NbSecretsError as exc:
        if _code(exc) != "FeatureEnabled":
            raise
        return _issuer(transport, plan)
    plan.out(f"    issuer {resp['IssuerIdentifier']}")
    return str(resp["IssuerIdentifier"])


def _roles(transport: Any, roles: Sequence[str], account: str) -> list[str]:
    arns = []
    for role in roles:
        name = role.rsplit("/", 1)[-1] if role.startswith("arn:") else role
        if role.startswith("arn:") and role.split(":")[4] != account:
            raise ConfigError(
                f"--role {role} is in account {role.split(':')[4]}, not {account}: "
                "the account's issuer only signs tokens for its own roles."
            )
        try:
            resp, _ = transport.call(
                "get_role", service="iam", target=name, action="iam:GetRole", RoleName=name
            )
        except KeyNotFoundError:
            raise ConfigError(f"--role {role}: no such role in account {account}.") from None
        except NbSecretsError as exc:
            if _code(exc) == "NoSuchEntity":
                raise ConfigError(f"--role {role}: no such role in account {account}.") from None
            raise
        arns.append(str(resp["Role"]["Arn"]))
    return arns


def _admin_credential(transport: Any, provider: str) -> str:
    sid, fieldname = ADMIN_SECRETS[provider]
    how = (
        f"store it as field {fieldname} of secret {sid} (an admin-only secret: `aws "
        f"secretsmanager create-secret --name {sid} --secret-string file://admin.json`)"
    )
    what = (
        "an OpenAI admin API key"
        if provider == "openai"
        else "an Anthropic OAuth token with the org:admin scope (`ant auth login --scope "
        "org:admin`; admin API keys are not accepted by the federation API)"
    )
    try:
        resp, _ = transport.call(
            "get_secret_value", target=sid, action="secretsmanager:GetSecretValue", SecretId=sid
        )
    except KeyNotFoundError:
        raise ConfigError(f"{provider}: federate needs {what}; {how}.") from None
    obj = json_object(resp.get("SecretString") or "")
    value = obj.get(fieldname) if obj is not None else None
    if not isinstance(value, str) or not value:
        raise ConfigError(
            f"{provider}: secret {sid} has no field {fieldname}; federate needs {what}; {how}."
        )
    from nbsecrets import redaction

    redaction.register(f"{provider}-admin", value)
    return value


def _base(provider: str) -> str:
    if provider == "openai":
        return (os.environ.get("NBSECRETS_OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip(
            "/"
        )
    return (os.environ.get("NBSECRETS_ANTHROPIC_BASE_URL") or "https://api.anthropic.com").rstrip(
        "/"
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:60] or "x"


def _openai(
    opts: FederateOptions,
    issuer: str,
    audience: str,
    arns: list[str],
    account: str,
    admin: str | None,
    plan: _Plan,
) -> dict[str, object]:
    base = _base("openai")
    headers = {"Authorization": f"Bearer {admin}"}
    root = f"{base}/organization/workload_identity_providers"
    providers: list[dict[str, Any]] = []
    after = None
    while admin is not None:
        query = urllib.parse.urlencode({"limit": 100, **({"after": after} if after else {})})
        _, page = request(
            "GET",
            f"{root}?{query}",
            headers,
            what="OpenAI GET /organization/workload_identity_providers",
        )
        providers += page.get("data") or []
        if not page.get("has_more") or not page.get("data"):
            break
        after = page.get("last_id")
    found = next(
        (p for p in providers if p.get("issuer") == issuer and p.get("audience") == audience), None
    )
    want_transform = [_OPENAI_SOURCE] if opts.per_user else []
    if found is None:
        body = {
            "name": f"aws-{account}",
            "issuer": issuer,
            "audience": audience,
            "type": "oidc",
            "enabled": True,
            "description": "AWS account issuer (nbsecrets federate)",
            "verification": {"type": "discovery", "discovery_url": None},
            "attribute_transformations": want_transform,
        }
        pid = "wip_NEW"
        if plan.change(f"OpenAI identity provider for issuer {issuer}, audience {audience}"):
            _, made = request(
                "POST",
                root,
                headers,
                body,
                what="OpenAI POST /organization/workload_identity_providers",
            )
            pid = str(made["id"])
            plan.out(f"    id {pid}")
        rules: list[dict[str, Any]] = []
    else:
        pid = str(found["id"])
        plan.found(f"OpenAI identity provider {pid} (issuer {issuer}, audience {audience})")
        have = found.get("attribute_transformations") or []
        if want_transform and not any(t.get("attribute") == "source_identity" for t in have):
            if plan.change(f"attribute transformation source_identity on {pid}"):
                request(
                    "POST",
                    f"{root}/{pid}",
                    headers,
                    {"attribute_transformations": [*have, *want_transform]},
                    what="OpenAI POST /organization/workload_identity_providers/{id}",
                )
        _, page = request(
            "GET",
            f"{root}/{pid}/federation_rules?"
            + urllib.parse.urlencode({"limit": 100, "service_account_id": opts.service_account_id}),
            headers,
            what="OpenAI GET .../federation_rules",
        )
        rules = page.get("data") or []
    for arn in arns:
        for user in opts.per_user or (None,):
            matchers: dict[str, object] = {"sub": arn}
            if user:
                matchers["openai.source_identity"] = user
            _refuse_open(matchers.get("sub"))
            rule = next(
                (
                    r
                    for r in rules
                    if r.get("attribute_matchers") == matchers
                    and r.get("service_account_id") == opts.service_account_id
                ),
                None,
            )
            label = f"rule {arn}" + (f" for user {user}" if user else "")
            if rule is not None:
                plan.found(f"OpenAI federation {label} ({rule.get('id')})")
                continue
            if plan.change(
                f"OpenAI federation {label} -> service account {opts.service_account_id}"
            ):
                request(
                    "POST",
                    f"{root}/{pid}/federation_rules",
                    headers,
                    {
                        "name": _slug(f"nbsecrets-{arn.rsplit('/', 1)[-1]}-{user or 'role'}"),
                        "description": "nbsecrets federate",
                        "enabled": True,
                        "attribute_matchers": matchers,
                        "project_id": opts.project_id,
                        "service_account_id": opts.service_account_id,
                        "permissions": {"type": "service_account_default"},
                    },
                    what="OpenAI POST .../federation_rules",
                )
    fed: dict[str, object] = {
        "audience": audience,
        "identity_provider_id": pid,
        "service_account_id": opts.service_account_id,
    }
    if opts.token_url and opts.token_url != OPENAI_TOKEN_URL:
        fed["token_url"] = opts.token_url
    return fed


def _refuse_open(sub: object) -> None:
    if not isinstance(sub, str) or not sub.startswith("arn:") or _WILD.search(sub):
        raise ConfigError("Refusing a rule that would accept any role; name each role exactly.")


def _anthropic_list(
    base: str, kind: str, headers: dict[str, str], extra: dict[str, str]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    page: str | None = None
    for _ in range(100):
        query = urllib.parse.urlencode({"limit": 100, **extra, **({"page": page} if page else {})})
        _, body = request(
            "GET",
            f"{base}/v1/organizations/{kind}?{query}",
            headers,
            what=f"Anthropic GET /v1/organizations/{kind}",
        )
        out += body.get("data") or []
        page = body.get("next_page")
        if not page:
            break
    return [o for o in out if not o.get("archived_at")]


def _anthropic(
    opts: FederateOptions,
    issuer: str,
    audience: str,
    arns: list[str],
    account: str,
    admin: str | None,
    plan: _Plan,
) -> dict[str, object]:
    base = _base("anthropic")
    headers = {"Authorization": f"Bearer {admin}", "anthropic-version": "2023-06-01"}
    issuers = _anthropic_list(base, "federation_issuers", headers, {}) if admin else []
    found = next((i for i in issuers if i.get("issuer_url") == issuer), None)
    rules: list[dict[str, Any]] = []
    if found is None:
        iid = "fdis_NEW"
        if plan.change(f"Anthropic federation issuer {issuer} (jti single use, discovery)"):
            _, made = request(
                "POST",
                f"{base}/v1/organizations/federation_issuers",
                headers,
                {
                    "name": _slug(f"aws-{account}"),
                    "issuer_url": issuer,
                    "jwks": {"type": "discovery"},
                    "check_jti": True,
                    "max_jwt_lifetime_seconds": max(3600, opts.duration_s),
                },
                what="Anthropic POST /v1/organizations/federation_issuers",
            )
            iid = str(made["id"])
            plan.out(f"    id {iid}")
    else:
        iid = str(found["id"])
        plan.found(f"Anthropic federation issuer {iid} ({issuer})")
        rules = _anthropic_list(base, "federation_rules", headers, {"issuer_id": iid})
    by_key: dict[str, str] = {}
    for arn in arns:
        for user in opts.per_user or (None,):
            _refuse_open(arn)
            match: dict[str, object] = {"subject_prefix": arn, "audience": audience}
            if user:
                match["condition"] = (
                    f'claims["{AWS_CLAIMS}"]["source_identity"] == {json.dumps(user)}'
                )
            target = {"type": "service_account", "service_account_id": opts.service_account_id}
            rule = next(
                (
                    r
                    for r in rules
                    if r.get("match", {}).get("subject_prefix") == arn
                    and r.get("match", {}).get("audience") == audience
                    and r.get("match", {}).get("condition") == match.get("condition")
                    and (r.get("target") or {}).get("service_account_id") == opts.service_account_id
                ),
                None,
            )
            label = f"rule {arn}" + (f" for user {user}" if user else "")
            rid = "fdrl_NEW"
            if rule is not None:
                rid = str(rule["id"])
                plan.found(f"Anthropic federation {label} ({rid})")
            elif plan.change(
                f"Anthropic federation {label} -> service account "
                f"{opts.service_account_id}, scope {opts.oauth_scope}"
            ):
                body: dict[str, object] = {
                    "issuer_id": iid,
                    "match": match,
                    "target": target,
                    "oauth_scope": opts.oauth_scope,
                    "description": "nbsecrets federate",
                    "name": _slug(f"nbsecrets-{arn.rsplit('/', 1)[-1]}-{user or 'role'}"),
                }
                if opts.workspace_id:
                    body["workspace_id"] = opts.workspace_id
                else:
                    body["applies_to_all_workspaces"] = True
                _, made = request(
                    "POST",
                    f"{base}/v1/organizations/federation_rules",
                    headers,
                    body,
                    what="Anthropic POST /v1/organizations/federation_rules",
                )
                rid = str(made["id"])
                plan.out(f"    id {rid}")
            by_key[user or arn] = rid
    fed: dict[str, object] = {
        "audience": audience,
        "organization_id": opts.organization_id,
        "service_account_id": opts.service_account_id,
    }
    if opts.workspace_id:
        fed["workspace_id"] = opts.workspace_id
    if len(by_key) == 1 and not opts.per_user:
        fed["federation_rule_id"] = next(iter(by_key.values()))
    else:
        fed["federation_rule_ids"] = by_key
    return fed


def federate(opts: FederateOptions, store: Any, out: Callable[[str], None] = print) -> int:
    """Set up ``opts.provider`` as a keyless provider; print each step. Returns the number
    of changes made (or planned, with ``dry_run``).

    Parameters
    ----------
    store : nbsecrets.aws.store.Store
        Its transport makes every AWS call (admin credentials); its config gives the prefix.

    Raises
    ------
    ConfigError
        A wildcard role, missing ids, no admin credential; nothing was changed.
    NbSecretsError
        An AWS or provider call failed; what was done before it is printed.
    """
    _check(opts)
    transport = store.transport
    plan = _Plan(opts.dry_run, out)
    account = str(transport.identity()["Account"])
    out(f"{opts.provider}: federating account {account}{' (dry run)' if opts.dry_run else ''}")
    arns = _roles(transport, opts.roles, account)
    for arn in arns:
        plan.found(f"role {arn}")
    admin = _admin_credential(transport, opts.provider)
    issuer = _issuer(transport, plan)
    audience = opts.audience or DEFAULT_AUDIENCES[opts.provider]
    build = _openai if opts.provider == "openai" else _anthropic
    fed = build(opts, issuer, audience, arns, account, admin, plan)
    if opts.duration_s != DEFAULT_DURATION_S:
        fed["duration_seconds"] = opts.duration_s
    _write_secret(store, opts.provider, fed, plan)
    grant = (
        opts.provider
        if audience == DEFAULT_AUDIENCES[opts.provider]
        else (f"{opts.provider}={audience}")
    )
    if opts.duration_s != DEFAULT_DURATION_S:
        grant += f" --token-duration {opts.duration_s}"
    out(
        f"{opts.provider}: {plan.changes} change{'s' if plan.changes != 1 else ''}"
        f"{' planned' if opts.dry_run else ''}; the role policy must allow "
        f"sts:GetWebIdentityToken for audience {audience} ({opts.duration_s} s): "
        f"`nbsecrets provision --role ROLE --provider {opts.provider} --federated {grant}`."
    )
    return plan.changes


def _write_secret(store: Any, provider: str, fed: dict[str, object], plan: _Plan) -> None:
    sid = f"{store.config.prefix}{provider}"
    payload = json.dumps({"federation": fed}, indent=2, sort_keys=True)
    transport = store.transport
    current = None
    tags: dict[str, str] = {}
    try:
        resp, _ = transport.call(
            "get_secret_value", target=sid, action="secretsmanager:GetSecretValue", SecretId=sid
        )
        current = resp.get("SecretString")
        desc, _ = transport.call(
            "describe_secret", target=sid, action="secretsmanager:DescribeSecret", SecretId=sid
        )
        tags = {t["Key"]: t.get("Value", "") for t in desc.get("Tags", [])}
    except KeyNotFoundError:
        pass
    obj = None
    try:
        obj = json_object(current) if current else None
    except NbSecretsError:
        obj = None
    if obj is not None and obj.get("federation") == json.loads(payload)["federation"]:
        plan.found(f"secret {sid} holds these federation settings")
    else:
        what = (
            "replace the key in"
            if current is not None and (obj is None or "federation" not in obj)
            else "write"
        )
        if plan.change(
            f"{what} secret {sid}: federation settings (ids only; the previous "
            "value stays as AWSPREVIOUS)"
        ):
            store.put(provider, payload)
            store.forget(sid)
    if tags.get(MODE_TAG) != "federated":
        if plan.change(f"tag {sid} {MODE_TAG}=federated"):
            transport.call(
                "tag_resource",
                target=sid,
                write=True,
                action="secretsmanager:TagResource",
                SecretId=sid,
                Tags=[{"Key": MODE_TAG, "Value": "federated"}],
            )
