"""What the poll scheduler (schedule.py) learned about a site, stored across restarts.

Read back part by part: a part of the wrong type or not finite makes the whole rhythm start
over (the scheduler then learns it again within a few report intervals).

This module has no Home Assistant imports; times are epoch seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


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

    def as_dict(self) -> dict[str, Any]:
        """Return the state for storage."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> RhythmState:
        """Rebuild the state from storage; anything malformed starts over."""
        if not isinstance(data, Mapping):
            return cls()
        try:
            return cls(
                interval=_seconds(data.get("interval")),
                pending_interval=_seconds(data.get("pending_interval")),
                burst_start=_seconds(data.get("burst_start")),
                burst_end=_seconds(data.get("burst_end")),
                spreads=[float(value) for value in data.get("spreads", [])],
                metered=data["metered"] if isinstance(data.get("metered"), bool) else None,
                unchanged=int(data.get("unchanged", 0)),
                meter_evidence=int(data.get("meter_evidence", 0)),
            )
        except TypeError, ValueError:
            return cls()


def _seconds(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(value)
    return float(value)
