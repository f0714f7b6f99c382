"""The Envoy client against the simulator, over real HTTP and real Digest auth.

The Digest module is also checked on its own: against the example of RFC 2617, against httpx's
independent implementation, and against the simulator's verification.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import socket
import time
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from envoy_utils.envoy_utils import EnvoyUtils

from custom_components.enphase_envoy_legacy.envoy_client import (
    MAX_BODY_BYTES,
    DigestChallenge,
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
    parse_challenge,
)
from tests.simulator import PATH_INFO, PATH_INVERTERS, PATH_PRODUCTION, REALM, EnvoySimulator

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
    # envoy: challenge, refused; installer: answers the same challenge at once, accepted.
    assert [r.status for r in simulator.requests] == [401, 401, 200]
    assert client.auth_state is not None
    assert client.auth_state["user"] == "installer"
    simulator.requests.clear()
    await client.inverters()
    assert [r.status for r in simulator.requests] == [200]


# ---------------------------------------------------------------------------------------------
# Digest state across restarts


def sent_params(header: str | None) -> dict[str, str]:
    """Return the parameters of an Authorization header (an independent, simple reading)."""
    if header is None:
        return {}
    assert header.startswith("Digest ")
    return {
        name: quoted if quoted or not bare else bare
        for name, quoted, bare in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header)
    }


@pytest.fixture
async def traced() -> AsyncGenerator[tuple[aiohttp.ClientSession, list[dict[str, str]]]]:
    """Return a session and the Digest parameters of every request it sends."""
    sent: list[dict[str, str]] = []

    async def on_request_start(
        session: aiohttp.ClientSession,
        context: object,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        sent.append(sent_params(params.headers.get("Authorization")))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as client_session:
        yield client_session, sent


def trips(simulator: EnvoySimulator) -> list[tuple[str, int, bool]]:
    """Return path, status and whether Authorization was sent, for every request."""
    return [(r.path, r.status, r.authorization) for r in simulator.requests]


async def saved_state(simulator: EnvoySimulator) -> dict[str, str]:
    """Return the auth state of a client that read the Envoy once, through JSON and back."""
    async with aiohttp.ClientSession() as other_session:
        client = client_for(simulator, other_session)
        assert client.auth_state is None
        await client.update()
        state = client.auth_state
    assert state is not None
    simulator.requests.clear()
    loaded: dict[str, str] = json.loads(json.dumps(state))
    return loaded


async def test_auth_state_after_a_challenge(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """The state names the accepted user and the Envoy's challenge, JSON-safe; stable per read."""
    client = client_for(simulator, session)
    await client.production()
    assert client.auth_state is None  # the production endpoint asked for nothing
    await client.inverters()
    state = client.auth_state
    assert state == {
        "user": "envoy",
        "realm": REALM,
        "nonce": simulator.nonce,
        "qop": "auth",
        "algorithm": "MD5",
    }
    await client.update()
    assert client.auth_state == state  # the nonce count is not part of it


