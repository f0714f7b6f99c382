"""Home Assistant's built-in ``enphase_envoy`` (pyenphase 4.0.6) on the Envoy simulator.

The "theirs" side of issue #6's benchmark. It needs pyenphase, so ``scripts/bench`` runs it in
the benchmark virtualenv (never the test one). For each scenario (non-metered, metered) and size
(40 and 1,000 inverters) it sets up the built-in integration against the simulator exactly as
its config flow would have stored the entry, counts the setup's requests, polls, and writes
``theirs-<scenario>-<inverters>.json`` into ``$BENCH_OUT``.

Real time, sped-up Envoy. pyenphase hangs under a frozen clock (its first poll after a
``freezer`` tick times out without sending a request), so Home Assistant runs in real time. The
simulator's clock runs ``SPEED`` times faster (``SimClock``), and the coordinator's refresh is
called every 60 / ``SPEED`` real seconds, a simulated 60 s, so the polls meet the inverters'
300 s report rhythm exactly as the real 60 s scan interval would: the share of polls that bring
new data, and so the CPU of an hour, are those of a real hour. The coordinator's own timer is
pushed out of the way (its ``SCAN_INTERVAL`` patched to a day) so that only those refreshes
poll. Requests, bytes, CPU and state rows are measured per poll and scaled to an hour at its
real 60 s interval, plus a quarter of the ``/info`` re-read it does every 4 hours. Then the
Envoy's clock jumps to the night, whose state rows are counted over a window of polls.

Memory is measured in a run of its own (tracemalloc slows Python down several times).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import aiohttp
import pytest
from homeassistant.components.enphase_envoy import coordinator as envoy_coordinator
from homeassistant.components.enphase_envoy.const import CONF_MANUAL_TOKEN, DOMAIN, PLATFORMS
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from yarl import URL

from benchmarks.common import (
    HOUR_S,
    MODE,
    SCENARIOS,
    SIM_START,
    SIZES,
    PeakMemory,
    SimClock,
    Span,
    StateWrites,
    Traffic,
    by_kind,
    flush_delayed_saves,
    mean,
    measure,
    paths,
    per_hour,
    preload,
    simulated_envoy,
    statistics_entities,
    traffic,
    write_result,
)
from tests.simulator import EnvoySimulator, Request
from tests.simulator.thread import SimulatorThread

SIDE = "theirs"
# The built-in's own schedule: a poll a minute, /info re-read every 4 hours, the MAC address
# read once, 34 s after setup.
SCAN_INTERVAL_S = envoy_coordinator.SCAN_INTERVAL.total_seconds()
FIRMWARE_RECHECK = envoy_coordinator.FIRMWARE_REFRESH_INTERVAL
MAC_CHECK = envoy_coordinator.MAC_VERIFICATION_DELAY
# Polls per window, windows per run (the repeats: the CPU of an hour is the median of the
# windows'), and how much faster than real time the simulated Envoy lives.
POLLS = int(os.environ.get("BENCH_BUILTIN_POLLS", str(MODE.builtin_polls)))
WINDOWS = int(os.environ.get("BENCH_BUILTIN_WINDOWS", str(MODE.repeats)))
# Restarts whose median wall time is the setup's (the first setup fills the registries).
SETUPS = MODE.setups
# The night whose state rows are counted: local 01:00 after the simulated noon (ours counts
# from there too), after polls that write what the evening changed.
NIGHT = SIM_START + timedelta(hours=13)
NIGHT_SETTLE_POLLS = 2
# At night only an Envoy-S Metered's consumption moves, at every poll: a few polls tell.
NIGHT_POLLS = 5
# The memory run polls less: its peak is the setup's, and five simulated minutes always hold
# one report burst.
MEMORY_POLLS = int(os.environ.get("BENCH_BUILTIN_MEMORY_POLLS", "5"))
SPEED = float(os.environ.get("BENCH_BUILTIN_SPEED", str(MODE.builtin_speed)))
LOOPBACK = "127.0.0.1"
# Integrations that would look at the network beyond 127.0.0.1: none may be set up.
DISCOVERY = frozenset({"zeroconf", "ssdp", "dhcp", "bluetooth", "usb", "network"})


@dataclass
class ClientLog:
    """Every URL Home Assistant's aiohttp sessions try, and how it ends (observation only).

    The simulator logs the HTTP requests it answers; this sees what never becomes one there:
    pyenphase's HTTPS attempt at ``/info`` (the simulator only speaks HTTP, so the TLS
    handshake fails and pyenphase falls back to HTTP, as it does on a real legacy Envoy whose
    port 443 is closed). It also checks that nothing is sent beyond 127.0.0.1. One entry per
    client call: a Digest challenge and its retry are one call (aiohttp's middleware).
    """

    attempts: list[tuple[str, str]] = field(default_factory=list)

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Record every client request while in the block."""
        original = aiohttp.ClientSession._request
        log = self.attempts

        async def spy(
            session: aiohttp.ClientSession,
            method: str,
            url: str | URL,
            *args: object,
            **kwargs: object,
        ) -> aiohttp.ClientResponse:
            target = URL(str(url))
            if target.host != LOOPBACK:
                log.append((str(target), "refused: not loopback"))
                raise AssertionError(f"the benchmark must not reach {target}")
            try:
                response = await original(session, method, url, *args, **kwargs)
            except BaseException as err:
                log.append((str(target), type(err).__name__))
                raise
            log.append((str(target), str(response.status)))
            return response

        with patch.object(aiohttp.ClientSession, "_request", spy):
            yield

    def https_failures(self, start: int = 0) -> int:
        """Return how many HTTPS attempts failed (from entry ``start`` on)."""
        return sum(
            1
            for url, outcome in self.attempts[start:]
            if url.startswith("https:") and not outcome.isdigit()
        )


@dataclass
class Poll:
    """One refresh of the coordinator, and the states it changed (a state row each)."""

    span: Span
    requests: list[Request]
    changed: bool
    written: list[str] = field(default_factory=list)


def make_entry(simulator: EnvoySimulator) -> MockConfigEntry:
    """Return the entry the built-in's config flow creates for this Envoy.

    Its user step stores ``{name} | user_input``: host, username, password and the manual
    token switch (off); version 1.1; the serial (read from /info) as unique id. On legacy
    firmware the user ``envoy`` with the last six characters of the serial as password.
    pyenphase builds ``http://{host}{path}`` (and ``https://{host}/info``), so the host
    carries the simulator's port.
    """
    serial = simulator.serial
    name = f"Envoy {serial}"
    return MockConfigEntry(
        domain=DOMAIN,
        title=name,
        unique_id=serial,
        version=1,
        minor_version=1,
        data={
            CONF_NAME: name,
            CONF_HOST: simulator.host,
            CONF_USERNAME: "envoy",
            CONF_PASSWORD: serial[-6:],
            CONF_MANUAL_TOKEN: False,
        },
    )


def make_simulator(scenario: str, inverters: int, clock: SimClock) -> EnvoySimulator:
    """Return the simulated Envoy both sides meet: the capture, 300 s bursts, the clock."""
    return simulated_envoy(scenario, inverters, clock=clock)


async def run_polls(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    envoy: SimulatorThread,
    clock: SimClock,
    count: int,
    writes: StateWrites | None = None,
) -> list[Poll]:
    """Refresh the coordinator ``count`` times, a simulated scan interval apart.

    With ``writes``, each poll's changed states are taken after its measured stretch.
    """
    coordinator = entry.runtime_data
    requests = envoy.simulator.requests
    period = clock.real_delay(SCAN_INTERVAL_S)
    start = time.perf_counter()
    polls = []
    for number in range(1, count + 1):
        await asyncio.sleep(max(0.0, start + number * period - time.perf_counter()))
        before, previous = len(requests), coordinator.data
        with measure() as span:
            await coordinator.async_refresh()
            await hass.async_block_till_done()
        assert coordinator.last_update_success, coordinator.last_exception
        written = writes.take() if writes is not None else []
        polls.append(Poll(span, requests[before:], coordinator.data != previous, written))
    return polls


async def restart(
    hass: HomeAssistant, entry: MockConfigEntry, requests: list[Request]
) -> list[tuple[float, int]]:
    """Unload and set up the entry SETUPS times; return each setup's wall time and requests."""
    restarts = []
    for _ in range(SETUPS):
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        mark = len(requests)
        with measure() as again:
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
        restarts.append((again.wall_s, len(requests) - mark))
    return restarts


def hourly(per_poll: float, recheck_value: float) -> float:
    """Return a per-poll figure per hour, with its share of the 4-hourly /info re-read."""
    recheck_share = SCAN_INTERVAL_S / FIRMWARE_RECHECK.total_seconds()  # of an hour's polls
    return per_hour(per_poll + recheck_value * recheck_share, SCAN_INTERVAL_S)


async def night_polls(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    envoy: SimulatorThread,
    clock: SimClock,
    entity_ids: list[str],
) -> list[Poll]:
    """Jump the Envoy's clock to the night; return a window of polls and what they wrote.

    The polls just after the jump write what the evening changed; they are not counted.
    """
    clock.jump(NIGHT)
    await run_polls(hass, entry, envoy, clock, NIGHT_SETTLE_POLLS)
    return await run_polls(hass, entry, envoy, clock, NIGHT_POLLS, StateWrites(hass, entity_ids))


def window_means(polls: list[Poll], value: Callable[[Poll], float]) -> list[float]:
    """Return the mean of a value per poll in each window of POLLS polls."""
    return [
        mean([value(poll) for poll in polls[start : start + POLLS]])
        for start in range(0, len(polls), POLLS)
    ]


def enabled_entities(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    """Return the entity ids of the entry's enabled entities (those that write states)."""
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    return [entity.entity_id for entity in entries if not entity.disabled]


def settle_timers(hass: HomeAssistant, delay: timedelta) -> None:
    """Fire the timers due within ``delay`` (as if that much time had passed)."""
    async_fire_time_changed(hass, dt_util.utcnow() + delay)


@pytest.mark.parametrize("inverters", SIZES)
@pytest.mark.parametrize("scenario", SCENARIOS)
async def bench_builtin(
    hass: HomeAssistant, socket_enabled: None, scenario: str, inverters: int
) -> None:
    """Set up the built-in integration, poll it, and write what it cost."""
    await preload(hass, DOMAIN, PLATFORMS)
    clock = SimClock(speed=SPEED)
    client = ClientLog()
    with (
        SimulatorThread(make_simulator(scenario, inverters, clock)) as envoy,
        client.watching(),
        patch.object(envoy_coordinator, "SCAN_INTERVAL", timedelta(days=1)),
    ):
        requests = envoy.simulator.requests
        entry = make_entry(envoy.simulator)
        entry.add_to_hass(hass)

        # Setup, as Home Assistant starts it.
        with measure() as setup:
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        setup_requests = list(requests)
        setup_https = client.https_failures()

        # 34 s later it reads /home once for the MAC address: a request of the setup too.
        mark, attempts_mark = len(requests), len(client.attempts)
        settle_timers(hass, MAC_CHECK + timedelta(seconds=1))
        await hass.async_block_till_done(wait_background_tasks=True)
        deferred = requests[mark:]
        assert client.https_failures(attempts_mark) == 0

        # The polls, and the states they change, after one that meets what changed while the
        # setup ran (the Envoy's clock runs on meanwhile: minutes at 1,000 inverters).
        await run_polls(hass, entry, envoy, clock, 1)
        writes = StateWrites(hass, enabled_entities(hass, entry))
        polls = await run_polls(hass, entry, envoy, clock, POLLS * WINDOWS, writes)
        with_statistics = statistics_entities(hass, writes.entity_ids)

        # Every 4 hours it reads /info again (HTTPS first, then HTTP).
        mark, attempts_mark = len(requests), len(client.attempts)
        with measure() as recheck:
            settle_timers(hass, FIRMWARE_RECHECK + timedelta(seconds=1))
            await hass.async_block_till_done(wait_background_tasks=True)
        recheck_requests = requests[mark:]
        recheck_https = client.https_failures(attempts_mark)

        # Restarts, as every Home Assistant start sets the entry up (registries filled).
        restarts = await restart(hass, entry, requests)

        night = await night_polls(hass, entry, envoy, clock, writes.entity_ids)

        entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        changed = sum(poll.changed for poll in polls)
        assert len(devices) == inverters + 1, len(devices)
        assert changed, "no poll brought new data: the simulated Envoy did not move"
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()

    assert all(URL(url).host == LOOPBACK for url, _ in client.attempts)
    assert not DISCOVERY & hass.config.components
    setup_traffic = traffic(setup_requests)
    poll_traffic = traffic(request for poll in polls for request in poll.requests)
    recheck_traffic = traffic(recheck_requests)
    requests_per_poll = poll_traffic.requests / len(polls)
    per_poll_paths = sorted({" + ".join(paths(poll.requests)) for poll in polls})
    # Each window's mean per poll (a window spans whole report bursts); the median window.
    window_cpus = window_means(polls, lambda poll: poll.span.cpu_s)
    cpu_per_poll = statistics.median(window_cpus)
    walls = [poll.span.wall_s for poll in polls]
    worst_staleness = SCAN_INTERVAL_S + max(walls)
    write_result(
        {
            "side": SIDE,
            "scenario": scenario,
            "inverters": inverters,
            "time_base": "real",
            "setup_requests": setup_traffic.requests,
            "setup_challenges": setup_traffic.challenges,
            "first_setup_wall_s": setup.wall_s,
            "setup_cpu_s": setup.cpu_s,
            "setup_wall_s": statistics.median(wall for wall, _ in restarts),
            "setup_walls_s": [wall for wall, _ in restarts],
            "restart_requests": max(count for _, count in restarts),
            "restart_requests_repeats": [count for _, count in restarts],
            "setup_bytes": setup_traffic.bytes,
            "setup_deferred_requests": len(deferred),
            "setup_https_attempts": setup_https,
            "requests_per_poll": requests_per_poll,
            "requests_per_hour": hourly(requests_per_poll, recheck_traffic.requests),
            "requests_per_hour_repeats": [
                hourly(window, recheck_traffic.requests)
                for window in window_means(polls, lambda poll: len(poll.requests))
            ],
            "challenges_per_hour": hourly(
                poll_traffic.challenges / len(polls), recheck_traffic.challenges
            ),
            "bytes_per_hour": hourly(poll_traffic.bytes / len(polls), recheck_traffic.bytes),
            "https_attempts_per_hour": hourly(0.0, recheck_https),
            "firmware_recheck_requests": recheck_traffic.requests,
            "firmware_recheck_cpu_s": recheck.cpu_s,
            "cpu_per_poll_s": cpu_per_poll,
            "cpu_per_hour_s": hourly(cpu_per_poll, recheck.cpu_s),
            "cpu_per_hour_windows_s": [hourly(cpu, recheck.cpu_s) for cpu in window_cpus],
            "poll_wall_s": mean(walls),
            "poll_wall_max_s": max(walls),
            "staleness_production_s": worst_staleness,
            "staleness_inverters_s": worst_staleness,
            "entities": len(entities),
            "entities_enabled": len(writes.entity_ids),
            "state_rows_daylight_hour": [
                per_hour(rows, SCAN_INTERVAL_S)
                for rows in window_means(polls, lambda poll: len(poll.written))
            ],
            "state_rows_night_hour": per_hour(
                mean([len(poll.written) for poll in night]), SCAN_INTERVAL_S
            ),
            "statistics_entities": len(with_statistics),
            "state_rows_daylight_hour_by_kind": by_kind(
                (entity_id for poll in polls for entity_id in poll.written),
                HOUR_S / (SCAN_INTERVAL_S * len(polls)),
            ),
            "state_rows_night_hour_by_kind": by_kind(
                (entity_id for poll in night for entity_id in poll.written),
                HOUR_S / (SCAN_INTERVAL_S * len(night)),
            ),
            "statistics_entities_by_kind": by_kind(with_statistics),
            "devices": len(devices),
            "polls": len(polls),
            "polls_with_new_data": changed,
            "speed": SPEED,
            "notes": notes(
                scenario=scenario,
                setup_requests=setup_requests,
                setup_https=setup_https,
                deferred=deferred,
                per_poll_paths=per_poll_paths,
                recheck=(recheck_traffic, recheck_https, paths(recheck_requests)),
                polls=polls,
                max_wall=max(walls),
            ),
        }
    )


def notes(
    *,
    scenario: str,
    setup_requests: list[Request],
    setup_https: int,
    deferred: list[Request],
    per_poll_paths: list[str],
    recheck: tuple[Traffic, int, list[str]],
    polls: list[Poll],
    max_wall: float,
) -> list[str]:
    """Say how the numbers were obtained."""
    recheck_traffic, recheck_https, recheck_paths = recheck
    changed = sum(poll.changed for poll in polls)
    moves = (
        "production moves every second, inverters report every 300 s"
        if scenario != "non-metered"
        else "production and inverters move with the 300 s report bursts"
    )
    return [
        (
            f"theirs measured in real time (pyenphase hangs under a frozen clock): Home "
            f"Assistant's clock is real, the simulated Envoy's runs {SPEED:g}x faster, and the "
            f"coordinator is refreshed every {SCAN_INTERVAL_S / SPEED:g} real s = "
            f"{SCAN_INTERVAL_S:g} simulated s; {len(polls)} polls measured, scaled to an hour "
            f"at its real {SCAN_INTERVAL_S:g} s scan interval"
        ),
        (
            f"setup: {len(setup_requests)} HTTP requests counted by the simulator, 401 "
            f"challenges included ({', '.join(paths(setup_requests))}), plus {setup_https} "
            "failed HTTPS attempt at /info (TLS handshake against the simulator's HTTP port; "
            "not an HTTP request, not in setup_requests or the bytes; on a real legacy Envoy a "
            "refused or timed-out connection to port 443)"
        ),
        (
            f"setup_deferred_requests: {len(deferred)} request(s) "
            f"{MAC_CHECK.total_seconds():g} s after setup, once "
            f"({', '.join(paths(deferred))}: the MAC address check), not in setup_requests"
        ),
        (
            f"each poll: {' | '.join(per_poll_paths)} (Digest sent preemptively after the "
            "first challenge)"
        ),
        (
            f"per hour includes a quarter of the /info re-read every "
            f"{FIRMWARE_RECHECK.total_seconds() / 3600:g} h: {recheck_traffic.requests} "
            f"request(s) ({', '.join(recheck_paths)}) and {recheck_https} failed HTTPS "
            "attempt(s) each"
        ),
        f"{changed} of {len(polls)} polls brought new data ({scenario}: {moves})",
        (
            f"staleness derived, not simulated: a fixed {SCAN_INTERVAL_S:g} s poll shows a "
            f"report at worst {SCAN_INTERVAL_S:g} s + the poll's wall time ({max_wall:.3f} s, "
            "the slowest measured) after the Envoy has it; the same for production and "
            "inverters"
        ),
        (
            "cpu: thread_time of Home Assistant's event-loop thread over coordinator refresh "
            "+ async_block_till_done (state writes included): the mean per poll of each "
            f"window of {POLLS} polls, the median of {WINDOWS} windows; the simulator runs "
            "in another thread"
        ),
        (
            "entities: the entry's entity-registry entries, disabled-by-default ones included "
            "(entities_enabled: those with a state); devices: the Envoy and its inverters"
        ),
        (
            f"theirs, state rows: the states each poll changed, per hour at its "
            f"{SCAN_INTERVAL_S:g} s interval, for each window of {POLLS} polls (the repeats; "
            "after a first poll that meets what changed while the setup ran); "
            f"the night's: {NIGHT_POLLS} polls at local 01:00, after {NIGHT_SETTLE_POLLS} that "
            "write what the evening changed"
        ),
        (
            "setup: warm (integration, platforms and entity components imported "
            "beforehand), async_setup + async_block_till_done; setup_requests and "
            "setup_cpu_s: the first setup; setup_wall_s: the median of "
            f"{SETUPS} restarts (unload, set up again; first_setup_wall_s: the first)"
        ),
    ]


@pytest.mark.parametrize("inverters", SIZES)
@pytest.mark.parametrize("scenario", SCENARIOS)
async def bench_builtin_memory(
    hass: HomeAssistant, socket_enabled: None, scenario: str, inverters: int
) -> None:
    """Measure the built-in integration's peak memory over setup and the polls."""
    await preload(hass, DOMAIN, PLATFORMS)
    clock = SimClock(speed=SPEED)
    with (
        SimulatorThread(make_simulator(scenario, inverters, clock)) as envoy,
        patch.object(envoy_coordinator, "SCAN_INTERVAL", timedelta(days=1)),
    ):
        entry = make_entry(envoy.simulator)
        entry.add_to_hass(hass)
        with PeakMemory() as memory:
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            polls = await run_polls(hass, entry, envoy, clock, MEMORY_POLLS)
            await flush_delayed_saves(hass)
        registry_file = Path(hass.config.path(".storage", "core.entity_registry"))
        assert await hass.async_add_executor_job(registry_file.exists)
        assert any(poll.changed for poll in polls)
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    assert not DISCOVERY & hass.config.components
    write_result(
        {
            "side": SIDE,
            "scenario": scenario,
            "inverters": inverters,
            "peak_memory_bytes": memory.peak_bytes,
            "retained_memory_bytes": memory.retained_bytes,
            "notes": [
                (
                    f"peak_memory_bytes: tracemalloc peak above its start, from just before "
                    f"setup to the end of {len(polls)} polls and the registry saves setup "
                    "scheduled (real files), in a separate run (tracemalloc slows Python "
                    "down); every thread is traced, so the simulator's answer buffers are in"
                )
            ],
        }
    )
