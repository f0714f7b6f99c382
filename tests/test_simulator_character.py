"""The simulator's panels with a character of their own (character.py), read over real HTTP.

Each inverter reports its share of the site's power times its factor on the local day: where
it faces, a fixed shade, an output lost from some day until repaired, the day's clouds and a
little of its own. Production follows the reports; without character nothing changes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import sys
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo
from typing import Any

import aiohttp
import pytest
from freezegun.api import FrozenDateTimeFactory

from custom_components.enphase_envoy_legacy.model.output import BASELINE_DAYS
from tests.helpers import NOON
from tests.simulator import CAPTURES, PATH_INVERTERS, PATH_PRODUCTION, EnvoySimulator, Rhythm
from tests.simulator.__main__ import _character, _with_character
from tests.simulator.character import (
    BROKEN,
    DEMO_LOSS,
    DEMO_ROWS,
    DEMO_SHADE,
    OVERCAST,
    PLAIN,
    PanelCharacter,
    Weather,
    demo_characters,
    demo_loss_day,
    factors,
    panel_factor,
)
from tests.simulator.rhythm import PACIFIC, Power, midnight_before, solar_day
from tests.test_simulator_cli import read
from tests.test_simulator_rhythm import true_energy

CAPTURE = "D5.0.62"
CAPTURED = json.loads((CAPTURES / CAPTURE / "api_v1_production_inverters.json").read_text())
COUNT = len(CAPTURED)
MAX_TOTAL = sum(record["maxReportWatts"] for record in CAPTURED)
SHARES = [record["maxReportWatts"] / MAX_TOTAL for record in CAPTURED]
START = NOON.timestamp()  # 12:00 in US/Pacific
TODAY = NOON.astimezone(PACIFIC).date()
TOMORROW = TODAY + timedelta(days=1)
OPTIONS = {
    "report_interval": 0.0,
    "metered": False,
    "power": None,
    "site_time": None,
    "capture": CAPTURE,
    "inverters": None,
    "character": False,
}


def args(**changes: Any) -> argparse.Namespace:
    """Return the command line's options, as parsed, with these changes."""
    return argparse.Namespace(**{**OPTIONS, **changes})


def expected_watts(records: list[dict[str, Any]], day: list[float], power: Power) -> list[int]:
    """Return what each record's report says: its share of the power times its factor."""
    return [
        round(share * factor * power(record["lastReportDate"]))
        for share, factor, record in zip(SHARES, day, records, strict=True)
    ]


def test_a_panels_character_over_its_life() -> None:
    """Orientation and shade hold every day; a loss from its day on, until repaired."""
    repaired = TOMORROW + timedelta(days=3)
    character = PanelCharacter(
        orientation=0.8, shade=0.7, loss=0.35, lost_from=TOMORROW, repaired=repaired
    )
    clear = character.orientation * character.shade
    days = [TOMORROW + timedelta(days=shift) for shift in range(-1, 5)]
    assert [character.degraded(day) for day in days] == [False, True, True, True, False, False]
    assert character.factor(TODAY) == clear
    assert character.factor(TOMORROW) == pytest.approx(clear * (1 - character.loss))
    assert character.factor(repaired) == clear
    never = PanelCharacter(loss=0.5, lost_from=TODAY)
    assert never.factor(TODAY + timedelta(days=3650)) == 1 - never.loss
    assert not PLAIN.degraded(TODAY)
    assert panel_factor(character, TODAY, clouds=0.5, spread=1.02) == pytest.approx(
        clear * 0.5 * 1.02
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"orientation": 0.0},
        {"orientation": -0.8},
        {"orientation": math.nan},
        {"orientation": math.inf},
        {"shade": 0.0},
        {"shade": 1.2},
        {"shade": math.nan},
        {"loss": -0.1},
        {"loss": 1.1},
        {"loss": math.nan},
        {"loss": 0.3, "repaired": TODAY},
        {"loss": 0.3, "lost_from": TODAY, "repaired": TODAY},
    ],
)
def test_a_character_no_panel_can_have(changes: dict[str, Any]) -> None:
    """A yield of 0 or less, a shade or loss outside a share, a repair before a loss: refused."""
    with pytest.raises(ValueError, match=r"panel|shade|loss"):
        PanelCharacter(**changes)


@pytest.mark.parametrize(
    "changes",
    [{"dull": -0.1}, {"dull": 1.5}, {"dullest": 0.0}, {"dullest": OVERCAST}, {"jitter": 1.0}],
)
def test_weather_that_is_no_share_of_a_clear_day(changes: dict[str, Any]) -> None:
    """Dull days, the dullest and a panel's own clouds are shares: anything else is refused."""
    with pytest.raises(ValueError, match="share"):
        Weather(**changes)


