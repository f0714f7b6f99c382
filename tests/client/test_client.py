"""The Envoy client against the simulator, over real HTTP and real Digest auth.

Digest itself is aiohttp's DigestAuthMiddleware (tested by aiohttp): these tests prove what
the client builds on it, against the simulator's own Digest verification.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from envoy_utils.envoy_utils import EnvoyUtils
from hypothesis import given
from hypothesis import strategies as st

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
    host_address,
    installer_password,
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
    """/info.xml gives serial, firmware, part number and <imeter>."""
    info = await client_for(simulator, session).info()
    assert info == EnvoyInfo(
        serial="121621012167",
        firmware="D5.0.62",
        part_number="800-00551-r02",
        web_tokens=False,
        imeter=False,
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
    # envoy: challenge, refused; installer: its own middleware is challenged, then accepted.
    assert [r.status for r in simulator.requests] == [401, 401, 401, 200]
    assert client.auth_state == {"user": "installer", "connection_close": False}
    simulator.requests.clear()
    await client.inverters()
    assert [r.status for r in simulator.requests] == [200]


# ---------------------------------------------------------------------------------------------
# What survives a restart: the accepted user and Connection: close, never the challenge


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
    """Return a session and the Digest parameters of every request it puts on the wire."""
    sent: list[dict[str, str]] = []

    async def on_request_headers_sent(
        session: aiohttp.ClientSession,
        context: object,
        params: aiohttp.TraceRequestHeadersSentParams,
    ) -> None:
        sent.append(sent_params(params.headers.get("Authorization")))

    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(on_request_headers_sent)
    async with aiohttp.ClientSession(trace_configs=[trace]) as client_session:
        yield client_session, sent


def users_sent(sent: list[dict[str, str]]) -> list[str | None]:
    """Return the user of each request sent (None: no Authorization header)."""
    return [params.get("username") for params in sent]


def trips(simulator: EnvoySimulator) -> list[tuple[str, int, bool]]:
    """Return path, status and whether Authorization was sent, for every request."""
    return [(r.path, r.status, r.authorization) for r in simulator.requests]


async def saved_state(simulator: EnvoySimulator) -> dict[str, object]:
    """Return the auth state of a client that read the Envoy once, through JSON and back."""
    async with aiohttp.ClientSession() as other_session:
        client = client_for(simulator, other_session)
        assert client.auth_state is None
        await client.update()
        state = client.auth_state
    assert state is not None
    simulator.requests.clear()
    loaded: dict[str, object] = json.loads(json.dumps(state))
    return loaded


async def test_auth_state_names_the_user_only(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """The state names the accepted user and the connection mode: no password, no challenge."""
    client = client_for(simulator, session)
    await client.production()
    assert client.auth_state is None  # the production endpoint asked for nothing
    await client.inverters()
    state = client.auth_state
    assert state == {"user": "envoy", "connection_close": False}
    await client.update()
    assert client.auth_state == state


async def test_restored_user_costs_one_challenge(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """After a restart the user is known, the nonce not: one 401, then preemptive again.

    The order of the integration's first poll: the inverters, then production.
    """
    state = await saved_state(simulator)
    client = client_for(simulator, session)
    client.restore_auth(state)
    assert client.auth_state == state
    await client.inverters()
    await client.production()
    assert trips(simulator) == [
        (PATH_INVERTERS, 401, False),
        (PATH_INVERTERS, 200, True),
        (PATH_PRODUCTION, 200, True),
    ]
    assert client.auth_state == state


@pytest.mark.parametrize("capture", ["D3.18.10"])
async def test_restored_installer(
    simulator: EnvoySimulator, traced: tuple[aiohttp.ClientSession, list[dict[str, str]]]
) -> None:
    """The installer user, once accepted, is restored first: the user envoy is not tried."""
    state = await saved_state(simulator)
    assert state == {"user": "installer", "connection_close": False}
    session, sent = traced
    client = client_for(simulator, session)
    client.restore_auth(state)
    assert client.user == "installer"
    await client.inverters()
    assert users_sent(sent) == [None, "installer"]
    assert [r.status for r in simulator.requests] == [401, 200]


@pytest.mark.parametrize("capture", ["D3.18.10"])
async def test_state_of_the_current_release_is_taken(
    simulator: EnvoySimulator, traced: tuple[aiohttp.ClientSession, list[dict[str, str]]]
) -> None:
    """What the current release stored (the user and the challenge): the user is taken."""
    session, sent = traced
    client = client_for(simulator, session)
    client.restore_auth(
        {
            "user": "installer",
            "realm": REALM,
            "nonce": simulator.nonce,
            "qop": "auth",
            "algorithm": "MD5",
        }
    )
    assert client.auth_state == {"user": "installer", "connection_close": False}
    assert len(await client.inverters()) == 41
    # The stored nonce is not answered: the middleware learns the challenge afresh.
    assert users_sent(sent) == [None, "installer"]
    assert [r.status for r in simulator.requests] == [401, 200]


@pytest.mark.parametrize("capture", ["D3.18.10"])
async def test_restored_user_refused_rotates(
    simulator: EnvoySimulator, traced: tuple[aiohttp.ClientSession, list[dict[str, str]]]
) -> None:
    """A restored user the Envoy refuses still gives way to the installer user."""
    session, sent = traced
    client = client_for(simulator, session)
    client.restore_auth({"user": "envoy", "connection_close": False})
    assert len(await client.inverters()) == 41
    # envoy: challenged, its answer refused; installer: challenged (its own middleware), accepted.
    assert [r.status for r in simulator.requests] == [401, 401, 401, 200]
    assert users_sent(sent) == [None, "envoy", None, "installer"]
    assert client.auth_state == {"user": "installer", "connection_close": False}


@pytest.mark.parametrize(
    "state",
    [
        None,
        "envoy",
        ["envoy"],
        {},
        {"user": "admin"},
        {"user": 1},
        {"user": ["envoy"]},
        {"connection_close": "true"},
        {"connection_close": 1},
        {"user": None, "connection_close": None},
    ],
)
async def test_malformed_state_is_ignored(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, state: Any
) -> None:
    """Anything but a state auth_state gave is ignored: the client starts as a new one."""
    client = client_for(simulator, session)
    client.restore_auth(state)
    assert client.auth_state is None
    assert client.user == "envoy"
    assert not client.connection_close
    assert len(await client.inverters()) == 40
    assert [(r.status, r.authorization, r.keep_alive) for r in simulator.requests] == [
        (401, False, True),
        (200, True, True),
    ]


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
        (401, False),
        (401, True),
    ]


@pytest.mark.parametrize(
    ("www_authenticate", "message"),
    [
        # An algorithm the middleware does not speak; a challenge without a nonce: it raises.
        ('Digest realm="x", nonce="y", algorithm=SHA-384', "cannot answer the Envoy's Digest"),
        ('Digest realm="x", qop="auth"', "cannot answer the Envoy's Digest"),
        # No parameter the middleware knows: it does not answer at all.
        ("Digest foo=bar", "a Digest challenge this client cannot answer"),
        ('Digest nonce="0a4f113b", foo=bar', "cannot answer the Envoy's Digest"),
    ],
)
async def test_unanswerable_digest_challenge(
    simulator: EnvoySimulator, session: aiohttp.ClientSession, www_authenticate: str, message: str
) -> None:
    """A Digest challenge the client cannot answer: refused at once, clearly, nobody else tried."""
    simulator.fail(PATH_INVERTERS, status=401, headers={"WWW-Authenticate": www_authenticate})
    client = client_for(simulator, session)
    with pytest.raises(EnvoyAuthenticationError, match=message) as raised:
        await client.inverters()
    assert [r.status for r in simulator.requests] == [401]
    assert client.user == "envoy"
    # What the Envoy sent (its nonce) stays out of the message, which may be logged.
    assert www_authenticate not in str(raised.value)
    assert "0a4f113b" not in str(raised.value)


# ---------------------------------------------------------------------------------------------
# Credentials the Envoy's owner set


async def test_credentials_are_used(
    simulator: EnvoySimulator, traced: tuple[aiohttp.ClientSession, list[dict[str, str]]]
) -> None:
    """A user and password the owner set: accepted and kept; nothing derived is sent."""
    session, sent = traced
    simulator.users = {"owner": "changed by the owner"}
    client = client_for(simulator, session, credentials=("owner", "changed by the owner"))
    assert client.user == "owner"
    assert len(await client.inverters()) == 40
    assert users_sent(sent) == [None, "owner"]
    assert [r.status for r in simulator.requests] == [401, 200]
    assert client.auth_state == {"user": "owner", "connection_close": False}


async def test_refused_credentials_do_not_fall_back(
    simulator: EnvoySimulator, traced: tuple[aiohttp.ClientSession, list[dict[str, str]]]
) -> None:
    """Refused credentials: EnvoyAuthenticationError; the derived users are not tried.

    This Envoy would accept both derived users: only the given one may be sent.
    """
    session, sent = traced
    simulator.users = {
        "envoy": simulator.password_for("envoy"),
        "installer": simulator.password_for("installer"),
        "owner": "the new one",
    }
    client = client_for(simulator, session, credentials=("owner", "the old one"))
    with pytest.raises(EnvoyAuthenticationError, match="refused user owner on"):
        await client.inverters()
    assert users_sent(sent) == [None, "owner"]
    assert client.auth_state is None
    # A derived user from an earlier state is not one this client knows.
    client.restore_auth({"user": "envoy", "connection_close": False})
    assert client.user == "owner"
    assert client.auth_state is None


async def test_credentials_digest_cannot_carry(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """A user name with a colon cannot go into a Digest answer: refused, nothing sent."""
    client = client_for(simulator, session, credentials=("own:er", "secret"))
    with pytest.raises(EnvoyAuthenticationError, match="cannot sign in with HTTP Digest"):
        await client.inverters()
    assert simulator.requests == []


# ---------------------------------------------------------------------------------------------
# Envoys that reset kept-alive connections


async def test_reset_after_challenge_switches_to_connection_close(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """Envoy-R resets the connection after a challenge: one request more, then Connection: close.

    The middleware answers the challenge on the same connection, which the Envoy resets;
    aiohttp sends it again on a new one. From then on every request asks the Envoy to close
    the connection, and the state keeps it.
    """
    simulator.reset_after_challenge = True
    client = client_for(simulator, session)
    assert not client.connection_close
    assert len(await client.inverters()) == 40
    assert [(r.status, r.authorization, r.keep_alive) for r in simulator.requests] == [
        (401, False, True),
        (0, True, True),
        (200, True, True),
    ]
    assert client.connection_close
    assert client.auth_state == {"user": "envoy", "connection_close": True}
    # A new challenge costs no reset now: the Envoy closes each connection itself.
    simulator.requests.clear()
    simulator.new_nonce()
    await client.update()
    assert [(r.path, r.status, r.keep_alive) for r in simulator.requests] == [
        (PATH_PRODUCTION, 200, False),
        (PATH_INVERTERS, 401, False),
        (PATH_INVERTERS, 200, False),
    ]


@pytest.mark.parametrize("capture", ["spec_example"])  # D5.0.62 closes after every 200
async def test_reset_between_requests_switches_to_connection_close(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """An Envoy that resets every connection used a second time: the client copes and switches.

    aiohttp's one new try is challenged and the middleware's answer is reset too: the
    client then sends the request once more itself, with Connection: close.
    """
    simulator.reset_kept_alive = True
    client = client_for(simulator, session)
    data = await client.update()
    assert len(data.inverters) == 20
    assert [(r.path, r.status) for r in simulator.requests] == [
        (PATH_PRODUCTION, 200),
        (PATH_INVERTERS, 0),  # on the production's connection
        (PATH_INVERTERS, 401),  # aiohttp's new try, on a new connection
        (PATH_INVERTERS, 0),  # the middleware's answer, on that connection
        (PATH_INVERTERS, 200),  # the client's try with Connection: close
    ]
    assert not simulator.requests[-1].keep_alive
    assert client.connection_close
    simulator.requests.clear()
    await client.update()
    assert [(r.status, r.keep_alive) for r in simulator.requests] == [(200, False), (200, False)]


async def test_restored_connection_close(
    simulator: EnvoySimulator, session: aiohttp.ClientSession
) -> None:
    """A restored state with Connection: close: the first request asks for it already."""
    client = client_for(simulator, session)
    client.restore_auth({"user": "envoy", "connection_close": True})
    assert client.connection_close
    assert client.auth_state == {"user": "envoy", "connection_close": True}
    await client.update()
    assert simulator.requests
    assert not any(r.keep_alive for r in simulator.requests)
    # Connection: close is kept even while no user is proven (a reset before any sign-in).
    unproven = client_for(simulator, session)
    unproven.restore_auth({"connection_close": True})
    assert unproven.auth_state == {"connection_close": True}
    assert unproven.user == "envoy"


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
    # envoy: challenge, refused; installer: challenge, refused.
    assert [(r.status, r.authorization) for r in simulator.requests] == [
        (401, False),
        (401, True),
        (401, False),
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


_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
ports = st.none() | st.integers(1, 65535)


@st.composite
def addresses(draw: st.DrawFn) -> str:
    """Return an address as the README asks for it: IPv4, IPv6 or a name, maybe a port."""
    kind = draw(st.integers(0, 2))
    port = draw(ports)
    if kind == 0:
        host = str(draw(st.ip_addresses(v=4)))
    elif kind == 1:
        host = ".".join(draw(st.lists(_LABEL, min_size=1, max_size=4)))
        host = host if host.strip("0123456789.") else f"envoy-{host}"  # no number for a name
    else:
        address = str(draw(st.ip_addresses(v=6)))
        return address if port is None and draw(st.booleans()) else f"[{address}]:{port or 80}"
    return host if port is None else f"{host}:{port}"


@st.composite
def around(draw: st.DrawFn) -> tuple[str, str]:
    """Return what a user may type before and after an address: spaces, http://, slashes."""
    scheme = draw(st.sampled_from(["", "http://", "HTTP://", "Http://"]))
    spaces = st.text(" \t", max_size=2)
    return draw(spaces) + scheme, "/" * draw(st.integers(0, 3)) + draw(spaces)


