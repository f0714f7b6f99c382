"""The Envoy client against the simulator, over real HTTP and real Digest auth."""

from __future__ import annotations

import asyncio
import json
import random
import socket
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from envoy_utils.envoy_utils import EnvoyUtils

from custom_components.enphase_envoy_legacy.envoy_client import (
    MAX_BODY_BYTES,
    EnvoyAuthenticationError,
    EnvoyBadDataError,
    EnvoyClient,
    EnvoyConnectionError,
    EnvoyHostError,
    EnvoyInfo,
    EnvoyTimeoutError,
    EnvoyUnsupportedFirmwareError,
    base_url,
    installer_password,
)
from tests.simulator import PATH_INFO, PATH_PRODUCTION, EnvoySimulator

HTML_PAGE = b"<!DOCTYPE html><html><body><h2>Page Not Found</h2></body></html>"


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    """Return a plain aiohttp session, as a library user would have."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def client_for(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, **kwargs: Any
) -> EnvoyClient:
    """Return a client for the simulated Envoy."""
    return EnvoyClient(simulator.host, simulator.serial, session, **kwargs)


async def test_reads_info(simulator: EnvoySimulator, session: aiohttp.ClientSession) -> None:
    """/info.xml gives serial, firmware and part number."""
    info = await client_for(simulator, session).info()
    assert info == EnvoyInfo(
        serial="121621012167", firmware="D5.0.62", part_number="800-00551-r02", web_tokens=False
    )
    assert info.firmware_version == (5, 0, 62)
    assert not info.uses_tokens


async def test_info_alias(simulator: EnvoySimulator, session: aiohttp.ClientSession) -> None:
    """Like real Envoys, the simulator serves /info as /info.xml (no auth on either)."""
    async with session.get(f"http://{simulator.host}/info") as info:
        assert info.status == 200
        assert await info.read() == simulator.info.body
    assert [request.path for request in simulator.requests] == ["/info"]


async def test_reads_production_and_inverters(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """The captured D5.0.62 answers become typed records."""
    data = await client_for(simulator, session).update()
    assert data.production.watts_now == 7907
    assert data.production.watt_hours_today == 20161
    assert data.production.watt_hours_seven_days == 366671
    assert data.production.watt_hours_lifetime == 133798553
    assert len(data.inverters) == 40
    first = data.inverters["121547059079"]
    # The simulator replays the capture as if taken now: the report is as old as it was then.
    age = datetime.now(UTC) - first.last_report_date
    assert 886 <= age.total_seconds() <= 900
    assert first.last_report_watts == 202
    assert first.max_report_watts == 246
    assert first.dev_type == 1


async def test_digest_is_preemptive_after_the_first_challenge(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """The first inverter read costs a challenge; later ones are one round trip each."""
    client = client_for(simulator, session)
    await client.inverters()
    assert [(r.status, r.authorization) for r in simulator.requests] == [(401, False), (200, True)]
    simulator.requests.clear()
    await client.inverters()
    await client.inverters()
    assert [(r.status, r.authorization) for r in simulator.requests] == [(200, True), (200, True)]
    assert client.user == "envoy"


async def test_new_nonce_is_followed(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """When the Envoy rotates its nonce, the client answers the new challenge."""
    client = client_for(simulator, session)
    await client.inverters()
    simulator.new_nonce()
    simulator.requests.clear()
    assert len(await client.inverters()) == 40
    assert [r.status for r in simulator.requests] == [401, 200]


@pytest.mark.parametrize("capture", ["D3.18.10"])
async def test_installer_fallback(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """D3.18.10 refuses the user envoy; the installer user works and is remembered."""
    client = client_for(simulator, session)
    inverters = await client.inverters()
    assert len(inverters) == 41
    assert all(inverter.dev_type is None for inverter in inverters.values())
    assert client.user == "installer"
    # envoy: challenge, refused; installer: challenge, accepted.
    assert [r.status for r in simulator.requests] == [401, 401, 401, 200]
    simulator.requests.clear()
    await client.inverters()
    assert [r.status for r in simulator.requests] == [200]


def test_installer_password_matches_the_reference() -> None:
    """The client's derivation gives what the published reference (envoy-utils) gives."""
    # Enough serials that digests with nine zeros or nine ones (about 1 in 10,000 each)
    # exercise the rarely taken adjustments too.
    rng = random.Random(20261124)
    serials = ["121430030548", "121621012167", "121426016034", "121800123456"]
    serials += [f"12{rng.randrange(10**10):010d}" for _ in range(60_000)]
    for serial in serials:
        assert installer_password(serial) == EnvoyUtils.get_password(serial, "installer")
    assert installer_password(serials[0], "envoy") == EnvoyUtils.get_password(serials[0], "envoy")
    assert len({installer_password(serial) for serial in serials[:1000]}) > 990


