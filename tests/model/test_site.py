"""The site's model behind one call per poll, without Home Assistant, over real HTTP.

What a poll reads and what its snapshot says; what the site stores and how it comes back,
every malformed part starting afresh with one log line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from custom_components.enphase_envoy_legacy.envoy_client import (
    EnvoyClient,
    EnvoyConnectionError,
    EnvoyInfo,
    EnvoyUnsupportedFirmwareError,
)
from custom_components.enphase_envoy_legacy.model import Site, WrongEnvoyError
from custom_components.enphase_envoy_legacy.model.identity import Identity
from custom_components.enphase_envoy_legacy.model.metered import MeterSetup
from custom_components.enphase_envoy_legacy.model.stored import Malformed
from tests.simulator import (
    PATH_INFO,
    PATH_INVERTERS,
    PATH_METER_READINGS,
    PATH_METERS,
    PATH_PRODUCTION,
    PATH_PRODUCTION_JSON,
    EnvoySimulator,
    Fault,
)

TAG = "entry 123456"
ZONE = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 6, 21, 12, 0, tzinfo=ZONE)
NO_DEVICES: tuple[str, ...] = ()


@pytest.fixture
async def client(simulator: EnvoySimulator) -> AsyncGenerator[EnvoyClient]:
    """Return a client of the simulated Envoy, on a plain aiohttp session."""
    async with aiohttp.ClientSession() as session:
        yield EnvoyClient(simulator.host, simulator.serial, session)


def paths(simulator: EnvoySimulator) -> list[str]:
    """Return the paths answered 200, in order."""
    return [r.path.split("?")[0] for r in simulator.requests if r.status == 200]


async def test_a_first_poll_reads_and_judges_everything(
    simulator: EnvoySimulator, client: EnvoyClient
) -> None:
    """Identity, inverters and production; the snapshot says what Home Assistant must do."""
    site = Site(simulator.serial, TAG)
    info = await site.identify(client, NOW)
    snapshot = await site.poll(client, NOW, lambda: NO_DEVICES)
    # D5.0.62 says <imeter>false</imeter>: its meters are not even asked for.
    assert info.imeter is False
    assert paths(simulator) == [PATH_INFO, PATH_INVERTERS, PATH_PRODUCTION]
    assert snapshot.production.lifetime == simulator.production["wattHoursLifetime"]
    assert snapshot.inverters.keys() == {i["serialNumber"] for i in simulator.inverters}
    assert snapshot.inverters_read
    assert (snapshot.info, snapshot.metered, snapshot.meter_faults) == (None, None, None)
    assert snapshot.forgotten == frozenset()
    assert NOW <= snapshot.next_poll <= NOW + timedelta(minutes=5)
    assert site.auth == {"user": "envoy", "connection_close": False}


@pytest.mark.parametrize("capture", ["R4.10.35_metered"])
async def test_a_metered_site_says_its_meters_faults(
    simulator: EnvoySimulator, client: EnvoyClient
) -> None:
    """The meters are detected after the identity; a fault is said when they are read."""
    simulator.metering.ct_fault("net-consumption", "check-wiring")
    site = Site(simulator.serial, TAG)
    await site.identify(client, NOW)
    snapshot = await site.poll(client, NOW, lambda: NO_DEVICES)
    assert paths(simulator)[:3] == [PATH_INFO, PATH_METERS, PATH_INVERTERS]
    assert PATH_PRODUCTION_JSON in paths(simulator)
    assert PATH_METER_READINGS in paths(simulator)
    assert snapshot.meter_faults == {"net-consumption": "check-wiring"}
    assert snapshot.metered is not None


async def test_another_envoy_at_the_address(simulator: EnvoySimulator, client: EnvoyClient) -> None:
    """The identity proves the serial: another Envoy is refused, and asked again next poll."""
    site = Site("121600000000", TAG)
    with pytest.raises(WrongEnvoyError):
        await site.identify(client, NOW)
    assert site.identity.info is None
    with pytest.raises(LookupError):
        _ = site.identity.known


async def test_a_failed_poll_reads_the_identity(
    simulator: EnvoySimulator, client: EnvoyClient
) -> None:
    """After a failed poll the identity is read; the next good poll shows what it said."""
    site = Site(simulator.serial, TAG)
    await site.identify(client, NOW)
    simulator.fail(PATH_INVERTERS, Fault(status=503))
    with pytest.raises(EnvoyConnectionError):
        await site.poll(client, NOW, lambda: NO_DEVICES)
    assert paths(simulator) == [PATH_INFO, PATH_INFO]
    simulator.heal()
    snapshot = await site.poll(client, NOW + timedelta(minutes=1), lambda: NO_DEVICES)
    assert snapshot.info is not None
    assert snapshot.info.serial == simulator.serial
    assert (await site.poll(client, NOW + timedelta(minutes=2), lambda: NO_DEVICES)).info is None


async def test_a_failed_poll_finds_token_firmware(
    simulator: EnvoySimulator, client: EnvoyClient
) -> None:
    """An Envoy upgraded to firmware 7 says so after the failed poll: that error is raised."""
    site = Site(simulator.serial, TAG)
    await site.identify(client, NOW)
    simulator.identify_as(firmware="D7.0.88")
    simulator.fail(PATH_INVERTERS, Fault(status=503))
    with pytest.raises(EnvoyUnsupportedFirmwareError):
        await site.poll(client, NOW, lambda: NO_DEVICES)


async def test_a_failed_identity_read_is_not_read_twice(
    simulator: EnvoySimulator, client: EnvoyClient
) -> None:
    """The daily identity read failing fails the poll; it is read again at the next one."""
    site = Site(simulator.serial, TAG)
    await site.identify(client, NOW)
    simulator.fail(PATH_INFO, Fault(status=503))
    requests = len(simulator.requests)
    with pytest.raises(EnvoyConnectionError):
        await site.poll(client, NOW + timedelta(days=1), lambda: NO_DEVICES)
    assert [r.path for r in simulator.requests[requests:]] == [PATH_INFO]
    assert site.identity.is_due(NOW + timedelta(days=1))


def stored_site(simulator: EnvoySimulator) -> dict[str, Any]:
    """Return what a site stores, every part in it (as JSON, as Home Assistant keeps it)."""
    info = {"serial": simulator.serial, "firmware": "D5.0.62", "part_number": None}
    guard = {"lifetime": 1_000, "envoy_lifetime": 1_000, "accepted_at": NOW.timestamp()}
    stored = {
        "guard": guard,
        "rhythm": {"interval": 300.0, "metered": False},
        "panels": {"A": {"last_report": NOW.timestamp(), "lifetime": 5.0, "day_start": 1.0}},
        "unlisted": {"B": NOW.timestamp()},
        "auth": {"user": "installer", "connection_close": True},
        "info": {**info, "web_tokens": False, "imeter": False},
        "meters": {"meters": []},
        "counters": {"consumption": guard},
    }
    site = Site.from_dict(simulator.serial, TAG, stored, NOW)
    result: dict[str, Any] = json.loads(json.dumps(site.as_dict()))
    return result


@pytest.mark.parametrize(
    ("part", "malformed", "label"),
    [
        ("guard", {"lifetime": "many"}, "energy guard"),
        ("rhythm", {"interval": "soon"}, "report rhythm"),
        ("info", {"serial": 5}, "identity"),
        ("meters", {"meters": [{"eid": "one"}]}, "meters"),
        ("panels", {"A": "garbage"}, "panel energy"),
        ("unlisted", {"A": "yesterday"}, "unlisted inverters"),
        ("counters", {"consumption": {"credit": None}}, "meter counter guards"),
    ],
)
def test_a_malformed_part_starts_afresh_with_one_log_line(
    simulator: EnvoySimulator,
    caplog: pytest.LogCaptureFixture,
    part: str,
    malformed: object,
    label: str,
) -> None:
    """Each part is checked the same way; the others come back as they were."""
    stored = stored_site(simulator)
    fresh = Site(simulator.serial, TAG).as_dict()
    assert Site.from_dict(simulator.serial, TAG, stored, NOW).as_dict() == stored
    assert not caplog.records
    broken = {**stored, part: malformed}
    restored = Site.from_dict(simulator.serial, TAG, broken, NOW).as_dict()
    assert restored == {**stored, part: fresh[part]}
    assert len(caplog.records) == 1
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert label in record.getMessage()
    assert TAG in record.getMessage()
    assert simulator.serial not in record.getMessage()


def test_a_stored_identity_of_another_envoy_is_not_taken(simulator: EnvoySimulator) -> None:
    """Another serial, or token firmware: the identity is read again at setup."""
    identity = Identity(simulator.serial)
    other = EnvoyInfo(serial="1", firmware="D5.0.62", part_number=None, web_tokens=False)
    assert not identity.restore(other, NOW)
    tokens = EnvoyInfo(
        serial=simulator.serial, firmware="D7.6.175", part_number=None, web_tokens=False
    )
    assert not identity.restore(tokens, NOW)
    assert identity.info is None


@pytest.mark.parametrize(
    "meter",
    [
        {"eid": 1, "enabled": True, "measurement_type": "storage", "status_flags": []},
        {"eid": "1", "enabled": True, "measurement_type": "production", "status_flags": []},
        {"eid": 1, "enabled": True, "measurement_type": "production", "phase_count": "2"},
    ],
)
def test_a_stored_meter_is_checked(meter: dict[str, object]) -> None:
    """A meter of a kind no Envoy has, or with values of the wrong type, is refused."""
    with pytest.raises(Malformed):
        MeterSetup.from_dict({"meters": [{"status_flags": [], **meter}]})


def test_a_replaced_envoy_starts_anew_on_what_was_stored(simulator: EnvoySimulator) -> None:
    """A stored identity of another serial: the entry was moved to a new Envoy.

    Its identity and meters are read again, each guard takes its next reading as a new base,
    the panels and the rhythm stay.
    """
    stored = stored_site(simulator)
    replaced = Site.from_dict("122101234567", TAG, stored, NOW)
    assert replaced.identity.info is None
    assert replaced.meters.detect_due
    assert replaced.auth is None
    assert replaced.guard.state.new_counter
    assert all(state.new_counter for state in replaced.counters.states.values())
    after = replaced.as_dict()
    assert (after["panels"], after["rhythm"]) == (stored["panels"], stored["rhythm"])
    assert after["guard"]["lifetime"] == stored["guard"]["lifetime"]
