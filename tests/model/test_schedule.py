"""The poll scheduler's rules, on a model of a site's report rhythm (no Home Assistant).

Each test runs the scheduler the way the coordinator does (poll at ``next_poll``, read what
``plan`` says, production too when new reports arrived on a non-metered Envoy) against a
site whose inverters report in bursts, and checks what it read and how stale data got. The
same rules run through Home Assistant against the HTTP simulator in tests/test_polling.py.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.enphase_envoy_legacy.model.schedule import (
    DEFAULT_INTERVAL,
    EARLY,
    LATE_INTERVALS,
    METER_EVIDENCE,
    METER_PROBE_EVERY,
    RECHECK,
    SETTLE,
    PollScheduler,
    RhythmState,
)

# The D5.0.62 capture's burst: 40 inverters over 59 s.
OFFSETS = [0, 0, 1, 2, 4, 6, 8, 8, 11, 11, 13, 15, 16, 18, 19, 20, 21, 24, 25, 26, 28, 29, 30]
OFFSETS += [33, 34, 36, 37, 40, 40, 44, 44, 47, 49, 50, 51, 53, 53, 55, 58, 59]
START = 1_750_000_000.0  # a burst starts here
HOUR = 3600.0
DAY = 24 * HOUR


@dataclass
class Site:
    """Bursts every ``interval`` seconds from START; some missed, none at night."""

    interval: float = 300.0
    changes: list[tuple[float, float]] = field(default_factory=list)  # (from, new interval)
    missed: set[int] = field(default_factory=set)  # indexes of bursts that do not happen
    night: tuple[float, float] | None = None  # no reports in [from, until)
    nights: list[tuple[float, float]] = field(default_factory=list)  # more of them
    metered: bool = False
    end: float = START + 24 * HOUR

    def __post_init__(self) -> None:
        """Lay out the bursts and every report."""
        self.bursts: list[float] = []
        burst, interval = START, self.interval
        while burst < self.end:
            for since, new in self.changes:
                if burst >= since:
                    interval = new
            index = len(self.bursts)
            nights = [self.night] if self.night is not None else []
            dark = any(start <= burst < end for start, end in [*nights, *self.nights])
            self.bursts.append(burst if index not in self.missed and not dark else float("nan"))
            burst += interval
        self.bursts = [burst for burst in self.bursts if not math.isnan(burst)]
        self.events = sorted(burst + offset for burst in self.bursts for offset in OFFSETS)

    def reports(self, now: float) -> dict[str, float]:
        """Return each inverter's last report at ``now``."""
        result = {}
        for index, offset in enumerate(OFFSETS):
            position = bisect.bisect_right(self.bursts, now - offset) - 1
            if position >= 0:
                result[str(index)] = self.bursts[position] + offset
        return result

    def production(self, now: float) -> float:
        """Return a value that changes when production does."""
        if self.metered:
            return float(int(now))
        return float(bisect.bisect_right(self.events, now))


@dataclass
class Run:
    """What a scheduler did over a span of time."""

    inverter_reads: list[float] = field(default_factory=list)
    production_reads: list[float] = field(default_factory=list)
    polls: int = 0
    taken: list[tuple[float, bool | None]] = field(default_factory=list)  # metered, per poll

    def requests(self, start: float, end: float) -> int:
        """Return the reads made in [start, end)."""
        return sum(start <= at < end for at in self.inverter_reads + self.production_reads)

    @staticmethod
    def _staleness(events: list[float], reads: list[float], start: float, end: float) -> float:
        worst = 0.0
        for event in events:
            if start <= event < end:
                position = bisect.bisect_left(reads, event)
                assert position < len(reads), f"event at {event - START} s never read"
                worst = max(worst, reads[position] - event)
        return worst

    def inverter_staleness(self, site: Site, start: float, end: float) -> float:
        """Return the longest a report waited to be read, for reports in [start, end)."""
        return self._staleness(site.events, self.inverter_reads, start, end)

    def production_staleness(self, site: Site, start: float, end: float) -> float:
        """Return the longest a production change waited to be read."""
        if site.metered:
            reads = [at for at in self.production_reads if start <= at < end]
            return max(later - earlier for earlier, later in itertools.pairwise(reads))
        return self._staleness(site.events, self.production_reads, start, end)


