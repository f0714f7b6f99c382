"""The energy guard for a metered Envoy's other lifetime counters (issue #14).

A metered Envoy-S reports more lifetime counters than production: the house's consumption,
the energy imported from the grid and exported to it, and the production CT's own counter.
Each feeds the Energy dashboard, and each glitches as production does (zeros after a reboot,
brief drops), so each gets its own EnergyGuard (energy.py), with the same rules: zeros held,
drops that come back ignored, persistent steps carried as continuation, growth bounded by a
capacity no reading can raise, and its state kept across restarts.

What differs is the capacity:

- the production CT measures the site's production: its capacity is the site's, derived
  from the microinverters (the caller passes their peak, as for the site totals);
- consumption, import and export are bounded by the electrical service the meter sits on,
  not by the panels: ``SERVICE_AMPS`` per phase at ``SERVICE_VOLTS`` for each of the meter's
  phases (its ``phaseCount`` in ``/ivp/meters``, taken as three when not known). 400 A is the
  largest residential service in North America (a "class 320" service), and no European
  home has more than 3 x 80 A; 250 V covers every line-to-neutral voltage these Envoys are
  sold for. So a split-phase meter's counters may grow by at most 200 kW, a three-phase
  meter's by 300 kW: generous for any home, yet a garbage counter (a jump of megawatt-hours
  in a minute, 1e30 Wh) is refused, and a reboot's zeros or a drop are held as for
  production.

A meter's counter moves continuously (it is not the sum of reports landing in bursts), so no
report interval's credit is carried: between two readings it grows by at most the capacity
times the time between them, plus SLACK_WH.

This module has no Home Assistant imports.
"""

from __future__ import annotations

from typing import Final

from .energy import MAX_CAPACITY_W, EnergyGuard
from .energy_state import GuardState
from .envoy_client import EnvoyProduction

# The largest residential electrical service, per phase, and the highest phase voltage.
SERVICE_AMPS: Final = 400
SERVICE_VOLTS: Final = 250
# Phases assumed when the meter's phase count is not known.
DEFAULT_PHASES: Final = 3


def service_capacity(phases: int | None) -> int:
    """Return the most power (W) a meter with that many phases can measure (1 to 3)."""
    count = phases if phases is not None and 1 <= phases <= DEFAULT_PHASES else DEFAULT_PHASES
    return count * SERVICE_AMPS * SERVICE_VOLTS


class CounterGuard(EnergyGuard):
    """The energy guard of a meter's lifetime counter, bounded by a fixed capacity.

    A meter's counter may really be zero: a house that never exported has an export counter
    at zero. While it has counted nothing, a zero is its value (shown as 0, not held); once
    it has counted, a zero is a reboot's and is held, as for production.
    """

    counts_from_zero = True

    def __init__(self, capacity: int, state: GuardState | None = None) -> None:
        """Start from a stored state, or from nothing, with the meter's capacity (W)."""
        super().__init__(state)
        self.capacity = capacity

    def plausible_power(self) -> int:
        """Return the meter's capacity: set by the caller, never by a reading."""
        return max(min(self.capacity, MAX_CAPACITY_W), 1)


def counter_reading(
    *, watts: int, lifetime: int, today: int | None = None, seven_days: int | None = None
) -> EnvoyProduction:
    """Return a meter's counter in the shape the guard judges (what is unknown reads 0)."""
    return EnvoyProduction(
        watts_now=watts,
        watt_hours_today=today or 0,
        watt_hours_seven_days=seven_days or 0,
        watt_hours_lifetime=lifetime,
    )
