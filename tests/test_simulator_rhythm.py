"""The simulator's report rhythm, read over real HTTP as an Envoy client would.

Time is moved with freezegun: the simulated Envoy catches up with the clock at each request
to the production and inverters endpoints, as a real one would have while nobody asked.
"""

from __future__ import annotations

import argparse
import bisect
import json
import threading
import time
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from freezegun.api import FrozenDateTimeFactory

from tests.helpers import NOON
from tests.simulator import (
    CAPTURES,
    PATH_INFO,
    PATH_INVERTERS,
    PATH_PRODUCTION,
    PATH_PRODUCTION_JSON,
    EnvoySimulator,
    Request,
    Rhythm,
    bursts,
    solar_day,
)
from tests.simulator.__main__ import _rhythm
from tests.simulator.rhythm import (
    Power,
    clone_inverters,
    energy_wh,
    iter_bursts,
    previous_burst,
)
from tests.simulator.thread import SimulatorThread

CAPTURE = "D5.0.62"
START = NOON.timestamp()  # 12:00 in US/Pacific; a burst starts (a multiple of 300 s)
CAPTURED = json.loads((CAPTURES / CAPTURE / "api_v1_production_inverters.json").read_text())
FIRST = min(record["lastReportDate"] for record in CAPTURED)
OFFSETS = [record["lastReportDate"] - FIRST for record in CAPTURED]
SERIALS = [record["serialNumber"] for record in CAPTURED]
MAX_TOTAL = sum(record["maxReportWatts"] for record in CAPTURED)
SHARES = [record["maxReportWatts"] / MAX_TOTAL for record in CAPTURED]
# Local midnight at the start of 21 June 2026 (US/Pacific is UTC-7 in summer).
MIDNIGHT = datetime(2026, 6, 21, 7, 0, tzinfo=UTC)
SUNSET = datetime(2026, 6, 22, 2, 30, tzinfo=UTC).timestamp()  # 19:30 local


class Reader:
    """Read a simulated Envoy over HTTP with Digest auth, as a plain aiohttp user would."""

    def __init__(self, simulator: EnvoySimulator, session: aiohttp.ClientSession) -> None:
        """Read from this simulator (user envoy, the serial's last six digits)."""
        self.simulator = simulator
        self.session = session
        self.auth = aiohttp.DigestAuthMiddleware("envoy", simulator.serial[-6:])

    async def raw(self, path: str) -> tuple[int, bytes]:
        """Return the status and body of a GET."""
        url = f"http://{self.simulator.host}{path}"
        async with self.session.get(url, middlewares=(self.auth,)) as response:
            return response.status, await response.read()

    async def __call__(self, path: str) -> Any:
        """Return the JSON answer of a path (which must answer 200)."""
        status, body = await self.raw(path)
        assert status == 200, (path, status, body[:200])
        return json.loads(body)


@pytest.fixture
async def session(socket_enabled: None) -> AsyncGenerator[aiohttp.ClientSession]:
    """Return a plain aiohttp session (loopback sockets allowed)."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def at(seconds: float) -> datetime:
    """Return NOON plus seconds."""
    return NOON + timedelta(seconds=seconds)


def dates(records: list[dict[str, Any]]) -> list[int]:
    """Return the lastReportDate of each record."""
    return [record["lastReportDate"] for record in records]


def true_energy(power: Power, start: float, end: float, step: float = 5.0) -> float:
    """Return ∫ power (Wh) by the midpoint rule, independent of the simulator's integration."""
    count = round((end - start) / step)
    width = (end - start) / count
    return sum(power(start + (index + 0.5) * width) for index in range(count)) * width / 3600


