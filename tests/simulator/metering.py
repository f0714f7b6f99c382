"""The CT meters of a simulated Envoy-S: ``/production.json`` and the ``/ivp/meters`` endpoints.

``Metering`` holds what a capture's ``production.json.body``, ``ivp_meters.json`` and
``ivp_meters_readings.json`` say (``production_json``, ``meters``, ``readings``: a test may
change them) and writes each answer from them, with these knobs:

- ``moving``: the values follow a day: production a clear solar day, the house ``load`` a
  curve with a morning and an evening peak, net power their difference (export at noon,
  import at night); every lifetime counter grows with the energy of its power (import and
  export on the net meter, from the capture's own numbers on). The production and
  total-consumption entries' ``whToday`` and ``whLastSevenDays`` are the site's own day, as
  a real Envoy keeps them: ``whToday`` is the energy since local midnight in ``tz`` (at
  start, what the day's curve made since then), starting again at each local midnight;
  the six days before today share what the capture's ``whLastSevenDays`` held besides its
  ``whToday``. (The capture's ``whToday`` belongs to the moment it was taken, 13:03 UTC,
  early morning at the real site: carried to another hour it would not fit the day.) The
  net-consumption entry's, which this firmware does not keep (zeros), stay as captured;
- ``glitch(kind, until, drop_wh)``: every counter reads zero (``"zero"``, after a reboot)
  or ``drop_wh`` lower (``"drop"``) until ``until``, then what it would have read;
- ``ct_fault(measurement_type, fault)``: ``check-wiring`` (the meter's power reads reversed),
  ``not-metering`` (it reads nothing), ``disabled`` (the meter is off: ``activeCount`` 0);
- ``battery``: an AC Battery (``storage[]`` with ``activeCount`` 1 and ``percentFull``),
  charging from what would be exported and feeding the house at night when ``moving``;
- ``lines``: ``/production.json?details=1`` gives the CTs' entries one line per phase,
  split as the capture's readings split their channels.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Literal

from .rhythm import (
    PACIFIC,
    DayTotals,
    Power,
    energy_wh,
    midnight_after,
    midnight_before,
    solar_day,
)

CtFault = Literal["check-wiring", "not-metering", "disabled"]
_DRAWN = ("production", "total-consumption", "import", "export")
# The entries whose today and last seven days follow the site's day when moving.
_DAILY = ("production", "total-consumption")
# Fields that count energy: the glitches act on them.
_COUNTERS = frozenset(
    {"whLifetime", "whToday", "whLastSevenDays", "actEnergyDlvd", "actEnergyRcvd", "whNow"}
)
_NUMBERS_KEPT = frozenset({"eid", "timestamp", "readingTime", "activeCount", "freq", "phaseCount"})


def house_load(base_w: float = 350.0, tz: Any = PACIFIC) -> Power:
    """Return a house's load: a base, a morning peak (7-9 h) and an evening one (17-22 h)."""

    def power(t: float) -> float:
        local = datetime.fromtimestamp(t, tz)
        hour = local.hour + local.minute / 60 + local.second / 3600
        morning = 600.0 * max(0.0, math.sin(math.pi * (hour - 7) / 2)) if 7 < hour < 9 else 0.0
        evening = 1500.0 * math.sin(math.pi * (hour - 17) / 5) if 17 < hour < 22 else 0.0
        return base_w + morning + evening

    return power


@dataclass
class Battery:
    """An AC Battery: 1.2 kWh, 260 W at most."""

    percent_full: float = 50.0
    capacity_wh: float = 1200.0
    max_w: float = 260.0
    watts: float = 0.0

    @property
    def stored_wh(self) -> float:
        """Return the energy stored."""
        return self.capacity_wh * self.percent_full / 100

    def entry(self, now: float) -> dict[str, Any]:
        """Return its ``storage[]`` entry."""
        state = "charging" if self.watts < 0 else "discharging" if self.watts > 0 else "idle"
        return {
            "type": "acb",
            "activeCount": 1,
            "readingTime": int(now),
            "wNow": round(self.watts),
            "whNow": round(self.stored_wh),
            "percentFull": round(self.percent_full),
            "state": state,
        }


