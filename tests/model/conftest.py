"""The model's tests run without Home Assistant: no test here may ask for ``hass``."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def without_home_assistant(request: pytest.FixtureRequest) -> None:
    """Refuse a model test that starts Home Assistant."""
    assert "hass" not in request.fixturenames, "model tests run without Home Assistant"