def test_burst_grid_and_interval_changes() -> None:
    """Bursts sit on the offset grid; a change applies from the first burst at or after it."""
    assert bursts(Rhythm(), START - 1, START + 901) == [
        START,
        START + 300,
        START + 600,
        START + 900,
    ]
    assert bursts(Rhythm(interval=900, offset=60), START, START + 1900) == [
        START + 60,
        START + 960,
        START + 1860,
    ]
    # 300 s until a change at +400 to 900 s: the burst at +300 is followed 300 s later (+600),
    # the first burst the change applies to, which is followed 900 s later.
    changed = Rhythm(interval_changes=[(START + 400, 900.0)])
    assert changed.interval_in_force(START + 399) == 300
    assert changed.interval_in_force(START + 400) == 900
    assert bursts(changed, START, START + 3000) == [
        START,
        START + 300,
        START + 600,
        START + 1500,
        START + 2400,
    ]
    assert previous_burst(changed, START + 1499) == START + 600
    assert previous_burst(changed, START + 1500) == START + 1500
    # A change landing on a burst applies to that burst; back to 300 s later on.
    twice = Rhythm(interval_changes=[(START + 600, 900.0), (START + 2000, 300.0)])
    assert bursts(twice, START + 1, START + 3100) == [
        START + 300,
        START + 600,
        START + 1500,
        START + 2400,
        START + 2700,
        START + 3000,
    ]
    generator = iter_bursts(twice, START + 2401)
    assert [next(generator) for _ in range(2)] == [START + 2700, START + 3000]


def test_solar_day_and_energy() -> None:
    """The default power is a clear day in US/Pacific: zero at night, peak at 13:00 local."""
    power = solar_day(8000)
    assert power(MIDNIGHT.timestamp()) == 0
    assert power(SUNSET + 60) == 0
    assert power(START + 3600) == pytest.approx(8000)  # 13:00 local, halfway 6:30-19:30
    assert 0 < power(START - 5 * 3600) < power(START)  # 07:00 local
    day = MIDNIGHT.timestamp()
    total = energy_wh(power, day, day + 86400)
    assert total == pytest.approx(true_energy(power, day, day + 86400, 1.0), rel=1e-4)
    assert 50_000 < total < 80_000  # 13 h of a bell peaking at 8 kW


async def test_bursts_every_interval_with_the_captures_spread(
    session: aiohttp.ClientSession, freezer: FrozenDateTimeFactory
) -> None:
    """Every 300 s each inverter reports at its own second of the capture's 59 s burst."""
    freezer.move_to(at(100))
    async with EnvoySimulator(CAPTURE, rhythm=Rhythm()) as simulator:
        read = Reader(simulator, session)
        records = await read(PATH_INVERTERS)
        # Placed on the burst at NOON with the capture's own offsets.
        assert dates(records) == [START + offset for offset in OFFSETS]
        assert max(dates(records)) - min(dates(records)) == 59
        power = simulator.power
        assert power is not None
        assert [record["lastReportWatts"] for record in records] == [
            round(share * power(START + offset))
            for share, offset in zip(SHARES, OFFSETS, strict=True)
        ]
        assert simulator.report_log == []

        # 30 s into the next burst: only the inverters with an offset up to 30 s reported.
        freezer.move_to(at(330))
        records = await read(PATH_INVERTERS)
        assert dates(records) == [
            START + 300 + offset if offset <= 30 else START + offset for offset in OFFSETS
        ]
        assert 0 < sum(offset <= 30 for offset in OFFSETS) < len(OFFSETS)

        freezer.move_to(at(659))
        records = await read(PATH_INVERTERS)
        assert dates(records) == [START + 600 + offset for offset in OFFSETS]
        offset_of = dict(zip(SERIALS, OFFSETS, strict=True))
        log = simulator.report_log
        assert len(log) == 2 * len(SERIALS)
        assert [when for when, _ in log] == sorted(when for when, _ in log)
        assert {when - offset_of[serial] for when, serial in log} == {START + 300, START + 600}

        # Non-metered: production moved at the report times, and production.json follows.
        assert simulator.production_changes == sorted({when for when, _ in log})
        assert not simulator.production_moves_continuously
        production = await read(PATH_PRODUCTION)
        assert production["wattsNow"] == sum(record["lastReportWatts"] for record in records)
        generated = await read(PATH_PRODUCTION_JSON)
        inverters = generated["production"][0]
        assert inverters["type"] == "inverters"
        assert inverters["activeCount"] == 40
        assert inverters["readingTime"] == START + 600 + 59
        assert inverters["wNow"] == production["wattsNow"]
        assert inverters["whLifetime"] == production["wattHoursLifetime"]
        assert [entry["type"] for entry in generated["production"]] == ["inverters"]
        assert generated["storage"][0]["type"] == "acb"  # kept from the capture


