"""The energy guard: what the Envoy reports, made safe for Home Assistant's statistics.

Home Assistant takes every decrease of a ``total_increasing`` sensor for a meter reset and
counts the next value in full, so one bad reading of the Envoy's lifetime counter adds a
whole lifetime of production to the Energy dashboard. Legacy Envoys produce such readings:
zeros for a few minutes after a reboot, steps down of about 1.19 MWh when inverter counters
wrap (firmware below 8), brief drops during connection trouble, and garbage.

The rules, applied to each reading of the lifetime counter:

1. A reading that moves forward no faster than the site can produce is accepted: the
   reported lifetime grows by the same amount. A non-metered Envoy's counter moves in steps,
   each microinverter's report adding the energy of its whole report interval at once, so
   one report interval's worth of production is allowed on top (``report_interval``).
2. A zero is held (the last good value stays): no installed Envoy's lifetime is zero; it
   reads zero while it reboots.
3. Anything else (a drop, a jump the site could not have produced) is held too, and becomes
   a candidate. When the readings come back in line with the last accepted one, the
   candidates are forgotten: a drop that came back is ignored. When the new level persists
   (REBASE_READINGS readings over at least REBASE_AFTER, each moving forward plausibly from
   the one before), it is taken as the counter's new base and the reported lifetime
   continues from where it was, growing with the counter from then on: a wrap or an Envoy
   replacement never shows as a jump, up or down. The energy of the gap between the last
   accepted reading and the first reading at the new level (one poll) is estimated from the
   power reported on each side of it (the trapezoid rule).

The reported lifetime therefore never decreases and never grows faster than the site can
produce. "Energy today" is derived from it (the reported lifetime minus its value at the
start of the local day), so a late, partial or DST-shifted reset of the Envoy's own daily
counter cannot show as a spike either. This module has no Home Assistant imports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from .envoy_client import EnvoyProduction

# Sites on legacy Envoys are homes and small businesses: a few kW to a few tens of kW. The
# plausible power is twice the highest power the site was seen to reach (the sum of its
# microinverters' maximum reported power, or the Envoy's own wattsNow), and never below
# this floor, so a new entry starts with a generous bound. A counter wrap (about 1.19 MWh)
# would take a 10 kW site five days: it is never mistaken for production.
MIN_PLAUSIBLE_POWER_W: Final = 10_000
PLAUSIBLE_POWER_MARGIN: Final = 2
# Rounding in the Envoy's counters: a few Wh of disagreement are not a drop.
SLACK_WH: Final = 10

# A new counter level is believed once it has lasted this long over this many readings.
# A reboot's zeros last 2-3 minutes and connection glitches one or two polls; a real wrap
# or replacement lasts for good, so a quarter of an hour loses little and risks nothing.
REBASE_READINGS: Final = 3
REBASE_AFTER_SECONDS: Final = 15 * 60


@dataclass(kw_only=True)
class GuardState:
    """What the guard remembers, stored across restarts."""

    envoy_lifetime: int | None = None  # the last accepted reading of the Envoy's counter
    lifetime: int | None = None  # the guarded lifetime the sensor reports
    accepted_at: float | None = None  # when the last reading was accepted (epoch seconds)
    accepted_power: int = 0  # the power (W) reported with it
    peak_power: int = 0  # the highest power seen (W)
    day: str | None = None  # the local date "today" counts from
    day_start: int | None = None  # the guarded lifetime at the start of that day
    seven_days: int | None = None  # the last good "last seven days" value
    held_since: float | None = None  # when readings started being held back
    # Readings out of line with the last accepted one: (epoch seconds, counter, power W).
    candidates: list[tuple[float, int, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the state for storage."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GuardState:
        """Rebuild the state from storage, ignoring what it does not know."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        known["candidates"] = [tuple(item) for item in known.get("candidates", [])]
        return cls(**known)


@dataclass(frozen=True, kw_only=True)
class GuardedProduction:
    """The site totals to show: None where the Envoy gave nothing trustworthy yet."""

    watts_now: int | None
    today: int | None
    seven_days: int | None
    lifetime: int | None
    suspect: bool  # this reading was held back
    rebased: bool  # this reading set a new base for the Envoy's counter


