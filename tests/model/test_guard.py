"""The energy guard's rules, reading by reading (no Home Assistant, no network)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from custom_components.enphase_envoy_legacy.model.guard import (
    HOURS_PER_YEAR,
    LIFETIME_YEARS,
    MIN_PLAUSIBLE_POWER_W,
    SLACK_WH,
    EnergyGuard,
)
from custom_components.enphase_envoy_legacy.model.guard_state import (
    CounterReading,
    GuardedCounter,
    GuardState,
)
from custom_components.enphase_envoy_legacy.model.panels import MAX_MICROINVERTER_W

ZONE = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 6, 21, 12, 0, tzinfo=ZONE)
MINUTE = timedelta(minutes=1)
WRAP = 1_193_046  # the step down seen when inverter counters wrap (about 1.19 MWh)


def reading(
    lifetime: int, watts: int = 3000, today: int = 10_000, week: int = 70_000
) -> CounterReading:
    """Return a production reading."""
    return CounterReading(
        watts_now=watts,
        watt_hours_today=today,
        watt_hours_seven_days=week,
        watt_hours_lifetime=lifetime,
    )


class Site:
    """Feeds a guard one reading a minute, the way the coordinator does."""

    def __init__(self, guard: EnergyGuard | None = None, now: datetime = START) -> None:
        """Start at ``now``, its inverters' report interval not known."""
        self.guard = guard or EnergyGuard()
        self.now = now
        self.interval = 0.0

    def read(self, production: CounterReading, after: timedelta = MINUTE) -> GuardedCounter:
        """Pass ``after`` and judge a reading."""
        self.now += after
        return self.guard.update(production, self.now, report_interval=self.interval)


def test_normal_growth_is_reported() -> None:
    """Plausible growth passes through, and 'today' follows the lifetime."""
    site = Site()
    first = site.read(reading(1_000_000, today=5_000))
    assert (first.lifetime, first.today, first.watts_now, first.seven_days) == (
        1_000_000,
        5_000,
        3000,
        70_000,
    )
    second = site.read(reading(1_000_050, today=5_050))
    assert (second.lifetime, second.today, second.suspect) == (1_000_050, 5_050, False)


def test_no_history_and_zero() -> None:
    """A first reading of zero gives nothing to report yet."""
    result = Site().read(reading(0, watts=0, today=0, week=0))
    assert (result.lifetime, result.today, result.watts_now, result.suspect) == (
        None,
        None,
        None,
        True,
    )


def test_all_zero_reboot_is_held_then_resumes() -> None:
    """Zeros after a reboot keep the last good values; production resumes where it was."""
    site = Site()
    site.read(reading(1_000_000))
    for _ in range(3):
        held = site.read(reading(0, watts=0, today=0, week=0))
        assert (held.lifetime, held.today, held.seven_days) == (1_000_000, 10_000, 70_000)
        assert held.watts_now is None
        assert held.suspect
    back = site.read(reading(1_000_100))
    assert (back.lifetime, back.suspect) == (1_000_100, False)


def test_zeros_but_lifetime_held_for_a_while_then_believed() -> None:
    """R3.9.36 after a reboot: zeros but the lifetime. Held, unless it lasts (a snowy week)."""
    site = Site()
    site.read(reading(1_000_000))
    held = site.read(reading(1_000_000, watts=0, today=0, week=0))
    assert held.suspect
    assert held.seven_days == 70_000
    believed = site.read(reading(1_000_000, watts=0, today=0, week=0), after=timedelta(minutes=16))
    assert not believed.suspect
    assert (believed.watts_now, believed.seven_days) == (0, 0)


def test_brief_drop_is_ignored() -> None:
    """A drop during connection trouble that comes back counts nothing twice."""
    site = Site()
    site.read(reading(1_000_000))
    dropped = site.read(reading(900_000))
    assert (dropped.lifetime, dropped.suspect) == (1_000_000, True)
    back = site.read(reading(1_000_050))
    assert (back.lifetime, back.suspect, back.rebased) == (1_000_050, False, False)


@pytest.mark.parametrize("step", [-WRAP, -5_000_000, +50_000_000])
def test_persistent_step_becomes_a_continuation(step: int) -> None:
    """A wrap or a replaced counter: after 15 minutes the new level is the base, no jump."""
    site = Site()
    site.read(reading(100_000_000))
    base = 100_000_000 + step
    results = [site.read(reading(base + 50 * n), after=5 * MINUTE) for n in range(4)]
    assert [r.suspect for r in results] == [True, True, True, False]
    assert [r.lifetime for r in results[:3]] == [100_000_000] * 3
    assert results[3].rebased
    # It continues from the reported lifetime with what the counter made since the step,
    # plus the five minutes before the step at the 3 kW reported on both sides: 250 Wh.
    assert results[3].lifetime == 100_000_000 + 250 + 150
    after = site.read(reading(base + 300))
    assert after.lifetime == 100_000_000 + 250 + 300


