"""Fixtures for the benchmarks (scripts/bench), on top of pytest-homeassistant-custom-component.

The benchmarks get the same ``hass`` fixture as the tests, with changes that make the
numbers mean what they would in a running Home Assistant rather than in a test:

- asyncio debug mode off (the test harness turns it on; it slows every callback);
- Home Assistant and library loggers at WARNING (the harness logs at INFO, and at 1,000
  inverters the "Registered new entity" lines alone cost measurable CPU);
- a settled heap: what is on the heap before each benchmark (Home Assistant's modules, what
  earlier benchmarks in the same process left: some 300,000 objects) is collected and frozen
  out of the garbage collector's reach, and released after it. With that heap in reach, a
  collection of the youngest generation cost some 2.8 ms (0.6 ms with it frozen) and a full
  one 257 ms, charged to whichever poll set it off, on either side; now each side pays for
  the garbage its own polls make;
- real storage: Home Assistant writes its stores (registries, what an integration saves) as
  files in a temporary configuration directory, as it does at home. The harness instead keeps
  every saved store as a parsed copy in memory, which would count in the peak memory (the
  built-in integration's 13,004-entry entity registry at 1,000 inverters: a 254 MB peak
  instead of about 55 MB) depending on whether a delayed save happened to fall inside the
  measured stretch.

When both sides run in one session (``scripts/bench``), they take turns: for each Envoy and
size, ours' simulated hours, ours' CPU like for like (``--full`` only), the built-in's run,
ours' CPU as installed, then the memory runs (``pytest_collection_modifyitems``). The CPU
figures a ratio compares are measured a minute or two apart, so a slower spell of the machine
meets both sides.

Sockets stay restricted to 127.0.0.1 (pytest-socket's host guard, which ``socket_enabled``
keeps), host names are not resolved (the harness's getaddrinfo guard), and no discovery
integration (zeroconf, ssdp...) is set up by anything here.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Generator
from typing import Any

import pytest
from homeassistant.core import HomeAssistant

# Import the integration before the hass fixture starts, so that Home Assistant's loader finds
# this repository's custom_components package (as tests/conftest.py does).
import custom_components.enphase_envoy_legacy  # noqa: F401
from benchmarks.common import SCENARIOS, SIZES

_QUIET = ("homeassistant", "custom_components", "pyenphase", "aiohttp", "tests", "benchmarks")


# The order of the benchmarks of one Envoy and size: ours' CPU runs need its simulated hours'
# counts of polls; the built-in's run between ours' two CPU runs (like for like, as
# installed); memory last (tracemalloc, nothing timed). "+panels": as installed.
_TURNS = (
    "bench_ours",
    "bench_ours_cpu",
    "bench_builtin",
    "bench_ours_cpu+panels",
    "bench_ours_memory+panels",
    "bench_ours_memory",
    "bench_builtin_memory",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the benchmarks by Envoy and size, both sides' in turn (a stable sort)."""

    def turn(item: pytest.Item) -> tuple[int, int, int]:
        params = getattr(item, "callspec", None)
        values = params.params if params is not None else {}
        name = getattr(item, "originalname", item.name)
        name += "+panels" if values.get("panels") else ""
        return (
            SCENARIOS.index(values["scenario"]) if "scenario" in values else len(SCENARIOS),
            SIZES.index(values["inverters"]) if "inverters" in values else len(SIZES),
            _TURNS.index(name) if name in _TURNS else len(_TURNS),
        )

    items.sort(key=turn)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom integrations in every benchmark."""


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Give each benchmark's Home Assistant a temporary configuration directory."""
    return hass_tmp_config_dir


@pytest.fixture
def hass_storage() -> dict[str, Any]:
    """Override the harness's in-memory storage: stores are real files in hass_config_dir."""
    return {}


@pytest.fixture(autouse=True)
def settled_heap(hass: HomeAssistant) -> Generator[None]:
    """Start each benchmark with the leftovers of earlier ones out of the collector's way."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Override the harness's fixture of the same name: no asyncio debug mode."""
    asyncio.get_running_loop().set_debug(False)


@pytest.fixture(autouse=True)
def quiet_logging() -> Generator[None]:
    """Log at WARNING only, the same for both sides, so that logging does not weigh on the CPU."""
    loggers = [logging.getLogger(name) for name in _QUIET]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    # "We found a custom integration ... not tested by Home Assistant", once per benchmark.
    loader = logging.getLogger("homeassistant.loader")
    loader_level = loader.level
    loader.setLevel(logging.ERROR)
    yield
    loader.setLevel(loader_level)
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)
