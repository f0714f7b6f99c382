"""What a metered reading gives (model/metered.py, model/counters.py), from the capture.

HA-free: the capture's answers are parsed by the client's own parsers, then changed the way a
firmware or a fault changes them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.enphase_envoy_legacy.envoy_client import NET_CONSUMPTION
from custom_components.enphase_envoy_legacy.envoy_client.meters import (
    parse_meter_readings,
    parse_meters,
)
from custom_components.enphase_envoy_legacy.envoy_client.production_json import (
    parse_production_json,
)
from custom_components.enphase_envoy_legacy.model.counters import (
    CONSUMPTION,
    COUNTERS,
    EXPORTED,
    IMPORTED,
    PRODUCTION_CT,
    MeteredCounters,
    counters_of,
)
from custom_components.enphase_envoy_legacy.model.guard import REBASE_AFTER_SECONDS
from custom_components.enphase_envoy_legacy.model.metered import MeteredReading, MeterSetup
from custom_components.enphase_envoy_legacy.model.stored import Malformed
from tests.simulator import CAPTURES

FOLDER = CAPTURES / "R4.10.35_metered"
TAG = "entry 123456"
NOW = datetime(2026, 6, 21, 12, 0, tzinfo=ZoneInfo("America/Los_Angeles"))


def metered_reading() -> MeteredReading:
    """Return the capture's answers as one poll's reading."""
    production = parse_production_json((FOLDER / "production.json.body").read_bytes())
    meters = parse_meters((FOLDER / "ivp_meters.json").read_bytes())
    readings = parse_meter_readings((FOLDER / "ivp_meters_readings.json").read_bytes())
    return MeteredReading(
        production_json=production,
        readings=readings,
        setup=MeterSetup(meters=meters),
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

    In the capture every counter comes from the readings, the house's consumption too
    (production + import - export): an old production.json leaves them new, without the
    figure for the day it held. Without the readings each comes from production.json.
    """
    reading = metered_reading()

    def new_flags(of: MeteredReading) -> dict[str, bool]:
        return {name: new for name, (_, new) in counters_of(of).items()}

    stale = replace(reading, entries_fresh=False)
    assert new_flags(reading) == dict.fromkeys(COUNTERS, True)
    assert new_flags(stale) == dict.fromkeys(COUNTERS, True)
    # The figures are the same either way, but for the day's (only a fresh answer's counts).
    fresh_raw = {name: raw for name, (raw, _) in counters_of(reading).items()}
    stale_raw = {name: raw for name, (raw, _) in counters_of(stale).items()}
    assert stale_raw == {name: replace(raw, watt_hours_today=0) for name, raw in fresh_raw.items()}
    assert fresh_raw[CONSUMPTION].watt_hours_today > 0
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


def test_consumption_follows_the_readings_where_they_give_it() -> None:
    """Production + import - export from the readings, before production.json's own total.

    The Envoy's total-consumption entry is the same sum, read only with the inverters; its
    figures for the day and the week go with the derived counter. A total CT read in the
    readings is taken as it is; without a production CT in them, the entry is.
    """
    reading = metered_reading()
    answer = reading.production_json
    assert answer is not None
    entry = answer.total_consumption
    assert entry is not None
    production, net = reading.readings.values()
    consumption = reading.consumption()
    assert consumption is not None
    assert consumption.lifetime == (
        production.energy_delivered + net.energy_delivered - net.energy_received
    )
    assert consumption.lifetime != entry.watt_hours_lifetime
    assert (consumption.today, consumption.seven_days, consumption.from_entry) == (
        entry.watt_hours_today,
        entry.watt_hours_last_seven_days,
        False,
    )
    # A total-consumption meter whose reading the readings carry.
    total = tuple(
        replace(meter, measurement_type="total-consumption")
        if meter.measurement_type == "net-consumption"
        else meter
        for meter in reading.setup.meters
    )
    by_total = replace(reading, setup=MeterSetup(meters=total))
    measured = by_total.consumption()
    assert measured is not None
    assert (measured.lifetime, measured.watts) == (net.energy_delivered, net.active_power)
    # The production CT missing from the readings: the entry, which moves with production.
    no_production = replace(reading, readings={net.eid: net})
    from_entry = no_production.consumption()
    assert from_entry is not None
    assert (from_entry.lifetime, from_entry.from_entry) == (entry.watt_hours_lifetime, True)


