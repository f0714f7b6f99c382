"""Which inverters the Envoy stopped listing, and when they are forgotten (census.py)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from custom_components.enphase_envoy_legacy.census import UNLISTED_FOR_GOOD, UnlistedInverters

SERIALS = st.sampled_from(["121547059079", "121547059193", "121547060495"])


@given(
    steps=st.lists(
        st.tuples(st.floats(0, UNLISTED_FOR_GOOD, allow_nan=False), st.sets(SERIALS)),
        max_size=30,
    )
)
def test_forgotten_only_after_missing_for_good(steps: list[tuple[float, set[str]]]) -> None:
    """An inverter is forgotten once, after being missing from every list for the whole time."""
    census = UnlistedInverters()
    known = {"121547059079", "121547059193", "121547060495"}
    now = 0.0
    missing_since: dict[str, float] = {}
    for elapsed, listed in steps:
        now += elapsed
        for serial in known:
            if serial in listed:
                missing_since.pop(serial, None)
            else:
                missing_since.setdefault(serial, now)
        gone = census.update(known, listed, now)
        expected = {s for s, since in missing_since.items() if now - since >= UNLISTED_FOR_GOOD}
        assert gone == expected
        known -= gone
        for serial in gone:
            del missing_since[serial]
        assert UnlistedInverters(census.as_dict()).as_dict() == census.as_dict()


def test_stored_state_is_checked() -> None:
    """Malformed stored entries are dropped; a time ahead of the clock counts from now."""
    census = UnlistedInverters(
        {"a": 1.0, "b": "x", "c": True, "d": math.nan, 5: 1.0, "e": 10 * UNLISTED_FOR_GOOD}
    )
    assert census.as_dict() == {"a": 1.0, "e": 10 * UNLISTED_FOR_GOOD}
    assert UnlistedInverters(["a"]).as_dict() == {}
    assert census.update({"e"}, set(), UNLISTED_FOR_GOOD) == set()
    assert census.as_dict() == {"e": UNLISTED_FOR_GOOD}
