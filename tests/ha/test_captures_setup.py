"""Every capture set up through the config flow, every entity checked against its numbers.

The simulator serves each capture folder; the config flow adds it as a user would; then each
entity of the Envoy and of its microinverters is compared with what the capture's own files
say, computed here from those files (never copied by hand). A capture that cannot be set up
(no inverter list, a refused password) must end the flow the way its answers say.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er

from custom_components.enphase_envoy_legacy.const import CONF_SERIAL, DOMAIN
from tests.helpers import NOON
from tests.simulator import CAPTURES, EnvoySimulator

FOLDERS = sorted(folder.name for folder in CAPTURES.iterdir() if folder.is_dir())


@pytest.fixture(autouse=True)
def fixed_clock(freezer: FrozenDateTimeFactory) -> None:
    """Summer noon, before the simulator starts (its report dates follow the clock)."""
    freezer.move_to(NOON)


def captured(folder: str, name: str) -> Any:
    """Return a capture file's JSON (None: absent, or not JSON)."""
    try:
        return json.loads((CAPTURES / folder / name).read_bytes())
    except FileNotFoundError, ValueError:
        return None


def status_of(folder: str, name: str) -> int:
    """Return the status a capture was answered with (200 when no log says otherwise)."""
    log = captured(folder, f"{name}.log.json")
    return 200 if log is None else int(log["code"])


def device_of(folder: str) -> ET.Element:
    """Return the <device> element of a capture's info.xml."""
    device = ET.parse(CAPTURES / folder / "info.xml").getroot().find("device")  # noqa: S314
    assert device is not None
    return device


def eim(folder: str, kind: str) -> dict[str, Any] | None:
    """Return production.json's active CT entry of a measurement type, as captured."""
    answer = captured(folder, "production.json.body")
    if not isinstance(answer, dict):
        return None
    for entry in answer.get("production", []) + answer.get("consumption", []):
        if entry["type"] == "eim" and entry.get("measurementType") == kind:
            return entry if entry["activeCount"] > 0 else None
    return None


def meter_reading(folder: str, kind: str) -> dict[str, Any] | None:
    """Return the readings of the enabled, normal meter of a measurement type, as captured."""
    imeter = device_of(folder).findtext("imeter")
    meters = captured(folder, "ivp_meters.json") if imeter != "false" else None
    readings = captured(folder, "ivp_meters_readings.json")
    for meter in meters or []:
        if (
            meter["measurementType"] == kind
            and meter["state"] == "enabled"
            and meter["meteringStatus"] == "normal"
        ):
            return next((r for r in readings or [] if r["eid"] == meter["eid"]), None)
    return None


def kwh(wh: float) -> float:
    """Return the state of an energy sensor shown in kWh for a counter in Wh."""
    return round(wh) / 1000


