"""The config flow, against the simulator."""

from __future__ import annotations

from collections.abc import Callable
from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.enphase_envoy_legacy.const import CONF_SERIAL, DOMAIN
from tests.helpers import ENGLISH
from tests.simulator import PATH_INFO, PATH_INVERTERS, PATH_PRODUCTION, EnvoySimulator

pytestmark = pytest.mark.usefixtures("mock_setup_entry")


async def test_user_flow(
    hass: HomeAssistant, simulator: EnvoySimulator, mock_setup_entry: AsyncMock
) -> None:
    """Host and serial are checked against the Envoy and become the entry."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    assert set(result["data_schema"].schema) == {CONF_HOST, CONF_SERIAL}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: f" {simulator.host} ", CONF_SERIAL: " 121621012167 "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Envoy 121621******"
    assert result["data"] == {CONF_HOST: simulator.host, CONF_SERIAL: "121621012167"}
    assert result["result"].unique_id == "121621012167"
    assert mock_setup_entry.call_count == 1
    # Validation read the identity, the production and the inverters (with one challenge).
    assert [r.path for r in simulator.requests] == [
        PATH_INFO,
        PATH_PRODUCTION,
        PATH_INVERTERS,
        PATH_INVERTERS,
    ]


@pytest.mark.parametrize("capture", ["D3.18.10"])
async def test_user_flow_installer_envoy(hass: HomeAssistant, simulator: EnvoySimulator) -> None:
    """An Envoy that only accepts the installer user is set up too."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_USER},
        data={CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "121430030548"


def _bad_host(simulator: EnvoySimulator, data: dict[str, str]) -> None:
    data[CONF_HOST] = "envoy local"


def _nothing_listening(simulator: EnvoySimulator, data: dict[str, str]) -> None:
    data[CONF_HOST] = "127.0.0.1:1"


def _dropping(simulator: EnvoySimulator, data: dict[str, str]) -> None:
    simulator.fail("*", drop=True)


def _wrong_serial(simulator: EnvoySimulator, data: dict[str, str]) -> None:
    data[CONF_SERIAL] = "121621000000"


def _busy(simulator: EnvoySimulator, data: dict[str, str]) -> None:
    simulator.fail(PATH_PRODUCTION, status=503, body=b"")


def _token_firmware(simulator: EnvoySimulator, data: dict[str, str]) -> None:
    simulator.identify_as(firmware="D7.6.175")


def _html_as_json(simulator: EnvoySimulator, data: dict[str, str]) -> None:
    simulator.fail(PATH_PRODUCTION, body=b"<html>Page Not Found</html>")


@pytest.mark.parametrize(
    ("breakage", "errors", "placeholder"),
    [
        (_bad_host, {CONF_HOST: "invalid_host"}, None),
        (_nothing_listening, {"base": "connection_refused"}, None),
        (_dropping, {"base": "connection_lost"}, None),
        (_busy, {"base": "http_error"}, None),
        (_wrong_serial, {CONF_SERIAL: "wrong_serial"}, "found"),
        (_token_firmware, {"base": "unsupported_firmware"}, None),
        (_html_as_json, {"base": "invalid_response"}, None),
    ],
)
async def test_user_flow_errors_then_recovery(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    breakage: Callable[[EnvoySimulator, dict[str, str]], None],
    errors: dict[str, str],
    placeholder: str | None,
) -> None:
    """Each failure shows a translated error on the form; correcting it finishes the flow."""
    good = {CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial}
    users = dict(simulator.users)
    data = dict(good)
    breakage(simulator, data)

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], data)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    if placeholder is not None:
        assert result["description_placeholders"][placeholder]
    if placeholder == "found":
        assert result["description_placeholders"]["found"] == simulator.serial
    assert not hass.config_entries.async_entries(DOMAIN)

    simulator.heal()
    simulator.users = users
    result = await hass.config_entries.flow.async_configure(result["flow_id"], good)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == good


TYPED_HOSTS = ["http://{host}/", "HTTP://{host}", "{host}/", " http://{host}// "]


@pytest.mark.parametrize("typed", TYPED_HOSTS)
async def test_user_flow_stores_the_address_alone(
    hass: HomeAssistant, simulator: EnvoySimulator, typed: str
) -> None:
    """A scheme and trailing slashes typed around the address are not stored."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: typed.format(host=simulator.host), CONF_SERIAL: simulator.serial},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial}


PATHS = ["http://{host}/status", "{host}/status", "http://{host}/info.xml/"]


@pytest.mark.parametrize("typed", PATHS)
async def test_user_flow_refuses_a_path(
    hass: HomeAssistant, simulator: EnvoySimulator, typed: str
) -> None:
    """A path after the address is refused on the host field, asking for the address only."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: typed.format(host=simulator.host), CONF_SERIAL: simulator.serial},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOST: "invalid_host"}
    assert "Type only the address" in ENGLISH["config"]["error"]["invalid_host"]
    assert simulator.count() == 0


