"""``nbsecrets doctor``: who am I, where, with which role, which keys it can read, and what
it is granted beyond that.

The role is resolved as SageMaker's ``get_execution_role`` does: the notebook's resource
metadata, then SageMaker's describe calls, else STS GetCallerIdentity turning an assumed-role
ARN into the role ARN. Whether the role may read each key is answered by IAM's
SimulatePrincipalPolicy where it works, else by :mod:`nbsecrets.admin.evaluator` over the role's
policies; the report says which. Values are never printed. For keyless providers (a secret
holding federation settings) it says whether the role may get an STS token for each one's
audience and lifetime, and flags a grant that leaves the audience or the lifetime open.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbsecrets.admin import evaluator, secret_policy
from nbsecrets.admin.escalation import ESCALATIONS, escalation_probes, escalations, named_probes
from nbsecrets.admin.policy import CLIENT_TAG_KEYS, partition_of
from nbsecrets.admin.token_grants import TOKEN, context_entries, token_audiences, token_findings
from nbsecrets.aws import errors as awserrors
from nbsecrets.aws.sagemaker import SAGEMAKER_METADATA, execution_role
from nbsecrets.aws.store import Store
from nbsecrets.config import Config
from nbsecrets.errors import AccessDeniedError, NbSecretsError
from nbsecrets.federation.settings import Federation

__all__ = [
    "Finding",
    "Report",
    "broad_grants",
    "run",
    "simulate",
    "tag_grants",
]

READ = "secretsmanager:GetSecretValue"


@dataclass(frozen=True)
class Finding:
    """One line of the report: ``ok``, ``info``, ``warn`` or ``error``, and the fix if any."""

    level: str
    text: str
    fix: str = ""

    def line(self) -> str:
        mark = {"ok": "ok  ", "info": "    ", "warn": "WARN", "error": "FAIL"}[self.level]
        return f"{mark} {self.text}" + (f" Fix: {self.fix}" if self.fix else "")


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    def add(self, level: str, text: str, fix: str = "") -> None:
        self.findings.append(Finding(level, text, fix))

    @property
    def ok(self) -> bool:
        """False when any finding is a warning or an error (``doctor`` then exits 1)."""
        return not any(f.level in ("warn", "error") for f in self.findings)

    def text(self) -> str:
        return "\n".join(f.line() for f in self.findings)


# -- the role ---------------------------------------------------------------------------------

# -- the role's policies ----------------------------------------------------------------------


def role_policies(iam: Any, role_name: str) -> list[tuple[str, dict[str, Any]]]:
    """The role's inline and attached managed policies as ``(name, document)`` pairs."""
    out: list[tuple[str, dict[str, Any]]] = []
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name):
        for name in page["PolicyNames"]:
            doc = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
            out.append((f"inline policy {name}", _doc(doc)))
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name):
        for pol in page["AttachedPolicies"]:
            version = iam.get_policy(PolicyArn=pol["PolicyArn"])["Policy"]["DefaultVersionId"]
            doc = iam.get_policy_version(PolicyArn=pol["PolicyArn"], VersionId=version)
            out.append(
                (f"managed policy {pol['PolicyName']}", _doc(doc["PolicyVersion"]["Document"]))
            )
    return out


def _doc(doc: Any) -> dict[str, Any]:
    if isinstance(doc, str):
        doc = json.loads(urllib.parse.unquote(doc) if doc.startswith("%") else doc)
    return doc