def run(
    site: Site,
    scheduler: PollScheduler,
    until: float,
    *,
    first: float = START + 100,
    jitter: float = 0.0,
) -> Run:
    """Poll the site as the coordinator would, from ``first`` until ``until``.

    ``jitter`` makes every poll come that much late (Home Assistant's timers fire up to a
    second early or half a second late).
    """
    result = Run()
    now = first
    production: float | None = None
    while now < until:
        result.polls += 1
        fetch = scheduler.plan(now)
        new = False
        if fetch.inverters or not result.inverter_reads:
            new = scheduler.inverters_seen(now, site.reports(now))
            result.inverter_reads.append(now)
        if production is None or fetch.production or (new and scheduler.production_follows_reports):
            reading = site.production(now)
            scheduler.production_seen(now, changed=reading != production)
            production = reading
            result.production_reads.append(now)
        result.taken.append((now, scheduler.state.metered))
        following = scheduler.next_poll(now)
        assert following > now, "the scheduler must always move on"
        now = following + jitter
    return result


@pytest.mark.parametrize("jitter", [0.0, 0.9, -0.9])
def test_learns_the_interval_and_reads_once_per_burst(jitter: float) -> None:
    """After the first burst, one read of each endpoint per burst, just after it ended."""
    site = Site()
    scheduler = PollScheduler(60)
    result = run(site, scheduler, START + 3 * HOUR, jitter=jitter)
    assert scheduler.state.interval == 300
    assert scheduler.spread == 59
    assert scheduler.state.metered is False
    # The second and third hours: 12 bursts, each read once per endpoint, and one probe for
    # a meter an hour.
    second_and_third = result.requests(START + HOUR, START + 3 * HOUR)
    assert second_and_third <= 2 * (2 * 12 + 1)
    # Never staler than the burst's own length plus the settling time (and the jitter).
    staleness = result.inverter_staleness(site, START + HOUR, START + 3 * HOUR)
    assert staleness <= 59 + SETTLE + max(jitter, 0) + EARLY
    assert result.production_staleness(site, START + HOUR, START + 3 * HOUR) == staleness


def test_restored_rhythm_needs_no_learning() -> None:
    """With the rhythm stored by an earlier run, the first hour is as lean as any other."""
    site = Site()
    learned = PollScheduler(60)
    run(site, learned, START + HOUR)
    restored = PollScheduler(60, RhythmState.from_dict(learned.state.as_dict()))
    assert restored.state == learned.state
    result = run(site, restored, START + 2 * HOUR, first=START + HOUR + 10)
    assert result.requests(START + HOUR, START + 2 * HOUR) <= 2 * 12 + 2 + 1


def test_first_hour_learning_costs_a_few_reads() -> None:
    """A new site: the default interval is right, the meter question takes minutes."""
    site = Site()
    result = run(site, PollScheduler(60), START + HOUR)
    assert result.requests(START, START + HOUR) <= 2 * 12 + 6


def test_interval_change_from_300_to_900() -> None:
    """Enphase moves the site to 900 s: believed once a second burst confirms it.

    Meanwhile the overdue burst is looked for every minute.
    """
    change = START + 2 * HOUR + 10
    site = Site(changes=[(change, 900.0)])
    scheduler = PollScheduler(60)
    result = run(site, scheduler, START + 5 * HOUR)
    assert scheduler.state.interval == 900
    staleness = result.inverter_staleness(site, START + HOUR, START + 5 * HOUR)
    assert staleness <= RECHECK + EARLY
    # Two hours after the change: four bursts an hour, read once per endpoint, the 300 s
    # grid checked for a return to the shorter interval, and the hourly probe for a meter.
    assert result.requests(START + 4 * HOUR, START + 5 * HOUR) == 12 + 4 + 1


def test_interval_change_back_to_300_is_believed_at_once() -> None:
    """A shorter interval is taken at once: waiting would leave reports unread."""
    site = Site(interval=900.0, changes=[(START + 2 * HOUR + 10, 300.0)])
    scheduler = PollScheduler(60)
    result = run(site, scheduler, START + 4 * HOUR)
    assert scheduler.state.interval == 300
    # Sites on a long interval are read on the 300 s grid too: the first short interval is
    # read as soon as any other.
    assert result.inverter_staleness(site, START + HOUR, START + 4 * HOUR) <= 59 + SETTLE + EARLY


