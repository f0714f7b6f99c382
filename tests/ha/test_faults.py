"""Every Envoy fault the integration survives, over real HTTP against the simulator.

For each fault: no unhandled exception, one log line when it starts and one when it ends,
entities unavailable only while their data is really missing, full recovery afterwards.
"""

from __future__ import annotations

import json
import logging
import socket
import tracemalloc
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_envoy_legacy.const import DOMAIN
from custom_components.enphase_envoy_legacy.coordinator import EnvoyLegacyCoordinator
from custom_components.enphase_envoy_legacy.model.outage import HOLD_MARGIN
from custom_components.enphase_envoy_legacy.model.schedule import PollScheduler
from tests.helpers import NOON, device, poll, report_all, secrets_said, state, store_key
from tests.simulator import PATH_INVERTERS, PATH_PRODUCTION, EnvoySimulator

SERIAL = "121621012167"
POWER = f"sensor.envoy_{SERIAL}_current_power"
TODAY = f"sensor.envoy_{SERIAL}_energy_today"
LIFETIME = f"sensor.envoy_{SERIAL}_lifetime_energy"
INVERTER = "sensor.inverter_121547059079_current_power"
SITE = (POWER, TODAY, LIFETIME)
ENTITIES = (*SITE, INVERTER)
# Polls a failing Envoy's last values stay shown: they are a minute old when it answers.
HELD = 1 + round(HOLD_MARGIN.total_seconds() / 60)
LOGGER_NAME = "custom_components.enphase_envoy_legacy"

type Step = Callable[[EnvoySimulator], Awaitable[None] | None]


@pytest.fixture(autouse=True)
def nothing_secret_said(
    hass: HomeAssistant, simulator: EnvoySimulator, caplog: pytest.LogCaptureFixture
) -> Generator[None]:
    """Every fault here: no log line and no error shown holds the serial or a password.

    Nor the Envoy's host, in a warning, an error or what the UI shows. Users paste these
    logs into public bug reports, and the serial's last six characters are a password.
    """
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    yield
    shown = [str(entry.reason) for entry in hass.config_entries.async_entries(DOMAIN)]
    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    assert not secrets_said(records, simulator, shown)


@pytest.fixture(autouse=True)
def short_timeout() -> Generator[None]:
    """Make requests give up after half a second here, not ten."""
    with patch.object(EnvoyLegacyCoordinator, "request_timeout", 0.5):
        yield


@dataclass(frozen=True)
class Fault:
    """A fault: how it starts and ends, and which entities lose their data meanwhile.

    What fails keeps its last values for HELD polls (brief trouble is no event), then is
    unavailable; ``held`` False: the entities lose their data at once (garbage the guard
    holds back is not trouble of the Envoy's answering).
    """

    start: Step
    end: Step = lambda simulator: simulator.heal()
    unavailable: tuple[str, ...] = ENTITIES
    polls: int = HELD + 2
    held: bool = True
    # One line when it starts, one when it ends; 0 when nothing is lost; 1 (at INFO) when
    # nothing is lost but the integration changed how it talks to the Envoy.
    logged: int = 2


async def _refuse(simulator: EnvoySimulator) -> None:
    await simulator.stop()


async def _resume(simulator: EnvoySimulator) -> None:
    await simulator.resume()


def _reset_after_challenge(simulator: EnvoySimulator) -> None:
    simulator.reset_after_challenge = True
    simulator.new_nonce()


def _end_reset(simulator: EnvoySimulator) -> None:
    simulator.reset_after_challenge = False


def _reboot(simulator: EnvoySimulator) -> None:
    simulator.fail(
        PATH_PRODUCTION,
        body=json.dumps(
            {"wattsNow": 0, "wattHoursToday": 0, "wattHoursSevenDays": 0, "wattHoursLifetime": 0}
        ).encode(),
    )


def _reboot_keeping_lifetime(simulator: EnvoySimulator) -> None:
    lifetime = simulator.production["wattHoursLifetime"]
    simulator.fail(
        PATH_PRODUCTION,
        body=json.dumps(
            {
                "wattsNow": 0,
                "wattHoursToday": 0,
                "wattHoursSevenDays": 0,
                "wattHoursLifetime": lifetime,
            }
        ).encode(),
    )


