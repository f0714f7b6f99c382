"""Envoy-friendly polling through Home Assistant, against the simulator's report rhythm.

The simulated Envoy's inverters report in bursts (the D5.0.62 capture's 59 s spread) every
300 s along a solar day; the integration learns that and reads just after each burst. These
tests check the requests it makes and how stale its data gets, measured from the
simulator's own log of reports and requests.
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.enphase_envoy_legacy.const import DOMAIN
from custom_components.enphase_envoy_legacy.coordinator import EnvoyLegacyCoordinator
from custom_components.enphase_envoy_legacy.model.pacing import READS_BEFORE_WRITE
from custom_components.enphase_envoy_legacy.model.schedule import EARLY, SETTLE
from tests.helpers import NOON, poll, poll_past_the_hold, record_writes, state, store_key
from tests.simulator import (
    PATH_INFO,
    PATH_INVERTERS,
    PATH_PRODUCTION,
    PATH_PRODUCTION_JSON,
    EnvoySimulator,
    bursts,
)
from tests.simulator.rhythm import Rhythm, previous_burst

HOUR = 3600.0
SPREAD = 59  # the D5.0.62 capture's burst
SERIAL = "121621012167"
POWER = f"sensor.envoy_{SERIAL}_current_power"
LIFETIME = f"sensor.envoy_{SERIAL}_lifetime_energy"


async def follow(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    coordinator: EnvoyLegacyCoordinator,
    hours: float,
) -> None:
    """Let Home Assistant run the coordinator's own schedule for a while."""
    end = coordinator.next_poll + timedelta(hours=hours) if coordinator.next_poll else None
    assert end is not None
    while coordinator.next_poll < end:
        # Timers are armed on whole seconds of the loop's clock plus up to half a second.
        freezer.move_to(coordinator.next_poll + timedelta(seconds=0.6))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


def production_reads_of(simulator: EnvoySimulator) -> list[float]:
    """Return when production was read: /api/v1/production, or a metered Envoy's production.json.

    A metered Envoy's production CT gives the site totals in /production.json (issue #14).
    """
    return sorted(reads(simulator, PATH_PRODUCTION) + reads(simulator, PATH_PRODUCTION_JSON))


def reads(simulator: EnvoySimulator, path: str) -> list[float]:
    """Return when a path was read successfully."""
    return [
        request.at
        for request in simulator.requests
        if request.path == path and request.status == 200
    ]


def worst_staleness(events: list[float], read_at: list[float], start: float, end: float) -> float:
    """Return the longest an event in [start, end) waited for the next read."""
    worst = 0.0
    for event in events:
        if start <= event < end:
            position = bisect.bisect_left(read_at, event)
            assert position < len(read_at), "an event was never read"
            worst = max(worst, read_at[position] - event)
    return worst


def count(simulator: EnvoySimulator, start: float, end: float) -> int:
    """Return the requests answered in [start, end), 401 challenges included."""
    return sum(start <= request.at < end for request in simulator.requests)


@pytest.fixture
def rhythm() -> dict[str, Any] | None:
    """Nothing learned before: the integration learns the simulated rhythm itself."""
    return None


@pytest.fixture
def metered() -> bool:
    """Return whether the simulated Envoy has a production meter."""
    return False


@pytest.fixture
async def simulator(
    capture: str, metered: bool, socket_enabled: None, freezer: FrozenDateTimeFactory
) -> AsyncGenerator[EnvoySimulator]:
    """Serve an Envoy whose inverters report along a solar day, from a summer morning on."""
    freezer.move_to(NOON - timedelta(hours=3))
    async with EnvoySimulator(capture, rhythm=Rhythm(interval=300, metered=metered)) as envoy:
        yield envoy


