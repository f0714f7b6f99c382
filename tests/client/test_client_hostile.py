"""The Envoy client under hostile answers: one bad record sinks nothing, nothing escapes.

What the client promises (issue #12, points 3, 5 and parts of 4 and 7):

- a malformed inverter record is skipped with one warning naming the field, the other
  records are kept; a list of nothing but malformed records is EnvoyBadDataError;
- every integral value it returns is one of JSON's safe integers, every serial it returns
  looks like a serial, every report date is plausible;
- whatever an Envoy answers (any bytes, any JSON, any header, any HTTP or none), the client
  returns typed data or raises one of its own errors, nothing else.

Property tests generate the answers (hypothesis) and serve them over real HTTP: through the
Envoy simulator where the answer is valid HTTP, through ``RawHttpServer`` where it need not be.
"""

from __future__ import annotations

import json
import logging
import random
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.enphase_envoy_legacy.envoy_client import (
    MAX_BODY_BYTES,
    EnvoyAuthenticationError,
    EnvoyBadDataError,
    EnvoyClient,
    EnvoyError,
    EnvoyInfo,
    EnvoyInverter,
    EnvoyProduction,
)
from custom_components.enphase_envoy_legacy.envoy_client.numbers import MAX_SAFE_INTEGER
from custom_components.enphase_envoy_legacy.envoy_client.parsing import (
    MAX_INFO_BYTES,
    NOT_AN_OBJECT,
    REPORT_DATE_MAX,
    REPORT_DATE_MIN,
    SERIAL_PATTERN,
    parse_info,
)
from tests.simulator import CAPTURES, PATH_INFO, PATH_INVERTERS, PATH_PRODUCTION, EnvoySimulator
from tests.simulator.raw import RawHttpServer, http_response

CLIENT_LOGGER = "custom_components.enphase_envoy_legacy.envoy_client.client"
FIELDS = ("serialNumber", "lastReportDate", "lastReportWatts", "maxReportWatts", "devType")


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    """Return a session that opens a new connection per request (answers stay apart)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as client:
        yield client


@pytest.fixture
async def raw_server(socket_enabled: None) -> AsyncGenerator[RawHttpServer]:
    """Serve chosen bytes on a loopback port, one server for every example of a test."""
    async with RawHttpServer() as server:
        yield server


# The serial of the Envoy of the D5.0.62 capture, the simulator's by default.
ENVOY = parse_info((CAPTURES / "D5.0.62" / "info.xml").read_bytes()).serial


def client_for(host: str, session: aiohttp.ClientSession) -> EnvoyClient:
    """Return a fresh client (no challenge, no log state) for the Envoy of the D5.0.62 capture."""
    return EnvoyClient(host, ENVOY, session, request_timeout=5)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the client's warnings."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == CLIENT_LOGGER and record.levelno == logging.WARNING
    ]


# --- One malformed inverter record -------------------------------------------------------

MILLISECONDS = 1000


def _break(record: dict[str, Any], field: str, value: Any) -> None:
    """Set a field of a record to a value; the marker DELETE removes the field."""
    if value is DELETE:
        del record[field]
    else:
        record[field] = value


DELETE = object()

# (field, how to break it): each is a record a real or a broken Envoy could send.
BREAKAGES: dict[str, tuple[str, Any]] = {
    "date in milliseconds": ("lastReportDate", lambda date: date * MILLISECONDS),
    "negative date": ("lastReportDate", lambda date: -date),
    "date zero": ("lastReportDate", lambda _: 0),
    "date as text": ("lastReportDate", str),
    "date a bool": ("lastReportDate", lambda _: True),
    "date NaN": ("lastReportDate", lambda _: float("nan")),
    "date infinite": ("lastReportDate", lambda _: float("inf")),
    "date missing": ("lastReportDate", lambda _: DELETE),
    "date beyond 2100": ("lastReportDate", lambda _: REPORT_DATE_MAX),
    "watts above 2^64": ("lastReportWatts", lambda _: 2**64 + 1),
    "watts 10^400": ("lastReportWatts", lambda _: 10**400),
    "watts a huge float": ("lastReportWatts", lambda _: 1e300),
    "peak null": ("maxReportWatts", lambda _: None),
    "peak below the safe integers": ("maxReportWatts", lambda _: -(2**53)),
    "serial with markdown": ("serialNumber", lambda _: "[x](https://example.invalid)"),
    "serial of other digits": ("serialNumber", lambda _: "١٢١٥٤٧٠٥٩٠٧٩"),
    "serial too long": ("serialNumber", lambda _: "1" * 21),
    "serial empty": ("serialNumber", lambda _: ""),
    "serial a negative number": ("serialNumber", lambda _: -121547059079),
    "serial a list": ("serialNumber", lambda serial: [serial]),
    "devType as text": ("devType", lambda _: "1"),
    "devType a bool": ("devType", lambda _: True),
    "devType beyond the safe integers": ("devType", lambda _: 2**60),
}


@pytest.mark.parametrize("name", list(BREAKAGES))
async def test_one_malformed_record_is_skipped(
    simulator: EnvoySimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    name: str,
) -> None:
    """The other 39 records come back as without the fault; one warning names the field."""
    expected = await client_for(simulator.host, session).inverters()
    field, breaker = BREAKAGES[name]
    broken = simulator.inverters[3]
    serial = broken["serialNumber"]
    _break(broken, field, breaker(broken[field]))
    caplog.set_level(logging.DEBUG, logger=CLIENT_LOGGER)

    inverters = await client_for(simulator.host, session).inverters()

    assert inverters == {key: value for key, value in expected.items() if key != serial}
    [warning] = warnings_of(caplog)
    assert f"skipped 1 of {len(simulator.inverters)} inverter records" in warning
    assert f"malformed {field} " in warning
    assert "record 4 of the list" in warning
    assert simulator.serial[-6:] not in caplog.text
    assert serial not in caplog.text


async def test_a_record_that_is_no_object(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """Records that are not objects are skipped too, and counted."""
    expected = await client_for(simulator.host, session).inverters()
    simulator.inverters[5:5] = [None, "121547059079", [1, 2]]
    inverters = await client_for(simulator.host, session).inverters()
    assert inverters == expected
    assert warnings_of(caplog) == [
        (
            f"{PATH_INVERTERS}: skipped 3 of {len(simulator.inverters)} inverter records for a "
            f"malformed {NOT_AN_OBJECT} (the first is record 6 of the list); the other "
            "inverters are read as usual"
        )
    ]


async def test_the_warning_is_not_repeated_while_nothing_changes(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """One warning when records go bad (and when what is bad changes), one info when healed."""
    client = client_for(simulator.host, session)
    caplog.set_level(logging.INFO, logger=CLIENT_LOGGER)
    date = simulator.inverters[0]["lastReportDate"]
    simulator.inverters[0]["lastReportDate"] = date * MILLISECONDS
    for _ in range(3):
        assert len(await client.inverters()) == len(simulator.inverters) - 1
    simulator.inverters[1]["devType"] = "x"
    await client.inverters()
    await client.inverters()
    simulator.inverters[0]["lastReportDate"] = date
    simulator.inverters[1]["devType"] = 1
    assert len(await client.inverters()) == len(simulator.inverters)
    await client.inverters()
    said = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == CLIENT_LOGGER]
    assert [level for level, _ in said] == [logging.WARNING, logging.WARNING, logging.INFO]
    assert "skipped 1 of" in said[0][1]
    assert "malformed lastReportDate (" in said[0][1]
    assert "skipped 2 of" in said[1][1]
    assert "malformed lastReportDate, devType (" in said[1][1]
    assert said[2][1] == f"{PATH_INVERTERS}: every inverter record is well-formed again"


async def test_every_record_malformed_is_bad_data(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing readable at all: EnvoyBadDataError, not an empty list.

    The integration would take an empty list for the night-time quirk and keep the last
    records, stale ones standing for current ones for as long as the Envoy answers garbage.
    """
    for record in simulator.inverters:
        record["lastReportDate"] *= MILLISECONDS
    with pytest.raises(EnvoyBadDataError, match=r"every one of its 40 records .*lastReportDate"):
        await client_for(simulator.host, session).inverters()
    assert not warnings_of(caplog)
    simulator.inverters = []
    assert await client_for(simulator.host, session).inverters() == {}


