"""``nbsecrets rotate NAME``: the rotation steps run by hand, for keys no API can mint.

The new key (minted when the provider's admin API can, else typed at a hidden prompt) goes in
as AWSPENDING, is tested against the provider, and only then becomes AWSCURRENT.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from nbsecrets import api
from nbsecrets.aws.store import Store
from nbsecrets.errors import ConfigError, NbSecretsError
from nbsecrets.rotation.steps import Rotation

__all__ = ["Rotated", "rotate"]


@dataclass(frozen=True)
class Rotated:
    """What a hand rotation did: the secret, the new version, and one line per event."""

    secret: str
    version: str | None
    lines: tuple[str, ...]


def rotate(
    name: str,
    read_value: Callable[[str], str],
    *,
    prompt: bool = False,
    revoke_only: bool = False,
    grace_days: float | None = None,
    store: Store | None = None,
    environ: Mapping[str, str] | None = None,
) -> Rotated:
    """Rotate the key ``name`` (a provider or ``provider=SECRET_ID``) by hand.

    Parameters
    ----------
    name : str
        The key, as ``%aikey`` names it.
    read_value : callable
        Asks for the new key (a hidden prompt); called only when the key is not minted.
    prompt : bool
        Ask for the key even when the provider's admin API could mint one.
    revoke_only : bool
        Make no new key: only revoke the AWSPREVIOUS key if its grace period has passed.
    grace_days : float, optional
        Days the old key stays valid, 0 to 365 (default: the admin's settings record, the
        environment, or 1).

    Raises
    ------
    KeyRejectedError
        If the new key fails its test; AWSCURRENT is unchanged.
    ConfigError
        If the reference names a field, or the provider's keys cannot be tested.
    """
    st = store or api.store()
    ref = st.config.ref(name)
    if ref.field:
        raise ConfigError(
            f"{name}: rotation replaces a whole secret's key; name the secret without #{ref.field}."
        )
    rot = Rotation(st.staging, environ=environ, grace_days=grace_days, provider=ref.provider.name)
    sid = ref.secret_id
    if revoke_only:
        rot.revoke_previous(sid)
        lines = tuple(rot.notes) or (f"{sid}: no old key is due for revocation yet.",)
        return Rotated(sid, None, lines)
    ctx = rot.context(sid)
    provider = rot.provider(ctx)
    value = None
    if prompt or not provider.can_mint:
        value = read_value(f"new {provider.name} API key for {ctx.secret.name} (input hidden): ")
    token = str(uuid.uuid4())
    rot.create(sid, token, value, ctx=ctx)  # the secret as read above
    rot.set(sid, token)
    try:
        rot.test(sid, token)
    except NbSecretsError as exc:
        raise type(exc)(
            f"{exc} The new key was not promoted: {sid} still serves the key it "
            "had (the new one stays as AWSPENDING until the next rotation)."
        ) from None
    rot.finish(sid, token)
    st.forget()
    lines = (
        *rot.notes,
        f"{sid}: rotated; run `%aikey --refresh {ref.label}` in running "
        "notebooks (they keep the old key until its grace period ends).",
    )
    return Rotated(sid, token, lines)