async def test_user_flow_unexpected_error_then_recovery(
    hass: HomeAssistant, simulator: EnvoySimulator
) -> None:
    """A bug (an exception nobody expected) ends on the form with 'unknown', not a crash."""
    good = {CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial}
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    with patch(
        "custom_components.enphase_envoy_legacy.config_flow.EnvoyClient.update",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], good)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], good)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_already_configured(
    hass: HomeAssistant, simulator: EnvoySimulator, mock_config_entry: MockConfigEntry
) -> None:
    """A second entry for the same Envoy aborts, even under another address."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_USER},
        data={CONF_HOST: f"http://{simulator.host}/", CONF_SERIAL: simulator.serial},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


# An owner changed the Envoy's password: neither derived one is accepted any more.
OWN = {CONF_USERNAME: "owner", CONF_PASSWORD: "sunny-roof-42"}


async def test_own_credentials_when_derived_ones_are_refused(
    hass: HomeAssistant, simulator: EnvoySimulator, mock_setup_entry: AsyncMock
) -> None:
    """Both derived passwords refused: the flow asks for the Envoy's own; a wrong one again."""
    simulator.users = {OWN[CONF_USERNAME]: OWN[CONF_PASSWORD]}
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "credentials"
    assert result["errors"] == {}
    assert set(result["data_schema"].schema) == {CONF_USERNAME, CONF_PASSWORD}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**OWN, CONF_PASSWORD: "wrong"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "credentials"
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**OWN, CONF_USERNAME: f" {OWN[CONF_USERNAME]} "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial, **OWN}
    assert mock_setup_entry.call_count == 1


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_with_own_credentials(
    hass: HomeAssistant, simulator: EnvoySimulator, init_integration: MockConfigEntry
) -> None:
    """Reauth asks for a username and password; a wrong one shows, the right one is kept."""
    result = await init_integration.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"]["serial"] == simulator.serial
    assert set(result["data_schema"].schema) == {CONF_USERNAME, CONF_PASSWORD}

    simulator.users = {OWN[CONF_USERNAME]: OWN[CONF_PASSWORD]}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**OWN, CONF_PASSWORD: "wrong"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], OWN)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert init_integration.data == {
        CONF_HOST: simulator.host,
        CONF_SERIAL: simulator.serial,
        **OWN,
    }


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_back_to_the_derived_password(
    hass: HomeAssistant, simulator: EnvoySimulator, mock_config_entry: MockConfigEntry
) -> None:
    """The Envoy accepts its derived password again (reset): what was typed is dropped."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, **OWN}
    )
    result = await mock_config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: "anything", CONF_PASSWORD: "anything"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data == {CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial}


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_keeps_the_address_alone(
    hass: HomeAssistant, simulator: EnvoySimulator, mock_config_entry: MockConfigEntry
) -> None:
    """An entry that holds a host as an earlier release stored it keeps the address alone."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**mock_config_entry.data, CONF_HOST: f"http://{simulator.host}/"},
    )
    result = await mock_config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: "anything", CONF_PASSWORD: "anything"}
    )
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data == {CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial}


async def test_flow_through_the_frontend_api(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulator: EnvoySimulator
) -> None:
    """The flow as the UI drives it: the form serializes, errors show, the entry is created."""
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    response = await client.post(
        "/api/config/config_entries/flow", json={"handler": DOMAIN, "show_advanced_options": False}
    )
    assert response.status == 200
    form = await response.json()
    assert [field["name"] for field in form["data_schema"]] == [CONF_HOST, CONF_SERIAL]
    assert all(field["required"] for field in form["data_schema"])

    url = f"/api/config/config_entries/flow/{form['flow_id']}"
    response = await client.post(url, json={CONF_HOST: simulator.host, CONF_SERIAL: "1"})
    form = await response.json()
    assert form["errors"] == {CONF_SERIAL: "wrong_serial"}

    response = await client.post(
        url, json={CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial}
    )
    created = await response.json()
    assert created["type"] == "create_entry"
    assert created["title"] == f"Envoy {simulator.serial[:-6]}******"