def broad_grants(policies: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """Allow statements wider than nbsecrets needs: ``*:*``, ``secretsmanager:*``, and
    GetSecretValue on ``*`` (or on everything but a few ARNs, through NotResource)."""
    found = []
    for st in (s for name, doc in policies for s in evaluator.statements(doc, name)):
        if st.effect != "Allow":
            continue
        where = f"{st.source}, statement {st.sid}"
        if st.not_action:
            found.append(f"{where} allows every action except {', '.join(st.actions)} (NotAction)")
        elif any(a in ("*", "*:*") for a in st.actions):
            found.append(f"{where} allows every action (*:*)")
        elif wide := [
            a
            for a in st.actions
            if evaluator.action_matches(a, "secretsmanager:DeleteSecret")
            and evaluator.action_matches(a, "secretsmanager:GetSecretValue")
        ]:
            what = (
                "secretsmanager:* (every Secrets Manager action)"
                if wide[0].lower() == "secretsmanager:*"
                else f"{wide[0]}, which covers reading and deleting secrets"
            )
            found.append(f"{where} allows {what}")
        elif st.covers_action(READ) and (st.not_resource or "*" in st.resources):
            found.append(
                f"{where} allows secretsmanager:GetSecretValue on every secret (Resource *)"
            )
    return found


# nbsecrets: tag keys no client writes; a role that may set one could steer whatever reads it
# (rotation once read nbsecrets:openai-project and nbsecrets:rotation-grace-days).
_PROBE_TAGS = ("nbsecrets:openai-project", "nbsecrets:rotation-grace-days", "nbsecrets:x-probe")


def tag_grants(policies: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """Grants by which the role may write an ``nbsecrets:`` tag other than the client's own
    (:data:`nbsecrets.admin.policy.CLIENT_TAG_KEYS`) on a secret its policies name.

    Probed with TagResource, which every tag write needs (CreateSecret with tags too), with
    the evaluator over all the role's policies, so a Deny still wins.
    """
    found: list[str] = []
    action = "secretsmanager:TagResource"
    for st in (s for name, doc in policies for s in evaluator.statements(doc, name)):
        if st.effect != "Allow" or not st.covers_action(action):
            continue
        arns = ["*"] if st.not_resource else [r.replace("?", "A") for r in st.resources]
        for tag in _PROBE_TAGS:
            context = {"aws:TagKeys": [tag]}
            hit = next((a for a in arns if evaluator.allows(policies, action, a, context)), None)
            if hit is not None:
                found.append(
                    f"{st.source}, statement {st.sid} lets the role set the tag {tag} "
                    f"(TagResource on {hit}); a notebook may set only "
                    f"{', '.join(CLIENT_TAG_KEYS)}"
                )
                break
    return found


def simulate(
    iam: Any,
    role_arn: str,
    actions: Sequence[str],
    arns: Sequence[str],
    context: dict[str, str | list[str]] | None = None,
) -> dict[tuple[str, str], bool]:
    """Ask IAM's SimulatePrincipalPolicy; ``{(action, arn): allowed}``.

    ``arns`` empty: the actions without a resource (``*``). ``context``: condition keys of
    the request (a list is a stringList, a digit string numeric, else a string).

    Raises whatever the client raises (the emulator answers HTTP 500).
    """
    extra: dict[str, Any] = {"ResourceArns": list(arns)} if arns else {}
    if context:
        extra["ContextEntries"] = context_entries(context)
    resp = iam.simulate_principal_policy(
        PolicySourceArn=role_arn, ActionNames=list(actions), **extra
    )
    return {
        (r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] == "allowed"
        for r in resp["EvaluationResults"]
    }


def _iam_client(store: Store) -> Any:
    # One attempt: the emulator answers SimulatePrincipalPolicy with HTTP 500, and a retried
    # 500 would cost three requests before the local answer is used anyway.
    return store.client("iam", attempts=1, connect_timeout_s=3, read_timeout_s=10)


# -- the report -------------------------------------------------------------------------------


def run(
    *,
    config: Config | None = None,
    providers: Sequence[str] = (),
    role: str | None = None,
    metadata_path: Path = SAGEMAKER_METADATA,
    session: Any = None,
    iam: Any = None,
    at_start: bool = False,
) -> Report:
    """Check identity, region, role, keys and grants; never raises for AWS problems.

    Parameters
    ----------
    providers : sequence of str
        Keys to check; default: the secrets under the prefix that ListSecrets shows.
    role : str, optional
        Check this role's policies instead of the execution role (for admins).
    metadata_path : Path
        The SageMaker resource metadata file.
    session, iam : optional
        A boto3 session, and an IAM client for the role's policies and the simulation
        (default: one from the session that makes a single attempt per request).
    at_start : bool
        The lifecycle script's check: only what can cause no AccessDenied in CloudTrail
        (configuration, STS GetCallerIdentity), no reads of keys, no IAM or SageMaker calls.
    """
    report = Report()
    try:
        store = Store(config, session=session)
        region = store.region
    except NbSecretsError as exc:
        report.add("error", f"Configuration: {exc}")
        return report
    endpoint = store.client().meta.endpoint_url
    report.add(
        "info",
        f"Region {region}, Secrets Manager endpoint {endpoint}, prefix {store.config.prefix}",
    )
    try:
        ident = store.identity()
    except NbSecretsError as err:
        report.add("error", f"Identity: {err}")
        return report
    account = ident["Account"]
    report.add("ok", f"Identity {ident['Arn']} (account {account})")
    if at_start:
        report.add(
            "info",
            "Start-time check only; `nbsecrets doctor` in a terminal checks the keys and grants.",
        )
        return report

    role_arn, how = _role(store, role, metadata_path)
    if role_arn:
        report.add("ok", f"Role {role_arn} ({how})")
    else:
        report.add("info", f"No execution role to check: {how}.")

    keys = _keys(store, providers, report)
    readable: list[str] = []
    federated: dict[str, Federation] = {}
    arns = _check_reads(store, keys, account, region, report, readable, federated)
    for level, text, fix in secret_policy.findings(store.client(), readable):
        report.add(level, text, fix)
    if role_arn:
        _check_grants(
            store, iam or _iam_client(store), role_arn, arns, account, region, report, federated
        )
    return report


def _role(store: Store, role: str | None, metadata_path: Path) -> tuple[str | None, str]:
    if role:
        if role.startswith("arn:"):
            return role, "given"
        try:
            return store.client(service="iam").get_role(RoleName=role)["Role"]["Arn"], "given"
        except Exception as exc:
            return None, f"role {role} could not be read ({awserrors.error_code(exc)})"
    return execution_role(
        store.client(service="sagemaker"),
        store.client(service="sts"),
        metadata_path,
        iam=store.client(service="iam"),
    )


def _keys(store: Store, providers: Sequence[str], report: Report) -> list[str]:
    if providers:
        return list(providers)
    try:
        listed = store.list_keys()
    except NbSecretsError as exc:
        # A policy made with --no-list is not wrong: say how to check named keys instead.
        report.add(
            "info",
            f"Cannot list the keys under {store.config.prefix} ({exc}); name "
            "the keys to check them: `nbsecrets doctor --provider openai`.",
        )
        return []
    if not listed:
        report.add(
            "info",
            f"No keys under {store.config.prefix} yet; store one with `nbsecrets set PROVIDER`.",
        )
    return [k.provider for k in listed]


def _check_reads(
    store: Store,
    names: Sequence[str],
    account: str,
    region: str,
    report: Report,
    readable: list[str],
    federated: dict[str, Federation],
) -> dict[str, str]:
    """Read each key for real (the value is discarded); return provider -> secret ARN.
    Secrets holding federation settings are collected in ``federated`` (label -> settings)."""
    arns: dict[str, str] = {}
    for name in names:
        try:
            ref = store.config.ref(name)
        except NbSecretsError as exc:
            report.add("error", f"Key {name}: {exc}")
            continue
        guess = (
            ref.secret_id
            if ref.secret_id.startswith("arn:")
            else (
                f"arn:{partition_of(region)}:secretsmanager:{region}:{account}:secret:"
                f"{ref.secret_id}-AbCdEf"
            )
        )
        try:
            [key] = store.fetch([ref], refresh=True)
        except AccessDeniedError as exc:
            # A key under the prefix that this role is not granted is not a fault.
            report.add("info", f"Key {name} is not granted to this role ({exc})")
            arns[ref.label] = guess
            continue
        except NbSecretsError as exc:
            report.add("error", f"Key {name}: {exc}")
            arns[ref.label] = guess
            continue
        arns[ref.label] = key.secret.arn or guess
        readable.append(key.secret.arn or key.secret.name)
        if key.federation is not None:
            federated[ref.label] = key.federation
            report.add(
                "ok",
                f"Key {ref.label} is federated ({key.secret.name} holds its settings: audience "
                f"{key.federation.audience}, {key.federation.duration_s} s tokens).",
            )
            continue
        report.add(
            "ok",
            f"Key {ref.label} is readable ({key.secret.name}, version "
            f"{key.secret.version_id[:8]}).",
        )
    return arns


def _check_grants(
    store: Store,
    iam: Any,
    role_arn: str,
    arns: dict[str, str],
    account: str,
    region: str,
    report: Report,
    federated: dict[str, Federation] | None = None,
) -> None:
    name = role_arn.rsplit("/", 1)[-1]
    try:
        policies = role_policies(iam, name)
    except Exception as exc:
        policies = None
        report.add(
            "info",
            f"Cannot read the policies of role {name} "
            f"({awserrors.error_code(exc) or type(exc).__name__}); an admin can "
            f"run `nbsecrets doctor --role {name}` to check them.",
        )
    if policies is not None:
        broad = broad_grants(policies) + tag_grants(policies)
        for text in broad:
            report.add(
                "warn",
                f"Over-broad grant: {text}.",
                f"replace it with the least-privilege policy: `nbsecrets provision "
                f"--role {name}` (see `nbsecrets policy`), and remove the wide grant.",
            )
        if not broad:
            report.add(
                "ok", f"No grant wider than needed in the {len(policies)} policies of role {name}."
            )
    outside = (
        f"arn:{partition_of(region)}:secretsmanager:{region}:{account}:secret:"
        f"nbsecrets-doctor-probe-outside-prefix-AbCdEf"
    )
    probes = {**arns, "(a secret outside the prefix)": outside}
    answers, how = None, ""
    widen = escalation_probes(
        role_arn, region, [a for a in arns.values()], store.config.kms_key_id or None
    )
    if policies is not None:
        widen = named_probes(policies, widen)
    may: Callable[[str, str], bool]
    may_token: Callable[[dict[str, str | list[str]]], bool]
    try:
        answers = simulate(iam, role_arn, [READ], list(probes.values()))
        how = "IAM SimulatePrincipalPolicy"
        simulated: dict[tuple[str, str], bool] = {}
        for target, actions, _ in ESCALATIONS:
            simulated |= simulate(iam, role_arn, actions, widen[target])
        may = lambda action, arn: simulated.get((action, arn), False)  # noqa: E731

        def may_token(context: dict[str, str | list[str]]) -> bool:
            return simulate(iam, role_arn, [TOKEN], [], context).get((TOKEN, "*"), False)

    except Exception as exc:
        if policies is None:
            report.add(
                "info",
                "Skipped the policy check: SimulatePrincipalPolicy failed "
                f"({awserrors.error_code(exc) or type(exc).__name__}) and the "
                "policies could not be read.",
            )
            return
        local = policies
        answers = {(READ, arn): evaluator.allows(local, READ, arn) for arn in probes.values()}
        may = lambda action, arn: evaluator.allows(local, action, arn)  # noqa: E731
        may_token = lambda context: evaluator.allows(local, TOKEN, "*", context)  # noqa: E731
        how = (
            f"local evaluation of the role's policies (SimulatePrincipalPolicy failed: "
            f"{awserrors.error_code(exc) or type(exc).__name__}; offline, so not IAM's own "
            "evaluator)"
        )
    report.add("info", f"Policy answers below come from {how}.")
    for text, fix in escalations(may, widen):
        report.add("warn", text, fix)
    try:
        named = token_audiences(policies) if policies is not None else []
        for level, text, fix in token_findings(may_token, federated or {}, named, name):
            report.add(level, text, fix)
    except Exception as exc:  # a simulation that answered before and fails now
        report.add(
            "info",
            "Skipped the STS token check: SimulatePrincipalPolicy failed "
            f"({awserrors.error_code(exc) or type(exc).__name__}).",
        )
    for label, arn in probes.items():
        allowed = answers.get((READ, arn), False)
        if label == "(a secret outside the prefix)":
            if allowed:
                report.add(
                    "warn",
                    f"The role may read secrets outside {store.config.prefix} "
                    f"(GetSecretValue allowed on {arn}).",
                    f"narrow it with `nbsecrets provision --role {name}`.",
                )
        elif allowed:
            report.add("ok", f"Policy allows GetSecretValue on {label}.")
        else:  # information: provision merges, so the fix drops no grant
            report.add(
                "info",
                f"Policy does not allow GetSecretValue on {label} ({arn}); "
                f"to grant it: `nbsecrets provision --role {name} --prefix "
                f"{store.config.prefix} --provider {label}` (adds to the "
                "role's policy).",
            )