async def test_wrong_serial_is_refused(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """A serial whose passwords the Envoy does not accept ends in EnvoyAuthenticationError."""
    client = EnvoyClient(simulator.host, "121621999999", session)
    with pytest.raises(EnvoyAuthenticationError, match="envoy or installer"):
        await client.inverters()


@pytest.mark.parametrize("capture", ["R3.9.36_bad_auth"])
async def test_garbled_challenge(simulator: EnvoySimulator, session: aiohttp.ClientSession) -> None:
    """R3.9.36 answers 401 with a JSON body and a garbled www-authenticate header."""
    client = client_for(simulator, session)
    production = await client.production()
    assert production.watts_now == 0
    assert production.watt_hours_lifetime == 14578520
    with pytest.raises(EnvoyAuthenticationError, match="without a Digest challenge"):
        await client.inverters()
    # No user can answer a garbled challenge: the installer user is not tried in vain.
    assert [r.status for r in simulator.requests] == [200, 401]


@pytest.mark.parametrize("capture", ["spec_example"])
async def test_spec_example(simulator: EnvoySimulator, session: aiohttp.ClientSession) -> None:
    """The example of the original API description is read as documented."""
    client = client_for(simulator, session)
    data = await client.update()
    assert data.production.watt_hours_lifetime == 1034886
    assert len(data.inverters) == 20
    assert (await client.info()).firmware_version == (4, 10, 35)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("192.168.1.50", "http://192.168.1.50/"),
        (" 192.168.1.50:8080 ", "http://192.168.1.50:8080/"),
        ("envoy.local", "http://envoy.local/"),
        ("envoy.local.", "http://envoy.local./"),
        ("envoy-garage_2", "http://envoy-garage_2/"),
        ("http://envoy.local/", "http://envoy.local/"),
        ("fe80::1", "http://[fe80::1]/"),
        ("[fe80::1]:8080", "http://[fe80::1]:8080/"),
    ],
)
def test_base_url(host: str, expected: str) -> None:
    """Addresses users type become base URLs."""
    assert str(base_url(host)) == expected


@pytest.mark.parametrize(
    "host",
    [
        "",
        "   ",
        "envoy.local/path",
        "user@envoy",
        "envoy local",
        "envoy:port",
        "[fe80::1",
        ":8080",
        ".",
        "%20",
        "-envoy",
    ],
)
def test_base_url_refuses(host: str) -> None:
    """Anything that is not a host (and port) is refused."""
    with pytest.raises(EnvoyHostError):
        base_url(host)


async def test_connection_refused(session: aiohttp.ClientSession, socket_enabled: None) -> None:
    """Nothing listening on the port: EnvoyConnectionError."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = EnvoyClient(f"127.0.0.1:{port}", "121621012167", session)
    with pytest.raises(EnvoyConnectionError):
        await client.info()


class FailingResolver(AbstractResolver):
    """A resolver for which no name exists: the tests have no DNS to ask."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Fail like a name that does not resolve."""
        raise OSError(socket.EAI_NONAME, f"{host} does not exist")

    async def close(self) -> None:
        """Nothing to close."""


async def test_name_does_not_resolve() -> None:
    """A host name that does not resolve: EnvoyHostError, a kind of EnvoyConnectionError."""
    connector = aiohttp.TCPConnector(resolver=FailingResolver())
    async with aiohttp.ClientSession(connector=connector) as session:
        client = EnvoyClient("envoy.invalid", "121621012167", session)
        with pytest.raises(EnvoyHostError, match="does not resolve"):
            await client.info()


async def test_timeout(simulator: EnvoySimulator, session: aiohttp.ClientSession) -> None:
    """An Envoy that does not answer in time: EnvoyTimeoutError."""
    simulator.fail(PATH_PRODUCTION, delay=1)
    client = client_for(simulator, session, request_timeout=0.2)
    with pytest.raises(EnvoyTimeoutError):
        await client.production()


