"""A simulated Enphase Envoy on legacy firmware, served over real HTTP.

It answers ``/info.xml``, ``/info``, ``/api/v1/production``, ``/api/v1/production/inverters``
and ``/production.json`` from a capture folder (see ``tests/fixtures/captures``), protects the
inverters endpoint with real HTTP Digest auth (realm ``enphaseenergy.com``, qop ``auth``) and
lets a test change the values it serves and inject faults per path.

Without a ``Rhythm`` the values are static: a test changes ``production`` and ``inverters``
itself. With one (see ``rhythm.py``) the simulator is an Envoy on a clock: its microinverters
report in bursts, production follows, and every request to the production and inverters
endpoints first lets the reports due by ``clock()`` happen. ``requests`` records every request
with its arrival time and an estimate of the bytes in and out.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE
from envoy_utils.envoy_utils import EnvoyUtils

from .metering import Battery, Metering
from .rhythm import PACIFIC, Power, Rhythm, Site, bursts, clone_inverters, solar_day

CAPTURES = Path(__file__).resolve().parent.parent / "fixtures" / "captures"
REALM = "enphaseenergy.com"

PATH_INFO = "/info.xml"
PATH_PRODUCTION = "/api/v1/production"
PATH_INVERTERS = "/api/v1/production/inverters"
PATH_PRODUCTION_JSON = "/production.json"
PATH_METERS = "/ivp/meters"
PATH_METER_READINGS = "/ivp/meters/readings"
# The paths whose answer moves with a rhythm: a request to one first advances the Envoy.
RHYTHM_PATHS = frozenset({PATH_PRODUCTION, PATH_INVERTERS, PATH_PRODUCTION_JSON})
METER_PATHS = frozenset({PATH_PRODUCTION_JSON, PATH_METERS, PATH_METER_READINGS})

__all__ = [
    "CAPTURES",
    "PATH_INFO",
    "PATH_INVERTERS",
    "PATH_METERS",
    "PATH_METER_READINGS",
    "PATH_PRODUCTION",
    "PATH_PRODUCTION_JSON",
    "REALM",
    "Battery",
    "EnvoySimulator",
    "Fault",
    "Metering",
    "Request",
    "Rhythm",
    "bursts",
    "solar_day",
]

# Response headers that aiohttp computes itself and must not be copied from a capture.
_COMPUTED_HEADERS = {"content-length", "transfer-encoding", "connection", "content-type"}
_AUTH_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')
# When a request arrived (clock()), kept on the request for the log.
_ARRIVAL = web.RequestKey("envoy_simulator_arrival", float)
# "Date: Tue, 12 Sep 2023 21:55:24 GMT" carries a value of this length.
_DATE_LENGTH = 29


def _wall_clock() -> float:
    """Return time.time(), looked up at each call (so that freezegun's patch applies)."""
    return time.time()


@dataclass
class Fault:
    """What to do instead of the normal answer for a path.

    ``times`` limits the fault to that many requests (None: until cleared). ``cut_at`` sends
    the headers (with the full Content-Length) and that many bytes of the body, then waits
    ``delay`` seconds and closes the connection: a stall or a truncation mid-body.
    """

    status: int | None = None
    body: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    cut_at: int | None = None
    times: int | None = None


@dataclass(frozen=True)
class Request:
    """One request the simulator answered."""

    path: str
    status: int
    authorization: bool
    keep_alive: bool = True
    # clock() when the request arrived.
    at: float = 0.0
    # Request line and headers received; status line, headers and body sent (an estimate
    # from the request and response objects, the same for every request).
    bytes_in: int = 0
    bytes_out: int = 0


@dataclass
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _load_answer(folder: Path, name: str, suffix: str) -> _Answer | None:
    body_file = folder / f"{name}{suffix}"
    log_file = folder / f"{name}.log.json"
    if not body_file.exists():
        return None
    log: dict[str, Any] = (
        json.loads(log_file.read_text()) if log_file.exists() else {"code": 200, "headers": {}}
    )
    return _Answer(status=log["code"], headers=dict(log["headers"]), body=body_file.read_bytes())


def _load_answers(folder: Path, absent: dict[str, str], refused: set[str]) -> dict[str, _Answer]:
    """Return the captured answers by path; note in ``refused`` the paths always refused.

    A path the capture lacks is a 404 (D4.2.27 has no inverter list), unless ``absent``
    (from simulator.json) says it is ``"unauthorized"`` or gives a body to answer.
    """
    answers: dict[str, _Answer] = {}
    for path, name, suffix in (
        (PATH_PRODUCTION, "api_v1_production", ".json"),
        (PATH_INVERTERS, "api_v1_production_inverters", ".json"),
        (PATH_PRODUCTION_JSON, "production.json", ".body"),
        (PATH_METERS, "ivp_meters", ".json"),
        (PATH_METER_READINGS, "ivp_meters_readings", ".json"),
    ):
        if (answer := _load_answer(folder, name, suffix)) is not None:
            answers[path] = answer
    for path, kind in absent.items():
        if kind == "unauthorized":
            refused.add(path)
        else:
            answers[path] = _Answer(200, {}, kind.encode())
    return answers


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - HTTP Digest is MD5


class EnvoySimulator:
    """An Envoy served on 127.0.0.1 from a capture folder."""

    def __init__(
        self,
        capture: str | Path = "D5.0.62",
        *,
        rhythm: Rhythm | None = None,
        inverters: int | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Load a capture (a folder name below tests/fixtures/captures, or a path).

        ``rhythm``: let the inverters report along it (None: static values a test changes).
        ``inverters``: serve that many inverter records (copies of the capture's with new
        serials). ``clock``: epoch seconds now (default ``time.time``, read at each call).
        """
        self.clock: Callable[[], float] = clock or _wall_clock
        folder = Path(capture)
        if not folder.is_dir():
            folder = CAPTURES / str(capture)
        self.folder = folder
        info = _load_answer(folder, "info", ".xml")
        assert info is not None, f"{folder} has no info.xml"
        self.info = info
        settings: dict[str, Any] = {}
        if (folder / "simulator.json").exists():
            settings = json.loads((folder / "simulator.json").read_text())
        # What this firmware answers on meter endpoints the capture lacks (envoy-facts):
        # "unauthorized" (a Digest challenge whatever the credentials) or a body ("[]").
        self.refused: set[str] = set()
        self._answers = _load_answers(folder, settings.get("absent", {}), self.refused)
        # The values a test can change: the JSON of the two API endpoints, when captured as 200.
        self.production: dict[str, Any] = self._json(PATH_PRODUCTION)
        self.inverters: list[dict[str, Any]] = self._json(PATH_INVERTERS)
        if inverters is not None:
            self.inverters = clone_inverters(self.inverters, inverters)
        now = self.clock()
        # Replay the capture as if it was taken now: each report keeps its age.
        if (taken := re.search(rb"<time>\s*(\d+)\s*</time>", self.info.body)) is not None:
            shift = int(now) - int(taken.group(1))
            for inverter in self.inverters:
                inverter["lastReportDate"] += shift
        match = re.search(rb"<sn>\s*([^<\s]+)\s*</sn>", self.info.body)
        assert match is not None
        self.serial = match.group(1).decode()
        self.users: dict[str, str] = {
            user: self.password_for(user) for user in settings.get("users", ["envoy"])
        }
        self.production_requires_auth = bool(settings.get("production_requires_auth", False))
        # The meter endpoints want the inverters' Digest credentials.
        self.meters_require_auth = True
        # R3.11.30: 404 on /info.xml, the same XML on /info.
        self.info_xml_missing = False
        # Envoy-R with keep-alive: after a Digest challenge it resets the connection when the
        # authenticated retry arrives on it.
        self.reset_after_challenge = False
        # The connections challenged while reset_after_challenge is on (the objects
        # themselves: an id() can be reused by a later connection).
        self._challenged: list[object] = []
        # An Envoy that resets a kept-alive connection when another request arrives on it,
        # and the connections that served a request while this is on.
        self.reset_kept_alive = False
        self._served: list[object] = []
        self.faults: dict[str, Fault] = {}
        self.requests: list[Request] = []
        self.nonce = secrets.token_hex(16)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.rhythm = rhythm
        self._site: Site | None = None
        self._production_extra: dict[str, Any] | None = None
        self._no_reports: list[tuple[float, str]] = []
        self._no_changes: list[float] = []
        if rhythm is not None:
            self._start_rhythm(rhythm, now)
        # The CT meters (see metering.py): their knobs are this object's attributes.
        self.metering = Metering(
            folder, self.clock, self.power, tz=rhythm.tz if rhythm is not None else PACIFIC
        )

    def _start_rhythm(self, rhythm: Rhythm, now: float) -> None:
        """Place the capture on the rhythm at now; make /production.json and /info.xml fit."""
        self._site = Site(rhythm, self.inverters, self.production, now)
        captured = self._answers.get(PATH_PRODUCTION_JSON)
        extra: Any = None
        if captured is not None and captured.status == 200:
            try:
                extra = json.loads(captured.body)
            except ValueError:
                extra = None  # this firmware answers HTML there: keep it
        if isinstance(extra, dict) and "production" in extra:
            self._production_extra = {
                key: value for key, value in extra.items() if key != "production"
            }
        elif rhythm.metered:
            # A metered Envoy has it, whatever this capture's firmware answered there.
            self._production_extra = {}
            self._answers[PATH_PRODUCTION_JSON] = _Answer(
                200, {"content-type": "application/json"}, b""
            )
        if rhythm.metered:
            body = self.info.body
            if re.search(rb"<imeter>", body):
                body = re.sub(rb"<imeter>[^<]*</imeter>", b"<imeter>true</imeter>", body)
            else:
                body = body.replace(b"</device>", b"  <imeter>true</imeter>\n  </device>", 1)
            self.info.body = body

    @property
    def power(self) -> Power | None:
        """Return the site's power (W at epoch seconds) the rhythm follows (None: no rhythm)."""
        return None if self._site is None else self._site.power

    @property
    def report_log(self) -> list[tuple[float, str]]:
        """Return (report time, inverter serial) of every report that happened, in order."""
        return self._no_reports if self._site is None else self._site.report_log

    @property
    def production_changes(self) -> list[float]:
        """Return the times the production answer changed (non-metered: the report times).

        A metered Envoy's production moves every second: this stays empty, see
        ``production_moves_continuously``.
        """
        return self._no_changes if self._site is None else self._site.production_changes

    @property
    def production_moves_continuously(self) -> bool:
        """Return whether production moves every second (a metered Envoy with a rhythm)."""
        return self.rhythm is not None and self.rhythm.metered

    def advance(self, now: float | None = None) -> None:
        """Let every report due by now (default clock()) happen; requests do this themselves."""
        if self._site is not None:
            self._site.advance(self.clock() if now is None else now)

    def bytes(self) -> tuple[int, int]:
        """Return the bytes received and sent over every request so far."""
        return (
            sum(request.bytes_in for request in self.requests),
            sum(request.bytes_out for request in self.requests),
        )

    def _json(self, path: str) -> Any:
        answer = self._answers.get(path)
        if answer is None or answer.status != 200:
            return {} if path == PATH_PRODUCTION else []
        return copy.deepcopy(json.loads(answer.body))

    def password_for(self, user: str) -> str:
        """Return the password this Envoy expects for a user."""
        if user == "envoy":
            return self.serial[-6:]
        return str(EnvoyUtils.get_password(self.serial, user))

    @property
    def host(self) -> str:
        """Return ``host:port`` as a user would type it."""
        return f"127.0.0.1:{self.port}"

    def fail(self, path: str, fault: Fault | None = None, **kwargs: Any) -> Fault:
        """Inject a fault on a path (``*`` for every path) and return it."""
        fault = fault or Fault(**kwargs)
        self.faults[path] = fault
        return fault

    def identify_as(self, *, serial: str | None = None, firmware: str | None = None) -> None:
        """Answer /info.xml with another serial or firmware (until heal())."""
        body = self.info.body
        if serial is not None:
            body = re.sub(rb"<sn>[^<]*</sn>", f"<sn>{serial}</sn>".encode(), body)
        if firmware is not None:
            body = re.sub(
                rb"<software>[^<]*</software>", f"<software>{firmware}</software>".encode(), body
            )
        self.fail(PATH_INFO, body=body, content_type="text/xml")

    def become(self, serial: str) -> None:
        """Be the Envoy with this serial for good: its identity and its derived passwords."""
        body = re.sub(rb"<sn>[^<]*</sn>", f"<sn>{serial}</sn>".encode(), self.info.body)
        self.info = _Answer(status=self.info.status, headers=self.info.headers, body=body)
        self.serial = serial
        self.users = {user: self.password_for(user) for user in self.users}

    def heal(self) -> None:
        """Remove every fault."""
        self.faults.clear()

    def count(self, path: str | None = None) -> int:
        """Return how many requests were answered (for one path, or all)."""
        return sum(1 for request in self.requests if path in (None, request.path))

    def new_nonce(self) -> None:
        """Forget the current nonce: the next authenticated request is challenged again."""
        self.nonce = secrets.token_hex(16)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on host:port (0: any free port)."""
        app = web.Application()
        app.router.add_get("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server  # the only way to learn the bound port
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]

    async def resume(self) -> None:
        """Serve again on the same port after stop(): the Envoy is back."""
        await self.start(port=self.port)

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        """Start on a free loopback port."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop."""
        await self.stop()

    def _fault_for(self, path: str) -> Fault | None:
        fault = self.faults.get(path) or self.faults.get("*")
        if fault is None:
            return None
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                self.faults = {
                    key: value for key, value in self.faults.items() if value is not fault
                }
        return fault

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "digest":
            return False
        params = {key: quoted or bare for key, quoted, bare in _AUTH_PARAM.findall(rest)}
        user = params.get("username", "")
        if (
            user not in self.users
            or params.get("realm") != REALM
            or params.get("nonce") != self.nonce
            or params.get("uri") != request.path_qs
            or params.get("qop") != "auth"
        ):
            return False
        ha1 = _md5(f"{user}:{REALM}:{self.users[user]}")
        ha2 = _md5(f"{request.method}:{params['uri']}")
        expected = _md5(
            f"{ha1}:{self.nonce}:{params.get('nc', '')}:{params.get('cnonce', '')}:auth:{ha2}"
        )
        return secrets.compare_digest(expected, params.get("response", ""))

    def _respond(self, request: web.Request, status: int, response: web.Response) -> web.Response:
        self._log(request, status, _bytes_out(response), keep_alive=request.keep_alive)
        return response

    def _log(
        self, request: web.Request, status: int, bytes_out: int, *, keep_alive: bool = True
    ) -> None:
        """Record a request (status 0: the connection was dropped)."""
        self.requests.append(
            Request(
                request.path,
                status,
                "Authorization" in request.headers,
                keep_alive,
                at=request.get(_ARRIVAL, 0.0),
                bytes_in=_bytes_in(request),
                bytes_out=bytes_out,
            )
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        now = request[_ARRIVAL] = self.clock()
        missing = request.path == PATH_INFO and self.info_xml_missing
        path = PATH_INFO if request.path == "/info" else request.path
        if self._site is not None and path in RHYTHM_PATHS:
            self._site.advance(now)
        if path in METER_PATHS:
            self.metering.advance(now)
        if (fault := self._fault_for(path)) is not None and (
            faulted := await self._apply(request, fault)
        ) is not None:
            return faulted
        if path in self.refused:
            return self._respond(request, 401, self._challenge())
        answer = self.info if path == PATH_INFO else self._answers.get(path)
        if answer is None or missing:
            return self._respond(request, 404, web.Response(status=404, text="Page Not Found"))
        if answer.status != 200 or path == PATH_INFO:
            return self._answer(request, answer, answer.body)
        needs_auth = (
            path == PATH_INVERTERS
            or (path == PATH_PRODUCTION and self.production_requires_auth)
            or (path in (PATH_METERS, PATH_METER_READINGS) and self.meters_require_auth)
        )
        self._reset_if_kept_alive(request)
        transport = request.transport
        if self.reset_after_challenge and any(known is transport for known in self._challenged):
            self._challenged = [known for known in self._challenged if known is not transport]
            self._log(request, 0, 0)
            assert transport is not None
            transport.abort()
            raise asyncio.CancelledError
        if needs_auth and not self._authorized(request):
            if self.reset_after_challenge:
                self._challenged.append(transport)
            return self._respond(request, 401, self._challenge())
        details = request.query.get("details") == "1"
        return self._answer(request, answer, self._body(path, answer, now, details=details))

    def _reset_if_kept_alive(self, request: web.Request) -> None:
        """With reset_kept_alive on, reset a connection that already served a request."""
        if not self.reset_kept_alive:
            return
        transport = request.transport
        if any(known is transport for known in self._served):
            self._log(request, 0, 0)
            assert transport is not None
            transport.abort()
            raise asyncio.CancelledError
        self._served.append(transport)

    def _body(
        self, path: str, answer: _Answer, now: float, *, details: bool = False
    ) -> builtins.bytes:
        """Return the body of a normal 200 answer at time now."""
        site = self._site
        if path == PATH_PRODUCTION:
            if site is not None:
                return (json.dumps(site.production_answer(now), indent=2) + "\n").encode()
            return json.dumps(self.production).encode()
        if path == PATH_INVERTERS:
            if site is not None:
                return site.inverters_body(self.inverters)
            return json.dumps(self.inverters).encode()
        metering = self.metering
        if path == PATH_PRODUCTION_JSON:
            if site is not None and self._production_extra is not None and not metering.moving:
                return json.dumps(site.production_json(now, self._production_extra)).encode()
            metered: Any = metering.production_json_answer(now, details=details)
        elif path == PATH_METERS:
            metered = metering.meters_answer()
        elif path == PATH_METER_READINGS:
            metered = metering.readings_answer(now)
        else:
            metered = None
        return answer.body if metered is None else json.dumps(metered).encode()

    async def _apply(self, request: web.Request, fault: Fault) -> web.StreamResponse | None:
        """Carry out a fault; None when it only delayed the normal answer."""
        if fault.cut_at is not None:
            return await self._cut(request, fault)
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            self._log(request, 0, 0)
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError
        if fault.status is None and fault.body is None:
            return None
        status = fault.status or 200
        return self._respond(
            request,
            status,
            web.Response(
                status=status,
                body=fault.body or b"",
                headers={"Content-Type": fault.content_type, **fault.headers},
            ),
        )

    def _challenge(self) -> web.Response:
        return web.Response(
            status=401,
            text='{"status": 401, "error": "", "info": "Authentication required"}',
            content_type="application/json",
            headers={
                "WWW-Authenticate": f'Digest realm="{REALM}", qop="auth", nonce="{self.nonce}"'
            },
        )

    async def _cut(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        body = fault.body or json.dumps(self.inverters).encode()
        assert fault.cut_at is not None
        response = web.StreamResponse(
            status=200, headers={"Content-Type": fault.content_type, **fault.headers}
        )
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: fault.cut_at])
        self._log(request, 200, _headers_size(response, None) + len(body[: fault.cut_at]))
        await asyncio.sleep(fault.delay)
        assert request.transport is not None
        request.transport.abort()
        raise asyncio.CancelledError

    def _answer(self, request: web.Request, answer: _Answer, body: builtins.bytes) -> web.Response:
        headers = {
            key: value
            for key, value in answer.headers.items()
            if key.lower() not in _COMPUTED_HEADERS
        }
        response = web.Response(
            status=answer.status,
            body=body,
            headers={
                **headers,
                "Content-Type": answer.headers.get("content-type", "application/json"),
            },
        )
        if answer.headers.get("connection") == "close":
            response.force_close()
        return self._respond(request, answer.status, response)


def _bytes_in(request: web.Request) -> int:
    """Return the size of a request's line, headers and body as it came in."""
    version = request.version
    line = f"{request.method} {request.raw_path} HTTP/{version.major}.{version.minor}"
    headers = sum(len(name) + 2 + len(value) + 2 for name, value in request.raw_headers)
    return len(line) + 2 + headers + 2 + (request.content_length or 0)


def _headers_size(response: web.StreamResponse, content_length: int | None) -> int:
    """Return the size of a response's status line and headers.

    aiohttp adds Date, Server and Content-Length when it sends them: count them as it will.
    """
    headers = {name.lower(): value for name, value in response.headers.items()}
    headers.setdefault("date", "x" * _DATE_LENGTH)
    headers.setdefault("server", SERVER_SOFTWARE)
    if content_length is not None and not response.chunked:
        headers.setdefault("content-length", str(content_length))
    if response.keep_alive is False:
        headers.setdefault("connection", "close")
    line = f"HTTP/1.1 {response.status} {response.reason}"
    return len(line) + 2 + sum(len(k) + 2 + len(v) + 2 for k, v in headers.items()) + 2


def _bytes_out(response: web.Response) -> int:
    """Return the size of a response's status line, headers and body."""
    body = response.body
    size = len(body) if isinstance(body, bytes | bytearray) else (response.content_length or 0)
    return _headers_size(response, size) + size
