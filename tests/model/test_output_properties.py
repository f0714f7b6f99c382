"""Property tests of the panels' output watch (model/output.py) over days no one chose.

- Clouds of any kind (a site-wide share of a clear day anywhere in (0, 1] each day, dull days
  included, each panel within the simulator's Weather jitter of it), any fixed shade and
  orientation (the simulator's PanelCharacter), 3 to 40 panels and up to 40 days, and no
  panel losing output: no panel is ever found underperforming. A panel's share then stays
  within a factor ((1 - jitter) / (1 + jitter)) ** 2 of its normal, above LOW_SHARE.
- Whatever the days bring (any energy, 0, tiny and huge included; any reports; whole or
  not; missing panels; days in any order, repeated; restarts), judging never fails, a day
  at or before the latest judged is never judged again, only whole panels that reported
  all day are judged and at least MIN_PANELS of them, and what is stored is plain JSON that
  comes back as it was (shares to four digits).
- Energies whose ratio or sum go beyond a float do not come back: the two tests at the end
  show it (expected to fail until output.py keeps them within a float).
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.enphase_envoy_legacy.model.output import (
    DAY_WH_LIMIT,
    LOW_SHARE,
    MIN_PANELS,
    DayOutput,
    OutputWatch,
)
from tests.simulator.character import PanelCharacter, Weather, panel_factor
from tests.simulator.rhythm import PACIFIC, energy_wh, solar_day

TAG = "entry 123456"
FIRST = date(2026, 6, 1)
JITTER = Weather().jitter
# A clear day's energy of a south-facing panel rated 250 W, as the simulator makes it.
MIDNIGHT = datetime.combine(FIRST, datetime.min.time(), PACIFIC).timestamp()
CLEAR_WH = energy_wh(solar_day(225.0), MIDNIGHT, MIDNIGHT + 86400)
REPORTS = 156  # every 5 minutes in daylight


def test_the_weathers_jitter_leaves_a_normal_share_above_low() -> None:
    """The premise of the first property: the worst a panel's own clouds do is not low."""
    assert ((1 - JITTER) / (1 + JITTER)) ** 2 > LOW_SHARE


@dataclass(frozen=True)
class Sky:
    """The site's panels, and its days: each day's clouds and each panel's own spread."""

    characters: list[PanelCharacter]
    days: list[tuple[float, list[float]]]


@st.composite
def skies(draw: st.DrawFn) -> Sky:
    """Return 3 to 40 panels of any shade and orientation, and up to 40 days of any clouds."""
    count = draw(st.integers(min_value=3, max_value=40))
    share = st.floats(min_value=0.2, max_value=1.0)
    characters = draw(
        st.lists(
            st.builds(PanelCharacter, orientation=share, shade=share),
            min_size=count,
            max_size=count,
        )
    )
    # Down to 1e-300 of a clear day: below, a panel's energy would be a subnormal float,
    # whose few digits are no day's output.
    clouds = st.one_of(
        st.floats(min_value=0.3, max_value=1.0),
        st.floats(min_value=1e-300, max_value=1.0),
        st.sampled_from([1.0, 0.4, 0.05, 1e-9]),
    )
    spread = st.floats(min_value=1 - JITTER, max_value=1 + JITTER)
    length = draw(st.integers(min_value=0, max_value=40))
    days = draw(
        st.lists(
            st.tuples(clouds, st.lists(spread, min_size=count, max_size=count)),
            min_size=length,
            max_size=length,
        )
    )
    return Sky(characters, days)


@settings(max_examples=300)
@given(sky=skies())
def test_no_panel_is_found_without_a_loss(sky: Sky) -> None:
    """Clouds, shade and orientation alone never make a panel underperform."""
    watch = OutputWatch()
    for index, (clouds, spreads) in enumerate(sky.days):
        day = FIRST + timedelta(days=index)
        outputs = {
            f"panel {number}": DayOutput(
                energy=CLEAR_WH * panel_factor(character, day, clouds=clouds, spread=spread),
                reports=REPORTS,
            )
            for number, (character, spread) in enumerate(zip(sky.characters, spreads, strict=True))
        }
        watch.judge(day.isoformat(), outputs)
        assert not watch.found, (day, watch.panels)


# --- hostile days ----------------------------------------------------------------------------

SERIALS = ("A", "B", "C", "D", "E")
DAYS = [(FIRST + timedelta(days=index)).isoformat() for index in range(45)]


@dataclass(frozen=True)
class Restart:
    """Home Assistant restarts: the watch comes back from what was stored."""


@dataclass(frozen=True)
class Day:
    """A day's outputs, ``step`` days after the one before (0: the same, below: back)."""

    step: int
    outputs: dict[str, DayOutput]


# Any energy a day of a panel may be given: 0, negative, tiny and huge ones included.
energies = st.one_of(
    st.floats(min_value=1.0, max_value=5e4),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -1.0, 5e-324, 1e-9, 1e9, 1.7e308]),
)
reports = st.one_of(st.just(REPORTS), st.integers(min_value=0, max_value=400))
# Days in order most of the time, any day of the range otherwise (back, repeated, ahead).
steps = st.one_of(st.just(1), st.just(1), st.integers(min_value=-3, max_value=3))


