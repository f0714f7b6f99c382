"""Each panel against its own normal, day by day (model/output.py; no Home Assistant)."""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from typing import Any

import pytest

from custom_components.enphase_envoy_legacy.model.output import (
    BACK_DAYS,
    BACK_SHARE,
    BASELINE_DAYS,
    BEST_OF_DAYS,
    BRIGHT_SHARE,
    JUDGED_DAYS,
    LOW_DAYS,
    LOW_SHARE,
    MIN_PANELS,
    MISSED_SHARE,
    DayOutput,
    OutputWatch,
    PanelOutput,
)
from custom_components.enphase_envoy_legacy.model.panels import PanelEnergy
from custom_components.enphase_envoy_legacy.model.stored import Malformed

TAG = "entry 123456"
FIRST = date(2026, 5, 1)
SERIALS = [f"1215470{index:05d}" for index in range(8)]
# A bright day's energy of a typical panel (Wh), and its reports at a 5-minute interval.
TYPICAL_WH = 1500.0
REPORTS = 156


def day(number: int) -> str:
    """Return the ISO date of the ``number``-th day."""
    return (FIRST + timedelta(days=number)).isoformat()


def outputs(factors: dict[str, float], scale: float = 1.0) -> dict[str, DayOutput]:
    """Return a day's outputs: each panel a factor of the typical panel, the site scaled."""
    return {
        serial: DayOutput(energy=TYPICAL_WH * scale * factor, reports=REPORTS)
        for serial, factor in factors.items()
    }


def even(low: float | None = None) -> dict[str, float]:
    """Return every panel at 1, the first at ``low`` when given."""
    factors = dict.fromkeys(SERIALS, 1.0)
    if low is not None:
        factors[SERIALS[0]] = low
    return factors


def learned(days: int = BASELINE_DAYS) -> OutputWatch:
    """Return a watch that judged ``days`` even bright days."""
    watch = OutputWatch()
    for number in range(days):
        assert watch.judge(day(number), outputs(even())) == frozenset(SERIALS)
    return watch


def test_no_normal_before_the_baseline_days() -> None:
    """A panel has a normal (and a relative output) only after BASELINE_DAYS judged days."""
    watch = learned(BASELINE_DAYS - 1)
    panel = watch.panels[SERIALS[0]]
    assert panel.normal is None
    assert panel.relative() is None
    # Even a very low day before then raises nothing: it becomes part of the normal.
    watch.judge(day(BASELINE_DAYS), outputs(even(low=0.1)))
    assert watch.found == {}
    assert panel.normal == statistics.median([*[1.0] * (BASELINE_DAYS - 1), 0.1])


def test_three_low_days_raise_two_back_clear() -> None:
    """LOW_DAYS low judged days in a row raise; BACK_DAYS back at normal clear."""
    watch = learned()
    panel = watch.panels[SERIALS[0]]
    low = LOW_SHARE * 0.8
    for number in range(LOW_DAYS):
        assert watch.found == {}
        watch.judge(day(BASELINE_DAYS + number), outputs(even(low=low)))
    found = watch.found[SERIALS[0]]
    # The median of 8 panels at 1 and one at ``low`` is 1: the share is the factor itself.
    assert found.normal == 1.0
    assert found.recent == pytest.approx(low)
    assert found.since == day(BASELINE_DAYS)
    assert panel.relative() == pytest.approx(100 * low)
    assert set(watch.found) == {SERIALS[0]}
    # A low day never enters the normal.
    assert panel.shares == [1.0] * BASELINE_DAYS
    start = BASELINE_DAYS + LOW_DAYS
    for number in range(BACK_DAYS - 1):
        watch.judge(day(start + number), outputs(even()))
        assert SERIALS[0] in watch.found
    watch.judge(day(start + BACK_DAYS - 1), outputs(even()))
    assert watch.found == {}
    assert panel.relative() == 100.0


def test_a_streak_broken_starts_again() -> None:
    """A day back at normal before the streak is complete forgets it."""
    watch = learned()
    low = even(low=LOW_SHARE * 0.9)
    watch.judge(day(BASELINE_DAYS), outputs(low))
    watch.judge(day(BASELINE_DAYS + 1), outputs(even()))
    for number in range(LOW_DAYS - 1):
        watch.judge(day(BASELINE_DAYS + 2 + number), outputs(low))
    assert watch.found == {}
    assert watch.panels[SERIALS[0]].since == day(BASELINE_DAYS + 2)


