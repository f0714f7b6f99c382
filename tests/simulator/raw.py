"""A server on 127.0.0.1 that answers every request with bytes a test chose, as they are.

The Envoy simulator speaks correct HTTP through aiohttp, which cannot send what a broken
Envoy can: header bytes that are not UTF-8, a status line that is no status line, a
Content-Length that lies, no HTTP at all. ``RawHttpServer`` reads each request's head, answers
with the next of ``answers`` (each a whole response, status line included; the last one
repeats) and closes the connection::

    async with RawHttpServer() as server:
        server.answers = [http_response(b"[]")]
        ...  # GET http://{server.host}/anything

``requests`` holds the head of every request received (request line and headers).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Self


def http_response(
    body: bytes,
    *,
    status: bytes = b"200 OK",
    headers: list[tuple[bytes, bytes]] | None = None,
    content_length: bytes | None = None,
) -> bytes:
    """Return the bytes of an HTTP/1.1 response.

    ``content_length`` is sent as the Content-Length header when given (a lie, garbage),
    else the body's true length; the header list goes out as it is.
    """
    length = str(len(body)).encode() if content_length is None else content_length
    head = [b"HTTP/1.1 " + status, b"Content-Length: " + length]
    head += [name + b": " + value for name, value in headers or []]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class RawHttpServer:
    """Answer each request on a loopback port with the next of ``answers``, then close."""

    def __init__(self) -> None:
        """Start with an empty 200 answer."""
        self.answers: list[bytes] = [http_response(b"")]
        self.requests: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def host(self) -> str:
        """Return ``host:port`` as a user would type it."""
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Serve on a free port of 127.0.0.1."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        """Start."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop."""
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head)
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
            writer.write(answer)
            await writer.drain()
        except asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError:
            pass  # the client gave up first: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
