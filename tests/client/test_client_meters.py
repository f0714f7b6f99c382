"""Metered Envoys (issue #14): the client reads every capture as captured, over real HTTP.

Expected values are computed here from the capture files themselves, never copied by hand.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from custom_components.enphase_envoy_legacy.envoy_client import (
    EnvoyAuthenticationError,
    EnvoyClient,
    EnvoyConnectionError,
    EnvoyMeteredProduction,
    EnvoyMeterEntry,
    EnvoyMeterReading,
    EnvoyUnsupportedFirmwareError,
)
from tests.simulator import (
    CAPTURES,
    PATH_METER_READINGS,
    PATH_METERS,
    PATH_PRODUCTION_JSON,
    Battery,
    EnvoySimulator,
)
from tests.simulator.rhythm import energy_wh, midnight_after, midnight_before

METERED = "R4.10.35_metered"
FOLDERS = sorted(folder.name for folder in CAPTURES.iterdir() if folder.is_dir())


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    """Return a plain aiohttp session."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def client_for(simulator: EnvoySimulator, session: aiohttp.ClientSession) -> EnvoyClient:
    """Return a client for the simulated Envoy."""
    return EnvoyClient(simulator.host, simulator.serial, session)


def captured(folder: str, name: str) -> Any:
    """Return a capture file's JSON (None: absent, or not JSON)."""
    path = CAPTURES / folder / name
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError, ValueError:
        return None


def status_of(folder: str, name: str) -> int:
    """Return the status a capture was answered with (200 when no log says otherwise)."""
    log = captured(folder, f"{name}.log.json")
    return 200 if log is None else int(log["code"])


def entry_values(entry: EnvoyMeterEntry) -> tuple[Any, ...]:
    """Return what a parsed entry says, as the capture writes it."""
    return (
        entry.active_count,
        entry.watts_now,
        entry.watt_hours_lifetime,
        entry.watt_hours_today,
        entry.watt_hours_last_seven_days,
        entry.rms_voltage,
        entry.rms_current,
        entry.power_factor,
    )


def expected_entry(raw: dict[str, Any]) -> tuple[Any, ...]:
    """Return what an entry of a capture says, in the order of entry_values."""
    optional = [raw.get(field) for field in ("whToday", "whLastSevenDays")]
    return (
        raw["activeCount"],
        round(raw["wNow"]),
        round(raw["whLifetime"]),
        *(None if value is None else round(value) for value in optional),
        *(raw.get(field) for field in ("rmsVoltage", "rmsCurrent", "pwrFactor")),
    )


def check_production_json(result: EnvoyMeteredProduction | None, raw: Any) -> None:
    """Assert that /production.json parsed as the capture says (active CTs only)."""
    if not isinstance(raw, dict):
        assert result is None  # an HTML page, or no such file: no production.json
        return
    assert result is not None
    by_type = {
        entry.get("measurementType"): entry
        for entry in raw.get("production", []) + raw.get("consumption", [])
        if entry["type"] == "eim"
    }
    parsed = {
        "production": result.production,
        "total-consumption": result.total_consumption,
        "net-consumption": result.net_consumption,
    }
    for kind, entry in parsed.items():
        if kind not in by_type or by_type[kind]["activeCount"] == 0:
            assert entry is None, kind
        else:
            assert entry is not None
            assert entry.measurement_type == kind
            assert entry_values(entry) == expected_entry(by_type[kind])
    inverters = next(e for e in raw["production"] if e["type"] == "inverters")
    assert result.inverters is not None
    assert result.inverters.watts_now == inverters["wNow"]
    assert result.inverters.watt_hours_lifetime == inverters["whLifetime"]
    assert result.inverters.active_count == inverters["activeCount"]
    assert result.battery is None  # no capture has an AC Battery installed
    assert result.skipped == 0


def check_readings(readings: dict[int, EnvoyMeterReading], raw: Any) -> None:
    """Assert that /ivp/meters/readings parsed as the capture says."""
    assert sorted(readings) == sorted(record["eid"] for record in raw or [])
    for record in raw or []:
        reading = readings[record["eid"]]
        for parsed, written in [
            (reading, record),
            *zip(reading.channels, record["channels"], strict=True),
        ]:
            assert parsed.eid == written["eid"]
            assert parsed.timestamp is not None
            assert parsed.timestamp.timestamp() == written["timestamp"]
            assert parsed.active_power == round(written["activePower"])
            assert parsed.energy_delivered == round(written["actEnergyDlvd"])
            assert parsed.energy_received == round(written["actEnergyRcvd"])
            assert (parsed.voltage, parsed.current, parsed.power_factor, parsed.frequency) == (
                written["voltage"],
                written["current"],
                written["pwrFactor"],
                written["freq"],
            )
        assert len(reading.channels) == len(record["channels"])


