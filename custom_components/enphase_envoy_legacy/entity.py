"""Base entities for the Enphase Envoy Legacy integration."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN, MANUFACTURER
from .coordinator import EnvoyLegacyConfigEntry, EnvoyLegacyCoordinator


class EnvoyLegacyEntity(CoordinatorEntity[EnvoyLegacyCoordinator]):
    """An entity of the Envoy device (site totals)."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: EnvoyLegacyCoordinator, description: EntityDescription) -> None:
        """Initialize the entity."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.serial}_{description.key}"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, coordinator.serial)})


class EnvoyLegacyInverterEntity(CoordinatorEntity[EnvoyLegacyCoordinator]):
    """An entity of one microinverter's device."""

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: EnvoyLegacyCoordinator,
        description: EntityDescription,
        inverter_serial: str,
    ) -> None:
        """Initialize the entity."""
        # The inverter's serial is the context the coordinator calls this entity by.
        super().__init__(coordinator, context=inverter_serial)
        self.entity_description = description
        self.inverter_serial = inverter_serial
        self._shown: tuple[object, ...] | None = None
        self._attr_unique_id = f"{inverter_serial}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, inverter_serial)},
            manufacturer=MANUFACTURER,
            model="Microinverter",
            name=f"Inverter {inverter_serial}",
            serial_number=inverter_serial,
            via_device_id=coordinator.envoy_device_id,
        )

    @property
    def available(self) -> bool:
        """Return True while the Envoy answers and still lists this inverter."""
        return super().available and self.inverter_serial in self.coordinator.data.inverters

    async def async_added_to_hass(self) -> None:
        """Remember what was shown when the entity was added (and written)."""
        await super().async_added_to_hass()
        self._shown = self._shown_state()

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when what it shows changed.

        The coordinator calls this only when this inverter has news or the Envoy's health
        changed (see EnvoyLegacyCoordinator.async_update_listeners).
        """
        shown = self._shown_state()
        if shown == self._shown:
            return
        self._shown = shown
        super()._handle_coordinator_update()

    def _shown_state(self) -> tuple[object, ...]:
        """Return what the entity shows; it is written again only when this changes."""
        available = self.available
        return (available, self.state if available else None)


def async_add_inverter_entities(
    entry: EnvoyLegacyConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entities_for: Callable[[str], Iterable[Entity]],
) -> None:
    """Add each microinverter's entities once the Envoy lists it: now, and at later polls.

    An inverter listed for the first time (a new panel, one offline at setup) gets its
    entities without a restart.
    """
    coordinator = entry.runtime_data
    known: set[str] = set()

    @callback
    def add_new_inverters() -> None:
        # After a failed poll the data is the last good reading: nothing new in it.
        if not (new := coordinator.data.inverters.keys() - known):
            return
        known.update(new)
        async_add_entities(entity for serial in sorted(new) for entity in entities_for(serial))

    add_new_inverters()
    entry.async_on_unload(coordinator.async_add_listener(add_new_inverters))