@dataclass
class Glitch:
    """Counters that read zero (``"zero"``) or lower (``"drop"``) until a time."""

    kind: Literal["zero", "drop"]
    until: float
    drop_wh: float = 0.0


def _load(folder: Path, name: str) -> Any:
    path = folder / name
    if not path.exists():
        return None
    try:
        return json.loads(path.read_bytes())
    except ValueError:
        return None  # this firmware answers an HTML page there


class Metering:
    """The meters of a simulated Envoy-S, read from a capture folder."""

    def __init__(
        self,
        folder: Path,
        clock: Callable[[], float],
        solar: Power | None,
        tz: tzinfo = PACIFIC,
    ) -> None:
        """Load the capture's metered answers (each None when the capture has none).

        ``tz``: where the Envoy's day starts (its ``whToday`` resets at local midnight there).
        """
        production_json = _load(folder, "production.json.body")
        self.production_json: dict[str, Any] | None = (
            production_json if isinstance(production_json, dict) else None
        )
        self.meters: list[dict[str, Any]] | None = _load(folder, "ivp_meters.json")
        self.readings: list[dict[str, Any]] | None = _load(folder, "ivp_meters_readings.json")
        self.moving = False
        self.lines = False
        self.battery: Battery | None = None
        self.glitches: list[Glitch] = []
        self.ct_faults: dict[str, CtFault] = {}
        peak = sum(float(r.get("maxReportWatts") or 0) for r in self._inverter_records(folder))
        self.solar: Power = solar or solar_day(0.9 * peak or 5000.0, tz=tz)
        self.load: Power = house_load(tz=tz)
        self.tz = tz
        self._start = self._t = clock()
        self.drawn = dict.fromkeys(_DRAWN, 0.0)
        # Each daily entry's today and last seven days, from when the meters start moving.
        self.days: dict[str, DayTotals] = {}
        self._base = copy.deepcopy((self.production_json, self.readings))

    @staticmethod
    def _inverter_records(folder: Path) -> list[dict[str, Any]]:
        records = _load(folder, "api_v1_production_inverters.json")
        return records if isinstance(records, list) else []

    # --- knobs ---------------------------------------------------------------------------

    def glitch(self, kind: Literal["zero", "drop"], until: float, drop_wh: float = 0.0) -> None:
        """Make every counter read zero, or ``drop_wh`` lower, until ``until``."""
        self.glitches.append(Glitch(kind, until, drop_wh))

    def ct_fault(self, measurement_type: str, fault: CtFault | None) -> None:
        """Give a meter a fault (None: heal it)."""
        if fault is None:
            self.ct_faults.pop(measurement_type, None)
        else:
            self.ct_faults[measurement_type] = fault

    # --- moving along --------------------------------------------------------------------

    def net(self, t: float) -> float:
        """Return the net power at t (W, negative: export), the battery not counted."""
        return self.load(t) - self.solar(t)

    def advance(self, now: float) -> None:
        """Let the counters grow with the energy of their power up to now (when moving)."""
        if not self.moving or now <= self._t:
            self._t = max(self._t, now)
            return
        self._start_days()
        start, self._t = self._t, now
        powers = self._daily_powers()
        # Up to each local midnight on the way, then the day starts again.
        moment = start
        while moment < now:
            midnight = midnight_after(moment, self.tz)
            end = min(now, midnight)
            for kind, power in powers.items():
                energy = energy_wh(power, moment, end)
                self.drawn[kind] += energy
                self.days[kind].add(energy)
            if end == midnight:
                day = datetime.fromtimestamp(midnight, self.tz).date()
                for totals in self.days.values():
                    totals.roll(day)
            moment = end
        self.drawn["import"] += energy_wh(lambda t: max(0.0, self.net(t)), start, now)
        self.drawn["export"] += energy_wh(lambda t: max(0.0, -self.net(t)), start, now)
        if (battery := self.battery) is not None:
            # Charge from what would be exported, feed the house at night.
            battery.watts = max(-battery.max_w, min(battery.max_w, self.net(now)))
            change = -battery.watts * (now - start) / 3600
            stored = min(battery.capacity_wh, max(0.0, battery.stored_wh + change))
            battery.percent_full = 100 * stored / battery.capacity_wh
            if stored in (0.0, battery.capacity_wh):
                battery.watts = 0.0

    def _daily_powers(self) -> dict[str, Power]:
        return {"production": self.solar, "total-consumption": self.load}

    def _start_days(self) -> None:
        """Start each daily entry's day when the meters start moving (once).

        Its today is what its curve made since local midnight.
        """
        if self.days:
            return
        start = self._t
        midnight = midnight_before(start, self.tz)
        day = datetime.fromtimestamp(start, self.tz).date()
        captured = {
            entry.get("measurementType"): entry
            for section in ("production", "consumption")
            for entry in (self._base[0] or {}).get(section, [])
            if entry.get("type") == "eim"
        }
        for kind, power in self._daily_powers().items():
            entry = captured.get(kind, {})
            earlier = max(0.0, entry.get("whLastSevenDays", 0) - entry.get("whToday", 0))
            self.days[kind] = DayTotals(0.0, earlier, energy_wh(power, midnight, start), day)

    def _powers(self, now: float) -> dict[str, float]:
        return {
            "production": self.solar(now),
            "total-consumption": self.load(now),
            "net-consumption": self.net(now),
        }

    def _counters(self) -> dict[str, float]:
        """Return the energy each measurement type's lifetime counter gained."""
        return {
            "production": self.drawn["production"],
            "total-consumption": self.drawn["total-consumption"],
            "net-consumption": self.drawn["import"],
        }

    # --- answers -------------------------------------------------------------------------

    def production_json_answer(self, now: float, *, details: bool) -> dict[str, Any] | None:
        """Return ``/production.json`` at now (None: the capture has none)."""
        base = self._base[0]
        if base is None or self.production_json is None:
            return None
        answer = copy.deepcopy(self.production_json if not self.moving else base)
        if self.moving:
            self._start_days()
        powers, gained = self._powers(now), self._counters()
        shares = self._channel_shares()
        for section in ("production", "consumption"):
            for entry in answer.get(section, []):
                kind = entry.get("measurementType")
                if entry.get("type") != "eim" or kind not in powers:
                    continue
                if self.moving:
                    _move_entry(entry, powers[kind], gained[kind], now, self.days.get(kind))
                self._apply_fault(entry, kind, "wNow", "activeCount")
                if details and self.lines and kind in shares:
                    entry["lines"] = _lines(entry, shares[kind])
        if self.battery is not None:
            answer["storage"] = [self.battery.entry(now)]
        return _glitched(answer, self.glitches, now)

    def meters_answer(self) -> list[dict[str, Any]] | None:
        """Return ``/ivp/meters`` (None: the capture has none)."""
        if self.meters is None:
            return None
        answer = copy.deepcopy(self.meters)
        for meter in answer:
            fault = self.ct_faults.get(meter.get("measurementType", ""))
            if fault == "disabled":
                meter["state"] = "disabled"
            elif fault is not None:
                meter["meteringStatus"] = fault
        return answer

    def readings_answer(self, now: float) -> list[dict[str, Any]] | None:
        """Return ``/ivp/meters/readings`` at now (None: the capture has none)."""
        base = self._base[1]
        if base is None or self.readings is None:
            return None
        answer = copy.deepcopy(self.readings if not self.moving else base)
        kinds = self._kinds()
        powers = self._powers(now)
        for reading in answer:
            kind = kinds.get(reading.get("eid"))
            if kind is None:
                continue
            if self.moving:
                _move_reading(reading, powers[kind], self.drawn, kind, now)
            self._apply_fault(reading, kind, "activePower", None)
        return _glitched(answer, self.glitches, now)

    def _kinds(self) -> dict[Any, str]:
        return {meter.get("eid"): meter.get("measurementType", "") for meter in self.meters or []}

    def _channel_shares(self) -> dict[str, list[float]]:
        """Return how the capture's readings split each meter's power over its channels."""
        kinds = self._kinds()
        shares: dict[str, list[float]] = {}
        for reading in self._base[1] or []:
            channels = reading.get("channels") or []
            total = sum(abs(c.get("activePower", 0)) for c in channels)
            if kinds.get(reading.get("eid")) is not None and total > 0:
                shares[kinds[reading["eid"]]] = [
                    abs(c.get("activePower", 0)) / total for c in channels
                ]
        return shares

    def _apply_fault(
        self, record: dict[str, Any], kind: str, power: str, active: str | None
    ) -> None:
        fault = self.ct_faults.get(kind)
        if fault == "check-wiring":
            _scale(record, power, -1.0)
        elif fault is not None:
            _scale(record, power, 0.0)
            if fault == "disabled" and active is not None:
                record[active] = 0


