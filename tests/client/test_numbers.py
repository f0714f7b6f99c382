"""numbers.py: the one rule for the numbers of an Envoy's JSON, and the two it replaced."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.enphase_envoy_legacy.envoy_client.numbers import (
    MAX_SAFE_INTEGER,
    measure,
    safe,
    whole,
)

OLD_MAX_SAFE_INTEGER = 2**53 - 1


def old_integer(value: object) -> int | None:
    """Return parsing._integer as it was (the /api/v1 parsers' rule)."""
    if type(value) is int:
        return value if -OLD_MAX_SAFE_INTEGER <= value <= OLD_MAX_SAFE_INTEGER else None
    if type(value) is float and math.isfinite(value) and abs(value) <= OLD_MAX_SAFE_INTEGER:
        return round(value)
    return None


def old_whole(value: object, *, minimum: int | None = None) -> int | None:
    """Return values.whole as it was (the metered parsers' rule)."""
    number: int | None = None
    if type(value) is int and abs(value) <= OLD_MAX_SAFE_INTEGER:
        number = value
    elif type(value) is float and math.isfinite(value) and abs(value) <= OLD_MAX_SAFE_INTEGER:
        number = round(value)
    if number is None or (minimum is not None and number < minimum):
        return None
    return number


# Every value json.loads can return: Python's json reads NaN and Infinity, and integers of
# any length. Numbers cluster around the edges of the safe range.
edges = st.sampled_from([MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, 2**53, 2**63, 10**400])
json_numbers = (
    st.integers()
    | edges
    | edges.map(lambda n: -n)
    | st.floats()
    | st.floats(-(2.0**54), 2.0**54)
    | st.sampled_from([-0.0, 0.5, -0.5, 1.5, 2.5, float(MAX_SAFE_INTEGER), 2.0**53])
)
json_values = st.recursive(
    st.none() | st.booleans() | json_numbers | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=6,
)
minimums = st.none() | st.integers(-3, 3) | st.sampled_from([-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER])


@given(value=json_values, minimum=minimums)
def test_one_rule_gives_what_both_old_ones_gave(value: object, minimum: int | None) -> None:
    """The old rules agreed on every JSON value; the one rule gives what each gave."""
    assert whole(value, minimum=minimum) == old_whole(value, minimum=minimum)
    assert whole(value) == old_integer(value) == old_whole(value)


@given(value=json_values)
def test_a_number_survives_json(value: object) -> None:
    """What the rule returns is a safe int, unchanged by a round trip through JSON."""
    number = whole(value)
    if number is not None:
        assert type(number) is int
        assert safe(number)
        assert json.loads(json.dumps(number)) == number == int(float(number))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, None),
        (False, None),
        ("1", None),
        (None, None),
        ([1], None),
        (math.nan, None),
        (math.inf, None),
        (-math.inf, None),
        (MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
        (-MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER),
        (MAX_SAFE_INTEGER + 1, None),
        (-MAX_SAFE_INTEGER - 1, None),
        (2.0**53, None),
        (-3.0, -3),
        (2.5, 2),
        (3.5, 4),
    ],
)
def test_what_is_a_number(value: object, expected: int | None) -> None:
    """Booleans, strings, non-finite floats, unsafe integers are not numbers; floats round."""
    assert whole(value) == expected


def test_minimum() -> None:
    """A number below the minimum is none; the minimum itself is one."""
    assert whole(0, minimum=0) == 0
    assert whole(-1, minimum=0) is None
    assert whole(-0.4, minimum=0) == 0
    assert whole(-0.6, minimum=0) is None


def test_measure() -> None:
    """A measure is a finite number within its bounds, as a float."""
    assert measure(230, 0.0, 1000.0) == 230.0
    assert type(measure(230, 0.0, 1000.0)) is float
    assert measure(0.5, -1.0, 1.0) == 0.5
    assert measure(1001, 0.0, 1000.0) is None
    assert measure(math.nan, 0.0, 1000.0) is None
    assert measure(True, 0.0, 1000.0) is None  # noqa: FBT003 - a boolean is no number
