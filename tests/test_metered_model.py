"""What a metered reading gives (metered.py, metered_guard.py), from the metered capture's files.

HA-free: the capture's answers are parsed by the client's own parsers, then changed the way a
firmware or a fault changes them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from custom_components.enphase_envoy_legacy.envoy_client.meters import (
    parse_meter_readings,
    parse_meters,
)
from custom_components.enphase_envoy_legacy.envoy_client.production_json import (
    parse_production_json,
)
from custom_components.enphase_envoy_legacy.metered import MeteredReading, MeterSetup
from custom_components.enphase_envoy_legacy.metered_guard import (
    CONSUMPTION,
    COUNTERS,
    EXPORTED,
    IMPORTED,
    PRODUCTION_CT,
    MeteredGuards,
    counters_of,
)
from tests.simulator import CAPTURES

FOLDER = CAPTURES / "R4.10.35_metered"
NOW = datetime(2026, 6, 21, 12, 0, tzinfo=ZoneInfo("America/Los_Angeles"))


def metered_reading() -> MeteredReading:
    """Return the capture's answers as one poll's reading."""
    production = parse_production_json((FOLDER / "production.json.body").read_bytes())
    meters = parse_meters((FOLDER / "ivp_meters.json").read_bytes())
    readings = parse_meter_readings((FOLDER / "ivp_meters_readings.json").read_bytes())
    return MeteredReading(
        production_json=production,
        readings=readings,
        setup=MeterSetup(meters=meters, imeter=True),
    )


def test_consumption_is_derived_without_a_total_ct() -> None:
    """Without a total-consumption entry: production + import - export, power net + production."""
    reading = metered_reading()
    assert reading.production_json is not None
    reading = replace(
        reading, production_json=replace(reading.production_json, total_consumption=None)
    )
    production, net = reading.readings.values()
    consumption = reading.consumption()
    assert consumption is not None
    assert consumption.lifetime == (
        production.energy_delivered + net.energy_delivered - net.energy_received
    )
    assert consumption.watts == production.active_power + net.active_power
    # Without the readings there is no export counter, so no consumption to derive.
    assert replace(reading, readings={}).consumption() is None


def test_a_counter_from_an_old_production_json_is_not_new() -> None:
    """Each counter is new when read this poll: from the readings, or a fresh production.json.

    In the capture the house's consumption comes from production.json's total-consumption
    entry, the import, the export and the production CT from the readings.
    """
    reading = metered_reading()

    def new_flags(of: MeteredReading) -> dict[str, bool]:
        return {name: new for name, (_, new) in counters_of(of).items()}

    stale = replace(reading, entries_fresh=False)
    assert new_flags(reading) == dict.fromkeys(COUNTERS, True)
    assert new_flags(stale) == {
        CONSUMPTION: False,
        IMPORTED: True,
        EXPORTED: True,
        PRODUCTION_CT: True,
    }
    # The figures are the same either way: only whether they are new differs.
    assert {name: raw for name, (raw, _) in counters_of(stale).items()} == {
        name: raw for name, (raw, _) in counters_of(reading).items()
    }
    # Without the readings every counter there is comes from production.json (no export).
    assert new_flags(replace(stale, readings={})) == {
        CONSUMPTION: False,
        IMPORTED: False,
        PRODUCTION_CT: False,
    }
    assert new_flags(replace(reading, readings={})) == {
        CONSUMPTION: True,
        IMPORTED: True,
        PRODUCTION_CT: True,
    }
    # Consumption derived from the readings (no total-consumption entry) is new.
    assert stale.production_json is not None
    derived = replace(stale, production_json=replace(stale.production_json, total_consumption=None))
    assert new_flags(derived)[CONSUMPTION] is True


def test_a_faulty_production_ct_gives_no_site_totals() -> None:
    """A production meter in check-wiring: its figures are not the site's; no CT counter."""
    reading = metered_reading()
    meters = tuple(
        replace(meter, metering_status="check-wiring")
        if meter.measurement_type == "production"
        else meter
        for meter in reading.setup.meters
    )
    faulty = replace(reading, setup=MeterSetup(meters=meters, imeter=True))
    assert metered_reading().site_production() is not None
    assert faulty.site_production() is None
    assert set(counters_of(faulty)) == {IMPORTED, EXPORTED, CONSUMPTION}
    guards = MeteredGuards()
    assert set(guards.judge(faulty, NOW, site_peak_power=5000)) == {
        IMPORTED,
        EXPORTED,
        CONSUMPTION,
    }
    assert PRODUCTION_CT not in guards.carry_forward(NOW)


def test_no_production_json_gives_no_entries() -> None:
    """An Envoy that answered no production.json: no entry, no site totals from it."""
    reading = replace(metered_reading(), production_json=None)
    assert reading.entry("production") is None
    assert reading.site_production() is None


def test_a_malformed_stored_meter_is_detected_again() -> None:
    """A stored meter of the wrong types makes the whole setup unknown (detected again)."""
    stored = metered_reading().setup.as_dict()
    assert MeterSetup.from_dict(stored) == metered_reading().setup
    stored["meters"][0]["enabled"] = "yes"
    assert MeterSetup.from_dict(stored) is None
    stored["meters"][0] = {"eid": 1}
    assert MeterSetup.from_dict(stored) is None


def test_a_storage_entry_of_another_kind_is_no_battery() -> None:
    """storage[] holding another kind (an Encharge, say) is passed over; garbage is counted."""
    raw = json.loads((FOLDER / "production.json.body").read_bytes())
    raw["storage"] = [{"type": "encharge", "activeCount": 1, "wNow": 5, "whNow": 9}]
    parsed = parse_production_json(json.dumps(raw).encode())
    assert parsed is not None
    assert (parsed.battery, parsed.skipped) == (None, 0)
    raw["storage"] = [42, {"type": None}]  # not an entry at all: left out, and counted
    parsed = parse_production_json(json.dumps(raw).encode())
    assert parsed is not None
    assert (parsed.battery, parsed.skipped) == (None, 2)
