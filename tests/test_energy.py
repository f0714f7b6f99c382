"""The energy guard's rules, reading by reading (no Home Assistant, no network)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.enphase_envoy_legacy.energy import (
    MIN_PLAUSIBLE_POWER_W,
    EnergyGuard,
    GuardedProduction,
    GuardState,
)
from custom_components.enphase_envoy_legacy.envoy_client import EnvoyProduction

ZONE = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 6, 21, 12, 0, tzinfo=ZONE)
MINUTE = timedelta(minutes=1)
WRAP = 1_193_046  # the step down seen when inverter counters wrap (about 1.19 MWh)


def reading(
    lifetime: int, watts: int = 3000, today: int = 10_000, week: int = 70_000
) -> EnvoyProduction:
    """Return a production reading."""
    return EnvoyProduction(
        watts_now=watts,
        watt_hours_today=today,
        watt_hours_seven_days=week,
        watt_hours_lifetime=lifetime,
    )


class Site:
    """Feeds a guard one reading a minute, the way the coordinator does."""

    def __init__(self, guard: EnergyGuard | None = None, now: datetime = START) -> None:
        """Start at ``now``."""
        self.guard = guard or EnergyGuard()
        self.now = now

    def read(self, production: EnvoyProduction, after: timedelta = MINUTE) -> GuardedProduction:
        """Pass ``after`` and judge a reading."""
        self.now += after
        return self.guard.update(production, self.now)


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
    assert next_day == GuardedProduction(**{**shown.__dict__, "today": 0})
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
    site.guard.report_interval = 300
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
    later = guard.update(reading(1_016_700, watts=200_000), START + 5 * MINUTE, 300_000)
    assert (later.suspect, later.lifetime) == (False, 1_016_700)