async def test_interval_change_from_300_to_900(
    session: aiohttp.ClientSession, freezer: FrozenDateTimeFactory
) -> None:
    """After Enphase sets 900 s, polls between bursts see the same records for 15 minutes."""
    rhythm = Rhythm(interval_changes=[(START + 400, 900.0)])
    freezer.move_to(at(100))
    async with EnvoySimulator(CAPTURE, rhythm=rhythm) as simulator:
        read = Reader(simulator, session)
        seen: list[int] = []
        for second in range(100, 2600, 60):
            freezer.move_to(at(second))
            first = (await read(PATH_INVERTERS))[0]["lastReportDate"]
            if not seen or seen[-1] != first:
                seen.append(first)
            # Each report counts in wattsNow for the interval in force: 900 s after +400.
            assert (await read(PATH_PRODUCTION))["wattsNow"] > 7000, second
        expected = [START, START + 300, START + 600, START + 1500, START + 2400]
        assert seen == [burst + OFFSETS[0] for burst in expected]
        offset_of = dict(zip(SERIALS, OFFSETS, strict=True))
        assert {when - offset_of[serial] for when, serial in simulator.report_log} == set(
            expected[1:]
        )


async def test_missed_reports(
    session: aiohttp.ClientSession, freezer: FrozenDateTimeFactory
) -> None:
    """A missed burst leaves the records alone; a missed inverter catches up its energy later."""
    rhythm = Rhythm(
        missed=[
            (START + 300, START + 360, None),
            (START + 600, START + 660, frozenset({SERIALS[0]})),
        ]
    )
    freezer.move_to(at(100))
    async with EnvoySimulator(CAPTURE, rhythm=rhythm) as simulator:
        read = Reader(simulator, session)
        before = await read(PATH_INVERTERS)
        lifetime = (await read(PATH_PRODUCTION))["wattHoursLifetime"]

        freezer.move_to(at(400))
        assert await read(PATH_INVERTERS) == before
        assert (await read(PATH_PRODUCTION))["wattHoursLifetime"] == lifetime
        assert simulator.report_log == []

        freezer.move_to(at(700))
        records = await read(PATH_INVERTERS)
        assert records[0] == before[0]
        assert dates(records)[1:] == [START + 600 + offset for offset in OFFSETS[1:]]

        freezer.move_to(at(960))
        records = await read(PATH_INVERTERS)
        assert dates(records) == [START + 900 + offset for offset in OFFSETS]
        # Every inverter's last 900 s are counted once, the missed one's included.
        gained = (await read(PATH_PRODUCTION))["wattHoursLifetime"] - lifetime
        power = simulator.power
        assert power is not None
        expected = sum(
            share * true_energy(power, START + offset, START + 900 + offset)
            for share, offset in zip(SHARES, OFFSETS, strict=True)
        )
        assert gained == pytest.approx(expected, rel=0.005)
        assert [when for when, serial in simulator.report_log if serial == SERIALS[0]] == [
            START + 900 + OFFSETS[0]
        ]