async def test_restored_state_is_preemptive(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """After a restart with the saved state, setup costs two requests, no challenge."""
    state = await saved_state(simulator)
    client = client_for(simulator, session)
    client.restore_auth(state)
    assert client.auth_state == state
    data = await client.update()
    assert len(data.inverters) == 40
    assert trips(simulator) == [(PATH_PRODUCTION, 200, True), (PATH_INVERTERS, 200, True)]
    assert client.auth_state == state


async def test_restored_state_with_a_new_nonce(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """The Envoy restarted meanwhile: one extra round trip, the same user, the new nonce kept."""
    state = await saved_state(simulator)
    simulator.new_nonce()
    client = client_for(simulator, session)
    client.restore_auth(state)
    assert len(await client.inverters()) == 40
    assert trips(simulator) == [(PATH_INVERTERS, 401, True), (PATH_INVERTERS, 200, True)]
    assert client.user == "envoy"
    assert client.auth_state == {**state, "nonce": simulator.nonce}
    simulator.requests.clear()
    await client.update()
    assert trips(simulator) == [(PATH_PRODUCTION, 200, True), (PATH_INVERTERS, 200, True)]


async def test_stale_nonce_is_answered_by_the_same_user(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """A 401 with stale=true is not a refusal, even when it repeats the nonce."""
    client = client_for(simulator, session)
    await client.inverters()
    simulator.requests.clear()
    simulator.fail(
        PATH_INVERTERS,
        status=401,
        times=1,
        headers={
            "WWW-Authenticate": (
                f'Digest realm="{REALM}", nonce="{simulator.nonce}", qop="auth", stale=TRUE'
            )
        },
    )
    assert len(await client.inverters()) == 40
    assert [r.status for r in simulator.requests] == [401, 200]
    assert client.user == "envoy"
    assert client.auth_state is not None


@pytest.mark.parametrize("capture", ["D3.18.10"])
async def test_restored_installer(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """The installer user, once accepted, is restored first: no challenge, no refusal."""
    state = await saved_state(simulator)
    assert state["user"] == "installer"
    client = client_for(simulator, session)
    client.restore_auth(state)
    assert client.user == "installer"
    await client.update()
    assert trips(simulator) == [(PATH_PRODUCTION, 200, True), (PATH_INVERTERS, 200, True)]


@pytest.mark.parametrize("capture", ["D3.18.10"])
@pytest.mark.parametrize(
    ("new_nonce", "statuses"),
    [(False, [401, 200]), (True, [401, 401, 200])],
)
async def test_restored_user_refused_rotates(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, new_nonce: bool, statuses: list[int]
) -> None:
    """A restored user the Envoy refuses still gives way to the installer user.

    With the restored nonce still current the first 401 is the refusal; with a nonce the Envoy
    forgot, the user gets one more try with the new challenge, then the installer takes over.
    """
    state = {"user": "envoy", "realm": REALM, "nonce": simulator.nonce, "qop": "auth"}
    if new_nonce:
        simulator.new_nonce()
    client = client_for(simulator, session)
    client.restore_auth(state)
    assert len(await client.inverters()) == 41
    assert [r.status for r in simulator.requests] == statuses
    assert all(r.authorization for r in simulator.requests)
    assert client.user == "installer"
    assert client.auth_state is not None
    assert client.auth_state["user"] == "installer"
    assert client.auth_state["nonce"] == simulator.nonce


VALID_STATE = {"user": "envoy", "realm": REALM, "nonce": "abc", "qop": "auth", "algorithm": "MD5"}


@pytest.mark.parametrize(
    "state",
    [
        None,
        "envoy",
        ["envoy"],
        {},
        {**VALID_STATE, "user": "admin"},
        {**VALID_STATE, "user": 1},
        {key: value for key, value in VALID_STATE.items() if key != "user"},
        {key: value for key, value in VALID_STATE.items() if key != "nonce"},
        {key: value for key, value in VALID_STATE.items() if key != "realm"},
        {**VALID_STATE, "nonce": ""},
        {**VALID_STATE, "nonce": 12},
        {**VALID_STATE, "realm": None},
        {**VALID_STATE, "qop": "auth-int"},
        {**VALID_STATE, "qop": ["auth"]},
        {**VALID_STATE, "algorithm": "SHA-256"},
        {**VALID_STATE, "algorithm": 5},
        {**VALID_STATE, "opaque": {"x": 1}},
        {**VALID_STATE, "nonce": "abc\r\nX-Injected: 1"},
        {**VALID_STATE, "opaque": "a\x00b"},
    ],
)
async def test_malformed_state_is_ignored(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, state: Any
) -> None:
    """Anything but a state auth_state gave is ignored: the client starts with a challenge."""
    client = client_for(simulator, session)
    client.restore_auth(state)
    assert client.auth_state is None
    assert client.user == "envoy"
    assert len(await client.inverters()) == 40
    assert [(r.status, r.authorization) for r in simulator.requests] == [(401, False), (200, True)]


def test_state_tolerates_what_it_does_not_need() -> None:
    """Extra keys, no algorithm (MD5), no qop, any case of the algorithm: still a state."""
    challenge = DigestChallenge.from_dict({"realm": "r", "nonce": "n", "extra": [1]})
    assert challenge == DigestChallenge(realm="r", nonce="n")
    sess = DigestChallenge.from_dict({"realm": "r", "nonce": "n", "algorithm": "md5-SESS"})
    assert sess is not None
    assert sess.algorithm == "MD5-sess"
    assert DigestChallenge.from_dict({"realm": "r", "nonce": "n", "opaque": None}) == challenge
    assert DigestChallenge.from_dict([("realm", "r"), ("nonce", "n")]) is None
    assert DigestChallenge.from_dict(None) is None


async def test_nonce_count(
    simulator: EnvoySimulator, traced: tuple[aiohttp.ClientSession, list[dict[str, str]]]
) -> None:
    """The nonce count grows per request; after a restore it starts above any count used before.

    A fresh nonce counts from 1. A restored one continues from the current Unix time: a
    previous process sending less than a request per second never reached that.
    """
    session, sent = traced
    client = client_for(simulator, session)
    await client.inverters()
    await client.update()
    assert [params.get("nc") for params in sent] == [None, "00000001", "00000002", "00000003"]
    assert len({params["cnonce"] for params in sent[1:]}) == 3  # a fresh cnonce each time
    simulator.new_nonce()
    sent.clear()
    await client.inverters()
    assert [params["nc"] for params in sent] == ["00000004", "00000001"]

    state = client.auth_state
    restored = client_for(simulator, session)
    before = int(time.time())
    restored.restore_auth(state)
    sent.clear()
    await restored.update()
    counts = [int(params["nc"], 16) for params in sent]
    assert before < counts[0] <= int(time.time()) + 1
    assert counts[1] == counts[0] + 1
    assert all(params["nonce"] == simulator.nonce for params in sent)
    assert [r.status for r in simulator.requests[-2:]] == [200, 200]


async def test_a_nonce_per_challenge_cannot_loop(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """A server that sends a new nonce with every 401 gets two tries per user, no more."""
    original = simulator._challenge

    def rotating() -> Any:
        simulator.new_nonce()
        return original()

    simulator._challenge = rotating  # type: ignore[method-assign]
    client = EnvoyClient(simulator.host, "121621999999", session)
    with pytest.raises(EnvoyAuthenticationError, match="refused user envoy or installer"):
        await client.inverters()
    assert [(r.status, r.authorization) for r in simulator.requests] == [
        (401, False),
        (401, True),
        (401, True),
        (401, True),
    ]


async def test_unanswerable_digest_challenge(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """A Digest challenge in an algorithm the client does not speak: refused at once, clearly."""
    simulator.fail(
        PATH_INVERTERS,
        status=401,
        headers={"WWW-Authenticate": 'Digest realm="x", nonce="y", algorithm=SHA-256'},
    )
    with pytest.raises(EnvoyAuthenticationError, match="Digest challenge this client cannot"):
        await client_for(simulator, session).inverters()
    assert [r.status for r in simulator.requests] == [401]


# ---------------------------------------------------------------------------------------------
# The Digest module on its own

# Test credentials, public: the RFC's example, the D5.0.62 capture's default, a placeholder.
MUFASA_PASSWORD = "Circle Of Life"  # noqa: S105
ENVOY_PASSWORD = "012167"  # noqa: S105
PASSWORD = "p"  # noqa: S105
RFC_2617_CHALLENGE = """Digest
                 realm="testrealm@host.com",
                 qop="auth,auth-int",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41\""""


def test_rfc_2617_example() -> None:
    """RFC 2617 section 3.5: Mufasa, "Circle Of Life", /dir/index.html."""
    challenge = parse_challenge(RFC_2617_CHALLENGE)
    assert challenge == DigestChallenge(
        realm="testrealm@host.com",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop="auth",
        opaque="5ccc069c403ebaf9f0171e9517f40e41",
        algorithm="MD5",
    )
    header = challenge.authorization(
        username="Mufasa",
        password=MUFASA_PASSWORD,
        method="GET",
        uri="/dir/index.html",
        nc=1,
        cnonce="0a4f113b",
    )
    assert header == (
        'Digest username="Mufasa", realm="testrealm@host.com", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", algorithm=MD5, '
        'response="6629fae49393a05397450978507c4ef1", '
        'opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001, cnonce="0a4f113b"'
    )


@pytest.mark.parametrize(
    "www_authenticate",
    [
        'Digest realm="r@h", nonce="n1", qop="auth", opaque="o1"',
        'Digest realm="r@h", nonce="n1", qop="auth", algorithm=MD5-sess, opaque="o1"',
        'Digest realm="r@h", nonce="n1", algorithm="MD5-sess"',
        'Digest realm="r@h", nonce="n1", opaque="o1"',
        'Digest realm="r@h", nonce="n1"',
    ],
)
def test_matches_httpx(www_authenticate: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """MD5 and MD5-sess, with qop auth and without qop: the same answer as httpx computes."""
    challenge = parse_challenge(www_authenticate)
    assert challenge is not None
    cnonce = "a1b2c3d4e5f60718"
    ours = sent_params(
        challenge.authorization(
            username="envoy",
            password=ENVOY_PASSWORD,
            method="GET",
            uri="/api/v1/production/inverters?x=1",
            nc=1,
            cnonce=cnonce,
        )
    )
    auth = httpx.DigestAuth("envoy", ENVOY_PASSWORD)
    monkeypatch.setattr(auth, "_get_client_nonce", lambda *_: cnonce.encode())
    request = httpx.Request("GET", "http://envoy.test/api/v1/production/inverters?x=1")
    flow = auth.sync_auth_flow(request)
    next(flow)
    answered = flow.send(
        httpx.Response(401, headers={"WWW-Authenticate": www_authenticate}, request=request)
    )
    theirs = sent_params(answered.headers["Authorization"])
    assert ours["response"] == theirs["response"]
    assert ours["uri"] == theirs["uri"] == "/api/v1/production/inverters?x=1"
    assert ours.get("opaque") == theirs.get("opaque")
    assert ours.get("qop") == theirs.get("qop")
    assert ours.get("nc") == theirs.get("nc")
    if challenge.algorithm == "MD5-sess":
        assert ours["cnonce"] == cnonce  # needed for the session key, even without qop
    else:
        assert ours.get("cnonce") == theirs.get("cnonce")


def test_no_qop_and_md5_sess_by_hand() -> None:
    """The RFC formulas, written out: no qop (RFC 2069), and MD5-sess with qop auth."""

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()  # noqa: S324

    ha1 = md5("u:r:p")
    ha2 = md5("GET:/a?b=c")
    plain = DigestChallenge(realm="r", nonce="n", opaque="o")
    header = plain.authorization(username="u", password=PASSWORD, method="GET", uri="/a?b=c", nc=7)
    params = sent_params(header)
    assert params["response"] == md5(f"{ha1}:n:{ha2}")
    assert params["opaque"] == "o"
    assert "qop" not in params
    assert "nc" not in params
    assert "cnonce" not in params
    sess = DigestChallenge(realm="r", nonce="n", qop="auth", algorithm="MD5-sess")
    params = sent_params(
        sess.authorization(username="u", password=PASSWORD, method="GET", uri="/a?b=c", nc=0x1F)
    )
    cnonce = params["cnonce"]
    session_key = md5(f"{ha1}:n:{cnonce}")
    assert params["nc"] == "0000001f"
    assert params["algorithm"] == "MD5-sess"
    assert params["response"] == md5(f"{session_key}:n:0000001f:{cnonce}:auth:{ha2}")


async def test_answers_the_simulator(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """The module alone answers the simulator's real challenge."""
    url = f"http://{simulator.host}{PATH_INVERTERS}"
    async with session.get(url) as response:
        assert response.status == 401
        challenge = parse_challenge(response.headers["WWW-Authenticate"])
    assert challenge is not None
    header = challenge.authorization(
        username="envoy", password=simulator.serial[-6:], method="GET", uri=PATH_INVERTERS, nc=1
    )
    async with session.get(url, headers={"Authorization": header}) as response:
        assert response.status == 200


def test_quotes_are_escaped() -> None:
    """Quotes and backslashes in values are escaped in the header, as they were in the challenge."""
    challenge = parse_challenge(r'Digest realm="a \"b\" \\c", nonce=n, opaque="x,y"')
    assert challenge is not None
    assert challenge.realm == 'a "b" \\c'
    assert challenge.opaque == "x,y"
    header = challenge.authorization(username="u", password=PASSWORD, method="GET", uri="/", nc=1)
    assert r'realm="a \"b\" \\c"' in header
    assert parse_challenge(header.replace("Digest ", "Digest nonce=n, ", 1)) is None  # twice


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            'Digest realm="enphaseenergy.com", qop="auth", nonce="1a2b"',
            DigestChallenge(realm="enphaseenergy.com", nonce="1a2b", qop="auth"),
        ),
        (
            "digest REALM=enphaseenergy.com,QOP=auth,NONCE=1a2b,Algorithm=md5",
            DigestChallenge(realm="enphaseenergy.com", nonce="1a2b", qop="auth"),
        ),
        (
            ' , Digest realm = "r" ,, nonce\t=\t"n" , qop="auth-int, auth" ,',
            DigestChallenge(realm="r", nonce="n", qop="auth"),
        ),
        (
            'Digest realm="r, with commas", nonce="n=1,2", opaque="", domain="/ /api"',
            DigestChallenge(realm="r, with commas", nonce="n=1,2", opaque=""),
        ),
        (
            'Digest realm="r" nonce="n"',  # no comma between parameters: read anyway
            DigestChallenge(realm="r", nonce="n"),
        ),
        (
            'Basic realm="b", Digest realm="r", nonce="n", qop="auth"',
            DigestChallenge(realm="r", nonce="n", qop="auth"),
        ),
        (
            'Negotiate, Bearer YWJj==, Digest realm="r", nonce="n", qop="auth"',
            DigestChallenge(realm="r", nonce="n", qop="auth"),
        ),
        (
            'Digest realm="r", nonce="a", algorithm=SHA-256, Digest realm="r", nonce="b"',
            DigestChallenge(realm="r", nonce="b"),
        ),
        (
            'Digest realm="r", nonce="n", qop="auth", stale=true',
            DigestChallenge(realm="r", nonce="n", qop="auth", stale=True),
        ),
        ("\u00d8\u00c9\u00c6A", None),  # the garbled header of R3.9.36
        ("", None),
        ("Digest", None),
        ('Basic realm="r"', None),
        ('Digest realm="r"', None),
        ('Digest nonce="n"', None),
        ('Digest realm="r", nonce=""', None),
        ('Digest realm="r", nonce="n", qop="auth-int"', None),
        ('Digest realm="r", nonce="n", algorithm=SHA-256', None),
        ('Digest realm="r", nonce="n", realm="s"', None),
        ('Digest realm="r, nonce="n"', None),
        ('Digest realm="r", nonce="n\r\n"', None),
        ('Digest realm="r", nonce=', None),
        ('Digest realm="r", nonce=@', None),
        ('realm="r", nonce="n"', None),
        ('Digest realm="r", nonce="n", "qop"', None),
    ],
)
def test_parse_challenge(header: str, expected: DigestChallenge | None) -> None:
    """Headers as servers write them, and garbled ones (None)."""
    challenge = parse_challenge(header)
    assert challenge == expected
    if expected is not None:
        assert challenge is not None
        assert challenge.stale is expected.stale
        assert DigestChallenge.from_dict(json.loads(json.dumps(challenge.as_dict()))) == challenge


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"nc": 0}, "nonce count 0"),
        ({"nc": 0x100000000}, "nonce count"),
        ({"username": "a\nb"}, "control characters"),
        ({"uri": "/\r\n"}, "control characters"),
    ],
)
def test_authorization_refuses_bad_input(arguments: dict[str, Any], message: str) -> None:
    """A count outside eight hex digits, or a header break in a value: ValueError."""
    challenge = DigestChallenge(realm="r", nonce="n")
    with pytest.raises(ValueError, match=message):
        challenge.authorization(
            **{
                "username": "u",
                "password": PASSWORD,
                "method": "GET",
                "uri": "/",
                "nc": 1,
                **arguments,
            }
        )


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
    # envoy: challenge, refused; installer: refused at once (same challenge).
    assert [(r.status, r.authorization) for r in simulator.requests] == [
        (401, False),
        (401, True),
        (401, True),
    ]
    assert client.auth_state is None
    # A 200 from the open production endpoint proves nothing about the user.
    await client.production()
    assert simulator.requests[-1].authorization
    assert client.auth_state is None


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
            "an error \\(status 500: 'Internal error'\\)",
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
        (["x"], "records is malformed \\(\\(not an object\\)\\)"),
        ([{**INVERTER_OK, "serialNumber": ""}], "malformed \\(serialNumber\\)"),
        ([{**INVERTER_OK, "serialNumber": None}], "malformed \\(serialNumber\\)"),
        ([{**INVERTER_OK, "devType": "1"}], "malformed \\(devType\\)"),
        ([{**INVERTER_OK, "lastReportDate": "yesterday"}], "malformed \\(lastReportDate\\)"),
        ([{**INVERTER_OK, "lastReportDate": 10**20}], "malformed \\(lastReportDate\\)"),
        ([{**INVERTER_OK, "lastReportWatts": [1]}], "malformed \\(lastReportWatts\\)"),
        (
            [{"serialNumber": "x y", "lastReportWatts": "1"}, 2],
            (
                "every one of its 2 records is malformed \\(serialNumber, lastReportDate, "
                "lastReportWatts, maxReportWatts, \\(not an object\\)\\)"
            ),
        ),
    ],
)
async def test_bad_inverters(
    simulator: EnvoySimulator,
    session: aiohttp.ClientSession,
    inverters: Any,
    message: str,
) -> None:
    """Inverter lists of the wrong shape or with no good record: EnvoyBadDataError."""
    simulator.inverters = inverters
    with pytest.raises(EnvoyBadDataError, match=message):
        await client_for(simulator, session).inverters()


async def test_inverters_tolerate_quirks(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """Numeric and padded serials, float dates, missing devType, duplicates (newest wins)."""
    simulator.inverters = [
        {**INVERTER_OK, "serialNumber": 121547059079, "devType": 1},
        {**INVERTER_OK, "lastReportDate": 1694554000, "lastReportWatts": 1},
        {**INVERTER_OK, "serialNumber": " 2\t", "lastReportDate": 946684800.0},
    ]
    client = client_for(simulator, session)
    inverters = await client.inverters()
    assert sorted(inverters) == ["121547059079", "2"]
    assert inverters["121547059079"].last_report_watts == 202
    assert inverters["121547059079"].dev_type == 1
    assert inverters["2"].dev_type is None
    assert inverters["2"].last_report_date == datetime(2000, 1, 1, tzinfo=UTC)
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


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"qop": "auth-int"}, "qop 'auth-int'"), ({"algorithm": "md5"}, "algorithm 'md5'")],
)
def test_challenge_refuses_what_it_cannot_answer(arguments: dict[str, Any], message: str) -> None:
    """A challenge built by hand is held to what the module speaks."""
    with pytest.raises(ValueError, match=message):
        DigestChallenge(realm="r", nonce="n", **arguments)
