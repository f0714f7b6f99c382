"""What one poll hands to the entities, and how each microinverter's entities hear of it.

The coordinator (coordinator.py) makes an EnvoyLegacyData of each good poll: the Envoy's
answer, the guarded site totals (energy.py), the census of the inverter list (census.py)
and each inverter's energy (panels.py). Each microinverter's entities listen to their own
dispatcher signal (inverter_signal), sent only when that inverter has something new; its
panel energy sensors to their panel's (panel_signal), at the pace of pacing.py.

This module has no Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .census import CensusReading
from .const import DOMAIN
from .energy_state import GuardedProduction
from .envoy_client import EnvoyData, EnvoyInverter
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

    @property
    def inverters(self) -> dict[str, EnvoyInverter]:
        """Return the microinverters by serial."""
        return self.envoy.inverters


def inverter_signal(entry_id: str, inverter_serial: str) -> str:
    """Return the dispatcher signal an inverter's entities listen to."""
    return f"{DOMAIN}_{entry_id}_{inverter_serial}"


def panel_signal(entry_id: str, inverter_serial: str) -> str:
    """Return the dispatcher signal an inverter's panel energy sensors listen to."""
    return f"{DOMAIN}_{entry_id}_{inverter_serial}_panel"
