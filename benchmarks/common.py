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
"""

from __future__ import annotations

import itertools
import json
import math
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Self

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.const import __version__ as HA_VERSION  # noqa: N812
from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration

from tests.simulator import EnvoySimulator
from tests.simulator.rhythm import Power, Rhythm

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


def median_of_windows(values: Sequence[float], windows: int) -> float:
    """Return the median of the means of ``windows`` consecutive, near-equal slices."""
    count = min(windows, len(values))
    bounds = [len(values) * number // count for number in range(count + 1)]
    return statistics.median(mean(values[start:end]) for start, end in itertools.pairwise(bounds))


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

    def real_delay(self, simulated_s: float) -> float:
        """Return the real seconds that simulated_s simulated seconds take."""
        return simulated_s / self.speed