def test_missed_burst() -> None:
    """One burst does not come: looked for every minute, then the rhythm goes on unchanged."""
    site = Site(missed={30})
    scheduler = PollScheduler(60)
    result = run(site, scheduler, START + 4 * HOUR)
    assert scheduler.state.interval == 300
    assert scheduler.state.pending_interval is None
    assert result.inverter_staleness(site, START + HOUR, START + 4 * HOUR) <= 59 + SETTLE + EARLY
    rechecks = [
        at
        for at in result.inverter_reads
        if site.bursts[29] + 300 + 59 + SETTLE + EARLY < at < site.bursts[30]
    ]
    assert 1 <= len(rechecks) <= 300 / RECHECK


def test_outage_does_not_stretch_the_interval() -> None:
    """Reads fail for ten minutes (modelled as no reads): one long measurement is not believed."""
    site = Site()
    scheduler = PollScheduler(60)
    run(site, scheduler, START + HOUR)
    result = run(site, scheduler, START + 3 * HOUR, first=START + HOUR + 600 + 120)
    assert scheduler.state.interval == 300
    assert result.inverter_staleness(site, START + HOUR + 900, START + 3 * HOUR) <= 62


def test_night() -> None:
    """No reports all night: one inverter read per interval, no production reads.

    After the overdue search at nightfall the grid is read, and the first report at dawn
    is read as fast as by day.
    """
    night = (START + 2 * HOUR, START + 12 * HOUR)
    site = Site(night=night)
    scheduler = PollScheduler(60)
    result = run(site, scheduler, START + 14 * HOUR)
    dark = (night[0] + 2 * HOUR, night[1] - HOUR)
    inverter_reads = [at for at in result.inverter_reads if dark[0] <= at < dark[1]]
    assert len(inverter_reads) == (dark[1] - dark[0]) / DEFAULT_INTERVAL
    production_reads = [at for at in result.production_reads if dark[0] <= at < dark[1]]
    assert len(production_reads) <= (dark[1] - dark[0]) / METER_PROBE_EVERY + 1
    assert result.inverter_staleness(site, night[1], START + 14 * HOUR) <= 59 + SETTLE + EARLY
    # The overdue search at nightfall is bounded.
    evening = [at for at in result.inverter_reads if night[0] <= at < night[0] + HOUR]
    assert len(evening) <= LATE_INTERVALS * DEFAULT_INTERVAL / RECHECK + HOUR / 300 + 2


def test_metered_site_reads_production_at_the_users_interval() -> None:
    """Production moves between bursts: read every polling interval, inverters per burst."""
    site = Site(metered=True)
    scheduler = PollScheduler(60)
    result = run(site, scheduler, START + 3 * HOUR)
    assert scheduler.state.metered is True
    assert result.production_staleness(site, START + HOUR, START + 3 * HOUR) <= 60 + EARLY
    inverters = [at for at in result.inverter_reads if START + HOUR <= at < START + 2 * HOUR]
    assert len(inverters) == 12
    assert result.requests(START + HOUR, START + 2 * HOUR) <= 60 + 12 + 1


def test_metered_site_with_a_longer_polling_interval() -> None:
    """The user's polling interval bounds how stale a metered site's production gets."""
    site = Site(metered=True)
    scheduler = PollScheduler(300)
    result = run(site, scheduler, START + 3 * HOUR)
    assert result.production_staleness(site, START + HOUR, START + 3 * HOUR) <= 300 + EARLY


def test_meter_found_by_the_hourly_probe() -> None:
    """A non-metered Envoy gets a meter: the next probe between bursts notices."""
    site = Site()
    scheduler = PollScheduler(60)
    run(site, scheduler, START + 2 * HOUR)
    assert scheduler.state.metered is False
    site.metered = True
    result = run(site, scheduler, START + 5 * HOUR, first=START + 2 * HOUR + 1)
    assert scheduler.state.metered is True
    assert result.production_staleness(site, START + 4 * HOUR, START + 5 * HOUR) <= 60 + EARLY