def test_an_old_answer_gives_no_figure_for_the_day() -> None:
    """The site's energy today from production.json only when it was read at this poll.

    The guard takes that figure only to start a day it did not follow from midnight; an
    answer read before midnight would carry yesterday's.
    """
    reading = metered_reading()
    answer = reading.production_json
    assert answer is not None
    assert answer.production is not None
    site = reading.site_production()
    assert site is not None
    assert site.watt_hours_today == answer.production.watt_hours_today
    stale = replace(reading, entries_fresh=False).site_production()
    assert stale == replace(site, watt_hours_today=0)


def test_a_counter_read_from_an_old_answer_is_carried_forward() -> None:
    """A counter from production.json that was not read again keeps its figures and age."""
    reading = metered_reading()
    net = next(r for r in reading.readings.values() if r.energy_received > 1)
    no_production = replace(reading, readings={net.eid: net})
    guards = MeteredCounters()
    first = guards.judge(no_production, NOW, site_peak_power=5000, tag="test")
    later = NOW + timedelta(minutes=5)
    again = guards.judge(
        replace(no_production, entries_fresh=False), later, site_peak_power=5000, tag="test"
    )
    assert again[PRODUCTION_CT] == first[PRODUCTION_CT]
    assert guards.states[PRODUCTION_CT].accepted_at == NOW.timestamp()
    # The readings' counters are read anew: judged at this poll.
    assert again[IMPORTED] == first[IMPORTED]
    assert guards.states[IMPORTED].accepted_at == later.timestamp()


def test_a_faulty_production_ct_gives_no_site_totals() -> None:
    """A production meter in check-wiring: its figures are not the site's; no CT counter."""
    reading = metered_reading()
    meters = tuple(
        replace(meter, metering_status="check-wiring")
        if meter.measurement_type == "production"
        else meter
        for meter in reading.setup.meters
    )
    faulty = replace(reading, setup=MeterSetup(meters=meters))
    assert metered_reading().site_production() is not None
    assert faulty.site_production() is None
    assert set(counters_of(faulty)) == {IMPORTED, EXPORTED, CONSUMPTION}
    guards = MeteredCounters()
    assert set(guards.judge(faulty, NOW, site_peak_power=5000, tag="test")) == {
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
    with pytest.raises(Malformed):
        MeterSetup.from_dict(stored)
    stored["meters"][0] = {"eid": 1}
    with pytest.raises(Malformed):
        MeterSetup.from_dict(stored)


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


def test_what_a_meter_guard_does_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Holds, rebases and returns on a meter's counter are logged, naming the counter.

    A +1e12 Wh jump is held with one warning and its end said; a +1 GWh level that lasts
    is rebased with a warning; a 6 kWh drop that lasts, then comes back, is said too.
    """
    reading = metered_reading()
    meter = reading.setup.meter(NET_CONSUMPTION)
    assert meter is not None
    net = reading.readings[meter.eid]
    guards = MeteredCounters()
    caplog.set_level(logging.DEBUG)

    def poll(minute: int, offset: int) -> None:
        """Judge the import counter ``offset`` Wh off the capture's, at ``minute``."""
        moved = replace(net, energy_delivered=net.energy_delivered + offset)
        readings = {**reading.readings, meter.eid: moved}
        at = NOW + timedelta(minutes=minute)
        guards.judge(replace(reading, readings=readings), at, site_peak_power=5000, tag=TAG)

    def said(level: int) -> list[str]:
        """Return what was logged about the import counter at ``level``, and forget it."""
        found = [
            r.getMessage()
            for r in caplog.records
            if r.levelno == level and "imported" in r.getMessage()
        ]
        caplog.clear()
        return found

    poll(0, 0)
    assert not said(logging.WARNING)
    for minute in range(1, 4):
        poll(minute, 10**12)
    (held,) = said(logging.WARNING)
    assert TAG in held
    assert str(net.energy_delivered + 10**12) in held
    poll(4, 0)
    assert said(logging.INFO)
    minutes = range(5, 5 + REBASE_AFTER_SECONDS // 60 + 2)
    for minute in minutes:
        poll(minute, 10**9)
    warnings = said(logging.WARNING)
    assert len(warnings) == 2  # held, then the new base
    assert "moved to" in warnings[-1]
    assert guards.states[IMPORTED].envoy_lifetime == net.energy_delivered + 10**9
    # Back where it left: continued from there, once.
    for minute in range(minutes[-1] + 1, minutes[-1] + 4):
        poll(minute, 0)
    (returned,) = [m for m in said(logging.WARNING) if "came back" in m]
    assert str(net.energy_delivered) in returned