@pytest.mark.parametrize("capture", FOLDERS)
async def test_every_capture_reads_as_captured(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, capture: str
) -> None:
    """Each endpoint of each capture: the client's values are the capture's own numbers."""
    client = client_for(simulator, session)
    info = await client.info()
    device = ET.parse(CAPTURES / capture / "info.xml").getroot().find("device")  # noqa: S314
    assert device is not None
    assert (info.serial, info.firmware) == (device.findtext("sn"), device.findtext("software"))
    imeter = device.findtext("imeter")
    assert info.imeter == (None if imeter is None else imeter == "true")

    production = captured(capture, "api_v1_production.json")
    assert (await client.production()).watt_hours_lifetime == production["wattHoursLifetime"]

    inverters = captured(capture, "api_v1_production_inverters.json")
    if inverters is None:
        with pytest.raises(EnvoyUnsupportedFirmwareError):
            await client.inverters()
    elif status_of(capture, "api_v1_production_inverters") != 200:
        with pytest.raises(EnvoyAuthenticationError):
            await client.inverters()
    else:
        read = await client.inverters()
        assert sorted(read) == sorted(record["serialNumber"] for record in inverters)

    check_production_json(await client.production_json(), captured(capture, "production.json.body"))

    raw_meters = listed(capture, PATH_METERS, "ivp_meters.json")
    meters = await client.meters()
    if raw_meters is None:
        # No list at all (401, 404): what that means is the caller's to judge.
        assert meters is None
    else:
        assert meters is not None
        assert [(m.eid, m.measurement_type, m.phase_count) for m in meters] == [
            (m["eid"], m["measurementType"], m["phaseCount"]) for m in raw_meters
        ]
        assert all(m.metering == (m.enabled and m.metering_status == "normal") for m in meters)
    raw_readings = listed(capture, PATH_METER_READINGS, "ivp_meters_readings.json")
    readings = await client.meter_readings()
    if raw_readings is None:
        assert readings is None
    else:
        assert readings is not None
        check_readings(readings, raw_readings)


def listed(capture: str, path: str, name: str) -> list[Any] | None:
    """Return the list a capture answers on a meter endpoint, None when it answers none."""
    if (raw := captured(capture, name)) is not None:
        return list(raw)
    simulator = CAPTURES / capture / "simulator.json"
    absent = json.loads(simulator.read_text()).get("absent", {}) if simulator.exists() else {}
    body = absent.get(path)
    return None if body in (None, "unauthorized") else list(json.loads(body))


# --- No meters: what each firmware answers instead -----------------------------------------


def meter_trips(simulator: EnvoySimulator) -> list[tuple[str, int]]:
    """Return (path, status) of the requests to the meter endpoints."""
    return [
        (request.path, request.status)
        for request in simulator.requests
        if request.path in (PATH_METERS, PATH_METER_READINGS)
    ]


