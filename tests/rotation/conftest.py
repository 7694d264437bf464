"""moto 5 does not move its notion of the current version when AWSCURRENT moves by
UpdateSecretVersionStage (reads without a stage, and BatchGetSecretValue, keep serving the old
version; real Secrets Manager serves the new one). Rotation is exactly that move, so for these
tests the in-process moto server gets the one-line fix. Our code is unchanged."""

from __future__ import annotations

import pytest
from moto.secretsmanager.models import SecretsManagerBackend


@pytest.fixture(autouse=True)
def _moto_moves_current(monkeypatch):
    original = SecretsManagerBackend.update_secret_version_stage

    def update_secret_version_stage(self, secret_id, version_stage, remove_from_version_id,
                                    move_to_version_id):
        result = original(self, secret_id, version_stage, remove_from_version_id,
                          move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].default_version_id = move_to_version_id
        return result

    monkeypatch.setattr(SecretsManagerBackend, "update_secret_version_stage",
                        update_secret_version_stage)