@given(address=addresses(), typed=around())
def test_host_address_is_the_address_alone(address: str, typed: tuple[str, str]) -> None:
    """The address alone is kept of what is typed around it, and means the same URL."""
    before, after = typed
    assert host_address(f"{before}{address}{after}") == address
    assert base_url(f"{before}{address}{after}") == base_url(address)


@given(
    address=addresses(),
    typed=around(),
    path=st.from_regex(r"[A-Za-z0-9._~%-]+(/[A-Za-z0-9._~%-]+)*", fullmatch=True),
)
def test_host_address_refuses_a_path(address: str, typed: tuple[str, str], path: str) -> None:
    """A path after the address (``/status``), whatever is typed around it, is no address."""
    before, after = typed
    with pytest.raises(EnvoyHostError):
        host_address(f"{before}{address}/{path}{after}")


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
    client = client_for(simulator, session)
    with pytest.raises(EnvoyConnectionError):
        await client.production()
    # aiohttp tries again once, so does the client with Connection: close (and aiohttp once
    # more); every try dropped is an outage, not an Envoy that resets kept-alive connections.
    assert [r.status for r in simulator.requests] == [0, 0, 0, 0]
    assert not client.connection_close


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
        # Another device's page: refused for its DOCTYPE before it is parsed.
        (HTML_PAGE, "declares a DOCTYPE"),
        (HTML_PAGE.removeprefix(b"<!DOCTYPE html>"), "lacks the serial or firmware"),
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