@pytest.mark.parametrize("capture", ["D3.18.10"])
async def test_challenged_meters_are_no_meters(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """D3.18.10 challenges /ivp/meters even answered: no list, and no user is refused."""
    client = client_for(simulator, session)
    assert await client.meters() is None
    assert await client.meter_readings() is None
    assert meter_trips(simulator) == [
        (PATH_METERS, 401),
        (PATH_METERS, 401),
        (PATH_METER_READINGS, 404),
    ]
    assert client.user == "envoy"
    assert client.auth_state is None
    assert len(await client.inverters()) == len(
        captured("D3.18.10", "api_v1_production_inverters.json")
    )


@pytest.mark.parametrize(
    ("capture", "statuses"),
    [("R3.9.36_bad_auth", [404, 404]), ("D5.0.62", [401, 200, 200])],
)
async def test_missing_or_empty_meters_are_no_meters(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, statuses: list[int]
) -> None:
    """404 (R3.9.36) answers no list; [] (D5.0.62, behind Digest) lists no meters."""
    client = client_for(simulator, session)
    found = await client.meters()
    readings = await client.meter_readings()
    if 404 in statuses:
        assert (found, readings) == (None, None)
    else:
        assert (found, readings) == ((), {})
    assert [status for _, status in meter_trips(simulator)] == statuses


@pytest.mark.parametrize("capture", [METERED])
async def test_html_meters_are_no_meters(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """An HTML page with status 200 on the meter endpoints is no list."""
    page = b"<html><body>Page Not Found</body></html>"
    simulator.fail(PATH_METERS, body=page)
    simulator.fail(PATH_METER_READINGS, body=page)
    simulator.fail(PATH_PRODUCTION_JSON, body=page)
    client = client_for(simulator, session)
    assert await client.meters() is None
    assert await client.meter_readings() is None
    assert await client.production_json() is None


@pytest.mark.parametrize("capture", [METERED])
async def test_meter_endpoint_errors(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """Any other HTTP status is a connection error, as on every endpoint."""
    simulator.fail(PATH_METERS, status=500)
    with pytest.raises(EnvoyConnectionError, match="HTTP 500"):
        await client_for(simulator, session).meters()


@pytest.mark.parametrize(("capture", "found"), [("D5.0.62", 0), ("D3.18.10", 0), (METERED, 2)])
async def test_detect_meters_once(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, capture: str, found: int
) -> None:
    """detect_meters: no request where /info.xml says imeter false, else one read."""
    client = client_for(simulator, session)
    info = await client.info()
    meters = await client.detect_meters(info.imeter)
    assert len(meters) == found
    asked = simulator.count(PATH_METERS)
    assert asked == (0 if info.imeter is False else len(meter_trips(simulator)))
    if found:
        # The meters' 200 after a challenge proves the user, as the inverters' would.
        assert client.auth_state == {"user": "envoy", "connection_close": False}


@pytest.mark.parametrize("capture", [METERED])
@pytest.mark.parametrize(("imeter", "asked"), [(False, 0), (None, 1), (True, 1)])
async def test_detect_meters_follows_the_identity(
    simulator: EnvoySimulator,
    session: aiohttp.ClientSession,
    imeter: bool | None,
    asked: int,
) -> None:
    """detect_meters asks /ivp/meters unless the identity it is given says no CTs."""
    client = client_for(simulator, session)
    meters = await client.detect_meters(imeter)
    assert len(meters) == (2 if asked else 0)
    assert (simulator.count(PATH_METERS) > 0) == bool(asked)


@pytest.mark.parametrize("capture", [METERED])
async def test_info_fallback(simulator: EnvoySimulator, session: aiohttp.ClientSession) -> None:
    """R3.11.30 answers 404 on /info.xml and serves /info: the client reads that."""
    simulator.info_xml_missing = True
    client = client_for(simulator, session)
    assert (await client.info()).serial == simulator.serial
    assert [(r.path, r.status) for r in simulator.requests] == [("/info.xml", 404), ("/info", 200)]
    simulator.fail("/info.xml", status=503)
    with pytest.raises(EnvoyConnectionError, match=r"/info.xml answered HTTP 503"):
        await client.info()


# --- production.json quirks ----------------------------------------------------------------


def unlabelled(simulator: EnvoySimulator, *, reverse: bool) -> None:
    """Take measurementType out of every entry (M4.2.33), the consumption ones reversed."""
    document = simulator.metering.production_json
    assert document is not None
    for entry in document["production"] + document["consumption"]:
        entry.pop("measurementType", None)
    if reverse:
        document["consumption"].reverse()


@pytest.mark.parametrize("capture", [METERED])
@pytest.mark.parametrize("reverse", [False, True], ids=["as-listed", "reversed"])
async def test_entries_without_measurement_type(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, reverse: bool
) -> None:
    """Without measurementType the entries are told apart as the labelled ones were."""
    client = client_for(simulator, session)
    labelled = await client.production_json()
    unlabelled(simulator, reverse=reverse)
    assert await client.production_json() == labelled


@pytest.mark.parametrize("capture", [METERED])
async def test_unlabelled_consumption_without_production_ct(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """Without a production CT to compare with, unlabelled entries go by their place."""
    client = client_for(simulator, session)
    labelled = await client.production_json()
    unlabelled(simulator, reverse=False)
    document = simulator.metering.production_json
    assert document is not None
    document["production"][1]["activeCount"] = 0
    result = await client.production_json()
    assert labelled is not None
    assert result is not None
    assert result.production is None
    assert result.total_consumption == labelled.total_consumption
    assert result.net_consumption == labelled.net_consumption


@pytest.mark.parametrize("capture", ["D4.2.27_cts_inactive"])
async def test_inactive_cts_show_nothing(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """ActiveCount 0: no CT, whatever numbers the entries carry (5.8 kW on D4.2.27)."""
    raw = captured("D4.2.27_cts_inactive", "production.json.body")
    assert max(entry["wNow"] for entry in raw["consumption"]) > 5000
    result = await client_for(simulator, session).production_json()
    assert result is not None
    assert (result.production, result.total_consumption, result.net_consumption) == (
        None,
        None,
        None,
    )
    assert result.battery is None


# --- Simulator knobs, read back through the client -----------------------------------------


@pytest.mark.parametrize("capture", [METERED])
async def test_battery(simulator: EnvoySimulator, session: aiohttp.ClientSession) -> None:
    """An AC Battery: storage[] with activeCount 1 and percentFull."""
    battery = simulator.metering.battery = Battery(percent_full=80.0)
    result = await client_for(simulator, session).production_json()
    assert result is not None
    assert result.battery is not None
    assert result.battery.percent_full == round(battery.percent_full)
    assert result.battery.watt_hours_now == round(battery.stored_wh)
    assert result.battery.state == "idle"


@pytest.mark.parametrize("capture", [METERED])
async def test_ct_faults(simulator: EnvoySimulator, session: aiohttp.ClientSession) -> None:
    """check-wiring, not-metering, disabled: in the configuration and in the values."""
    client = client_for(simulator, session)
    before = await client.meter_readings()
    simulator.metering.ct_fault("production", "check-wiring")
    simulator.metering.ct_fault("net-consumption", "disabled")
    meters = {meter.measurement_type: meter for meter in await client.meters()}
    assert meters["production"].metering_status == "check-wiring"
    assert not meters["production"].metering
    assert not meters["net-consumption"].enabled
    readings = await client.meter_readings()
    production_eid = meters["production"].eid
    assert readings[production_eid].active_power == -before[production_eid].active_power
    result = await client.production_json()
    assert result is not None
    assert result.net_consumption is None
    simulator.metering.ct_fault("net-consumption", "not-metering")
    simulator.metering.ct_fault("production", None)
    meters = {meter.measurement_type: meter for meter in await client.meters()}
    assert meters["net-consumption"].metering_status == "not-metering"
    assert meters["production"].metering
    readings = await client.meter_readings()
    assert readings[meters["net-consumption"].eid].active_power == 0


@pytest.mark.parametrize("capture", [METERED])
async def test_phase_lines(simulator: EnvoySimulator, session: aiohttp.ClientSession) -> None:
    """?details=1 with lines on: one line per channel of the meter's readings."""
    simulator.metering.lines = True
    client = client_for(simulator, session)
    result = await client.production_json()
    readings = captured(METERED, "ivp_meters_readings.json")
    assert result is not None
    assert result.production is not None
    assert len(result.production.lines) == len(readings[0]["channels"])
    assert sum(line.watts_now for line in result.production.lines) == pytest.approx(
        result.production.watts_now, abs=len(readings[0]["channels"])
    )
    assert result.total_consumption is not None
    assert result.total_consumption.lines == ()  # no meter reads it: no phases to split


class Clock:
    """A clock a test moves."""

    def __init__(self, now: float) -> None:
        """Start at now."""
        self.now = now

    def __call__(self) -> float:
        """Return the time."""
        return self.now


# 2023-09-21 in US/Pacific: 03:00 (night, importing) and 12:30 (noon, exporting).
NIGHT = 1695290400.0
NOON = NIGHT + 9.5 * 3600


@pytest.mark.parametrize(("start", "importing"), [(NIGHT, True), (NOON, False)])
async def test_moving_meters(
    socket_enabled: None, session: aiohttp.ClientSession, start: float, importing: bool
) -> None:
    """Moving: net power follows the day; lifetimes grow consistently with power."""
    clock = Clock(start)
    async with EnvoySimulator(METERED, clock=clock) as simulator:
        simulator.metering.moving = True
        client = client_for(simulator, session)
        net_eid = next(m.eid for m in await client.meters() if m.measurement_type != "production")
        first = (await client.meter_readings())[net_eid]
        clock.now += 600
        later = (await client.meter_readings())[net_eid]
        production = await client.production_json()
    assert production is not None
    assert production.net_consumption is not None
    assert (later.active_power > 0) is importing
    imported = later.energy_delivered - first.energy_delivered
    exported = later.energy_received - first.energy_received
    # Ten minutes at the power of the moment, within the curve's change.
    expected = abs(later.active_power) * 600 / 3600
    assert (imported if importing else exported) == pytest.approx(expected, rel=0.15)
    assert (exported if importing else imported) == 0
    # The same import counter in both answers (the capture's two differ by under 1 Wh).
    assert abs(production.net_consumption.watt_hours_lifetime - later.energy_delivered) <= 1


def _daily(answer: EnvoyMeteredProduction | None) -> tuple[EnvoyMeterEntry, EnvoyMeterEntry]:
    """Return the production and total-consumption entries of a production.json answer."""
    assert answer is not None
    assert answer.production is not None
    assert answer.total_consumption is not None
    return answer.production, answer.total_consumption


async def test_moving_meters_keep_the_sites_day(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    """Moving: production's and consumption's today are the site's day, from local midnight.

    At 14:00 each is what its curve made since midnight (not the capture's figure, taken in
    the real site's early morning), so consumption today is production + import - export
    today; both start again at the next local midnight, and the last seven days roll.
    """
    start = NIGHT + 11 * 3600  # 14:00
    clock = Clock(start)
    async with EnvoySimulator(METERED, clock=clock) as simulator:
        metering = simulator.metering
        metering.moving = True
        client = client_for(simulator, session)
        production, consumption = _daily(await client.production_json())
        midnight = midnight_before(start, metering.tz)
        following = midnight_after(start, metering.tz)
        clock.now = following + 600
        next_production, next_consumption = _daily(await client.production_json())
    body = captured(METERED, "production.json.body")
    captured_entries = {
        entry["measurementType"]: entry
        for entry in body["production"] + body["consumption"]
        if entry["type"] == "eim"
    }
    curves = {"production": metering.solar, "total-consumption": metering.load}
    for kind, entry, later in (
        ("production", production, next_production),
        ("total-consumption", consumption, next_consumption),
    ):
        curve, raw = curves[kind], captured_entries[kind]
        today = energy_wh(curve, midnight, start)
        assert entry.watt_hours_today == pytest.approx(today, abs=1)
        earlier = raw["whLastSevenDays"] - raw["whToday"]
        assert entry.watt_hours_last_seven_days == pytest.approx(earlier + today, abs=1)
        # After midnight: the new day's energy only; the whole day before is in the week.
        whole_day = energy_wh(curve, midnight, following)
        assert later.watt_hours_today == pytest.approx(
            energy_wh(curve, following, clock.now), abs=1
        )
        assert later.watt_hours_last_seven_days == pytest.approx(
            earlier * 5 / 6 + whole_day + later.watt_hours_today, abs=2
        )
        # The lifetime counter grew by the same energy.
        assert later.watt_hours_lifetime - entry.watt_hours_lifetime == pytest.approx(
            energy_wh(curve, start, clock.now), abs=2
        )
    imported = energy_wh(lambda t: max(0.0, metering.net(t)), midnight, start)
    exported = energy_wh(lambda t: max(0.0, -metering.net(t)), midnight, start)
    assert consumption.watt_hours_today == pytest.approx(
        (production.watt_hours_today or 0) + imported - exported, abs=3
    )


@pytest.mark.parametrize("capture", [METERED])
async def test_glitches(simulator: EnvoySimulator, session: aiohttp.ClientSession) -> None:
    """A reboot's zeros and a drop that comes back, on every counter."""
    client = client_for(simulator, session)
    steady = await client.meter_readings()
    now = simulator.clock()
    simulator.metering.glitch("zero", until=now + 3600)
    zeros = await client.meter_readings()
    assert all(r.energy_delivered == r.active_power == 0 for r in zeros.values())
    result = await client.production_json()
    assert result is not None
    assert result.production is not None
    assert result.production.watt_hours_lifetime == 0
    simulator.metering.glitches.clear()
    simulator.metering.glitch("drop", until=now + 3600, drop_wh=1000.0)
    dropped = await client.meter_readings()
    assert {eid: r.energy_delivered for eid, r in dropped.items()} == {
        eid: max(0, r.energy_delivered - 1000) for eid, r in steady.items()
    }
    simulator.metering.glitches[0].until = now - 1
    assert await client.meter_readings() == steady


def test_capture_folders_listed() -> None:
    """The README of the captures names every folder."""
    readme = (Path(CAPTURES) / "README.md").read_text()
    assert all(f"`{folder}`" in readme for folder in FOLDERS)
