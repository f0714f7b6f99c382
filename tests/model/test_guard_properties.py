"""The energy guard's promises, as properties over readings nobody chose by hand.

Hypothesis feeds the HA-free guard sequences of readings (time step, lifetime counter,
wattsNow, today, last seven days, the inverters' capacity): huge, negative, zero, repeated
and decreasing values, time standing still or jumping days ahead, and an adaptive adversary
that raises the counter exactly as far as the guard would still accept (or a little more),
claiming a matching power: the walk-up of issue #12. Halfway, the guard may be restarted from
its stored state (through JSON, as Home Assistant's store keeps it).

What must hold, whatever comes (docs/architecture.md, "The energy guard's rules"):

- between the moments two shown lifetimes were accepted, the lifetime grew by at most the
  site's capacity times that time, plus one report interval's energy and SLACK_WH;
- the lifetime never decreases, and never goes back to unknown;
- every value shown lies in its plausible range: power within the capacity, energy today
  within a day at capacity, the last seven days within a week at capacity, the first
  lifetime within LIFETIME_YEARS at capacity; the stored state only holds numbers a float
  holds exactly, and loads back as it was;
- an honest Envoy (its counter growing at most at the inverters' peak) is believed at once,
  Wh for Wh.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.enphase_envoy_legacy.model.guard import LIFETIME_YEARS, EnergyGuard
from custom_components.enphase_envoy_legacy.model.guard_state import (
    CounterReading,
    GuardedCounter,
    GuardState,
)
from custom_components.enphase_envoy_legacy.model.stored import MAX_STORED
from tests.helpers import numbers

ZONE = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 3, 28, 22, 0, tzinfo=ZONE)  # the night before DST starts
HOURS_PER_YEAR = 8766

HUGE = st.sampled_from([2**53 + 1, 2**63, 2**64, 2**65, 10**30, 10**400, -(2**64), -(10**400)])
ANY_NUMBER = st.one_of(
    st.integers(-1_000, 100_000), st.integers(-(10**12), 10**12), st.integers(), HUGE
)
SITE_PEAK = st.one_of(
    st.just(0), st.integers(1, 60_000), st.integers(-(10**6), 10**12), st.sampled_from([2**70])
)
REPORT_INTERVAL = st.one_of(
    st.sampled_from([0.0, 60.0, 300.0, 900.0, 3600.0]),
    st.floats(allow_nan=True, allow_infinity=True),
)
FORWARD = st.one_of(
    st.integers(0, 120), st.sampled_from([0, 1, 10, 60, 300, 900, 3600]), st.integers(0, 3 * 86400)
)
ANY_STEP = st.one_of(FORWARD, st.integers(-86400, 86400))


@dataclass(frozen=True)
class Step:
    """One reading: how it is made, and what comes with it."""

    seconds: int  # since the previous reading
    kind: str  # how the lifetime counter is chosen (see counter())
    value: int
    factor: float  # for "edge": how far past the guard's allowance
    watts: int | None  # None: claim the capacity (what a walk-up does)
    today: int
    week: int
    site_peak: int


# How a reading's counter is chosen (see counter()); the adversary's two kinds come often.
ALL_KINDS = ("absolute", "delta", "edge", "edge", "chain", "chain", "zero", "repeat")
ANY_WATTS: st.SearchStrategy[int | None] = st.one_of(st.none(), ANY_NUMBER)


def steps(
    seconds: st.SearchStrategy[int],
    kinds: tuple[str, ...] = ALL_KINDS,
    watts: st.SearchStrategy[int | None] = ANY_WATTS,
) -> st.SearchStrategy[Step]:
    """Return readings of every kind, hostile ones included."""
    return st.builds(
        Step,
        seconds=seconds,
        kind=st.sampled_from(kinds),
        value=ANY_NUMBER,
        factor=st.sampled_from([0.5, 1.0, 1.0, 1.000001, 1.01, 2.0]),
        watts=watts,
        today=ANY_NUMBER,
        week=ANY_NUMBER,
        site_peak=st.one_of(st.just(0), SITE_PEAK),
    )


def counter(step: Step, guard: EnergyGuard, previous: int, timestamp: float) -> int:
    """Return the lifetime counter the Envoy claims for a step."""
    state = guard.state
    match step.kind:
        case "absolute":
            return step.value
        case "delta":
            return previous + step.value
        case "zero":
            return 0
        case "repeat":
            return previous
    if step.kind == "chain" and state.candidates:
        # A new level the guard holds, growing as fast as a held level may (the rebase).
        last_time, last_counter, _ = state.candidates[-1]
        since = max(timestamp - last_time, 0.0)
        allowance = guard.max_credit() + guard.plausible_power() * since / 3600
        return last_counter + math.floor(allowance * step.factor)
    # The walk-up: exactly what the guard allows now (as far as the adversary can tell from
    # the stored state), times a factor.
    since = max(timestamp - (state.accepted_at or timestamp), 0.0)
    allowance = min(state.credit, guard.max_credit()) + guard.plausible_power() * since / 3600
    base = state.envoy_lifetime if state.envoy_lifetime is not None else abs(step.value)
    return base + math.floor(allowance * step.factor)


@dataclass(frozen=True)
class Seen:
    """What the guard showed after one reading, and the bounds in force then."""

    result: GuardedCounter
    accepted_at: float | None  # when the lifetime shown was accepted
    capacity: int
    max_credit: float
    stored: str  # the state as Home Assistant's store keeps it


def run(
    sequence: list[Step],
    report_interval: float,
    restart_at: int,
    first: int,
    make: Callable[[GuardState | None], EnergyGuard] = EnergyGuard,
) -> list[Seen]:
    """Feed a guard the readings; restart it from its stored state at ``restart_at``.

    ``make`` builds the guard (from a stored state): the site's, or a meter counter's.
    """
    guard = make(None)
    guard.report_interval = report_interval  # what the adversary reckons with from the start
    now, previous = START, first
    seen: list[Seen] = []
    for index, step in enumerate(sequence):
        if index == restart_at:
            stored = GuardState.from_dict(json.loads(guard_json(guard)))
            assert stored == guard.state
            guard = make(stored)
            guard.report_interval = report_interval
        now = later(now, step.seconds)
        raw = counter(step, guard, previous, now.timestamp())
        watts = guard.plausible_power() if step.watts is None else step.watts
        production = CounterReading(
            watts_now=watts,
            watt_hours_today=step.today,
            watt_hours_seven_days=step.week,
            watt_hours_lifetime=raw,
        )
        result = guard.update(
            production, now, site_peak_power=step.site_peak, report_interval=report_interval
        )
        previous = raw
        seen.append(
            Seen(
                result=result,
                accepted_at=guard.state.accepted_at,
                capacity=guard.plausible_power(),
                max_credit=guard.max_credit(),
                stored=guard_json(guard),
            )
        )
    return seen


def later(moment: datetime, seconds: int) -> datetime:
    """Return the local time ``seconds`` of real time later (across DST changes too)."""
    return (moment.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(ZONE)


def guard_json(guard: EnergyGuard) -> str:
    """Return the guard's state as JSON, refusing what JSON (and a float) cannot hold."""
    return json.dumps(guard.state.as_dict(), allow_nan=False)


