"""What the poll scheduler learned, stored across restarts (schedule_state.py)."""

from __future__ import annotations

import pytest

from custom_components.enphase_envoy_legacy.schedule_state import RhythmState
from tests.test_schedule import START


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "garbage",
        {"interval": "soon"},
        {"interval": float("nan")},
        {"interval": True},
        {"spreads": [None]},
        {"spreads": 5},
        {"meter_evidence": "some"},
    ],
)
def test_malformed_stored_rhythm_starts_over(stored: object) -> None:
    """Whatever is stored, the scheduler starts; malformed memories are forgotten."""
    assert RhythmState.from_dict(stored) == RhythmState()


def test_stored_rhythm_round_trip() -> None:
    """What is stored is what comes back."""
    state = RhythmState(
        interval=900.0,
        pending_interval=300.0,
        burst_start=START,
        burst_end=START + 59,
        spreads=[59.0],
        metered=False,
        unchanged=3,
        meter_evidence=1,
    )
    assert RhythmState.from_dict(state.as_dict()) == state