@st.composite
def histories(draw: st.DrawFn) -> list[Day | Restart]:
    """Return days of five panels, each with an energy of its own that it may lose half of.

    Now and then a panel's day is any energy, any reports, not whole, or missing.
    """
    bases = draw(st.lists(energies, min_size=len(SERIALS), max_size=len(SERIALS)))
    lost_from = draw(
        st.lists(
            st.integers(min_value=0, max_value=60), min_size=len(SERIALS), max_size=len(SERIALS)
        )
    )
    events: list[Day | Restart] = []
    for index in range(draw(st.integers(min_value=0, max_value=50))):
        if draw(st.integers(min_value=0, max_value=9)) == 0:
            events.append(Restart())
            continue
        outputs: dict[str, DayOutput] = {}
        for serial, base, lost in zip(SERIALS, bases, lost_from, strict=True):
            energy = base * draw(st.floats(min_value=0.97, max_value=1.03))
            energy = energy / 2 if index >= lost else energy
            # Mostly a usual day; otherwise any energy, any reports, not whole, or missing.
            match draw(st.integers(min_value=0, max_value=15)):
                case 0:
                    outputs[serial] = DayOutput(energy=draw(energies), reports=REPORTS)
                case 1:
                    outputs[serial] = DayOutput(energy=energy, reports=draw(reports))
                case 2:
                    outputs[serial] = DayOutput(energy=energy, reports=REPORTS, whole=False)
                case 3:
                    continue
                case _:
                    outputs[serial] = DayOutput(energy=energy, reports=REPORTS)
        events.append(Day(draw(steps), outputs))
    return events


def stored(watch: OutputWatch) -> Any:
    """Return what is stored, through plain JSON (no NaN, no infinity) as a store keeps it."""
    return json.loads(json.dumps(watch.as_dict(), allow_nan=False))


def check_restored(watch: OutputWatch, restored: OutputWatch) -> None:
    """Check that the restored watch has the same panels, normals and days (rounded)."""
    assert restored.judged == watch.judged
    assert restored.days == {day: round(wh, 1) for day, wh in watch.days.items()}
    assert restored.panels.keys() == watch.panels.keys()
    assert restored.found.keys() == watch.found.keys()
    for serial, panel in watch.panels.items():
        again = restored.panels[serial]
        assert again.shares == [round(share, 4) for share in panel.shares]
        assert again.low == [round(share, 4) for share in panel.low]
        assert (again.since, again.raised, again.back) == (panel.since, panel.raised, panel.back)
        normal = panel.normal
        if normal is None:
            assert again.normal is None
        else:
            # Four digits, or a float's own precision for a share beyond them.
            assert again.normal == pytest.approx(normal, rel=1e-12, abs=0.5e-4)


def check_judged(
    watch: OutputWatch, day: str, given: dict[str, DayOutput], judged: frozenset[str]
) -> None:
    """Check a day judged: whole panels that reported all day, enough of them, and found."""
    assert judged <= {serial for serial, output in given.items() if output.whole}
    assert not judged or len(judged) >= MIN_PANELS
    assert all(given[serial].reports > 0 for serial in judged)
    assert all(watch.panels[serial].latest is not None for serial in judged)
    assert watch.found.keys() <= watch.panels.keys()
    assert all(watch.panels[serial].raised for serial in watch.found)
    assert day in watch.days


@settings(max_examples=300)
@given(events=histories())
def test_any_days_keep_every_promise(events: list[Day | Restart]) -> None:
    """Any energies and reports, days in any order: judged once, stored and back as it was."""
    watch = OutputWatch()
    index = 0
    for event in events:
        if isinstance(event, Restart):
            restored = OutputWatch.from_dict(stored(watch), TAG)
            check_restored(watch, restored)
            watch = restored
            continue
        index = min(max(index + event.step, 0), len(DAYS) - 1)
        day = DAYS[index]
        latest = watch.judged
        before = watch.as_dict()
        judged = watch.judge(day, event.outputs)
        if latest is not None and day <= latest:
            # Judged already, or older than a day judged: nothing moves.
            assert judged == frozenset()
            assert watch.as_dict() == before
            continue
        assert watch.judged == day
        check_judged(watch, day, event.outputs, judged)
    check_restored(watch, OutputWatch.from_dict(stored(watch), TAG))


# --- what does not come back ---------------------------------------------------------------


def test_a_median_of_next_to_nothing_is_not_judged() -> None:
    """A day whose median panel made next to nothing: no share (it would overflow) is taken."""
    watch = OutputWatch()
    tiny = math.ulp(0.0)
    judged = watch.judge(
        DAYS[0],
        {
            "A": DayOutput(energy=0.0, reports=REPORTS),
            "B": DayOutput(energy=tiny, reports=REPORTS),
            "C": DayOutput(energy=1.0, reports=REPORTS),
        },
    )
    assert judged == frozenset()
    check_restored(watch, OutputWatch.from_dict(stored(watch), TAG))


def test_energies_beyond_a_microinverter_come_back() -> None:
    """Days beyond what a microinverter makes (or below nothing) are bounded, and stored."""
    watch = OutputWatch()
    huge = sys.float_info.max / 2
    outputs = {serial: DayOutput(energy=huge, reports=REPORTS) for serial in SERIALS}
    outputs[SERIALS[0]] = DayOutput(energy=-huge, reports=REPORTS)
    assert watch.judge(DAYS[0], outputs) == frozenset(SERIALS)
    assert watch.panels[SERIALS[0]].latest == 0.0
    assert watch.days[DAYS[0]] == DAY_WH_LIMIT * (len(SERIALS) - 1)
    check_restored(watch, OutputWatch.from_dict(stored(watch), TAG))
