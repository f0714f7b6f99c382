"""Discovery and reconfiguration, against the simulator."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from ipaddress import ip_address
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_ZEROCONF, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.enphase_envoy_legacy.const import CONF_SERIAL, DOMAIN
from tests.simulator import PATH_INFO, PATH_INVERTERS, PATH_PRODUCTION, EnvoySimulator


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
async def test_discovered_envoy_is_confirmed(
    hass: HomeAssistant, simulator: EnvoySimulator
) -> None:
    """A discovered Envoy is only confirmed, showing its serial and address; then it is added.

    Nothing is asked of the Envoy until the user confirms; then it is read as the user step
    reads it.
    """
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=announcement(simulator)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zeroconf_confirm"
    assert result["data_schema"] is None
    assert result["errors"] == {}
    assert result["description_placeholders"] == {
        "serial": simulator.serial,
        "host": simulator.host,
    }
    flow = hass.config_entries.flow.async_get(result["flow_id"])
    assert flow["context"]["confirm_only"] is True
    assert flow["context"]["title_placeholders"] == {
        "serial": simulator.serial,
        "host": simulator.host,
    }
    assert simulator.count() == 0

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Envoy {simulator.serial[:-6]}******"
    assert result["data"] == {CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial}
    assert result["result"].unique_id == simulator.serial
    assert [r.path for r in simulator.requests] == [
        PATH_INFO,
        PATH_PRODUCTION,
        PATH_INVERTERS,
        PATH_INVERTERS,
    ]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_discovered_envoy_on_port_80(hass: HomeAssistant, simulator: EnvoySimulator) -> None:
    """On the usual port, the host is the bare address."""
    info = announcement(simulator)
    info.port = 80
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info
    )
    assert result["step_id"] == "zeroconf_confirm"
    assert result["description_placeholders"]["host"] == "127.0.0.1"


async def _stopped(simulator: EnvoySimulator) -> Callable[[], Awaitable[None]]:
    await simulator.stop()
    return simulator.resume


async def _dropping(simulator: EnvoySimulator) -> Callable[[], Awaitable[None]]:
    simulator.fail("*", drop=True)

    async def heal() -> None:
        simulator.heal()

    return heal


async def _another_envoy(simulator: EnvoySimulator) -> Callable[[], Awaitable[None]]:
    simulator.identify_as(serial="121699999999")

    async def heal() -> None:
        simulator.heal()

    return heal


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    ("breakage", "error", "placeholders"),
    [
        (_stopped, "connection_refused", {}),
        (_dropping, "connection_lost", {}),
        # The announced address now answers with another Envoy: the form has no serial
        # field, so the error is the form's.
        (_another_envoy, "wrong_serial", {"found": "121699999999"}),
    ],
)
async def test_discovered_envoy_confirm_errors_then_recovery(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    breakage: Callable[[EnvoySimulator], Awaitable[Callable[[], Awaitable[None]]]],
    error: str,
    placeholders: dict[str, str],
) -> None:
    """A failure on confirming shows on the confirm form; confirming again adds the Envoy."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=announcement(simulator)
    )
    heal = await breakage(simulator)

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zeroconf_confirm"
    assert result["errors"] == {"base": error}
    assert result["description_placeholders"] == {
        "serial": simulator.serial,
        "host": simulator.host,
        **placeholders,
    }
    assert not hass.config_entries.async_entries(DOMAIN)

    await heal()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial}
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_discovered_envoy_through_the_frontend_api(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulator: EnvoySimulator
) -> None:
    """The confirm step as the UI gets it: no fields, the serial and address to show."""
    assert await async_setup_component(hass, "config", {})
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=announcement(simulator)
    )
    client = await hass_client()
    response = await client.get(f"/api/config/config_entries/flow/{result['flow_id']}")
    assert response.status == 200
    form = await response.json()
    assert form["step_id"] == "zeroconf_confirm"
    assert form["data_schema"] == []
    assert form["description_placeholders"] == {
        "serial": simulator.serial,
        "host": simulator.host,
    }

    response = await client.post(f"/api/config/config_entries/flow/{result['flow_id']}", json={})
    assert response.status == 200
    created = await response.json()
    assert created["type"] == "create_entry"
    await hass.async_block_till_done()


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
    """The host can change; a failing address shows an error and can be corrected.

    The stored host is the address alone, as when the entry was added.
    """
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

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: f"{simulator.host}/status"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOST: "invalid_host"}

    # Stored as the address alone, without what was typed around it.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: f" http://{simulator.host}/ "}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert init_integration.data[CONF_HOST] == simulator.host
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED


async def test_reconfigure_offers_to_replace_with_another_envoy(
    hass: HomeAssistant, simulator: EnvoySimulator, init_integration: MockConfigEntry
) -> None:
    """An address where another Envoy answers: the next step names both, nothing changes yet.

    tests/ha/test_replacement.py confirms it; here the user leaves the dialog.
    """
    old = simulator.serial
    simulator.become("121699999999")
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: simulator.host}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "replace"
    assert result["description_placeholders"] == {"old": old, "new": "121699999999"}
    hass.config_entries.flow.async_abort(result["flow_id"])
    assert init_integration.data[CONF_SERIAL] == old
    assert init_integration.unique_id == old


async def test_another_envoy_that_refuses_its_derived_password(
    hass: HomeAssistant, simulator: EnvoySimulator, init_integration: MockConfigEntry
) -> None:
    """Another serial at the address, whose derived passwords it refuses: no replacement."""
    simulator.identify_as(serial="121699999999")
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: simulator.host}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "invalid_auth"}
    assert init_integration.unique_id == simulator.serial


async def test_reconfigure_with_another_envoy_being_discovered(
    hass: HomeAssistant, simulator: EnvoySimulator, init_integration: MockConfigEntry
) -> None:
    """The other Envoy waiting for confirmation as discovered changes nothing in the answer."""
    other = "121699999999"
    discovered = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_ZEROCONF},
        data=announcement(simulator, "127.0.0.2", serialnum=other),
    )
    assert discovered["step_id"] == "zeroconf_confirm"

    simulator.become(other)
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: simulator.host}
    )
    assert result["step_id"] == "replace"
    # The discovery is still there to be confirmed.
    assert discovered["flow_id"] in [
        flow["flow_id"] for flow in hass.config_entries.flow.async_progress()
    ]


async def test_keep_alive_by_default(
    hass: HomeAssistant, simulator: EnvoySimulator, init_integration: MockConfigEntry
) -> None:
    """By default connections are kept open."""
    assert simulator.requests
    assert all(request.keep_alive for request in simulator.requests)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_discovered_envoy_with_a_changed_password(
    hass: HomeAssistant, simulator: EnvoySimulator
) -> None:
    """A discovered Envoy that refuses both derived passwords asks for its own."""
    own = {CONF_USERNAME: "owner", CONF_PASSWORD: "sunny-roof-42"}
    simulator.users = {own[CONF_USERNAME]: own[CONF_PASSWORD]}
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=announcement(simulator)
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "credentials"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], own)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial, **own}