def test_weather_is_the_same_for_a_seed_and_within_its_bounds() -> None:
    """A seed gives the same clouds on every run: overcast on about its share of days."""
    weather = Weather(seed=7)
    days = [TODAY + timedelta(days=shift) for shift in range(365)]
    clouds = [weather.clouds(day) for day in days]
    assert clouds == [Weather(seed=7).clouds(day) for day in days]
    assert clouds != [Weather(seed=8).clouds(day) for day in days]
    assert all(weather.dullest <= cloud < OVERCAST or BROKEN <= cloud <= 1 for cloud in clouds)
    # Binomial: within five standard deviations of the share asked for.
    dull = sum(cloud < OVERCAST for cloud in clouds)
    mean = weather.dull * len(days)
    assert abs(dull - mean) < 5 * math.sqrt(mean * (1 - weather.dull))
    assert all(Weather(dull=0).clouds(day) >= BROKEN for day in days)
    assert all(Weather(dull=1).clouds(day) < OVERCAST for day in days)
    spreads = [weather.spread(day, panel) for day in days[:30] for panel in range(COUNT)]
    assert all(abs(spread - 1) <= weather.jitter for spread in spreads)
    assert len(set(spreads)) == len(spreads)  # each panel its own, each day
    assert Weather(jitter=0).spread(TODAY, 3) == 1


def test_factors_of_a_site() -> None:
    """Each record's factor: its character times the clouds; panels beyond the list are plain."""
    characters = [PanelCharacter(orientation=0.8), PanelCharacter(shade=0.6, loss=0.3)]
    clear = [character.orientation * character.shade for character in characters]
    assert factors(characters, None, TODAY, 4) == [*clear, 1.0, 1.0]
    assert factors(characters, None, TODAY, 1) == clear[:1]
    assert factors(None, None, TODAY, 3) == [1.0] * 3
    weather = Weather(seed=3)
    clouds = weather.clouds(TODAY)
    cloudy = factors(characters, weather, TODAY, 3)
    assert cloudy == pytest.approx(
        [
            factor * clouds * weather.spread(TODAY, index)
            for index, factor in enumerate([*clear, 1.0])
        ]
    )


