"""A counter that comes back is counted once (issue #23, part 3), for the site and a meter.

First the cases a hostile-Envoy probe measured, then the promise as a property: an honest
Envoy counts the true energy at a steady rate and reports the power it really measures;
its counter glitches. It drops (any depth) or jumps up (beyond anything the site could
produce meanwhile); the new level counts on with the truth, or stays where it fell; a glitch
on top of a glitch; back to a level the counter left (the one before the last glitch, or an
earlier one the guard took as a base); zeros after a reboot, garbage, restarts from the
stored state. Hypothesis chooses the glitches, their depth and when. What must hold, for the
site's guard and a meter's (docs/architecture.md, "The energy guard's rules"):

- the lifetime shown never grows by more than the true count (within SLACK_WH);
- once the counter is back where it started, the lifetime shown has grown by the true
  count: nothing a glitch hid is lost;
- and, as always, the bound, the ranges and the store (tests/model/test_guard_properties.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.enphase_envoy_legacy.model.guard import (
    REBASE_AFTER_SECONDS,
    REBASE_READINGS,
    SLACK_WH,
    EnergyGuard,
    MeterGuard,
    service_capacity,
)
from custom_components.enphase_envoy_legacy.model.guard_state import (
    CounterReading,
    GuardedCounter,
    GuardState,
)
from tests.model.test_guard import WRAP
from tests.model.test_guard_properties import START, Seen, check, guard_json, later

# The R4.10.35 capture's meters are split-phase.
METER_CAPACITY = service_capacity(2)


def meter(state: GuardState | None = None) -> EnergyGuard:
    """Return the guard of an import or export counter of the capture's meters."""
    return MeterGuard(METER_CAPACITY, state)


def site(state: GuardState | None = None) -> EnergyGuard:
    """Return the site's guard."""
    return EnergyGuard(state)


@dataclass
class Probe:
    """Feeds a guard an Envoy counting ``watts`` that reads ``offset(minute)`` Wh off."""

    make: Callable[[GuardState | None], EnergyGuard]
    watts: int
    interval: float = 0.0  # the inverters' report interval (the site's guard)
    claim: int | None = None  # the power the Envoy reports, when not the true one
    guard: EnergyGuard = field(init=False)
    minute: int = 0
    start: int = 10_000_000
    shown: list[GuardedCounter] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)  # with the bounds in force
    truths: list[int] = field(default_factory=list)  # what was counted at each reading

    def __post_init__(self) -> None:
        """Start the guard."""
        self.guard = self.make(None)

    def truth(self) -> int:
        """Return what the Envoy counted by now (Wh)."""
        return self.start + self.watts * self.minute // 60

    def read(self, offset: int = 0, minutes: int = 1) -> GuardedCounter:
        """Let ``minutes`` pass and judge the counter ``offset`` Wh off the truth."""
        self.minute += minutes
        reading = CounterReading(
            watts_now=self.watts if self.claim is None else self.claim,
            watt_hours_today=1_000,
            watt_hours_seven_days=5_000,
            watt_hours_lifetime=self.truth() + offset,
        )
        at = later(START, self.minute * 60)
        self.shown.append(self.guard.update(reading, at, report_interval=self.interval))
        self.seen.append(seen(self.shown[-1], self.guard))
        self.truths.append(self.truth())
        return self.shown[-1]

    def restart(self) -> None:
        """Restart the guard from its stored state, as Home Assistant's store keeps it."""
        self.guard = self.make(GuardState.from_dict(json.loads(guard_json(self.guard))))

    def counted(self) -> tuple[int, int]:
        """Return how much the lifetime shown grew, and how much the Envoy really counted.

        The bound, the ranges and the store hold all along.
        """
        check(self.seen, from_zero=True)
        first, last = self.shown[0].lifetime, self.shown[-1].lifetime
        assert first is not None
        assert last is not None
        return last - first, self.truths[-1] - self.truths[0]


def seen(result: GuardedCounter, guard: EnergyGuard) -> Seen:
    """Return what the guard showed, with the bounds in force then."""
    return Seen(
        result=result,
        accepted_at=guard.state.accepted_at,
        capacity=guard.plausible_power(),
        max_credit=guard.max_credit(),
        stored=guard_json(guard),
    )