async def test_dropped_connection(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """The Envoy closes the connection without answering: EnvoyConnectionError."""
    simulator.fail(PATH_PRODUCTION, drop=True)
    with pytest.raises(EnvoyConnectionError):
        await client_for(simulator, session).production()


@pytest.mark.parametrize("status", [500, 503, 302])
async def test_http_errors(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, status: int
) -> None:
    """HTTP errors on any endpoint: EnvoyConnectionError naming the status."""
    simulator.fail(PATH_PRODUCTION, status=status, body=b"busy")
    simulator.fail(PATH_INFO, status=status, body=b"busy")
    client = client_for(simulator, session)
    with pytest.raises(EnvoyConnectionError, match=f"HTTP {status}"):
        await client.production()
    with pytest.raises(EnvoyConnectionError, match=f"HTTP {status}"):
        await client.info()


async def test_missing_endpoint_is_unsupported_firmware(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """Firmware older than 3.9 has no /api/v1/production."""
    simulator.fail(PATH_PRODUCTION, status=404, body=HTML_PAGE, content_type="text/html")
    with pytest.raises(EnvoyUnsupportedFirmwareError, match=r"3\.9"):
        await client_for(simulator, session).production()


@pytest.mark.parametrize(
    "info_xml",
    [
        b"<envoy_info><device><sn>1</sn><software>D7.6.175</software></device></envoy_info>",
        (
            b"<envoy_info><device><sn>1</sn><software>D8.2.4</software></device>"
            b"<web-tokens>true</web-tokens></envoy_info>"
        ),
        (
            b"<envoy_info><device><sn>1</sn><software>X</software></device>"
            b"<web-tokens>true</web-tokens></envoy_info>"
        ),
    ],
)
async def test_token_firmware_is_unsupported(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, info_xml: bytes
) -> None:
    """Firmware 7 and later is recognised and pointed to the built-in integration."""
    simulator.fail(PATH_INFO, body=info_xml, content_type="text/xml")
    with pytest.raises(EnvoyUnsupportedFirmwareError, match="built-in Enphase Envoy"):
        await client_for(simulator, session).info()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<envoy_info><device>", "not valid XML"),
        (b"<envoy_info><device><sn>1</sn></device></envoy_info>", "lacks the serial or firmware"),
        (HTML_PAGE, "lacks the serial or firmware"),
    ],
)
async def test_bad_info(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, body: bytes, message: str
) -> None:
    """/info.xml that is not an Envoy's: EnvoyBadDataError."""
    simulator.fail(PATH_INFO, body=body, content_type="text/xml")
    with pytest.raises(EnvoyBadDataError, match=message):
        await client_for(simulator, session).info()


PRODUCTION_OK = {
    "wattsNow": 1,
    "wattHoursToday": 2,
    "wattHoursSevenDays": 3,
    "wattHoursLifetime": 4,
}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (HTML_PAGE, "HTML page"),
        (b'{"wattsNow": 1, "wattHoursToday": ', "invalid JSON"),
        (b"\xff\xfe garbage", "invalid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"wattsNow": 1}', "lacks wattHoursToday, wattHoursSevenDays, wattHoursLifetime"),
        (json.dumps({**PRODUCTION_OK, "wattsNow": "12"}).encode(), "'wattsNow' is '12'"),
        (json.dumps({**PRODUCTION_OK, "wattsNow": True}).encode(), "not a number"),
        (json.dumps({**PRODUCTION_OK, "wattsNow": None}).encode(), "not a number"),
        (
            (
                b'{"wattsNow": 1, "wattHoursToday": 2, "wattHoursSevenDays": 3, '
                b'"wattHoursLifetime": NaN}'
            ),
            "not a finite number",
        ),
        (json.dumps({**PRODUCTION_OK, "wattHoursLifetime": -5}).encode(), "below 0"),
        (
            b'{"status": 500, "error": "", "info": "Internal error", "moreInfo": ""}',
            "an error \\(status 500: Internal error\\)",
        ),
    ],
)
async def test_bad_production(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, body: bytes, message: str
) -> None:
    """Garbage from the production endpoint (even with status 200): EnvoyBadDataError."""
    simulator.fail(PATH_PRODUCTION, body=body)
    with pytest.raises(EnvoyBadDataError, match=message):
        await client_for(simulator, session).production()