def _empty_list(simulator: EnvoySimulator) -> None:
    simulator.fail(PATH_INVERTERS, body=b"[]")


FAULTS: dict[str, Fault] = {
    "connection refused": Fault(start=_refuse, end=_resume),
    "connection dropped": Fault(start=lambda s: s.fail("*", drop=True) and None),
    # aiohttp sends the reset request again on a new connection: nothing is lost (one
    # request more), and the one line says the Envoy is switched to Connection: close.
    "connection reset after the digest challenge": Fault(
        start=_reset_after_challenge, end=_end_reset, polls=1, unavailable=(), logged=1
    ),
    "HTTP 500": Fault(start=lambda s: s.fail("*", status=500, body=b"") and None),
    "HTTP 503": Fault(
        start=lambda s: s.fail(PATH_PRODUCTION, status=503, body=b"") and None, unavailable=SITE
    ),
    "401 on one endpoint only": Fault(
        start=lambda s: (
            s.fail(
                PATH_PRODUCTION,
                status=401,
                body=b'{"status": 401, "error": "", "info": "Authentication required"}',
                headers={
                    "WWW-Authenticate": 'Digest realm="enphaseenergy.com", qop="auth", nonce="x"'
                },
            )
            and None
        ),
        # A refused sign-in: held like any trouble; three in a row ask the user (reauth).
        polls=2,
        unavailable=(),
        logged=0,
    ),
    "garbled www-authenticate": Fault(
        start=lambda s: (
            s.fail(
                PATH_INVERTERS,
                status=401,
                body=b'{"status": 401, "error": "", "info": "Authentication required"}',
                headers={"WWW-Authenticate": "\u00d8\u00c9\u00c6A"},
            )
            and None
        ),
        polls=2,
        unavailable=(),
        logged=0,
    ),
    "HTML page with status 200 as JSON": Fault(
        start=lambda s: (
            s.fail(PATH_PRODUCTION, body=b"<html><h2>Page Not Found</h2></html>") and None
        ),
        unavailable=SITE,
    ),
    "truncated JSON": Fault(
        start=lambda s: s.fail(PATH_INVERTERS, body=b'[{"serialNumber": "1215') and None,
        unavailable=(INVERTER,),
    ),
    "JSON of the wrong shape": Fault(
        start=lambda s: s.fail(PATH_PRODUCTION, body=b'[{"wattsNow": 1}]') and None,
        unavailable=SITE,
    ),
    "JSON of the wrong types": Fault(
        start=lambda s: (
            s.fail(PATH_INVERTERS, body=b'[{"serialNumber": "1", "lastReportDate": "today"}]')
            and None
        ),
        unavailable=(INVERTER,),
    ),
    "huge body": Fault(
        start=lambda s: s.fail(PATH_INVERTERS, body=b" " * (8 << 20)) and None,
        unavailable=(INVERTER,),
    ),
    # The Envoy reboots: zeros for a few minutes. The totals keep their last good values
    # (the power is unknown meanwhile); the inverters still answer.
    "Envoy reboot (all zeros)": Fault(start=_reboot, unavailable=(POWER,), polls=3, held=False),
    "Envoy reboot (zeros but lifetime)": Fault(
        start=_reboot_keeping_lifetime, unavailable=(POWER,), polls=3, held=False
    ),
}


@pytest.mark.parametrize("name", list(FAULTS))
async def test_fault_survived(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    name: str,
) -> None:
    """The fault starts and ends with one log line each; entities come back whole."""
    fault = FAULTS[name]
    before = {entity_id: state(hass, entity_id) for entity_id in ENTITIES}
    caplog.clear()
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)

    if (started := fault.start(simulator)) is not None:
        await started
    for index in range(fault.polls):
        await poll(hass, freezer)
        lost = fault.unavailable if index >= HELD or not fault.held else ()
        for entity_id in ENTITIES:
            expected = STATE_UNAVAILABLE if entity_id in lost else before[entity_id]
            assert state(hass, entity_id) == expected, (entity_id, index)

    if (ended := fault.end(simulator)) is not None:
        await ended
    simulator.production["wattHoursLifetime"] += 100
    await poll(hass, freezer)
    assert {entity_id: state(hass, entity_id) for entity_id in ENTITIES} == {
        **before,
        LIFETIME: "133798.653",
        TODAY: str(round(float(before[TODAY]) + 0.1, 3)),
    }
    assert init_integration.state is ConfigEntryState.LOADED
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)

    ours = [record for record in caplog.records if record.name.startswith(LOGGER_NAME)]
    assert not [record for record in ours if record.exc_info], "unhandled exception"
    said = [record for record in ours if record.levelno >= logging.INFO]
    assert len(said) == fault.logged, [record.getMessage() for record in said]
    if len(said) == 2:  # a start and an end
        assert said[0].levelno >= logging.WARNING
        assert said[1].levelno == logging.INFO
    if len(said) == 1:
        assert said[0].levelno == logging.INFO


