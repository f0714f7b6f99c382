"""Diagnostics: useful, and free of serials, addresses and passwords."""

from __future__ import annotations

import json

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.enphase_envoy_legacy.envoy_client import installer_password
from tests.simulator import EnvoySimulator


@pytest.fixture(autouse=True)
def fixed_clock(freezer: FrozenDateTimeFactory) -> None:
    """Pin the clock before the simulator starts: its report dates follow it."""
    freezer.move_to("2026-06-21T19:00:00+00:00")


@pytest.mark.parametrize("capture", ["spec_example", "D3.18.10", "R4.10.35_metered"])
async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """The download holds the entry, the identity and the reading, with identifiers redacted."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert diagnostics == snapshot(exclude=props("entry_id", "created_at", "modified_at"))

    text = json.dumps(diagnostics)
    secrets = {
        simulator.serial,
        simulator.serial[-6:],
        installer_password(simulator.serial),
        simulator.host,
        str(simulator.port),
        *(inverter["serialNumber"] for inverter in simulator.inverters),
    }
    for secret in secrets:
        assert secret not in text
    assert len(diagnostics["inverters"]) == len(simulator.inverters)
    # A metered Envoy's meters: their configuration and last answers, as the capture has them.
    meters = simulator.metering.meters or []
    assert [m["eid"] for m in diagnostics["meters"]["meters"]] == [m["eid"] for m in meters]
    reported = diagnostics["meters_reported"]
    assert (reported is None) == (not meters)