def test_candidates_that_disagree_start_over() -> None:
    """Out-of-line readings that are not a steady new level never become the base."""
    site = Site()
    site.read(reading(10_000_000))
    for value in (5_000_000, 2_000_000, 7_000_000, 3_000_000, 6_000_000):
        result = site.read(reading(value), after=10 * MINUTE)
        assert result.suspect
        assert result.lifetime == 10_000_000


def test_garbage_spike_is_held_and_does_not_widen_the_bound() -> None:
    """One absurd reading (and an absurd power) is held; the bound stays what it was."""
    site = Site()
    site.read(reading(1_000_000))
    spike = site.read(reading(9_999_999_999, watts=10**9))
    assert (spike.lifetime, spike.suspect) == (1_000_000, True)
    assert site.guard.plausible_power() == MIN_PLAUSIBLE_POWER_W
    back = site.read(reading(1_000_060, watts=10**9))
    assert back.lifetime == 1_000_060
    assert site.guard.plausible_power() == MIN_PLAUSIBLE_POWER_W


def test_bound_follows_the_site() -> None:
    """A large site widens the bound to twice its peak, so its real growth is accepted."""
    guard = EnergyGuard()
    site = Site(guard)
    guard.update(reading(1_000_000, watts=9_000), site.now)
    guard.update(reading(1_000_100, watts=9_000), site.now + MINUTE, site_peak_power=9_500)
    assert guard.plausible_power() == 19_000
    # 18 kW for an hour is plausible for this site.
    result = guard.update(reading(1_018_100, watts=18_000), site.now + 61 * MINUTE)
    assert not result.suspect


def test_today_resets_at_local_midnight_without_the_envoy() -> None:
    """'Today' starts over at local midnight, whatever the Envoy's own counter does."""
    site = Site(now=datetime(2026, 3, 28, 23, 56, tzinfo=ZONE))
    site.read(reading(2_000_000, today=20_000))
    evening = site.read(reading(2_000_010, today=20_010))
    assert evening.today == 20_010
    # After midnight the Envoy has not reset yet (it does so late): 'today' is 0 all the same.
    night = site.read(reading(2_000_010, watts=0, today=20_010), after=3 * MINUTE)
    assert night.today == 0
    # The next day (the one DST starts) counts from its own midnight.
    site.read(reading(2_000_010, watts=0, today=0), after=timedelta(hours=9))
    noon = site.read(reading(2_005_010, today=5_000), after=timedelta(hours=3))
    assert noon.today == 5_000


def test_today_seeded_from_the_envoy_when_plausible() -> None:
    """Started mid-day, 'today' takes the Envoy's value, unless it could not be today's."""
    midday = Site(now=datetime(2026, 6, 21, 13, 0, tzinfo=ZONE))
    assert midday.read(reading(2_000_000, today=15_000)).today == 15_000
    # At 00:30 an Envoy that has not reset yet still says 25 kWh: not plausible for today.
    early = Site(now=datetime(2026, 6, 21, 0, 30, tzinfo=ZONE))
    assert early.read(reading(2_000_000, watts=0, today=25_000)).today == 0
    # A day first seen while readings are held starts at zero too.
    held = Site(now=datetime(2026, 6, 21, 23, 59, tzinfo=ZONE))
    held.read(reading(2_000_000))
    assert held.read(reading(0, watts=0, today=0, week=0), after=2 * MINUTE).today == 0


def test_state_survives_storage() -> None:
    """The stored state (as JSON) brings back the same judgement, mid-rebase included."""
    site = Site()
    site.read(reading(100_000_000))
    site.read(reading(100_000_000 - WRAP), after=5 * MINUTE)
    stored = json.loads(json.dumps(site.guard.state.as_dict()))
    restored = Site(EnergyGuard(GuardState.from_dict({**stored, "unknown": 1})), site.now)
    assert restored.guard.state == site.guard.state
    # A restart during a reboot: the zeros are held from the first reading.
    assert restored.read(reading(0, watts=0, today=0, week=0)).lifetime == 100_000_000
    for _ in range(2):
        result = restored.read(reading(100_000_000 - WRAP + 10), after=10 * MINUTE)
    assert result.rebased
    assert result.lifetime == 100_000_000 + 250 + 10  # the gap (5 min at 3 kW) and growth


