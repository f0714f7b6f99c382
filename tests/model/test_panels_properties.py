"""Property tests of per-panel energy: docs/architecture.md's promises under any reports.

Whatever the Envoy says (any power, 65,535 W and negative included; any report date, far
future, far past, repeated, out of order, not a number; any report interval, a night's
included), across restarts and with any stored state:

- a panel's lifetime energy never decreases;
- a report adds at most its power (and the microinverter maximum) times the time since the
  panel's previous report, and never for a gap longer than MAX_GAP_INTERVALS report
  intervals of at most MAX_REPORT_INTERVAL: such a gap adds nothing then;
- a report after a longer gap, of up to MAX_GAP_INTERVALS of the longest intervals, is held
  back, exactly its power times its gap; the next report counted adds what was held when
  its interval covers the longest gap held (the first reports of a longer interval), and
  drops it otherwise (an outage): nothing is counted twice, nothing held is lost for a
  longer interval;
- a report dated ahead of the clock is never counted nor remembered, and a panel whose last
  report is stored ahead of the clock counts again from its next real report;
- a panel's energy today stays at or below the site's when it is known;
- what is stored comes back as it was;
- an inverter's current power is shown only when a microinverter can produce it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.enphase_envoy_legacy.model.panels import (
    FUTURE_SLACK,
    LONGEST_GAP,
    MAX_GAP_INTERVALS,
    MAX_MICROINVERTER_W,
    PanelEnergy,
    PanelState,
    longest_counted_gap,
    plausible_watts,
)

SERIALS = ("A", "B", "C")
START = datetime(2026, 6, 21, tzinfo=UTC).timestamp()
YEAR_2100 = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
NIGHT = 11.1 * 3600  # the overnight gap an entry set up at night took for the interval
# Relative rounding of float arithmetic, with room to spare.
EPSILON = 1e-9

TAG = "entry 123456"


def within(value: float, bound: float, magnitude: float = 0.0) -> bool:
    """Return True when value <= bound, up to float rounding.

    ``magnitude``: that of the numbers ``value`` is the difference of (a lifetime), whose
    rounding the difference carries: a few units in their last place.
    """
    return value <= bound + EPSILON * max(1.0, abs(bound)) + 4 * math.ulp(magnitude)


@dataclass(frozen=True)
class Report:
    """One report as the coordinator passes it on, and the clock when it is passed on."""

    serial: str
    when: float | None  # None: relative to the clock, see offset
    offset: float
    watts: int
    interval: float
    clock_step: float
    site_today: float | None


@dataclass(frozen=True)
class Restart:
    """Home Assistant restarts: the panels come back from what was stored."""


hostile_watts = st.one_of(
    st.integers(min_value=0, max_value=MAX_MICROINVERTER_W),
    st.sampled_from([2**16 - 1, 2**15, MAX_MICROINVERTER_W + 1, -1, 0]),
    st.integers(),
)
hostile_intervals = st.one_of(
    st.sampled_from([300.0, 900.0, 3600.0, NIGHT, 0.0, -300.0, math.inf, math.nan]),
    st.floats(),
)
# A date relative to the clock (repeated and out of order ones come up often), or any float.
hostile_dates = st.one_of(
    st.none(),
    st.floats(),
    st.sampled_from([YEAR_2100, 0.0, START - 5 * 365 * 86400.0]),
)
reports = st.builds(
    Report,
    serial=st.sampled_from(SERIALS),
    when=hostile_dates,
    offset=st.integers(min_value=-int(2 * NIGHT), max_value=int(3 * FUTURE_SLACK)).map(float),
    watts=hostile_watts,
    interval=hostile_intervals,
    clock_step=st.one_of(
        st.sampled_from([0.0, 300.0, NIGHT]),
        st.floats(min_value=-86400.0, max_value=86400.0),
    ),
    site_today=st.one_of(st.none(), st.floats(), st.floats(min_value=0.0, max_value=1e5)),
)
events = st.lists(st.one_of(reports, reports, reports, st.just(Restart())), max_size=60)
held = st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=1e6))
stored_states = st.dictionaries(
    st.sampled_from(SERIALS),
    st.builds(
        PanelState,
        last_report=st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.just(YEAR_2100)),
        lifetime=st.floats(min_value=0.0, max_value=1e9),
        day=st.one_of(st.none(), st.sampled_from(["2026-06-20", "2026-06-21"])),
        day_start=st.floats(min_value=0.0, max_value=1e9),
        held=held,
        held_before=held,
        held_gap=st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=LONGEST_GAP)),
    ),
    max_size=len(SERIALS),
)


def day_of(clock: float) -> str:
    """Return the (UTC) date of an epoch time, as the coordinator's local day."""
    return datetime.fromtimestamp(clock, UTC).date().isoformat()


