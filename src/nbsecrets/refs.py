"""Key references: what a user names in ``%aikey`` and how a value is taken from a secret."""

from __future__ import annotations

import json
from dataclasses import dataclass

from nbsecrets.errors import ConfigError, SecretFormatError
from nbsecrets.federation import settings as federation_settings
from nbsecrets.providers import Provider, Registry

__all__ = ["KeyRef", "extract_value", "federation_of", "json_object", "parse_ref"]


@dataclass(frozen=True)
class KeyRef:
    """One key to load.

    Attributes
    ----------
    name : str
        The provider as the user typed it (``claude``), used in messages.
    provider : Provider
        The resolved provider (``anthropic``) and its variables.
    secret_id : str
        Secret name or ARN to read.
    field : str | None
        JSON field to take (``#FIELD``), or None for the default rules.
    """

    name: str
    provider: Provider
    secret_id: str
    field: str | None = None

    @property
    def label(self) -> str:
        return self.provider.name


def parse_ref(text: str, registry: Registry, prefix: str) -> KeyRef:
    """Parse ``provider``, ``provider=SECRET_ID`` or ``provider=SECRET_ID#FIELD``.

    Raises
    ------
    ConfigError
        If the text is not of one of those forms.
    """
    text = text.strip()
    name, eq, target = text.partition("=")
    name = name.strip()
    if not name:
        raise ConfigError(
            f"{text!r} names no provider; write provider or provider=SECRET_ID[#FIELD]."
        )
    provider = registry.get(name)
    if not eq:
        return KeyRef(name, provider, f"{prefix}{provider.name}")
    # Secret names and ARNs cannot contain "#", so the first one starts the field.
    secret_id, hash_, field = target.partition("#")
    secret_id = secret_id.strip()
    if not secret_id or (hash_ and not field.strip()):
        raise ConfigError(
            f"{text!r} is incomplete; write {name}=SECRET_ID or {name}=SECRET_ID#FIELD."
        )
    return KeyRef(name, provider, secret_id, field.strip() or None)


def _fields_hint(obj: dict[str, object]) -> str:
    names = ", ".join(sorted(obj)) or "none"
    return f"its fields are: {names}"


def json_object(payload: str) -> dict[str, object] | None:
    """The JSON object a secret's value holds, or None for a raw value (not ``{...``).

    The one parser of secret values: keys, rotation's fields, admin key secrets.

    Raises
    ------
    SecretFormatError
        ``reason="json"`` if the value starts like JSON but is not valid JSON, ``"object"``
        if it is JSON but not an object. Never chained: the decode error quotes the input,
        which is the secret.
    """
    if not payload.lstrip().startswith("{"):
        return None
    try:
        obj = json.loads(payload)
    except ValueError:
        obj = _INVALID
    if obj is _INVALID:
        raise SecretFormatError("the secret starts like JSON but is not valid JSON.", reason="json")
    if not isinstance(obj, dict):
        raise SecretFormatError("the secret is not a JSON object.", reason="object")
    return obj


_INVALID = object()


def federation_of(
    payload: str, ref: KeyRef, secret_name: str
) -> federation_settings.Federation | None:
    """The federation settings the secret holds instead of a key, or None for a key.

    A secret (or, with ``#FIELD``, its field) that is a JSON object with a ``federation``
    member holds settings (shared/DESIGN.md, "Keyless providers").

    Raises
    ------
    SecretFormatError
        ``reason="federation"`` for settings that are incomplete or wrong.
    """
    if '"federation"' not in payload:
        return None  # the common case, without parsing
    try:
        obj = json_object(payload)
    except SecretFormatError:
        return None  # extract_value words it
    if obj is not None and ref.field is not None:
        inner = obj.get(ref.field)
        obj = inner if isinstance(inner, dict) else None
    if obj is None or "federation" not in obj:
        return None
    return federation_settings.parse(obj, ref.provider.name, secret_name)


def extract_value(payload: str, ref: KeyRef, secret_name: str) -> str:
    """Take the key out of a SecretString, by the rules in DESIGN.md.

    A raw string is the key. From a JSON object: ``#FIELD`` if given, else ``api_key``, else
    the field named after the provider, else the only string field.

    Raises
    ------
    SecretFormatError
        If the JSON does not parse, or no field fits. Messages name fields, never values.
    """
    fields = {"key": ref.label, "secret_id": secret_name}
    try:
        obj = json_object(payload)
    except SecretFormatError as exc:
        if exc.reason == "json":
            raise exc.reworded(
                f"{ref.label}: secret {secret_name} starts like JSON but is not valid JSON; "
                'store either the raw key or a JSON object such as {"api_key": "..."}.',
                **fields,
            ) from None
        raise exc.reworded(
            f"{ref.label}: secret {secret_name} is not a JSON object.", **fields
        ) from None
    if obj is not None:
        value = _pick_field(obj, ref, secret_name)
    else:
        if ref.field is not None:
            raise SecretFormatError(
                f"{ref.label}: secret {secret_name} holds a plain string, not JSON, so it has no "
                f"field {ref.field!r}; drop #{ref.field} from the reference.",
                reason="field",
                **fields,
            )
        value = payload
    value = value.strip()
    if not value:
        # what to store it with is the front end's to say (nbsecrets.api.next_step)
        raise SecretFormatError(
            f"{ref.label}: secret {secret_name} is empty.", reason="empty", **fields
        )
    return value


def _pick_field(obj: dict[str, object], ref: KeyRef, secret_name: str) -> str:
    if ref.field is not None:
        value = obj.get(ref.field)
        if isinstance(value, str):
            return value
        what = "is not a string" if ref.field in obj else "does not exist"
        raise SecretFormatError(
            f"{ref.label}: field {ref.field!r} of secret {secret_name} {what}; "
            f"{_fields_hint(obj)}.",
            reason="field",
            key=ref.label,
            secret_id=secret_name,
        )
    for candidate in ("api_key", ref.provider.name, ref.name.lower()):
        value = obj.get(candidate)
        if isinstance(value, str):
            return value
    strings = [v for v in obj.values() if isinstance(v, str)]
    if len(strings) == 1:
        return strings[0]
    raise SecretFormatError(
        f"{ref.label}: cannot tell which field of secret {secret_name} is the key "
        f"({_fields_hint(obj)}); name one with {ref.name}={secret_name}#FIELD or add an "
        "api_key field.",
        reason="field",
        key=ref.label,
        secret_id=secret_name,
    )
