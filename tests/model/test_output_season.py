"""Two months of a simulated site: the panel that loses output is found in days, and no other.

Forty panels (a capture's records) in three rows, one always shaded, under clouds every day
(the simulator's character and weather), report every 5 minutes in daylight along the
simulator's solar day. Their reports go to the real ``PanelEnergy.count``, and each local
midnight the day is judged exactly as ``Site._start_day`` does. One panel loses 35 % from
day LOST until it is repaired on day REPAIRED.

The panels' own clouds stay within ±JITTER, so a panel's share moves by a factor within
((1 - JITTER) / (1 + JITTER)) ** 2 of its normal at worst: above LOW_SHARE (no panel
found wrongly) and BACK_SHARE (the repaired panel is back at once), while the loss stays
below LOW_SHARE (the losing panel is low on every judged day).
"""

from __future__ import annotations

import copy
import json
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from custom_components.enphase_envoy_legacy.model.output import (
    BACK_DAYS,
    BACK_SHARE,
    LOW_DAYS,
    LOW_SHARE,
    OutputWatch,
    Underperformance,
)
from custom_components.enphase_envoy_legacy.model.panels import PanelEnergy
from tests.simulator import CAPTURES
from tests.simulator.character import DEMO_ROWS, PanelCharacter, Weather
from tests.simulator.rhythm import PACIFIC, Rhythm, Site, clone_inverters

CAPTURED = json.loads((CAPTURES / "D5.0.62" / "api_v1_production_inverters.json").read_text())
PANELS = 40
DAYS = 60
FIRST = date(2026, 3, 1)  # a week before the clocks change
LOST, REPAIRED = 40, 50  # day indices
LOSS = 0.35
SHADE = 0.6
SHADED, LOSING = 3, 20  # record indices: an east panel, a south one
JITTER = 0.02
INTERVAL = 300.0
# Reports in daylight only (the solar day's sunrise and sunset), a little after each burst.
SUNRISE, SUNSET = time(6, 30), time(19, 30)
AFTER_BURST = 10.0
# A judged day's share that would pass for normal, and the loss seen through the clouds.
WORST = ((1 - JITTER) / (1 + JITTER)) ** 2
assert WORST >= BACK_SHARE > LOW_SHARE > (1 - LOSS) / WORST


