"""Any sequence of report interval changes: every report counts once, the count stays true.

Enphase sets an Envoy's report interval (300 s, sometimes 900 or 3600 s) through its cloud,
and can change it at any time (issue #24). A site of four microinverters reports in bursts
along a sequence of intervals, with nights between some of them, and the whole model
(``Site``, as the coordinator calls it, on a client that answers from that sequence) polls
it on its own schedule, restarting now and then from what it stored. Whatever the sequence:

- each panel's energy is exactly what its reports stand for (each report's power times the
  time since the inverter's previous report), every report counted once; only the first
  report after a night stands for nothing;
- after every read of a complete burst by day, every inverter is counted as reporting;
- the Envoy is judged slowed only after a day of reports slower than every 15 minutes, and
  no longer once they come every 15 minutes or faster again.

Each interval lasts two bursts at least (three after a night): a single long gap before a
shorter interval is an outage, which counts nothing by design.
"""

from __future__ import annotations

import asyncio
import bisect
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.enphase_envoy_legacy.envoy_client import (
    EnvoyInfo,
    EnvoyInverter,
    EnvoyProduction,
)
from custom_components.enphase_envoy_legacy.model import Site, Snapshot
from custom_components.enphase_envoy_legacy.model.schedule import SLOW_INTERVAL, SLOWED_FOR

SERIAL = "121621012167"
TAG = "entry 123456"
# Four inverters, each at its place in a burst of 41 s.
OFFSETS = (0.0, 7.0, 23.0, 41.0)
INVERTERS = tuple(f"1220020{index:05d}" for index in range(len(OFFSETS)))
MAX_WATTS = 250
START = datetime(2026, 6, 21, 6, tzinfo=UTC).timestamp()  # the first burst
NIGHT = 11 * 3600.0
INTERVALS = (300.0, 900.0, 3600.0)


@dataclass(frozen=True)
class Interval:
    """``bursts`` bursts every ``interval`` seconds, after a night when ``night``."""

    interval: float
    bursts: int
    night: bool = False


@st.composite
def sequences(draw: st.DrawFn) -> list[Interval]:
    """Return a sequence of intervals: each two bursts long at least (three after a night)."""
    found = []
    for index in range(draw(st.integers(min_value=1, max_value=5))):
        night = index > 0 and draw(st.booleans())
        found.append(
            Interval(
                draw(st.sampled_from(INTERVALS)),
                draw(st.integers(min_value=3 if night else 2, max_value=5)),
                night,
            )
        )
    # The last interval goes on for two bursts more: its first reports are confirmed.
    last = found[-1]
    found[-1] = Interval(last.interval, last.bursts + 2, last.night)
    return found