def test_back_only_above_the_back_share() -> None:
    """Raised, a day between LOW_SHARE and BACK_SHARE of the normal is not back yet."""
    watch = learned()
    for number in range(LOW_DAYS):
        watch.judge(day(BASELINE_DAYS + number), outputs(even(low=0.5)))
    between = (LOW_SHARE + BACK_SHARE) / 2
    start = BASELINE_DAYS + LOW_DAYS
    watch.judge(day(start), outputs(even()))
    watch.judge(day(start + 1), outputs(even(low=between)))
    watch.judge(day(start + 2), outputs(even()))
    assert SERIALS[0] in watch.found  # the day between reset the count back
    # Low again while raised: it stays raised, and the recent share follows the latest days.
    watch.judge(day(start + 3), outputs(even(low=0.4)))
    assert watch.found[SERIALS[0]].recent == pytest.approx(statistics.fmean([0.5, 0.5, 0.4]))
    assert watch.found[SERIALS[0]].since == day(BASELINE_DAYS)


def test_a_dull_day_is_not_judged() -> None:
    """Below BRIGHT_SHARE of the month's best day, nothing is judged; the day is remembered."""
    watch = learned()
    dull = BRIGHT_SHARE * 0.9
    assert watch.judge(day(BASELINE_DAYS), outputs(even(low=0.1), scale=dull)) == frozenset()
    assert watch.panels[SERIALS[0]].latest == 1.0
    assert watch.days[day(BASELINE_DAYS)] == pytest.approx(
        TYPICAL_WH * dull * (len(SERIALS) - 1 + 0.1)
    )
    # Just bright enough: judged.
    assert watch.judge(day(BASELINE_DAYS + 1), outputs(even(), scale=BRIGHT_SHARE * 1.01))


def test_the_best_day_is_of_the_last_month_only() -> None:
    """A best day older than BEST_OF_DAYS days no longer makes later days dull."""
    watch = OutputWatch()
    watch.judge(day(0), outputs(even(), scale=10.0))
    assert not watch.judge(day(BEST_OF_DAYS - 1), outputs(even()))
    assert watch.judge(day(BEST_OF_DAYS), outputs(even()))
    assert day(0) not in watch.days
    assert len(watch.days) <= BEST_OF_DAYS


def test_a_day_is_judged_once() -> None:
    """The same day, or an older one, is not judged again (a restart, a clock set back)."""
    watch = learned(1)
    assert watch.judge(day(0), outputs(even())) == frozenset()
    assert watch.judge(day(-1), outputs(even())) == frozenset()
    assert watch.panels[SERIALS[0]].shares == [1.0]


def test_only_panels_that_reported_all_day() -> None:
    """A panel that missed reports, or was counted from mid-day, is not judged that day."""
    watch = OutputWatch()
    missed = int(REPORTS * MISSED_SHARE) + 1
    day_outputs = outputs(even())
    day_outputs[SERIALS[0]] = DayOutput(energy=TYPICAL_WH, reports=REPORTS - missed)
    day_outputs[SERIALS[1]] = DayOutput(energy=TYPICAL_WH, reports=REPORTS, whole=False)
    day_outputs[SERIALS[2]] = DayOutput(energy=TYPICAL_WH, reports=REPORTS - missed + 1)
    assert watch.judge(day(0), day_outputs) == frozenset(SERIALS) - {SERIALS[0], SERIALS[1]}


def test_hourly_reports_allow_one_missed() -> None:
    """On an Envoy reporting hourly a panel may miss one report, not two."""
    watch = OutputWatch()
    hourly = 13
    missed = [0, 1, 2, 0, 0]
    day_outputs = {
        serial: DayOutput(energy=TYPICAL_WH, reports=hourly - count)
        for serial, count in zip(SERIALS, missed, strict=False)
    }
    judged = {serial for serial, count in zip(SERIALS, missed, strict=False) if count < 2}
    assert watch.judge(day(0), day_outputs) == judged


def test_too_few_panels_or_no_energy() -> None:
    """Fewer than MIN_PANELS panels, or a median panel that made nothing: not judged."""
    few = dict.fromkeys(SERIALS[: MIN_PANELS - 1], 1.0)
    assert OutputWatch().judge(day(0), outputs(few)) == frozenset()
    assert OutputWatch().judge(day(0), outputs(dict.fromkeys(SERIALS, 0.0))) == frozenset()
    mostly_dead = {**dict.fromkeys(SERIALS, 0.0), SERIALS[0]: 1.0}
    assert OutputWatch().judge(day(0), outputs(mostly_dead)) == frozenset()
    assert OutputWatch().judge(day(0), {}) == frozenset()


