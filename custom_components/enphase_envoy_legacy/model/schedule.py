"""When to ask the Envoy for what: polling that follows the microinverters' report rhythm.

The inverter list changes only when a report burst lands (every 300 s, sometimes 900 or
3600 s), and on an Envoy without a meter so does production: the scheduler learns each
site's rhythm and reads each endpoint just after it can have changed. The rules are in
docs/architecture.md, "How data is updated". Times are epoch seconds.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from .panels import MAX_REPORT_INTERVAL
from .stored import count, items, mapping, number, optional_flag, optional_number

# A metered Envoy's production is read this often (seconds). Legacy Envoys cope with one poll
# a minute; polled more often they drop requests (users' reports, maintainers' advice).
PRODUCTION_INTERVAL: Final = 60.0

# The interval assumed until one is measured: what almost every Envoy uses.
DEFAULT_INTERVAL: Final = 300.0
# Seconds after a burst's expected end before reading: Home Assistant's timers fire up to
# a second early (they are armed on whole seconds of the loop's clock).
SETTLE: Final = 1.0
# A poll is due when its time is at most this far ahead (Home Assistant's timers may fire
# up to a second early).
EARLY: Final = 1.5
# While a burst is overdue, look again this often: the pace of fixed one-minute polling.
RECHECK: Final = 60.0
# How many intervals an overdue burst is looked for at the RECHECK pace.
LATE_INTERVALS: Final = 2
# A burst is over when every inverter of the previous burst reported again, or when no
# report came for this long (the Envoy collects one every few seconds while a burst lasts).
QUIET: Final = 10.0
# Reports within this fraction of the interval of the newest one belong to its burst.
BURST_WINDOW: Final = 0.5
# Two interval measurements within this fraction of each other are the same interval.
TOLERANCE: Final = 0.1
# How many bursts the spread is remembered for.
SPREAD_MEMORY: Final = 12
# Unchanged production readings between bursts in a row (so while producing) that mark an
# Envoy as non-metered; a non-metered Envoy is probed between bursts this often.
UNCHANGED_FOR_NON_METERED: Final = 3
METER_PROBE_EVERY: Final = 3600.0
# Inter-burst gaps in a row, each with a production change that the inverter list confirms
# (no new report), that mark an Envoy as metered.
METER_EVIDENCE: Final = 2
# A report interval longer than this (and TOLERANCE) is slow: Enphase sets 300 s, sometimes
# 900 s; an Envoy whose interval stays slow for SLOWED_FOR is slowed (a repair says so).
SLOW_INTERVAL: Final = 900.0
SLOWED_FOR: Final = 24 * 3600.0


@dataclass(kw_only=True)
class RhythmState:
    """What the scheduler learned about a site, stored across restarts."""

    interval: float | None = None  # the report interval (None: not measured yet)
    pending_interval: float | None = None  # a longer interval waiting for confirmation
    burst_start: float | None = None  # first and last report of the latest burst seen
    burst_end: float | None = None
    spreads: list[float] = field(default_factory=list)  # spreads of the latest bursts
    metered: bool | None = None  # whether production moves between bursts (None: unknown)
    unchanged: int = 0  # unchanged readings between bursts in a row
    meter_evidence: int = 0  # gaps in a row with a confirmed change between bursts
    # The bursts that first and last measured a slow interval, while it stays slow.
    slow_since: float | None = None
    slow_seen: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the state for storage."""
        return asdict(self)

    @classmethod
    def from_dict(cls, stored: object) -> RhythmState:
        """Rebuild a stored state (a missing part takes its default)."""
        data = mapping(stored)
        return cls(
            interval=optional_number(data.get("interval")),
            pending_interval=optional_number(data.get("pending_interval")),
            burst_start=optional_number(data.get("burst_start")),
            burst_end=optional_number(data.get("burst_end")),
            spreads=[number(value) for value in items(data.get("spreads", []))],
            metered=optional_flag(data.get("metered")),
            unchanged=count(data.get("unchanged", 0)),
            meter_evidence=count(data.get("meter_evidence", 0)),
            slow_since=optional_number(data.get("slow_since")),
            slow_seen=optional_number(data.get("slow_seen")),
        )


@dataclass(frozen=True, slots=True)
class Fetch:
    """What a poll reads."""

    inverters: bool = False
    production: bool = False


