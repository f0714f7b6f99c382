"""Print the benchmark table from the JSON results: ``python -m benchmarks.report DIR``.

Each row: ours, theirs (Home Assistant's built-in enphase_envoy) and ours/theirs, for each
scenario. A figure measured several times (its repeats: windows of polls, hours, restarts)
shows its median, and the ratio its range over the repeats: from ours' lowest over theirs'
highest to ours' highest over theirs' lowest. The targets are judged with that range under
the table: met when the whole range is within the target, missed when the whole range is
beyond it, undecided when the range straddles it.

Exit status: 0 when every target is met; 1 when one is missed or a figure is missing; 3 when
none is missed but one is undecided (the run's spread is too wide to tell: run it again, or
``scripts/bench --full``, which repeats more).
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import (
    DAYLIGHT_H,
    HOURLY_STATISTICS_PER_DAY,
    NIGHT_H,
    SCENARIOS,
    SHORT_TERM_STATISTICS_PER_DAY,
    STATISTICS_ROWS_PER_DAY,
    day_rows,
)

Result = dict[str, Any]

# Home Assistant arms each coordinator timer on a whole second of the loop's clock plus
# 0.05-0.5 s, so a fixed 60 s poll can come up to 60.5 s after the one before it.
TIMER_SLACK_S = 0.5

# The width of the rows' labels.
LABEL = 38

EXIT_MET = 0
EXIT_MISSED = 1
EXIT_UNDECIDED = 3


@dataclass(frozen=True)
class Figure:
    """One side's figure: its repeats (a single value when measured once)."""

    values: list[float]

    @property
    def median(self) -> float:
        """Return the median of the repeats."""
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        """Return the lowest repeat."""
        return min(self.values)

    @property
    def high(self) -> float:
        """Return the highest repeat."""
        return max(self.values)


@dataclass(frozen=True)
class Ratio:
    """Ours over theirs: the medians' ratio, and its range over both sides' repeats."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, ours: Figure, theirs: Figure) -> Ratio | None:
        """Return ours/theirs, None when theirs is zero (nothing to compare with)."""
        if theirs.low <= 0:
            return None
        return cls(ours.median / theirs.median, ours.low / theirs.high, ours.high / theirs.low)

    def verdict(self, limit: float) -> str:
        """Judge "at most limit" with the range: met, MISSED or undecided."""
        if self.high <= limit:
            return "met"
        if self.low > limit:
            return "MISSED"
        return "undecided"

    def shown(self, digits: int = 2) -> str:
        """Return the median, and the range when the repeats differ."""
        median = f"{self.median:.{digits}f}"
        low, high = f"{self.low:.{digits}f}", f"{self.high:.{digits}f}"
        return median if low == high else f"{median} [{low}-{high}]"


Getter = Callable[[Result], list[float]]


@dataclass(frozen=True)
class Row:
    """A row of the table: what it shows, at which size, how each side's result gives it."""

    label: str
    size: int = 0
    get: Getter | None = None  # None: a heading
    fmt: str = ""
    # What it measures, for the targets (default: the label without its indent).
    name: str = ""

    @property
    def key(self) -> str:
        """Return the name the targets use."""
        return self.name or self.label.strip()


def _side(result: Result, suffix: str) -> str:
    """Return the key suffix of a like-for-like figure: ours' own; theirs as installed."""
    return suffix if result["side"] == "ours" else ""


def _values(result: Result, key: str, factor: float = 1.0) -> list[float]:
    """Return a figure (a value or its repeats) as a list, times a factor."""
    value = result[key]
    return [float(v) * factor for v in (value if isinstance(value, list) else [value])]


def _scaled(key: str, factor: float = 1.0) -> Getter:
    """Return the getter of a figure with the same key on both sides."""
    return lambda r: _values(r, key, factor)


def _sided(ours: str, theirs: str, factor: float = 1.0) -> Getter:
    """Return the getter of a figure whose keys differ on each side."""
    return lambda r: _values(r, ours if r["side"] == "ours" else theirs, factor)


