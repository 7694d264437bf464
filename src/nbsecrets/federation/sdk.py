"""Arguments for long-lived SDK clients of federated providers, refreshing by themselves.

``OPENAI_API_KEY`` (set by ``%aikey openai``) is read by the openai SDK once, when a client is
built, so a client kept for hours holds an expired token. These give the SDKs what they need
to exchange by themselves, with an AWS subject-token provider that asks STS for a fresh JWT
at every exchange (both providers' issuers can refuse a JWT seen before):

    client = OpenAI(workload_identity=nbsecrets.openai_identity())
    client = Anthropic(credentials=nbsecrets.anthropic_credentials())
"""

from __future__ import annotations

from typing import Any

from nbsecrets.aws.identity import web_identity_token
from nbsecrets.errors import ConfigError
from nbsecrets.federation.live import _rule_for
from nbsecrets.federation.settings import OPENAI_TOKEN_URL, Federation

__all__ = ["anthropic_credentials", "openai_identity"]


def _settings(name: str, provider: str) -> tuple[Federation, Any, str]:
    from nbsecrets import api

    st = api.store()
    ref = st.config.ref(name)
    if ref.provider.name != provider:
        raise ConfigError(
            f"{name} is not {provider}; name the {provider} key (e.g. {provider}=SECRET_ID)."
        )
    try:
        [key] = st.fetch([ref])
    finally:
        api.print_notices()
    if key.federation is None:
        raise ConfigError(
            f"{ref.label}: secret {key.secret.name} holds a key, not federation settings, so "
            f"there is no identity to give the SDK; use the key (%aikey {ref.label}), or an "
            f"admin federates it (`nbsecrets federate {ref.label} ...`)."
        )
    return key.federation, st.transport, ref.label


def _subject_token(fed: Federation, transport: Any, label: str) -> Any:
    def get_token() -> str:
        return web_identity_token(
            transport, label=label, audience=fed.audience, duration_s=fed.duration_s
        ).value

    return get_token


def openai_identity(
    name: str = "openai", *, refresh_buffer_seconds: float | None = None
) -> dict[str, Any]:
    """The openai SDK's ``workload_identity`` argument for the federated key ``name``.

    Parameters
    ----------
    name : str
        ``openai`` or a reference (``openai=SECRET_ID``) whose secret holds federation settings.
    refresh_buffer_seconds : float, optional
        Passed to the SDK (how long before expiry it exchanges again; its default is 1200 s,
        or half the token's life when that is shorter).

    Returns
    -------
    dict
        ``{"identity_provider_id", "service_account_id", "provider": {"token_type": "jwt",
        "get_token": callable}}``: each call of ``get_token`` asks STS for a fresh JWT (one
        request), registered for redaction at once.

    Raises
    ------
    ConfigError
        If the secret holds a key rather than federation settings.

    Notes
    -----
    The SDK exchanges at ``https://auth.openai.com/oauth/token`` whatever ``token_url`` the
    settings name (it has no setting for it); with another ``token_url`` use the variable
    ``%aikey openai`` sets, or ``OpenAI(api_key=...)`` with it.

    Examples
    --------
    >>> client = OpenAI(workload_identity=nbsecrets.openai_identity())  # doctest: +SKIP
    """
    fed, transport, label = _settings(name, "openai")
    if fed.token_url != OPENAI_TOKEN_URL:
        from nbsecrets import api

        api._state.notices.append(
            f"{label}: the openai SDK exchanges at {OPENAI_TOKEN_URL}, not at the token_url "
            f"{fed.token_url} of the settings; %aikey {label} uses token_url."
        )
    identity: dict[str, Any] = {
        "identity_provider_id": fed.ids["identity_provider_id"],
        "service_account_id": fed.ids["service_account_id"],
        "provider": {"token_type": "jwt", "get_token": _subject_token(fed, transport, label)},
    }
    if refresh_buffer_seconds is not None:
        identity["refresh_buffer_seconds"] = refresh_buffer_seconds
    return identity


def anthropic_credentials(name: str = "anthropic") -> Any:
    """An ``anthropic`` SDK credentials object for the federated key ``name``.

    ``Anthropic(credentials=nbsecrets.anthropic_credentials())`` exchanges (and refreshes)
    by itself, asking STS for a fresh JWT at each exchange instead of reading the token file,
    so any number of clients can share it without tripping Anthropic's single-use ``jti``.

    Returns
    -------
    anthropic.lib.credentials.WorkloadIdentityCredentials

    Raises
    ------
    ConfigError
        If the secret holds a key, or the anthropic SDK (2.x) is not installed.
    """
    fed, transport, label = _settings(name, "anthropic")
    try:
        from anthropic.lib.credentials import WorkloadIdentityCredentials
    except ImportError:
        raise ConfigError(
            "anthropic_credentials needs the anthropic SDK (0.98 or later); "
            "install it, or use the variables %aikey anthropic sets."
        ) from None
    get_token = _subject_token(fed, transport, label)
    first = web_identity_token(
        transport, label=label, audience=fed.audience, duration_s=fed.duration_s
    )
    rule = _rule_for(fed, first, label)
    pending = [first.value]

    def provider() -> str:
        return pending.pop() if pending else get_token()

    return WorkloadIdentityCredentials(
        identity_token_provider=provider,
        federation_rule_id=rule,
        organization_id=fed.ids["organization_id"],
        service_account_id=fed.ids.get("service_account_id"),
        workspace_id=fed.ids.get("workspace_id"),
    )