def test_a_panel_whose_normal_is_nothing_is_never_low() -> None:
    """A panel that always makes nothing (a normal of 0) has no relative output, no repair."""
    watch = OutputWatch()
    for number in range(BASELINE_DAYS + LOW_DAYS):
        watch.judge(day(number), outputs(even(low=0.0)))
    panel = watch.panels[SERIALS[0]]
    assert panel.normal == 0.0
    assert panel.relative() is None
    assert watch.found == {}
    assert len(panel.shares) == BASELINE_DAYS + LOW_DAYS


def test_the_normal_keeps_the_latest_days() -> None:
    """The normal is the median of the last JUDGED_DAYS days not low."""
    watch = OutputWatch()
    factors = [1.0 - 0.01 * number for number in range(JUDGED_DAYS + 5)]
    for number, factor in enumerate(factors):
        watch.judge(day(number), outputs(even(low=factor)))
    panel = watch.panels[SERIALS[0]]
    assert panel.shares == pytest.approx(factors[-JUDGED_DAYS:])
    assert panel.normal == pytest.approx(statistics.median(factors[-JUDGED_DAYS:]))


def test_forget() -> None:
    """A panel forgotten (gone for good) leaves; its repair with it."""
    watch = learned()
    for number in range(LOW_DAYS):
        watch.judge(day(BASELINE_DAYS + number), outputs(even(low=0.5)))
    found = watch.found
    watch.forget(SERIALS[1])
    assert watch.found is found  # nothing changed: the same mapping
    watch.forget(SERIALS[0])
    assert watch.found == {}
    watch.forget(SERIALS[0])
    assert SERIALS[0] not in watch.panels


def test_stored_and_restored() -> None:
    """What is stored comes back: normal, streak, raised, the month's days."""
    watch = learned()
    for number in range(LOW_DAYS):
        watch.judge(day(BASELINE_DAYS + number), outputs(even(low=0.5)))
    watch.judge(day(BASELINE_DAYS + LOW_DAYS), outputs(even()))
    restored = OutputWatch.from_dict(watch.as_dict(), TAG)
    assert restored == watch
    assert restored.found == watch.found
    assert restored.panels[SERIALS[0]].back == 1
    assert OutputWatch.from_dict({}, TAG) == OutputWatch()


@pytest.mark.parametrize(
    "stored",
    [
        None,
        [],
        {"days": {"yesterday": 1.0}},
        {"days": {day(0): -1.0}},
        {"days": {day(0): "1"}},
        {"judged": 3},
        {"judged": "soon"},
        {"days": []},
    ],
)
def test_a_malformed_site_part_is_refused(stored: Any) -> None:
    """The site's part is checked whole: the store starts it afresh (Site.from_dict)."""
    with pytest.raises(Malformed):
        OutputWatch.from_dict(stored, TAG)


@pytest.mark.parametrize(
    "panel",
    [
        None,
        {"shares": "1"},
        {"shares": [-0.1]},
        {"shares": [float("nan")]},
        {"latest": -1},
        {"low": [True]},
        {"since": "tomorrow"},
        {"raised": 1},
        {"back": -1},
    ],
)
def test_a_malformed_panel_starts_afresh(panel: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A malformed panel is left out (it learns its normal again); the others stay."""
    good = PanelOutput(shares=[1.0], latest=1.0)
    stored = {"panels": {"A": panel, "B": good.as_dict()}}
    assert OutputWatch.from_dict(stored, TAG).panels == {"B": good}
    assert "panel output" in caplog.text


def test_the_panels_day_is_what_is_judged() -> None:
    """PanelEnergy gives the day that ends: each panel's energy, reports, and first day."""
    energy = PanelEnergy()
    t0 = 1_780_000_000.0
    energy.report("A", t0, 100, 300, day(0), now=t0)
    energy.report("B", t0, 100, 300, day(-1), now=t0)
    energy.new_day("B", day(0))
    for step in range(1, 4):
        energy.report("A", t0 + 300 * step, 120, 300, day(0), now=t0 + 300 * step)
        energy.report("B", t0 + 300 * step, 60, 300, day(0), now=t0 + 300 * step)
    energy.report("C", t0, 100, 300, day(-2), now=t0)
    # C's last day was an older one: the day that ends for it is its own.
    assert energy.ending(day(0)) == (day(-2), {"C": DayOutput(energy=0, reports=0, whole=False)})
    assert PanelEnergy().ending(day(0)) == (None, {})
    ended, found = energy.ending(day(1))
    assert ended == day(0)
    assert found == {
        "A": DayOutput(energy=3 * 120 * 300 / 3600, reports=3, whole=False),
        "B": DayOutput(energy=3 * 60 * 300 / 3600, reports=3, whole=True),
    }
    energy.start_day(day(1))
    assert energy.ending(day(1)) == (None, {})
    assert energy.panels["A"].reports == 0
    assert energy.panels["A"].finished().whole
