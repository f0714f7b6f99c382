"""The site's model: what the integration judges of an Envoy, free of Home Assistant.

Home Assistant's side (the coordinator, entities, repairs, the store) uses these names
only; ruff's banned-api rule keeps Home Assistant out of this package.
"""

from .census import UNLISTED_FOR_GOOD, CensusReading
from .counters import CONSUMPTION, COUNTERS, EXPORTED, IMPORTED, PRODUCTION_CT
from .guard_state import GuardedCounter
from .identity import WrongEnvoyError
from .metered import FAULTS, PHASES, STATUSES, MeteredReading, Phase
from .output import PanelOutput, Underperformance
from .panels import PanelState, plausible_watts
from .schedule import RECHECK
from .site import Site
from .snapshot import Snapshot

__all__ = [
    "CONSUMPTION",
    "COUNTERS",
    "EXPORTED",
    "FAULTS",
    "IMPORTED",
    "PHASES",
    "PRODUCTION_CT",
    "RECHECK",
    "STATUSES",
    "UNLISTED_FOR_GOOD",
    "CensusReading",
    "GuardedCounter",
    "MeteredReading",
    "PanelOutput",
    "PanelState",
    "Phase",
    "Site",
    "Snapshot",
    "Underperformance",
    "WrongEnvoyError",
    "plausible_watts",
]