async def test_night(session: aiohttp.ClientSession, freezer: FrozenDateTimeFactory) -> None:
    """At night nothing reports: the records keep the last daylight report until sunrise."""
    freezer.move_to(datetime(2026, 6, 22, 6, 0, tzinfo=UTC))  # 23:00 local
    async with EnvoySimulator(CAPTURE, rhythm=Rhythm()) as simulator:
        read = Reader(simulator, session)
        records = await read(PATH_INVERTERS)
        production = await read(PATH_PRODUCTION)
        # The last daylight burst: 19:25 local, its reports before sunset at 19:30.
        assert all(SUNSET - 300 <= when < SUNSET for when in dates(records))
        assert production["wattsNow"] == 0
        assert production["wattHoursToday"] > 40_000  # the whole day's production

        for _ in range(80):  # until 05:40 local
            freezer.tick(timedelta(seconds=300))
            assert await read(PATH_INVERTERS) == records
            night = await read(PATH_PRODUCTION)
            assert night["wattHoursLifetime"] == production["wattHoursLifetime"]
            assert night["wattsNow"] == 0
        assert simulator.report_log == []
        assert simulator.production_changes == []
        # Local midnight reset today; the seven-day window dropped its oldest day.
        assert night["wattHoursToday"] == 0
        assert night["wattHoursSevenDays"] < production["wattHoursSevenDays"]

        # 06:45 local, after sunrise at 06:30: reports again, small ones.
        freezer.move_to(datetime(2026, 6, 22, 13, 45, tzinfo=UTC))
        morning = await read(PATH_INVERTERS)
        assert all(when > SUNSET + 10 * 3600 for when in dates(morning))
        assert all(0 < record["lastReportWatts"] < 50 for record in morning)
        after = await read(PATH_PRODUCTION)
        assert after["wattHoursLifetime"] > production["wattHoursLifetime"]
        assert 0 < after["wattHoursToday"] < 200


async def test_non_metered_lifetime_follows_the_reports_over_a_day(
    session: aiohttp.ClientSession, freezer: FrozenDateTimeFactory
) -> None:
    """Lifetime moves only when reports land, and adds up to ∫ power over the day."""
    freezer.move_to(MIDNIGHT)
    day = MIDNIGHT.timestamp()
    async with EnvoySimulator(CAPTURE, rhythm=Rhythm()) as simulator:
        read = Reader(simulator, session)
        first = await read(PATH_PRODUCTION)
        assert first["wattHoursToday"] == 0
        previous, moved = first, 0
        for second in range(97, 86400, 97):
            freezer.move_to(MIDNIGHT + timedelta(seconds=second))
            production = await read(PATH_PRODUCTION)
            if production["wattHoursLifetime"] != previous["wattHoursLifetime"]:
                moved += 1
                changes = simulator.production_changes
                # A report landed in (previous read, this read].
                index = bisect.bisect_right(changes, day + second - 97)
                assert index < len(changes), second
                assert changes[index] <= day + second, second
            previous = production
        assert moved > 100
        # 23:58 local: the day's reports are all in.
        gained = previous["wattHoursLifetime"] - first["wattHoursLifetime"]
        power = simulator.power
        assert power is not None
        produced = true_energy(power, day, day + 86400)
        assert gained == pytest.approx(produced, rel=0.005)
        assert previous["wattHoursToday"] == pytest.approx(gained, abs=1)
        assert simulator.production_changes == sorted({when for when, _ in simulator.report_log})

        freezer.move_to(MIDNIGHT + timedelta(days=1, seconds=60))
        after_midnight = await read(PATH_PRODUCTION)
        assert after_midnight["wattHoursToday"] == 0
        assert after_midnight["wattHoursLifetime"] == previous["wattHoursLifetime"]


