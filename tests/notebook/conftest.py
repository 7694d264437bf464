"""Fixtures of the kernel-hook tests."""

from __future__ import annotations

import pytest

from nbsecrets import redaction
from tests.keys import make_key


@pytest.fixture
def key(key_shape: str) -> str:
    """A loaded key of each shape."""
    value = make_key(key_shape)
    redaction.register("openai", value)
    return value
