"""Our integration on the simulated Envoy, in simulated time (scripts/bench, issue #6).

Home Assistant's clock is frozen and moved from one scheduled poll to the next (the
``freezer`` fixture); the simulator, serving from its own thread, reads the same frozen clock,
so its inverters report on their rhythm while hours pass in seconds. Every poll is one the
integration scheduled itself.

The run starts an hour before summer noon with nothing learned (a new entry: the first hour
is spent learning the site), then measures the two hours after it: requests, bytes, CPU
time of Home Assistant's thread, how stale the data got, from the simulator's own log of
reports and requests, and the state rows each hour writes. Setup is measured twice: the
first setup of the entry, and a restart (what every Home Assistant start costs). Then the
clock jumps to the night after, whose state rows are counted over an hour. Memory is
measured in a run of its own, as for the built-in integration.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import math
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import CONF_HOST, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from benchmarks.common import (
    HOUR_S,
    MODE,
    ROW_WINDOW_S,
    SCENARIOS,
    SIM_START,
    SIZES,
    PeakMemory,
    StateWrites,
    by_kind,
    flush_delayed_saves,
    measure,
    preload,
    result_path,
    simulated_envoy,
    statistics_entities,
    traffic,
    window_means,
    write_result,
)
from custom_components.enphase_envoy_legacy.const import CONF_SERIAL, DOMAIN
from tests.simulator import (
    PATH_INVERTERS,
    PATH_METER_READINGS,
    PATH_METERS,
    PATH_PRODUCTION,
    PATH_PRODUCTION_JSON,
)
from tests.simulator.rhythm import Rhythm
from tests.simulator.thread import SimulatorThread

SIDE = "ours"
# The per-panel entities, which the built-in integration does not write on this firmware:
# turned off for the like-for-like figures (lifetime energy is off by default already).
PANEL_ENTITIES = (
    ("sensor", "energy_today"),
    ("sensor", "lifetime_energy"),
    ("binary_sensor", "reporting"),
)
HTTP_OK = 200
# The real-time run that measures CPU: a compressed rhythm (bursts every 6 s over 1.5 s, the
# same inverters and reports per burst) so that enough polls of each kind happen quickly.
# First production is read every second (a poll of it alone most seconds, and a burst's
# inverters with it), then on a metered Envoy the bursts alone (read with production, as
# there), so that its few dear polls are measured more; how long each lasts is the mode's
# (common.MODES).
CPU_PRODUCTION_RUN_S = MODE.production_run_s
CPU_PRODUCTION_INTERVAL_S = 1.0
CPU_INVERTERS_RUN_S = MODE.inverters_run_s
# The CPU of a kind of poll: the means of this many windows of its polls (in the order they
# ran), the repeats an hour's CPU is computed for, as the built-in's windows of polls.
CPU_WINDOWS = MODE.repeats
CPU_RHYTHM_INTERVAL_S = 6.0
CPU_RHYTHM_SPREAD_S = 1.5
# Restarts whose median wall time is the setup's (real time, as the built-in's).
SETUPS = MODE.setups
LEARNING_H = 1  # the first hour, with nothing learned yet
MEASURED_H = 2  # the hours measured after it
# The night whose state rows are counted: the clock jumps to local midnight after the
# simulated noon, an hour settles (the first reads after the jump write what the evening
# changed, and midnight starts each energy today again), then an hour is counted.
NIGHT_JUMP = timedelta(hours=12)
NIGHT_SETTLE_H = 1


def make_entry(host: str, serial: str) -> MockConfigEntry:
    """Return a new entry for the simulated Envoy."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Envoy {serial}",
        unique_id=serial,
        data={CONF_HOST: host, CONF_SERIAL: serial},
    )


