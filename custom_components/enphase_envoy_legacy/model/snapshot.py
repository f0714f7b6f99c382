"""What one poll gives Home Assistant: the values to show, and what to do about them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ..envoy_client import EnvoyData, EnvoyInfo, EnvoyInverter
from .census import CensusReading
from .guard_state import GuardedCounter
from .metered import MeteredReading
from .output import PanelOutput, Underperformance
from .panels import PanelState


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """One poll: the Envoy's answer as it came, what the sensors show, what changed."""

    envoy: EnvoyData
    production: GuardedCounter
    # The inverters whose entities have something new to show since the last poll, and
    # those whose panel energy sensors have (listed or unlisted, or written now: model/pacing.py).
    changed_inverters: frozenset[str] = field(default_factory=frozenset)
    changed_panels: frozenset[str] = field(default_factory=frozenset)
    # The last inverter read's census and each inverter's energy.
    census: CensusReading = field(default_factory=CensusReading)
    panels: Mapping[str, PanelState] = field(default_factory=dict)
    # Each panel's output against its normal (the relative output sensor), and the panels
    # underperforming now (repairs; model/output.py).
    outputs: Mapping[str, PanelOutput] = field(default_factory=dict)
    underperforming: Mapping[str, Underperformance] = field(default_factory=dict)
    # A metered Envoy's last reading of its meters (None: it has none), and its lifetime
    # counters as their guards let them through, by name (counters.py).
    metered: MeteredReading | None = None
    counters: Mapping[str, GuardedCounter] = field(default_factory=dict)
    # When the next poll is due (aware).
    next_poll: datetime
    # What Home Assistant acts on: the identity read at this poll (the Envoy's device),
    # whether the inverters were read (silent inverters), the inverters gone for good (their
    # devices), and each meter's fault when the meters' configuration was read (repairs).
    info: EnvoyInfo | None = None
    inverters_read: bool = False
    forgotten: frozenset[str] = field(default_factory=frozenset)
    meter_faults: Mapping[str, str] | None = None
    # The report interval (seconds) of an Envoy slowed to reporting less often than every
    # 15 minutes for a day (model/schedule.py), None otherwise (repairs).
    slowed: float | None = None
    # While the Envoy does not answer (Site.hold): whether the site's values and the
    # inverters' are still young enough to show.
    site_shown: bool = True
    inverters_shown: bool = True

    @property
    def inverters(self) -> dict[str, EnvoyInverter]:
        """Return the microinverters by serial."""
        return self.envoy.inverters
