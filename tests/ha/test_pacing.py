"""The pace of the panels' energy writes: every other read, a bounded number (model/pacing.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from hypothesis import given
from hypothesis import strategies as st
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_envoy_legacy.model.pacing import (
    PANELS_PER_READ,
    READS_BEFORE_WRITE,
    PanelWrites,
)
from tests.helpers import poll, poll_past_the_hold, record_writes, report_all, state
from tests.simulator import EnvoySimulator

PANEL_KEYS = ("energy_today", "lifetime_energy")
SERIALS = st.text(alphabet="0123456789", min_size=1, max_size=3)


def test_the_longest_waiting_are_written_first() -> None:
    """A read writes at most its budget, in the order the panels' energy moved."""
    writes = PanelWrites(per_read=2, reads_before=1)
    writes.moved(["A", "B", "C"])
    writes.moved(["A", "D"])  # A keeps its place
    assert writes.waiting == 4
    assert writes.due() == {"A", "B"}
    writes.moved(["A"])  # moved again after it was written: waits behind the others
    assert writes.due() == {"C", "D"}
    writes.forget("A")
    assert writes.due() == frozenset()
    assert writes.waiting == 0


def test_the_default_pace_writes_a_usual_site_every_other_read() -> None:
    """Up to PANELS_PER_READ panels, every panel that moved is written at the second read."""
    writes = PanelWrites()
    serials = [str(n) for n in range(PANELS_PER_READ)]
    for _ in range(3):
        writes.moved(serials)
        written = [writes.due() for _ in range(READS_BEFORE_WRITE)]
        assert written == [frozenset()] * (READS_BEFORE_WRITE - 1) + [set(serials)]
    assert writes.waiting == 0


def test_a_panel_that_moves_again_keeps_its_turn() -> None:
    """Moving again while waiting neither delays a panel nor writes it sooner."""
    writes = PanelWrites(per_read=10, reads_before=3)
    writes.moved(["A"])
    assert writes.due() == frozenset()
    writes.moved(["A", "B"])
    assert writes.due() == frozenset()
    writes.moved(["A", "B"])
    assert writes.due() == {"A"}
    assert writes.due() == {"B"}


@given(
    per_read=st.integers(min_value=1, max_value=5),
    reads_before=st.integers(min_value=1, max_value=3),
    reads=st.lists(st.sets(SERIALS, max_size=12), max_size=25),
)
def test_every_panel_is_written_within_its_bound(
    per_read: int, reads_before: int, reads: Sequence[set[str]]
) -> None:
    """Whatever moves when: a read writes at most per_read panels, and only moved ones.

    Each is written reads_before - 1 reads after it moved at the soonest, and within
    ceil(panels / per_read) + reads_before - 1 reads (panels: all that ever moved);
    nothing is left waiting once enough reads came with nothing new.
    """
    writes = PanelWrites(per_read=per_read, reads_before=reads_before)
    panels = set().union(*reads)
    bound = math.ceil(len(panels) / per_read) + reads_before - 1 if panels else 0
    moved_at: dict[str, int] = {}
    for number, moved in enumerate([*reads, *[set()] * bound]):
        writes.moved(moved)
        for serial in moved:
            moved_at.setdefault(serial, number)
        due = writes.due()
        assert len(due) <= per_read
        assert due <= moved_at.keys()
        for serial in due:
            waited = number - moved_at.pop(serial)
            assert reads_before - 1 <= waited < bound
    assert not moved_at
    assert writes.waiting == 0


def panel_entities(simulator: EnvoySimulator) -> list[str]:
    """Return the entity ids of every panel's energy sensors."""
    return [
        f"sensor.inverter_{inverter['serialNumber']}_{key}"
        for inverter in simulator.inverters
        for key in PANEL_KEYS
    ]


@pytest.mark.usefixtures("panel_lifetime_enabled")
async def test_a_large_site_writes_its_panels_energy_a_few_per_read(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    simulator: EnvoySimulator,
    init_integration: MockConfigEntry,
) -> None:
    """Every inverter's power at once; the panels' energy a few per read until all are."""
    coordinator = init_integration.runtime_data
    inverters = len(simulator.inverters)
    # A first burst, which each panel's energy counts from.
    report_all(simulator, dt_util.utcnow())
    await poll(hass, freezer)
    coordinator.site.pacing.per_read = per_read = 3
    assert inverters > per_read
    written = record_writes(hass)
    # The next burst: every inverter reports a new power, every panel's energy moves.
    report_all(simulator, dt_util.utcnow())
    for inverter in simulator.inverters:
        inverter["lastReportWatts"] += 1
    await poll(hass, freezer)
    powers = [f"sensor.inverter_{i['serialNumber']}_current_power" for i in simulator.inverters]
    assert set(powers) <= set(written)
    energy = panel_entities(simulator)
    # None at the read where they moved (READS_BEFORE_WRITE), then per_read more per read.
    for read in range(1, math.ceil(inverters / per_read) + READS_BEFORE_WRITE):
        shown = [entity_id for entity_id in written if entity_id in energy]
        panels_shown = max(read - READS_BEFORE_WRITE + 1, 0) * per_read
        assert len(shown) == min(panels_shown, inverters) * len(PANEL_KEYS)
        await poll(hass, freezer)
    panels = coordinator.data.panels
    for inverter in simulator.inverters:
        serial = inverter["serialNumber"]
        lifetime = float(state(hass, f"sensor.inverter_{serial}_lifetime_energy"))
        assert lifetime == pytest.approx(panels[serial].lifetime / 1000, abs=1e-4)
        assert lifetime > 0

    # The Envoy's health is not paced: once its values are too old to show, every panel's
    # energy is unavailable at once.
    simulator.fail("*", status=500, body=b"")
    await poll_past_the_hold(hass, freezer)
    assert {state(hass, entity_id) for entity_id in energy} == {STATE_UNAVAILABLE}