class EnergyGuard:
    """Turns the Envoy's readings into values Home Assistant's statistics can trust."""

    def __init__(self, state: GuardState | None = None) -> None:
        """Start from a stored state, or from nothing."""
        self.state = state or GuardState()
        # Seconds of production a single reading may bring at once (see rule 1).
        self.report_interval = 0.0

    def plausible_power(self) -> int:
        """Return the highest power (W) the site is taken to be able to produce."""
        return max(MIN_PLAUSIBLE_POWER_W, PLAUSIBLE_POWER_MARGIN * self.state.peak_power)

    def _plausible_step(self, before: int, after: int, seconds: float) -> bool:
        """Return True when the counter may move from ``before`` to ``after`` in that time."""
        span = max(seconds, 0.0) + self.report_interval
        allowed = self.plausible_power() * span / 3600 + SLACK_WH
        return -SLACK_WH <= after - before <= allowed

    def update(
        self, production: EnvoyProduction, now: datetime, site_peak_power: int = 0
    ) -> GuardedProduction:
        """Judge one reading taken at ``now`` (aware, in the local time zone)."""
        state = self.state
        timestamp = now.timestamp()
        raw = production.watt_hours_lifetime
        rebased = False
        known, lifetime = state.envoy_lifetime, state.lifetime
        if known is None or lifetime is None or state.accepted_at is None:
            accepted = raw > 0
            if accepted:
                state.envoy_lifetime = state.lifetime = raw
        elif raw <= 0 or self._rebooting(production, timestamp):
            accepted = False
        elif self._plausible_step(known, raw, timestamp - state.accepted_at):
            accepted = True
            state.lifetime = lifetime + max(raw - known, 0)
            state.envoy_lifetime = max(raw, known)
            state.candidates.clear()
        else:
            growth = self._consider_new_base(raw, timestamp, production.watts_now)
            accepted = rebased = growth is not None
            if growth is not None:
                # Continue from the reported lifetime, with what the counter made since the
                # new level first showed.
                state.lifetime = lifetime + growth
                state.envoy_lifetime = raw
        if accepted:
            state.accepted_at = timestamp
            state.accepted_power = max(production.watts_now, 0)
            state.held_since = None
            # Only plausible figures may widen the bound: one garbage wattsNow must not. The
            # inverters' own maxima may (the caller caps each at what a microinverter can
            # do), so a site far above the starting bound is judged by its real size.
            state.peak_power = max(state.peak_power, site_peak_power)
            if production.watts_now <= self.plausible_power():
                state.peak_power = max(state.peak_power, production.watts_now)
            state.seven_days = production.watt_hours_seven_days
        elif state.held_since is None:
            state.held_since = timestamp
        return GuardedProduction(
            watts_now=production.watts_now if accepted else None,
            today=self._today(production, now, accepted=accepted),
            seven_days=state.seven_days,
            lifetime=state.lifetime,
            suspect=not accepted,
            rebased=rebased,
        )

    def carry_forward(self, shown: GuardedProduction, now: datetime) -> GuardedProduction:
        """Return the last values shown, at a moment with no new reading (``now``, local).

        Only "energy today" can change: at local midnight it starts again from zero. Nothing
        arrived since the last reading, so all of the lifetime belongs to the days before.
        """
        state = self.state
        if state.lifetime is None:
            return shown
        day = now.date().isoformat()
        if state.day != day or state.day_start is None:
            state.day, state.day_start = day, state.lifetime
        return replace(shown, today=state.lifetime - state.day_start)

    def _rebooting(self, production: EnvoyProduction, timestamp: float) -> bool:
        """Return True for the zeros an Envoy reports while it reboots, lifetime aside.

        Power, today and the last seven days all at zero, when the last seven days were not:
        a rolling week cannot empty at once. Held for REBASE_AFTER_SECONDS at most, after
        which the zeros are believed (a site can have a week without production: snow).
        """
        state = self.state
        zeros = not (
            production.watts_now or production.watt_hours_today or production.watt_hours_seven_days
        )
        held_for = timestamp - (state.held_since if state.held_since is not None else timestamp)
        return zeros and (state.seven_days or 0) > 0 and held_for < REBASE_AFTER_SECONDS

    def _consider_new_base(self, raw: int, timestamp: float, power: int) -> int | None:
        """Collect a reading that is out of line.

        Return None while it is held, or, once the new level is believed, how much energy
        to add: the counter's growth since the level first showed, plus an estimate for the
        gap before it.
        """
        state = self.state
        if state.candidates:
            last_time, last_raw, _ = state.candidates[-1]
            if not self._plausible_step(last_raw, raw, timestamp - last_time):
                state.candidates.clear()
        state.candidates.append((timestamp, raw, power))
        first_time, first_raw, first_power = state.candidates[0]
        if len(state.candidates) < REBASE_READINGS or timestamp - first_time < REBASE_AFTER_SECONDS:
            return None
        state.candidates.clear()
        gap_hours = (first_time - (state.accepted_at or first_time)) / 3600
        gap = (state.accepted_power + max(first_power, 0)) / 2 * gap_hours
        plausible_gap = self.plausible_power() * gap_hours
        return max(raw - first_raw, 0) + round(min(max(gap, 0.0), plausible_gap))

    def _today(self, production: EnvoyProduction, now: datetime, *, accepted: bool) -> int | None:
        """Return the energy since the start of the local day, from the guarded lifetime."""
        state = self.state
        if state.lifetime is None:
            return None
        day = now.date().isoformat()
        if state.day != day or state.day_start is None:
            state.day = day
            state.day_start = state.lifetime - min(
                self._seed_today(production, now, accepted=accepted), state.lifetime
            )
        return state.lifetime - state.day_start

    def _seed_today(self, production: EnvoyProduction, now: datetime, *, accepted: bool) -> int:
        """Return how much of the lifetime belongs to today, for a day not followed from its start.

        The Envoy's own counter is used when it is possible: it cannot exceed what the site
        could produce since local midnight (a counter not reset yet, after midnight, would).
        """
        envoy_today = production.watt_hours_today
        midnight = datetime.combine(now.date(), datetime.min.time(), now.tzinfo)
        if not accepted or not self._plausible_step(
            0, envoy_today, (now - midnight).total_seconds()
        ):
            return 0
        return envoy_today
