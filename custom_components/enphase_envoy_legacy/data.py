"""What one poll hands to the entities.

The coordinator (coordinator.py) makes an EnvoyLegacyData of each good poll: the Envoy's
answer, the guarded site totals (energy.py), the census of the inverter list (census.py)
and each inverter's energy (panels.py), with which inverters and panels changed: those are
signalled to their entities (signals.py).

This module has no Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .census import CensusReading
from .energy_state import GuardedProduction
from .envoy_client import EnvoyData, EnvoyInverter
from .metered import MeteredReading
from .panels import PanelState


@dataclass(frozen=True, kw_only=True)
class EnvoyLegacyData:
    """One poll: the Envoy's answer as it came, and what the sensors show of it."""

    envoy: EnvoyData
    production: GuardedProduction
    # The inverters whose entities have something new to show since the last poll, and
    # those whose panel energy sensors have (listed or unlisted, or written now: pacing.py).
    changed_inverters: frozenset[str] = field(default_factory=frozenset)
    changed_panels: frozenset[str] = field(default_factory=frozenset)
    # The last inverter read's census (census.py) and each inverter's energy (panels.py).
    census: CensusReading = field(default_factory=CensusReading)
    panels: Mapping[str, PanelState] = field(default_factory=dict)
    # A metered Envoy's last reading of its meters (metered.py; None: it has none), and its
    # lifetime counters as their guards let them through (metered_guard.py), by name.
    metered: MeteredReading | None = None
    counters: Mapping[str, GuardedProduction] = field(default_factory=dict)

    @property
    def inverters(self) -> dict[str, EnvoyInverter]:
        """Return the microinverters by serial."""
        return self.envoy.inverters
