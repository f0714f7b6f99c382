"""The energy guard: a lifetime counter made safe for Home Assistant's statistics.

Home Assistant takes every decrease of a ``total_increasing`` sensor for a meter reset and
counts the next value in full; legacy Envoys report zeros after a reboot, counter wraps,
brief drops and garbage. ``EnergyGuard`` judges each reading against the site's capacity,
``MeterGuard`` against a meter's electrical service. The rules, and why: docs/architecture.md,
"The energy guard's rules" (rule numbers below refer to it).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Final

from .guard_state import CounterReading, GuardedCounter, GuardState

_LOGGER = logging.getLogger(__package__)

# Sites on legacy Envoys are homes and small businesses: a few kW to a few tens of kW. The
# site's capacity is twice the sum of its microinverters' maximum reported power, and never
# below this floor, so a new entry (its inverters not listed yet) starts with a generous
# bound. A counter wrap (about 1.19 MWh) would take a 10 kW site five days: it is never
# mistaken for production.
MIN_PLAUSIBLE_POWER_W: Final = 10_000
PLAUSIBLE_POWER_MARGIN: Final = 2
# No site behind one Envoy comes near a gigawatt; the cap keeps every derived bound (and so
# every value shown or stored) far below 2**53.
MAX_CAPACITY_W: Final = 1_000_000_000
# Rounding in the Envoy's counters: a few Wh of disagreement are not a drop.
SLACK_WH: Final = 10
# Enphase sets report intervals of 5, 15 or 60 minutes: the carried credit never holds more
# than an hour of production, whatever interval the caller measured.
MAX_REPORT_INTERVAL_SECONDS: Final = 3600
# The first reading's lifetime may be at most this many years of the site's capacity, day
# and night. No Envoy has run for this long, and a site's real yield is a small fraction of
# its capacity (its capacity is twice its peak, its panels sleep at night): generous, but it
# refuses the garbage (1e30 Wh) that would otherwise stick.
LIFETIME_YEARS: Final = 50
HOURS_PER_YEAR: Final = 8766  # 365.25 days
HOURS_PER_DAY: Final = 24
DAYS_PER_WEEK: Final = 7

# A new counter level is believed once it has lasted this long over this many readings.
# A reboot's zeros last 2-3 minutes and connection glitches one or two polls; a real wrap
# or replacement lasts for good, so a quarter of an hour loses little and risks nothing.
REBASE_READINGS: Final = 3
REBASE_AFTER_SECONDS: Final = 15 * 60
# The levels a counter left are remembered for a day, the last few of them: a drop or a jump
# that comes back within it continues from where the counter was. A wrap or a replaced Envoy
# never comes back, and a day later nothing can be taken for a return to where it was.
REMEMBER_SECONDS: Final = 24 * 3600
REMEMBER_LEVELS: Final = 8
# How a reading moved the counter's base (rule 3).
REBASED: Final = "rebased"
RETURNED: Final = "returned"
# The lines a reading may be on, in the order a tie is decided.
ON_BASE, BACK, HELD = 0, 1, 2


class EnergyGuard:
    """Turns the Envoy's readings into values Home Assistant's statistics can trust."""

    # Whether a zero is a real value while nothing was counted yet: never for production
    # (no installed Envoy has produced nothing), yes for a meter's counter (MeterGuard).
    counts_from_zero = False

    def __init__(self, state: GuardState | None = None) -> None:
        """Start from a stored state, or from nothing."""
        self.state = state or GuardState()
        # Seconds of production a single report may bring at once (rule 1), as given to the
        # last update.
        self.report_interval = 0.0

    def plausible_power(self) -> int:
        """Return the site's capacity: the highest power (W) it is taken to be able to produce."""
        capacity = max(MIN_PLAUSIBLE_POWER_W, PLAUSIBLE_POWER_MARGIN * self.state.peak_power)
        return min(capacity, MAX_CAPACITY_W)

    def max_today(self) -> int:
        """Return the most energy (Wh) a day can bring: the capacity for 24 hours."""
        return self.plausible_power() * HOURS_PER_DAY

    def max_seven_days(self) -> int:
        """Return the most energy (Wh) seven days can bring."""
        return self.max_today() * DAYS_PER_WEEK

    def max_lifetime(self) -> int:
        """Return the highest lifetime counter (Wh) believed: LIFETIME_YEARS at capacity."""
        return self.plausible_power() * HOURS_PER_YEAR * LIFETIME_YEARS

    def max_credit(self) -> float:
        """Return the most energy credit (Wh) carried: one report interval's, and the slack."""
        interval = self.report_interval
        seconds = min(interval, MAX_REPORT_INTERVAL_SECONDS) if interval > 0 else 0.0
        return self.plausible_power() * seconds / 3600 + SLACK_WH

    def _energy(self, seconds: float) -> float:
        """Return what the site can produce (Wh) in that time (none in a negative one)."""
        return self.plausible_power() * max(seconds, 0.0) / 3600

    def _plausible_step(self, before: int, after: int, seconds: float) -> bool:
        """Return True when a held counter may move from ``before`` to ``after`` in that time.

        Used to tell whether held readings form a steady new level; what a rebase may add is
        bounded by the credit (rule 3).
        """
        allowed = self._energy(seconds) + self.max_credit()
        return -SLACK_WH <= after - before <= allowed

    def _available(self, timestamp: float) -> float:
        """Return the energy (Wh) the reported lifetime may grow by at ``timestamp``."""
        state = self.state
        since = timestamp - (state.accepted_at if state.accepted_at is not None else timestamp)
        return min(state.credit, self.max_credit()) + self._energy(since)

    def update(
        self,
        production: CounterReading,
        now: datetime,
        *,
        site_peak_power: int = 0,
        report_interval: float = 0.0,
    ) -> GuardedCounter:
        """Judge one reading taken at ``now`` (aware, in the local time zone).

        ``site_peak_power`` is what the site's microinverters can produce together (W), or 0
        when they are not known (the last value known stays); ``report_interval`` the
        seconds between two reports of an inverter (0 for a meter: it moves continuously).
        """
        self.report_interval = report_interval
        state = self.state
        if site_peak_power > 0:
            state.peak_power = min(site_peak_power, MAX_CAPACITY_W)
        capacity = self.plausible_power()
        timestamp = now.timestamp()
        raw = production.watt_hours_lifetime
        self._take_new_counter(raw)
        known, lifetime = state.envoy_lifetime, state.lifetime
        moved: str | None = None  # how the counter's base moved: "rebased" or "returned"
        # A counter that has never counted may read zero (counts_from_zero).
        from_zero = raw == 0 and self.counts_from_zero and not known
        if not (raw > 0 or from_zero) or raw > self.max_lifetime():
            # Zero (a reboot), or beyond any site's lifetime: never a candidate either.
            accepted = False
        elif known is None or lifetime is None or state.accepted_at is None:
            accepted = True
            state.envoy_lifetime = state.lifetime = raw
            state.credit = self.max_credit()
        elif self._rebooting(production, timestamp):
            accepted = False
        else:
            power = self._power(production.watts_now)
            accepted, moved = self._judge(raw, timestamp, power, known, lifetime)
        watts = production.watts_now if accepted and abs(production.watts_now) <= capacity else None
        week_ok = 0 <= production.watt_hours_seven_days <= self.max_seven_days()
        if accepted:
            # Never back in time: a clock set back must not grant the same time twice.
            last = state.accepted_at
            state.accepted_at = timestamp if last is None else max(timestamp, last)
            state.accepted_power = self._power(production.watts_now)
            state.held_since = None
            if week_ok:
                state.seven_days = production.watt_hours_seven_days
        elif state.held_since is None:
            state.held_since = timestamp
        seven_days = state.seven_days
        return GuardedCounter(
            watts_now=watts,
            today=self._today(production, now, accepted=accepted),
            seven_days=seven_days if (seven_days or 0) <= self.max_seven_days() else None,
            lifetime=state.lifetime,
            suspect=not (accepted and week_ok and watts is not None),
            rebased=moved == REBASED,
            returned=moved == RETURNED,
        )

    def new_counter(self) -> None:
        """Take the next plausible reading as the counter's new base (a replaced Envoy)."""
        self.state.new_counter = True

    def _take_new_counter(self, raw: int) -> None:
        """Take a replaced Envoy's first plausible reading as the base the lifetime goes on from."""
        state = self.state
        if state.new_counter and state.lifetime is not None and 0 < raw <= self.max_lifetime():
            state.envoy_lifetime, state.new_counter = raw, False
            state.candidates.clear()
            state.left.clear()  # the old Envoy's levels: the new counter never comes back to them

    def _judge(
        self, raw: int, timestamp: float, power: int, known: int, lifetime: int
    ) -> tuple[bool, str | None]:
        """Judge a lifetime reading against the counter's lines (rules 1 and 3).

        ``known`` is the last accepted reading, ``lifetime`` what was shown with it. Return
        whether the reading is accepted, and how the base moved (REBASED, RETURNED or None).
        """
        state = self.state
        state.left = [level for level in state.left if timestamp - level[0] < REMEMBER_SECONDS]
        available = self._available(timestamp)
        expected = self._estimate(state.accepted_at, state.accepted_power, timestamp, power)
        # The lines the reading may be on: the base's (rule 1), a level held (rule 3) and
        # the levels the counter left; of those it fits, the one along which the counter
        # grew as the power says: (disagreement, order, gain, level left).
        lines: list[tuple[float, int, int, int | None]] = []
        if -SLACK_WH <= raw - known <= available:
            growth = max(raw - known, 0)
            lines.append((abs(growth - expected), ON_BASE, growth + state.owed, None))
        for index, gain in self._back_at(raw, known, lifetime, expected, lambda _: available):
            lines.append((abs(gain - state.owed - expected), BACK, gain, index))
        if (held := self._held(raw, timestamp, power)) is not None:
            lines.append((held, HELD, 0, None))
        if lines and (chosen := min(lines))[1] != HELD:
            _, _, gain, back = chosen
            if back is not None:
                # Back where the counter left: it continues from there, and the levels
                # it left since are forgotten.
                del state.left[back:]
            self._gain(raw if back is not None else max(raw, known), gain, available)
            state.candidates.clear()
            return True, None if back is None else RETURNED
        found = self._consider_new_base(raw, timestamp, power)
        if found is None:
            return False, None
        # A level that lasts: one the counter left, back with what it counted meanwhile
        # (the least of them), or a new base, continued from the lifetime shown.
        backs = self._back_at(
            raw,
            known,
            lifetime,
            expected,
            lambda when: self._energy(timestamp - when) + self.max_credit(),
        )
        if backs:
            back, gain = min(backs, key=lambda item: item[1])
            del state.left[back:]
            self._gain(raw, gain, available)
            return True, RETURNED
        made, estimated = found
        state.left = [
            (when, counter, stood_for, since + estimated)
            for when, counter, stood_for, since in [
                *state.left[1 - REMEMBER_LEVELS :],
                (state.accepted_at or 0.0, known, lifetime + state.owed, 0),
            ]
        ]
        owed = state.owed  # what was owed before stays owed; the rest of the estimate not
        self._gain(raw, made + estimated, available)
        state.owed = owed
        return True, REBASED

    def _back_at(
        self,
        raw: int,
        known: int,
        lifetime: int,
        expected: float,
        reach: Callable[[float], float],
    ) -> list[tuple[int, int]]:
        """Return each level left that ``raw`` is back at, and what the lifetime gains.

        A level left stood for a lifetime at a counter; ``raw`` stands for that lifetime
        and what the counter counted since. It is back there when it moved from the base's
        line (as the power says it grew) towards that level beyond SLACK_WH (up to a level
        left for a drop, down to one left for a jump), reads no lower than it did there,
        and the lifetime gains no more than ``reach(when it was left)`` and loses no more
        than the estimates shown since (which the counter's own count replaces) and
        SLACK_WH.
        """
        state = self.state
        base = lifetime + state.owed - known  # the lifetime the base's counter stands for
        moved = raw - known - expected
        found: list[tuple[int, int]] = []
        for index, (when, counter, stood_for, estimated) in enumerate(state.left):
            gain = stood_for + raw - counter - lifetime
            towards = moved > SLACK_WH if stood_for - counter < base else moved < -SLACK_WH
            fits = -(SLACK_WH + estimated) <= gain and gain - state.owed <= reach(when)
            if towards and raw >= counter - SLACK_WH and fits:
                found.append((index, gain))
        return found

    def _held(self, raw: int, timestamp: float, power: int) -> float | None:
        """Return how far the growth along the level held disagrees with the power.

        None when no level is held, or ``raw`` does not continue it.
        """
        if not self.state.candidates:
            return None
        first_time, first_raw, first_power = self.state.candidates[0]
        last_time, last_raw, _ = self.state.candidates[-1]
        if not self._plausible_step(last_raw, raw, timestamp - last_time):
            return None
        return abs(raw - first_raw - self._estimate(first_time, first_power, timestamp, power))

    def _gain(self, counter: int, gain: int, available: float) -> None:
        """Take ``counter`` as the counter's level and add ``gain`` to the lifetime shown.

        Within zero and the credit: the rest is owed (below zero, taken from the growth
        that follows).
        """
        state = self.state
        shown = min(max(gain, 0), math.floor(available))
        state.envoy_lifetime = counter
        state.lifetime = (state.lifetime or 0) + shown
        state.owed = gain - shown
        state.credit = min(self.max_credit(), available - shown)

    def _power(self, watts: int) -> int:
        """Return a reported power made plausible: within 0..capacity (for estimates)."""
        return min(max(watts, 0), self.plausible_power())

    def carry_forward(self, shown: GuardedCounter, now: datetime) -> GuardedCounter:
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

    def _rebooting(self, production: CounterReading, timestamp: float) -> bool:
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

    def _consider_new_base(self, raw: int, timestamp: float, power: int) -> tuple[int, int] | None:
        """Collect a reading that is out of line.

        Return None while it is held, or, once the new level is believed, how much energy
        it brings: the counter's growth since the level first showed, and an estimate of
        the gap before it (the caller bounds them by the credit).
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
        gap = self._estimate(state.accepted_at, state.accepted_power, first_time, first_power)
        return max(raw - first_raw, 0), round(gap)

    def _estimate(self, since: float | None, then: int, timestamp: float, power: int) -> float:
        """Return the energy (Wh) made from ``since`` to ``timestamp``, by the power reported.

        The mean of the power then and ``power`` now, within the capacity.
        """
        seconds = max(timestamp - (since if since is not None else timestamp), 0.0)
        return min((then + power) / 2 * seconds / 3600, self._energy(seconds))

    def _today(self, production: CounterReading, now: datetime, *, accepted: bool) -> int | None:
        """Return the energy since the start of the local day, from the guarded lifetime.

        Never more than the site can produce in a day: should the lifetime have grown by
        more since the day started, the start of the day moves up.
        """
        state = self.state
        if state.lifetime is None:
            return None
        day = now.date().isoformat()
        if state.day != day or state.day_start is None:
            state.day = day
            state.day_start = state.lifetime - min(
                self._seed_today(production, now, accepted=accepted), state.lifetime
            )
        state.day_start = max(state.day_start, state.lifetime - self.max_today())
        return state.lifetime - state.day_start

    def _seed_today(self, production: CounterReading, now: datetime, *, accepted: bool) -> int:
        """Return how much of the lifetime belongs to today, for a day not followed from its start.

        The Envoy's own counter is used when it is possible: it cannot exceed what the site
        could produce since local midnight (a counter not reset yet, after midnight, would).
        """
        envoy_today = production.watt_hours_today
        midnight = datetime.combine(now.date(), datetime.min.time(), now.tzinfo)
        possible = self._energy((now - midnight).total_seconds()) + self.max_credit()
        if not accepted or not 0 <= envoy_today <= possible:
            return 0
        return envoy_today


class MeterGuard(EnergyGuard):
    """The guard of a meter's counter (consumption, import, export): a fixed capacity.

    The capacity is the electrical service the meter sits on (``service_capacity``), never a
    reading. A meter's counter may really be zero (a house that never exported): while it
    has counted nothing, a zero is its value; once it has counted, a zero is held.
    """

    counts_from_zero = True

    def __init__(self, capacity: int, state: GuardState | None = None) -> None:
        """Start from a stored state, or from nothing, with the meter's capacity (W)."""
        super().__init__(state)
        self.capacity = capacity

    def plausible_power(self) -> int:
        """Return the meter's capacity: set by the caller, never by a reading."""
        return max(min(self.capacity, MAX_CAPACITY_W), 1)