class PollScheduler:
    """Decides, poll after poll, what to read and when to poll next."""

    def __init__(
        self, production_interval: float = PRODUCTION_INTERVAL, state: RhythmState | None = None
    ) -> None:
        """Start from a stored state; production_interval bounds a meter's staleness."""
        self.production_interval = production_interval
        self.state = state or RhythmState()
        self._reports: dict[str, float] = {}
        self._inverters_at: float | None = None  # when the inverters were last read
        self._production_at: float | None = None  # when production was last read
        self._probe_at: float | None = None  # when a non-metered Envoy was last probed
        # The burst that measured pending_interval: after a restart, the latest one stored
        # (a later burst confirms it; the first read after a restart measures nothing).
        self._pending_burst = (
            self.state.burst_start if self.state.pending_interval is not None else None
        )
        self._members: frozenset[str] = frozenset()  # the inverters of the latest burst
        self._previous_members: frozenset[str] = frozenset()  # and of the one before
        self._burst_over = True  # whether the latest burst was over at the last read
        # A change of production between bursts waiting for the inverter list to confirm it
        # (when to read the inverters for that), whether an inverter read brought new
        # reports since production was last read, and the gap (its burst's start) that gave
        # the latest confirmed change.
        self._confirm_at: float | None = None
        self._reports_since_production = False
        self._evidence_gap: float | None = None

    @property
    def interval(self) -> float:
        """Return the report interval in use."""
        return self.state.interval or DEFAULT_INTERVAL

    @property
    def judged_interval(self) -> float:
        """Return the interval reports are judged by: the one in use, or one longer measured since.

        A longer interval waits for a second burst before the schedule uses it, but the
        reports of its first burst are already that far apart: judged by the shorter one,
        they would look silent.
        """
        return min(max(self.interval, self.state.pending_interval or 0.0), MAX_REPORT_INTERVAL)

    @property
    def slowed(self) -> float | None:
        """Return the report interval when it has been slow for SLOWED_FOR (None: it is not).

        Judged on the bursts' own evidence: a slow interval measured SLOWED_FOR after the
        first burst that measured it (a restart or an outage in between changes nothing).
        """
        since, seen = self.state.slow_since, self.state.slow_seen
        if since is None or seen is None or seen - since < SLOWED_FOR:
            return None
        return self.interval

    def new_envoy(self) -> None:
        """Judge the pace of a new Envoy afresh (its rhythm is Enphase's setting of that Envoy)."""
        self.state.slow_since = self.state.slow_seen = None

    @property
    def spread(self) -> float:
        """Return how long a burst is taken to last."""
        return max(self.state.spreads, default=0.0)

    def inverters_due_at(self) -> float:
        """Return when the inverters should be read next (-inf: now).

        A production change between bursts is confirmed (or explained) by the next read.
        """
        due = self._burst_due_at()
        return due if self._confirm_at is None else min(due, self._confirm_at)

    def _burst_due_at(self) -> float:
        """Return when the inverters can have new reports (-inf: now)."""
        state = self.state
        last = self._inverters_at
        if state.burst_start is None or last is None:
            return -math.inf
        if not self._burst_over and state.burst_end is not None:
            # The burst was still arriving at the last read: read again once it is over.
            return max(state.burst_end + QUIET, state.burst_start + self.spread + SETTLE)
        complete = state.burst_start + self.spread + SETTLE
        # The grid of bursts, at DEFAULT_INTERVAL steps at most: a site on a longer
        # interval is also read where the bursts of a shorter one would land, so going back
        # to 300 s costs no stale data.
        step = min(self.interval, DEFAULT_INTERVAL)
        on_grid = complete + (math.floor((last + EARLY - complete) / step) + 1) * step
        expected = complete + self.interval
        if expected > last + EARLY:
            return min(on_grid, expected)
        if last - expected < LATE_INTERVALS * step:
            return last + RECHECK
        # Long overdue (night, a site switched off): the next burst lands on the grid.
        return on_grid

    def production_due_at(self) -> float:
        """Return when production should be read on its own (-inf: now).

        A non-metered Envoy's production is read with each burst's reports, and on its own
        only to probe for a meter, halfway between two bursts.
        """
        if self._production_at is None:
            return -math.inf
        if self.state.metered is not False or self._probe_at is None:
            return self._production_at + self.production_interval
        # A first confirmed change is checked again in the next gap.
        target = self._probe_at + (
            self.interval if self.state.meter_evidence else METER_PROBE_EVERY
        )
        middle = (self.state.burst_start or 0.0) + self.interval / 2
        return middle + math.ceil((target - middle) / self.interval) * self.interval

    def next_poll(self, now: float) -> float:
        """Return when the next poll should run (absolute time, never before now)."""
        return max(min(self.inverters_due_at(), self.production_due_at()), now)

    def plan(self, now: float) -> Fetch:
        """Return what a poll at ``now`` reads (new reports may add production, see below).

        A read that confirms a meter reads production too: a meter's is then due at once.
        """
        inverters = self.inverters_due_at() <= now + EARLY
        return Fetch(
            inverters=inverters,
            production=self.production_due_at() <= now + EARLY
            or (inverters and self._confirm_at is not None),
        )

    @property
    def production_follows_reports(self) -> bool:
        """Return True when new reports mean production must be read too."""
        return self.state.metered is not True

    @property
    def production_unchanged(self) -> bool:
        """Return True when production cannot have moved since it was last read.

        Without a meter it moves only with the reports: none came since that read.
        """
        return self.production_follows_reports and not self._reports_since_production

    def restored(self, reports: Mapping[str, float]) -> None:
        """Take each inverter's last report known before a restart (the panels' stored).

        The first read after a restart then measures the interval from them, as it would
        have without the restart: an interval that changed around a restart is confirmed
        as soon (every report of it counts; model/panels.py).
        """
        self._reports = dict(reports)

    def inverters_seen(self, now: float, reports: Mapping[str, float]) -> bool:
        """Learn from a read of the inverters (last report per serial); True on new reports."""
        state = self.state
        previous = self._reports
        self._reports = dict(reports)
        self._inverters_at = now
        fresh = {serial: when for serial, when in reports.items() if when > previous.get(serial, 0)}
        if self._confirm_at is not None and not fresh:
            # Production changed and no report since explains it: a meter measured it.
            self._meter_seen()
        self._confirm_at = None
        self._reports_since_production |= bool(fresh)
        if not fresh:
            start, end = state.burst_start, state.burst_end
            if (
                not self._burst_over
                and start is not None
                and end is not None
                and now - end >= QUIET
            ):
                self._end_burst(start, end)
            return False
        newest = max(fresh.values())
        start = min(
            when for when in reports.values() if when > newest - self.interval * BURST_WINDOW
        )
        if state.burst_end is None or start > state.burst_end:
            self._previous_members = self._members
        state.burst_start, state.burst_end = start, newest
        self._members = frozenset(serial for serial, when in reports.items() if when >= start)
        self._burst_over = False
        if (
            (self._previous_members and self._previous_members <= self._members)
            or now - newest >= QUIET
            # No burst lasts longer than this: reports that never pause are read as one burst
            # per interval, not chased every few seconds.
            or now - start >= self.interval * BURST_WINDOW
        ):
            self._end_burst(start, newest)
        deltas = [when - previous[serial] for serial, when in fresh.items() if serial in previous]
        if deltas:
            self._learn_interval(statistics.median(deltas), start)
        return True

    def _end_burst(self, start: float, end: float) -> None:
        """Take the latest burst as over: remember how long it lasted."""
        self._burst_over = True
        self.state.spreads = [*self.state.spreads, end - start][-SPREAD_MEMORY:]

    def _learn_interval(self, measured: float, burst: float) -> None:
        """Take a measured interval: a shorter one at once, a longer one once confirmed.

        A confirmation must come from a later burst than the first measurement (a burst
        read in two parts measures twice).
        """
        state = self.state
        current = state.interval
        confirmed = (
            state.pending_interval is not None
            and self._pending_burst is not None
            and burst > self._pending_burst
            and abs(measured - state.pending_interval) <= state.pending_interval * TOLERANCE
        )
        if current is None or measured <= current * (1 + TOLERANCE) or confirmed:
            state.interval = min(measured, MAX_REPORT_INTERVAL)  # never a night's gap
            state.pending_interval = self._pending_burst = None
        elif self._pending_burst is None or burst > self._pending_burst:
            state.pending_interval, self._pending_burst = measured, burst
        self._judge_pace(burst)

    def _judge_pace(self, burst: float) -> None:
        """Follow whether the interval in use is slow, from the burst that measured it."""
        state = self.state
        if self.interval > SLOW_INTERVAL * (1 + TOLERANCE):
            state.slow_since = burst if state.slow_since is None else state.slow_since
            state.slow_seen = burst
        else:
            state.slow_since = state.slow_seen = None

    def production_seen(self, now: float, *, changed: bool, measured: bool = False) -> None:
        """Learn from a read of production: did it change since the last read.

        Only two reads between the same two bursts tell anything: on a non-metered Envoy
        production moves with the reports. A change there is believed to be a meter's only
        once the next inverter read shows no report since the first of the two reads.
        ``measured``: a CT measured it. CTs measure continuously: the Envoy is metered, and
        the reading is no evidence to learn from.
        """
        state = self.state
        if measured:
            state.metered = True
            changed = True
        between_bursts = (
            self._burst_over
            and self._production_at is not None
            and state.burst_start is not None
            and state.burst_end is not None
            and self._production_at > state.burst_end
            and now < state.burst_start + self.interval
        )
        explained = self._reports_since_production
        self._reports_since_production = False
        if state.metered is False and self.production_due_at() <= now + EARLY:
            # A probe, or the first read since the Envoy was found non-metered.
            self._probe_at = now
        self._production_at = now
        if not between_bursts:
            return
        if not changed:
            state.meter_evidence = 0
            state.unchanged = min(state.unchanged + 1, UNCHANGED_FOR_NON_METERED)
            if state.unchanged >= UNCHANGED_FOR_NON_METERED and state.metered is not False:
                state.metered = False
                self._probe_at = now
            return
        state.unchanged = 0
        if state.metered is not True and not explained and self._evidence_gap != state.burst_start:
            self._confirm_at = now + RECHECK

    def _meter_seen(self) -> None:
        """Count a confirmed change between bursts: one per gap, METER_EVIDENCE in a row."""
        state = self.state
        self._evidence_gap = state.burst_start
        state.meter_evidence += 1
        if state.meter_evidence >= METER_EVIDENCE:
            state.metered = True
            state.meter_evidence = 0