def check(seen: list[Seen], *, from_zero: bool = False) -> None:
    """Assert every promise over what the guard showed.

    ``from_zero``: the guard's counter may show zero (a meter's that never counted).
    """
    capacity = max(item.capacity for item in seen)
    credit = max(item.max_credit for item in seen)
    lifetimes = [item.result.lifetime for item in seen]
    # The lifetime never decreases and, once known, stays known.
    known = [lifetime for lifetime in lifetimes if lifetime is not None]
    assert known == sorted(known)
    assert lifetimes[len(lifetimes) - len(known) :] == known
    if known:
        first = next(item for item in seen if item.result.lifetime is not None)
        assert known[0] <= first.capacity * HOURS_PER_YEAR * LIFETIME_YEARS
    # Growth between the moments two shown values were accepted: at most the capacity for
    # that time, plus one report interval's energy (and the slack).
    for i, earlier in enumerate(seen):
        if earlier.result.lifetime is None or earlier.accepted_at is None:
            continue
        for later in seen[i + 1 :]:
            assert later.result.lifetime is not None
            assert later.accepted_at is not None
            window = later.accepted_at - earlier.accepted_at
            assert window >= 0
            bound = capacity * window / 3600 + credit
            growth = later.result.lifetime - earlier.result.lifetime
            assert growth <= bound * (1 + 1e-12) + 1e-6, (growth, bound, window)
    for item in seen:
        result, limit = item.result, item.capacity
        assert result.watts_now is None or abs(result.watts_now) <= limit
        assert result.today is None or 0 <= result.today <= limit * 24
        assert result.seven_days is None or 0 <= result.seven_days <= limit * 24 * 7
        shown = result.lifetime
        if shown is not None:
            assert shown > 0 or (from_zero and shown == 0)
            assert shown <= MAX_STORED
        assert all(abs(number) <= MAX_STORED for number in numbers(json.loads(item.stored)))


