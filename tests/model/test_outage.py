"""When the Envoy does not answer (model/outage.py, model/reading.py, model/meters.py).

How long what was read stays shown, what an endpoint that fails leaves as it was, and that
only a list changes what is known of the meters.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.enphase_envoy_legacy.envoy_client import (
    EnvoyAuthenticationError,
    EnvoyBadDataError,
    EnvoyClient,
    EnvoyConnectionError,
)
from custom_components.enphase_envoy_legacy.model import Site
from custom_components.enphase_envoy_legacy.model.metered import MeterSetup
from custom_components.enphase_envoy_legacy.model.meters import METER_CHECK_INTERVAL, MeterWatch
from custom_components.enphase_envoy_legacy.model.outage import HOLD_MARGIN, Freshness
from custom_components.enphase_envoy_legacy.model.schedule import RECHECK
from tests.simulator import (
    PATH_INVERTERS,
    PATH_METER_READINGS,
    PATH_METERS,
    PATH_PRODUCTION,
    EnvoySimulator,
    Fault,
)

TAG = "entry 123456"
NOW = datetime(2026, 6, 21, 23, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
MARGIN = HOLD_MARGIN.total_seconds()
METERED = "R4.10.35_metered"


@given(
    age=st.sampled_from([60.0, 300.0, 900.0, 3600.0]),
    phase=st.floats(0, 1),
    outage=st.floats(0, 3 * 3600),
)
def test_brief_trouble_is_no_event(age: float, phase: float, outage: float) -> None:
    """A part read every ``age`` seconds stays shown through any outage up to the margin.

    Polls come every minute while it fails; once its values are older than ``age`` plus the
    margin it is not shown, at the first poll after that, and shown again at the first read.
    """
    freshness = Freshness(TAG)
    freshness.read(0.0, production=True, inverters=True)
    start = phase * age  # the outage starts somewhere between two reads
    end = start + outage
    now, hidden_at = start, None
    while now < end:
        shown, _ = freshness.shown(now, production_age=age, inverter_age=age)
        freshness.show((shown, shown), say=False)
        if not shown and hidden_at is None:
            hidden_at = now
        now += RECHECK
    if outage <= MARGIN:
        assert hidden_at is None
    limit = age + MARGIN
    if end - RECHECK > limit:
        assert hidden_at is not None
        assert limit < hidden_at <= limit + RECHECK
    freshness.read(end, production=True, inverters=False)
    assert freshness.shown(end, production_age=age, inverter_age=age)[0]


def test_a_part_that_goes_while_polls_answer_is_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Production gone while the inverters answer: one warning, one line when it is back.

    While every poll fails Home Assistant says so: nothing here, not even the return.
    """
    caplog.set_level(logging.INFO)
    freshness = Freshness(TAG)
    freshness.read(0.0, production=True, inverters=True)
    later = 60 + MARGIN + 1
    freshness.read(later, production=False, inverters=True)
    for _ in range(2):
        freshness.show(freshness.shown(later, production_age=60, inverter_age=300), say=True)
    freshness.read(later + 60, production=True, inverters=True)
    freshness.show(freshness.shown(later + 60, production_age=60, inverter_age=300), say=True)
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"]
    assert all(TAG in r.getMessage() for r in caplog.records)
    caplog.clear()
    failing = later + 60 + 60 + MARGIN + 1
    freshness.show(freshness.shown(failing, production_age=60, inverter_age=300), say=False)
    freshness.read(failing + 60, production=True, inverters=True)
    freshness.show(freshness.shown(failing + 60, production_age=60, inverter_age=300), say=True)
    assert not caplog.records


@pytest.fixture
async def client(simulator: EnvoySimulator) -> AsyncGenerator[EnvoyClient]:
    """Return a client of the simulated Envoy, on a plain aiohttp session."""
    async with aiohttp.ClientSession() as session:
        yield EnvoyClient(simulator.host, simulator.serial, session)


