"""Per-panel energy and health rules, report by report (no Home Assistant, no network)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from custom_components.enphase_envoy_legacy.model.panels import (
    FUTURE_SLACK,
    INTERVAL_SLACK,
    MAX_GAP_INTERVALS,
    MAX_MICROINVERTER_W,
    MAX_REPORT_INTERVAL,
    PanelEnergy,
    PanelState,
    latest_burst,
    longest_counted_gap,
    plausible_watts,
    reporting_problems,
    site_reports,
)
from custom_components.enphase_envoy_legacy.model.schedule import PollScheduler

T0 = 1_750_000_000.0
DAY = "2025-06-15"
# What the issue saw: a 16-bit counter's largest value as a report's power, a report dated in
# 2100, and the overnight gap (11.1 h) an entry set up at night took for the interval.
WATTS_GARBAGE = 2**16 - 1
YEAR_2100 = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
NIGHT = 11.1 * 3600

TAG = "entry 123456"


def reporting_count(
    reports: dict[str, float], now: float, interval: float, *, producing: bool = False
) -> int:
    """Return how many inverters the census counts as reporting (model/census.py)."""
    newest, burst = latest_burst(reports, interval)
    return len(burst) if site_reports(newest, now, interval, producing=producing) else 0


def test_each_report_adds_its_interval() -> None:
    """The first report sets the start; each next one adds its power times its interval."""
    panels = PanelEnergy()
    assert panels.report("A", T0, 200, 300, DAY, now=T0)
    assert panels.panels["A"].lifetime == 0
    assert panels.report("A", T0 + 300, 240, 300, DAY, now=T0 + 300)
    assert panels.panels["A"].lifetime == pytest.approx(20.0)  # 240 W for 5 minutes
    assert not panels.report("A", T0 + 300, 240, 300, DAY, now=T0 + 300)  # the same report again
    assert panels.report("A", T0 + 600, 120, 300, DAY, now=T0 + 600)
    assert panels.panels["A"].lifetime == pytest.approx(30.0)
    assert panels.panels["A"].today() == pytest.approx(30.0)


def test_missed_reports_are_bridged_up_to_a_limit() -> None:
    """A missed report or two: the gap counts; longer gaps (restart, night) add nothing."""
    panels = PanelEnergy()
    panels.report("A", T0, 200, 300, DAY, now=T0)
    panels.report("A", T0 + 600, 300, 300, DAY, now=T0 + 600)  # one report missed
    assert panels.panels["A"].lifetime == pytest.approx(50.0)
    later = T0 + 600 + MAX_GAP_INTERVALS * 300 + 1
    assert not panels.report("A", later, 300, 300, DAY, now=later)
    assert panels.panels["A"].lifetime == pytest.approx(50.0)
    assert panels.panels["A"].last_report == later  # counting goes on from there
    assert panels.report("A", later + 300, 300, 300, DAY, now=later + 300)
    assert panels.panels["A"].lifetime == pytest.approx(75.0)


def test_a_changed_report_interval() -> None:
    """After a change to 900 s, each report stands for 900 s."""
    panels = PanelEnergy()
    panels.report("A", T0, 200, 300, DAY, now=T0)
    panels.report("A", T0 + 900, 200, 900, DAY, now=T0 + 900)
    assert panels.panels["A"].lifetime == pytest.approx(50.0)


def test_zero_power_adds_nothing() -> None:
    """A report of 0 W (dusk) adds nothing but moves the start on."""
    panels = PanelEnergy()
    panels.report("A", T0, 10, 300, DAY, now=T0)
    assert not panels.report("A", T0 + 300, 0, 300, DAY, now=T0 + 300)
    assert panels.panels["A"].last_report == T0 + 300


def test_midnight_starts_today_again() -> None:
    """At a new local day, 'today' is zero and the lifetime goes on."""
    panels = PanelEnergy()
    panels.report("A", T0, 200, 300, DAY, now=T0)
    panels.report("A", T0 + 300, 240, 300, DAY, now=T0 + 300)
    assert panels.new_day("A", "2025-06-16")
    assert not panels.new_day("A", "2025-06-16")
    assert (panels.panels["A"].today(), panels.panels["A"].lifetime) == (0, pytest.approx(20.0))
    panels.report("A", T0 + 600, 120, 300, "2025-06-16", now=T0 + 600)
    assert panels.panels["A"].today() == pytest.approx(10.0)


def test_restart_restores_without_loss_or_double_count() -> None:
    """What is stored comes back; a report already counted is not counted again."""
    panels = PanelEnergy()
    panels.report("A", T0, 200, 300, DAY, now=T0)
    panels.report("A", T0 + 300, 240, 300, DAY, now=T0 + 300)
    restored = PanelEnergy.from_dict(panels.as_dict(), TAG)
    assert restored.panels == panels.panels
    assert not restored.report("A", T0 + 300, 240, 300, DAY, now=T0 + 300)
    assert restored.report("A", T0 + 600, 240, 300, DAY, now=T0 + 600)
    assert restored.panels["A"].lifetime == pytest.approx(40.0)


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "garbage",
        {"A": "garbage"},
        {"A": {"last_report": "soon"}},
        {"A": {"last_report": T0, "lifetime": True, "day_start": 0}},
        {"A": {"last_report": T0, "lifetime": 1, "day_start": 0, "day": 5}},
        {5: {"last_report": T0, "lifetime": 1, "day_start": 0}},
        {"A": {"last_report": T0, "lifetime": math.inf, "day_start": 0}},
        {"A": {"last_report": math.nan, "lifetime": 1, "day_start": 0}},
        {"A": {"last_report": T0, "lifetime": 1, "day_start": 0, "held": -1.0}},
        {"A": {"last_report": T0, "lifetime": 1, "day_start": 0, "held_gap": "long"}},
    ],
)
def test_malformed_memory_is_forgotten(stored: object) -> None:
    """Whatever is stored, counting starts; malformed panels start over."""
    assert PanelEnergy.from_dict(stored, TAG).panels == {}


def test_stored_state_round_trip() -> None:
    """A panel's state survives storage as it is."""
    state = PanelState(last_report=T0, lifetime=12.5, day=DAY, day_start=2.5)
    assert (
        PanelState.from_dict({"last_report": T0, "lifetime": 12.5, "day": DAY, "day_start": 2.5})
        == state
    )


