"""Fixtures shared by every test: the Envoy simulator on 127.0.0.1, and hypothesis's profile.

The tests mirror the house: client/ (the Envoy client over HTTP), model/ (the site's model,
without Home Assistant) and ha/ (Home Assistant's side, with its own fixtures).
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator

import pytest
from hypothesis import HealthCheck, settings

from tests.simulator import EnvoySimulator

# Property tests (hypothesis): no per-example deadline, since a cold machine is slow and a
# time limit is no property of ours. In CI the examples are derived from each test's name
# (derandomize), so a run there is repeatable; on a developer's machine they vary run to run.
settings.register_profile(
    "project",
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=bool(os.environ.get("CI")),
    print_blob=True,
)
settings.load_profile("project")


@pytest.fixture
def capture() -> str:
    """Return the capture the simulator serves; override with parametrize."""
    return "D5.0.62"


@pytest.fixture
async def simulator(capture: str, socket_enabled: None) -> AsyncGenerator[EnvoySimulator]:
    """Serve a simulated Envoy on a free loopback port (only loopback connections are allowed)."""
    async with EnvoySimulator(capture) as envoy:
        yield envoy