async def first_poll(site: Site, client: EnvoyClient) -> None:
    """Identify the Envoy and poll it once."""
    await site.identify(client, NOW)
    await site.poll(client, NOW, tuple)


@pytest.mark.parametrize(
    ("path", "fault"),
    [
        (PATH_INVERTERS, Fault(status=500)),
        (PATH_INVERTERS, Fault(body=b"<html></html>")),
        (PATH_PRODUCTION, Fault(drop=True)),
        (PATH_PRODUCTION, Fault(body=b'{"wattsNow": ')),
    ],
)
async def test_an_endpoint_that_fails_leaves_what_it_feeds(
    simulator: EnvoySimulator, client: EnvoyClient, path: str, fault: Fault
) -> None:
    """The inverters or production fail while the other answers: the poll goes on."""
    site = Site(simulator.serial, TAG)
    await first_poll(site, client)
    simulator.fail(path, fault)
    later = NOW + timedelta(minutes=5)
    site.scheduler.state.metered = True  # production read every minute, with the inverters
    snapshot = await site.poll(client, later, tuple)
    assert snapshot.inverters_read is (path != PATH_INVERTERS)
    assert (snapshot.site_shown, snapshot.inverters_shown) == (True, True)
    simulator.fail(PATH_INVERTERS if path == PATH_PRODUCTION else PATH_PRODUCTION, fault)
    with pytest.raises((EnvoyConnectionError, EnvoyBadDataError)):
        await site.poll(client, later + timedelta(minutes=1), tuple)


async def test_a_refused_sign_in_fails_the_poll(
    simulator: EnvoySimulator, client: EnvoyClient
) -> None:
    """A refused password is definite: the poll fails even though production answered."""
    site = Site(simulator.serial, TAG)
    await first_poll(site, client)
    simulator.users = {}
    simulator.new_nonce()
    site.scheduler.state.metered = True
    with pytest.raises(EnvoyAuthenticationError):
        await site.poll(client, NOW + timedelta(minutes=5), tuple)


@pytest.mark.parametrize("capture", [METERED])
async def test_only_a_list_changes_the_meters(
    simulator: EnvoySimulator, client: EnvoyClient
) -> None:
    """Detection and the hourly check keep the known meters on an answer without a list."""
    watch = MeterWatch()
    await watch.detect(client, 0.0, imeter=True)
    known = watch.setup
    assert len(known.meters) == 2
    simulator.fail(PATH_METERS, Fault(body=b"<html></html>"))
    await watch.detect(client, 1.0, imeter=True)
    assert watch.setup == known
    await watch.read(client, METER_CHECK_INTERVAL + 2, burst=True)
    assert watch.setup == known
    simulator.fail(PATH_METERS, Fault(status=500))
    await watch.read(client, 2 * METER_CHECK_INTERVAL + 3, burst=True)
    assert watch.setup == known
    simulator.fail(PATH_METERS, Fault(body=b"[]"))
    await watch.read(client, 3 * METER_CHECK_INTERVAL + 4, burst=True)
    assert watch.setup == MeterSetup()
    fresh = MeterWatch()
    await fresh.detect(client, 0.0, imeter=True)
    assert fresh.setup == MeterSetup()  # first detection: no list is no meters


@pytest.mark.parametrize("capture", [METERED])
async def test_readings_that_stop_are_held_then_believed(
    simulator: EnvoySimulator, client: EnvoyClient
) -> None:
    """Readings that answer no list: a glitch at first, gone for good after the margin."""
    watch = MeterWatch()
    await watch.detect(client, 0.0, imeter=True)
    assert (await watch.read(client, 1.0, burst=True)).readings
    simulator.fail(PATH_METER_READINGS, Fault(status=404))
    with pytest.raises(EnvoyBadDataError):
        await watch.read(client, 2.0, burst=False)
    with pytest.raises(EnvoyBadDataError):
        await watch.read(client, 2.0 + MARGIN - 1, burst=False)
    reading = await watch.read(client, 2.0 + MARGIN, burst=False)
    assert reading.readings == {}
    assert reading.entries_fresh  # production.json serves now