ENVOY_RECORD = "/api/v1/production/inverters lists a record with the Envoy's own serial"


def debugs_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the client's debug lines."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == CLIENT_LOGGER and record.levelno == logging.DEBUG
    ]


@pytest.mark.parametrize(
    "written", [str, int, lambda serial: f" {serial}\t"], ids=["text", "number", "padded"]
)
async def test_a_record_with_the_envoys_own_serial_is_no_inverter(
    simulator: EnvoySimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    written: Any,
) -> None:
    """A record carrying the Envoy's serial is left out, said once at debug level.

    Home Assistant keys the Envoy and each inverter by serial: such a record would collide
    with the Envoy's own device and entities. The other records come back as they are; the
    log says so once while the record stays (again if it comes back), and holds neither the
    serial nor any value of the record.
    """
    client = EnvoyClient(simulator.host, simulator.serial, session)
    expected = await client.inverters()
    own = {**simulator.inverters[7], "serialNumber": written(simulator.serial)}
    caplog.set_level(logging.DEBUG, logger=CLIENT_LOGGER)

    simulator.inverters.insert(3, own)
    for _ in range(3):
        assert await client.inverters() == expected
    simulator.inverters.remove(own)
    assert await client.inverters() == expected
    simulator.inverters.append(own)
    assert await client.inverters() == expected

    said = [r for r in caplog.records if r.name == CLIENT_LOGGER]
    assert [(r.levelno, r.getMessage()) for r in said] == [
        (logging.DEBUG, f"{ENVOY_RECORD}: it is no microinverter and is left out")
    ] * 2
    assert simulator.serial[-6:] not in caplog.text