def test_carry_forward_starts_a_new_day_at_midnight() -> None:
    """Between readings only 'today' moves: to zero at midnight.

    A poll that read no production carries the last values forward; everything before
    midnight belongs to the day that ended.
    """
    site = Site(now=datetime(2026, 6, 21, 23, 50, tzinfo=ZONE))
    shown = site.read(reading(1_000_000, today=20_000))
    assert shown.today == 20_000
    same_day = site.guard.carry_forward(shown, datetime(2026, 6, 21, 23, 59, tzinfo=ZONE))
    assert same_day == shown
    next_day = site.guard.carry_forward(shown, datetime(2026, 6, 22, 0, 0, 1, tzinfo=ZONE))
    assert next_day == GuardedCounter(**{**shown.__dict__, "today": 0})
    later = site.read(reading(1_000_500, today=500), after=timedelta(hours=7))
    assert (later.today, later.lifetime) == (500, 1_000_500)


def test_carry_forward_without_any_good_reading() -> None:
    """Nothing trustworthy yet: nothing to carry forward but what was shown."""
    site = Site()
    shown = site.read(reading(0, watts=0, today=0, week=0))
    assert shown.lifetime is None
    assert site.guard.carry_forward(shown, START + timedelta(days=1)) is shown


def test_a_burst_of_reports_may_bring_an_interval_of_energy_at_once() -> None:
    """A non-metered Envoy's counter jumps as reports land.

    Ten seconds apart, a reading may carry five minutes of production (800 Wh, within a
    10 kW bound) but not more.
    """
    site = Site()
    site.interval = 300
    site.read(reading(1_000_000, watts=5_000))
    burst = site.read(reading(1_000_800, watts=5_000), after=timedelta(seconds=10))
    assert (burst.suspect, burst.lifetime) == (False, 1_000_800)
    too_much = site.read(reading(1_002_800, watts=5_000), after=timedelta(seconds=10))
    assert too_much.suspect

    strict = Site()
    strict.read(reading(1_000_000, watts=5_000))
    assert strict.read(reading(1_000_800, watts=5_000), after=timedelta(seconds=10)).suspect


def test_a_site_far_above_the_starting_bound() -> None:
    """A site sized by its inverters (300 kW here) is judged by that size at once.

    Its first power reading is beyond the starting bound, but not garbage.
    """
    guard = EnergyGuard()
    first = guard.update(reading(1_000_000, watts=200_000), START, site_peak_power=300_000)
    assert (first.suspect, first.watts_now) == (False, 200_000)
    assert guard.plausible_power() == 600_000
    # Five minutes of 200 kW: 16.7 kWh, plausible for this site.
    later = guard.update(
        reading(1_016_700, watts=200_000), START + 5 * MINUTE, site_peak_power=300_000
    )
    assert (later.suspect, later.lifetime) == (False, 1_016_700)


# Issue #12: the guard cannot be walked up, and garbage site totals are refused.

CAPTURE_INVERTERS = (
    Path(__file__).parent.parent
    / "fixtures"
    / "captures"
    / "D5.0.62"
    / "api_v1_production_inverters.json"
)


def capture_site_peak(count: int) -> int:
    """Return what the first ``count`` inverters of the D5.0.62 capture produce together (W).

    Each is capped at what a microinverter can do, as the coordinator does.
    """
    inverters = json.loads(CAPTURE_INVERTERS.read_text())[:count]
    return sum(min(max(item["maxReportWatts"], 0), MAX_MICROINVERTER_W) for item in inverters)