def _daylight_states(suffix: str) -> Getter:
    """Return the getter of the state rows of a daylight hour (its repeats)."""
    return lambda r: _values(r, f"state_rows_daylight_hour{_side(r, suffix)}")


def _day_states(suffix: str) -> Getter:
    """Return the getter of the state rows of a day: each daylight repeat, with the night."""

    def get(result: Result) -> list[float]:
        (night,) = _values(result, f"state_rows_night_hour{_side(result, suffix)}")
        return [day_rows(hour, night) for hour in _daylight_states(suffix)(result)]

    return get


def _statistics(suffix: str) -> Getter:
    """Return the getter of a day's statistics rows."""
    return lambda r: _values(r, f"statistics_entities{_side(r, suffix)}", STATISTICS_ROWS_PER_DAY)


def _day_total(suffix: str) -> Getter:
    """Return the getter of a day's database rows: its state rows and statistics rows."""

    def get(result: Result) -> list[float]:
        (statistics_rows,) = _statistics(suffix)(result)
        return [states + statistics_rows for states in _day_states(suffix)(result)]

    return get


def _production_only(result: Result) -> list[float]:
    """Return ours' CPU ms of a poll that read production only (as installed)."""
    return [float(result["cpu_per_poll_kind_with_panels_s"]["production"]) * 1000]


def _rows(suffix: str, name_suffix: str = "", indent: str = "") -> list[Row]:
    """Return the database rows' table rows (as installed, or like for like)."""
    rows = []
    for label, get in (
        ("state rows per daylight hour", _daylight_states(suffix)),
        ("state rows per day", _day_states(suffix)),
        ("statistics rows per day", _statistics(suffix)),
        ("database rows per day", _day_total(suffix)),
    ):
        for size in (1000, 40):
            text = f"{label}, {size:,}"
            rows.append(Row(f"{indent}{text}", size, get, "{:.0f}", f"{text}{name_suffix}"))
    return rows


# As installed first: each integration with the entities it enables by default, ours with
# its per-panel power, energy today and reporting status; then ours like for like, with its
# per-panel entities turned off, against the built-in as installed.
ROWS: list[Row] = [
    *(
        Row(
            f"CPU ms per {per}, {size:,} inverters",
            size,
            _sided(f"cpu_per_{per}_with_panels{rep}_s", f"cpu_per_{per}{theirs}_s", 1000),
            fmt,
        )
        for per, rep, theirs, fmt in (
            ("hour", "_repeats", "_windows", "{:.0f}"),
            ("poll", "", "", "{:.2f}"),
        )
        for size in (1000, 40)
    ),
    Row("  production-only poll, 1,000", 1000, _production_only, "{:.2f}"),
    Row("  production-only poll, 40", 40, _production_only, "{:.2f}"),
    Row("HTTP requests per hour (incl. 401)", 40, _scaled("requests_per_hour_repeats"), "{:.1f}"),
    Row("  of which 401 challenges", 40, _scaled("challenges_per_hour"), "{:.2f}"),
    Row("kB transferred per hour", 40, _scaled("bytes_per_hour", 1 / 1000), "{:.0f}"),
    Row(
        "setup: requests (restart)",
        40,
        _sided("restart_requests_with_panels_repeats", "restart_requests_repeats"),
        "{:.0f}",
    ),
    Row(
        "setup: wall time ms (restart)",
        40,
        _sided("setup_walls_with_panels_s", "setup_walls_s", 1000),
        "{:.1f}",
    ),
    Row(
        "  at 1,000 inverters",
        1000,
        _sided("setup_walls_with_panels_s", "setup_walls_s", 1000),
        "{:.0f}",
        "setup: wall time ms (restart), 1,000",
    ),
    Row("worst staleness s, production", 40, _scaled("staleness_production_s"), "{:.1f}"),
    Row("worst staleness s, inverters", 40, _scaled("staleness_inverters_s"), "{:.1f}"),
    *_rows(""),
    Row("peak memory MiB, 40 inverters", 40, _scaled("peak_memory_bytes", 1 / 2**20), "{:.1f}"),
    Row(
        "peak memory MiB, 1,000 inverters",
        1000,
        _scaled("peak_memory_bytes", 1 / 2**20),
        "{:.1f}",
    ),
    Row("Like for like (ours' per-panel entities off; --full measures CPU and memory):"),
    *(
        Row(
            f"  CPU ms per hour, {size:,} inverters",
            size,
            _sided("cpu_per_hour_repeats_s", "cpu_per_hour_windows_s", 1000),
            "{:.0f}",
            f"CPU ms per hour, {size:,} inverters, like for like",
        )
        for size in (1000, 40)
    ),
    Row(
        "  setup: wall time ms (restart)",
        40,
        _sided("setup_walls_s", "setup_walls_s", 1000),
        "{:.1f}",
        "setup: wall time ms (restart), like for like",
    ),
    *_rows("_like_for_like", ", like for like", "  "),
    *(
        Row(
            f"  peak memory MiB, {size:,} inverters",
            size,
            _sided("peak_memory_like_for_like_bytes", "peak_memory_bytes", 1 / 2**20),
            "{:.1f}",
            f"peak memory MiB, {size:,} inverters, like for like",
        )
        for size in (40, 1000)
    ),
]

