"""Run an Envoy simulator on its own event loop, in its own thread.

A benchmark that measures the CPU time of Home Assistant's thread (``time.thread_time()``)
must not count the simulator's: ``SimulatorThread`` serves it from a daemon thread::

    with SimulatorThread("D5.0.62", rhythm=Rhythm(), inverters=1000) as envoy:
        host = envoy.simulator.host
        total_in, total_out = envoy.call(envoy.simulator.bytes)

``call`` runs a plain function on the simulator's loop and returns its result: the way to
change or read the simulator safely while it serves.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from . import EnvoySimulator

_START_TIMEOUT_S = 30.0


class SimulatorThread:
    """An ``EnvoySimulator`` served on 127.0.0.1 from a daemon thread (a context manager)."""

    def __init__(
        self,
        simulator: EnvoySimulator | str | Path = "D5.0.62",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        **options: Any,
    ) -> None:
        """Take a simulator, or a capture and the ``EnvoySimulator`` options to make one."""
        if isinstance(simulator, EnvoySimulator):
            if options:
                raise TypeError("options only apply when the simulator is made here")
            self.simulator = simulator
        else:
            self.simulator = EnvoySimulator(simulator, **options)
        self._host = host
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        """Return ``host:port`` of the running simulator."""
        return self.simulator.host

    @property
    def thread(self) -> threading.Thread | None:
        """Return the thread serving the simulator (None when stopped)."""
        return self._thread

    def start(self) -> None:
        """Start the thread and serve; return once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("already running")
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.simulator.start(self._host, self._port))
            except BaseException as err:  # noqa: BLE001 - handed to the starting thread
                ready.set_exception(err)
                loop.close()
                return
            ready.set_result(None)
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.simulator.stop())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=serve, name="envoy-simulator", daemon=True)
        self._thread.start()
        try:
            ready.result(timeout=_START_TIMEOUT_S)
        except BaseException:
            self._thread.join(_START_TIMEOUT_S)
            self._thread = None
            self._loop = None
            raise

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_START_TIMEOUT_S)
        self._thread = None
        self._loop = None

    def call[T](self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` on the simulator's loop and return its result."""
        loop = self._loop
        if loop is None or self._thread is None:
            raise RuntimeError("the simulator thread is not running")
        if threading.current_thread() is self._thread:
            return function(*args)
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not result.set_running_or_notify_cancel():
                return
            try:
                result.set_result(function(*args))
            except BaseException as err:  # noqa: BLE001 - handed to the calling thread
                result.set_exception(err)

        loop.call_soon_threadsafe(run)
        return result.result(timeout=_START_TIMEOUT_S)

    def __enter__(self) -> Self:
        """Start serving."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop serving."""
        self.stop()