@pytest.mark.parametrize(
    ("date", "kept"),
    [
        (REPORT_DATE_MIN, True),
        (REPORT_DATE_MIN - 1, False),
        (REPORT_DATE_MAX - 1, True),
        (REPORT_DATE_MAX, False),
        (REPORT_DATE_MIN * MILLISECONDS, False),
        (float(REPORT_DATE_MIN), True),
        (REPORT_DATE_MIN - 0.6, False),
    ],
)
async def test_plausible_report_dates(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, date: float, kept: bool
) -> None:
    """From 2000-01-01 to 2100-01-01 (excluded), in seconds: milliseconds never pass."""
    assert datetime.fromtimestamp(REPORT_DATE_MIN, UTC) == datetime(2000, 1, 1, tzinfo=UTC)
    assert datetime.fromtimestamp(REPORT_DATE_MAX, UTC) == datetime(2100, 1, 1, tzinfo=UTC)
    simulator.inverters[0]["lastReportDate"] = date
    serial = simulator.inverters[0]["serialNumber"]
    inverters = await client_for(simulator.host, session).inverters()
    assert (serial in inverters) is kept
    if kept:
        assert inverters[serial].last_report_date.timestamp() == round(date)


# --- The inverter list, property ---------------------------------------------------------

serials = st.from_regex(SERIAL_PATTERN, fullmatch=True)
dates = st.integers(REPORT_DATE_MIN, REPORT_DATE_MAX - 1)
safe_integers = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
safe_floats = st.floats(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER, allow_nan=False)
unsafe_integers = st.integers(MAX_SAFE_INTEGER + 1, 10**400) | st.integers(
    -(10**400), -MAX_SAFE_INTEGER - 1
)
not_finite = st.sampled_from([float("nan"), float("inf"), float("-inf")])
not_numbers = st.none() | st.booleans() | st.text(max_size=8) | st.lists(st.integers(), max_size=2)


@st.composite
def good_records(draw: st.DrawFn) -> tuple[dict[str, Any], EnvoyInverter]:
    """Return a well-formed record (usual or unusual types) and what the client must make of it."""
    serial = draw(serials | st.integers(0, MAX_SAFE_INTEGER).map(str))
    as_number = serial.isdigit() and int(serial) <= MAX_SAFE_INTEGER
    written_serial: Any = draw(
        st.sampled_from([serial, f" {serial}\t", int(serial) if as_number else serial])
    )
    date = draw(dates | st.integers(REPORT_DATE_MIN, REPORT_DATE_MAX - 2).map(float))
    watts = draw(safe_integers | safe_floats)
    peak = draw(safe_integers | safe_floats)
    record: dict[str, Any] = {
        "serialNumber": written_serial,
        "lastReportDate": date,
        "lastReportWatts": watts,
        "maxReportWatts": peak,
        "extra": draw(st.integers()),
    }
    dev_type = draw(st.none() | safe_integers)
    if dev_type is not None or draw(st.booleans()):
        record["devType"] = dev_type
    inverter = EnvoyInverter(
        serial_number=str(int(serial)) if isinstance(written_serial, int) else serial,
        last_report_date=datetime.fromtimestamp(round(date), UTC),
        last_report_watts=round(watts),
        max_report_watts=round(peak),
        dev_type=dev_type,
    )
    return record, inverter


BAD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "serialNumber": (
        st.text(max_size=30).filter(lambda text: SERIAL_PATTERN.fullmatch(text.strip()) is None)
        | st.integers(max_value=-1)
        | st.integers(min_value=MAX_SAFE_INTEGER + 1, max_value=10**30)
        | not_numbers.filter(lambda value: not isinstance(value, str))
        | st.just(DELETE)
    ),
    "lastReportDate": (
        st.integers(max_value=REPORT_DATE_MIN - 1)
        | st.integers(min_value=REPORT_DATE_MAX)
        | dates.map(lambda date: date * MILLISECONDS)
        | st.floats(max_value=REPORT_DATE_MIN - 0.51)
        | st.floats(min_value=REPORT_DATE_MAX)
        | not_finite
        | not_numbers
        | st.just(DELETE)
    ),
    "lastReportWatts": unsafe_integers | not_finite | not_numbers | st.just(DELETE),
    "maxReportWatts": (unsafe_integers | st.floats(min_value=2.0**54) | not_finite | not_numbers),
    "devType": unsafe_integers | st.floats() | st.booleans() | st.text(max_size=3),
}


@st.composite
def bad_records(draw: st.DrawFn) -> tuple[Any, tuple[str, ...]]:
    """Return a malformed record and the fields that make it so."""
    if draw(st.integers(0, 5)) == 0:
        return draw(not_numbers | st.integers() | st.floats()), (NOT_AN_OBJECT,)
    record, _ = draw(good_records())
    broken = draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3, unique=True))
    for field in broken:
        _break(record, field, draw(BAD_VALUES[field]))
    return record, tuple(field for field in FIELDS if field in broken)


@st.composite
def envoy_records(draw: st.DrawFn) -> tuple[dict[str, Any], None]:
    """Return a well-formed record carrying the Envoy's own serial (client_for's), as written."""
    record, _ = draw(good_records())
    record["serialNumber"] = draw(st.sampled_from([ENVOY, int(ENVOY), f" {ENVOY}\t"]))
    return record, None


GOOD, BAD, OWN = "good", "bad", "the Envoy's own"


