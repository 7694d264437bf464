"""Does this set of IAM policies allow ACTION on ARN? A small evaluator of identity policies.

Written from AWS's documented policy evaluation logic for one account's identity policies:
a request is denied by default; an applicable ``Deny`` statement always wins; otherwise an
applicable ``Allow`` statement allows it. A statement applies when its ``Action`` (or
``NotAction``), its ``Resource`` (or ``NotResource``) and its ``Condition`` all match.

- Actions match case-insensitively; ``*`` matches any run of characters, ``?`` any one.
- Resources (ARNs) match case-sensitively with the same wildcards. ``*`` may run across the
  ``:`` between ARN segments (AWS: a ``*`` at the end of a segment can match beyond it).
- Conditions: the String*, Arn* and Bool operators, with ``IfExists``, against a context of
  keys you pass. Any other operator is not understood, and is answered safely: an ``Allow``
  carrying it does not apply, a ``Deny`` carrying it does.

Not covered, because nbsecrets' policies do not use them: resource policies, permission
boundaries, SCPs and session policies, policy variables. ``ForAllValues:`` (every value of a
multi-valued key, such as ``aws:TagKeys``, matches; true when there is none) and
``ForAnyValue:`` qualify the operators above.

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


def action_matches(pattern: str, action: str) -> bool:
    """True if the policy's action ``pattern`` (``secretsmanager:Get*``) covers ``action``."""
    if pattern == "*":
        return True
    return _glob(pattern, True).fullmatch(action) is not None


def resource_matches(pattern: str, arn: str) -> bool:
    """True if the policy's resource ``pattern`` covers the ARN ``arn`` (case-sensitive)."""
    if pattern == "*":
        return True
    return _glob(pattern, False).fullmatch(arn) is not None


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


def _string_op(base: str) -> Callable[[str, Any], bool] | None:
    """The test of a string or ARN condition operator: (context value, policy value)."""
    table: dict[str, Callable[[str, Any], bool]] = {
        "StringEquals": lambda v, p: v == p,
        "StringNotEquals": lambda v, p: v != p,
        "StringEqualsIgnoreCase": lambda v, p: v.lower() == p.lower(),
        "StringNotEqualsIgnoreCase": lambda v, p: v.lower() != p.lower(),
        "StringLike": lambda v, p: resource_matches(p, v),
        "StringNotLike": lambda v, p: not resource_matches(p, v),
        "ArnEquals": lambda v, p: resource_matches(p, v),
        "ArnLike": lambda v, p: resource_matches(p, v),
        "ArnNotEquals": lambda v, p: not resource_matches(p, v),
        "ArnNotLike": lambda v, p: not resource_matches(p, v),
        "Bool": lambda v, p: v.lower() == str(p).lower(),
    }
    return table.get(base)


def _condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Context) -> bool | None:
    """True or False; None when an operator is not understood."""
    ctx = {k.lower(): v for k, v in context.items()}
    for op, entries in condition.items():
        qualifier, _, op = op.rpartition(":")  # ForAllValues / ForAnyValue on multi-valued keys
        if qualifier not in ("", "ForAllValues", "ForAnyValue"):
            return None
        if_exists = op.endswith("IfExists")
        base = op.removesuffix("IfExists")
        test = _string_op(base)
        if test is None or not isinstance(entries, Mapping):
            return None
        negated = "Not" in base
        for key, wanted in entries.items():
            if key.lower() not in ctx or (qualifier and not _list(ctx[key.lower()])):
                # A missing key fails a positive test and passes a negated one (AWS docs);
                # ForAllValues holds for no values at all.
                if if_exists or negated or qualifier == "ForAllValues":
                    continue
                return False
            values = [str(v) for v in _list(ctx[key.lower()])]
            patterns = [str(p) for p in _list(wanted)]
            if qualifier == "ForAllValues":  # every value must match some pattern
                if not all(any(test(v, p) for p in patterns) for v in values):
                    return False
                continue
            # Several values in the policy are ORed; a negated operator needs none to match.
            ok = (
                all(test(v, p) for v in values for p in patterns)
                if negated
                else any(test(v, p) for v in values for p in patterns)
            )
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