async def test_metered_production_moves_between_bursts(
    session: aiohttp.ClientSession, freezer: FrozenDateTimeFactory
) -> None:
    """A production meter moves every second; the inverters still report in bursts."""
    freezer.move_to(at(100))
    async with EnvoySimulator(CAPTURE, rhythm=Rhythm(metered=True)) as simulator:
        read = Reader(simulator, session)
        power = simulator.power
        assert power is not None
        records = await read(PATH_INVERTERS)
        readings = []
        for second in (100, 120, 140, 160, 180):
            freezer.move_to(at(second))
            production = await read(PATH_PRODUCTION)
            assert production["wattsNow"] == round(power(START + second))
            readings.append(production["wattHoursLifetime"])
        assert readings == sorted(set(readings))  # strictly up, with no report in between
        assert await read(PATH_INVERTERS) == records
        assert readings[-1] - readings[0] == pytest.approx(
            true_energy(power, START + 100, START + 180), abs=1.5
        )
        assert simulator.production_changes == []
        assert simulator.production_moves_continuously

        _, info = await read.raw(PATH_INFO)
        assert b"<imeter>true</imeter>" in info
        generated = await read(PATH_PRODUCTION_JSON)
        inverters, meter = generated["production"]
        assert inverters["type"] == "inverters"
        assert inverters["readingTime"] == max(dates(records))
        assert meter["type"] == "eim"
        assert meter["measurementType"] == "production"
        assert meter["activeCount"] == 1
        assert meter["readingTime"] == START + 180
        assert meter["whLifetime"] == pytest.approx(readings[-1], abs=1)
        assert meter["whToday"] > 0
        assert meter["whLastSevenDays"] > meter["whToday"]
        assert 200 < meter["rmsVoltage"] < 260
        assert 0 < meter["pwrFactor"] <= 1
        assert meter["rmsVoltage"] * meter["rmsCurrent"] * meter["pwrFactor"] == pytest.approx(
            meter["wNow"], rel=0.01
        )

        # The next burst: the inverters move too.
        freezer.move_to(at(400))
        assert min(dates(await read(PATH_INVERTERS))) == START + 300


async def test_static_capture_without_a_rhythm(
    session: aiohttp.ClientSession, freezer: FrozenDateTimeFactory
) -> None:
    """Without a rhythm nothing moves by itself, and /info.xml still says no meter."""
    freezer.move_to(at(100))
    async with EnvoySimulator(CAPTURE) as simulator:
        read = Reader(simulator, session)
        records = await read(PATH_INVERTERS)
        production = await read(PATH_PRODUCTION)
        freezer.tick(timedelta(hours=2))
        assert await read(PATH_INVERTERS) == records
        assert await read(PATH_PRODUCTION) == production
        assert simulator.report_log == []
        assert not simulator.production_moves_continuously
        _, info = await read.raw(PATH_INFO)
        assert b"<imeter>false</imeter>" in info


async def test_a_thousand_inverters(
    session: aiohttp.ClientSession, freezer: FrozenDateTimeFactory
) -> None:
    """1,000 inverters: unique serials, the capture's offsets, hours simulated quickly."""
    freezer.move_to(at(100))
    async with EnvoySimulator(CAPTURE, rhythm=Rhythm(), inverters=1000) as simulator:
        read = Reader(simulator, session)
        records = await read(PATH_INVERTERS)
        serials = [record["serialNumber"] for record in records]
        assert len(records) == 1000
        assert len(set(serials)) == 1000
        assert all(len(serial) == 12 and serial.isdigit() for serial in serials)
        assert serials[:40] == SERIALS
        assert dates(records) == [START + OFFSETS[index % 40] for index in range(1000)]
        power = simulator.power
        assert power is not None
        total_max = MAX_TOTAL * 25
        assert power(START + 3600) == pytest.approx(0.9 * total_max)

        # Two hours in one request: 24 bursts of 1,000 reports.
        freezer.move_to(at(7300))
        started = time.perf_counter()
        records = await read(PATH_INVERTERS)
        assert time.perf_counter() - started < 2.0
        assert len(simulator.report_log) == 24 * 1000
        assert dates(records) == [START + 7200 + OFFSETS[index % 40] for index in range(1000)]

        # No report since: the answer is served from the cache, not serialised again.
        site = simulator._site
        assert site is not None
        serialised = site.serialisations
        status, body = await read.raw(PATH_INVERTERS)
        status_again, body_again = await read.raw(PATH_INVERTERS)
        assert (status, status_again) == (200, 200)
        assert body == body_again
        assert site.serialisations == serialised

    assert len(clone_inverters(CAPTURED, 10)) == 10