def test_read_mid_burst_is_completed() -> None:
    """A read that lands while a burst is arriving is followed by one at the burst's end."""
    site = Site()
    scheduler = PollScheduler(60)
    run(site, scheduler, START + HOUR)
    middle = site.bursts[12] + 30
    scheduler.inverters_seen(middle, site.reports(middle))
    assert scheduler.next_poll(middle) == site.bursts[12] + 59 + SETTLE


def test_reports_that_never_pause() -> None:
    """Reports that never pause (60 s interval, 59 s bursts) are read once per interval.

    They are not chased every few seconds.
    """
    site = Site(interval=60.0)
    result = run(site, PollScheduler(60), START + 2 * HOUR)
    assert result.requests(START + HOUR, START + 2 * HOUR) <= 2 * 2 * 60
    staleness = result.inverter_staleness(site, START + HOUR, START + 2 * HOUR - 300)
    assert staleness <= 60 + SETTLE + EARLY


@dataclass
class GlitchingSite(Site):
    """A non-metered site whose production moves once, at ``glitch``, with no report."""

    glitch: float = math.inf

    def production(self, now: float) -> float:
        """Return the reports' production, plus one step from the glitch on."""
        return super().production(now) + (now >= self.glitch)


def early_first_burst(early: float) -> Site:
    """Return a non-metered site whose second burst comes ``early`` seconds early."""
    return Site(changes=[(START, 300.0 - early), (START + 300.0 - early, 300.0)])


@pytest.mark.parametrize("early", [30.0, 60.0, 100.0, 150.0])
def test_early_first_burst_is_no_meter(early: float) -> None:
    """A burst earlier than predicted moves production between "bursts": no meter.

    The inverter list read after that change shows the burst's reports, which explain it.
    """
    site = early_first_burst(early)
    assert site.bursts[1] == START + 300 - early
    scheduler = PollScheduler(60)
    result = run(site, scheduler, START + 3 * HOUR)
    # Production was read while the early burst arrived, before the inverters were.
    early_reads = [at for at in result.production_reads if site.bursts[1] <= at < START + 300]
    assert [at for at in result.inverter_reads if site.bursts[1] <= at < early_reads[0]] == []
    assert all(taken is not True for _, taken in result.taken)
    assert scheduler.state.metered is False
    assert result.requests(START + 2 * HOUR, START + 3 * HOUR) <= 2 * 12 + 1


def test_stored_misjudgment_is_undone_within_the_hour() -> None:
    """A non-metered site stored as metered by the release before: undone, and stays undone.

    Production, read every minute as a meter's, does not move between bursts.
    """
    site = Site()
    learned = PollScheduler(60)
    run(site, learned, START + HOUR)
    # What the release before stored (it knew no meter_evidence), taken as metered.
    stored = {**learned.state.as_dict(), "metered": True}
    stored.pop("meter_evidence", None)
    restored = PollScheduler(60, RhythmState.from_dict(stored))
    assert restored.state.metered is True
    restart = START + HOUR + 10
    result = run(site, restored, restart + 3 * HOUR, first=restart)
    assert any(taken is False for _, taken in result.taken), "the misjudgment stuck"
    corrected = min(at for at, taken in result.taken if taken is False)
    assert corrected - restart <= HOUR
    assert all(taken is False for at, taken in result.taken if at >= corrected)
    assert result.requests(corrected + 600, corrected + 600 + HOUR) <= 2 * 12 + 1


def test_one_unexplained_change_is_no_meter_while_learning() -> None:
    """Production moves once between bursts with no report: confirmed once, not believed.

    A meter needs METER_EVIDENCE gaps in a row; the unchanged readings after it undo the
    first confirmation.
    """
    assert METER_EVIDENCE == 2
    site = GlitchingSite(glitch=START + 130)  # in the first gap, while production is learned
    scheduler = PollScheduler(60)
    result = run(site, scheduler, START + 2 * HOUR)
    seen = min(at for at in result.production_reads if at >= site.glitch)
    assert seen + RECHECK in result.inverter_reads, "the inverter list confirmed the change"
    assert seen < START + 300 - 60  # in the first gap, the confirmation too
    assert all(taken is not True for _, taken in result.taken)
    assert scheduler.state.metered is False
    assert scheduler.state.meter_evidence == 0


