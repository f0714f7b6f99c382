"""What the benchmarks share: the scenarios, how to measure, the machine, where results go.

Both sides are measured the same way:

- CPU: ``time.thread_time()`` deltas on Home Assistant's event-loop thread (the benchmark
  coroutine runs on it). The simulator runs on its own loop in another thread
  (``tests.simulator.thread.SimulatorThread``), so its CPU is not counted; neither is the
  work Home Assistant hands to its executor threads.
- Peak memory: ``tracemalloc`` peak from just before setup to the end of the polls, minus what
  was traced when it started (``PeakMemory``). tracemalloc traces every thread, so the
  simulator's short-lived answer buffers are included (a few kB at 40 inverters, some 100 kB
  at 1,000: small next to Home Assistant's share). tracemalloc slows Python down several
  times, so memory is measured in a run of its own, never in the run that measures time.
- Requests and bytes: from the simulator's request log (``simulator.requests``), which sees
  every HTTP request including the 401 Digest challenges, split into setup and polls.
- Setup wall time: ``time.perf_counter()`` around ``hass.config_entries.async_setup`` and
  ``hass.async_block_till_done()``.
- Storage: real files in a temporary configuration directory (benchmarks/conftest.py), and
  the memory runs end with ``flush_delayed_saves`` so that the saves setup scheduled (10 s
  later) fall inside the measured stretch on both sides, however short the stretch.
- Warm: the integration, its platforms and their entity components are imported before
  anything is timed (``preload``), so whichever benchmark runs first does not pay Python's
  imports and every setup is measured alike.
- Database rows: what Home Assistant's recorder would store for the entry's entities. A
  state row per state change (a new ``State`` object: a write that changes the state or an
  attribute; a write that changes neither only moves ``last_reported`` and stores nothing),
  counted by ``StateWrites`` between polls, outside any measured CPU; statistics rows for
  each entity with a state class and a numeric state (``statistics_entities``), an hourly
  row and twelve 5-minute rows an hour, whether its state moved or not.
- Repeats: each figure that varies from run to run is measured several times (windows of
  polls, hours, restarts) and kept as a list; the report prints its median and its range.
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
import os
import platform
import re
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Self

from homeassistant.components.recorder.db_schema import Statistics, StatisticsShortTerm
from homeassistant.components.sensor import ATTR_STATE_CLASS
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.const import __version__ as HA_VERSION  # noqa: N812
from homeassistant.core import HomeAssistant, State
from homeassistant.loader import async_get_integration

from tests.simulator import EnvoySimulator
from tests.simulator.rhythm import Power, Rhythm, solar_day

# The scenarios: issue #6's two (an Envoy without a meter, and one whose production moves
# every second as a production meter makes it), and issue #14's Envoy-S Metered with its
# current transformers (production and net consumption, read from /production.json and
# /ivp/meters/readings, moving along a day: exports at noon, imports at night).
SCENARIOS = ("non-metered", "metered", "ct-metered")
SIZES = (40, 1000)
CAPTURES = {"non-metered": "D5.0.62", "metered": "D5.0.62", "ct-metered": "R4.10.35_metered"}
# Real microinverters report in a burst every 300 s; the simulator follows that rhythm.
REPORT_INTERVAL_S = 300.0
HOUR_S = 3600.0
# Where simulated time starts for both sides: summer noon in the test instance's time zone
# (US/Pacific), so that the simulated inverters are awake and report.
SIM_START = datetime(2026, 6, 21, 19, 0, tzinfo=UTC)
# A real current transformer's power differs from one reading to the next; the simulated day
# is smooth (a few watts in a few seconds), so the benchmark's CTs read it with a ripple of
# this share, over a period that divides no poll interval (both sides meet the same one).
CT_RIPPLE = 0.02
CT_RIPPLE_PERIOD_S = 13.7
# Challenges: the 401 answers of HTTP Digest.
CHALLENGE_STATUS = 401

DAY_H = 24.0
# The simulated day's daylight: the hours between the simulator's sunrise and sunset, when the
# microinverters report; the rest of the day is night.
_SUN = inspect.signature(solar_day).parameters
DAYLIGHT_H = float(_SUN["sunset_h"].default - _SUN["sunrise_h"].default)
NIGHT_H = DAY_H - DAYLIGHT_H
# The recorder's statistics rows a day for each entity with a state class: an hourly row and
# a 5-minute (short-term) row per period.
HOURLY_STATISTICS_PER_DAY = round(DAY_H * HOUR_S / Statistics.duration.total_seconds())
SHORT_TERM_STATISTICS_PER_DAY = round(DAY_H * HOUR_S / StatisticsShortTerm.duration.total_seconds())
STATISTICS_ROWS_PER_DAY = HOURLY_STATISTICS_PER_DAY + SHORT_TERM_STATISTICS_PER_DAY


@dataclass(frozen=True)
class Mode:
    """How long and how often a run measures: the default one, or ``--full``.

    Both run the same scenarios and figures; the default one repeats less, so that
    ``scripts/bench`` ends within ten minutes on a 2-core machine.
    """

    name: str
    # Repeats of the figures that vary: windows of polls on both sides.
    repeats: int
    # Ours' real-time CPU run: production read every second, then (metered) the bursts alone.
    production_run_s: float
    inverters_run_s: float
    # The built-in's polls per window, and how much faster than real time its Envoy lives.
    builtin_polls: int
    builtin_speed: float
    # Restarts whose median wall time is a setup's.
    setups: int
    # Whether ours' CPU and memory are measured like for like too (no target reads them).
    like_for_like: bool


MODES = {
    "default": Mode(
        name="default",
        repeats=3,
        production_run_s=15.0,
        inverters_run_s=15.0,
        builtin_polls=10,
        builtin_speed=120.0,
        setups=3,
        like_for_like=False,
    ),
    "full": Mode(
        name="full",
        repeats=5,
        production_run_s=30.0,
        inverters_run_s=60.0,
        builtin_polls=15,
        builtin_speed=60.0,
        setups=5,
        like_for_like=True,
    ),
}
# scripts/bench --full sets BENCH_FULL=1.
MODE = MODES["full" if os.environ.get("BENCH_FULL", "") not in {"", "0"} else "default"]
# Both sides' state rows are counted over the same stretches of the simulated day: the
# built-in's windows of polls, a minute apart from SIM_START on. (The simulated power curve
# is smooth: at its flat top, around 13:00, a report can repeat the one before it, which a
# real panel's seldom does; a stretch of the day the other side did not meet would not
# compare.)
ROW_WINDOW_S = MODE.builtin_polls * 60.0


def simulated_envoy(
    scenario: str,
    inverters: int,
    *,
    rhythm: Rhythm | None = None,
    clock: Callable[[], float] | None = None,
    day_shift_s: float = 0.0,
) -> EnvoySimulator:
    """Return the simulated Envoy of a scenario, both sides meet the same one.

    ``rhythm``: the inverters' (default: 300 s bursts; production moving every second when
    the Envoy has a meter); ``clock``: the simulator's (default: the machine's);
    ``day_shift_s``: how far ahead of the clock the CTs' day is (a run in real time sets
    its meters at SIM_START's hour, the hour the other runs simulate, whatever the hour of
    the machine).
    """
    if rhythm is None:
        rhythm = Rhythm(interval=REPORT_INTERVAL_S, metered=scenario != "non-metered")
    envoy = EnvoySimulator(CAPTURES[scenario], rhythm=rhythm, inverters=inverters, clock=clock)
    metering = envoy.metering
    metering.moving = scenario == "ct-metered"
    if metering.moving:
        metering.solar = ct_reading(metering.solar, day_shift_s)
        metering.load = ct_reading(metering.load, day_shift_s)
    return envoy


def ct_reading(power: Power, day_shift_s: float) -> Power:
    """Return a CT's power as the benchmark's meters read it: the day's, with a ripple."""

    def read(t: float) -> float:
        ripple = CT_RIPPLE * math.sin(2 * math.pi * t / CT_RIPPLE_PERIOD_S)
        return power(t + day_shift_s) * (1 + ripple)

    return read