@pytest.mark.parametrize("metered", [False, True], ids=["non-metered", "metered"])
async def test_reads_follow_the_report_rhythm(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    metered: bool,
) -> None:
    """Inverters read once per burst; production with them, or every minute on a meter.

    Data is never staler than fixed one-minute polling would leave it.
    """
    coordinator = init_integration.runtime_data
    await follow(hass, freezer, coordinator, hours=3)
    assert coordinator.site.scheduler.state.interval == 300
    assert coordinator.site.scheduler.state.metered is metered
    start = simulator.requests[0].at + HOUR  # the first hour learns
    end = simulator.requests[-1].at - 600
    inverter_reads = reads(simulator, PATH_INVERTERS)
    production_reads = production_reads_of(simulator)
    reports = [at for at, _ in simulator.report_log]
    assert worst_staleness(reports, inverter_reads, start, end) <= SPREAD + SETTLE + EARLY
    hourly = count(simulator, start, start + HOUR)
    if metered:
        gaps = [b - a for a, b in itertools.pairwise(production_reads)]
        assert (
            max(gap for gap, at in zip(gaps, production_reads, strict=False) if at >= start)
            <= 60 + 1
        )
        assert hourly <= 60 + 12 + 1
    else:
        assert worst_staleness(reports, production_reads, start, end) <= SPREAD + SETTLE + EARLY
        assert hourly <= 2 * 12 + 1
    assert all(request.status == 200 for request in simulator.requests[3:])


async def test_restart_setup_reads_two_endpoints_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """A restart reads each endpoint once; a first setup also reads the identity.

    On a restart the stored identity serves and the stored user signs in: at most three
    requests, one of them the Digest challenge (the challenge itself is not stored). Then
    each read is one request again.
    """
    first_setup = [(request.path, request.status) for request in simulator.requests]
    assert first_setup == [
        (PATH_INFO, 200),
        (PATH_INVERTERS, 401),
        (PATH_INVERTERS, 200),
        (PATH_PRODUCTION, 200),
    ]
    await follow(hass, freezer, init_integration.runtime_data, hours=0.5)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    stored = hass_storage[store_key(init_integration.entry_id)]["data"]
    assert stored["rhythm"]["interval"] == 300
    assert stored["info"]["serial"] == SERIAL

    assert stored["auth"] == {"user": "envoy", "connection_close": False}

    simulator.requests.clear()
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    restart_setup = [(r.path, r.status, r.authorization) for r in simulator.requests]
    assert restart_setup == [
        (PATH_INVERTERS, 401, False),
        (PATH_INVERTERS, 200, True),
        (PATH_PRODUCTION, 200, True),
    ]
    assert len(restart_setup) <= 3
    assert state(hass, POWER) != "unavailable"
    # Warm again: every read is one request, answered at once.
    simulator.requests.clear()
    await follow(hass, freezer, init_integration.runtime_data, hours=0.5)
    assert simulator.count(PATH_INVERTERS) >= 5
    assert all(r.status == 200 and r.authorization for r in simulator.requests)


@pytest.mark.parametrize("stored_info", [None, "garbage", {"serial": SERIAL}])
async def test_setup_reads_identity_without_a_good_stored_one(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    stored_info: object,
) -> None:
    """No stored identity, or a malformed one: setup reads /info.xml."""
    key = store_key(mock_config_entry.entry_id)
    hass_storage[key] = {
        "version": 2,
        "minor_version": 1,
        "key": key,
        "data": {"info": stored_info},
    }
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert simulator.count(PATH_INFO) == 1


async def restart(hass: HomeAssistant, entry: MockConfigEntry, simulator: EnvoySimulator) -> None:
    """Unload the entry (storing what it learned) and forget the requests made so far."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    simulator.requests.clear()


async def test_outage_after_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """The Envoy is away when Home Assistant restarts: retried, and read once it is back."""
    await restart(hass, init_integration, simulator)
    await simulator.stop()
    await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.SETUP_RETRY
    await simulator.resume()
    freezer.tick(timedelta(minutes=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert init_integration.state is ConfigEntryState.LOADED
    # The failed attempt looked at /info.xml for a reason (in vain); the one that worked
    # read the two endpoints once each, after the one challenge of a restart.
    answered = [(request.path, request.status) for request in simulator.requests]
    assert answered == [(PATH_INVERTERS, 401), (PATH_INVERTERS, 200), (PATH_PRODUCTION, 200)]


async def test_token_firmware_found_after_restart(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Upgraded to firmware 7 while Home Assistant was down: setup stops with the issue.

    The refused poll leads to /info.xml, which tells why.
    """
    await restart(hass, init_integration, simulator)
    simulator.identify_as(firmware="D7.6.175")
    simulator.fail(PATH_INVERTERS, status=401, body=b"", headers={"WWW-Authenticate": "Bearer"})
    await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.SETUP_ERROR
    assert issue_registry.async_get_issue(DOMAIN, f"{SERIAL}_token_firmware") is not None