def test_one_unexplained_change_at_a_probe_is_no_meter() -> None:
    """Found non-metered, a probe sees one unexplained change: confirmed, then undone.

    The confirming poll reads production too and finds it unchanged: the Envoy stays
    non-metered and is probed an hour later again.
    """
    site = GlitchingSite()
    scheduler = PollScheduler(60)
    run(site, scheduler, START + 2 * HOUR)
    assert scheduler.state.metered is False
    probe = scheduler.production_due_at()
    site.glitch = probe - 30
    result = run(site, scheduler, START + 5 * HOUR, first=START + 2 * HOUR + 1)
    # The probe sees the change, the inverters (and production) are read to confirm it.
    assert probe in result.production_reads
    assert probe + RECHECK in result.inverter_reads
    assert probe + RECHECK in result.production_reads
    assert all(taken is False for _, taken in result.taken)
    assert scheduler.state.meter_evidence == 0
    probes = [at for at in result.production_reads if at not in result.inverter_reads]
    assert [at for at in probes if at > probe][:1] == [probe + HOUR]


def test_metered_site_is_recognised_in_two_gaps() -> None:
    """A meter: confirmed in two gaps in a row, so believed within three intervals."""
    site = Site(metered=True)
    scheduler = PollScheduler(60)
    result = run(site, scheduler, START + 2 * HOUR)
    recognised = min(at for at, taken in result.taken if taken is True)
    assert recognised - START <= 3 * DEFAULT_INTERVAL
    assert all(taken is True for at, taken in result.taken if at >= recognised)


@st.composite
def reporting_sites(draw: st.DrawFn) -> tuple[list[tuple[float, str, bool]], float]:
    """Return every report (when, which inverter, whether it moves production), and the end.

    Bursts come at any spacing (early, late, missed), each inverter at any offset or not at
    all; a report of nothing (at dusk) leaves production as it was.
    """
    inverters = draw(st.integers(1, 4))
    reports: list[tuple[float, str, bool]] = []
    burst = START
    for _ in range(draw(st.integers(1, 20))):
        burst += draw(st.floats(20.0, 4000.0))
        for serial in range(inverters):
            offset = draw(st.one_of(st.none(), st.floats(0.0, 90.0)))
            if offset is not None:
                reports.append((burst + offset, str(serial), draw(st.booleans())))
    return sorted(reports), burst + 2 * HOUR


@given(
    site=reporting_sites(),
    first=st.floats(0.0, 600.0),
    jitters=st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=8),
    failures=st.sets(st.integers(0, 300)),
    stored=st.builds(
        RhythmState,
        interval=st.sampled_from([None, 60.0, 300.0, 900.0]),
        metered=st.sampled_from([None, False]),
        unchanged=st.integers(0, 3),
        meter_evidence=st.integers(0, METER_EVIDENCE - 1),
    ),
)
def test_production_that_moves_only_with_reports_is_never_a_meter(
    site: tuple[list[tuple[float, str, bool]], float],
    first: float,
    jitters: list[float],
    failures: set[int],
    stored: RhythmState,
) -> None:
    """Whatever the rhythm, poll timing and failures: no new report, no change, no meter.

    Production moves only when a report lands; polls come when the scheduler says (up to a
    second early or late), some fail (an odd one after reading the inverters).
    """
    reports, end = site
    scheduler = PollScheduler(60, stored)
    now = START + first
    production: float | None = None
    for index in itertools.count():
        if now >= end:
            break
        landed = [(serial, moves) for when, serial, moves in reports if when <= now]
        fetch = scheduler.plan(now)
        new = False
        if fetch.inverters or production is None:
            if index in failures and index % 2 == 0:
                now += RECHECK  # the poll failed before reading anything
                continue
            latest = {serial: when for when, serial, _ in reports if when <= now}
            new = scheduler.inverters_seen(now, latest)
        if index in failures:
            now += RECHECK  # the production read failed
            continue
        if production is None or fetch.production or (new and scheduler.production_follows_reports):
            reading = float(sum(moves for _, moves in landed))
            scheduler.production_seen(now, changed=reading != production)
            production = reading
        assert scheduler.state.metered is not True
        now = max(scheduler.next_poll(now) + jitters[index % len(jitters)], now + 1)


# --- a slowed Envoy (issue #24) ----------------------------------------------------------------