@settings(max_examples=150)
@given(
    items=st.lists(
        st.tuples(st.just(GOOD), good_records())
        | st.tuples(st.just(BAD), bad_records())
        | st.tuples(st.just(OWN), envoy_records()),
        max_size=12,
    )
)
async def test_inverter_list_property(
    simulator: EnvoySimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    items: list[tuple[str, tuple[Any, Any]]],
) -> None:
    """Any mix of good, malformed and Envoy's own records: exactly the good ones come back.

    The newest record per serial, with one warning naming the malformed fields and counting
    their records, and one debug line when the Envoy's own serial is listed; a list of
    nothing but malformed records (the Envoy's own aside) is EnvoyBadDataError.
    """
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger=CLIENT_LOGGER)
    simulator.inverters = [record for _, (record, _) in items]
    expected: dict[str, EnvoyInverter] = {}
    bad_fields: set[str] = set()
    first_bad = 0
    lists_envoy = False
    for position, (kind, (_, outcome)) in enumerate(items):
        if kind == BAD:
            first_bad = first_bad or position + 1
            bad_fields.update(outcome)
        elif kind == OWN or outcome.serial_number == ENVOY:
            lists_envoy = True
        else:
            known = expected.get(outcome.serial_number)
            if known is None or outcome.last_report_date >= known.last_report_date:
                expected[outcome.serial_number] = outcome
    skipped = sum(1 for kind, _ in items if kind == BAD)
    client = client_for(simulator.host, session)

    if skipped and not expected:
        with pytest.raises(EnvoyBadDataError, match=f"every one of its {skipped} records"):
            await client.inverters()
        return
    assert await client.inverters() == expected
    said_envoy = [line for line in debugs_of(caplog) if line.startswith(ENVOY_RECORD)]
    assert len(said_envoy) == lists_envoy
    assert ENVOY[-6:] not in caplog.text
    warnings = warnings_of(caplog)
    if not skipped:
        assert warnings == []
        return
    names = ", ".join(name for name in (*FIELDS, NOT_AN_OBJECT) if name in bad_fields)
    assert warnings == [
        (
            f"{PATH_INVERTERS}: skipped {skipped} of {len(items)} inverter records for a "
            f"malformed {names} (the first is record {first_bad} of the list); the other "
            "inverters are read as usual"
        )
    ]


# --- Numbers of the production endpoint --------------------------------------------------

PRODUCTION_FIELDS = ("wattsNow", "wattHoursToday", "wattHoursSevenDays", "wattHoursLifetime")


@pytest.mark.parametrize("field", PRODUCTION_FIELDS)
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (2**64 + 1, "beyond JSON's safe integers"),
        (10**400, "beyond JSON's safe integers"),
        (MAX_SAFE_INTEGER + 1, "beyond JSON's safe integers"),
        (1e300, "beyond JSON's safe integers"),
        ("x" * 1000, "a str value, not a number"),
        ([[[]]], "a list value, not a number"),
    ],
    ids=["2^64", "10^400", "2^53", "1e300", "long text", "nested list"],
)
async def test_production_numbers_are_safe_integers(
    simulator: EnvoySimulator,
    session: aiohttp.ClientSession,
    field: str,
    value: object,
    message: str,
) -> None:
    """Integers the store and the entities cannot take are EnvoyBadDataError.

    The message never quotes a long value.
    """
    simulator.production[field] = value
    with pytest.raises(EnvoyBadDataError, match=f"'{field}' is .*{message}") as raised:
        await client_for(simulator.host, session).production()
    assert len(str(raised.value)) < 200


async def test_production_safe_integer_bounds(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """The largest safe integer is a number like any other."""
    simulator.production["wattHoursLifetime"] = MAX_SAFE_INTEGER
    simulator.production["wattsNow"] = -MAX_SAFE_INTEGER
    production = await client_for(simulator.host, session).production()
    assert production.watt_hours_lifetime == MAX_SAFE_INTEGER
    assert production.watts_now == -MAX_SAFE_INTEGER


# --- /info.xml ---------------------------------------------------------------------------


def info_xml(serial: str = ENVOY, firmware: str = "D5.0.62", pn: str = "800") -> bytes:
    """Return an /info.xml body."""
    return (
        f"<envoy_info><device><sn>{serial}</sn><pn>{pn}</pn><software>{firmware}</software>"
        "</device></envoy_info>"
    ).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (info_xml(serial="12162101216[7](javascript:x)"), "serial that does not look like one"),
        (info_xml(serial="1" * 21), "serial that does not look like one"),
        (info_xml(serial="١٢١٦٢١٠١٢١٦٧"), "serial that does not look like one"),
        (info_xml(firmware="R" + "9" * 5000), "malformed software"),
        (info_xml(firmware="D5.0.62\nD7.0.1"), "malformed software"),
        (info_xml(pn="8" * 65), "malformed pn"),
        # Read as the UTF-8 it is, whatever the declaration says.
        (b'<?xml version="1.0" encoding="no-such-codec"?><envoy_info/>', "lacks the serial"),
        (b'<?xml version="1.0" encoding="utf-7"?><envoy_info/>', "lacks the serial"),
        (b"<a>" * 2000 + b"</a>" * 2000, "lacks the serial"),
        (b"<a>" * 140_000 + b"</a>" * 140_000, f"more than {MAX_INFO_BYTES}"),
        (info_xml().decode().encode("utf-16"), "not UTF-8"),
        (info_xml().decode().encode("utf-16-le"), "holds a NUL"),
        (info_xml().replace(b"<sn>", b"<sn>\xe9"), "not UTF-8"),
        (info_xml().replace(b"<sn>", b"<sn>\x00"), "holds a NUL"),
        (b'<!DOCTYPE envoy_info SYSTEM "http://example.invalid/x.dtd">' + info_xml(), "DOCTYPE"),
        (b'<envoy_info><!ENTITY e "x"></envoy_info>', "an entity"),
    ],
    ids=[
        "serial with markdown",
        "serial too long",
        "serial of other digits",
        "firmware of 5000 digits",
        "firmware over two lines",
        "part number too long",
        "unknown encoding",
        "multi-byte encoding",
        "nested 2000 deep",
        "nested 140000 deep",
        "UTF-16",
        "UTF-16 without BOM",
        "Latin-1",
        "a NUL",
        "an external DTD",
        "an entity declaration",
    ],
)
async def test_hostile_info(
    raw_server: RawHttpServer, session: aiohttp.ClientSession, body: bytes, message: str
) -> None:
    """/info.xml with an unusable serial, firmware or part number, or hostile XML."""
    raw_server.answers = [http_response(body, headers=[(b"Content-Type", b"text/xml")])]
    with pytest.raises(EnvoyBadDataError, match=message):
        await client_for(raw_server.host, session).info()