def walk_up(
    guard: EnergyGuard, start: datetime, minutes: int, site_peak: int, interval: float
) -> list[GuardedCounter]:
    """Feed the guard an Envoy that raises its counter a little more each minute.

    While a reading is accepted, the next claims twice the power and the counter grows by
    what the old guard allowed for it (the poll gap plus one report interval at that power);
    once refused, it backs off to a quarter of that and tries again.
    """
    results: list[GuardedCounter] = []
    counter, watts, now = 1_000_000, 1_000, start
    accepted = guard.update(
        reading(counter, watts=watts), now, site_peak_power=site_peak, report_interval=interval
    )
    results.append(accepted)
    for _ in range(minutes):
        now += MINUTE
        step = round(watts * (60 + guard.report_interval) / 3600)
        result = guard.update(
            reading(counter + step, watts=watts),
            now,
            site_peak_power=site_peak,
            report_interval=interval,
        )
        results.append(result)
        if result.suspect:
            watts = max(watts // 4, 1)
        else:
            counter += step
            watts *= 2
    return results


def test_a_walk_up_is_bounded_by_the_site_capacity() -> None:
    """A 12-inverter site polled every minute, 300 s reports: an hour brings at most an hour.

    The Envoy claims a rising wattsNow to match its rising counter; the capacity comes from
    the inverters alone, and a report interval's energy is granted once, not per reading.
    """
    guard = EnergyGuard()
    interval = 300
    peak = capture_site_peak(12)
    results = walk_up(guard, START, 60, peak, interval)
    capacity = max(MIN_PLAUSIBLE_POWER_W, 2 * peak)
    lifetimes = [r.lifetime or 0 for r in results]
    growth = lifetimes[-1] - lifetimes[0]
    assert growth <= capacity * 1 + capacity * 300 / 3600 + SLACK_WH
    assert guard.plausible_power() == capacity
    assert all(r.watts_now is None or r.watts_now <= capacity for r in results)
    assert lifetimes == sorted(lifetimes)


def test_steady_overclaim_on_a_metered_envoy() -> None:
    """Each minute the counter grows by a minute and a report at full capacity: refused.

    The old guard accepted six hours of production per hour this way.
    """
    guard = EnergyGuard()
    interval = 300
    capacity = guard.plausible_power()
    now, counter = START, 50_000_000
    first = guard.update(reading(counter, watts=capacity), now, report_interval=interval)
    for _ in range(60):
        now += MINUTE
        counter += round(capacity * 360 / 3600)
        last = guard.update(reading(counter, watts=capacity), now, report_interval=interval)
    assert first.lifetime is not None
    assert last.lifetime is not None
    assert last.lifetime - first.lifetime <= capacity + capacity * 300 / 3600 + SLACK_WH


def test_wattsnow_never_raises_the_capacity() -> None:
    """A wattsNow at the edge of the bound, reading after reading, leaves the bound alone."""
    site = Site()
    counter = 1_000_000
    for _ in range(30):
        watts = site.guard.plausible_power()
        counter += watts // 60
        site.read(reading(counter, watts=watts))
    assert site.guard.plausible_power() == MIN_PLAUSIBLE_POWER_W


def test_the_inverters_set_the_capacity_each_time_they_are_read() -> None:
    """The capacity follows the inverters' last listing; a reading without one keeps it."""
    guard = EnergyGuard()
    guard.update(reading(1_000_000), START, site_peak_power=40_000)
    assert guard.plausible_power() == 80_000
    guard.update(reading(1_000_050), START + MINUTE, site_peak_power=0)
    assert guard.plausible_power() == 80_000
    guard.update(reading(1_000_100), START + 2 * MINUTE, site_peak_power=4_000)
    assert guard.plausible_power() == MIN_PLAUSIBLE_POWER_W


def test_a_report_interval_of_energy_is_granted_once_per_interval() -> None:
    """A non-metered Envoy's burst brings an interval's energy; two bursts a minute apart cannot.

    The Envoy claims the capacity as its power all along, so that the energy agrees with it.
    """
    guard = EnergyGuard()
    interval = 300
    capacity = guard.plausible_power()
    interval_energy = capacity * 300 // 3600
    minute_energy = capacity * 60 // 3600

    def at(lifetime: int, minutes: int) -> GuardedCounter:
        return guard.update(
            reading(lifetime, watts=capacity),
            START + minutes * MINUTE,
            report_interval=interval,
        )

    at(1_000_000, 0)
    assert not at(1_000_000 + interval_energy, 1).suspect
    assert at(1_000_000 + 2 * interval_energy + minute_energy, 2).suspect
    # Five minutes later the credit is back.
    assert not at(1_000_000 + 2 * interval_energy + minute_energy, 7).suspect


def test_a_rebase_is_bounded_by_the_credit() -> None:
    """A new level that grows fast while it is held adds no more than the site could make."""
    site = Site()
    site.read(reading(100_000_000))
    capacity = site.guard.plausible_power()
    base = 200_000_000
    # Each step is a plausible one for a held level (with a report interval on top).
    site.interval = 3600
    step = capacity * (5 * 60 + 3600) // 3600
    results = [site.read(reading(base + step * n), after=5 * MINUTE) for n in range(4)]
    assert results[3].rebased
    assert results[3].lifetime is not None
    assert results[3].lifetime - 100_000_000 <= capacity * 20 * 60 / 3600 + SLACK_WH


@pytest.mark.parametrize("power", [10**9, -(10**9), 10**400])
def test_a_power_beyond_the_capacity_is_not_shown(power: int) -> None:
    """A wattsNow of a gigawatt (or 10**400) is suspect: not shown, the lifetime still judged."""
    site = Site()
    site.read(reading(1_000_000))
    result = site.read(reading(1_000_050, watts=power))
    assert (result.watts_now, result.suspect, result.lifetime) == (None, True, 1_000_050)
    assert site.guard.state.accepted_power <= site.guard.plausible_power()


def test_seven_days_beyond_the_capacity_is_not_shown() -> None:
    """1.8e16 kWh over seven days is refused: the last good value stays."""
    site = Site()
    site.read(reading(1_000_000, week=70_000))
    result = site.read(reading(1_000_050, week=18 * 10**18))
    assert (result.seven_days, result.suspect, result.lifetime) == (70_000, True, 1_000_050)
    limit = site.guard.plausible_power() * 7 * 24
    assert site.read(reading(1_000_100, week=limit)).seven_days == limit
    assert site.read(reading(1_000_150, week=limit + 1)).seven_days == limit


@pytest.mark.parametrize("lifetime", [10**30, 10**400, 2**65])
def test_the_first_reading_is_judged_too(lifetime: int) -> None:
    """A new entry's first lifetime beyond LIFETIME_YEARS of the capacity is refused."""
    site = Site()
    first = site.read(reading(lifetime))
    assert (first.lifetime, first.today, first.suspect) == (None, None, True)
    assert site.guard.state.candidates == []
    good = site.read(reading(138_475_913))
    assert (good.lifetime, good.suspect) == (138_475_913, False)
    limit = site.guard.max_lifetime()
    assert limit == site.guard.plausible_power() * LIFETIME_YEARS * HOURS_PER_YEAR
    assert Site().read(reading(limit)).lifetime == limit
    assert Site().read(reading(limit + 1)).lifetime is None


def test_huge_numbers_never_reach_the_store() -> None:
    """Integers beyond 2**64 (or 10**400) anywhere: the state stays storable as JSON."""
    site = Site()
    site.read(reading(1_000_000))
    huge = (2**65, 10**400)
    for value in huge:
        site.read(reading(value, watts=value, today=value, week=value))
        site.read(reading(1_000_000 - WRAP, watts=value, today=value, week=value))
    stored = site.guard.state.as_dict()
    numbers = [
        value
        for part in stored.values()
        for value in (part if isinstance(part, list) else [part])
        for value in (value if isinstance(value, tuple) else [value])
        if isinstance(value, int | float)
    ]
    assert numbers
    assert all(abs(number) <= 2**53 for number in numbers)
    assert GuardState.from_dict(json.loads(json.dumps(stored))) == site.guard.state


def test_today_never_exceeds_a_day_at_capacity() -> None:
    """Energy today is at most the capacity for 24 hours, even when the lifetime grew more."""
    guard = EnergyGuard()
    interval = 3600
    guard.update(
        reading(1_000_000, today=0),
        datetime(2026, 6, 21, 0, 0, 1, tzinfo=ZONE),
        report_interval=interval,
    )
    # No reading for a day (the Envoy offline), then everything it made: the day at capacity
    # and the credit of a report interval on top; more than a day's worth.
    capacity = guard.plausible_power()
    late = datetime(2026, 6, 21, 23, 59, tzinfo=ZONE)
    grown = 1_000_000 + capacity * 24 + capacity // 2
    result = guard.update(reading(grown, today=0), late, report_interval=interval)
    assert result.lifetime == grown
    assert result.today == capacity * 24
    more = guard.update(
        reading(grown + 100, today=0), late + timedelta(seconds=30), report_interval=interval
    )
    assert more.today == capacity * 24
    assert more.lifetime == grown + 100


def test_a_replaced_envoys_counter_goes_on_from_the_old_lifetime() -> None:
    """After a replacement the new counter's first plausible reading is its base: no jump.

    A reboot's zeros are not a base; the lifetime never goes down, then grows with the new
    counter.
    """
    site = Site()
    site.read(reading(133_000_000))
    shown = site.read(reading(133_000_100)).lifetime
    assert shown == 133_000_100
    site.guard.new_counter()
    assert site.read(reading(0, watts=0, today=0, week=0)).lifetime == shown
    first = site.read(reading(1_000))
    assert (first.lifetime, first.suspect, first.rebased) == (shown, False, False)
    assert site.read(reading(1_100)).lifetime == shown + 100
    assert not site.guard.state.new_counter
