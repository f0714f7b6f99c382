"""Run the Envoy simulator on its own: ``python -m tests.simulator --port 8080``.

Point Home Assistant at the printed host and serial. With ``--report-interval`` the
simulated microinverters report again every N seconds and production moves with them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import time

from . import CAPTURES, EnvoySimulator


def _report(simulator: EnvoySimulator, now: float, interval: float) -> None:
    """Let every inverter report; production follows a gentle wave around the captured power."""
    factor = 1.0 + 0.2 * math.sin(now / 600.0)
    total = 0
    for inverter in simulator.inverters:
        watts = max(0, round(inverter["maxReportWatts"] * 0.7 * factor))
        inverter["lastReportWatts"] = watts
        inverter["lastReportDate"] = int(now)
        total += watts
    energy = round(total * interval / 3600.0)
    production = simulator.production
    if production:
        production["wattsNow"] = total
        production["wattHoursToday"] += energy
        production["wattHoursSevenDays"] += energy
        production["wattHoursLifetime"] += energy


async def _main(args: argparse.Namespace) -> None:
    simulator = EnvoySimulator(args.capture)
    await simulator.start(args.host, args.port)
    print(  # noqa: T201 - a command-line tool
        f"Envoy simulator ({simulator.folder.name}) on http://{args.host}:{simulator.port}\n"
        f"  host: {args.host}:{simulator.port}\n  serial: {simulator.serial}",
        flush=True,
    )
    try:
        while True:
            if args.report_interval > 0:
                _report(simulator, time.time(), args.report_interval)
                await asyncio.sleep(args.report_interval)
            else:
                await asyncio.sleep(3600)
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
        help="seconds between simulated inverter reports (0: serve the capture unchanged)",
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