# (what it measures, scenario, the row it reads, the highest ours/theirs allowed). As
# installed unless the name says otherwise.
TARGETS: list[tuple[str, str, str, float]] = [
    *(
        ("requests per hour", scenario, "HTTP requests per hour (incl. 401)", limit)
        for scenario, limit in (("non-metered", 0.25), ("metered", 0.6), ("ct-metered", 0.5))
    ),
    *(
        (f"worst staleness, {what}", scenario, f"worst staleness s, {what}", 1.0)
        for what in ("production", "inverters")
        for scenario in SCENARIOS
    ),
    *(
        ("setup requests (restart)", scenario, "setup: requests (restart)", 0.5)
        for scenario in SCENARIOS
    ),
    *(
        (
            f"CPU per hour, {size:,} microinverters",
            scenario,
            f"CPU ms per hour, {size:,} inverters",
            0.8 if (scenario, size) == ("non-metered", 1000) else 0.6,
        )
        for size in (40, 1000)
        for scenario in SCENARIOS
    ),
    *(
        (
            f"database rows per day, {size:,} microinverters{how}",
            scenario,
            f"database rows per day, {size:,}{how}",
            limit,
        )
        for how, limit in (("", 1.0), (", like for like", 0.6))
        for size in (40, 1000)
        for scenario in SCENARIOS
    ),
    *(
        (
            f"peak memory, {size:,} microinverters",
            scenario,
            f"peak memory MiB, {size:,} inverters",
            0.7,
        )
        for size in (40, 1000)
        for scenario in SCENARIOS
    ),
]


def _load(folder: Path) -> dict[tuple[str, str, int], Result]:
    results = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        results[data["side"], data["scenario"], data["inverters"]] = data
    return results


def _theirs_staleness(result: Result) -> float:
    """Return a fixed 60 s poll's worst staleness: the interval, the timer slack, the poll."""
    return 60.0 + TIMER_SLACK_S + float(result.get("poll_wall_max_s", 0.0))


def _figure(
    results: dict[tuple[str, str, int], Result], side: str, scenario: str, row: Row
) -> Figure | None:
    """Return a side's figure of a row, None when it was not measured."""
    result = results.get((side, scenario, row.size))
    if result is None or row.get is None:
        return None
    try:
        if side == "theirs" and row.label.startswith("worst staleness"):
            return Figure([_theirs_staleness(result)])
        return Figure(row.get(result))
    except KeyError:
        return None


