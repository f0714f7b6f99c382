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


def _production_only(suffix: str) -> Callable[[Result], float]:
    """Return the getter of ours' CPU ms of a poll that read production only."""
    return lambda r: r[f"cpu_per_poll_kind{suffix}_s"]["production"] * 1000


def _as_installed(key: str) -> Callable[[Result], float]:
    """Return the getter of a figure as installed: ours with the panel entities on."""
    return lambda r: r[f"{key}_with_panels_s"] if r["side"] == "ours" else r[f"{key}_s"]


def _as_installed_ms(key: str) -> Callable[[Result], float]:
    """Return the getter of a time as installed (seconds), in milliseconds."""
    return lambda r: _as_installed(key)(r) * 1000


# (label, size, getter, format). As installed first: every entity enabled by default, ours
# with its per-panel entities; then ours like for like, with them turned off.
ROWS: list[tuple[str, int, Callable[[Result], float], str]] = [
    *(
        (f"CPU ms per {per}, {size:,} inverters", size, _as_installed_ms(f"cpu_per_{per}"), fmt)
        for per, fmt in (("hour", "{:.0f}"), ("poll", "{:.2f}"))
        for size in (1000, 40)
    ),
    ("  production-only poll, 1,000", 1000, _production_only("_with_panels"), "{:.2f}"),
    ("  production-only poll, 40", 40, _production_only("_with_panels"), "{:.2f}"),
    ("HTTP requests per hour (incl. 401)", 40, lambda r: r["requests_per_hour"], "{:.1f}"),
    ("  of which 401 challenges", 40, lambda r: r["challenges_per_hour"], "{:.2f}"),
    ("kB transferred per hour", 40, lambda r: r["bytes_per_hour"] / 1000, "{:.0f}"),
    (
        "setup: requests (restart)",
        40,
        lambda r: r["restart_requests_with_panels" if r["side"] == "ours" else "restart_requests"],
        "{:.0f}",
    ),
    ("setup: wall time ms (restart)", 40, _as_installed_ms("setup_wall"), "{:.1f}"),
    ("  at 1,000 inverters", 1000, _as_installed_ms("setup_wall"), "{:.0f}"),
    ("worst staleness s, production", 40, lambda r: r["staleness_production_s"], "{:.1f}"),
    ("worst staleness s, inverters", 40, lambda r: r["staleness_inverters_s"], "{:.1f}"),
    ("Like for like (panel entities off):", 0, float, ""),
    ("  CPU ms per hour, 1,000 inverters", 1000, lambda r: r["cpu_per_hour_s"] * 1000, "{:.0f}"),
    ("  CPU ms per hour, 40 inverters", 40, lambda r: r["cpu_per_hour_s"] * 1000, "{:.0f}"),
    ("  setup: wall time ms (restart)", 40, lambda r: r["setup_wall_s"] * 1000, "{:.1f}"),
    ("peak memory MiB, 40 inverters", 40, lambda r: r["peak_memory_bytes"] / 2**20, "{:.1f}"),
    ("peak memory MiB, 1,000 inverters", 1000, lambda r: r["peak_memory_bytes"] / 2**20, "{:.1f}"),
]

# (scenario, row label, the highest value allowed, what is compared): "ratio" is ours/theirs,
# "ours" ours alone, "scaling" ours at 1,000 inverters over ours at 40 (the row's size is
# 1,000; its 40-inverter twin is the next row).
TARGETS: list[tuple[str, str, float, str]] = [
    ("non-metered", "CPU ms per hour, 1,000 inverters", 0.6, "ratio"),
    ("metered", "CPU ms per hour, 1,000 inverters", 0.6, "ratio"),
    ("metered", "  production-only poll, 1,000", 1.2, "scaling"),
    ("non-metered", "HTTP requests per hour (incl. 401)", 0.25, "ratio"),
    ("metered", "HTTP requests per hour (incl. 401)", 0.6, "ratio"),
    ("non-metered", "setup: requests (restart)", 3, "ours"),
    ("metered", "setup: requests (restart)", 3, "ours"),
    ("non-metered", "setup: wall time ms (restart)", 0.35, "ratio"),
    ("metered", "setup: wall time ms (restart)", 0.35, "ratio"),
    ("non-metered", "worst staleness s, production", 1.0, "ratio"),
    ("non-metered", "worst staleness s, inverters", 1.0, "ratio"),
    ("metered", "worst staleness s, production", 1.0, "ratio"),
    ("metered", "worst staleness s, inverters", 1.0, "ratio"),
    # Issue #14: an Envoy-S Metered with its CTs.
    ("ct-metered", "CPU ms per hour, 1,000 inverters", 0.6, "ratio"),
    ("ct-metered", "CPU ms per hour, 40 inverters", 0.6, "ratio"),
    ("ct-metered", "HTTP requests per hour (incl. 401)", 0.5, "ratio"),
    ("ct-metered", "setup: requests (restart)", 0.5, "ratio"),
    ("ct-metered", "worst staleness s, production", 1.0, "ratio"),
    ("ct-metered", "worst staleness s, inverters", 1.0, "ratio"),
]