def expected_envoy(folder: str) -> dict[str, Any]:
    """Return each Envoy entity's expected state (by unique id suffix), from the capture."""
    totals = captured(folder, "api_v1_production.json")
    production_ct = eim(folder, "production")
    if production_ct is not None:
        # A production CT's figures are the site totals (/api/v1/production is not read).
        watts, today = production_ct["wNow"], production_ct["whToday"]
        week, lifetime = production_ct["whLastSevenDays"], production_ct["whLifetime"]
    else:
        watts, today = totals["wattsNow"], totals["wattHoursToday"]
        week, lifetime = totals["wattHoursSevenDays"], totals["wattHoursLifetime"]
    inverters = captured(folder, "api_v1_production_inverters.json")
    expected: dict[str, Any] = {
        "current_power": round(watts),
        "energy_today": kwh(today),
        "energy_last_seven_days": kwh(week),
        "lifetime_energy": kwh(lifetime),
        "lifetime_energy_reported": kwh(lifetime),
        "inverters_known": len(inverters),
    }
    total = eim(folder, "total-consumption")
    if total is not None:
        expected |= {
            "consumption_power": round(total["wNow"]),
            "consumption_energy_today": kwh(total["whToday"]),
            "consumption_lifetime_energy": kwh(total["whLifetime"]),
        }
    produced, net = meter_reading(folder, "production"), meter_reading(folder, "net-consumption")
    if produced is not None and net is not None:
        # The readings give the house's consumption: production + import - export.
        expected |= {
            "consumption_power": round(produced["activePower"]) + round(net["activePower"]),
            "consumption_lifetime_energy": kwh(
                round(produced["actEnergyDlvd"])
                + round(net["actEnergyDlvd"])
                - round(net["actEnergyRcvd"])
            ),
        }
    for kind, prefix in (("production", "production_ct"), ("net-consumption", "grid")):
        if (reading := meter_reading(folder, kind)) is None:
            continue
        expected[f"{prefix}_meter_status"] = "normal"
        expected[f"{prefix}_meter_flags"] = "none"
        for number, channel in enumerate(reading["channels"], start=1):
            if not any(channel[field] for field in ("activePower", "voltage", "current")):
                continue  # an unused phase: all zeros
            expected |= {
                f"{prefix}_l{number}_power": round(channel["activePower"]),
                f"{prefix}_l{number}_voltage": channel["voltage"],
                f"{prefix}_l{number}_current": channel["current"],
                f"{prefix}_l{number}_power_factor": channel["pwrFactor"],
                f"{prefix}_l{number}_frequency": channel["freq"],
            }
    if (production_meter := meter_reading(folder, "production")) is not None:
        expected |= {
            "production_ct_power": round(production_meter["activePower"]),
            "production_ct_lifetime_energy": kwh(production_meter["actEnergyDlvd"]),
        }
    if (net := meter_reading(folder, "net-consumption")) is not None:
        expected |= {
            "grid_power": round(net["activePower"]),
            "grid_energy_imported": kwh(net["actEnergyDlvd"]),
            "grid_energy_exported": kwh(net["actEnergyRcvd"]),
        }
    return expected


def as_number(value: str) -> float | str:
    """Return a state as a number where it is one."""
    try:
        return float(value)
    except ValueError:
        return value


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("capture", FOLDERS)
async def test_every_capture_through_the_config_flow(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    entity_registry: er.EntityRegistry,
    capture: str,
) -> None:
    """Each capture set up as a user would; each entity shows the capture's own numbers."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_USER},
        data={CONF_HOST: simulator.host, CONF_SERIAL: simulator.serial},
    )
    await hass.async_block_till_done()
    inverters = captured(capture, "api_v1_production_inverters.json")
    if inverters is None:
        # No inverter list (D4.2.27 captured none): firmware this integration cannot read.
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "unsupported_firmware"}
        return
    if status_of(capture, "api_v1_production_inverters") == 401:
        # R3.9.36 refuses the derived passwords: the flow asks for the user's own.
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "credentials"
        return
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    serial = device_of(capture).findtext("sn")
    assert serial == simulator.serial
    entities = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    shown = {
        e.unique_id.removeprefix(f"{serial}_"): as_number(hass.states.get(e.entity_id).state)  # type: ignore[union-attr]
        for e in entities
        if e.unique_id.startswith(f"{serial}_")
    }
    expected = expected_envoy(capture)
    reporting = shown.pop("inverters_reporting")
    assert isinstance(reporting, float)
    assert 0 <= reporting <= len(inverters)
    assert shown == pytest.approx(expected)
    # Each microinverter: its power, maximum and last report as its record says.
    info = ET.parse(CAPTURES / capture / "info.xml").getroot()  # noqa: S314
    taken = int(info.findtext("time") or 0)
    shift = int(NOON.timestamp()) - taken
    for record in inverters:
        inverter = record["serialNumber"]
        states = {
            e.unique_id.removeprefix(f"{inverter}_"): hass.states.get(e.entity_id).state  # type: ignore[union-attr]
            for e in entities
            if e.unique_id.startswith(f"{inverter}_")
        }
        assert float(states["max_reported_power"]) == record["maxReportWatts"]
        when = datetime.fromtimestamp(record["lastReportDate"] + shift, UTC)
        assert states["last_report"] == when.isoformat()
        assert states["current_power"] in (str(record["lastReportWatts"]), "unavailable")
