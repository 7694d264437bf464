"""The provider stand-in, and a fix for moto.

``provider`` is the loopback OpenAI and Anthropic stand-in, with the base URLs and the OpenAI
project pointing at it.

moto 5 does not move its notion of the current version when AWSCURRENT moves by
UpdateSecretVersionStage (reads without a stage, and BatchGetSecretValue, keep serving the old
version; real Secrets Manager serves the new one). Rotation is exactly that move, so for these
tests the in-process moto server gets the one-line fix. Our code is unchanged."""

from __future__ import annotations

import os

import pytest
from moto.secretsmanager.models import SecretsManagerBackend

from tests.rotation.standin import StandIn


@pytest.fixture
def provider(aws_env):
    s = StandIn().start()
    os.environ["NBSECRETS_OPENAI_BASE_URL"] = f"{s.url}/v1"
    os.environ["NBSECRETS_ANTHROPIC_BASE_URL"] = s.url
    os.environ["NBSECRETS_OPENAI_PROJECT_ID"] = "proj_test"
    yield s
    s.stop()


@pytest.fixture
def stored(provider, seed):
    """stored(name): ``nbsecrets/{name}`` holds a key the stand-in knows, tagged with its
    provider, and ``nbsecrets-admin/{name}`` the admin key; returns the stored key."""

    def _stored(name: str) -> str:
        key = provider.add_openai_key() if name == "openai" else provider.add_anthropic_key()
        seed(f"nbsecrets/{name}", key, Tags=[{"Key": "nbsecrets:provider", "Value": name}])
        seed(
            f"nbsecrets-admin/{name}",
            provider.openai_admin if name == "openai" else provider.anthropic_admin,
        )
        return key

    return _stored


@pytest.fixture(autouse=True)
def _moto_moves_current(monkeypatch):
    original = SecretsManagerBackend.update_secret_version_stage

    def update_secret_version_stage(
        self, secret_id, version_stage, remove_from_version_id, move_to_version_id
    ):
        result = original(
            self, secret_id, version_stage, remove_from_version_id, move_to_version_id
        )
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].default_version_id = move_to_version_id
        return result

    monkeypatch.setattr(
        SecretsManagerBackend, "update_secret_version_stage", update_secret_version_stage
    )