# The largest residential service per phase (North America's class 320; no European home
# has more than 3 x 80 A) and the highest line-to-neutral voltage these Envoys are sold for.
SERVICE_AMPS: Final = 400
SERVICE_VOLTS: Final = 250
# Phases assumed when the meter's phase count is not known.
DEFAULT_PHASES: Final = 3


def service_capacity(phases: int | None) -> int:
    """Return the most power (W) a meter with that many phases can measure (1 to 3)."""
    count = phases if phases is not None and 1 <= phases <= DEFAULT_PHASES else DEFAULT_PHASES
    return count * SERVICE_AMPS * SERVICE_VOLTS


def log_judgement(
    tag: str, what: str, raw: CounterReading, shown: GuardedCounter, *, was_holding: bool
) -> None:
    """Say what the guard held back (once as it starts, once as it ends), rebased or continued.

    ``tag`` names the entry (never the serial), ``what`` the counter ("production").
    """
    if shown.suspect and not was_holding:
        _LOGGER.warning(
            "Envoy %s reports %s that cannot be right (lifetime %s Wh, today %s Wh,"
            " now %s W); showing the last good values until it makes sense again",
            tag,
            what,
            raw.watt_hours_lifetime,
            raw.watt_hours_today,
            raw.watts_now,
        )
    elif shown.suspect:
        _LOGGER.debug("Envoy %s: holding back %s %s", tag, what, raw)
    elif was_holding:
        _LOGGER.info("Envoy %s reports plausible %s again", tag, what)
    if shown.rebased:
        _LOGGER.warning(
            "Envoy %s: its %s lifetime counter moved to %s Wh and stayed there (a counter"
            " wrap or a replaced Envoy); lifetime energy continues from %s Wh without a jump",
            tag,
            what,
            raw.watt_hours_lifetime,
            shown.lifetime,
        )
    if shown.returned:
        _LOGGER.warning(
            "Envoy %s: its %s lifetime counter came back to %s Wh, where it was before it"
            " moved; lifetime energy continues from %s Wh, counting the step back once",
            tag,
            what,
            raw.watt_hours_lifetime,
            shown.lifetime,
        )
