"""Run the Envoy simulator on its own: ``python -m tests.simulator --port 8080``.

Point Home Assistant at the printed host and serial. With ``--report-interval`` the simulated
microinverters report on the real clock, in a burst every N seconds spread over the capture's
minute, along a clear solar day in US/Pacific (nothing at night): production moves with the
reports, or every second with ``--metered``. ``--power`` makes the sun shine all day and night;
``--site-time 10:00`` shifts the site's day instead (its sun, its house and its midnight) so that
its clock reads 10:00 at start, whatever the machine's hour.
With a metered capture (``--capture R4.10.35_metered``), ``--moving-meters`` makes the CT meters
follow the day (consumption, import at night, export at noon) and ``--battery`` adds an AC
Battery. ``--character`` gives the panels a character of their own (an east, a south and a west
row, a chimney's shade on the first panel, clouds day to day, the middle panel losing 35 % some
days after the start: see ``character.demo_characters``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import re
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from . import CAPTURES, Battery, EnvoySimulator
from .character import Weather, demo_characters
from .metering import house_load
from .rhythm import PACIFIC, Rhythm

_DAY_MIN = 24 * 60


def _clock_time(text: str) -> int:
    """Parse ``HH:MM`` (24-hour clock) into minutes after midnight."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"expected HH:MM (00:00 to 23:59), got {text!r}")
    return int(match.group(1)) * 60 + int(match.group(2))


def site_zone(minutes: int, now: float) -> tzinfo:
    """Return the fixed-offset zone whose clock reads ``minutes`` after midnight at ``now``.

    The offset is the one nearest UTC (from -12:00 to +11:59), to the minute.
    """
    utc = datetime.fromtimestamp(now, UTC)
    shift = (minutes - (utc.hour * 60 + utc.minute)) % _DAY_MIN
    if shift >= _DAY_MIN // 2:
        shift -= _DAY_MIN
    return timezone(timedelta(minutes=shift))


def _zone(args: argparse.Namespace, now: float) -> tzinfo:
    """Return the site's time zone: US/Pacific, or the one of ``--site-time``."""
    return PACIFIC if args.site_time is None else site_zone(args.site_time, now)


def _rhythm(args: argparse.Namespace, now: float) -> Rhythm | None:
    """Return the rhythm the command line asks for (None: serve the capture unchanged)."""
    if (
        args.report_interval <= 0
        and not args.metered
        and args.power is None
        and args.site_time is None
    ):
        return None
    power = args.power
    return Rhythm(
        interval=args.report_interval if args.report_interval > 0 else 300.0,
        metered=args.metered,
        power=None if power is None else lambda _t: power,
        tz=_zone(args, now),
    )


def _with_character(args: argparse.Namespace, rhythm: Rhythm | None, now: float) -> Rhythm | None:
    """Return the rhythm with the demo site's character when ``--character`` asks for it.

    Its panels (one for each inverter served) start on the site's local date at ``now``.
    """
    if not args.character:
        return rhythm
    zone = _zone(args, now)
    count = len(EnvoySimulator(args.capture, inverters=args.inverters).inverters)
    start = datetime.fromtimestamp(now, zone).date()
    return dataclasses.replace(
        rhythm if rhythm is not None else Rhythm(tz=zone),
        characters=demo_characters(count, start),
        weather=Weather(),
    )


def _character(rhythm: Rhythm) -> str:
    """Describe the demo site's character, if any (for the banner)."""
    losing = [
        (index, character)
        for index, character in enumerate(rhythm.characters or ())
        if character.lost_from is not None
    ]
    if not losing:
        return ""
    index, character = losing[0]
    return (
        f", with character (east, south and west rows, panel 1 shaded, clouds; panel "
        f"{index + 1} loses {character.loss:.0%} from {character.lost_from})"
    )


def _sun(args: argparse.Namespace, zone: tzinfo, now: float) -> str:
    """Describe what the site's production follows."""
    if args.power is not None:
        return f"a constant {args.power:g} W"
    if args.site_time is None:
        return "a clear day in US/Pacific"
    return f"a clear day, {datetime.fromtimestamp(now, zone):%H:%M} there now ({zone})"


async def _main(args: argparse.Namespace) -> None:
    now = time.time()
    rhythm = _with_character(args, _rhythm(args, now), now)
    zone = _zone(args, now)
    simulator = EnvoySimulator(args.capture, rhythm=rhythm, inverters=args.inverters)
    simulator.metering.load = house_load(tz=zone)
    simulator.metering.tz = zone
    simulator.metering.moving = args.moving_meters
    simulator.metering.lines = args.moving_meters
    if args.battery:
        simulator.metering.battery = Battery()
    await simulator.start(args.host, args.port)
    if rhythm is None:
        moving = "static values"
    else:
        kind = "metered" if rhythm.metered else "not metered"
        moving = (
            f"reports every {rhythm.interval:g} s, {kind}, {_sun(args, zone, now)}"
            f"{_character(rhythm)}"
        )
    print(  # noqa: T201 - a command-line tool
        f"Envoy simulator ({simulator.folder.name}, {len(simulator.inverters)} inverters, "
        f"{moving}) on http://{args.host}:{simulator.port}\n"
        f"  host: {args.host}:{simulator.port}\n  serial: {simulator.serial}",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await simulator.stop()


def main() -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080, 0: any)")
    names = ", ".join(sorted(folder.name for folder in CAPTURES.iterdir() if folder.is_dir()))
    parser.add_argument(
        "--capture", default="D5.0.62", help=f"capture folder name or path ({names})"
    )
    parser.add_argument(
        "--report-interval",
        type=float,
        default=0,
        help="seconds between bursts of inverter reports (0: serve the capture unchanged)",
    )
    parser.add_argument(
        "--metered",
        action="store_true",
        help="a production CT meter: production moves every second (default interval 300 s)",
    )
    parser.add_argument(
        "--inverters", type=int, default=None, help="serve N inverters (copies of the capture's)"
    )
    parser.add_argument(
        "--power",
        type=float,
        default=None,
        help="constant site power in W instead of a solar day (reports at night too)",
    )
    parser.add_argument(
        "--site-time",
        type=_clock_time,
        default=None,
        metavar="HH:MM",
        help="the site's local time at start: its day (sun, house load, midnight) is shifted "
        "to that clock (default: US/Pacific time by the machine's clock)",
    )
    parser.add_argument(
        "--moving-meters",
        action="store_true",
        help="the CT meters of a metered capture follow the day (with per-phase lines)",
    )
    parser.add_argument(
        "--battery", action="store_true", help="add an AC Battery to /production.json"
    )
    parser.add_argument(
        "--character",
        action="store_true",
        help="panels with a character of their own: rows facing east, south and west, one "
        "shaded, clouds day to day, one losing 35 %% some days after the start",
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