def _scale(record: dict[str, Any], field: str, factor: float) -> None:
    record[field] = round(record.get(field, 0) * factor, 3) + 0.0
    for channel in record.get("channels", []):
        _scale(channel, field, factor)


def _move_entry(
    entry: dict[str, Any], watts: float, gained: float, now: float, day: DayTotals | None
) -> None:
    volts = entry.get("rmsVoltage") or 240.0
    entry.update(
        readingTime=int(now),
        wNow=round(watts, 3),
        whLifetime=round(entry.get("whLifetime", 0) + gained, 3),
        rmsCurrent=round(abs(watts) / volts, 3),
    )
    if day is not None:
        entry.update(whToday=round(day.today, 3), whLastSevenDays=round(day.seven_days, 3))


def _move_reading(
    reading: dict[str, Any], watts: float, drawn: dict[str, float], kind: str, now: float
) -> None:
    delivered = drawn["import"] if kind == "net-consumption" else drawn.get(kind, 0.0)
    received = drawn["export"] if kind == "net-consumption" else 0.0
    old_power = abs(reading.get("activePower", 0)) or 1.0
    for record in [reading, *reading.get("channels", [])]:
        share = abs(record.get("activePower", 0)) / old_power if record is not reading else 1.0
        record.update(
            timestamp=int(now),
            activePower=round(watts * share, 3),
            instantaneousDemand=round(watts * share, 3),
            actEnergyDlvd=round(record.get("actEnergyDlvd", 0) + delivered * share, 3),
            actEnergyRcvd=round(record.get("actEnergyRcvd", 0) + received * share, 3),
        )