def test_an_envoy_slowed_for_a_day() -> None:
    """Hourly for a day, nights included: slowed (its interval said), then back: not slowed.

    The verdict rests on the bursts: it survives a restart, and a restart changes nothing.
    """
    change, back = START + 2 * HOUR + 10, START + 30 * HOUR + 10
    nights = [(START + (12 + 24 * day) * HOUR, START + (23 + 24 * day) * HOUR) for day in range(2)]
    site = Site(changes=[(change, HOUR), (back, 300.0)], nights=nights, end=START + 2 * DAY)
    scheduler = PollScheduler(60)
    run(site, scheduler, START + 4 * HOUR + 600)
    assert scheduler.state.interval == HOUR
    # Confirmed at the second hourly burst.
    confirmed = START + 4 * HOUR + 300
    assert scheduler.state.slow_since == confirmed
    assert scheduler.slowed is None
    # Restarts: the day goes on from what was stored, the verdict comes with the burst a
    # day after the confirmation (the first read after a restart has nothing to measure
    # from; it came just before that burst).
    restored = PollScheduler(60, RhythmState.from_dict(scheduler.state.as_dict()))
    run(site, restored, confirmed + DAY - 1, first=START + 4 * HOUR + 700)
    assert restored.slowed is None
    restored = PollScheduler(60, RhythmState.from_dict(restored.state.as_dict()))
    run(site, restored, confirmed + DAY + HOUR + 600, first=confirmed + DAY - 1)
    assert restored.slowed == HOUR
    assert RhythmState.from_dict(restored.state.as_dict()) == restored.state
    # A shorter interval clears it at its first burst.
    run(site, restored, back + 300 + 600, first=confirmed + DAY + HOUR + 601)
    assert restored.state.interval == 300
    assert restored.slowed is None
    assert (restored.state.slow_since, restored.state.slow_seen) == (None, None)


@pytest.mark.parametrize("interval", [300.0, 900.0])
def test_outages_and_nights_slow_nothing(interval: float) -> None:
    """Two days of nights, outages of an hour and more: the interval never looks slow."""
    nights = [(START + (12 + 24 * day) * HOUR, START + (23 + 24 * day) * HOUR) for day in range(3)]
    outages = [(START + (4 + 24 * day) * HOUR, START + (5.5 + 24 * day) * HOUR) for day in range(3)]
    site = Site(interval=interval, nights=nights + outages, end=START + 3 * DAY)
    scheduler = PollScheduler(60)
    for hour in range(0, 3 * 24, 6):
        run(site, scheduler, START + (hour + 6) * HOUR, first=START + hour * HOUR + 100)
        assert scheduler.state.slow_since is None
        assert scheduler.slowed is None


def test_a_replaced_envoy_is_judged_afresh() -> None:
    """A new Envoy in front of the same site: its pace is judged from its own bursts."""
    scheduler = PollScheduler(
        60, RhythmState(interval=HOUR, slow_since=START, slow_seen=START + DAY)
    )
    assert scheduler.slowed == HOUR
    scheduler.new_envoy()
    assert scheduler.slowed is None


def test_a_longer_interval_is_judged_by_at_once() -> None:
    """The first burst of a longer interval: schedule waits, judgement does not (at most 1 h)."""
    scheduler = PollScheduler(60, RhythmState(interval=300.0))
    assert scheduler.judged_interval == 300
    scheduler.state.pending_interval = 3600.0
    assert (scheduler.interval, scheduler.judged_interval) == (300, 3600)
    scheduler.state.pending_interval = 11 * HOUR  # a night taken for an interval
    assert scheduler.judged_interval == 3600


def test_a_pending_interval_is_confirmed_across_a_restart() -> None:
    """Restarted between the first two bursts of a longer interval: the second confirms it."""
    site = Site(changes=[(START + HOUR + 10, 900.0)])
    first = START + HOUR + 300 + 900  # the first burst 900 s after the one before
    scheduler = PollScheduler(60)
    run(site, scheduler, first + 120)
    assert scheduler.state.pending_interval == 900
    restored = PollScheduler(60, RhythmState.from_dict(scheduler.state.as_dict()))
    # The first read after the restart measures nothing; the next burst confirms.
    run(site, restored, first + 900 + 120, first=first + 180)
    assert restored.state.interval == 900
