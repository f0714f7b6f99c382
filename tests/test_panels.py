"""Per-panel energy and health rules, report by report (no Home Assistant, no network)."""

from __future__ import annotations

import pytest

from custom_components.enphase_envoy_legacy.panels import (
    MAX_GAP_INTERVALS,
    PanelEnergy,
    PanelState,
    reporting_count,
    reporting_problems,
)

T0 = 1_750_000_000.0
DAY = "2025-06-15"


def test_each_report_adds_its_interval() -> None:
    """The first report sets the start; each next one adds its power times its interval."""
    panels = PanelEnergy()
    assert panels.report("A", T0, 200, 300, DAY)
    assert panels.panels["A"].lifetime == 0
    assert panels.report("A", T0 + 300, 240, 300, DAY)
    assert panels.panels["A"].lifetime == pytest.approx(20.0)  # 240 W for 5 minutes
    assert not panels.report("A", T0 + 300, 240, 300, DAY)  # the same report again
    assert panels.report("A", T0 + 600, 120, 300, DAY)
    assert panels.panels["A"].lifetime == pytest.approx(30.0)
    assert panels.panels["A"].today() == pytest.approx(30.0)


def test_missed_reports_are_bridged_up_to_a_limit() -> None:
    """A missed report or two: the gap counts; longer gaps (restart, night) add nothing."""
    panels = PanelEnergy()
    panels.report("A", T0, 200, 300, DAY)
    panels.report("A", T0 + 600, 300, 300, DAY)  # one report missed
    assert panels.panels["A"].lifetime == pytest.approx(50.0)
    later = T0 + 600 + MAX_GAP_INTERVALS * 300 + 1
    assert not panels.report("A", later, 300, 300, DAY)
    assert panels.panels["A"].lifetime == pytest.approx(50.0)
    assert panels.panels["A"].last_report == later  # counting goes on from there
    assert panels.report("A", later + 300, 300, 300, DAY)
    assert panels.panels["A"].lifetime == pytest.approx(75.0)


def test_a_changed_report_interval() -> None:
    """After a change to 900 s, each report stands for 900 s."""
    panels = PanelEnergy()
    panels.report("A", T0, 200, 300, DAY)
    panels.report("A", T0 + 900, 200, 900, DAY)
    assert panels.panels["A"].lifetime == pytest.approx(50.0)


def test_zero_power_adds_nothing() -> None:
    """A report of 0 W (dusk) adds nothing but moves the start on."""
    panels = PanelEnergy()
    panels.report("A", T0, 10, 300, DAY)
    assert not panels.report("A", T0 + 300, 0, 300, DAY)
    assert panels.panels["A"].last_report == T0 + 300


def test_midnight_starts_today_again() -> None:
    """At a new local day, 'today' is zero and the lifetime goes on."""
    panels = PanelEnergy()
    panels.report("A", T0, 200, 300, DAY)
    panels.report("A", T0 + 300, 240, 300, DAY)
    assert panels.new_day("A", "2025-06-16")
    assert not panels.new_day("A", "2025-06-16")
    assert (panels.panels["A"].today(), panels.panels["A"].lifetime) == (0, pytest.approx(20.0))
    panels.report("A", T0 + 600, 120, 300, "2025-06-16")
    assert panels.panels["A"].today() == pytest.approx(10.0)


def test_restart_restores_without_loss_or_double_count() -> None:
    """What is stored comes back; a report already counted is not counted again."""
    panels = PanelEnergy()
    panels.report("A", T0, 200, 300, DAY)
    panels.report("A", T0 + 300, 240, 300, DAY)
    restored = PanelEnergy(panels.as_dict())
    assert restored.panels == panels.panels
    assert not restored.report("A", T0 + 300, 240, 300, DAY)
    assert restored.report("A", T0 + 600, 240, 300, DAY)
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
    ],
)
def test_malformed_memory_is_forgotten(stored: object) -> None:
    """Whatever is stored, counting starts; malformed panels start over."""
    assert PanelEnergy(stored).panels == {}


def test_stored_state_round_trip() -> None:
    """A panel's state survives storage as it is."""
    state = PanelState(last_report=T0, lifetime=12.5, day=DAY, day_start=2.5)
    assert (
        PanelState.from_dict({"last_report": T0, "lifetime": 12.5, "day": DAY, "day_start": 2.5})
        == state
    )


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
