"""The simulator's command line: ``--site-time`` shifts the site's day to the machine's clock.

``scripts/develop`` starts the simulator so (``--site-time 10:00``): whatever the hour where it
runs, the site produces, the way the browser check's ``--power`` does, but along a real-shaped
day. These tests read it over real HTTP, as Home Assistant would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tests.simulator import PATH_INVERTERS, PATH_PRODUCTION, PATH_PRODUCTION_JSON, EnvoySimulator
from tests.simulator.__main__ import _clock_time, _rhythm, _sun, _zone, site_zone
from tests.simulator.rhythm import PACIFIC

# A summer day; 12:00 UTC is 05:00 in US/Pacific, before sunrise (06:30).
DAY = datetime(2026, 6, 21, tzinfo=UTC)
OPTIONS = {"report_interval": 60.0, "metered": False, "power": None, "site_time": None}
METERED = "R4.10.35_metered"


def args(**changes: Any) -> argparse.Namespace:
    """Return the command line's options, as parsed, with these changes."""
    return argparse.Namespace(**{**OPTIONS, **changes})


@pytest.mark.parametrize(
    ("text", "minutes"), [("10:00", 600), ("7:05", 425), ("00:00", 0), (" 23:59 ", 1439)]
)
def test_clock_time(text: str, minutes: int) -> None:
    """HH:MM on a 24-hour clock is minutes after midnight."""
    assert _clock_time(text) == minutes


@pytest.mark.parametrize("text", ["24:00", "10", "10:60", "ab:cd", "10:5", "-1:00", ""])
def test_clock_time_refused(text: str) -> None:
    """Anything else is a usage error that names the value."""
    with pytest.raises(argparse.ArgumentTypeError, match="HH:MM"):
        _clock_time(text)


@pytest.mark.parametrize("hour", range(24))
@pytest.mark.parametrize("wanted", [0, 600, 12 * 60, 23 * 60 + 59])
def test_site_zone_reads_the_wanted_time(hour: int, wanted: int) -> None:
    """At any UTC hour the site's clock reads the wanted time, from an offset near UTC."""
    now = (DAY + timedelta(hours=hour, minutes=17, seconds=42)).timestamp()
    zone = site_zone(wanted, now)
    local = datetime.fromtimestamp(now, zone)
    assert local.hour * 60 + local.minute == wanted
    offset = local.utcoffset()
    assert offset is not None
    assert timedelta(hours=-12) <= offset < timedelta(hours=12)


def test_rhythm_and_description() -> None:
    """--site-time alone asks for a rhythm, in the shifted zone; the banner says what it is."""
    now = (DAY + timedelta(hours=14)).timestamp()
    shifted = args(report_interval=0.0, site_time=600)
    rhythm = _rhythm(shifted, now)
    assert rhythm is not None
    assert rhythm.interval == 300
    assert str(rhythm.tz) == "UTC-04:00"
    assert _sun(shifted, rhythm.tz, now) == "a clear day, 10:00 there now (UTC-04:00)"
    assert _zone(args(), now) is PACIFIC
    assert _sun(args(), PACIFIC, now) == "a clear day in US/Pacific"
    assert _sun(args(power=5000.0), PACIFIC, now) == "a constant 5000 W"


async def read(session: aiohttp.ClientSession, host: str, serial: str, path: str) -> Any:
    """Return a path's JSON answer, with the installer-less Digest credentials."""
    auth = aiohttp.DigestAuthMiddleware("envoy", serial[-6:])
    async with session.get(f"http://{host}{path}", middlewares=(auth,)) as response:
        assert response.status == 200, (path, response.status)
        return json.loads(await response.read())


@pytest.mark.parametrize("hour", [0, 6, 12, 14, 18, 23])
async def test_site_time_produces_at_any_hour(socket_enabled: None, hour: int) -> None:
    """At 10:00 site time every inverter has a fresh report with power, whatever the hour."""
    now = (DAY + timedelta(hours=hour)).timestamp()
    rhythm = _rhythm(args(site_time=600), now)
    async with (
        EnvoySimulator(rhythm=rhythm, clock=lambda: now) as simulator,
        aiohttp.ClientSession() as session,
    ):
        records = await read(session, simulator.host, simulator.serial, PATH_INVERTERS)
        production = await read(session, simulator.host, simulator.serial, PATH_PRODUCTION)
    assert all(record["lastReportWatts"] > 0 for record in records)
    assert all(now - record["lastReportDate"] < 60 for record in records)
    assert production["wattsNow"] > 0


async def test_pacific_night_without_site_time(socket_enabled: None) -> None:
    """Without it, 12:00 UTC is night on the site: nothing reports (what #14 saw)."""
    now = (DAY + timedelta(hours=12)).timestamp()
    async with (
        EnvoySimulator(rhythm=_rhythm(args(), now), clock=lambda: now) as simulator,
        aiohttp.ClientSession() as session,
    ):
        production = await read(session, simulator.host, simulator.serial, PATH_PRODUCTION)
    assert production["wattsNow"] == 0


async def test_command_line_metered_site(socket_enabled: None) -> None:
    """The command scripts/develop runs with ENVOY_METERED=1 serves a producing metered site."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.simulator",
        "--port",
        "0",
        "--capture",
        METERED,
        "--report-interval",
        "60",
        "--site-time",
        "12:00",
        "--metered",
        "--moving-meters",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        host = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().split()[-1]
        serial = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().split()[-1]
        assert re.search(r"metered, a clear day, 12:0\d there now \(UTC[+-]\d\d:\d\d\)", banner)
        async with aiohttp.ClientSession() as session:
            records = await read(session, host, serial, PATH_INVERTERS)
            answer = await read(session, host, serial, PATH_PRODUCTION_JSON)
    finally:
        process.terminate()
        await process.wait()
    assert all(record["lastReportWatts"] > 0 for record in records)
    production = [e for e in answer["production"] if e.get("measurementType") == "production"]
    assert production
    assert production[0]["wNow"] > 0
    # At noon the house uses less than the site makes: the net meter exports.
    net = [e for e in answer["consumption"] if e.get("measurementType") == "net-consumption"]
    assert net
    assert net[0]["wNow"] < 0
