"""The inverter census (model/census.py): changes, retirement, reporting, and who is forgotten."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.enphase_envoy_legacy.envoy_client import EnvoyInverter
from custom_components.enphase_envoy_legacy.model.census import (
    RETIRED_AFTER,
    UNLISTED_FOR_GOOD,
    InverterCensus,
    UnlistedInverters,
)
from custom_components.enphase_envoy_legacy.model.panels import FUTURE_SLACK, MAX_MICROINVERTER_W

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
        assert UnlistedInverters.from_dict(census.as_dict(), TAG).as_dict() == census.as_dict()


TAG = "entry 123456"


def test_stored_state_is_checked(caplog: pytest.LogCaptureFixture) -> None:
    """Malformed stored entries start afresh, said once; a time ahead of the clock is now."""
    stored = {"a": 1.0, "b": "x", "c": True, "d": math.nan, "e": 10 * UNLISTED_FOR_GOOD}
    census = UnlistedInverters.from_dict(stored, TAG)
    assert census.as_dict() == {"a": 1.0, "e": 10 * UNLISTED_FOR_GOOD}
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert TAG in caplog.records[0].getMessage()
    assert UnlistedInverters.from_dict(["a"], TAG).as_dict() == {}
    assert UnlistedInverters.from_dict(None, TAG).as_dict() == {}
    assert len(caplog.records) == 2  # the list, not the absence, was malformed
    assert census.update({"e"}, set(), UNLISTED_FOR_GOOD) == set()
    assert census.as_dict() == {"e": UNLISTED_FOR_GOOD}


def inverter(serial: str, reported: float, watts: int = 200, peak: int = 250) -> EnvoyInverter:
    """Return an inverter record that last reported at ``reported`` (epoch seconds)."""
    return EnvoyInverter(
        serial_number=serial,
        last_report_date=datetime.fromtimestamp(reported, UTC),
        last_report_watts=watts,
        max_report_watts=peak,
        dev_type=1,
    )


def test_one_read_says_what_changed_who_retired_and_who_reports() -> None:
    """Changes, retirement, reporting problems, counts and the site's peak, read by read."""
    now = 100 * 86400.0
    census = InverterCensus()
    listed = {
        "A": inverter("A", now - 10, peak=300),
        "B": inverter("B", now - 1000),  # silent for over three intervals: a problem
        "C": inverter("C", now - RETIRED_AFTER, peak=400),  # retired
        "D": inverter("D", now + 2 * FUTURE_SLACK, peak=5000),  # dated ahead: garbage report
    }
    first = census.read(listed, now, interval=300, known={"A", "B", "C", "D", "E"})
    assert first.changed == {"A", "B", "C", "D"}
    assert first.retired == {"C"}
    assert first.problems == {"B"}
    assert first.reporting == 1
    assert first.known == 3
    assert first.site_peak == 300 + 250 + MAX_MICROINVERTER_W
    assert first.reports == {"A": now - 10, "B": now - 1000}
    assert first.forgotten == frozenset()
    assert census.unlisted.as_dict() == {"E": now}
    assert census.last is first

    # Nothing new: nothing changed. Then B reports again and C comes back from retirement.
    assert census.read(listed, now + 1, interval=300, known={"E"}).changed == frozenset()
    later = now + 2
    again = {**listed, "B": inverter("B", later), "C": inverter("C", later)}
    second = census.read(again, later, interval=300, known={"E"})
    assert second.changed == {"B", "C"}
    assert second.retired == frozenset()
    assert second.problems == frozenset()
    # A's record is the same but it is gone from the list; E is forgotten three months on.
    del again["A"]
    gone = census.read(again, now + UNLISTED_FOR_GOOD, interval=300, known={"E"})
    assert "A" in gone.changed
    assert gone.forgotten == {"E"}


def test_a_problem_that_begins_changes_the_inverter() -> None:
    """An inverter whose record did not change still changes when its problem begins."""
    now = 1_000_000.0
    census = InverterCensus()
    listed = {"A": inverter("A", now), "B": inverter("B", now)}
    census.read(listed, now, interval=300)
    later = now + 1000
    reading = census.read({**listed, "A": inverter("A", later)}, later, interval=300)
    assert reading.problems == {"B"}
    assert reading.changed == {"A", "B"}


def test_an_empty_list_keeps_the_last_records(caplog: pytest.LogCaptureFixture) -> None:
    """The Envoy lists none at all (at night, now and then): the last records are read again.

    Only a list with nobody at all is replaced: an inverter missing from a list that holds
    others is gone, and before any list was read there is nothing to keep.
    """
    caplog.set_level(logging.DEBUG)
    now = 1_000_000.0
    census = InverterCensus()
    assert census.keep_through_empty_lists({}, "tag") == {}
    listed = {"A": inverter("A", now), "B": inverter("B", now)}
    assert census.keep_through_empty_lists(listed, "tag") is listed
    census.read(listed, now, interval=300)
    assert "listed no inverters" not in caplog.text

    kept = census.keep_through_empty_lists({}, "tag")
    assert kept == listed
    assert "Envoy tag listed no inverters; keeping the last records" in caplog.text
    # Read again, the kept records change nothing and unlist nobody.
    reading = census.read(kept, now + 300, interval=300, known={"A", "B"})
    assert reading.changed == frozenset()
    assert reading.known == 2
    assert census.unlisted.as_dict() == {}

    fewer = {"A": inverter("A", now + 600)}
    assert census.keep_through_empty_lists(fewer, "tag") is fewer


@pytest.mark.parametrize(
    ("watts", "reporting"),
    [(200, 2), (5, 0)],
    ids=["producing: an interval made longer, maybe", "nightfall: nearly nothing produced"],
)
def test_bursts_that_stop(watts: int, reporting: int) -> None:
    """The latest burst's power decides how long it stays the site's (issue #24).

    Produced at 5 % of the site's peak at least, it holds the count for the longest interval
    (and a half); less (the evening's last reports), for the site's interval as before.
    """
    burst = 1_000_000.0
    listed = {"A": inverter("A", burst, watts), "B": inverter("B", burst + 30, watts)}
    census = InverterCensus()
    assert census.read(listed, burst + 40, interval=300).reporting == 2
    # Twenty minutes on, nothing new: five-minute bursts would have come three times.
    later = census.read(listed, burst + 1200, interval=300)
    assert later.reporting == reporting
    assert later.problems == frozenset()