@pytest.mark.parametrize(
    "stall",
    [
        {"path": PATH_PRODUCTION, "delay": 3},  # no answer at all
        {"path": PATH_INVERTERS, "body": b'[{"serialNumber": "1", ' * 10, "cut_at": 30, "delay": 3},
    ],
    ids=["timeout before any answer", "timeout mid-body"],
)
async def test_timeout_survived(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    stall: dict[str, object],
) -> None:
    """A stalled Envoy, in real time (timers do not run under a frozen clock).

    The refresh is the one the scheduler runs; the request gives up after half a second.
    Seconds of trouble are no event: the last values stay, nothing is said at INFO or above.
    """
    coordinator = init_integration.runtime_data
    # A scheduler that knows nothing yet reads both endpoints, whatever the (real) time.
    coordinator.site.scheduler = PollScheduler(coordinator.site.scheduler.production_interval)
    caplog.clear()
    path = str(stall.pop("path"))
    simulator.fail(path, **stall)  # type: ignore[arg-type]
    before = {entity_id: state(hass, entity_id) for entity_id in ENTITIES}
    for _ in range(2):
        await coordinator.async_refresh()
        assert {entity_id: state(hass, entity_id) for entity_id in ENTITIES} == before
    assert any("no answer within 0.5 s" in record.getMessage() for record in caplog.records)
    simulator.heal()
    await coordinator.async_refresh()
    assert state(hass, POWER) == "7907"
    assert state(hass, INVERTER) == "202"
    ours = [record for record in caplog.records if record.name.startswith(LOGGER_NAME)]
    assert not [record for record in ours if record.exc_info]
    assert not [record.getMessage() for record in ours if record.levelno >= logging.INFO]


async def test_reset_after_challenge_switches_to_connection_close(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    hass_storage: dict[str, Any],
) -> None:
    """Envoy-R resets a kept-alive connection after a challenge: switched to Connection: close.

    On its own, with one info line; the store keeps it, so after a restart the first request
    asks for Connection: close already and no connection is reset again.
    """
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    simulator.reset_after_challenge = True
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_config_entry.runtime_data.client.connection_close
    # The identity, the challenge, the answer on the same connection (reset), aiohttp's new
    # try on a new connection, then production with Connection: close.
    assert [(r.path, r.status, r.keep_alive) for r in simulator.requests][1:] == [
        (PATH_INVERTERS, 401, True),
        (PATH_INVERTERS, 0, True),
        (PATH_INVERTERS, 200, True),
        (PATH_PRODUCTION, 200, False),
    ]

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    stored = hass_storage[store_key(mock_config_entry.entry_id)]["data"]
    assert stored["auth"] == {"user": "envoy", "connection_close": True}
    simulator.requests.clear()
    simulator.new_nonce()
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert [(r.path, r.status, r.keep_alive) for r in simulator.requests] == [
        (PATH_INVERTERS, 401, False),
        (PATH_INVERTERS, 200, False),
        (PATH_PRODUCTION, 200, False),
    ]

    said = [
        record
        for record in caplog.records
        if record.name.startswith(LOGGER_NAME) and "kept-alive" in record.getMessage()
    ]
    assert [record.levelno for record in said] == [logging.INFO]
    assert said[0].getMessage().startswith(f"Envoy {mock_config_entry.runtime_data.tag} ")