async def test_unchanged_entities_are_not_rewritten(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """Bursts that bring one inverter's report write that inverter's entities only.

    Its power at each burst, its panel's energy at the next inverter read (model/pacing.py).
    """
    coordinator = init_integration.runtime_data
    await follow(hass, freezer, coordinator, hours=0.5)
    # Only one inverter reports from the next burst on.
    lone = simulator.inverters[0]["serialNumber"]
    others = frozenset(inverter["serialNumber"] for inverter in simulator.inverters[1:])
    simulator.rhythm.missed.append((0, 2e9, others))  # type: ignore[union-attr]
    # The others' panel energy counted until now is written at the next read.
    await follow(hass, freezer, coordinator, hours=5 / 60)
    written = record_writes(hass)
    await follow(hass, freezer, coordinator, hours=READS_BEFORE_WRITE * 5 / 60)
    inverter_entities = {
        entity_id for entity_id in written if entity_id.startswith("sensor.inverter_")
    }
    assert inverter_entities == {
        f"sensor.inverter_{lone}_current_power",
        f"sensor.inverter_{lone}_energy_today",
    }
    # The others are no longer reporting (a problem): that changed, and only that.
    stopped = {entity_id for entity_id in written if entity_id.startswith("binary_sensor.")}
    assert stopped <= {f"binary_sensor.inverter_{serial}_reporting" for serial in others}
    assert {state(hass, entity_id) for entity_id in stopped} <= {STATE_ON}
    # The site totals moved with that report; nothing else was written.
    assert set(written) - inverter_entities - stopped <= {
        POWER,
        LIFETIME,
        f"sensor.envoy_{SERIAL}_energy_today",
        f"sensor.envoy_{SERIAL}_energy_last_seven_days",
        f"sensor.envoy_{SERIAL}_inverters_reporting",
    }


@pytest.mark.parametrize("rhythm", [{"interval": 60.0, "metered": True}])
async def test_failed_poll_is_retried_after_a_minute(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """A failed poll is retried a minute later, whatever the schedule said.

    While the last values are held, and once they are too old to show.
    """
    coordinator = init_integration.runtime_data
    simulator.fail("*", status=503, body=b"")
    await poll(hass, freezer)
    assert coordinator.last_update_success  # held: brief trouble is no event
    assert coordinator.update_interval == timedelta(seconds=60)
    await poll_past_the_hold(hass, freezer)
    assert not coordinator.last_update_success
    assert coordinator.update_interval == timedelta(seconds=60)
    simulator.heal()
    await poll(hass, freezer)
    assert coordinator.last_update_success


async def follow_watching(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    coordinator: EnvoyLegacyCoordinator,
    hours: float,
    metered: bool,
) -> list[tuple[float, bool | None]]:
    """Follow the schedule for a while; return what the Envoy was taken for after each poll."""
    seen: list[tuple[float, bool | None]] = []
    end = time.time() + hours * HOUR
    while time.time() < end:
        assert coordinator.next_poll is not None
        freezer.move_to(coordinator.next_poll + timedelta(seconds=0.6))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        seen.append((time.time(), coordinator.site.scheduler.state.metered))
    assert any(taken is metered for _, taken in seen), "the Envoy was never taken for what it is"
    return seen


@pytest.mark.parametrize("early", [60.0, 100.0])
async def test_early_first_burst_is_no_meter(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    early: float,
) -> None:
    """The first burst comes earlier than predicted: that change of production is no meter.

    While learning, production is read every minute; one of those reads lands in the early
    burst, before the inverters are read again. The inverter list read next shows the
    burst's reports, so the change is explained: the Envoy is never taken as metered and
    costs what the README says, one read of each endpoint per burst and the hourly probe.
    """
    coordinator = init_integration.runtime_data
    rhythm = simulator.rhythm
    assert rhythm is not None
    setup = simulator.requests[0].at
    burst = previous_burst(rhythm, setup)
    first = rhythm.come_early(burst, early)
    seen = await follow_watching(hass, freezer, coordinator, hours=3, metered=False)
    assert all(taken is not True for _, taken in seen)
    # The trap was laid: the early burst came, and production was read while it arrived.
    assert min(at for at, _ in simulator.report_log if at > burst + SPREAD) == first
    assert any(first <= at <= first + SPREAD for at in reads(simulator, PATH_PRODUCTION))
    start = setup + 2 * HOUR
    assert count(simulator, start, start + HOUR) <= 2 * len(bursts(rhythm, start, start + HOUR)) + 1


# What the release before this one stored about a non-metered Envoy it took as metered: the
# rhythm of the simulator's site (bursts every 300 s on the epoch grid, 59 s long) as of the
# burst before the tests' start, and "metered" from one misread change.
START = NOON.timestamp() - 3 * HOUR
MISJUDGED = {
    "interval": 300.0,
    "pending_interval": None,
    "burst_start": START - 300,
    "burst_end": START - 300 + SPREAD,
    "spreads": [float(SPREAD)],
    "metered": True,
    "unchanged": 0,
}


@pytest.mark.parametrize("rhythm", [MISJUDGED])
async def test_stored_misjudged_meter_is_undone(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """A non-metered Envoy stored as metered: found non-metered within the hour, and stored.

    Production read every minute stays unchanged between bursts: three such readings in a
    row undo the misjudgment, and the requests fall back to the non-metered figure.
    """
    coordinator = init_integration.runtime_data
    assert coordinator.site.scheduler.state.metered is True  # the stored state loaded as it was
    rhythm = simulator.rhythm
    assert rhythm is not None
    setup = simulator.requests[0].at
    seen = await follow_watching(hass, freezer, coordinator, hours=3, metered=False)
    corrected = min(at for at, taken in seen if taken is False)
    assert corrected - setup <= HOUR
    assert all(taken is False for at, taken in seen if at >= corrected)
    # Before that, production was read every minute: the misjudgment cost requests.
    misjudged = [at for at in reads(simulator, PATH_PRODUCTION) if at < corrected]
    assert len(misjudged) > len(bursts(rhythm, setup, corrected)) + 1
    start = corrected + 600
    assert count(simulator, start, start + HOUR) <= 2 * len(bursts(rhythm, start, start + HOUR)) + 1
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    stored = hass_storage[store_key(init_integration.entry_id)]["data"]
    assert stored["rhythm"]["metered"] is False


@pytest.mark.parametrize("metered", [True])
async def test_metered_envoy_is_recognised(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """An Envoy with a production meter is found metered within three report intervals.

    Production moves between bursts while the inverter list shows no new report, in two
    gaps in a row. From then on it stays metered and production is read every minute.
    """
    coordinator = init_integration.runtime_data
    rhythm = simulator.rhythm
    assert rhythm is not None
    setup = simulator.requests[0].at
    seen = await follow_watching(hass, freezer, coordinator, hours=3, metered=True)
    recognised = min(at for at, taken in seen if taken is True)
    assert recognised - setup <= 3 * rhythm.interval
    assert all(taken is True for at, taken in seen if at >= recognised)
    production_reads = [at for at in production_reads_of(simulator) if at >= recognised]
    assert max(b - a for a, b in itertools.pairwise(production_reads)) <= 60 + 1
    start = recognised + 600
    assert (
        count(simulator, start, start + HOUR) <= 60 + len(bursts(rhythm, start, start + HOUR)) + 1
    )
