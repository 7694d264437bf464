"""Fixtures for keyless providers: the loopback STS in front of moto, loopback OpenAI and
Anthropic with an identity provider / issuer and a rule for the notebook role, and the two
providers' secrets holding federation settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.federation.servers import ROLE_ARN, AnthropicApi, OpenAIApi, StsApi

OPENAI_AUD = "https://api.openai.com/v1"
ANTHROPIC_AUD = "https://api.anthropic.com"


@dataclass
class Keyless:
    sts: StsApi
    openai: OpenAIApi
    anthropic: AnthropicApi
    openai_provider: str
    anthropic_rule: str

    def openai_settings(self) -> dict[str, object]:
        return {
            "federation": {
                "audience": OPENAI_AUD,
                "identity_provider_id": self.openai_provider,
                "service_account_id": "svc_nb",
                "token_url": f"{self.openai.url}/oauth/token",
            }
        }

    def anthropic_settings(self) -> dict[str, object]:
        return {
            "federation": {
                "audience": ANTHROPIC_AUD,
                "federation_rule_id": self.anthropic_rule,
                "organization_id": self.anthropic.organization_id,
                "service_account_id": "svac_nb",
                "workspace_id": "default",
            }
        }

    def env(self) -> dict[str, str]:
        """What a kernel needs beside the emulator's variables."""
        return {
            "AWS_ENDPOINT_URL_STS": self.sts.url,
            "ANTHROPIC_BASE_URL": self.anthropic.url,
            "OPENAI_BASE_URL": f"{self.openai.url}/v1",
        }


@pytest.fixture
def keyless(moto_endpoint: str, aws_env: dict[str, str], seed) -> Iterator[Keyless]:
    """Both providers federated for the notebook role; boto3's STS goes to the loopback."""
    sts = StsApi(moto_endpoint)
    oai, ant = OpenAIApi(admin_token="oai-admin-test"), AnthropicApi(admin_token="ant-admin")
    pid = oai.add_provider(sts.issuer, OPENAI_AUD)
    oai.add_rule(pid, {"sub": ROLE_ARN}, "svc_nb")
    iid = ant.add_issuer(sts.issuer)
    rid = ant.add_rule(iid, {"subject_prefix": ROLE_ARN, "audience": ANTHROPIC_AUD}, "svac_nb")
    k = Keyless(sts, oai, ant, pid, rid)
    seed("nbsecrets/openai", k.openai_settings())
    seed("nbsecrets/anthropic", k.anthropic_settings())
    for var in list(os.environ):
        if var.startswith(("ANTHROPIC_", "OPENAI_")):
            del os.environ[var]
    os.environ.update(k.env())
    try:
        yield k
    finally:
        from nbsecrets.federation import live

        for label in ("openai", "anthropic"):
            live.stop(label)
        for server in (sts, oai, ant):
            server.close()