async def test_huge_body_keeps_memory_flat(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """A 64 MiB answer is cut at the cap: the poll allocates a few MiB at the most."""
    simulator.fail(PATH_INVERTERS, body=b" " * (64 << 20))
    tracemalloc.start()
    try:
        await poll(hass, freezer)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20
    for _ in range(HELD):
        await poll(hass, freezer)
    assert state(hass, INVERTER) == STATE_UNAVAILABLE


class HostsResolver(AbstractResolver):
    """A resolver with one name in it (the tests have no DNS server to ask)."""

    def __init__(self) -> None:
        """Start with the name resolving."""
        self.broken = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve envoy.test to loopback, unless broken."""
        if self.broken or host != "envoy.test":
            raise OSError(socket.EAI_NONAME, f"{host} does not resolve")
        return [
            ResolveResult(
                hostname=host, host="127.0.0.1", port=port, family=family, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        """Nothing to close."""


async def test_dns_failure_survived(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The Envoy's name stops resolving for a while: held, then unavailable, then back."""
    resolver = HostsResolver()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=resolver))
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**mock_config_entry.data, CONF_HOST: f"envoy.test:{simulator.port}"},
    )
    with patch(
        "custom_components.enphase_envoy_legacy.coordinator.async_get_clientsession",
        return_value=session,
    ):
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert state(hass, POWER) == "7907"
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    resolver.broken = True
    await poll(hass, freezer)
    assert state(hass, POWER) == "7907"
    for _ in range(HELD):
        await poll(hass, freezer)
    assert state(hass, POWER) == STATE_UNAVAILABLE
    assert "The Envoy's host name does not resolve to an address" in caplog.text
    resolver.broken = False
    await poll(hass, freezer)
    assert state(hass, POWER) == "7907"
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await session.close()


