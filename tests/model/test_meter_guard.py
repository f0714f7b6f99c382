"""The guard of a metered Envoy's other lifetime counters (MeterGuard, model/guard.py).

Consumption, import and export are bounded by the meter's electrical service, whatever the
readings claim: the promises of tests/test_energy_properties.py hold for them too, with that
capacity, restart or not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.enphase_envoy_legacy.model.guard import (
    DEFAULT_PHASES,
    MAX_CAPACITY_W,
    SERVICE_AMPS,
    SERVICE_VOLTS,
    SLACK_WH,
    EnergyGuard,
    MeterGuard,
    service_capacity,
)
from custom_components.enphase_envoy_legacy.model.guard_state import CounterReading, GuardState
from tests.model.test_guard_properties import (
    ANY_NUMBER,
    ANY_STEP,
    FORWARD,
    REPORT_INTERVAL,
    START,
    WALK_UP,
    Step,
    check,
    run,
    steps,
)

PHASES = st.sampled_from([None, 0, 1, 2, 3, 4, -1])


def maker(phases: int | None) -> Callable[[GuardState | None], EnergyGuard]:
    """Return a builder of a meter counter's guard with that many phases."""

    def make(state: GuardState | None) -> MeterGuard:
        return MeterGuard(service_capacity(phases), state)

    return make


@pytest.mark.parametrize(
    ("phases", "count"), [(1, 1), (2, 2), (3, 3), (None, DEFAULT_PHASES), (0, 3), (7, 3)]
)
def test_the_capacity_follows_the_phase_count(phases: int | None, count: int) -> None:
    """Each phase adds the largest residential service; an unknown count is three."""
    assert service_capacity(phases) == count * SERVICE_AMPS * SERVICE_VOLTS
    assert MeterGuard(service_capacity(phases)).plausible_power() == service_capacity(phases)


def test_the_capacity_is_capped() -> None:
    """No capacity set widens the bound beyond the site guard's cap, nor falls below 1 W."""
    assert MeterGuard(10**12).plausible_power() == MAX_CAPACITY_W
    assert MeterGuard(0).plausible_power() == 1


def test_a_meter_counter_is_guarded_like_production() -> None:
    """Zeros held, a drop that comes back ignored, growth within the service."""
    guard = MeterGuard(service_capacity(2))
    now = START
    first = guard.update(CounterReading(watts_now=500, watt_hours_lifetime=16_908_208), now)
    assert (first.lifetime, first.watts_now, first.today) == (16_908_208, 500, 0)
    now += timedelta(minutes=1)
    zero = guard.update(CounterReading(watts_now=0, watt_hours_lifetime=0), now)
    assert (zero.lifetime, zero.suspect) == (16_908_208, True)
    now += timedelta(minutes=1)
    drop = guard.update(CounterReading(watts_now=500, watt_hours_lifetime=15_000_000), now)
    assert (drop.lifetime, drop.suspect) == (16_908_208, True)
    now += timedelta(minutes=1)
    back = guard.update(CounterReading(watts_now=500, watt_hours_lifetime=16_908_250), now)
    assert (back.lifetime, back.suspect) == (16_908_250, False)
    # A minute at the service's capacity, and not a Wh more than the slack.
    now += timedelta(minutes=1)
    jump = service_capacity(2) // 60 + SLACK_WH + 1
    held = guard.update(CounterReading(watts_now=500, watt_hours_lifetime=16_908_250 + jump), now)
    assert (held.lifetime, held.suspect) == (16_908_250, True)


def test_a_counter_that_never_counted_reads_zero() -> None:
    """A house that never exported: its export counter's zero is shown, and counts on.

    Once it has counted, a zero is a reboot's and is held; production never starts at zero.
    """
    guard = MeterGuard(service_capacity(2))
    now = START
    for _ in range(3):
        shown = guard.update(CounterReading(watts_now=0, watt_hours_lifetime=0), now)
        assert (shown.lifetime, shown.suspect) == (0, False)
        now += timedelta(minutes=1)
    exported = guard.update(CounterReading(watts_now=-1200, watt_hours_lifetime=20), now)
    assert (exported.lifetime, exported.suspect) == (20, False)
    now += timedelta(minutes=1)
    zero = guard.update(CounterReading(watts_now=0, watt_hours_lifetime=0), now)
    assert (zero.lifetime, zero.suspect) == (20, True)
    assert (
        EnergyGuard().update(CounterReading(watts_now=0, watt_hours_lifetime=0), START).lifetime
        is None
    )


@settings(max_examples=200)
@given(
    sequence=st.lists(steps(FORWARD), min_size=1, max_size=60),
    report_interval=REPORT_INTERVAL,
    restart_at=st.integers(0, 60),
    first=ANY_NUMBER,
    phases=PHASES,
)
def test_no_reading_sequence_breaks_a_meter_counters_bound(
    sequence: list[Step], report_interval: float, restart_at: int, first: int, phases: int | None
) -> None:
    """Any readings, hostile ones included: growth within the meter's service capacity."""
    check(run(sequence, report_interval, restart_at, first, maker(phases)), from_zero=True)


@settings(max_examples=150)
@given(
    sequence=WALK_UP,
    restart_at=st.integers(0, 60),
    phases=PHASES,
)
def test_a_walk_up_cannot_outrun_the_service(
    sequence: list[Step], restart_at: int, phases: int | None
) -> None:
    """The adversary of issue #12 against a meter counter: the service bounds it."""
    check(run(sequence, 0.0, restart_at, 1_000_000, maker(phases)), from_zero=True)


@settings(max_examples=100)
@given(
    sequence=st.lists(steps(ANY_STEP), min_size=1, max_size=60),
    restart_at=st.integers(0, 60),
    first=ANY_NUMBER,
    phases=PHASES,
)
def test_a_clock_that_jumps_back_changes_nothing_for_a_meter(
    sequence: list[Step], restart_at: int, first: int, phases: int | None
) -> None:
    """Readings in any order of time: the same time is never granted twice."""
    check(run(sequence, 0.0, restart_at, first, maker(phases)), from_zero=True)
