"""A small YAML emitter for CloudFormation templates, so nbsecrets needs no YAML library.

It writes what nbsecrets' templates hold: mappings, lists, strings (quoted as JSON, which is
valid YAML), booleans, the intrinsic functions ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and
``Fn::Base64`` in their short forms, and multi-line strings as literal blocks (``|``) for
embedded scripts.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["to_yaml"]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    # JSON strings are valid YAML double-quoted scalars; quote everything to stay unambiguous.
    return json.dumps(value)


def to_yaml(value: Any, indent: int = 0) -> str:
    """``value`` as YAML, indented by ``indent`` spaces. Keys must be plain words."""
    return "".join(_yaml_lines(value, indent))


# Plain words a YAML loader reads as something else than a string (the condition operator
# "Null" would become a null key).
_NOT_STRINGS = {"null", "~", "true", "false", "yes", "no", "on", "off", "y", "n"}


def _key(key: str) -> str:
    return json.dumps(key) if key.lower() in _NOT_STRINGS else key


def _inline(value: Any) -> str | None:
    """The value on the key's own line, or None if it needs a block."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        if key in ("Fn::Sub", "Fn::Base64") and isinstance(inner, str) and "\n" not in inner:
            return f"!{key[4:]} {_scalar(inner)}"
        if key == "Ref":
            return f"!Ref {inner}"
        if key == "Fn::GetAtt":
            return f"!GetAtt {'.'.join(inner)}"
    if isinstance(value, dict | list):
        return None if value else ("{}" if isinstance(value, dict) else "[]")
    if isinstance(value, str) and "\n" in value:
        return None
    return _scalar(value)


def _block_text(text: str, pad: str) -> list[str]:
    return [f"{pad}{line}\n" if line else "\n" for line in text.rstrip("\n").split("\n")]


def _yaml_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            one = _inline(inner)
            key = _key(key)
            if one is not None:
                out.append(f"{pad}{key}: {one}\n")
            elif isinstance(inner, str):
                out.append(f"{pad}{key}: |\n")
                out.extend(_block_text(inner, pad + "  "))
            elif (
                isinstance(inner, dict)
                and set(inner) == {"Fn::Base64"}
                and isinstance(inner["Fn::Base64"], str)
            ):
                out.append(f"{pad}{key}: !Base64 |\n")
                out.extend(_block_text(inner["Fn::Base64"], pad + "  "))
            else:
                out.append(f"{pad}{key}:\n")
                out.extend(_yaml_lines(inner, indent + 2))
    elif isinstance(value, list):
        for item in value:
            one = _inline(item)
            if one is not None:
                out.append(f"{pad}- {one}\n")
                continue
            lines = _yaml_lines(item, indent + 2)
            first = lines[0]
            out.append(f"{pad}- {first[indent + 2 :]}")
            out.extend(lines[1:])
    else:
        out.append(f"{pad}{_inline(value)}\n")
    return out
