"""A metered Envoy's lifetime counters, each judged by its own guard.

Besides the site's production, four counters feed the Energy dashboard: the house's
consumption, the energy imported and exported (the net meter's ``actEnergyDlvd`` and
``actEnergyRcvd``) and the production CT's own lifetime. A counter that is not measured now
(its CT not metering, the export without the readings endpoint) is not shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from ..envoy_client import NET_CONSUMPTION, PRODUCTION, TOTAL_CONSUMPTION
from .guard import EnergyGuard, MeterGuard, log_judgement, service_capacity
from .guard_state import CounterReading, GuardedCounter, GuardState
from .metered import Measured, MeteredReading, MeterSetup
from .stored import mapping, restore_each

CONSUMPTION: Final = "consumption"
IMPORTED: Final = "imported"
EXPORTED: Final = "exported"
PRODUCTION_CT: Final = "production_ct"
COUNTERS: Final = (CONSUMPTION, IMPORTED, EXPORTED, PRODUCTION_CT)
# How the log names each counter.
LABELS: Final = {PRODUCTION_CT: "production CT"}


def counters_of(reading: MeteredReading) -> dict[str, tuple[CounterReading, bool]]:
    """Return each counter measured now, and whether it is new.

    Between report bursts production.json is not read again: a counter read from it is as
    old as that read, and is not new.
    """
    found: dict[str, tuple[CounterReading, bool]] = {}

    def add(name: str, measured: Measured, watts: int, lifetime: int, *, totals: bool) -> None:
        raw = CounterReading(
            watts_now=watts,
            watt_hours_today=(measured.today or 0) if totals else 0,
            watt_hours_seven_days=(measured.seven_days or 0) if totals else 0,
            watt_hours_lifetime=lifetime,
        )
        found[name] = (raw, reading.entries_fresh or not measured.from_entry)

    if (consumption := reading.consumption()) is not None:
        add(CONSUMPTION, consumption, consumption.watts, consumption.lifetime, totals=True)
    if (net := reading.measured(NET_CONSUMPTION)) is not None:
        add(IMPORTED, net, max(net.watts, 0), net.lifetime, totals=False)
        if net.received is not None:
            add(EXPORTED, net, max(-net.watts, 0), net.received, totals=False)
    if (production := reading.measured(PRODUCTION)) is not None:
        add(PRODUCTION_CT, production, production.watts, production.lifetime, totals=True)
    return found


def capacity_of(setup: MeterSetup, name: str) -> int:
    """Return the service capacity (W) bounding a consumption, import or export counter."""
    kinds = (TOTAL_CONSUMPTION, NET_CONSUMPTION) if name == CONSUMPTION else (NET_CONSUMPTION,)
    phases = next(
        (meter.phase_count for kind in kinds if (meter := setup.meter(kind)) is not None), None
    )
    return service_capacity(phases)


class MeteredCounters:
    """The guards of a metered Envoy's counters, and what each showed last."""

    def __init__(self, states: Mapping[str, GuardState] | None = None) -> None:
        """Start from the stored states, or from nothing."""
        self.states: dict[str, GuardState] = dict(states or {})
        self.shown: dict[str, GuardedCounter] = {}

    @classmethod
    def from_dict(cls, stored: object, tag: str) -> MeteredCounters:
        """Rebuild the stored states; a malformed one starts afresh."""
        states = restore_each(
            "meter counter guards",
            tag,
            stored,
            lambda value: GuardState.from_dict(mapping(value)),
        )
        return cls({name: state for name, state in states.items() if name in COUNTERS})

    def guard(self, name: str, setup: MeterSetup) -> EnergyGuard:
        """Return the guard of a counter (its state is kept in ``states``)."""
        state = self.states.setdefault(name, GuardState())
        if name == PRODUCTION_CT:
            # The production CT measures the site: the site's capacity bounds it.
            return EnergyGuard(state)
        return MeterGuard(capacity_of(setup, name), state)

    def judge(
        self, reading: MeteredReading, now: datetime, site_peak_power: int, *, tag: str
    ) -> dict[str, GuardedCounter]:
        """Judge every counter measured now (``now`` aware, local); return what to show.

        What a guard holds back, rebases or continues is logged as the site's is, under the
        counter's name (``tag`` names the entry).
        """
        shown: dict[str, GuardedCounter] = {}
        for name, (raw, new) in counters_of(reading).items():
            if not new and name in self.shown:
                # Judged at this poll's time, an old figure would look younger than it is
                # (a rebase would then miss part of its gap).
                shown[name] = EnergyGuard(self.states[name]).carry_forward(self.shown[name], now)
            else:
                guard = self.guard(name, reading.setup)
                shown[name] = guard.update(raw, now, site_peak_power=site_peak_power)
                last = self.shown.get(name)
                was_holding = last is not None and last.suspect
                what = LABELS.get(name, name)
                log_judgement(tag, what, raw, shown[name], was_holding=was_holding)
        self.shown = shown
        return shown

    def carry_forward(self, now: datetime) -> dict[str, GuardedCounter]:
        """Return what was shown last, with "energy today" starting again at midnight."""
        self.shown = {
            name: EnergyGuard(self.states[name]).carry_forward(shown, now)
            for name, shown in self.shown.items()
        }
        return self.shown

    def new_counters(self) -> None:
        """Take each counter's next plausible reading as its new base (a replaced Envoy)."""
        for state in self.states.values():
            EnergyGuard(state).new_counter()

    def as_dict(self) -> dict[str, Any]:
        """Return the guards' states for storage."""
        return {name: state.as_dict() for name, state in self.states.items()}
