"""Discovery, reconfiguration and options, against the simulator."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_ZEROCONF, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.enphase_envoy_legacy.const import CONF_KEEP_ALIVE, CONF_SERIAL, DOMAIN
from tests.simulator import PATH_PRODUCTION, EnvoySimulator


def announcement(
    simulator: EnvoySimulator, address: str = "127.0.0.1", **properties: Any
) -> ZeroconfServiceInfo:
    """Return what an Envoy announces over zeroconf."""
    return ZeroconfServiceInfo(
        ip_address=ip_address(address),
        ip_addresses=[ip_address(address)],
        hostname="envoy.local.",
        name="Envoy._enphase-envoy._tcp.local.",
        port=simulator.port,
        type="_enphase-envoy._tcp.local.",
        properties={"serialnum": simulator.serial, "protovers": "5.0.62", **properties},
    )


def suggested(result: Any) -> dict[str, Any]:
    """Return the values a form suggests, by field."""
    return {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }


@pytest.mark.usefixtures("mock_setup_entry")
async def test_discovered_envoy_is_offered_filled_in(
    hass: HomeAssistant, simulator: EnvoySimulator
) -> None:
    """A discovered Envoy shows the form with host and serial filled in; submitting adds it."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=announcement(simulator)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert suggested(result) == {CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial}
    flow = hass.config_entries.flow.async_get(result["flow_id"])
    assert flow["context"]["title_placeholders"] == {
        "serial": simulator.serial,
        "host": simulator.host,
    }

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == simulator.serial


@pytest.mark.usefixtures("mock_setup_entry")
async def test_discovered_envoy_on_port_80(hass: HomeAssistant, simulator: EnvoySimulator) -> None:
    """On the usual port, the host is the bare address."""
    info = announcement(simulator)
    info.port = 80
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info
    )
    assert suggested(result)[CONF_HOST] == "127.0.0.1"


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"protovers": "7.6.175"}, "unsupported_firmware"),
        ({"serialnum": ""}, "not_envoy"),
    ],
)
async def test_discovery_ignored(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    caplog: pytest.LogCaptureFixture,
    override: dict[str, str],
    reason: str,
) -> None:
    """Token firmware and announcements without a serial are ignored, quietly."""
    caplog.set_level("DEBUG")
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=announcement(simulator, **override)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason
    assert simulator.count() == 0
    if reason == "unsupported_firmware":
        assert "firmware 7.6.175 uses token authentication" in caplog.text


async def test_discovery_ipv6_ignored(hass: HomeAssistant, simulator: EnvoySimulator) -> None:
    """IPv6 announcements are not used (the IPv4 one is)."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=announcement(simulator, "fd00::1")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_ipv4_address"


@pytest.mark.parametrize(
    ("configured_host", "expected_host"),
    [("192.168.1.50", "127.0.0.2:{port}"), ("envoy.local", "envoy.local")],
)
async def test_discovery_of_known_envoy(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    configured_host: str,
    expected_host: str,
) -> None:
    """A known Envoy at a new IP: its entry follows silently, unless it has a host name."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=simulator.serial,
        data={CONF_HOST: configured_host, CONF_SERIAL: simulator.serial},
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_ZEROCONF},
        data=announcement(simulator, "127.0.0.2"),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_HOST] == expected_host.format(port=simulator.port)
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    assert not hass.config_entries.flow.async_progress()


async def test_reconfigure(
    hass: HomeAssistant, simulator: EnvoySimulator, init_integration: MockConfigEntry
) -> None:
    """The host can change; a failing address shows an error and can be corrected."""
    result = await init_integration.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert suggested(result) == {CONF_HOST: simulator.host}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1:1"}
    )
    assert result["type"] is FlowResultType.FORM
    # What it means, in the user's language; not aiohttp's message with the address in it.
    assert result["errors"] == {"base": "connection_refused"}
    assert init_integration.data[CONF_HOST] == simulator.host

    new_host = f"http://{simulator.host}/"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: f" {new_host} "}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert init_integration.data[CONF_HOST] == new_host
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED


async def test_reconfigure_refuses_another_envoy(
    hass: HomeAssistant, simulator: EnvoySimulator, init_integration: MockConfigEntry
) -> None:
    """An address where another Envoy answers is refused, naming the one found there.

    The entry's own serial is not repeated: its last six characters are its password.
    """
    simulator.identify_as(serial="121699999999")
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: simulator.host}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert result["description_placeholders"] == {"found": "121699999999"}


async def test_options(
    hass: HomeAssistant, simulator: EnvoySimulator, init_integration: MockConfigEntry
) -> None:
    """Options show their defaults, are bounded, and saving them reloads the entry."""
    coordinator = init_integration.runtime_data
    assert coordinator.scheduler.production_interval == 60
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"

    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_SCAN_INTERVAL: 30, CONF_KEEP_ALIVE: True}
        )

    simulator.requests.clear()
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 300, CONF_KEEP_ALIVE: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options == {CONF_SCAN_INTERVAL: 300, CONF_KEEP_ALIVE: False}
    await hass.async_block_till_done()
    reloaded = init_integration.runtime_data
    assert reloaded is not coordinator
    assert reloaded.scheduler.production_interval == 300

    assert simulator.count(PATH_PRODUCTION) == 1


async def test_keep_alive_by_default(
    hass: HomeAssistant, simulator: EnvoySimulator, init_integration: MockConfigEntry
) -> None:
    """By default connections are kept open."""
    assert simulator.requests
    assert all(request.keep_alive for request in simulator.requests)


async def test_options_through_the_frontend_api(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """The options form serializes for the UI, and saving it through the API works."""
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    response = await client.post(
        "/api/config/config_entries/options/flow", json={"handler": init_integration.entry_id}
    )
    assert response.status == 200
    form = await response.json()
    fields = {field["name"]: field for field in form["data_schema"]}
    assert set(fields) == {CONF_SCAN_INTERVAL, CONF_KEEP_ALIVE}
    assert fields[CONF_SCAN_INTERVAL]["selector"]["number"]["min"] == 60
    assert fields[CONF_SCAN_INTERVAL]["selector"]["number"]["max"] == 3600

    response = await client.post(
        f"/api/config/config_entries/options/flow/{form['flow_id']}",
        json={CONF_SCAN_INTERVAL: 120.0, CONF_KEEP_ALIVE: True},
    )
    assert response.status == 200
    assert (await response.json())["type"] == "create_entry"
    assert init_integration.options == {CONF_SCAN_INTERVAL: 120, CONF_KEEP_ALIVE: True}
    await hass.async_block_till_done()
