"""What the energy guard remembers across restarts (model/guard_state.py): read back, or refused."""

from __future__ import annotations

import json

import pytest

from custom_components.enphase_envoy_legacy.model.guard_state import GuardState
from custom_components.enphase_envoy_legacy.model.stored import Malformed
from tests.model.test_guard import WRAP, Site, reading


def test_a_state_stored_by_the_previous_release_loads() -> None:
    """The shape GuardState.as_dict() had before the credit: it loads with no credit carried."""
    stored = {
        "envoy_lifetime": 133798553,
        "lifetime": 133798553,
        "accepted_at": 1782068400.0,
        "accepted_power": 7907,
        "peak_power": 9802,
        "day": "2026-06-21",
        "day_start": 133778392,
        "seven_days": 366671,
        "held_since": None,
        "candidates": [[1782068460.0, 133798553 - WRAP, 7907]],
        "rhythm": {"interval": 300.0},
    }
    state = GuardState.from_dict(stored)
    assert state is not None
    assert state.as_dict() == {
        **{name: value for name, value in stored.items() if name != "rhythm"},
        "candidates": [tuple(item) for item in stored["candidates"]],
        "credit": 0.0,
        "new_counter": False,
    }


@pytest.mark.parametrize(
    "corrupt",
    [
        {"candidates": None},
        {"candidates": [[1.0, 2]]},
        {"candidates": ["abc"]},
        {"candidates": [[1.0, 2, "3"]]},
        {"lifetime": "133798553"},
        {"lifetime": 2**64},
        {"lifetime": -1},
        {"envoy_lifetime": True},
        {"accepted_at": float("nan")},
        {"held_since": "now"},
        {"day": 20260621},
        {"credit": None},
        {"peak_power": 1.5},
    ],
)
def test_a_corrupt_stored_state_is_refused(corrupt: dict[str, object]) -> None:
    """A malformed part makes the whole stored state unusable: the caller starts afresh."""
    good = Site()
    good.read(reading(1_000_000))
    stored = {**json.loads(json.dumps(good.guard.state.as_dict())), **corrupt}
    with pytest.raises(Malformed):
        GuardState.from_dict(stored)
    assert GuardState.from_dict({"rhythm": {}}) == GuardState()