async def step(hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry) -> None:
    """Move the clock to the next poll the integration scheduled and let it run."""
    coordinator = entry.runtime_data
    assert coordinator.next_poll is not None
    # Home Assistant arms timers on whole seconds of the loop's clock plus 0.05 to 0.5 s: a
    # poll runs at most half a second after the time it was scheduled for.
    freezer.move_to(coordinator.next_poll + timedelta(seconds=0.5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


@contextmanager
def real_time() -> Iterator[list[float]]:
    """Measure real wall time under the frozen clock (freezegun leaves clock_gettime alone)."""
    elapsed = [0.0]
    start = time.clock_gettime(time.CLOCK_MONOTONIC)
    try:
        yield elapsed
    finally:
        elapsed[0] = time.clock_gettime(time.CLOCK_MONOTONIC) - start


# What a poll reads of the site's production: the totals, or a metered Envoy-S's meters.
PRODUCTION_PATHS = frozenset(
    {PATH_PRODUCTION, PATH_PRODUCTION_JSON, PATH_METER_READINGS, PATH_METERS}
)


def poll_kind(paths: set[str]) -> str:
    """Name what a poll read: "inverters+production", "inverters" or "production"."""
    read = {path.partition("?")[0] for path in paths}
    return "+".join(
        name
        for name, wanted in (("inverters", {PATH_INVERTERS}), ("production", PRODUCTION_PATHS))
        if read & wanted
    )


def poll_kinds(requests: list[Any], hours: int) -> dict[str, float]:
    """Return how many polls of each kind ran per hour (a poll's requests share its time)."""
    by_poll: dict[float, set[str]] = {}
    for request in requests:
        if request.status == HTTP_OK:
            by_poll.setdefault(request.at, set()).add(request.path)
    kinds: dict[str, float] = {}
    for read in by_poll.values():
        kinds[poll_kind(read)] = kinds.get(poll_kind(read), 0) + 1 / hours
    return kinds


def staleness(events: list[float], reads: list[float], start: float, end: float) -> float:
    """Return the longest an event in [start, end) waited for the next successful read."""
    worst = 0.0
    for event in events:
        if start <= event < end:
            position = bisect.bisect_left(reads, event)
            if position < len(reads):
                worst = max(worst, reads[position] - event)
    return worst


@pytest.mark.parametrize("inverters", SIZES)
@pytest.mark.parametrize("scenario", SCENARIOS)
async def bench_ours(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    socket_enabled: None,
    scenario: str,
    inverters: int,
) -> None:
    """Set up, restart, then follow the schedule for three simulated hours."""
    await preload(hass, DOMAIN, [Platform.SENSOR])
    start = SIM_START - timedelta(hours=LEARNING_H)
    freezer.move_to(start)
    with SimulatorThread(simulated_envoy(scenario, inverters)) as envoy:
        simulator = envoy.simulator
        entry = make_entry(envoy.host, simulator.serial)
        entry.add_to_hass(hass)
        with real_time() as first_setup_wall:
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
        first_setup_traffic = envoy.call(lambda: traffic(list(simulator.requests)))
        inverters_serials = envoy.call(lambda: [i["serialNumber"] for i in simulator.inverters])
        enabled = enabled_entities(hass, entry)
        panel = panel_entities(hass, inverters_serials)
        writes = StateWrites(hass, enabled)

        end = start.timestamp() + (LEARNING_H + MEASURED_H) * HOUR_S
        polls, written = await follow(hass, freezer, entry, writes, end)
        with_statistics = statistics_entities(hass, enabled)

        requests = envoy.call(lambda: list(simulator.requests))
        reports = envoy.call(lambda: [at for at, _ in simulator.report_log])
        changes = envoy.call(lambda: list(simulator.production_changes))

        # A restart: the entry is unloaded (storing what it learned) and set up again.
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        envoy.call(simulator.requests.clear)
        with measure() as restart_span, real_time() as restart_wall:
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
        restart_traffic = envoy.call(lambda: traffic(list(simulator.requests)))
        entities = len(er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id))
        night = await night_rows(hass, freezer, entry, StateWrites(hass, enabled))
        assert await hass.config_entries.async_unload(entry.entry_id)

    measured_from = start.timestamp() + LEARNING_H * HOUR_S
    window = [r for r in requests if measured_from <= r.at < end]
    hours = [
        traffic([r for r in window if 0 <= r.at - measured_from - h * HOUR_S < HOUR_S])
        for h in range(MEASURED_H)
    ]
    # The state rows of the simulated minutes the built-in's windows of polls span.
    window_rows = [
        [ids for at, ids in written if 0 <= at - measured_from - w * ROW_WINDOW_S < ROW_WINDOW_S]
        for w in range(MODE.repeats)
    ]
    busiest = max(hours, key=lambda hour: hour.requests)
    learning = traffic([r for r in requests if r.at < measured_from])
    measured_polls = [(at, cpu_s) for at, cpu_s in polls if at > measured_from]
    cpu_total = sum(cpu_s for _, cpu_s in measured_polls)
    inverter_reads = [r.at for r in requests if r.path == PATH_INVERTERS and r.status == HTTP_OK]
    production_reads = [
        r.at
        for r in requests
        if r.path.partition("?")[0] in PRODUCTION_PATHS and r.status == HTTP_OK
    ]
    if scenario != "non-metered":
        # Production moves every second: its worst staleness is the longest gap between reads.
        in_window = [at for at in production_reads if measured_from <= at < end]
        production_staleness = max(b - a for a, b in itertools.pairwise(in_window))
    else:
        production_staleness = staleness(changes, production_reads, measured_from, end - 600)
    result: dict[str, Any] = {
        "side": SIDE,
        "scenario": scenario,
        "inverters": inverters,
        "time_base": "simulated",
        "setup_requests": restart_traffic.requests,
        "setup_challenges": restart_traffic.challenges,
        "frozen_clock_setup_wall_s": restart_wall[0],
        "frozen_clock_setup_cpu_s": restart_span.cpu_s,
        "first_setup_requests": first_setup_traffic.requests,
        "first_setup_challenges": first_setup_traffic.challenges,
        "first_setup_wall_s": first_setup_wall[0],
        "requests_per_hour": busiest.requests,
        "requests_per_hour_mean": sum(h.requests for h in hours) / MEASURED_H,
        "requests_per_hour_repeats": [h.requests for h in hours],
        "learning_hour_requests": learning.requests,
        "challenges_per_hour": busiest.challenges,
        "bytes_per_hour": max(hour.bytes for hour in hours),
        "requests_per_poll": len(window) / max(len(measured_polls), 1),
        "frozen_clock_cpu_per_poll_s": cpu_total / max(len(measured_polls), 1),
        "frozen_clock_cpu_per_hour_s": cpu_total / MEASURED_H,
        "poll_kinds_per_hour": poll_kinds(window, MEASURED_H),
        "polls_per_hour": len(measured_polls) / MEASURED_H,
        "staleness_production_s": production_staleness,
        "staleness_inverters_s": staleness(reports, inverter_reads, measured_from, end - 600),
        "entities": entities,
        **rows_figures(window_rows, night, with_statistics, panel),
        "notes": [
            (
                f"ours: simulated time; {LEARNING_H} h learning a new entry, then {MEASURED_H} h "
                "measured around summer noon, as installed (the entities enabled by "
                "default); setup requests: a restart of the entry (the first setup of a new "
                "entry is in the JSON)"
            ),
            (
                f"ours, state rows: counted in {MODE.repeats} windows of "
                f"{ROW_WINDOW_S / 60:g} simulated minutes from noon, the stretches of the "
                "simulated day the built-in's windows of polls span (the repeats), per hour; "
                f"and in a night hour ({NIGHT_SETTLE_H} h after the clock jumps to local "
                "midnight); like for like: without the per-panel entities' rows"
            ),
        ],
    }
    write_result(result)


async def follow(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    writes: StateWrites,
    end: float,
) -> tuple[list[tuple[float, float]], list[tuple[float, list[str]]]]:
    """Follow the schedule until ``end``; return each poll's CPU and the states it changed.

    Each poll's CPU with the time of the poll after it, the states with the poll's own time.
    """
    polls: list[tuple[float, float]] = []
    written: list[tuple[float, list[str]]] = []
    while entry.runtime_data.next_poll.timestamp() < end:
        with measure() as poll:
            await step(hass, freezer, entry)
        polls.append((entry.runtime_data.next_poll.timestamp(), poll.cpu_s))
        written.append((dt_util.utcnow().timestamp(), writes.take()))
    return polls, written


def enabled_entities(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    """Return the entity ids of the entry's enabled entities (those that write states)."""
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    return [entity.entity_id for entity in entries if not entity.disabled]


def panel_entities(hass: HomeAssistant, serials: list[str]) -> set[str]:
    """Return the entity ids of the per-panel entities (PANEL_ENTITIES) of these inverters."""
    registry = er.async_get(hass)
    found = (
        registry.async_get_entity_id(platform, DOMAIN, f"{serial}_{key}")
        for serial in serials
        for platform, key in PANEL_ENTITIES
    )
    return {entity_id for entity_id in found if entity_id is not None}


async def night_rows(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, writes: StateWrites
) -> list[str]:
    """Jump to the night after the simulated noon; return what an hour of it wrote."""
    night = SIM_START + NIGHT_JUMP
    freezer.move_to(night)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    settled = (night + timedelta(hours=NIGHT_SETTLE_H)).timestamp()
    while entry.runtime_data.next_poll.timestamp() < settled:
        await step(hass, freezer, entry)
    writes.take()
    changed: list[str] = []
    while entry.runtime_data.next_poll.timestamp() < settled + HOUR_S:
        await step(hass, freezer, entry)
        changed += writes.take()
    return changed


def rows_figures(
    windows: list[list[list[str]]], night: list[str], with_statistics: list[str], panel: set[str]
) -> dict[str, Any]:
    """Return the state rows per daylight hour and night hour, and the statistics.

    As installed, and like for like (without the per-panel entities): the state rows each
    window of polls wrote, per hour; the night hour's; how many entities have statistics.
    """
    scale = HOUR_S / ROW_WINDOW_S

    def count(changed: list[str], *, panels: bool) -> int:
        return sum(1 for entity_id in changed if panels or entity_id not in panel)

    figures: dict[str, Any] = {}
    for suffix, panels in (("", True), ("_like_for_like", False)):
        figures[f"state_rows_daylight_hour{suffix}"] = [
            scale * sum(count(changed, panels=panels) for changed in window) for window in windows
        ]
        figures[f"state_rows_night_hour{suffix}"] = count(night, panels=panels)
        figures[f"statistics_entities{suffix}"] = count(with_statistics, panels=panels)
    figures["state_rows_daylight_hour_panels"] = [
        scale * sum(len(changed) - count(changed, panels=False) for changed in window)
        for window in windows
    ]
    everything = [entity_id for window in windows for changed in window for entity_id in changed]
    figures["state_rows_daylight_hour_by_kind"] = by_kind(everything, scale / len(windows))
    figures["state_rows_night_hour_by_kind"] = by_kind(night)
    figures["statistics_entities_by_kind"] = by_kind(with_statistics)
    return figures


async def restart(
    hass: HomeAssistant, entry: MockConfigEntry, envoy: SimulatorThread
) -> list[tuple[float, int]]:
    """Unload and set up the entry SETUPS times; return each setup's wall time and requests."""
    simulator = envoy.simulator
    restarts = []
    for _ in range(SETUPS):
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        before = envoy.call(lambda: len(simulator.requests))
        with real_time() as wall:
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
        restarts.append((wall[0], envoy.call(lambda: len(simulator.requests)) - before))
    return restarts


def disable_panel_entities(hass: HomeAssistant, serials: list[str]) -> None:
    """Turn off each inverter's energy sensors and reporting status, as a user may.

    The built-in integration writes no per-inverter energy or status on this firmware:
    without them, both set up and write the same entities (each inverter's power).
    """
    registry = er.async_get(hass)
    for serial in serials:
        for platform, key in PANEL_ENTITIES:
            registry.async_get_or_create(
                platform, DOMAIN, f"{serial}_{key}", disabled_by=er.RegistryEntryDisabler.USER
            )


# As installed always; like for like too in a full run (no target reads it).
PANELS = [True, False] if MODE.like_for_like else [True]
PANELS_IDS = ["with-panel-energy", "like-for-like"][: len(PANELS)]


@pytest.mark.parametrize("panels", PANELS, ids=PANELS_IDS)
@pytest.mark.parametrize("inverters", SIZES)
@pytest.mark.parametrize("scenario", SCENARIOS)
async def bench_ours_cpu(
    hass: HomeAssistant, socket_enabled: None, scenario: str, inverters: int, panels: bool
) -> None:
    """CPU time per poll in real time, per kind of poll; per hour with the schedule's counts.

    Under the frozen clock every time function of Home Assistant goes through freezegun,
    which makes each state write several times dearer than in a running Home Assistant;
    the built-in integration is measured in real time, so ours is too. The polls here follow
    the integration's own schedule on a compressed rhythm (same inverters, same reports per
    burst); the number of polls of each kind in an hour comes from the simulated-time run.
    """
    await preload(hass, DOMAIN, [Platform.SENSOR])
    site_power = 200.0 * inverters
    rhythm = Rhythm(
        interval=CPU_RHYTHM_INTERVAL_S,
        spread=CPU_RHYTHM_SPREAD_S,
        metered=scenario != "non-metered",
        power=lambda t: site_power * (1 + 0.1 * math.sin(t / 30)),
    )
    samples: list[tuple[str, float]] = []
    # The CTs' day at the simulated runs' hour (a summer noon), as both sides' other runs.
    day_shift_s = SIM_START.timestamp() - time.time()
    with SimulatorThread(
        simulated_envoy(scenario, inverters, rhythm=rhythm, day_shift_s=day_shift_s)
    ) as envoy:
        simulator = envoy.simulator
        entry = make_entry(envoy.host, simulator.serial)
        entry.add_to_hass(hass)
        if not panels:
            disable_panel_entities(
                hass, envoy.call(lambda: [i["serialNumber"] for i in simulator.inverters])
            )
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        coordinator = entry.runtime_data
        original = coordinator._async_refresh

        async def timed(*args: Any, **kwargs: Any) -> None:
            before = envoy.call(lambda: len(simulator.requests))
            cpu = time.thread_time()
            await original(*args, **kwargs)
            cpu = time.thread_time() - cpu
            read = envoy.call(
                lambda: {r.path for r in simulator.requests[before:] if r.status == HTTP_OK}
            )
            samples.append((poll_kind(read), cpu))

        coordinator._async_refresh = timed  # type: ignore[method-assign]
        # The compressed rhythm as if learned (a new entry would wait for its default 300 s
        # interval first), and production read every second, so each kind of poll recurs.
        coordinator.site.scheduler.state.interval = CPU_RHYTHM_INTERVAL_S
        coordinator.site.scheduler.state.metered = scenario != "non-metered"
        coordinator.site.scheduler.production_interval = CPU_PRODUCTION_INTERVAL_S
        await coordinator.async_refresh()
        samples.clear()
        await asyncio.sleep(CPU_PRODUCTION_RUN_S)
        if scenario != "non-metered":
            # Then the bursts alone, without the production-only polls between them: an
            # hour has 12 bursts and 48 of those, so the bursts need more samples.
            coordinator.site.scheduler.production_interval = HOUR_S
        await asyncio.sleep(CPU_INVERTERS_RUN_S)
        restarts = await restart(hass, entry, envoy)
        assert await hass.config_entries.async_unload(entry.entry_id)
    # Per kind, the means of CPU_WINDOWS windows of its polls; the i-th repeat of an hour's
    # CPU adds up each kind's i-th window (measured at about the same time), times the polls
    # of that kind in an hour of the simulated-time run.
    per_kind: dict[str, list[float]] = {}
    for kind in {kind for kind, _ in samples}:
        cpus = [cpu for sampled, cpu in samples if sampled == kind]
        per_kind[kind] = window_means(cpus, CPU_WINDOWS)
    known = json.loads(result_path(SIDE, scenario, inverters).read_text())
    counts: dict[str, float] = known["poll_kinds_per_hour"]
    dearest = max(per_kind.values(), key=statistics.median)

    def hour(number: int) -> float:
        total = 0.0
        for kind, count in counts.items():
            means = per_kind.get(kind, dearest)
            total += count * means[number % len(means)]
        return total

    repeats = [hour(number) for number in range(CPU_WINDOWS)]
    per_hour = statistics.median(repeats)
    suffix = "_with_panels" if panels else ""
    write_result(
        {
            "side": SIDE,
            "scenario": scenario,
            "inverters": inverters,
            f"cpu_per_poll{suffix}_s": per_hour / max(sum(counts.values()), 1),
            f"cpu_per_hour{suffix}_s": per_hour,
            f"cpu_per_hour{suffix}_repeats_s": repeats,
            f"cpu_per_poll_kind{suffix}_s": {
                kind: statistics.median(means) for kind, means in per_kind.items()
            },
            f"cpu_samples{suffix}": len(samples),
            f"setup_wall{suffix}_s": statistics.median(wall for wall, _ in restarts),
            f"setup_walls{suffix}_s": [wall for wall, _ in restarts],
            f"restart_requests{suffix}": max(requests for _, requests in restarts),
            f"restart_requests{suffix}_repeats": [requests for _, requests in restarts],
            "notes": [
                (
                    "ours, CPU: measured in real time per kind of poll (polls of the "
                    f"integration's own schedule on a {CPU_RHYTHM_INTERVAL_S:.0f} s rhythm: "
                    f"{CPU_PRODUCTION_RUN_S:.0f} s with production read every "
                    f"{CPU_PRODUCTION_INTERVAL_S:.0f} s, then {CPU_INVERTERS_RUN_S:.0f} s "
                    "with the bursts alone on a metered Envoy; per kind, the means "
                    f"of {CPU_WINDOWS} windows of its polls), times the polls of each kind in "
                    "an hour of the simulated-time run: one hour's figure per window, the "
                    "repeats; the frozen clock's figures (freezegun slows every state write) "
                    "are in the JSON"
                ),
                (
                    "ours, like for like: each inverter's power, as the built-in integration "
                    "sets up and writes it; the per-panel energy sensors and reporting status, "
                    "which it does not have on this firmware, turned off in the entity "
                    "registry; 'with panel energy': as installed"
                ),
                (
                    f"ours, setup: wall time of a restart of the entry in real time, the "
                    f"median of {SETUPS} restarts"
                ),
            ],
        }
    )


@pytest.mark.parametrize("panels", PANELS, ids=PANELS_IDS)
@pytest.mark.parametrize("inverters", SIZES)
@pytest.mark.parametrize("scenario", SCENARIOS)
async def bench_ours_memory(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    socket_enabled: None,
    scenario: str,
    inverters: int,
    panels: bool,
) -> None:
    """Peak memory (tracemalloc) over setup and an hour of polls, in a run of its own."""
    await preload(hass, DOMAIN, [Platform.SENSOR])
    freezer.move_to(SIM_START)
    with SimulatorThread(simulated_envoy(scenario, inverters)) as envoy:
        entry = make_entry(envoy.host, envoy.simulator.serial)
        entry.add_to_hass(hass)
        if not panels:
            disable_panel_entities(
                hass, envoy.call(lambda: [i["serialNumber"] for i in envoy.simulator.inverters])
            )
        with PeakMemory() as memory:
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            end = SIM_START.timestamp() + HOUR_S
            while entry.runtime_data.next_poll.timestamp() < end:
                await step(hass, freezer, entry)
            await flush_delayed_saves(hass)
        assert await hass.config_entries.async_unload(entry.entry_id)
    suffix = "" if panels else "_like_for_like"
    write_result(
        {
            "side": SIDE,
            "scenario": scenario,
            "inverters": inverters,
            f"peak_memory{suffix}_bytes": memory.peak_bytes,
            f"retained_memory{suffix}_bytes": memory.retained_bytes,
        }
    )
