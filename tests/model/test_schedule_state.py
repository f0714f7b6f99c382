"""What the poll scheduler learned, stored across restarts (model/schedule.py)."""

from __future__ import annotations

import pytest

from custom_components.enphase_envoy_legacy.model.schedule import RhythmState
from custom_components.enphase_envoy_legacy.model.stored import Malformed
from tests.model.test_schedule import START


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
        {"slow_since": "yesterday"},
        {"slow_seen": float("inf")},
    ],
)
def test_a_malformed_stored_rhythm_is_refused(stored: object) -> None:
    """Anything the scheduler never stores is refused (its site then starts it afresh)."""
    with pytest.raises(Malformed):
        RhythmState.from_dict(stored)


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
        slow_since=START - 3600,
        slow_seen=START,
    )
    assert RhythmState.from_dict(state.as_dict()) == state


def test_a_rhythm_stored_before_the_slow_interval_was_followed() -> None:
    """A rhythm without the slow interval's bursts (store 2.3): none seen, nothing else lost."""
    stored = {"interval": 3600.0, "pending_interval": None, "metered": False, "unchanged": 3}
    state = RhythmState.from_dict(stored)
    assert (state.interval, state.metered, state.unchanged) == (3600.0, False, 3)
    assert (state.slow_since, state.slow_seen) == (None, None)
