"""Does this set of IAM policies allow ACTION on ARN? A small evaluator of identity policies.

Written from AWS's documented policy evaluation logic for one account's identity policies:
a request is denied by default; an applicable ``Deny`` statement always wins; otherwise an
applicable ``Allow`` statement allows it. A statement applies when its ``Action`` (or
``NotAction``), its ``Resource`` (or ``NotResource``) and its ``Condition`` all match.

- Actions match case-insensitively; ``*`` matches any run of characters, ``?`` any one.
- Resources (ARNs) match case-sensitively, segment by segment (the parts between colons):
  ``?`` is one character of its segment, ``*`` any run within its segment, except that a
  ``*`` ending a segment may expand beyond the colon (AWS: "If the * wildcard is the last
  character of a resource ARN segment, it can expand to match beyond the colon boundaries").
- Conditions: the String*, Arn* (each of the ARN's six components matched separately), Bool
  and Null operators, with ``IfExists``, their ``Not`` forms and the set qualifiers
  ``ForAllValues:`` / ``ForAnyValue:``, against a context of keys you pass. Any other
  operator is not understood, and is answered safely: an ``Allow`` carrying it does not
  apply, a ``Deny`` carrying it does.

Not covered, because nbsecrets' policies do not use them: permission boundaries, SCPs and
session policies, policy variables, numeric, date and IP operators. Resource policies
(``Principal`` / ``NotPrincipal``) are :func:`nbsecrets.admin.resource_policy.decide`'s.
The tests check this module against an evaluator we did not write (``@cloud-copilot/
iam-simulate``, tests/iamsim/) on every grant of the generated policies.

This module depends on nothing outside the standard library, on purpose: ``nbsecrets doctor``
uses it at run time, where parliament (a dev dependency) is not installed, and parliament's
glob matcher treats ``?`` as a literal character, which would misread the ``-??????`` that
our policies rely on. The tests check our action matching against parliament's expansion.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Decision",
    "Statement",
    "action_matches",
    "allows",
    "evaluate",
    "resource_matches",
    "statements",
]

Context = Mapping[str, str | Sequence[str]]


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = ("." if c == "?" else ".*" if c == "*" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


@functools.lru_cache(maxsize=1024)
def _arn_glob(pattern: str) -> re.Pattern[str]:
    """A Resource pattern: wildcards within the colon-separated segments of the ARN; a ``*``
    that ends a segment may expand beyond the colon (IAM User Guide, "Resource": "If the *
    wildcard is the last character of a resource ARN segment, it can expand to match beyond
    the colon boundaries"); any other ``*``, and every ``?``, stays within its segment."""
    out = []
    for i, c in enumerate(pattern):
        if c == "?":
            out.append("[^:]")
        elif c == "*":
            last = i + 1 == len(pattern) or pattern[i + 1] == ":"
            out.append(".*" if last else "[^:]*")
        else:
            out.append(re.escape(c))
    return re.compile("".join(out), re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """True if the policy's action ``pattern`` (``secretsmanager:Get*``) covers ``action``."""
    if pattern == "*":
        return True
    return _glob(pattern, True).fullmatch(action) is not None


def resource_matches(pattern: str, arn: str) -> bool:
    """True if the policy's resource ``pattern`` covers the ARN ``arn`` (case-sensitive)."""
    if pattern == "*":
        return True
    return _arn_glob(pattern).fullmatch(arn) is not None


def arn_like(pattern: str, value: str) -> bool:
    """The ArnLike / ArnEquals test: each of the six colon-delimited components of the ARN is
    matched separately, with ``*`` and ``?`` (IAM User Guide, condition operators)."""
    if pattern == "*":
        return True
    want, got = pattern.split(":", 5), value.split(":", 5)
    if len(want) != 6 or len(got) != 6:
        return False
    return all(_glob(w, False).fullmatch(g) is not None for w, g in zip(want, got, strict=True))


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@dataclass(frozen=True)
class Statement:
    """One statement, normalised: every element a list, which of Action/NotAction it used."""

    effect: str
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    condition: Mapping[str, Mapping[str, Any]]
    sid: str
    source: str

    def covers_action(self, action: str) -> bool:
        hit = any(action_matches(p, action) for p in self.actions)
        return hit != self.not_action

    def covers_resource(self, arn: str) -> bool:
        hit = any(resource_matches(p, arn) for p in self.resources)
        return hit != self.not_resource


def statements(policy: Mapping[str, Any] | str, source: str = "policy") -> list[Statement]:
    """The statements of a policy document (a dict, or its JSON text)."""
    doc = json.loads(policy) if isinstance(policy, str) else policy
    out = []
    for i, raw in enumerate(_list(doc.get("Statement"))):
        not_action = "NotAction" in raw
        not_resource = "NotResource" in raw
        out.append(
            Statement(
                effect=str(raw.get("Effect", "")),
                actions=tuple(_list(raw.get("NotAction" if not_action else "Action"))),
                not_action=not_action,
                resources=tuple(_list(raw.get("NotResource" if not_resource else "Resource"))),
                not_resource=not_resource,
                condition=raw.get("Condition") or {},
                sid=str(raw.get("Sid") or f"#{i + 1}"),
                source=source,
            )
        )
    return out


# -- conditions -------------------------------------------------------------------------------


def _positive_op(base: str) -> Callable[[str, str], bool] | None:
    """The test of a positive string, ARN or Bool operator: (context value, policy value)."""
    table: dict[str, Callable[[str, str], bool]] = {
        "StringEquals": lambda v, p: v == p,
        "StringEqualsIgnoreCase": lambda v, p: v.lower() == p.lower(),
        "StringLike": lambda v, p: _glob(p, False).fullmatch(v) is not None,
        "ArnEquals": lambda v, p: arn_like(p, v),
        "ArnLike": lambda v, p: arn_like(p, v),
        "Bool": lambda v, p: v.lower() == p.lower(),
    }
    return table.get(base)


def _value_matches(base: str, value: str, patterns: Sequence[str]) -> bool | None:
    """One context value against the policy's values (ORed): a positive operator matches one;
    its ``Not`` form matches none. None when the operator is not understood."""
    negated = base.startswith(("StringNot", "ArnNot"))
    test = _positive_op(base.replace("Not", "", 1) if negated else base)
    if test is None:
        return None
    hit = any(test(value, p) for p in patterns)
    return not hit if negated else hit


def _condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Context) -> bool | None:
    """True or False; None when an operator is not understood.

    AWS's rules (IAM User Guide, "Condition operators" and "Multivalued context keys"):
    several policy values are ORed, and a ``Not`` operator holds when the value matches none
    of them; a missing key fails a positive operator and passes a negated one or ``IfExists``;
    ``ForAllValues`` holds when every value of the key holds (also when there are none),
    ``ForAnyValue`` when at least one does (never when there are none); an operator without a
    set qualifier does not hold for a key with several values. ``Null`` tests presence.
    """
    ctx = {k.lower(): v for k, v in context.items()}
    for op, entries in condition.items():
        qualifier, _, op = op.rpartition(":")  # ForAllValues / ForAnyValue on multi-valued keys
        if qualifier not in ("", "ForAllValues", "ForAnyValue") or not isinstance(entries, Mapping):
            return None
        if_exists = op.endswith("IfExists")
        base = op.removesuffix("IfExists")
        for key, wanted in entries.items():
            present = key.lower() in ctx and _list(ctx[key.lower()]) != []
            patterns = [str(p).lower() if base == "Null" else str(p) for p in _list(wanted)]
            if base == "Null":
                if not any((p == "true") != present for p in patterns):
                    return False
                continue
            if not present:
                if qualifier == "ForAnyValue":
                    return False if _value_matches(base, "", patterns) is not None else None
                if qualifier == "ForAllValues" or if_exists:
                    continue
                negated = base.startswith(("StringNot", "ArnNot"))
                if _value_matches(base, "", patterns) is None:
                    return None
                if negated:
                    continue
                return False
            raw = ctx[key.lower()]
            values = [str(v) for v in _list(raw)]
            results = [_value_matches(base, v, patterns) for v in values]
            if any(r is None for r in results):
                return None
            if qualifier == "ForAllValues":
                ok = all(results)
            elif qualifier == "ForAnyValue":
                ok = any(results)
            else:  # without a set qualifier, a key with several values does not match
                ok = len(values) == 1 and bool(results[0])
            if not ok:
                return False
    return True


# -- evaluation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The answer: allowed or not, and why (``explicit deny``, ``allowed``, ``implicit deny``)."""

    allowed: bool
    reason: str
    statement: Statement | None = None

    def __bool__(self) -> bool:
        return self.allowed


def _flatten(policies: Iterable[Any]) -> list[Statement]:
    out: list[Statement] = []
    for policy in policies:
        if isinstance(policy, Statement):
            out.append(policy)
        elif isinstance(policy, tuple) and len(policy) == 2:  # (name, document)
            out.extend(statements(policy[1], policy[0]))
        else:
            out.extend(statements(policy))
    return out


def evaluate(
    policies: Iterable[Any], action: str, resource: str, context: Context | None = None
) -> Decision:
    """Evaluate ``action`` on ``resource`` against identity ``policies``.

    Parameters
    ----------
    policies : iterable
        Policy documents (dicts or JSON text), ``(name, document)`` pairs, or Statements.
    action : str
        ``service:Action``, e.g. ``secretsmanager:GetSecretValue``.
    resource : str
        The ARN the request is for (``*`` for actions without a resource type).
    context : mapping, optional
        Condition keys of the request, e.g. ``{"kms:ViaService": "secretsmanager...."}``.
    """
    context = context or {}
    allow: Statement | None = None
    for st in _flatten(policies):
        if not (st.covers_action(action) and st.covers_resource(resource)):
            continue
        holds = _condition_holds(st.condition, context) if st.condition else True
        if st.effect == "Deny" and holds is not False:
            return Decision(False, "explicit deny", st)
        if st.effect == "Allow" and holds is True and allow is None:
            allow = st
    if allow is not None:
        return Decision(True, "allowed", allow)
    return Decision(False, "implicit deny")


def allows(
    policies: Iterable[Any], action: str, resource: str, context: Context | None = None
) -> bool:
    """True if ``policies`` allow ``action`` on ``resource``; see :func:`evaluate`."""
    return evaluate(policies, action, resource, context).allowed