async def test_requests_record_time_and_bytes(
    session: aiohttp.ClientSession, freezer: FrozenDateTimeFactory
) -> None:
    """Every request has its arrival time and bytes in and out; bytes() sums them."""
    freezer.move_to(at(100))
    async with EnvoySimulator(CAPTURE, rhythm=Rhythm()) as simulator:
        read = Reader(simulator, session)
        await read.raw(PATH_INFO)
        await read(PATH_PRODUCTION)
        freezer.tick(timedelta(seconds=5))
        _, body = await read.raw(PATH_INVERTERS)  # a challenge, then the answer
        requests = simulator.requests
        assert [(request.path, request.status) for request in requests] == [
            (PATH_INFO, 200),
            (PATH_PRODUCTION, 200),
            (PATH_INVERTERS, 401),
            (PATH_INVERTERS, 200),
        ]
        assert [request.at for request in requests] == [START + 100] * 2 + [START + 105] * 2
        assert all(request.bytes_in > 50 and request.bytes_out > 100 for request in requests)
        # The answer's headers on top of its body; the authorised request carries Digest.
        assert requests[3].bytes_out > len(body) > 5000
        assert requests[3].bytes_in > requests[2].bytes_in + 100
        assert simulator.bytes() == (
            sum(request.bytes_in for request in requests),
            sum(request.bytes_out for request in requests),
        )
    # The old positional form still builds a request.
    assert Request("/info", 200, False).keep_alive  # noqa: FBT003 - the positional form


async def test_thread_runner_serves_from_another_thread(
    session: aiohttp.ClientSession,
) -> None:
    """SimulatorThread serves on its own loop and thread; call() reads and changes it there."""
    moment = START + 100
    with SimulatorThread(CAPTURE, rhythm=Rhythm(), clock=lambda: moment) as runner:
        simulator = runner.simulator
        serving = runner.thread
        assert serving is not None
        assert serving.is_alive()
        assert serving.daemon
        read = Reader(simulator, session)
        production = await read(PATH_PRODUCTION)
        assert production == runner.call(dict, simulator.production)
        assert runner.call(threading.get_ident) == serving.ident != threading.get_ident()
        assert runner.call(simulator.count, PATH_PRODUCTION) == 1
        runner.call(lambda: simulator.fail(PATH_PRODUCTION, status=503))
        status, _ = await read.raw(PATH_PRODUCTION)
        assert status == 503
        with pytest.raises(ZeroDivisionError):
            runner.call(lambda: 1 / 0)
        assert runner.call(simulator.bytes)[1] > 0
    assert runner.thread is None
    assert not serving.is_alive()
    with pytest.raises(RuntimeError):
        runner.call(len, [])


def test_command_line_rhythm() -> None:
    """--report-interval N is a rhythm of N s on the real clock; nothing asked: static."""
    options = {"report_interval": 0.0, "metered": False, "power": None, "site_time": None}
    assert _rhythm(argparse.Namespace(**options), START) is None
    rhythm = _rhythm(argparse.Namespace(**{**options, "report_interval": 60.0}), START)
    assert rhythm == Rhythm(interval=60.0)
    metered = _rhythm(argparse.Namespace(**{**options, "metered": True, "power": 5000.0}), START)
    assert metered is not None
    assert metered.metered
    assert metered.interval == 300
    assert metered.power is not None
    assert metered.power(0) == 5000
