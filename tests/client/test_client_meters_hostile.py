"""The metered endpoints under hostile answers: typed data or one of the client's errors.

Malformed records are left out (the others kept), a list of nothing but malformed records
is EnvoyBadDataError, optional values that make no sense are None; whatever the bytes, no
other exception escapes.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncGenerator, Callable
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.enphase_envoy_legacy.envoy_client import (
    EnvoyBadDataError,
    EnvoyClient,
    EnvoyError,
    EnvoyMeter,
    EnvoyMeteredProduction,
    EnvoyMeterEntry,
    EnvoyMeterReading,
)
from custom_components.enphase_envoy_legacy.envoy_client.meters import (
    parse_meter_readings,
    parse_meters,
)
from custom_components.enphase_envoy_legacy.envoy_client.numbers import MAX_SAFE_INTEGER
from custom_components.enphase_envoy_legacy.envoy_client.production_json import (
    parse_production_json,
)
from tests.simulator import CAPTURES
from tests.simulator.raw import RawHttpServer, http_response

METERED = CAPTURES / "R4.10.35_metered"
PRODUCTION_JSON: dict[str, Any] = json.loads((METERED / "production.json.body").read_bytes())
METERS: list[dict[str, Any]] = json.loads((METERED / "ivp_meters.json").read_bytes())
READINGS: list[dict[str, Any]] = json.loads((METERED / "ivp_meters_readings.json").read_bytes())


def dump(value: Any) -> bytes:
    """Return JSON bytes (NaN and Infinity as Python writes them)."""
    return json.dumps(value).encode()


def changed(document: Any, change: Callable[[Any], None]) -> bytes:
    """Return a copy of a capture document with a change applied."""
    copy = json.loads(json.dumps(document))
    change(copy)
    return dump(copy)


# --- Whole answers that are no answer ------------------------------------------------------


@pytest.mark.parametrize("parse", [parse_production_json, parse_meters, parse_meter_readings])
@pytest.mark.parametrize(
    "body", [b"{", b"NaN", b"42", b'"text"', b'{"status": 401, "info": "nope"}']
)
def test_garbage_is_bad_data(parse: Callable[[bytes], object], body: bytes) -> None:
    """Invalid JSON, a scalar, an Envoy error body: EnvoyBadDataError."""
    with pytest.raises(EnvoyBadDataError):
        parse(body)


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'{"consumption": []}',
        b'{"production": {}}',
        b'{"production": [], "storage": 3}',
        b'{"production": [1, {"type": 2}]}',
        b'{"production": [{"type": "eim", "activeCount": 1, "wNow": NaN, "whLifetime": 1}]}',
    ],
)
def test_bad_production_json(body: bytes) -> None:
    """Not the object production.json is, or nothing but malformed entries."""
    with pytest.raises(EnvoyBadDataError):
        parse_production_json(body)


@pytest.mark.parametrize("parse", [parse_meters, parse_meter_readings])
@pytest.mark.parametrize("body", [b"{}", b"[1, null]", b'[{"eid": -1}]'])
def test_bad_meter_lists(parse: Callable[[bytes], object], body: bytes) -> None:
    """Not a list, or a list of nothing but malformed records."""
    with pytest.raises(EnvoyBadDataError):
        parse(body)


# --- One malformed record or value ---------------------------------------------------------


def test_malformed_entries_are_left_out() -> None:
    """A broken entry is skipped and counted; other kinds are ignored; the rest is read."""

    def change(document: dict[str, Any]) -> None:
        document["production"][0]["wNow"] = "246"
        document["production"].append({"type": "rgms", "activeCount": 1})
        document["consumption"][0]["whLifetime"] = -1
        document["storage"].append({"type": "acb", "activeCount": 1, "wNow": 5, "whNow": None})
        document["storage"].append({"type": "other"})
        document["storage"].append("acb")  # not even an object
        # An inverters entry where only CTs are listed is no CT: ignored, not counted.
        document["consumption"].append(
            {"type": "inverters", "activeCount": 1, "wNow": 1, "whLifetime": 1}
        )

    result = parse_production_json(changed(PRODUCTION_JSON, change))
    assert result is not None
    assert result.inverters is None
    assert result.total_consumption is None
    assert result.net_consumption is not None
    assert result.skipped == 4


def test_odd_optional_values_are_none() -> None:
    """Voltage beyond 1000 V, a power factor of 2, percentFull 140, bad lines: None or ()."""

    def change(document: dict[str, Any]) -> None:
        entry = document["production"][1]
        entry.update(rmsVoltage=1e6, pwrFactor=2, rmsCurrent=math.inf, readingTime=-5)
        entry["lines"] = [{"wNow": 1}, {"wNow": "x"}]
        document["consumption"][0]["lines"] = [{"wNow": 1.4, "rmsVoltage": 120}, 7]
        document["consumption"][1]["lines"] = [{"wNow": 2, "whLifetime": 9, "pwrFactor": -1}]
        document["storage"] = [
            {"type": "acb", "activeCount": 2, "wNow": -3, "whNow": 9, "percentFull": 140}
        ]

    result = parse_production_json(changed(PRODUCTION_JSON, change))
    assert result is not None
    assert result.production is not None
    assert (result.production.rms_voltage, result.production.power_factor) == (None, None)
    assert (result.production.rms_current, result.production.reading_time) == (None, None)
    assert result.production.lines == ()
    assert result.total_consumption is not None
    assert result.total_consumption.lines == ()
    assert result.net_consumption is not None
    (line,) = result.net_consumption.lines
    assert (line.watts_now, line.watt_hours_lifetime, line.power_factor) == (2, 9, -1.0)
    assert result.battery is not None
    assert (result.battery.percent_full, result.battery.state) == (None, None)


def test_one_unlabelled_consumption_entry() -> None:
    """One unlabelled entry next to a labelled one takes the type no entry names."""

    def change(document: dict[str, Any]) -> None:
        del document["consumption"][1]["measurementType"]
        document["consumption"].append(json.loads(json.dumps(document["consumption"][0])))

    result = parse_production_json(changed(PRODUCTION_JSON, change))
    assert result is not None
    assert result.net_consumption is not None
    assert result.net_consumption.measurement_type == "net-consumption"
    assert result.total_consumption is not None
    assert result.total_consumption.watts_now == round(PRODUCTION_JSON["consumption"][0]["wNow"])


def test_malformed_meters_are_left_out() -> None:
    """A broken meter record is skipped; odd optional values are None; a duplicate is kept once."""
    records = json.loads(json.dumps(METERS))
    records[1].update(phaseCount=7, statusFlags=["ok", 3, "x y"], phaseMode=None)
    records += [records[0], {"eid": 1, "state": "enabled", "measurementType": "storage"}]
    meters = parse_meters(dump(records))
    assert [meter.eid for meter in meters] == [record["eid"] for record in METERS]
    assert (meters[1].phase_count, meters[1].status_flags, meters[1].phase_mode) == (
        None,
        ("ok",),
        None,
    )


def test_malformed_readings_are_left_out() -> None:
    """A broken reading is skipped; a broken channel leaves its meter without phases."""
    records = json.loads(json.dumps(READINGS))
    records[0]["channels"][1]["actEnergyRcvd"] = None
    records[1].update(freq=1e9, timestamp=0)
    records += [records[1], {"eid": 9, "activePower": 1, "actEnergyDlvd": 1}]
    readings = parse_meter_readings(dump(records))
    first, second = (readings[record["eid"]] for record in READINGS)
    assert first.channels == ()
    assert (second.frequency, second.timestamp) == (None, None)
    assert len(readings) == len(READINGS)


# --- Any JSON, over HTTP -------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["eim", "inverters", "acb", "production", "net-consumption", "enabled"])
)
FIELDS = [
    "type",
    "activeCount",
    "measurementType",
    "wNow",
    "whLifetime",
    "whToday",
    "rmsVoltage",
    "pwrFactor",
    "lines",
    "whNow",
    "percentFull",
    "state",
    "eid",
    "activePower",
    "actEnergyDlvd",
    "actEnergyRcvd",
    "channels",
    "phaseCount",
    "statusFlags",
    "meteringStatus",
]
records = st.recursive(
    st.dictionaries(st.sampled_from(FIELDS), scalars, max_size=12),
    lambda inner: st.dictionaries(
        st.sampled_from(FIELDS), scalars | st.lists(inner, max_size=3), max_size=12
    ),
    max_leaves=30,
)
documents = st.one_of(
    st.lists(records, max_size=4),
    st.fixed_dictionaries(
        {"production": st.lists(records, max_size=3)},
        optional={
            "consumption": st.lists(records, max_size=3) | scalars,
            "storage": st.lists(records, max_size=2),
        },
    ),
    scalars,
)


def assert_typed(result: object) -> None:
    """Assert that a result is typed data within what the client promises."""
    values: list[object] = []
    if isinstance(result, EnvoyMeteredProduction):
        entries = [result.inverters, result.production]
        entries += [result.total_consumption, result.net_consumption]
        for entry in entries:
            if isinstance(entry, EnvoyMeterEntry):
                values += [entry.watts_now, entry.watt_hours_lifetime, entry.active_count]
                assert entry.kind == "inverters" or entry.active_count > 0
                assert entry.power_factor is None or -1 <= entry.power_factor <= 1
        if result.battery is not None:
            assert result.battery.active_count > 0
            assert result.battery.percent_full is None or 0 <= result.battery.percent_full <= 100
    elif isinstance(result, tuple):
        assert all(isinstance(meter, EnvoyMeter) for meter in result)
        values += [meter.eid for meter in result]
    else:
        assert isinstance(result, dict)
        for eid, reading in result.items():
            assert isinstance(reading, EnvoyMeterReading)
            assert eid == reading.eid
            assert min(reading.energy_delivered, reading.energy_received) >= 0
            values += [reading.active_power, reading.energy_delivered]
            values += [channel.active_power for channel in reading.channels]
    assert all(type(value) is int and abs(value) <= MAX_SAFE_INTEGER for value in values)


@pytest.fixture
async def raw_server(socket_enabled: None) -> AsyncGenerator[RawHttpServer]:
    """Serve chosen bytes on a loopback port."""
    async with RawHttpServer() as server:
        yield server


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    """Return a session with a new connection per request."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as client:
        yield client


@pytest.mark.parametrize("endpoint", ["production_json", "meters", "meter_readings"])
@settings(max_examples=150)
@given(document=documents, status=st.sampled_from([b"200 OK", b"200 OK", b"404 No", b"500 X"]))
async def test_any_json_is_typed_data_or_an_envoy_error(
    raw_server: RawHttpServer,
    session: aiohttp.ClientSession,
    endpoint: str,
    document: Any,
    status: bytes,
) -> None:
    """Any JSON on a metered endpoint: typed data, None, or one of the client's errors."""
    raw_server.answers = [http_response(dump(document), status=status)]
    client = EnvoyClient(raw_server.host, "121938119871", session, request_timeout=5)
    try:
        result: object = await getattr(client, endpoint)()
    except EnvoyError:
        return
    if result is not None:
        assert_typed(result)