# What a real Envoy writes there: each capture's /info.xml.
REAL_INFO = [path.read_bytes() for path in sorted(CAPTURES.glob("*/info.xml"))]


def billion_laughs(levels: int = 10) -> bytes:
    """Return the classic entity-expansion body: each entity is ten of the one before.

    Under 900 bytes, it expands to 10^levels times "lol" (expat stops it at its input
    amplification limit, after building tens of megabytes of text).
    """
    entities = b'<!ENTITY lol0 "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (level, b"&lol%d;" % (level - 1) * 10)
        for level in range(1, levels)
    )
    return (
        b'<?xml version="1.0"?><!DOCTYPE envoy_info [' + entities + b"]><envoy_info><device>"
        b"<sn>&lol%d;</sn><software>D5.0.62</software></device></envoy_info>" % (levels - 1)
    )


def unclosed_tags(size: int) -> bytes:
    """Return ``size`` bytes of opening tags never closed (expat builds a tree of them)."""
    return (b"<a>" * (size // 3 + 1))[:size]


@pytest.fixture
def parser_given(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Return what every XML parser is given from now on (as bytes), in order.

    xml.etree's parsing functions make their parser from ``ElementTree.XMLParser``.
    """
    given: list[bytes] = []

    class Noting(ET.XMLParser):
        def feed(self, data: bytes | str) -> None:
            given.append(data.encode() if isinstance(data, str) else data)
            super().feed(data)

    monkeypatch.setattr(ET, "XMLParser", Noting)
    return given


def test_info_entity_expansion_is_refused_before_parsing(parser_given: list[bytes]) -> None:
    """A "billion laughs" DTD: refused before the parser sees it, in next to no memory.

    Less than parsing a real /info.xml takes, where parsing it took tens of megabytes.
    """
    real = REAL_INFO[0]
    hostile = billion_laughs()
    tracemalloc.start()
    try:
        parse_info(real)
        _, real_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with pytest.raises(EnvoyBadDataError) as raised:
            parse_info(hostile)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < real_peak, f"{len(hostile)} bytes: peak {peak} B, a real /info.xml {real_peak} B"
    assert len(parser_given) == 1
    assert "declares a DOCTYPE or an entity" in str(raised.value)


def test_parse_info_takes_no_more_than_its_cap(parser_given: list[bytes]) -> None:
    """A real /info.xml padded to the cap is read; one byte more is refused unparsed."""
    real = REAL_INFO[0]
    padded = real + b" " * (MAX_INFO_BYTES - len(real))
    assert parse_info(padded) == parse_info(real)
    parser_given.clear()
    with pytest.raises(EnvoyBadDataError, match=f"{MAX_INFO_BYTES + 1} bytes, more than"):
        parse_info(padded + b" ")
    assert parser_given == []


def plain_response(body: bytes, *, announced: bool) -> bytes:
    """Return a 200 answer with this body, its length announced or not (read to the end)."""
    if announced:
        return http_response(body, headers=[(b"Content-Type", b"text/xml")])
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n" + body


NOT_FOUND = http_response(b"Page Not Found", status=b"404 Not Found")


@pytest.mark.parametrize("announced", [True, False], ids=["announced", "read to the end"])
@pytest.mark.parametrize("fallback", [False, True], ids=["/info.xml", "/info"])
async def test_info_reads_no_more_than_its_cap(
    raw_server: RawHttpServer,
    session: aiohttp.ClientSession,
    parser_given: list[bytes],
    announced: bool,
    fallback: bool,
) -> None:
    """1 MiB of unclosed tags on /info.xml (or /info): refused, the parser never given it."""
    body = unclosed_tags(MAX_BODY_BYTES)
    raw_server.answers = [
        *([NOT_FOUND] if fallback else []),
        plain_response(body, announced=announced),
    ]
    with pytest.raises(EnvoyBadDataError) as raised:
        await client_for(raw_server.host, session).info()
    given = [len(data) for data in parser_given]
    assert all(size <= MAX_INFO_BYTES for size in given), f"the parser was given {given} bytes"
    assert f"more than {MAX_INFO_BYTES}" in str(raised.value)
    assert [line.split()[1] for line in raw_server.requests] == [
        *([b"/info.xml"] if fallback else []),
        b"/info" if fallback else b"/info.xml",
    ]


@st.composite
def info_bodies(draw: st.DrawFn) -> tuple[bytes, bool | None]:
    """Return a body for /info.xml of any size up to four caps, and whether it is an identity.

    None: it may or may not be. A real /info.xml padded to any size is one as long as it
    fits the cap; with a DOCTYPE, or in UTF-16, it is none.
    """
    size = draw(st.integers(0, 4 * MAX_INFO_BYTES))
    kind = draw(st.integers(0, 4))
    if kind == 0:  # any bytes
        return random.Random(draw(st.integers(0, 2**32))).randbytes(size), None
    real = draw(st.sampled_from(REAL_INFO))
    if kind == 1:  # a real one, padded to any size
        padded = real + b" " * max(0, size - len(real))
        return padded, len(padded) <= MAX_INFO_BYTES
    if kind == 2:  # a real one declaring entities, or a DTD
        declaration = draw(
            st.sampled_from([b"<!DOCTYPE envoy_info>", b'<!DOCTYPE e [<!ENTITY x "y">]>'])
        )
        at = real.index(b"<envoy_info>")
        declared = real[:at] + declaration + real[at:]
        if draw(st.booleans()):  # in UTF-16, which expat detects without a BOM too
            encoding = draw(st.sampled_from(["utf-16", "utf-16-be", "utf-16-le"]))
            return declared.decode().encode(encoding), False
        return declared + b" " * max(0, size - len(declared)), False
    if kind == 3:  # a real one in UTF-16
        encoding = draw(st.sampled_from(["utf-16", "utf-16-be", "utf-16-le"]))
        return real.decode().encode(encoding), False
    return draw(xml_bodies) + unclosed_tags(size), None


@settings(max_examples=150)
@given(drawn=info_bodies(), announced=st.booleans())
async def test_any_info_body_is_an_identity_or_the_clients_error(
    raw_server: RawHttpServer,
    session: aiohttp.ClientSession,
    parser_given: list[bytes],
    drawn: tuple[bytes, bool | None],
    announced: bool,
) -> None:
    """Any body to /info.xml, of any size up to four caps: an EnvoyInfo or the client's error.

    Never another exception; the parser is given nothing but UTF-8 text of at most the cap,
    without a DOCTYPE or an entity declaration.
    """
    parser_given.clear()
    body, identity = drawn
    raw_server.answers = [plain_response(body, announced=announced)]
    try:
        result: object = await client_for(raw_server.host, session).info()
    except EnvoyError:
        assert identity is not True
    else:
        assert identity is not False
        assert_typed(result)
    for data in parser_given:
        assert len(data) <= MAX_INFO_BYTES
        text = data.decode()  # UTF-8, which the parser reads it as: no NUL to make it UTF-16
        assert "\0" not in text
        assert "<!DOCTYPE" not in text
        assert "<!ENTITY" not in text


@pytest.mark.parametrize(
    ("imeter", "expected"),
    [
        ("<imeter>true</imeter>", True),
        ("<imeter> TRUE </imeter>", True),
        ("<imeter>false</imeter>", False),
        ("<imeter>yes</imeter>", False),
        ("<imeter/>", False),
        ("", None),
    ],
)
def test_imeter_is_part_of_the_identity(imeter: str, expected: bool | None) -> None:
    """<imeter> is "true" (any case, spaces around) or not; absent, the identity says None."""
    body = info_xml().replace(b"</device>", imeter.encode() + b"</device>")
    assert parse_info(body).imeter is expected


def test_an_identity_stored_without_imeter_still_builds() -> None:
    """Identities stored before <imeter> was kept have none: it is None."""
    info = EnvoyInfo(serial="1", firmware="D5.0.62", part_number=None, web_tokens=False)
    assert info.imeter is None


def test_firmware_version_of_long_digit_runs() -> None:
    """A version part too long for a real firmware does not count as a version part."""
    info = EnvoyInfo(serial="1", firmware="R5.0.1234567890", part_number=None, web_tokens=False)
    assert info.firmware_version == (5, 0)
    long_major = EnvoyInfo(
        serial="1", firmware="R" + "7" * 5000, part_number=None, web_tokens=False
    )
    assert long_major.firmware_version == ()
    assert not long_major.uses_tokens


# --- Digest challenges with bytes that are not UTF-8 -------------------------------------

CHALLENGE_401 = b'{"status": 401, "error": "", "info": "Authentication required"}'


def challenge_answer(www_authenticate: bytes) -> bytes:
    """Return a 401 answer with this WWW-Authenticate header value, as bytes."""
    return http_response(
        CHALLENGE_401,
        status=b"401 Unauthorized",
        headers=[(b"Content-Type", b"application/json"), (b"WWW-Authenticate", www_authenticate)],
    )


@pytest.mark.parametrize(
    ("param", "message"),
    [
        (b"realm", "cannot answer"),
        (b"nonce", "cannot answer"),
        # Not hashed: aiohttp sends it back without the byte, and this server refuses.
        (b"opaque", "refused user envoy or installer"),
    ],
)
async def test_challenge_with_bytes_that_are_not_utf8(
    raw_server: RawHttpServer, session: aiohttp.ClientSession, param: bytes, message: str
) -> None:
    """A Latin-1 byte in a challenge value: EnvoyAuthenticationError, nothing else."""
    values = {b"realm": b"enphaseenergy.com", b"nonce": b"abc", b"opaque": b"x"}
    values[param] = b"caf\xe9"
    header = b", ".join(name + b'="' + value + b'"' for name, value in values.items())
    raw_server.answers = [challenge_answer(b'Digest qop="auth", ' + header)]
    with pytest.raises(EnvoyAuthenticationError, match=message):
        await client_for(raw_server.host, session).inverters()


async def test_challenge_in_utf8_is_answered(
    raw_server: RawHttpServer, session: aiohttp.ClientSession
) -> None:
    """Beyond ASCII but UTF-8: answered, and the state it leaves can be stored as JSON."""
    raw_server.answers = [
        challenge_answer('Digest realm="énergie", qop="auth", nonce="n°1"'.encode()),
        http_response(json.dumps([]).encode()),
    ]
    client = client_for(raw_server.host, session)
    assert await client.inverters() == {}
    assert b'realm="\xc3\xa9nergie"' in raw_server.requests[1]
    assert client.auth_state is not None
    assert json.loads(json.dumps(client.auth_state)) == client.auth_state


# --- Deeply nested JSON ------------------------------------------------------------------

DEPTH = 150_000  # far beyond what Python's recursion allows, still well under the body cap


@pytest.mark.parametrize(
    "body",
    [
        b"[" * DEPTH + b"]" * DEPTH,
        b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
        b'[{"serialNumber": ' + b"[" * DEPTH + b"]" * DEPTH + b"}]",
    ],
    ids=["array", "object", "in a record"],
)
@pytest.mark.parametrize("path", [PATH_PRODUCTION, PATH_INVERTERS])
async def test_deeply_nested_json(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, body: bytes, path: str
) -> None:
    """JSON nested deeper than Python recurses: EnvoyBadDataError, not RecursionError."""
    assert len(body) < MAX_BODY_BYTES
    simulator.fail(path, body=body)
    client = client_for(simulator.host, session)
    with pytest.raises(EnvoyBadDataError, match="nested too deeply"):
        await (client.production() if path == PATH_PRODUCTION else client.inverters())


async def test_error_body_quotes_no_long_value(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """An Envoy error body with a nested or huge message: the message names its type only."""
    simulator.fail(PATH_PRODUCTION, body=b'{"status": [[[1]]], "info": "' + b"x" * 5000 + b'"}')
    with pytest.raises(EnvoyBadDataError, match=r"an error \(status a list value: a str value\)$"):
        await client_for(simulator.host, session).production()


# --- Anything at all, property -----------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(10**400), 10**400)
    | st.floats()
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


def _dump(value: Any) -> bytes:
    return json.dumps(value).encode()


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _production_like(values: list[Any]) -> bytes:
    return _dump(dict(zip(PRODUCTION_FIELDS, values, strict=False)))


def _inverters_like(records: list[list[Any]]) -> bytes:
    return _dump([dict(zip(FIELDS, values, strict=False)) for values in records])


field_values = json_scalars | json_values | unsafe_integers | not_finite
# Depths below and beyond what Python's JSON decoder recurses into (about 65,000 here).
depths = st.integers(1, 150_000) | st.sampled_from([100_000, 150_000])

json_bodies = st.one_of(
    json_values.map(_dump),
    depths.map(_nested),
    depths.map(lambda depth: b'{"status": 1, "info": ' + _nested(depth) + b"}"),
    st.lists(field_values, min_size=4, max_size=4).map(_production_like),
    st.lists(st.lists(field_values, min_size=0, max_size=5), max_size=5).map(_inverters_like),
    st.lists(st.lists(field_values, max_size=5), max_size=5).map(
        lambda records: _dump([dict(zip(FIELDS[::-1], r, strict=False)) for r in records])
    ),
)

xml_text = st.text(max_size=40).map(
    lambda text: text.replace("&", "&amp;").replace("<", "&lt;").encode()
)
xml_bodies = st.one_of(
    st.tuples(xml_text, xml_text, xml_text, xml_text).map(
        lambda parts: (
            b"<envoy_info><device><sn>%s</sn><pn>%s</pn><software>%s</software></device>"
            b"<web-tokens>%s</web-tokens></envoy_info>" % parts
        )
    ),
    st.tuples(
        st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-7", "no-such", "ebcdic"])
        | st.text(max_size=10),
        st.binary(max_size=60),
    ).map(
        lambda parts: (
            f'<?xml version="1.0" encoding="{parts[0]}"?><envoy_info><device><sn>'.encode(
                "utf-8", "surrogatepass"
            )
            + parts[1]
            + b"</sn></device></envoy_info>"
        )
    ),
    st.integers(1, 140_000).map(lambda depth: b"<a>" * depth + b"</a>" * depth),
    st.integers(1, 12).map(
        lambda depth: (
            b'<!DOCTYPE d [<!ENTITY e0 "ha">'
            + b"".join(
                b'<!ENTITY e%d "%s">' % (level, b"&e%d;" % (level - 1) * 10)
                for level in range(1, depth)
            )
            + b"]><envoy_info><device><sn>&e%d;</sn></device></envoy_info>" % (depth - 1)
        )
    ),
)

header_names = st.sampled_from(
    [b"Content-Type", b"Content-Encoding", b"Transfer-Encoding", b"Location", b"Connection"]
) | st.binary(min_size=1, max_size=12)
header_values = st.sampled_from(
    [b"gzip", b"deflate", b"br", b"zstd", b"chunked", b"close", b"application/json"]
) | st.binary(max_size=40)
content_lengths = st.none() | st.sampled_from(
    [b"0", b"1", b"99999999999999999999999", b"-1", b"abc", str(MAX_BODY_BYTES + 1).encode()]
)
statuses = st.sampled_from([b"200 OK", b"301 Moved", b"500 Oops", b"503 Busy", b"101 Up"]) | (
    st.tuples(st.integers(0, 1000), st.binary(max_size=10)).map(
        lambda parts: str(parts[0]).encode() + b" " + parts[1]
    )
)
# Challenge values: any bytes, UTF-8 text, and Latin-1 text (its bytes beyond ASCII are no UTF-8).
latin1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters='"\\\x7f')
digest_values = (
    st.binary(max_size=20)
    | st.text(max_size=10).map(str.encode)
    | st.text(latin1, max_size=10).map(lambda text: text.encode("latin-1"))
)


@st.composite
def challenges(draw: st.DrawFn) -> bytes:
    """Return a WWW-Authenticate value: any bytes, or a Digest challenge with hostile values."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=120))
    params = {
        name: draw(digest_values)
        for name in draw(
            st.lists(
                st.sampled_from([b"realm", b"nonce", b"opaque", b"qop", b"algorithm", b"stale"]),
                unique=True,
            )
        )
    }
    params.setdefault(b"realm", draw(digest_values))
    params.setdefault(b"nonce", draw(digest_values))
    quote = draw(st.sampled_from([b'"', b""]))
    return b"Digest " + b", ".join(
        name + b"=" + quote + value + quote for name, value in params.items()
    )


@st.composite
def answers(draw: st.DrawFn, bodies: st.SearchStrategy[bytes]) -> list[bytes]:
    """Return the answers the server gives, one per request (the last one repeats)."""
    kind = draw(st.integers(0, 4))
    if kind == 0:  # no HTTP at all, or broken HTTP
        return [draw(st.binary(max_size=300) | st.binary(max_size=60).map(b"HTTP/1.1 ".__add__))]
    if kind == 1:  # a challenge first, then anything that parses as a body
        return [challenge_answer(draw(challenges())), http_response(draw(bodies))]
    body = draw(bodies | st.binary(max_size=300))
    if kind == 2:  # a plain 200
        return [http_response(body)]
    return [
        http_response(
            body,
            status=draw(statuses),
            headers=draw(st.lists(st.tuples(header_names, header_values), max_size=3)),
            content_length=draw(content_lengths),
        )
    ]


def assert_typed(result: object) -> None:
    """Assert that a result is the client's typed data, within what the client promises."""
    if isinstance(result, EnvoyInfo):
        assert SERIAL_PATTERN.fullmatch(result.serial)
        assert result.firmware.isprintable()
        assert all(isinstance(part, int) for part in result.firmware_version)
        assert not result.uses_tokens
        assert result.imeter in (True, False, None)
        return
    if isinstance(result, EnvoyProduction):
        numbers = [
            result.watts_now,
            result.watt_hours_today,
            result.watt_hours_seven_days,
            result.watt_hours_lifetime,
        ]
        assert all(type(n) is int and abs(n) <= MAX_SAFE_INTEGER for n in numbers)
        assert min(numbers[1:]) >= 0
        return
    assert isinstance(result, dict)
    for serial, inverter in result.items():
        assert isinstance(inverter, EnvoyInverter)
        assert serial == inverter.serial_number
        assert SERIAL_PATTERN.fullmatch(serial)
        assert REPORT_DATE_MIN <= inverter.last_report_date.timestamp() < REPORT_DATE_MAX
        numbers = [inverter.last_report_watts, inverter.max_report_watts, inverter.dev_type or 0]
        assert all(type(n) is int and abs(n) <= MAX_SAFE_INTEGER for n in numbers)


@pytest.mark.parametrize("path", [PATH_INFO, PATH_PRODUCTION, PATH_INVERTERS])
@settings(max_examples=200)
@given(data=st.data())
async def test_any_answer_is_typed_data_or_an_envoy_error(
    raw_server: RawHttpServer,
    session: aiohttp.ClientSession,
    path: str,
    data: st.DataObject,
) -> None:
    """Whatever comes back on any endpoint: typed data, or one of the client's errors."""
    bodies = xml_bodies if path == PATH_INFO else json_bodies
    raw_server.answers = data.draw(answers(bodies))
    client = client_for(raw_server.host, session)
    read = {PATH_INFO: client.info, PATH_PRODUCTION: client.production}.get(path, client.inverters)
    try:
        result: object = await read()
    except EnvoyError:
        pass
    else:
        assert_typed(result)
    # The state the integration stores must be storable: JSON, and text that encodes as UTF-8.
    json.dumps(client.auth_state, ensure_ascii=False).encode()