def _table(
    results: dict[tuple[str, str, int], Result],
) -> tuple[list[str], dict[tuple[str, str], Ratio]]:
    """Return the table's lines and each row's ratio by (row name, scenario)."""
    ratios: dict[tuple[str, str], Ratio] = {}
    header = f"{'':{LABEL}}" + "".join(f"| {s:^35} " for s in SCENARIOS)
    columns = "| {:>8} {:>8} {:>17} ".format("ours", "theirs", "ratio [range]")
    lines = [header, f"{'':{LABEL}}" + columns * len(SCENARIOS)]
    lines.append("-" * len(lines[-1]))
    for row in ROWS:
        if row.get is None:
            lines.append(row.label)
            continue
        cells = []
        for scenario in SCENARIOS:
            ours = _figure(results, "ours", scenario, row)
            theirs = _figure(results, "theirs", scenario, row)
            ratio = Ratio.of(ours, theirs) if ours is not None and theirs is not None else None
            if ratio is not None:
                ratios[row.key, scenario] = ratio
            cells.append(
                "| {:>8} {:>8} {:>17} ".format(
                    row.fmt.format(ours.median) if ours is not None else "-",
                    row.fmt.format(theirs.median) if theirs is not None else "-",
                    ratio.shown() if ratio is not None else "-",
                )
            )
        lines.append(f"{row.label:{LABEL}}" + "".join(cells))
    return lines, ratios


def report(folder: Path) -> int:
    """Print the table and the targets; return the exit status (see the module's doc)."""
    results = _load(folder)
    if not results:
        print(f"no results in {folder}")
        return EXIT_MISSED
    lines, ratios = _table(results)
    some = next(iter(results.values()))
    machine = some.get("machine", {})
    pyenphase = next(
        (r["machine"].get("pyenphase") for r in results.values() if r["side"] == "theirs"), None
    )
    print("\n".join(line.rstrip() for line in lines))
    print(
        f"\nRun: {some.get('mode', 'default')}. Machine: {machine.get('cpu')} "
        f"({machine.get('usable_cores')} usable cores), Python {machine.get('python')}, "
        f"Home Assistant {machine.get('homeassistant')}, pyenphase {pyenphase}"
    )
    verdicts: dict[str, int] = {"met": 0, "MISSED": 0, "undecided": 0, "missing": 0}
    print("\nTargets: ours/theirs at most the limit; met or missed only with the whole range:")
    for name, scenario, row, limit in TARGETS:
        ratio = ratios.get((row, scenario))
        verdict = "missing" if ratio is None else ratio.verdict(limit)
        verdicts[verdict] += 1
        shown = "-" if ratio is None else ratio.shown(3)
        print(f"  {name:58} {scenario:12} {shown:>21} <= {limit:<4} {verdict}")
    print(
        f"  {verdicts['met']} met, {verdicts['MISSED']} missed, {verdicts['undecided']} "
        f"undecided, {verdicts['missing']} missing, of {len(TARGETS)}"
    )
    notes = sorted({note for result in results.values() for note in result.get("notes", [])})
    print("\nNotes:")
    for note in notes:
        print(f"  - {note}")
    print(
        f"  - theirs, worst staleness: 60 s interval + {TIMER_SLACK_S} s timer slack"
        " + its longest poll"
    )
    print(
        f"  - rows: a day is {DAYLIGHT_H:g} daylight hours (the simulated sunrise to sunset) "
        f"at the daylight hour's state rows and {NIGHT_H:g} night hours at the night hour's; "
        f"statistics rows: {STATISTICS_ROWS_PER_DAY} a day ({HOURLY_STATISTICS_PER_DAY} hourly, "
        f"{SHORT_TERM_STATISTICS_PER_DAY} of 5 minutes) for each entity with a state class and "
        "a numeric state"
    )
    if verdicts["MISSED"] or verdicts["missing"]:
        return EXIT_MISSED
    return EXIT_UNDECIDED if verdicts["undecided"] else EXIT_MET


if __name__ == "__main__":
    sys.exit(report(Path(sys.argv[1])))