def character(index: int) -> PanelCharacter:
    """Return record ``index``'s character: its row, the shade, the loss until repaired."""
    losing = index == LOSING
    return PanelCharacter(
        orientation=DEMO_ROWS[index * len(DEMO_ROWS) // PANELS],
        shade=SHADE if index == SHADED else 1.0,
        loss=LOSS if losing else 0.0,
        lost_from=FIRST + timedelta(days=LOST) if losing else None,
        repaired=FIRST + timedelta(days=REPAIRED) if losing else None,
    )


@dataclass
class Season:
    """What the site's days came to: each judged day's panels, and who was found after it."""

    serials: list[str]
    characters: list[PanelCharacter]
    watch: OutputWatch
    judged: dict[int, frozenset[str]] = field(default_factory=dict)  # day index: panels
    # Day index: the panels underperforming once it was judged (or not).
    found: dict[int, dict[str, Underperformance]] = field(default_factory=dict)

    def judged_days(self, start: int, serial: str) -> list[int]:
        """Return the days from ``start`` on on which ``serial`` was judged."""
        return [
            day for day, panels in sorted(self.judged.items()) if day >= start and serial in panels
        ]


def daylight(day: date) -> list[float]:
    """Return the poll times of a local day: just after each burst from sunrise to sunset."""
    start = datetime.combine(day, SUNRISE, PACIFIC).timestamp()
    end = datetime.combine(day, SUNSET, PACIFIC).timestamp()
    count = int((end - start) // INTERVAL)
    return [start + step * INTERVAL + AFTER_BURST for step in range(1, count)]


def judge(panels: PanelEnergy, watch: OutputWatch, day: str) -> frozenset[str]:
    """Start ``day`` as ``Site._start_day`` does: judge the day it ends, then start it."""
    ended, outputs = panels.ending(day)
    judged: frozenset[str] = frozenset()
    if ended is not None:
        judged = watch.judge(ended, outputs)
    panels.start_day(day)
    return judged


def simulate() -> Season:
    """Run the two months; return what was judged and found."""
    records: list[dict[str, Any]] = copy.deepcopy(clone_inverters(CAPTURED, PANELS))
    characters = [character(index) for index in range(PANELS)]
    weather = Weather(seed=24, jitter=JITTER)
    # Every inverter reports at the burst's start (spread 0): one event a burst, fast.
    rhythm = Rhythm(interval=INTERVAL, spread=0.0, characters=characters, weather=weather)
    production: dict[str, Any] = {}
    midnight = datetime.combine(FIRST, time(), PACIFIC).timestamp()
    site = Site(rhythm, records, production, midnight)
    serials = [str(record["serialNumber"]) for record in records]
    panels = PanelEnergy()
    season = Season(serials, characters, OutputWatch())
    for index in range(DAYS + 1):
        day = FIRST + timedelta(days=index)
        judged = judge(panels, season.watch, day.isoformat())
        if judged:
            season.judged[index - 1] = judged
        if index:
            season.found[index - 1] = dict(season.watch.found)
        if index == DAYS:
            break
        for now in daylight(day):
            site.advance(now)
            reports = {
                serial: (float(record["lastReportDate"]), int(record["lastReportWatts"]))
                for serial, record in zip(serials, records, strict=True)
            }
            panels.count(
                reports,
                INTERVAL,
                day.isoformat(),
                now=now,
                site_today=float(production["wattHoursToday"]),
            )
    return season


@pytest.fixture(scope="module")
def season() -> Season:
    """Return the two months simulated (once for this module's tests)."""
    return simulate()


def test_the_losing_panel_is_found_within_four_judged_days(season: Season) -> None:
    """Found on its LOW_DAYS-th judged day low, within four judged days of the loss."""
    losing = season.serials[LOSING]
    low = season.judged_days(LOST, losing)
    assert len(low) >= 4
    assert low[3] < REPAIRED
    found = [day for day in low if losing in season.found[day]]
    assert found[0] == low[LOW_DAYS - 1]
    assert found[0] <= low[3]
    assert all(losing in season.found[day] for day in range(found[0], REPAIRED))
    # What the repair says: low since the loss, at about 1 - LOSS of the normal it had.
    said = season.found[found[0]][losing]
    assert said.since == (FIRST + timedelta(days=low[0])).isoformat()
    assert WORST * (1 - LOSS) <= said.recent / said.normal <= (1 - LOSS) / WORST
    before = FIRST + timedelta(days=LOST - 1)
    clear = [one.factor(before) for one in season.characters]
    expected = clear[LOSING] / statistics.median(clear)
    assert WORST * expected <= said.normal <= expected / WORST


def test_no_other_panel_is_ever_found(season: Season) -> None:
    """Neither the shaded panel nor any row is found on any day; the losing one only once low."""
    losing = season.serials[LOSING]
    assert sorted(season.found) == list(range(DAYS))
    assert all(found.keys() <= {losing} for found in season.found.values())
    assert not any(found for day, found in season.found.items() if day < LOST)
    # Every panel reported all day, every day: each judged day judged them all.
    assert all(panels == set(season.serials) for panels in season.judged.values())


def test_the_repaired_panel_clears_after_two_judged_days_back(season: Season) -> None:
    """Back at its normal from the repair: cleared on the BACK_DAYS-th judged day, for good."""
    losing = season.serials[LOSING]
    back = season.judged_days(REPAIRED, losing)
    assert len(back) >= BACK_DAYS
    cleared = back[BACK_DAYS - 1]
    assert all(losing in season.found[day] for day in range(REPAIRED - 1, cleared))
    assert not any(season.found[day] for day in range(cleared, DAYS))


def test_the_shaded_panels_normal_is_its_shade_against_the_median(season: Season) -> None:
    """A shaded panel's normal is its factor over the median panel's, up to the clouds."""
    day = FIRST + timedelta(days=DAYS - 1)
    clear = [one.factor(day) for one in season.characters]
    expected = clear[SHADED] / statistics.median(clear)
    normal = season.watch.panels[season.serials[SHADED]].normal
    assert normal is not None
    assert WORST * expected <= normal <= expected / WORST
    assert season.watch.panels[season.serials[SHADED]].relative() is not None


def test_every_day_had_clouds_and_some_were_too_dull_to_judge(season: Season) -> None:
    """Clouds on every day, some dull enough not to be judged: the rules were put to work."""
    weather = Weather(seed=24, jitter=JITTER)
    clouds = [weather.clouds(FIRST + timedelta(days=index)) for index in range(DAYS)]
    assert all(cloud < 1 for cloud in clouds)
    # The first day is not whole; some others too dull: at least one of those.
    assert 0 not in season.judged
    assert set(range(1, DAYS)) - set(season.judged)
