"""Every lifetime counter of a metered Envoy, judged by its own energy guard (issue #14).

Four counters feed the Energy dashboard besides the site's production: the house's
consumption, the energy imported from the grid and exported to it (the net-consumption
meter's ``actEnergyDlvd`` and ``actEnergyRcvd``), and the production CT's own lifetime. Each
has its own guard (energy.py, with the capacities of energy_counters.py), stored across
restarts under its name. A counter that is not measured now (its CT not metering, the
export without the readings endpoint) is not shown.

This module has no Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from .energy import EnergyGuard
from .energy_counters import CounterGuard, counter_reading, service_capacity
from .energy_state import GuardedProduction, GuardState
from .envoy_client import NET_CONSUMPTION, PRODUCTION, TOTAL_CONSUMPTION, EnvoyProduction
from .metered import Measured, MeteredReading, MeterSetup

CONSUMPTION: Final = "consumption"
IMPORTED: Final = "imported"
EXPORTED: Final = "exported"
PRODUCTION_CT: Final = "production_ct"
COUNTERS: Final = (CONSUMPTION, IMPORTED, EXPORTED, PRODUCTION_CT)


def counters_of(reading: MeteredReading) -> dict[str, tuple[EnvoyProduction, bool]]:
    """Return each counter measured now, in the shape the guard judges, and whether it is new.

    Between report bursts a metered Envoy's production.json is not read again (reader.py):
    a counter read from it (the house's consumption where the readings cannot give it) is
    as old as that read, not as old as this poll, and is not new.
    """
    found: dict[str, tuple[EnvoyProduction, bool]] = {}

    def add(name: str, measured: Measured, watts: int, lifetime: int, *, totals: bool) -> None:
        raw = counter_reading(
            watts=watts,
            lifetime=lifetime,
            today=measured.today if totals else None,
            seven_days=measured.seven_days if totals else None,
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


class MeteredGuards:
    """The guards of a metered Envoy's counters, and what each showed last."""

    def __init__(self, stored: object = None) -> None:
        """Start from the stored states (a malformed one starts afresh), or from nothing."""
        self.states: dict[str, GuardState] = {}
        if isinstance(stored, Mapping):
            for name in COUNTERS:
                value = stored.get(name)
                if isinstance(value, Mapping) and (state := GuardState.from_dict(value)):
                    self.states[name] = state
        self.shown: dict[str, GuardedProduction] = {}

    def guard(self, name: str, setup: MeterSetup) -> EnergyGuard:
        """Return the guard of a counter (its state is kept in ``states``)."""
        state = self.states.setdefault(name, GuardState())
        if name == PRODUCTION_CT:
            # The production CT measures the site: the site's capacity bounds it.
            return EnergyGuard(state)
        return CounterGuard(capacity_of(setup, name), state)

    def judge(
        self, reading: MeteredReading, now: datetime, site_peak_power: int
    ) -> dict[str, GuardedProduction]:
        """Judge every counter measured now (``now`` aware, local); return what to show."""
        shown: dict[str, GuardedProduction] = {}
        for name, (raw, new) in counters_of(reading).items():
            if not new and name in self.shown:
                # Nothing new was read: judged at this poll's time, the old figure would
                # look younger than it is (a rebase would then miss part of its gap).
                shown[name] = EnergyGuard(self.states[name]).carry_forward(self.shown[name], now)
            else:
                guard = self.guard(name, reading.setup)
                shown[name] = guard.update(raw, now, site_peak_power=site_peak_power)
        self.shown = shown
        return shown

    def carry_forward(self, now: datetime) -> dict[str, GuardedProduction]:
        """Return what was shown last, with "energy today" starting again at midnight."""
        self.shown = {
            name: EnergyGuard(self.states[name]).carry_forward(shown, now)
            for name, shown in self.shown.items()
        }
        return self.shown

    def as_dict(self) -> dict[str, Any]:
        """Return the guards' states for storage."""
        return {name: state.as_dict() for name, state in self.states.items()}