# --- an interval made longer (issue #24) ---------------------------------------------------------


def test_the_first_report_of_a_longer_interval_counts_once_confirmed() -> None:
    """300 s, then hourly: the first hourly report is held, the second confirms it."""
    panels = PanelEnergy()
    panels.report("A", T0, 200, 300, DAY, now=T0)
    assert not panels.report("A", T0 + 3600, 240, 300, DAY, now=T0 + 3600)
    state = panels.panels["A"]
    assert (state.lifetime, state.held, state.held_gap) == (0, pytest.approx(240.0), 3600)
    # Held back across a restart.
    restored = PanelEnergy.from_dict(panels.as_dict(), TAG)
    assert restored.panels == panels.panels
    # The second hourly report, the interval confirmed: both count.
    assert restored.report("A", T0 + 7200, 120, 3600, DAY, now=T0 + 7200)
    state = restored.panels["A"]
    assert state.lifetime == pytest.approx(240.0 + 120.0)
    assert (state.held, state.held_before, state.held_gap) == (0, 0, 0)
    assert "held" not in restored.as_dict()["A"]  # nothing held: nothing more stored


def test_an_outage_counts_nothing() -> None:
    """A long gap, then the same interval again: what was held counts nothing."""
    panels = PanelEnergy()
    panels.report("A", T0, 200, 300, DAY, now=T0)
    panels.report("A", T0 + 2400, 240, 300, DAY, now=T0 + 2400)  # a 40-minute outage
    assert panels.report("A", T0 + 2700, 240, 300, DAY, now=T0 + 2700)
    state = panels.panels["A"]
    assert state.lifetime == pytest.approx(20.0)  # the report after it, alone
    assert (state.held, state.held_gap) == (0, 0)


def test_a_night_is_never_held_and_keeps_what_is() -> None:
    """Hourly from the evening's last hour: held over the night, counted for its own day."""
    panels = PanelEnergy()
    panels.report("A", T0, 50, 300, DAY, now=T0)
    panels.report("A", T0 + 3600, 30, 300, DAY, now=T0 + 3600)  # the first hourly report
    morning = T0 + 3600 + NIGHT
    tomorrow = "2025-06-16"
    assert not panels.report("A", morning, 20, 300, tomorrow, now=morning)  # the night
    state = panels.panels["A"]
    assert (state.held, state.held_before) == (0, pytest.approx(30.0))
    assert not panels.report("A", morning + 3600, 200, 300, tomorrow, now=morning + 3600)
    # Confirmed: this morning's hour counts today, yesterday's hour only in the lifetime.
    assert panels.report("A", morning + 7200, 300, 3600, tomorrow, now=morning + 7200)
    assert state.lifetime == pytest.approx(30.0 + 200.0 + 300.0)
    assert state.today() == pytest.approx(200.0 + 300.0)


def test_what_is_held_stays_below_the_site() -> None:
    """Released, what was held counts up to the site's energy today, like any report."""
    panels = PanelEnergy()
    panels.report("A", T0, 200, 300, DAY, now=T0)
    panels.report("A", T0 + 3600, 240, 300, DAY, now=T0 + 3600, site_today=1000)
    assert panels.report("A", T0 + 7200, 240, 3600, DAY, now=T0 + 7200, site_today=300)
    assert panels.panels["A"].today() == pytest.approx(300.0)


