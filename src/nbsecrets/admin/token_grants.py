"""``nbsecrets doctor``'s checks of the keyless providers' STS grant: may the role get each
federated provider's token (its audience and lifetime), and does a grant leave the audience or
the lifetime open. Answers come from a callable given the request's condition keys (IAM's
SimulatePrincipalPolicy with context entries, or the package's evaluator).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nbsecrets.admin import evaluator
from nbsecrets.federation.settings import Federation

__all__ = [
    "LONGEST_S",
    "PROBE_AUDIENCE",
    "TOKEN",
    "context_entries",
    "token_audiences",
    "token_context",
    "token_findings",
]

TOKEN = "sts:GetWebIdentityToken"
# An audience no one configures: a role allowed a token for it is allowed any audience.
PROBE_AUDIENCE = "https://nbsecrets-doctor-probe.invalid"
LONGEST_S = 3600  # the longest token STS vends


def context_entries(context: dict[str, str | list[str]]) -> list[dict[str, Any]]:
    """SimulatePrincipalPolicy's ContextEntries for ``context``: a list is a stringList, a
    digit string numeric, anything else a string."""
    return [
        {
            "ContextKeyName": key,
            "ContextKeyValues": list(value) if isinstance(value, list) else [value],
            "ContextKeyType": "stringList"
            if isinstance(value, list)
            else "numeric"
            if value.isdigit()
            else "string",
        }
        for key, value in context.items()
    ]


def token_context(audiences: Sequence[str], seconds: int) -> dict[str, str | list[str]]:
    """The condition keys of a GetWebIdentityToken request for ``audiences`` and ``seconds``."""
    return {"sts:IdentityTokenAudience": list(audiences), "sts:DurationSeconds": str(seconds)}


def token_audiences(policies: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """The audiences that Allow statements covering GetWebIdentityToken name in a condition."""
    found: list[str] = []
    for st in (s for name, doc in policies for s in evaluator.statements(doc, name)):
        if st.effect != "Allow" or not st.covers_action(TOKEN):
            continue
        for op, entries in st.condition.items():
            if op.rpartition(":")[2].startswith(("Null", "StringNot")):
                continue  # presence tests and exclusions name no audience to check
            for key, values in (entries or {}).items():
                if key.lower() == "sts:identitytokenaudience":
                    found += [v for v in (values if isinstance(values, list) else [values])]
    return [a for a in dict.fromkeys(found) if isinstance(a, str) and "*" not in a]


def token_findings(
    may: Callable[[dict[str, str | list[str]]], bool],
    federated: dict[str, Federation],
    named: Sequence[str] = (),
    role: str = "ROLE",
) -> list[tuple[str, str, str]]:
    """``(level, text, fix)`` about sts:GetWebIdentityToken: for each federated provider,
    whether ``may`` (the role's answer for a request's condition keys) allows its audience and
    lifetime; and a warning when a token for any audience (a probe audience, alone or beside a
    configured one) or a longer lifetime than the settings ask is allowed."""
    out: list[tuple[str, str, str]] = []
    for label, fed in federated.items():
        if may(token_context([fed.audience], fed.duration_s)):
            out.append(
                (
                    "ok",
                    f"Role may get an STS token for {label} (audience {fed.audience}, "
                    f"{fed.duration_s} s).",
                    "",
                )
            )
        else:
            out.append(
                (
                    "error",
                    f"Role may not call sts:GetWebIdentityToken for {label}'s audience "
                    f"{fed.audience} with a {fed.duration_s} s lifetime, so `%aikey {label}` "
                    "fails.",
                    f"`nbsecrets provision --role {role} --provider {label} --federated "
                    f"{label}={fed.audience} --token-duration {fed.duration_s}`.",
                )
            )
    known = list(dict.fromkeys([*(f.audience for f in federated.values()), *named]))
    fix = (
        f"grant it only as `nbsecrets provision --role {role} --federated PROVIDER` does "
        "(ForAllValues:StringEquals sts:IdentityTokenAudience, NumericLessThanEquals "
        "sts:DurationSeconds), and remove the wider grant."
    )
    if may(token_context([PROBE_AUDIENCE], 300)) or any(
        may(token_context([a, PROBE_AUDIENCE], 300)) for a in known
    ):
        out.append(
            (
                "warn",
                "The role may get STS web identity tokens for any audience "
                f"(allowed for {PROBE_AUDIENCE}): each is a credential for every service "
                "that trusts this account's issuer.",
                fix,
            )
        )
    longest = max((f.duration_s for f in federated.values()), default=300)
    if longest < LONGEST_S:
        for audience in known:
            if may(token_context([audience], LONGEST_S)):
                out.append(
                    (
                        "warn",
                        f"The role may get STS tokens for audience {audience} valid for "
                        f"{LONGEST_S} s, longer than the {longest} s the federation settings "
                        "ask: the lifetime is left open.",
                        fix,
                    )
                )
    return out