async def test_production_tolerates_extra_fields_and_floats(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """Extra fields are ignored; integral floats are read as numbers."""
    simulator.production = {**PRODUCTION_OK, "wattsNow": -3.0, "extra": "x"}
    production = await client_for(simulator, session).production()
    assert production.watts_now == -3
    assert production.watt_hours_lifetime == 4


INVERTER_OK = {
    "serialNumber": "121547059079",
    "lastReportDate": 1694554838,
    "lastReportWatts": 202,
    "maxReportWatts": 246,
}


@pytest.mark.parametrize(
    ("inverters", "message"),
    [
        ({"serialNumber": "1"}, "not a JSON list"),
        (["x"], "not an object"),
        ([{**INVERTER_OK, "serialNumber": ""}], "serialNumber ''"),
        ([{**INVERTER_OK, "serialNumber": None}], "serialNumber None"),
        ([{**INVERTER_OK, "devType": "1"}], "devType '1'"),
        ([{**INVERTER_OK, "lastReportDate": "yesterday"}], "lastReportDate"),
        ([{**INVERTER_OK, "lastReportDate": 10**20}], "lastReportDate"),
        ([{**INVERTER_OK, "lastReportWatts": [1]}], "lastReportWatts"),
    ],
)
async def test_bad_inverters(
    simulator: EnvoySimulator,
    session: aiohttp.ClientSession,
    inverters: Any,
    message: str,
) -> None:
    """Inverter lists of the wrong shape: EnvoyBadDataError, never a wrong number."""
    simulator.inverters = inverters
    with pytest.raises(EnvoyBadDataError, match=message):
        await client_for(simulator, session).inverters()


async def test_inverters_tolerate_quirks(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """Numeric serials, missing devType, duplicates (newest wins) and an empty list."""
    simulator.inverters = [
        {**INVERTER_OK, "serialNumber": 121547059079, "devType": 1},
        {**INVERTER_OK, "lastReportDate": 1694554000, "lastReportWatts": 1},
        {**INVERTER_OK, "serialNumber": "2", "lastReportDate": 0},
    ]
    client = client_for(simulator, session)
    inverters = await client.inverters()
    assert sorted(inverters) == ["121547059079", "2"]
    assert inverters["121547059079"].last_report_watts == 202
    assert inverters["121547059079"].dev_type == 1
    assert inverters["2"].dev_type is None
    assert inverters["2"].last_report_date == datetime(1970, 1, 1, tzinfo=UTC)
    simulator.inverters = []
    assert await client.inverters() == {}


async def test_body_size_cap(simulator: EnvoySimulator, session: aiohttp.ClientSession) -> None:
    """A body over the cap is refused, whether announced by Content-Length or chunked."""
    client = client_for(simulator, session)
    simulator.fail(PATH_PRODUCTION, body=b" " * (MAX_BODY_BYTES + 1))
    with pytest.raises(EnvoyBadDataError, match="announced"):
        await client.production()

    # Without Content-Length the cap applies while reading.
    simulator.heal()
    simulator.inverters = [
        {**INVERTER_OK, "serialNumber": f"{number:012d}"} for number in range(MAX_BODY_BYTES // 100)
    ]
    original = simulator._answer

    def chunked(request: Any, answer: Any, body: bytes) -> Any:
        response = original(request, answer, body)
        response.enable_chunked_encoding()
        return response

    simulator._answer = chunked  # type: ignore[method-assign]
    with pytest.raises(EnvoyBadDataError, match="sent more than"):
        await client.inverters()


async def test_timeout_mid_body(simulator: EnvoySimulator, session: aiohttp.ClientSession) -> None:
    """Headers and half a body, then silence: EnvoyTimeoutError within the timeout."""
    simulator.fail(PATH_PRODUCTION, body=json.dumps(PRODUCTION_OK).encode(), cut_at=20, delay=5)
    client = client_for(simulator, session, request_timeout=0.3)
    async with asyncio.timeout(3):
        with pytest.raises(EnvoyTimeoutError):
            await client.production()


async def test_truncated_body(simulator: EnvoySimulator, session: aiohttp.ClientSession) -> None:
    """The connection closes before the announced body is complete: EnvoyConnectionError."""
    simulator.fail(PATH_PRODUCTION, body=json.dumps(PRODUCTION_OK).encode(), cut_at=20)
    with pytest.raises(EnvoyConnectionError):
        await client_for(simulator, session).production()