def test_reporting_goes_on_while_a_producing_site_is_late() -> None:
    """Bursts that stop while the panels produce: the count holds for an hour and a half."""
    reports = {"A": T0, "B": T0 + 20, "C": T0 + 40}
    late = T0 + 40 + INTERVAL_SLACK * 300 + 60
    assert reporting_count(reports, late, 300) == 0  # nightfall: the last reports carry nothing
    assert reporting_count(reports, late, 300, producing=True) == 3
    longest = T0 + 40 + INTERVAL_SLACK * MAX_REPORT_INTERVAL
    assert reporting_count(reports, longest, 300, producing=True) == 3
    assert reporting_count(reports, longest + 1, 300, producing=True) == 0
    assert reporting_count({}, T0, 300, producing=True) == 0


def test_one_silent_inverter_by_day_is_a_problem() -> None:
    """Silent for more than three intervals while the others report: a problem."""
    now = T0 + 3600
    reports = {"A": now - 30, "B": now - 20, "C": now - MAX_GAP_INTERVALS * 300 - 5}
    assert reporting_problems(reports, now, 300) == {"C"}
    assert reporting_count(reports, now, 300) == 2


def test_one_missed_report_is_not_a_problem() -> None:
    """A single missed report is not a problem yet."""
    now = T0 + 3600
    reports = {"A": now - 30, "B": now - 330}
    assert reporting_problems(reports, now, 300) == frozenset()


def test_all_silent_at_night_is_no_problem() -> None:
    """Nobody reported lately (night, an Envoy outage, the site off): nobody is flagged."""
    now = T0 + 12 * 3600
    reports = {"A": T0, "B": T0 + 20, "C": T0 - 3000}
    assert reporting_problems(reports, now, 300) == frozenset()
    assert reporting_count(reports, now, 300) == 0


@pytest.mark.parametrize("watts", [WATTS_GARBAGE, MAX_MICROINVERTER_W + 1, -1, -WATTS_GARBAGE])
def test_a_power_no_microinverter_produces_adds_nothing(watts: int) -> None:
    """65,535 W (or below zero) is garbage: its interval adds nothing; counting goes on."""
    panels = PanelEnergy()
    panels.report("A", T0, 200, 300, DAY, now=T0)
    assert not panels.report("A", T0 + 300, watts, 300, DAY, now=T0 + 300)
    assert panels.panels["A"].lifetime == 0
    assert panels.panels["A"].last_report == T0 + 300
    assert panels.report("A", T0 + 600, MAX_MICROINVERTER_W, 300, DAY, now=T0 + 600)
    assert panels.panels["A"].lifetime == pytest.approx(MAX_MICROINVERTER_W * 300 / 3600)


def test_plausible_watts() -> None:
    """From zero to the microinverter maximum, both included; anything else is refused."""
    assert plausible_watts(0) == 0
    assert plausible_watts(MAX_MICROINVERTER_W) == MAX_MICROINVERTER_W
    assert plausible_watts(MAX_MICROINVERTER_W + 1) is None
    assert plausible_watts(-1) is None


def test_a_report_dated_in_2100_is_ignored() -> None:
    """A date far ahead of the clock is neither counted nor stored: counting goes on."""
    panels = PanelEnergy()
    assert not panels.report("A", YEAR_2100, 200, 300, DAY, now=T0)
    assert "A" not in panels.panels  # not even as a first report
    panels.report("A", T0, 200, 300, DAY, now=T0)
    assert not panels.report("A", YEAR_2100, 200, 300, DAY, now=T0 + 300)
    assert panels.panels["A"].last_report == T0
    assert panels.report("A", T0 + 300, 240, 300, DAY, now=T0 + 300)
    assert panels.panels["A"].lifetime == pytest.approx(240 * 300 / 3600)


def test_a_report_slightly_ahead_of_the_clock_counts() -> None:
    """An Envoy clock a little ahead of Home Assistant's (within FUTURE_SLACK) is fine."""
    panels = PanelEnergy()
    panels.report("A", T0 + FUTURE_SLACK, 200, 300, DAY, now=T0)
    assert panels.report("A", T0 + FUTURE_SLACK + 300, 240, 300, DAY, now=T0 + 300)
    assert panels.panels["A"].lifetime == pytest.approx(240 * 300 / 3600)
    beyond = T0 + 300 + FUTURE_SLACK + 1
    assert not panels.report("A", beyond, 240, 300, DAY, now=T0 + 300)