@settings(max_examples=300)
@given(
    sequence=st.lists(steps(FORWARD), min_size=1, max_size=60),
    report_interval=REPORT_INTERVAL,
    restart_at=st.integers(0, 60),
    first=ANY_NUMBER,
)
def test_no_reading_sequence_breaks_the_bound(
    sequence: list[Step], report_interval: float, restart_at: int, first: int
) -> None:
    """Any readings, hostile ones included: every promise holds, restart or not."""
    check(run(sequence, report_interval, restart_at, first))


# An adaptive adversary: readings at the edge of what the credit allows, chained.
WALK_UP = st.lists(
    steps(
        st.sampled_from([0, 10, 60, 300, 600, 900]),
        kinds=("edge", "edge", "chain", "chain", "chain"),
        watts=st.none(),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=300)
@given(
    sequence=WALK_UP,
    report_interval=st.sampled_from([0.0, 60.0, 300.0, 900.0, 3600.0]),
    restart_at=st.integers(0, 60),
    site_peak=st.integers(0, 60_000),
)
def test_a_walk_up_cannot_outrun_the_capacity(
    sequence: list[Step], report_interval: float, restart_at: int, site_peak: int
) -> None:
    """The adversary of issue #12: each reading as far as the guard allows, or a bit more.

    It claims the capacity as its power, and when a reading is held it grows the held level
    as fast as a new level may grow, so that the rebase brings as much as it can.
    """
    sequence = [replace(step, site_peak=site_peak) for step in sequence]
    check(run(sequence, report_interval, restart_at, 1_000_000))


@settings(max_examples=150)
@given(
    sequence=st.lists(steps(ANY_STEP), min_size=1, max_size=60),
    report_interval=REPORT_INTERVAL,
    restart_at=st.integers(0, 60),
    first=ANY_NUMBER,
)
def test_a_clock_that_jumps_back_changes_nothing(
    sequence: list[Step], report_interval: float, restart_at: int, first: int
) -> None:
    """Readings in any order of time: the same time is never granted twice."""
    check(run(sequence, report_interval, restart_at, first))


@settings(max_examples=100)
@given(
    seconds=st.lists(st.integers(0, 3 * 3600), min_size=2, max_size=60),
    power=st.lists(st.floats(0, 1), min_size=60, max_size=60),
    peak=st.integers(1, 60_000),
    report_interval=REPORT_INTERVAL,
    start=st.integers(1, 10**9),
)
def test_the_truth_is_believed_wh_for_wh(
    seconds: list[int], power: list[float], peak: int, report_interval: float, start: int
) -> None:
    """An honest Envoy (at most its inverters' peak) is believed at once, Wh for Wh."""
    guard = EnergyGuard()
    now, lifetime = START, start
    results: list[GuardedCounter] = []
    for step, share in zip(seconds, power, strict=False):
        now = later(now, step)
        watts = math.floor(peak * share)
        lifetime += watts * step // 3600
        reading = CounterReading(
            watts_now=watts,
            watt_hours_today=0,
            watt_hours_seven_days=1,
            watt_hours_lifetime=lifetime,
        )
        results.append(
            guard.update(reading, now, site_peak_power=peak, report_interval=report_interval)
        )
    assert not any(result.suspect for result in results)
    assert results[-1].lifetime == lifetime
    assert [result.watts_now for result in results] == [
        math.floor(peak * share) for share in power[: len(results)]
    ]