def stored(panels: PanelEnergy) -> object:
    """Return what would be stored, as a plain mapping."""
    return {serial: vars(state).copy() for serial, state in panels.panels.items()}


def run(
    panels: PanelEnergy, history: list[Report | Restart], *, site_days: bool = False
) -> tuple[PanelEnergy, float]:
    """Pass the history on, checking every promise after each step; return the panels, clock.

    ``site_days``: the site's today is followed as it really goes, never down during a day
    (the history's site_today is then read as an increment), instead of any value.
    """
    clock = START
    site: dict[str, float] = {}
    for event in history:
        if isinstance(event, Restart):
            restored = PanelEnergy.from_dict(panels.as_dict(), TAG)
            assert restored.panels == panels.panels
            panels = restored
            continue
        clock += event.clock_step
        when = clock + event.offset if event.when is None else event.when
        day = day_of(clock)
        site_today = event.site_today
        if site_days:
            growth = abs(site_today) if site_today is not None and math.isfinite(site_today) else 0
            site_today = site[day] = site.get(day, 0.0) + growth
        before = panels.panels.get(event.serial)
        # The panel as it was (a copy: the report changes it in place).
        prior = replace(before) if before is not None else None
        lifetime = prior.lifetime if prior is not None else 0.0
        last = prior.last_report if prior is not None else None
        panels.report(
            event.serial,
            when,
            event.watts,
            event.interval,
            day,
            now=clock,
            site_today=site_today,
        )
        after = panels.panels.get(event.serial)
        dated_ahead = not (math.isfinite(when) and when <= clock + FUTURE_SLACK)
        if after is None:
            assert dated_ahead
            continue
        # Nothing is ever poisoned: every number stays a number.
        assert math.isfinite(after.lifetime)
        assert math.isfinite(after.last_report)
        # Never decreases.
        assert after.lifetime >= lifetime
        if dated_ahead:
            # Ignored altogether.
            assert after.last_report == last
            assert after.lifetime == lifetime
            continue
        # Recovered: a real report leaves no panel waiting for a date ahead of the clock.
        assert after.last_report <= clock + FUTURE_SLACK
        if prior is not None:
            check_counted(prior, after, event, when, clock, site_today)
        if site_days and after.day == day:
            # Followed all day long, the site's today is never below a panel's.
            assert within(after.today(), site[day])
    return panels, clock