@pytest.mark.parametrize("when", [math.nan, math.inf, -math.inf])
def test_a_report_with_no_real_date_is_ignored(when: float) -> None:
    """A date that is not a number is garbage too."""
    panels = PanelEnergy()
    assert not panels.report("A", when, 200, 300, DAY, now=T0)
    panels.report("A", T0, 200, 300, DAY, now=T0)
    assert not panels.report("A", when, 200, 300, DAY, now=T0 + 300)
    assert panels.panels["A"].last_report == T0


def test_a_stored_report_in_the_future_is_recovered() -> None:
    """Stored by an earlier release: the next real report starts counting again."""
    stored = {"A": {"last_report": YEAR_2100, "lifetime": 50.0, "day": DAY, "day_start": 10.0}}
    panels = PanelEnergy.from_dict(stored, TAG)
    assert not panels.report("A", T0, 200, 300, DAY, now=T0)  # nothing known of the gap
    assert panels.panels["A"].last_report == T0
    assert panels.panels["A"].lifetime == 50.0
    assert panels.report("A", T0 + 300, 240, 300, DAY, now=T0 + 300)
    assert panels.panels["A"].lifetime == pytest.approx(50.0 + 240 * 300 / 3600)


def test_a_night_taken_for_the_interval_counts_nothing() -> None:
    """The overnight gap, even when believed as the report interval, adds nothing."""
    panels = PanelEnergy()
    panels.report("A", T0, 1, NIGHT, DAY, now=T0)
    assert not panels.report("A", T0 + NIGHT, 1, NIGHT, DAY, now=T0 + NIGHT)
    assert panels.panels["A"].lifetime == 0
    # On the longest real interval, three of them still count.
    longest = MAX_GAP_INTERVALS * MAX_REPORT_INTERVAL
    assert panels.report("A", T0 + NIGHT + longest, 1, NIGHT, DAY, now=T0 + NIGHT + longest)
    assert panels.panels["A"].lifetime == pytest.approx(longest / 3600)


@pytest.mark.parametrize(
    ("interval", "longest"),
    [
        (300, MAX_GAP_INTERVALS * 300),
        (MAX_REPORT_INTERVAL, MAX_GAP_INTERVALS * MAX_REPORT_INTERVAL),
        (NIGHT, MAX_GAP_INTERVALS * MAX_REPORT_INTERVAL),
        (math.inf, MAX_GAP_INTERVALS * MAX_REPORT_INTERVAL),
        (0, 0),
        (-300, 0),
        (math.nan, 0),
    ],
)
def test_longest_counted_gap(interval: float, longest: float) -> None:
    """The interval counts up to the longest real one; a meaningless one counts no gap."""
    assert longest_counted_gap(interval) == longest


def test_the_scheduler_never_believes_a_night_is_the_interval() -> None:
    """Set up at night, the first morning reports measure the night: at most an hour."""
    scheduler = PollScheduler(60)
    scheduler.inverters_seen(T0, {"A": T0 - 60, "B": T0 - 50})
    assert scheduler.inverters_seen(T0 + NIGHT, {"A": T0 + NIGHT - 60, "B": T0 + NIGHT - 50})
    assert scheduler.interval == MAX_REPORT_INTERVAL


def test_a_panel_never_has_more_today_than_the_site() -> None:
    """The increment is cut so that the panel's today stays at the site's; lifetime too."""
    panels = PanelEnergy()
    panels.report("A", T0, 600, 300, DAY, now=T0)
    site_today = 30.0  # below the 50 Wh that 600 W over 300 s would make
    assert panels.report("A", T0 + 300, 600, 300, DAY, now=T0 + 300, site_today=site_today)
    assert panels.panels["A"].today() == site_today
    assert panels.panels["A"].lifetime == site_today
    # The site did not move: the panel cannot either.
    assert not panels.report("A", T0 + 600, 600, 300, DAY, now=T0 + 600, site_today=site_today)
    assert panels.panels["A"].today() == site_today
    # A site's today below the panel's (the site's counter held back) takes nothing away.
    assert not panels.report("A", T0 + 900, 600, 300, DAY, now=T0 + 900, site_today=0)
    assert panels.panels["A"].today() == site_today
    # Unknown: counted as reported.
    assert panels.report("A", T0 + 1200, 600, 300, DAY, now=T0 + 1200, site_today=None)
    assert panels.panels["A"].today() == pytest.approx(site_today + 600 * 300 / 3600)


def test_a_site_today_that_is_not_a_number_counts_nothing() -> None:
    """NaN for the site's today cannot poison a panel."""
    panels = PanelEnergy()
    panels.report("A", T0, 600, 300, DAY, now=T0)
    assert not panels.report("A", T0 + 300, 600, 300, DAY, now=T0 + 300, site_today=math.nan)
    assert panels.panels["A"].lifetime == 0