def out_dir() -> Path:
    """Return the directory the results go to ($BENCH_OUT), creating it."""
    path = Path(os.environ.get("BENCH_OUT") or "/tmp/enphase-bench")  # noqa: S108
    path.mkdir(parents=True, exist_ok=True)
    return path


def machine() -> dict[str, Any]:
    """Describe where the numbers were measured."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "python": platform.python_version(),
        "homeassistant": HA_VERSION,
        "pyenphase": _version("pyenphase"),
        "platform": platform.platform(),
    }


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def result_path(side: str, scenario: str, inverters: int) -> Path:
    """Return the JSON file of one side, scenario and size."""
    return out_dir() / f"{side}-{scenario}-{inverters}.json"


def write_result(result: dict[str, Any]) -> Path:
    """Write one side+scenario+size's metrics, merged into what is already there.

    ``result`` holds at least ``side``, ``scenario`` and ``inverters``. Later writes win key by
    key, except ``notes``, which accumulate (without repeats). The machine is added.
    """
    path = result_path(result["side"], result["scenario"], result["inverters"])
    merged: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    notes = list(merged.get("notes", []))
    notes += [note for note in result.get("notes", []) if note not in notes]
    merged.update(result)
    merged["notes"] = notes
    merged["machine"] = machine()
    merged["mode"] = MODE.name
    path.write_text(json.dumps(merged, indent=2) + "\n")
    return path


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Span:
    """Wall time and CPU time of the calling thread over a stretch of code."""

    wall_s: float = 0.0
    cpu_s: float = 0.0


@contextmanager
def measure() -> Iterator[Span]:
    """Measure wall time (perf_counter) and this thread's CPU time (thread_time)."""
    span = Span()
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        yield span
    finally:
        span.wall_s = time.perf_counter() - wall
        span.cpu_s = time.thread_time() - cpu