def glitch_for(probe: Probe, offset: int, minutes: int, *, every: int = 1) -> None:
    """Read the counter ``offset`` Wh off for ``minutes``, one reading every ``every``."""
    for _ in range(minutes // every):
        probe.read(offset, every)


# The probe: a drop that comes back was counted twice, once as the level it fell to (a new
# base after 15 minutes) and again as the step back up (growth once the credit allowed).
@pytest.mark.parametrize(
    ("make", "watts", "drop", "minutes"),
    [
        pytest.param(meter, 500, 6_000, 20, id="import or export, 6 kWh for 20 minutes"),
        pytest.param(meter, 500, 6_000, 40, id="import or export, 6 kWh for 40 minutes"),
        pytest.param(site, 3_000, 2_000, 10, id="production, 2 kWh for 10 minutes"),
        pytest.param(site, 3_000, 2_000, 20, id="production, 2 kWh for 20 minutes"),
        pytest.param(site, 3_000, 2_000, 40, id="production, 2 kWh for 40 minutes"),
    ],
)
def test_a_drop_that_comes_back_is_counted_once(
    make: Callable[[GuardState | None], EnergyGuard], watts: int, drop: int, minutes: int
) -> None:
    """The counter falls, stays down, comes back: the lifetime grows by what was counted."""
    probe = Probe(make, watts, interval=300 if make is site else 0)
    glitch_for(probe, 0, 5)
    glitch_for(probe, -drop, minutes)
    glitch_for(probe, 0, 60)
    shown, counted = probe.counted()
    assert shown == counted
    assert [result.returned for result in probe.shown].count(True) == (minutes >= 15)


def test_a_jump_that_comes_back_loses_nothing() -> None:
    """The other way: a jump up that lasts 40 minutes, then the counter is back.

    Read every ten minutes, with no power reported: the estimates of the two gaps (the
    probe lost 1,400 of the 2,800 Wh counted meanwhile) give way to the counter's own count.
    """
    probe = Probe(site, 4_200, interval=300, claim=0)
    glitch_for(probe, 0, 10, every=10)
    glitch_for(probe, 50_000, 40, every=10)
    glitch_for(probe, 0, 120, every=10)
    shown, counted = probe.counted()
    assert shown == counted
    assert [result.rebased for result in probe.shown].count(True) == 1
    assert [result.returned for result in probe.shown].count(True) == 1


@pytest.mark.parametrize("make", [site, meter], ids=["production", "a meter"])
def test_what_the_counter_counted_while_it_stayed_down_is_shown(
    make: Callable[[GuardState | None], EnergyGuard],
) -> None:
    """A level that stays where it fell for an hour, then the counter is back.

    The hour's energy comes with the return, as the credit allows (never faster than the
    capacity: the bound holds), and all of it in the end.
    """
    probe = Probe(make, 4_000)
    glitch_for(probe, 0, 5)
    fell_at = probe.truth() - 3_000
    for _ in range(60):
        probe.read(fell_at - probe.truth())
    glitch_for(probe, 0, 60)
    shown, counted = probe.counted()
    assert shown == counted
    assert [result.returned for result in probe.shown].count(True) == 1


def test_a_second_drop_before_the_return() -> None:
    """Down, further down, back to the first level, back up: each step back counted once."""
    probe = Probe(meter, 800)
    glitch_for(probe, 0, 5)
    glitch_for(probe, -6_000, 20)
    glitch_for(probe, -9_000, 20)
    glitch_for(probe, -6_000, 20)
    # Back on the first level: counted from it, its estimate of the gap aside (to the Wh).
    assert abs(probe.counted()[0] - probe.counted()[1]) <= 1
    glitch_for(probe, 0, 20)
    shown, counted = probe.counted()
    assert shown == counted
    assert [result.returned for result in probe.shown].count(True) == 2
    # Both at once, straight back up.
    probe = Probe(meter, 800)
    glitch_for(probe, 0, 5)
    glitch_for(probe, -6_000, 20)
    glitch_for(probe, -9_000, 20)
    glitch_for(probe, 0, 20)
    assert probe.counted()[0] == probe.counted()[1]


def test_a_restart_in_between_changes_nothing() -> None:
    """Home Assistant restarts while the counter is down, and again as it comes back."""
    probe = Probe(site, 3_000, interval=300)
    glitch_for(probe, 0, 5)
    glitch_for(probe, -2_000, 20)
    probe.restart()
    glitch_for(probe, -2_000, 5)
    probe.restart()
    glitch_for(probe, 0, 30)
    shown, counted = probe.counted()
    assert shown == counted


@pytest.mark.parametrize(
    "fallen",
    [
        pytest.param(lambda _: -WRAP, id="a counter wrap"),
        pytest.param(lambda truth: 5_000 - truth, id="a replaced Envoy"),
    ],
)
def test_a_level_that_never_comes_back_stays_the_base(fallen: Callable[[int], int]) -> None:
    """A wrap (1.19 MWh down for good) or a new Envoy's counter starting low.

    The lifetime continues from where it was, with what the counter counts, for days (the
    level left is forgotten after a day); nothing is ever taken for a return.
    """
    probe = Probe(site, 6_000, interval=300)
    glitch_for(probe, 0, 5, every=5)
    offset = fallen(probe.truth())
    glitch_for(probe, offset, 3 * 24 * 60, every=5)
    shown, counted = probe.counted()
    assert shown == counted
    assert [result.rebased for result in probe.shown].count(True) == 1
    assert not any(result.returned for result in probe.shown)
    assert probe.guard.state.left == []  # forgotten after REMEMBER_SECONDS


# The property: an honest Envoy's glitches, as hypothesis chooses them.


@dataclass(frozen=True)
class Event:
    """What happens before one reading, and how long after the previous one it comes."""

    seconds: int
    kind: str  # read, drop, jump, back (to a level left), zeros, garbage
    size: int  # drop: Wh below; jump: Wh beyond the k-th jump's level; back: which level
    stays: bool  # the new level stays where it fell instead of counting on
    restart: bool  # the guard restarts from its stored state before this reading


@dataclass
class Level:
    """One level the counter reads: the truth shifted, or a figure that stays."""

    shift: int  # the truth minus the reading, while the level counts on
    stays_at: int | None  # the reading, while the level stays where it fell
    readings: list[float] = field(default_factory=list)  # when it was read

    def known(self) -> bool:
        """Return True once the guard takes this level as a base (rule 3: it lasted)."""
        times = self.readings
        return len(times) >= REBASE_READINGS and times[-1] - times[0] >= REBASE_AFTER_SECONDS


class HonestEnvoy:
    """An Envoy whose counter counts the truth, and reads it shifted while a glitch lasts."""

    def __init__(self, start: int, watts: int, jump: int) -> None:
        """Start at ``start`` Wh, counting ``watts``.

        The k-th jump reads ``k * jump`` Wh above the truth, and a drop falls by a quarter
        of that at most, so that no glitch lands where another one was.
        """
        self.start, self.watts, self.jump = start, watts, jump
        self.seconds = 0
        self.levels = [Level(shift=0, stays_at=None)]
        self.jumps = 0

    def truth(self) -> int:
        """Return what the counter really counted by now (Wh)."""
        return self.start + self.watts * self.seconds // 3600

    def reading(self) -> int:
        """Return what the counter reads now."""
        level = self.levels[-1]
        return level.stays_at if level.stays_at is not None else self.truth() - level.shift

    def glitch(self, event: Event, accepted: int | None, holding: bool) -> None:
        """Move the counter as the event says.

        ``accepted`` is the guard's last accepted reading, ``holding`` whether it holds the
        last one: a new glitch then is one with the glitch it holds, as the guard sees it.
        """
        match event.kind:
            case "drop" | "jump" if not holding and self.levels[-1].stays_at is None:
                size = min(event.size, self.jump // 4)
                if event.kind == "drop":
                    # Below the reading and below what the guard accepted last: a level in
                    # line with that is growth (or a counter that stopped), no glitch.
                    new = min(self.reading(), accepted or self.start) - SLACK_WH - size
                else:
                    self.jumps += 1
                    new = self.truth() + self.jumps * self.jump + size
                # Only a glitch of the true count stays where it fell, and nothing glitches
                # on top of it: the count it hides (or a level that stays, against the power
                # reported) fits more than one line, and the readings cannot tell which.
                stays = event.stays and len(self.levels) == 1
                if new > 0:
                    self.levels.append(
                        Level(shift=self.truth() - new, stays_at=new if stays else None)
                    )
            case "back" if len(self.levels) > 1:
                known = [i for i, level in enumerate(self.levels[:-1]) if i == 0 or level.known()]
                del self.levels[known[event.size % len(known)] + 1 :]

    def lifetime(self, event: Event, timestamp: float, limit: int) -> int:
        """Return the lifetime counter one reading reports (``limit``: the guard's highest)."""
        match event.kind:
            case "zeros":
                return 0
            case "garbage":
                return (-1, limit + 1 + event.size, 2**64)[event.size % 3]
        self.levels[-1].readings.append(timestamp)
        return self.reading()


def replay(
    make: Callable[[GuardState | None], EnergyGuard],
    peak: int,
    share: float,
    events: list[Event],
    report_interval: float,
) -> tuple[list[Seen], list[int], HonestEnvoy]:
    """Feed the guard the Envoy's readings, then steady ones.

    Return what the guard showed (with the bounds in force), the truth at each reading, and
    the Envoy.
    """
    guard = make(None)
    capacity = make(GuardState(peak_power=peak)).plausible_power()
    watts = int(capacity / 2 * share)
    envoy = HonestEnvoy(1_000_000, watts, capacity * 200)
    now = START
    shown: list[Seen] = []
    truths: list[int] = []
    steady = Event(600, "read", 0, stays=False, restart=False)
    long_after = Event(
        sum(event.seconds for event in events) + 7200, "read", 0, stays=False, restart=False
    )
    for event in [steady, *events, steady, steady, steady, long_after, steady, steady]:
        if event.restart:
            guard = make(GuardState.from_dict(json.loads(guard_json(guard))))
        now = later(now, event.seconds)
        envoy.seconds += event.seconds
        envoy.glitch(event, guard.state.envoy_lifetime, guard.state.held_since is not None)
        zeros = event.kind == "zeros"
        reading = CounterReading(
            watts_now=0 if zeros else watts,
            watt_hours_today=0 if zeros else 1,
            watt_hours_seven_days=0 if zeros else 1,
            watt_hours_lifetime=envoy.lifetime(event, now.timestamp(), guard.max_lifetime()),
        )
        result = guard.update(reading, now, site_peak_power=peak, report_interval=report_interval)
        shown.append(seen(result, guard))
        truths.append(envoy.truth())
    return shown, truths, envoy


def counted_once(seen: list[Seen], truths: list[int], envoy: HonestEnvoy) -> None:
    """Assert the promises: never above the true count; all of it once the counter is back."""
    check(seen, from_zero=True)
    first = seen[0].result.lifetime
    assert first is not None
    grown = [(item.result.lifetime or first) - first for item in seen]
    counted = [truth - truths[0] for truth in truths]
    above = [(i, shown, true) for i, (shown, true) in enumerate(zip(grown, counted, strict=True))]
    assert [item for item in above if item[1] > item[2] + SLACK_WH] == []
    if len(envoy.levels) == 1:  # back where it started
        assert grown[-1] >= counted[-1] - SLACK_WH, (grown[-1], counted[-1])


KINDS = ("read", "read", "read", "read", "drop", "jump", "back", "back", "zeros", "garbage")
SECONDS = st.one_of(st.sampled_from([0, 60, 60, 60, 300, 900]), st.integers(0, 1800))
SIZES = st.one_of(st.integers(1, 100), st.integers(1, 20_000), st.integers(1, 2_000_000))
RESTART = st.sampled_from([False, False, False, False, True])
ANY_EVENT = st.builds(
    Event,
    seconds=SECONDS,
    kind=st.sampled_from(KINDS),
    size=SIZES,
    stays=st.booleans(),
    restart=RESTART,
)


@st.composite
def glitches(draw: st.DrawFn, depth: int = 0) -> list[Event]:
    """Return a glitch that lasts a while, maybe another on top of it, and the way back."""
    kind = draw(st.sampled_from(["drop", "drop", "jump"]))
    spacing = draw(st.one_of(st.sampled_from([60, 300, 600]), st.integers(0, 1800)))
    events = [Event(draw(SECONDS), kind, draw(SIZES), draw(st.booleans()), draw(RESTART))]
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["read"] * 6 + ["zeros", "garbage"]))
        events.append(Event(spacing, kind, draw(SIZES), stays=False, restart=draw(RESTART)))
    if depth < 2 and draw(st.booleans()):
        events += draw(glitches(depth + 1))
    events.append(
        Event(draw(SECONDS), "back", draw(st.integers(0, 3)), stays=False, restart=draw(RESTART))
    )
    return events


EVENTS = st.lists(
    st.one_of(ANY_EVENT.map(lambda event: [event]), glitches()), min_size=1, max_size=8
).map(lambda parts: [event for part in parts for event in part])


@settings(max_examples=1500)
@given(
    events=EVENTS,
    peak=st.integers(0, 60_000),
    share=st.floats(0, 1),
    report_interval=st.sampled_from([0.0, 60.0, 300.0, 900.0, 3600.0]),
)
def test_the_site_counts_each_watt_hour_once(
    events: list[Event], peak: int, share: float, report_interval: float
) -> None:
    """The site's guard, its Envoy producing up to its inverters' peak."""
    counted_once(*replay(site, peak, share, events, report_interval))


@settings(max_examples=1500)
@given(events=EVENTS, phases=st.sampled_from([None, 1, 2, 3]), share=st.floats(0, 1))
def test_a_meter_counts_each_watt_hour_once(
    events: list[Event], phases: int | None, share: float
) -> None:
    """A meter's guard (consumption, import, export), the house drawing up to half its service."""

    def make(state: GuardState | None) -> EnergyGuard:
        return MeterGuard(service_capacity(phases), state)

    counted_once(*replay(make, 0, share, events, 0.0))
