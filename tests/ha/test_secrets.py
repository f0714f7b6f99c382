"""No secret in logs or errors, whatever the serial and whatever goes wrong (README, "Privacy").

The last six characters of an Envoy's serial are its envoy user's password, and the installer
password is derived from the serial; users paste Home Assistant's logs into public bug
reports. For serials nobody chose by hand, through setup, every fault of the fault suite, a
refused password, a firmware upgrade, another Envoy at the address and the config flow's
errors: no log line (debug included) and no error shown holds the serial or a password, and
no warning, error or UI message holds the Envoy's host.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_envoy_legacy.const import CONF_SERIAL, DOMAIN
from custom_components.enphase_envoy_legacy.naming import entry_title
from tests.ha.test_faults import FAULTS
from tests.helpers import ENGLISH, poll, secrets_said
from tests.simulator import EnvoySimulator

type Scenario = Callable[[HomeAssistant, FrozenDateTimeFactory, EnvoySimulator], Awaitable[None]]


async def _fault(
    name: str, hass: HomeAssistant, freezer: FrozenDateTimeFactory, envoy: EnvoySimulator
) -> None:
    fault = FAULTS[name]
    if (started := fault.start(envoy)) is not None:
        await started
    for _ in range(fault.polls):
        await poll(hass, freezer)
    if (ended := fault.end(envoy)) is not None:
        await ended
    await poll(hass, freezer)


async def _refused(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, envoy: EnvoySimulator
) -> None:
    envoy.users = {}
    for _ in range(3):  # the third refused poll starts re-authentication
        await poll(hass, freezer)


def _comes_back_as(**identity: str) -> Scenario:
    """Return an outage after which the Envoy comes back with another firmware or serial."""

    async def scenario(
        hass: HomeAssistant, freezer: FrozenDateTimeFactory, envoy: EnvoySimulator
    ) -> None:
        envoy.fail("*", drop=True)
        await poll(hass, freezer)
        envoy.heal()
        envoy.identify_as(**identity)
        await poll(hass, freezer)

    return scenario


def _named(name: str) -> Scenario:
    async def scenario(
        hass: HomeAssistant, freezer: FrozenDateTimeFactory, envoy: EnvoySimulator
    ) -> None:
        await _fault(name, hass, freezer, envoy)

    return scenario


# Each example is a new Envoy with microinverters of its own: the examples share one Home
# Assistant, whose registries must not meet the same inverter under two entries.
EXAMPLES = itertools.count(1)

SCENARIOS: dict[str, Scenario] = {
    **{name: _named(name) for name in FAULTS},
    "password refused": _refused,
    "upgraded to token firmware": _comes_back_as(firmware="D7.6.175"),
    "another Envoy at the address": _comes_back_as(serial="121699999999"),
}


def _shown_by_flow(result: dict[str, Any]) -> list[str]:
    """Return the texts a flow's form or abort shows, placeholders filled in."""
    placeholders = result.get("description_placeholders") or {}
    texts = [ENGLISH["config"]["error"][key] for key in (result.get("errors") or {}).values()]
    if result["type"] is FlowResultType.ABORT:
        texts.append(ENGLISH["config"]["abort"][result["reason"]])
    # wrong_serial names the serial the Envoy reports, so that the user can correct a typo:
    # that is this form's purpose, and the user holds the Envoy. It is never logged.
    return [text.format(**placeholders) for text in texts if "{found}" not in text]


@pytest.mark.parametrize("capture", ["D5.0.62", "D3.18.10"])
@settings(max_examples=12)
@given(
    serial=st.from_regex(r"\A[1-9][0-9]{11}\Z"),
    scenario=st.sampled_from(sorted(SCENARIOS)),
)
async def test_no_secret_in_logs_or_errors(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    caplog: pytest.LogCaptureFixture,
    serial: str,
    scenario: str,
) -> None:
    """Any serial, any fault: the log and the errors shown give nothing away."""
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="custom_components.enphase_envoy_legacy")
    simulator.heal()
    simulator.become(serial)
    example = next(EXAMPLES)
    for position, inverter in enumerate(simulator.inverters):
        inverter["serialNumber"] = f"9{example:05d}{position:06d}"
    envoy_users = dict(simulator.users)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=entry_title(serial),
        minor_version=2,
        unique_id=serial,
        data={CONF_HOST: simulator.host, CONF_SERIAL: serial},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await SCENARIOS[scenario](hass, freezer, simulator)
    shown = [str(entry.reason)]

    # The config flow's errors for the same Envoy: dropping connections, stopped, answering.
    simulator.heal()
    simulator.users = envoy_users
    for breakage in ("dropping", "stopped", None):
        if breakage == "dropping":
            simulator.fail("*", drop=True)
        if breakage == "stopped":
            await simulator.stop()
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_HOST: simulator.host, CONF_SERIAL: serial}
        )
        shown += _shown_by_flow(result)
        if breakage == "stopped":
            await simulator.resume()
        simulator.heal()
    for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN):
        hass.config_entries.flow.async_abort(flow["flow_id"])

    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    said = secrets_said(caplog.records, simulator, shown)
    assert not said, said
    assert simulator.count() > 0  # the Envoy was really asked
