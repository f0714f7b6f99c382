"""The report rhythm of a simulated Envoy: when its microinverters report, and what.

Real microinverters report to the Envoy in a burst about every 300 s (Enphase sometimes
silently changes that to 900 or 3600 s); within a burst they report one after another, over
about a minute. A non-metered Envoy builds its production totals from those reports; a metered
one (with a production CT) reads them continuously from its meter. At night nothing reports.
Each panel's character and the day's weather (``character.py``) scale its reports.

``Rhythm`` describes that; the pure helpers (``bursts``, ``iter_bursts``, ``previous_burst``,
``energy_wh``, ``solar_day``, ``capture_offsets``, ``clone_inverters``) compute with it, and
``Site`` is the state of a simulated Envoy driven by it (used by ``EnvoySimulator``).
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as day_time
from typing import Any
from zoneinfo import ZoneInfo

from .character import PanelCharacter, Weather, factors

# The test instance's time zone (Home Assistant's test default, near San Diego).
PACIFIC = ZoneInfo("US/Pacific")

# Simpson's rule on sub-steps of at most this many seconds: below 0.01 % on a solar day.
_STEP_S = 30.0
# Placing a capture at construction looks back this far for a report that would happen.
_PLACE_LOOKBACK_S = 3 * 86400.0
_EPSILON = 1e-9

Power = Callable[[float], float]


@dataclass
class Rhythm:
    """When the microinverters report and what the site produces.

    ``interval``: seconds between bursts; a burst starts at every epoch time ``t`` with
    ``(t - offset) % interval == 0`` while no change applies. ``interval_changes`` are
    ``(t, new_interval)``: each burst is followed by the next one ``interval_in_force(burst)``
    seconds later, so a change only takes effect from the first burst at or after its time
    (the burst grid goes on from the bursts before it, it is not re-anchored).

    ``spread``: seconds from the first to the last report of a burst (None: the capture's own
    offsets; a number rescales them). ``metered``: the Envoy has a production CT meter, so its
    production moves every second. ``power``: site AC power (W) at an epoch time (None: a
    ``solar_day`` peaking at 90 % of the sum of the inverters' ``maxReportWatts``).
    ``missed``: ``(from, until, serials)``; reports due in ``[from, until)`` do not happen
    (``serials`` None: every inverter). ``tz``: where the Envoy resets ``wattHoursToday``, and
    whose sun the default ``solar_day`` follows.

    ``characters`` (by record index) and ``weather``: each inverter's reports are its share
    of ``power`` times its factor on the local day (``character.factors``); None: every
    panel plain, every day clear. Both are set before the Envoy starts, and kept. A
    production meter (``metered``) still measures ``power`` itself.
    """

    interval: float = 300.0
    offset: float = 0.0
    spread: float | None = None
    metered: bool = False
    power: Power | None = None
    interval_changes: list[tuple[float, float]] = field(default_factory=list)
    missed: list[tuple[float, float, frozenset[str] | None]] = field(default_factory=list)
    tz: tzinfo = PACIFIC
    characters: list[PanelCharacter] | None = None
    weather: Weather | None = None

    def __post_init__(self) -> None:
        """Refuse a rhythm that could never advance."""
        if self.interval <= 0 or any(new <= 0 for _, new in self.interval_changes):
            raise ValueError("report intervals must be positive")
        if self.spread is not None and self.spread < 0:
            raise ValueError("the spread of a burst cannot be negative")

    def interval_in_force(self, t: float) -> float:
        """Return the interval set by the latest change at or before t."""
        interval = self.interval
        latest = -math.inf
        for when, new in self.interval_changes:
            if latest <= when <= t:
                latest, interval = when, new
        return interval

    def come_early(self, burst: float, by: float) -> float:
        """Make the burst after ``burst`` come ``by`` seconds early; return when it comes.

        The bursts after it keep the interval, from the early one on (a real Envoy's grid
        drifts so). ``burst`` must be a burst of the grid, and no later change may be set.
        """
        interval = self.interval_in_force(burst)
        if not 0 < by < interval:
            raise ValueError("a burst can come early by less than an interval only")
        early = burst + interval - by
        self.interval_changes += [(burst, interval - by), (early, interval)]
        return early

    def missed_serials(self, t: float) -> frozenset[str] | None:
        """Return the serials whose report at t is missed; None when every report is."""
        serials: frozenset[str] = frozenset()
        for start, until, which in self.missed:
            if start <= t < until:
                if which is None:
                    return None
                serials |= which
        return serials


# --- the burst grid --------------------------------------------------------------------------


def _steps(anchor: float, interval: float, t: float) -> float:
    """Return (t - anchor) / interval, snapped to a whole number when it is one."""
    steps = (t - anchor) / interval
    nearest = round(steps)
    return float(nearest) if abs(steps - nearest) < _EPSILON else steps


def _segments(rhythm: Rhythm) -> list[tuple[float, float, float]]:
    """Return the grid as (anchor, interval, first burst) pieces, in time order.

    The first piece reaches back forever (its first burst is -inf); every later piece starts
    at the first burst at or after a change, the first burst that change applies to.
    """
    pieces = [(rhythm.offset, rhythm.interval, -math.inf)]
    for when, new in sorted(rhythm.interval_changes):
        anchor, interval, first = pieces[-1]
        start = anchor + math.ceil(_steps(anchor, interval, max(when, first))) * interval
        if start == first:
            pieces[-1] = (start, new, start)
        else:
            pieces.append((start, new, start))
    return pieces


def iter_bursts(rhythm: Rhythm, start: float) -> Iterator[float]:
    """Yield the burst start times at or after ``start``, forever."""
    pieces = _segments(rhythm)
    for index, (anchor, interval, first) in enumerate(pieces):
        until = pieces[index + 1][2] if index + 1 < len(pieces) else math.inf
        if start >= until:
            continue
        step = math.ceil(_steps(anchor, interval, max(start, first)))
        while (burst := anchor + step * interval) < until:
            yield burst
            step += 1


def bursts(rhythm: Rhythm, start: float, end: float) -> list[float]:
    """Return the burst start times in [start, end)."""
    found = []
    for burst in iter_bursts(rhythm, start):
        if burst >= end:
            break
        found.append(burst)
    return found


def iter_bursts_back(rhythm: Rhythm, t: float) -> Iterator[float]:
    """Yield the burst start times at or before t, newest first, forever."""
    pieces = _segments(rhythm)
    for index in range(len(pieces) - 1, -1, -1):
        anchor, interval, first = pieces[index]
        if first > t:
            continue
        following = pieces[index + 1][2] if index + 1 < len(pieces) else math.inf
        if following <= t:
            # Strictly before the next piece's first burst (a burst of this grid).
            step = math.ceil(_steps(anchor, interval, following)) - 1
        else:
            step = math.floor(_steps(anchor, interval, t))
        while (burst := anchor + step * interval) >= first:
            yield burst
            step -= 1


def previous_burst(rhythm: Rhythm, t: float) -> float:
    """Return the latest burst start time at or before t."""
    return next(iter_bursts_back(rhythm, t))


# --- power and energy ------------------------------------------------------------------------


def solar_day(
    peak_w: float,
    sunrise_h: float = 6.5,
    sunset_h: float = 19.5,
    tz: tzinfo = PACIFIC,
) -> Power:
    """Return a clear day: ``peak * sin(pi * (h - sunrise) / (sunset - sunrise)) ** 1.5``.

    ``h`` is the local hour (with fractions) in ``tz``; the power is 0 outside daylight.
    """
    length = sunset_h - sunrise_h
    # UTC offsets by quarter hour (every time zone changes its offset on a quarter hour).
    shifts: dict[int, float] = {}

    def power(t: float) -> float:
        quarter = int(t // 900)
        shift = shifts.get(quarter)
        if shift is None:
            if len(shifts) > 100_000:
                shifts.clear()
            offset = datetime.fromtimestamp(quarter * 900, tz).utcoffset()
            shift = shifts[quarter] = offset.total_seconds() if offset else 0.0
        hour = ((t + shift) % 86400) / 3600
        if not sunrise_h < hour < sunset_h:
            return 0.0
        return float(peak_w * math.sin(math.pi * (hour - sunrise_h) / length) ** 1.5)

    return power


def energy_wh(power: Power, start: float, end: float, step: float = _STEP_S) -> float:
    """Return the energy (Wh) of ``power`` from start to end (Simpson's rule)."""
    if end <= start:
        return 0.0
    halves = max(1, math.ceil((end - start) / (2 * step)))
    count = 2 * halves
    width = (end - start) / count
    total = power(start) + power(end)
    for index in range(1, count):
        total += (4 if index % 2 else 2) * power(start + index * width)
    return total * width / 3 / 3600


# --- inverter records ------------------------------------------------------------------------


def capture_offsets(records: list[dict[str, Any]], spread: float | None = None) -> list[int]:
    """Return each record's report offset (s) within a burst, from its ``lastReportDate``.

    None keeps the capture's own spacing; a number rescales it to that spread (records that
    all reported at once are then spaced evenly, in capture order).
    """
    if not records:
        return []
    dates = [float(record.get("lastReportDate", 0)) for record in records]
    first = min(dates)
    own = [round(when - first) for when in dates]
    if spread is None:
        return own
    widest = max(own)
    if widest == 0:
        last = max(1, len(records) - 1)
        return [round(spread * index / last) for index in range(len(records))]
    return [round(offset * spread / widest) for offset in own]


def clone_inverters(records: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """Return ``count`` records: the capture's first ones, then copies with new serials.

    Copy ``j`` is a copy of record ``j % len(records)`` (so it keeps that record's place in
    the burst) with a unique 12-digit serial.
    """
    if count <= len(records):
        return records[:count]
    if not records:
        raise ValueError("a capture without inverters cannot be cloned")
    used = {str(record.get("serialNumber")) for record in records}
    numbers = [int(serial) for serial in used if serial.isdigit() and len(serial) == 12]
    number = max(numbers, default=121_500_000_000)
    clones = list(records)
    for index in range(len(records), count):
        number += 1
        if number >= 10**12:
            number = 10**11
        while f"{number:012d}" in used:
            number += 1
        serial = f"{number:012d}"
        used.add(serial)
        clones.append({**records[index % len(records)], "serialNumber": serial})
    return clones


def midnight_before(t: float, tz: tzinfo) -> float:
    """Return the local midnight (in ``tz``) at or before t."""
    day = datetime.fromtimestamp(t, tz).date()
    return datetime.combine(day, day_time(), tz).timestamp()


def midnight_after(t: float, tz: tzinfo) -> float:
    """Return the first local midnight (in ``tz``) after t."""
    following = datetime.fromtimestamp(t, tz).date() + timedelta(days=1)
    return datetime.combine(following, day_time(), tz).timestamp()


# --- a simulated Envoy's state ---------------------------------------------------------------


class DayTotals:
    """Energy counters as an Envoy keeps them: lifetime, today, the last seven days.

    ``today`` starts again at each local midnight (``roll``), the finished day moving into
    the seven-day window.
    """

    def __init__(self, lifetime: float, earlier: float, today: float, day: date) -> None:
        """Start on ``day`` with ``today`` so far; ``earlier``: the six days before, in all."""
        self.lifetime = lifetime
        self.today = today
        # The six days before today, oldest first.
        self.previous: deque[float] = deque([earlier / 6] * 6, maxlen=6)
        self.day = day

    def add(self, wh: float) -> None:
        """Count energy (Wh) into the lifetime and today."""
        self.lifetime += wh
        self.today += wh

    def roll(self, day: date) -> None:
        """Start a new day at local midnight: today moves into the seven-day window."""
        if (day - self.day).days > 7:
            self.day = day - timedelta(days=7)
        while self.day < day:
            self.previous.append(self.today)
            self.today = 0.0
            self.day += timedelta(days=1)

    @property
    def seven_days(self) -> float:
        """Return the energy of the last seven days: the six before, and today."""
        return sum(self.previous) + self.today


class Site:
    """The state of an Envoy and its microinverters, moved along a ``Rhythm``.

    ``records`` (the inverter records the Envoy serves) and ``production`` (its
    ``/api/v1/production`` answer) are updated in place. ``advance(now)`` lets every report
    due up to ``now`` happen, in time order.
    """

    def __init__(
        self,
        rhythm: Rhythm,
        records: list[dict[str, Any]],
        production: dict[str, Any],
        now: float,
    ) -> None:
        """Place the capture at ``now``: each inverter's last report is its latest due one."""
        self.rhythm = rhythm
        self.records = records
        self.production = production
        self.serials = [str(record.get("serialNumber")) for record in records]
        maxima = [float(record.get("maxReportWatts") or 0) for record in records]
        total = sum(maxima)
        self.shares = [maximum / total if total > 0 else 1 / len(records) for maximum in maxima]
        self.power: Power = rhythm.power or solar_day(0.9 * total, tz=rhythm.tz)
        self.offsets = capture_offsets(records, rhythm.spread)
        groups: dict[int, list[int]] = {}
        for index, offset in enumerate(self.offsets):
            groups.setdefault(offset, []).append(index)
        self._groups = sorted(groups.items())
        self._max_offset = max(self.offsets, default=0)
        self.report_log: list[tuple[float, str]] = []
        self.production_changes: list[float] = []
        self.version = 0
        self._body: tuple[tuple[int, int, int], bytes] | None = None
        self.serialisations = 0

        # Each inverter's last report (time, W) and the cumulative energy at that time.
        self._last_at = [float(record.get("lastReportDate", 0)) for record in records]
        self._last_w = [int(record.get("lastReportWatts") or 0) for record in records]
        # Each inverter's factor on the local day _factor_day (all 1.0 without character).
        self._plain = [1.0] * len(records)
        self._factor_day: date | None = None
        self._day_factors = self._plain
        self._place(now)
        midnight = midnight_before(now, self.rhythm.tz)
        times = sorted({*self._last_at, midnight, now})
        # The energy integral: E(t) = ∫ power from _cursor_start, kept at a moving cursor.
        self._cursor_t = times[0]
        self._cursor_e = 0.0
        energy = {t: self._energy(t) for t in times}
        self._e_last = [energy[t] for t in self._last_at]
        self.latest_report = max(self._last_at, default=0.0)

        day = self._local_day(now)
        lifetime = float(production.get("wattHoursLifetime", 0))
        earlier = max(
            0.0,
            float(production.get("wattHoursSevenDays", 0))
            - float(production.get("wattHoursToday", 0)),
        )
        # A report before midnight counts nothing today: today's factors are the ones.
        today = sum(
            share * factor * max(0.0, energy[at] - energy[midnight])
            for share, factor, at in zip(
                self.shares, self._factors(now), self._last_at, strict=True
            )
        )
        # What the inverters reported (non-metered production, and production.json's
        # "inverters" entry) and what a production meter measured (metered production).
        self.reported = DayTotals(lifetime, earlier, today, day)
        self.meter = DayTotals(lifetime, earlier, energy[now] - energy[midnight], day)
        self._meter_t = now
        self._meter_e = energy[now]
        self._advanced_to = now
        self._next_midnight = midnight_after(now, self.rhythm.tz)
        self._next_due = math.inf
        self._grid: tuple[Any, ...] = ()
        self._plan(now)
        self._publish(now)

    # --- time helpers --------------------------------------------------------------------

    def _local_day(self, t: float) -> date:
        return datetime.fromtimestamp(t, self.rhythm.tz).date()

    def _factors(self, t: float) -> list[float]:
        """Return each inverter's factor on the local day of t (all 1.0 without character)."""
        rhythm = self.rhythm
        if rhythm.characters is None and rhythm.weather is None:
            return self._plain
        day = self._local_day(t)
        if day != self._factor_day:
            self._factor_day = day
            self._day_factors = factors(rhythm.characters, rhythm.weather, day, len(self.records))
        return self._day_factors

    def _energy(self, t: float) -> float:
        """Return ∫ power (Wh) from the cursor's start to t; moves the cursor forward."""
        if t >= self._cursor_t:
            self._cursor_e += energy_wh(self.power, self._cursor_t, t)
            self._cursor_t = t
            return self._cursor_e
        return self._cursor_e - energy_wh(self.power, t, self._cursor_t)

    # --- placing the capture -------------------------------------------------------------

    def _place(self, now: float) -> None:
        """Give each inverter its latest report at or before now (the last daylight one)."""
        waiting = set(range(len(self.records)))
        for burst in iter_bursts_back(self.rhythm, now):
            if not waiting or burst < now - _PLACE_LOOKBACK_S:
                break
            for offset, members in self._groups:
                at = burst + offset
                if at > now or not waiting.intersection(members):
                    continue
                watts = self.power(at)
                missed = self.rhythm.missed_serials(at)
                if watts <= 0 or missed is None:
                    continue
                for index in members:
                    if index in waiting and self.serials[index] not in missed:
                        waiting.discard(index)
                        weight = self.shares[index] * self._factors(at)[index]
                        self._set_record(index, at, round(weight * watts))
        # Inverters without such a report keep the capture's record (already shifted to now).

    def _set_record(self, index: int, at: float, watts: int) -> None:
        record = self.records[index]
        record["lastReportDate"] = int(at)
        record["lastReportWatts"] = watts
        if watts > (record.get("maxReportWatts") or 0):
            record["maxReportWatts"] = watts
        self._last_at[index] = at
        self._last_w[index] = watts

    # --- moving along --------------------------------------------------------------------

    def _grid_key(self) -> tuple[Any, ...]:
        rhythm = self.rhythm
        return (rhythm.interval, rhythm.offset, tuple(rhythm.interval_changes))

    def _plan(self, now: float) -> None:
        """Work out when the next report is due after now."""
        self._grid = self._grid_key()
        self._next_due = math.inf
        if not self._groups:
            return
        for burst in iter_bursts(self.rhythm, now - self._max_offset):
            if burst > now:
                self._next_due = min(self._next_due, burst + self._groups[0][0])
                return
            for offset, _ in self._groups:
                if burst + offset > now:
                    self._next_due = min(self._next_due, burst + offset)
                    break

    def advance(self, now: float) -> None:
        """Let every report due in (last advance, now] happen, in time order."""
        if now <= self._advanced_to:
            return
        if self._grid != self._grid_key():
            self._plan(self._advanced_to)
        if now < self._next_due and now < self._next_midnight:
            self._advanced_to = now
            return
        for at, kind, members in self._events(self._advanced_to, now):
            if kind == 0:
                self._midnight(at)
            else:
                self._reports(at, members)
        self._advanced_to = now
        self._plan(now)
        self._publish(now)

    def _events(self, start: float, now: float) -> list[tuple[float, int, list[int]]]:
        """Return what happens in (start, now], in time order.

        ``(t, 0, [])`` is a local midnight, ``(t, 1, members)`` the reports of a group of
        inverters (a midnight comes before a report at the same time).
        """
        events: list[tuple[float, int, list[int]]] = []
        midnight = self._next_midnight
        while midnight <= now:
            events.append((midnight, 0, []))
            midnight = midnight_after(midnight, self.rhythm.tz)
        self._next_midnight = midnight
        for burst in iter_bursts(self.rhythm, start - self._max_offset):
            if burst > now:
                break
            for offset, members in self._groups:
                at = burst + offset
                if start < at <= now:
                    events.append((at, 1, members))
        events.sort(key=lambda event: (event[0], event[1]))
        return events

    def _midnight(self, at: float) -> None:
        if self.rhythm.metered:
            energy = self._energy(at)
            self.meter.add(energy - self._meter_e)
            self._meter_e, self._meter_t = energy, at
        day = self._local_day(at + 1)
        self.reported.roll(day)
        self.meter.roll(day)

    def _reports(self, at: float, members: list[int]) -> None:
        watts = self.power(at)
        if watts <= 0:
            return  # night: the inverters are asleep
        missed = self.rhythm.missed_serials(at)
        if missed is None:
            return
        energy = self._energy(at)
        shares, serials, e_last = self.shares, self.serials, self._e_last
        # A report's whole interval counts at its own day's factor (the night between adds
        # next to nothing).
        weights = self._factors(at)
        reported = 0.0
        happened = False
        for index in members:
            serial = serials[index]
            if missed and serial in missed:
                continue
            share = shares[index] * weights[index]
            reported += share * (energy - e_last[index])
            e_last[index] = energy
            self._set_record(index, at, round(share * watts))
            self.report_log.append((at, serial))
            happened = True
        if happened:
            self.reported.add(reported)
            self.latest_report = max(self.latest_report, at)
            self.version += 1
            if not self.rhythm.metered:
                self.production_changes.append(at)

    # --- answers -------------------------------------------------------------------------

    def watts_now(self, now: float) -> int:
        """Return the sum of the reports of the last interval (what a non-metered Envoy says)."""
        since = now - self.rhythm.interval_in_force(now)
        return sum(
            watts for at, watts in zip(self._last_at, self._last_w, strict=True) if at > since
        )

    def _sync_meter(self, now: float) -> None:
        if now > self._meter_t:
            energy = self._energy(now)
            self.meter.add(energy - self._meter_e)
            self._meter_e, self._meter_t = energy, now

    def _publish(self, now: float) -> None:
        """Write the production answer of time now into ``production``."""
        if self.rhythm.metered:
            self._sync_meter(now)
            totals, watts = self.meter, round(self.power(now))
        else:
            totals, watts = self.reported, self.watts_now(now)
        self.production.update(
            wattHoursToday=round(totals.today),
            wattHoursSevenDays=round(totals.seven_days),
            wattHoursLifetime=round(totals.lifetime),
            wattsNow=watts,
        )

    def production_answer(self, now: float) -> dict[str, Any]:
        """Return ``/api/v1/production`` at now (call ``advance(now)`` first)."""
        self._publish(now)
        return self.production

    def inverters_body(self, records: list[dict[str, Any]]) -> bytes:
        """Return the inverters answer, serialised again only when a report changed it."""
        key = (self.version, id(records), len(records))
        if records is not self.records or self._body is None or self._body[0] != key:
            body = (json.dumps(records, indent=2) + "\n").encode()
            self.serialisations += 1
            if records is not self.records:
                return body
            self._body = (key, body)
        return self._body[1]

    def production_json(self, now: float, extra: dict[str, Any]) -> dict[str, Any]:
        """Return ``/production.json`` at now: the inverters, and the meter when metered."""
        production: list[dict[str, Any]] = [
            {
                "type": "inverters",
                "activeCount": len(self.records),
                "readingTime": int(self.latest_report),
                "wNow": self.watts_now(now),
                "whLifetime": round(self.reported.lifetime),
            }
        ]
        if self.rhythm.metered:
            self._sync_meter(now)
            production.append(self._eim(now))
        return {"production": production, **extra}

    def _eim(self, now: float) -> dict[str, Any]:
        """Return a production meter's entry, with plausible electrical values."""
        watts = self.power(now)
        volts = round(240.4 + 1.2 * math.sin(now / 977), 3)
        factor = 0.99 if watts > 0 else 0.0
        amps = watts / (volts * factor) if watts > 0 else 0.0
        apparent = volts * amps
        reactive = math.sqrt(max(0.0, apparent**2 - watts**2))
        meter = self.meter
        return {
            "type": "eim",
            "activeCount": 1,
            "measurementType": "production",
            "readingTime": int(now),
            "wNow": round(watts, 3),
            "whLifetime": round(meter.lifetime, 3),
            "varhLeadLifetime": 0.0,
            "varhLagLifetime": round(meter.lifetime * 0.14, 3),
            "vahLifetime": round(meter.lifetime / 0.99, 3),
            "rmsCurrent": round(amps, 3),
            "rmsVoltage": volts,
            "reactPwr": round(reactive, 3),
            "apprntPwr": round(apparent, 3),
            "pwrFactor": factor,
            "whToday": round(meter.today, 3),
            "whLastSevenDays": round(meter.seven_days, 3),
            "vahToday": round(meter.today / 0.99, 3),
            "varhLeadToday": 0.0,
            "varhLagToday": round(meter.today * 0.14, 3),
        }