@pytest.mark.parametrize("count", [1, 2, 3, 40, 41])
def test_the_demo_site(count: int) -> None:
    """Rows east, south, west in record order; panel 1 shaded; the middle one losing later."""
    characters = demo_characters(count, TODAY)
    rows = [character.orientation for character in characters]
    assert rows == sorted(rows, key=DEMO_ROWS.index)
    assert set(rows) == set(DEMO_ROWS[:count])
    assert max(rows.count(row) for row in set(rows)) - min(map(rows.count, set(rows))) <= 1
    assert [index for index, one in enumerate(characters) if one.shade != 1] == [0]
    assert characters[0].shade == DEMO_SHADE
    losing = [index for index, one in enumerate(characters) if one.loss]
    assert losing == [count // 2]
    assert characters[count // 2].loss == DEMO_LOSS
    assert characters[count // 2].lost_from == demo_loss_day(TODAY)
    assert characters[count // 2].repaired is None
    assert demo_characters(0, TODAY) == []


def test_the_demo_loses_after_the_normal_is_learnt() -> None:
    """The integration learns each panel's normal first: a first day not whole, then its days."""
    assert (demo_loss_day(TODAY) - TODAY).days > BASELINE_DAYS + 1


def test_command_line_character() -> None:
    """--character gives the rhythm (or a 300 s one) the demo site, one panel per inverter."""
    assert _with_character(args(), None, START) is None
    plain = Rhythm(interval=60.0)
    assert _with_character(args(), plain, START) is plain
    assert _character(plain) == ""
    rhythm = _with_character(args(character=True), None, START)
    assert rhythm is not None
    assert rhythm.interval == 300
    assert rhythm.tz is PACIFIC
    assert rhythm.characters == demo_characters(COUNT, TODAY)
    assert rhythm.weather == Weather()
    assert _character(rhythm).endswith(
        f"panel {COUNT // 2 + 1} loses {DEMO_LOSS:.0%} from {demo_loss_day(TODAY)})"
    )
    seven = _with_character(args(character=True, inverters=7), plain, START)
    assert seven is not None
    assert seven.interval == plain.interval
    assert seven.characters == demo_characters(7, TODAY)
    assert plain.characters is None  # the rhythm given is left alone


async def test_reports_follow_each_panels_factor(
    socket_enabled: None, freezer: FrozenDateTimeFactory
) -> None:
    """Each report is its share times its factor; production adds what the reports carry."""
    characters = demo_characters(COUNT, TODAY)
    losing = COUNT // 2
    characters[losing] = replace(characters[losing], lost_from=TOMORROW)
    weather = Weather(seed=5)
    freezer.move_to(NOON + timedelta(seconds=100))
    rhythm = Rhythm(characters=characters, weather=weather)
    async with EnvoySimulator(CAPTURE, rhythm=rhythm) as simulator, aiohttp.ClientSession() as s:
        power = simulator.power
        assert power is not None
        host, serial = simulator.host, simulator.serial
        today = factors(characters, weather, TODAY, COUNT)
        records = await read(s, host, serial, PATH_INVERTERS)
        assert [record["lastReportWatts"] for record in records] == expected_watts(
            records, today, power
        )
        production = await read(s, host, serial, PATH_PRODUCTION)
        assert production["wattsNow"] == sum(record["lastReportWatts"] for record in records)

        # 18:00: the six hours' reports counted each panel's energy at its factor.
        freezer.move_to(NOON + timedelta(hours=6, seconds=100))
        later = await read(s, host, serial, PATH_INVERTERS)
        evening = await read(s, host, serial, PATH_PRODUCTION)
        carried = sum(
            share * factor * true_energy(power, before["lastReportDate"], after["lastReportDate"])
            for share, factor, before, after in zip(SHARES, today, records, later, strict=True)
        )
        gained = evening["wattHoursLifetime"] - production["wattHoursLifetime"]
        assert gained == pytest.approx(carried, rel=0.002)

        # The next noon: tomorrow's clouds, and the middle panel lost its share.
        freezer.move_to(NOON + timedelta(days=1, seconds=100))
        records = await read(s, host, serial, PATH_INVERTERS)
        tomorrow = factors(characters, weather, TOMORROW, COUNT)
        assert [record["lastReportWatts"] for record in records] == expected_watts(
            records, tomorrow, power
        )
        assert tomorrow[losing] == pytest.approx(
            characters[losing].orientation
            * (1 - DEMO_LOSS)
            * weather.clouds(TOMORROW)
            * weather.spread(TOMORROW, losing)
        )
        midnight = midnight_before(records[0]["lastReportDate"], PACIFIC)
        produced = sum(
            share * factor * true_energy(power, midnight, record["lastReportDate"])
            for share, factor, record in zip(SHARES, tomorrow, records, strict=True)
        )
        answer = await read(s, host, serial, PATH_PRODUCTION)
        assert answer["wattHoursToday"] == pytest.approx(produced, rel=0.002)


async def test_plain_panels_report_as_without_character(
    socket_enabled: None, freezer: FrozenDateTimeFactory
) -> None:
    """Plain characters and no weather: the very answers of a site without character."""
    freezer.move_to(NOON + timedelta(seconds=100))
    plain = Rhythm(characters=[PLAIN] * COUNT)
    async with (
        EnvoySimulator(CAPTURE, rhythm=Rhythm()) as without,
        EnvoySimulator(CAPTURE, rhythm=plain) as simulator,
        aiohttp.ClientSession() as session,
    ):
        for seconds in (100, 4000, 30_000, 86_400 + 100):
            freezer.move_to(NOON + timedelta(seconds=seconds))
            for path in (PATH_INVERTERS, PATH_PRODUCTION):
                assert await read(session, simulator.host, simulator.serial, path) == await read(
                    session, without.host, without.serial, path
                )


def banner_zone(banner: str) -> tzinfo:
    """Return the site's zone the simulator's banner names (``UTC``, ``UTC-04:00``...)."""
    match = re.search(r"there now \(UTC([+-]\d\d:\d\d)?\)", banner)
    assert match is not None, banner
    zone = datetime.strptime(match.group(1) or "+00:00", "%z").tzinfo
    assert zone is not None
    return zone


async def test_command_line_character_site(socket_enabled: None) -> None:
    """The command scripts/develop runs with ENVOY_CHARACTER=1 serves the demo site."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.simulator",
        "--port",
        "0",
        "--report-interval",
        "60",
        "--site-time",
        "12:00",
        "--character",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        host = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().split()[-1]
        serial = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().split()[-1]
        async with aiohttp.ClientSession() as session:
            records = await read(session, host, serial, PATH_INVERTERS)
    finally:
        process.terminate()
        await process.wait()
    zone = banner_zone(banner)
    start = datetime.fromtimestamp(records[0]["lastReportDate"], zone).date()
    assert f"loses {DEMO_LOSS:.0%} from {demo_loss_day(start)}" in banner
    day = factors(demo_characters(COUNT, start), Weather(), start, COUNT)
    power = solar_day(0.9 * MAX_TOTAL, tz=zone)
    assert [record["lastReportWatts"] for record in records] == expected_watts(records, day, power)
