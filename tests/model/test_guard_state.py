"""What the energy guard remembers across restarts (model/guard_state.py): read back, or refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.enphase_envoy_legacy.model.guard_state import GuardState
from custom_components.enphase_envoy_legacy.model.stored import Malformed
from tests.model.test_guard import MINUTE, WRAP, Site, reading

# Stores written by release 0.1.0 (tests/ha/test_store.py loads them whole).
RELEASE_0_1_STORES = Path(__file__).parent.parent / "fixtures" / "stores"


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
        "left": [],
        "owed": 0,
    }


def release_0_1_guard_states() -> list[Any]:
    """Return every guard state release 0.1.0 stored: the site's, and each meter counter's."""
    found = []
    for path in sorted(RELEASE_0_1_STORES.glob("*.json")):
        data = json.loads(path.read_text())["store"]["data"]
        found.append(pytest.param(data["guard"], id=f"{path.stem} guard"))
        found += [
            pytest.param(state, id=f"{path.stem} {name}")
            for name, state in data["counters"].items()
        ]
    return found


@pytest.mark.parametrize("stored", release_0_1_guard_states())
def test_a_state_stored_by_release_0_1_loads(stored: dict[str, Any]) -> None:
    """Release 0.1.0 knew no replacement, no levels left and no debt: it loads with none."""
    added = {"new_counter": False, "left": [], "owed": 0}
    assert not added.keys() & stored.keys()
    state = GuardState.from_dict(stored)
    assert state.as_dict() == {**stored, **added}


def test_the_levels_left_and_what_is_owed_survive_storage() -> None:
    """A counter that fell and was taken as a new base: its old level is stored, and read back."""
    site = Site()
    site.read(reading(100_000_000))
    for _ in range(4):
        site.read(reading(100_000_000 - WRAP), after=5 * MINUTE)
    state = site.guard.state
    assert state.left
    stored = json.loads(json.dumps(state.as_dict()))
    assert GuardState.from_dict({**stored, "owed": -5}) == GuardState(**{**vars(state), "owed": -5})


@pytest.mark.parametrize(
    "corrupt",
    [
        {"left": None},
        {"left": [[1.0, 2, 3]]},
        {"left": [[1.0, -2, 3, 4]]},
        {"left": [[1.0, 2, 3, 4.5]]},
        {"left": [[1.0, 2, 2**60, 4]]},
        {"owed": 1.5},
        {"owed": -(2**60)},
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
