"""Print the benchmark table from the JSON results: ``python -m benchmarks.report DIR``.

Each row: ours, theirs (Home Assistant's built-in enphase_envoy) and ours/theirs, for each
scenario; the issue's targets are checked and printed under the table.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import SCENARIOS

Result = dict[str, Any]

# Home Assistant arms each coordinator timer on a whole second of the loop's clock plus
# 0.05-0.5 s, so a fixed 60 s poll can come up to 60.5 s after the one before it.
TIMER_SLACK_S = 0.5


def _load(folder: Path) -> dict[tuple[str, str, int], Result]:
    results = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        results[data["side"], data["scenario"], data["inverters"]] = data
    return results


def _theirs_staleness(result: Result) -> float:
    """Return a fixed 60 s poll's worst staleness: the interval, the timer slack, the poll."""
    return 60.0 + TIMER_SLACK_S + float(result.get("poll_wall_max_s", 0.0))


ROWS: list[tuple[str, int, Callable[[Result], float], str]] = [
    ("HTTP requests per hour (incl. 401)", 40, lambda r: r["requests_per_hour"], "{:.1f}"),
    ("  of which 401 challenges", 40, lambda r: r["challenges_per_hour"], "{:.2f}"),
    ("kB transferred per hour", 40, lambda r: r["bytes_per_hour"] / 1000, "{:.0f}"),
    ("setup: requests (restart)", 40, lambda r: r["setup_requests"], "{:.0f}"),
    ("setup: wall time ms (restart)", 40, lambda r: r["setup_wall_s"] * 1000, "{:.0f}"),
    ("CPU ms per poll, 40 inverters", 40, lambda r: r["cpu_per_poll_s"] * 1000, "{:.2f}"),
    ("CPU ms per hour, 40 inverters", 40, lambda r: r["cpu_per_hour_s"] * 1000, "{:.0f}"),
    ("CPU ms per poll, 1,000 inverters", 1000, lambda r: r["cpu_per_poll_s"] * 1000, "{:.2f}"),
    ("CPU ms per hour, 1,000 inverters", 1000, lambda r: r["cpu_per_hour_s"] * 1000, "{:.0f}"),
    (
        "  ours with panel energy, 1,000",
        1000,
        lambda r: r.get("cpu_per_hour_with_panels_s", r["cpu_per_hour_s"]) * 1000,
        "{:.0f}",
    ),
    ("peak memory MiB, 40 inverters", 40, lambda r: r["peak_memory_bytes"] / 2**20, "{:.1f}"),
    ("peak memory MiB, 1,000 inverters", 1000, lambda r: r["peak_memory_bytes"] / 2**20, "{:.1f}"),
    ("worst staleness s, production", 40, lambda r: r["staleness_production_s"], "{:.1f}"),
    ("worst staleness s, inverters", 40, lambda r: r["staleness_inverters_s"], "{:.1f}"),
]

# (scenario, row label, the highest ratio allowed)
TARGETS: list[tuple[str, str, float]] = [
    ("non-metered", "HTTP requests per hour (incl. 401)", 0.25),
    ("metered", "HTTP requests per hour (incl. 401)", 0.6),
    ("non-metered", "setup: requests (restart)", 0.25),
    ("non-metered", "setup: wall time ms (restart)", 0.25),
    ("metered", "setup: requests (restart)", 0.25),
    ("metered", "setup: wall time ms (restart)", 0.25),
    ("non-metered", "CPU ms per hour, 1,000 inverters", 0.5),
    ("metered", "CPU ms per hour, 1,000 inverters", 0.5),
    ("non-metered", "worst staleness s, production", 1.0),
    ("non-metered", "worst staleness s, inverters", 1.0),
    ("metered", "worst staleness s, production", 1.0),
    ("metered", "worst staleness s, inverters", 1.0),
]


def _value(
    results: dict[tuple[str, str, int], Result], side: str, scenario: str, row: Any
) -> float | None:
    label, size, get, _ = row
    result = results.get((side, scenario, size))
    if result is None:
        return None
    try:
        if side == "theirs" and label.startswith("worst staleness"):
            return _theirs_staleness(result)
        return float(get(result))
    except KeyError:
        return None


def report(folder: Path) -> int:
    """Print the table; return 1 when a target is missed or a figure is missing."""
    results = _load(folder)
    if not results:
        print(f"no results in {folder}")
        return 1
    ratios: dict[tuple[str, str], float] = {}
    lines = []
    header = f"{'':36}" + "".join(f"| {s:^28}" for s in SCENARIOS)
    lines += [header, f"{'':36}" + "| {:>8} {:>8} {:>9} ".format("ours", "theirs", "ratio") * 2]
    lines.append("-" * len(lines[-1]))
    for row in ROWS:
        cells = []
        for scenario in SCENARIOS:
            ours = _value(results, "ours", scenario, row)
            theirs = _value(results, "theirs", scenario, row)
            fmt = row[3]
            ratio = ours / theirs if ours is not None and theirs else None
            if ratio is not None:
                ratios[scenario, row[0]] = ratio
            cells.append(
                "| {:>8} {:>8} {:>9} ".format(
                    fmt.format(ours) if ours is not None else "-",
                    fmt.format(theirs) if theirs is not None else "-",
                    f"{ratio:.3f}" if ratio is not None else "-",
                )
            )
        lines.append(f"{row[0]:36}" + "".join(cells))
    some = next(iter(results.values()))
    machine = some.get("machine", {})
    pyenphase = next(
        (r["machine"].get("pyenphase") for r in results.values() if r["side"] == "theirs"), None
    )
    print("\n".join(lines))
    print(
        f"\nMachine: {machine.get('cpu')} ({machine.get('usable_cores')} usable cores), "
        f"Python {machine.get('python')}, Home Assistant {machine.get('homeassistant')}, "
        f"pyenphase {pyenphase}"
    )
    missed = 0
    print("\nTargets (ours/theirs):")
    for scenario, label, limit in TARGETS:
        ratio = ratios.get((scenario, label))
        verdict = "missing" if ratio is None else ("met" if ratio <= limit else "MISSED")
        missed += verdict != "met"
        shown = "-" if ratio is None else f"{ratio:.3f}"
        print(f"  {scenario:12} {label:36} {shown:>7} <= {limit:<5} {verdict}")
    notes = sorted({note for result in results.values() for note in result.get("notes", [])})
    print("\nNotes:")
    for note in notes:
        print(f"  - {note}")
    print(
        f"  - theirs, worst staleness: 60 s interval + {TIMER_SLACK_S} s timer slack"
        " + its longest poll"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(report(Path(sys.argv[1])))
