"""Binary sensors for the Enphase Envoy Legacy integration: each panel's reporting status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EnvoyLegacyConfigEntry
from .entity import EnvoyLegacyInverterEntity, async_add_inverter_entities
from .model import Snapshot

# Every entity reads the coordinator's data; none makes a request of its own.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EnvoyInverterBinarySensorDescription(BinarySensorEntityDescription):
    """Describes a microinverter's binary sensor."""

    is_on_fn: Callable[[Snapshot, str], bool]


INVERTER_BINARY_SENSORS: tuple[EnvoyInverterBinarySensorDescription, ...] = (
    # On (problem) when the inverter missed its reports for a few intervals while the rest
    # of the site kept reporting (see model/panels.py): nightfall or an Envoy outage flag nothing.
    EnvoyInverterBinarySensorDescription(
        key="reporting",
        translation_key="reporting",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=lambda data, serial: serial in data.census.problems,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnvoyLegacyConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up each microinverter's reporting status, as the Envoy lists them."""
    coordinator = entry.runtime_data
    async_add_inverter_entities(
        entry,
        async_add_entities,
        lambda serial: (
            EnvoyInverterBinarySensor(coordinator, description, serial)
            for description in INVERTER_BINARY_SENSORS
        ),
    )


class EnvoyInverterBinarySensor(EnvoyLegacyInverterEntity, BinarySensorEntity):
    """A microinverter's status, judged from its reports."""

    entity_description: EnvoyInverterBinarySensorDescription

    @property
    def is_on(self) -> bool:
        """Return True when the inverter has a problem."""
        return self.entity_description.is_on_fn(self.coordinator.data, self.inverter_serial)