# Who set which targets: the Envoy-S Metered's are issue #14's, the others #6's and #13's.
TARGET_GROUPS: dict[str, tuple[str, ...]] = {
    "issues #6 and #13 (non-metered, metered)": ("non-metered", "metered"),
    "issue #14 (ct-metered)": ("ct-metered",),
}


def _group(scenario: str) -> str:
    """Return the group of targets a scenario's belong to."""
    return next(group for group, scenarios in TARGET_GROUPS.items() if scenario in scenarios)


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


def _target(
    values: dict[tuple[str, str, str], float], scenario: str, label: str, kind: str
) -> float | None:
    """Return what a target compares (see TARGETS), None when a figure is missing."""
    ours = values.get(("ours", scenario, label))
    if kind == "ours":
        return ours
    if kind == "scaling":
        twin = ROWS[[row[0] for row in ROWS].index(label) + 1][0]
        at_40 = values.get(("ours", scenario, twin))
        return ours / at_40 if ours is not None and at_40 else None
    theirs = values.get(("theirs", scenario, label))
    return ours / theirs if ours is not None and theirs else None


def report(folder: Path) -> int:
    """Print the table; return 1 when a target is missed or a figure is missing."""
    results = _load(folder)
    if not results:
        print(f"no results in {folder}")
        return 1
    values: dict[tuple[str, str, str], float] = {}
    lines = []
    header = f"{'':36}" + "".join(f"| {s:^28}" for s in SCENARIOS)
    columns = "| {:>8} {:>8} {:>9} ".format("ours", "theirs", "ratio")
    lines += [header, f"{'':36}" + columns * len(SCENARIOS)]
    lines.append("-" * len(lines[-1]))
    for row in ROWS:
        label, _, _, fmt = row
        if not fmt:
            lines.append(label)
            continue
        cells = []
        for scenario in SCENARIOS:
            for side in ("ours", "theirs"):
                if (value := _value(results, side, scenario, row)) is not None:
                    values[side, scenario, label] = value
            ours = values.get(("ours", scenario, label))
            theirs = values.get(("theirs", scenario, label))
            ratio = ours / theirs if ours is not None and theirs else None
            cells.append(
                "| {:>8} {:>8} {:>9} ".format(
                    fmt.format(ours) if ours is not None else "-",
                    fmt.format(theirs) if theirs is not None else "-",
                    f"{ratio:.3f}" if ratio is not None else "-",
                )
            )
        lines.append(f"{label:36}" + "".join(cells))
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
    missed = dict.fromkeys(TARGET_GROUPS, 0)
    print("\nTargets (ratio: ours/theirs; ours: ours alone; scaling: ours at 1,000 / at 40):")
    for scenario, label, limit, kind in TARGETS:
        value = _target(values, scenario, label, kind)
        verdict = "missing" if value is None else ("met" if value <= limit else "MISSED")
        missed[_group(scenario)] += verdict != "met"
        shown = "-" if value is None else f"{value:.3f}"
        print(f"  {scenario:12} {label.strip():34} {kind:8} {shown:>7} <= {limit:<5} {verdict}")
    for group, scenarios in TARGET_GROUPS.items():
        count = sum(1 for target in TARGETS if target[0] in scenarios)
        met = count - missed[group]
        print(f"  {group}: {met} of {count} met")
    notes = sorted({note for result in results.values() for note in result.get("notes", [])})
    print("\nNotes:")
    for note in notes:
        print(f"  - {note}")
    print(
        f"  - theirs, worst staleness: 60 s interval + {TIMER_SLACK_S} s timer slack"
        " + its longest poll"
    )
    return 1 if any(missed.values()) else 0


if __name__ == "__main__":
    sys.exit(report(Path(sys.argv[1])))