def _lines(entry: dict[str, Any], shares: list[float]) -> list[dict[str, Any]]:
    return [
        {
            key: round(entry[key] * share, 3)
            if key not in ("rmsVoltage", "pwrFactor")
            else entry[key]
            for key in ("wNow", "whLifetime", "whToday", "rmsCurrent", "rmsVoltage", "pwrFactor")
            if key in entry
        }
        for share in shares
    ]


def _glitched(answer: Any, glitches: list[Glitch], now: float) -> Any:
    """Return an answer with the glitches in force at now applied to every counter."""
    active = [glitch for glitch in glitches if now < glitch.until]
    if not active:
        return answer

    def walk(value: Any) -> Any:
        if isinstance(value, list):
            return [walk(item) for item in value]
        if not isinstance(value, dict):
            return value
        result = {}
        for key, item in value.items():
            if isinstance(item, list | dict):
                result[key] = walk(item)
            elif key in _COUNTERS and isinstance(item, int | float):
                for glitch in active:
                    item = 0 if glitch.kind == "zero" else max(0, item - glitch.drop_wh)  # noqa: PLW2901
                result[key] = item
            elif (
                any(glitch.kind == "zero" for glitch in active)
                and key not in _NUMBERS_KEPT
                and isinstance(item, int | float)
                and not isinstance(item, bool)
            ):
                result[key] = 0
            else:
                result[key] = item
        return result

    return walk(answer)