class PeakMemory:
    """tracemalloc's peak above the memory traced when it started (every thread).

    Start it after Home Assistant is up, just before setup; stop it after the last poll.
    """

    def __init__(self) -> None:
        """Not started yet."""
        self.baseline = 0
        self.peak_bytes = 0
        self.retained_bytes = 0

    def __enter__(self) -> Self:
        """Start tracing; what is traced now is the baseline."""
        tracemalloc.start()
        tracemalloc.reset_peak()
        self.baseline = tracemalloc.get_traced_memory()[0]
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop tracing and keep the peak (and what is still held) above the baseline."""
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        self.peak_bytes = peak - self.baseline
        self.retained_bytes = current - self.baseline


@dataclass(frozen=True)
class Traffic:
    """HTTP requests as the simulator saw them."""

    requests: int
    challenges: int
    bytes_in: int
    bytes_out: int

    @property
    def bytes(self) -> int:
        """Return the bytes both ways (requests in, answers out)."""
        return self.bytes_in + self.bytes_out


def traffic(requests: Iterable[Any]) -> Traffic:
    """Sum up a slice of ``simulator.requests`` (401 answers count as challenges)."""
    count = challenges = bytes_in = bytes_out = 0
    for request in requests:
        count += 1
        challenges += request.status == CHALLENGE_STATUS
        bytes_in += request.bytes_in
        bytes_out += request.bytes_out
    return Traffic(count, challenges, bytes_in, bytes_out)


def paths(requests: Iterable[Any]) -> list[str]:
    """Return ``path status`` of each request, in order (for notes and debugging)."""
    return [f"{request.path} {request.status}" for request in requests]


def per_hour(per_poll: float, interval_s: float) -> float:
    """Scale a per-poll figure to an hour of polls every interval_s seconds."""
    return per_poll * HOUR_S / interval_s


def window_means(values: Sequence[float], windows: int) -> list[float]:
    """Return the means of ``windows`` consecutive, near-equal slices (fewer for few values)."""
    count = min(windows, len(values))
    bounds = [len(values) * number // count for number in range(count + 1)]
    return [mean(values[start:end]) for start, end in itertools.pairwise(bounds)]


def mean(values: Sequence[float]) -> float:
    """Return the arithmetic mean (0 for no values)."""
    return sum(values) / len(values) if values else 0.0


async def preload(hass: HomeAssistant, domain: str, platforms: Iterable[str]) -> None:
    """Import an integration, its platforms and their entity components, without setting up."""
    names = [str(name) for name in platforms]
    integration = await async_get_integration(hass, domain)
    await integration.async_get_component()
    await integration.async_get_platforms(names)
    for name in names:
        await (await async_get_integration(hass, name)).async_get_component()


async def flush_delayed_saves(hass: HomeAssistant) -> None:
    """Write every pending delayed save now (registries, stores) and wait for the files.

    Home Assistant saves its registries 10 s after the last change; a store reschedules a
    timer that fires early, so moving timers forward does not write it. The event Home
    Assistant fires at shutdown for exactly this, "write what is pending now", does.
    """
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done(wait_background_tasks=True)


class SimClock:
    """Simulated epoch seconds: ``start`` now, then ``speed`` simulated seconds a real second.

    The simulator computes what it serves from its clock at each request, so a sped-up clock
    makes its inverters report on their simulated rhythm while a client polls in real time.
    """

    def __init__(self, start: datetime = SIM_START, speed: float = 1.0) -> None:
        """Start now at ``start``."""
        self.start = start.timestamp()
        self.speed = speed
        self._real = time.perf_counter()

    def __call__(self) -> float:
        """Return the simulated time now."""
        return self.start + (time.perf_counter() - self._real) * self.speed

    def jump(self, to: datetime) -> None:
        """Jump to ``to`` now; simulated time goes on from there at the same speed."""
        self.start = to.timestamp()
        self._real = time.perf_counter()

    def real_delay(self, simulated_s: float) -> float:
        """Return the real seconds that simulated_s simulated seconds take."""
        return simulated_s / self.speed


# --- database rows -----------------------------------------------------------------------------


class StateWrites:
    """Which of some entities' states changed since the last look: a state row each.

    Home Assistant replaces an entity's ``State`` object when a write changes its state or an
    attribute (a ``state_changed`` event, a row in the recorder's ``states`` table); a write
    that changes neither only moves ``last_reported`` on the same object (no row). Comparing
    the objects between polls costs the measured polls nothing, where a listener on the bus
    would run inside them.
    """

    def __init__(self, hass: HomeAssistant, entity_ids: Iterable[str]) -> None:
        """Look at these entities from now on."""
        self.hass = hass
        self.entity_ids = sorted(entity_ids)
        self._seen = self._states()

    def _states(self) -> list[State | None]:
        get = self.hass.states.get
        return [get(entity_id) for entity_id in self.entity_ids]

    def take(self) -> list[str]:
        """Return the entities whose state changed since the last look (each once)."""
        now = self._states()
        changed = [
            entity_id
            for entity_id, before, after in zip(self.entity_ids, self._seen, now, strict=True)
            if after is not before and after is not None
        ]
        self._seen = now
        return changed


def statistics_entities(hass: HomeAssistant, entity_ids: Iterable[str]) -> list[str]:
    """Return the entities the recorder compiles statistics for: a state class, a number."""
    found = []
    for entity_id in entity_ids:
        state = hass.states.get(entity_id)
        if state is None or ATTR_STATE_CLASS not in state.attributes:
            continue
        try:
            float(state.state)
        except ValueError:
            continue
        found.append(entity_id)
    return sorted(found)


def day_rows(daylight_hour: float, night_hour: float) -> float:
    """Return a day's state rows: its daylight hours at one rate, its night hours at another."""
    return DAYLIGHT_H * daylight_hour + NIGHT_H * night_hour


def by_kind(entity_ids: Iterable[str], scale: float = 1.0) -> dict[str, float]:
    """Count entity ids by kind (each serial number replaced: an inverter's add up), scaled."""
    kinds = Counter(re.sub(r"\d{6,}", "<serial>", entity_id) for entity_id in entity_ids)
    return {kind: count * scale for kind, count in sorted(kinds.items())}