def check_counted(
    prior: PanelState,
    after: PanelState,
    event: Report,
    when: float,
    clock: float,
    site_today: float | None,
) -> None:
    """Check what a report (at ``when``, not ahead of the clock) added, or held back."""
    added = after.lifetime - prior.lifetime
    was_held, now_held = prior.held + prior.held_before, after.held + after.held_before
    assert math.isfinite(now_held)
    assert now_held >= 0
    assert after.held_gap <= LONGEST_GAP
    gap = when - prior.last_report
    own = (plausible_watts(event.watts) or 0) * gap / 3600
    if added > 0:
        # Counted reports: dated no further ahead than the clock allows, no longer a gap
        # than three of the longest real intervals (and of the site's interval), and no
        # more than the report's power over that gap, and what was held back for a gap
        # the interval covers now.
        assert after.last_report == when
        assert 0 < gap <= LONGEST_GAP
        assert gap <= MAX_GAP_INTERVALS * event.interval
        assert now_held == 0
        covered = prior.held_gap <= longest_counted_gap(event.interval)
        released = was_held if covered else 0.0
        assert within(added, MAX_MICROINVERTER_W * gap / 3600 + released, after.lifetime)
        assert within(added, own + released, after.lifetime)
        if site_today is not None and after.today() > prior.today():
            # (What was held on an earlier day goes into the lifetime only.)
            assert within(after.today(), site_today)
    elif gap > 0 and prior.last_report <= clock + FUTURE_SLACK:
        if longest_counted_gap(event.interval) < gap <= LONGEST_GAP:
            # Held back: exactly its power over its gap, nothing counted yet.
            assert within(abs(now_held - was_held - own), 0.0, now_held)
            assert after.held_gap == max(prior.held_gap, gap)
        elif gap > LONGEST_GAP:
            # A night's gap: neither counted nor held; what was held waits.
            assert now_held == was_held


@settings(max_examples=300)
@given(history=events)
def test_any_reports_keep_every_promise(history: list[Report | Restart]) -> None:
    """Any reports, any clock, any site's today: every promise holds at every step."""
    run(PanelEnergy(), history)


@settings(max_examples=200)
@given(history=events)
def test_a_panels_day_never_exceeds_the_sites(history: list[Report | Restart]) -> None:
    """With the site's today followed as it goes (never down within a day), no panel passes it."""
    run(PanelEnergy(), history, site_days=True)


@settings(max_examples=200)
@given(memory=stored_states, history=events, watts=st.integers(0, MAX_MICROINVERTER_W))
def test_counting_always_comes_back(
    memory: dict[str, PanelState], history: list[Report | Restart], watts: int
) -> None:
    """After anything stored and any reports, two real reports count again, as reported.

    The clock moves on a day; a report then, and one 300 s plus twice the allowed clock
    difference later (so after whatever the panel's last report was): the second adds its
    power times its gap, which three 300 s intervals cover, and whatever was held back for
    a gap they cover too; nothing is held afterwards.
    """
    panels = PanelEnergy.from_dict({serial: vars(state) for serial, state in memory.items()}, TAG)
    panels, clock = run(panels, history)
    clock += 86400
    first, second = clock, clock + 2 * FUTURE_SLACK + 300
    for serial in SERIALS:
        panels.report(serial, first, watts, 300, day_of(first), now=first)
        state = panels.panels[serial]
        lifetime, last = state.lifetime, state.last_report
        assert first <= last <= first + FUTURE_SLACK
        covered = state.held_gap <= longest_counted_gap(300)
        released = state.held + state.held_before if covered else 0.0
        counted = panels.report(serial, second, watts, 300, day_of(second), now=second)
        assert counted == (state.lifetime > lifetime)
        assert counted or watts == 0
        expected = lifetime + watts * (second - last) / 3600 + released
        assert within(abs(state.lifetime - expected), 0.0, expected)
        assert (state.held, state.held_before, state.held_gap) == (0.0, 0.0, 0.0)


@settings(max_examples=200)
@given(memory=stored_states)
def test_what_is_stored_comes_back(memory: dict[str, PanelState]) -> None:
    """A state stored by this release, or the one before (the same fields), loads as it was."""
    panels = PanelEnergy.from_dict(
        {serial: vars(state).copy() for serial, state in memory.items()}, TAG
    )
    assert panels.panels == memory
    assert PanelEnergy.from_dict(stored(panels), TAG).panels == memory


@given(watts=hostile_watts)
def test_only_a_power_a_microinverter_produces_is_shown(watts: int) -> None:
    """From zero to the microinverter maximum a power is shown as reported; else unknown."""
    shown = plausible_watts(watts)
    if 0 <= watts <= MAX_MICROINVERTER_W:
        assert shown == watts
    else:
        assert shown is None