@dataclass
class Envoy:
    """A simulated Envoy answering from a sequence of intervals, at the time ``now``."""

    sequence: list[Interval]
    now: float = START
    auth_state: dict[str, object] | None = None
    bursts: list[float] = field(default_factory=list)
    after_night: set[float] = field(default_factory=set)
    interval_at: dict[float, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Lay out every burst."""
        burst = START - self.sequence[0].interval
        for interval in self.sequence:
            for number in range(interval.bursts):
                night = interval.night and number == 0
                burst += NIGHT if night else interval.interval
                self.bursts.append(burst)
                self.interval_at[burst] = interval.interval
                if night:
                    self.after_night.add(burst)
        self.bursts[0] = START

    @property
    def end(self) -> float:
        """Return when the last burst is over."""
        return self.bursts[-1] + OFFSETS[-1] + 1

    def by_day(self, burst: float) -> bool:
        """Return True when another burst follows the burst, without a night between."""
        position = self.bursts.index(burst) + 1
        return position < len(self.bursts) and self.bursts[position] not in self.after_night

    @staticmethod
    def watts(burst: float, index: int) -> int:
        """Return what an inverter reports at a burst: some 25 to 99 % of its maximum."""
        return 60 + int(burst // 300 * 7 + index * 13) % 190

    def latest(self, index: int, now: float) -> float | None:
        """Return the burst of an inverter's latest report at ``now`` (None: none yet)."""
        position = bisect.bisect_right(self.bursts, now - OFFSETS[index]) - 1
        return self.bursts[position] if position >= 0 else None

    def energy(self, index: int, until: float) -> float:
        """Return what an inverter's reports up to ``until`` stand for (Wh)."""
        total = 0.0
        for earlier, later in pairwise(self.bursts):
            if later + OFFSETS[index] <= until and later not in self.after_night:
                total += self.watts(later, index) * (later - earlier) / 3600
        return total

    async def info(self) -> EnvoyInfo:
        """Answer /info.xml: an Envoy without meters."""
        return EnvoyInfo(
            serial=SERIAL, firmware="D5.0.62", part_number=None, web_tokens=False, imeter=False
        )

    async def inverters(self) -> dict[str, EnvoyInverter]:
        """Answer the inverter list at ``now``: each inverter's latest report."""
        found = {}
        for index, serial in enumerate(INVERTERS):
            burst = self.latest(index, self.now)
            if burst is not None:
                found[serial] = EnvoyInverter(
                    serial_number=serial,
                    last_report_date=datetime.fromtimestamp(burst + OFFSETS[index], UTC),
                    last_report_watts=self.watts(burst, index),
                    max_report_watts=MAX_WATTS,
                    dev_type=1,
                )
        return found

    async def production(self) -> EnvoyProduction:
        """Answer /api/v1/production: what the reports so far stand for (no meter)."""
        lifetime = 1_000_000 + math.ceil(
            sum(self.energy(index, self.now) for index in range(len(OFFSETS)))
        )
        return EnvoyProduction(
            watts_now=0,
            watt_hours_today=0,
            watt_hours_seven_days=0,
            watt_hours_lifetime=lifetime,
        )


def follow(envoy: Envoy, restarts: list[int]) -> tuple[Site, list[tuple[float, Snapshot]]]:
    """Poll the Envoy on the site's own schedule to its end; restart at those polls.

    Return the site, and each poll's time and snapshot.
    """

    async def run() -> tuple[Site, list[tuple[float, Snapshot]]]:
        site = Site(SERIAL, TAG)
        snapshots: list[tuple[float, Snapshot]] = []
        now = envoy.bursts[0] + 100
        polls = 0
        while now < envoy.end + 600:
            envoy.now = now
            if polls in restarts:
                site = Site.from_dict(SERIAL, TAG, site.as_dict(), when(now))
            snapshot = await site.poll(envoy, when(now), tuple)  # type: ignore[arg-type]
            snapshots.append((now, snapshot))
            polls += 1
            now = max(snapshot.next_poll.timestamp(), now + 1)
        return site, snapshots

    return asyncio.run(run())


def when(timestamp: float) -> datetime:
    """Return an aware time (the site's day is UTC's here)."""
    return datetime.fromtimestamp(timestamp, UTC)


@settings(max_examples=200)
@given(sequence=sequences(), restarts=st.lists(st.integers(0, 400), max_size=3))
def test_any_interval_changes(sequence: list[Interval], restarts: list[int]) -> None:
    """Every report counts once, the count is true, and slowed means a slow day."""
    check(sequence, restarts)


def check(sequence: list[Interval], restarts: list[int]) -> None:
    """Follow a sequence of intervals, restarting at those polls; check every promise."""
    envoy = Envoy(sequence)
    site, snapshots = follow(envoy, restarts)
    # Every report counts, once.
    for index, serial in enumerate(INVERTERS):
        panel = site.panels.panels[serial]
        assert panel.lifetime == pytest.approx(envoy.energy(index, envoy.end), rel=1e-9, abs=1e-9)
    for now, snapshot in snapshots:
        latest = {envoy.latest(index, now) for index in range(len(OFFSETS))}
        burst = latest.pop()
        if snapshot.inverters_read and not latest and burst is not None and envoy.by_day(burst):
            # Read after a complete burst, by day: every inverter reported in it.
            assert snapshot.census.reporting == len(INVERTERS), now - START
    check_slowed(envoy, site)


def check_slowed(envoy: Envoy, site: Site) -> None:
    """Slowed only after a day of slow reports; never once the last interval is not slow."""
    slowed = site.scheduler.slowed
    last = envoy.sequence[-1].interval
    if last <= SLOW_INTERVAL:
        assert slowed is None
        return
    # The slow run: the latest bursts whose interval was slow, nights between them included.
    slow = [burst for burst in envoy.bursts if envoy.interval_at[burst] > SLOW_INTERVAL]
    start = envoy.bursts[-1]
    for burst in reversed(envoy.bursts):
        if envoy.interval_at[burst] <= SLOW_INTERVAL:
            break
        start = burst
    assert slow
    if slowed is not None:
        assert slowed == last
        assert envoy.bursts[-1] - start >= SLOWED_FOR


@pytest.mark.parametrize("restarts", [[], [40, 41, 42, 45]], ids=["", "restarts"])
def test_the_probe_of_the_issue(restarts: list[int]) -> None:
    """Five minutes from 06:00, hourly from 09:00, then a day of it: slowed, nothing lost.

    Restarts around the first hourly bursts change nothing.
    """
    sequence = [Interval(300.0, 36), Interval(3600.0, 10), Interval(3600.0, 14, night=True)]
    check(sequence, restarts)
    envoy = Envoy(sequence)
    site, _ = follow(envoy, restarts)
    assert site.scheduler.slowed == 3600