async def test_empty_inverter_list_at_night_keeps_inverters(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Some firmware lists no inverter at all now and then at night: nothing goes away."""
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    simulator.inverters.clear()
    for _ in range(3):
        await poll(hass, freezer)
        assert state(hass, INVERTER) == "202"
    assert not [r for r in caplog.records if r.name.startswith(LOGGER_NAME) and r.levelno >= 20]


async def test_inverters_last_seen_years_ago(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Inverters removed long ago but still listed: no power shown, no repair, time kept."""
    freezer.move_to(NOON)
    report_all(simulator, NOON - timedelta(minutes=1))
    simulator.inverters[0]["lastReportDate"] = 1514764800  # 2018
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert state(hass, INVERTER) == STATE_UNAVAILABLE
    assert state(hass, "sensor.inverter_121547059193_current_power") == "201"
    assert not issue_registry.issues
    await poll(hass, freezer)
    assert state(hass, INVERTER) == STATE_UNAVAILABLE


async def test_counter_wrap_is_a_continuation(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The lifetime counter steps down 1.19 MWh for good: held, then continued without a jump."""
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    simulator.production["wattHoursLifetime"] -= 1_193_046
    for _ in range(15):
        await poll(hass, freezer)
        assert state(hass, LIFETIME) == "133798.553"
    simulator.production["wattHoursLifetime"] += 50
    freezer.tick(timedelta(minutes=1))
    await poll(hass, freezer)
    await poll(hass, freezer)
    # 50 Wh made since the step, and the minute before it estimated at 7,907 W: 132 Wh.
    assert state(hass, LIFETIME) == "133798.735"
    assert "continues from 133798735 Wh without a jump" in caplog.text


async def test_guard_remembers_across_restarts(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Home Assistant restarts while the Envoy reboots: the zeros are held from the first poll."""
    key = store_key(init_integration.entry_id)
    simulator.production["wattHoursLifetime"] += 100
    await poll(hass, freezer)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert hass_storage[key]["data"]["guard"]["lifetime"] == 133798653

    _reboot(simulator)
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    assert state(hass, LIFETIME) == "133798.653"
    assert state(hass, POWER) == STATE_UNAVAILABLE

    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_one_inverter_record_in_milliseconds(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One record's lastReportDate in milliseconds sinks nothing but that record.

    The poll succeeds; the site's totals and every other inverter keep their values; the
    inverter of the malformed record is treated exactly as one the Envoy stopped listing; one
    warning names the field, never the Envoy's serial or its password; one info line says
    when the records are whole again.
    """
    entities = [
        entry.entity_id
        for entry in er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    ]
    broken = simulator.inverters[5]
    broken_device = device(device_registry, init_integration, broken["serialNumber"])
    assert broken_device is not None
    broken_entities = {
        entry.entity_id for entry in er.async_entries_for_device(entity_registry, broken_device.id)
    }
    before = {entity_id: state(hass, entity_id) for entity_id in entities}
    assert STATE_UNAVAILABLE not in before.values()
    caplog.clear()
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)

    date = broken["lastReportDate"]
    broken["lastReportDate"] = date * 1000
    for _ in range(3):
        await poll(hass, freezer)
        malformed = {entity_id: state(hass, entity_id) for entity_id in entities}
        assert init_integration.runtime_data.last_update_success
        for entity_id in (POWER, TODAY, LIFETIME, INVERTER):
            assert malformed[entity_id] == before[entity_id], entity_id
        assert {malformed[entity_id] for entity_id in broken_entities} == {STATE_UNAVAILABLE}

    said = [r for r in caplog.records if r.name.startswith(LOGGER_NAME) and r.levelno >= 20]
    assert [record.levelno for record in said] == [logging.WARNING]
    warning = said[0].getMessage()
    assert "lastReportDate" in warning
    assert SERIAL not in warning
    assert SERIAL[-6:] not in caplog.text
    assert str(broken["serialNumber"]) not in warning

    broken["lastReportDate"] = date
    await poll(hass, freezer)
    assert {entity_id: state(hass, entity_id) for entity_id in entities} == before
    said = [r for r in caplog.records if r.name.startswith(LOGGER_NAME) and r.levelno >= 20]
    assert [record.levelno for record in said] == [logging.WARNING, logging.INFO]

    # The rule for an inverter the Envoy does not list: every entity the same as above.
    simulator.inverters.remove(broken)
    await poll(hass, freezer)
    assert {entity_id: state(hass, entity_id) for entity_id in entities} == malformed
    changed = {entity_id for entity_id in entities if malformed[entity_id] != before[entity_id]}
    assert broken_entities <= changed
    # Besides that inverter, only the counts of inverters listed and reporting moved.
    assert {entity_id.rpartition("_inverters_")[0] for entity_id in changed - broken_entities} == {
        f"sensor.envoy_{SERIAL}"
    }


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_an_inverter_record_with_the_envoys_serial(
    hass: HomeAssistant,
    simulator: EnvoySimulator,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An inverter record carrying the Envoy's own serial collides with nothing.

    Home Assistant keys the Envoy's device and entities by its serial, and each inverter's
    by the inverter's: such a record would make a second device of the Envoy, via itself, and
    entities on the Envoy's ids. It is no inverter: the entry loads, the Envoy's device and
    entities are its own, the site totals and every other inverter show as they come.
    """
    others = list(simulator.inverters)
    simulator.inverters.insert(2, {**others[0], "serialNumber": simulator.serial})
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert not [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR
        or (record.name.startswith(LOGGER_NAME) and record.levelno >= logging.WARNING)
    ]
    envoy = device(device_registry, mock_config_entry, simulator.serial)
    assert envoy is not None
    assert envoy.via_device_id is None
    devices = dr.async_entries_for_config_entry(device_registry, mock_config_entry.entry_id)
    assert sorted(serial for d in devices for _, serial in d.identifiers) == sorted(
        [simulator.serial, *(record["serialNumber"] for record in others)]
    )
    assert {d.via_device_id for d in devices if d.id != envoy.id} == {envoy.id}
    serial_of = {d.id: serial for d in devices for _, serial in d.identifiers}
    for entry in er.async_entries_for_config_entry(entity_registry, mock_config_entry.entry_id):
        assert entry.unique_id.startswith(f"{serial_of[entry.device_id]}_"), entry.entity_id

    assert state(hass, f"sensor.envoy_{SERIAL}_inverters_listed") == str(len(others))
    lifetime = simulator.production["wattHoursLifetime"] / 1000
    assert float(state(hass, LIFETIME)) == pytest.approx(lifetime)
    for record in others:
        power = state(hass, f"sensor.inverter_{record['serialNumber']}_current_power")
        assert power == str(record["lastReportWatts"])
