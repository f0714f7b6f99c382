"""Base entities for the Enphase Envoy Legacy integration.

Every entity writes its state only when what it shows changed (ShownStateEntity). The
Envoy's entities listen to the coordinator; each microinverter's entities listen to their
inverter (signals.py), called only when that inverter has something new or the Envoy's
health changed: a poll costs time in proportion to what changed, not to the number of
inverters. Its panel energy sensors listen to their panel, paced so that a poll writes a
bounded number (model/pacing.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN, MANUFACTURER
from .coordinator import EnvoyLegacyConfigEntry, EnvoyLegacyCoordinator


class ShownStateEntity(Entity):
    """An entity that writes its state only when its availability or its value changed."""

    _shown: tuple[object, ...] | None = None

    async def async_added_to_hass(self) -> None:
        """Remember what was shown when the entity was added (and written)."""
        await super().async_added_to_hass()
        self._shown = self._shown_state()

    def _shown_value(self) -> object:
        """Return the value shown (sensors return their native value: cheaper to get)."""
        return self.state

    def _shown_state(self) -> tuple[object, ...]:
        """Return what the entity shows; it is written again only when this changes."""
        available = self.available
        return (available, self._shown_value() if available else None)

    @callback
    def _async_write_if_changed(self) -> None:
        """Write the state when what it shows changed."""
        shown = self._shown_state()
        if shown == self._shown:
            return
        self._shown = shown
        self.async_write_ha_state()


class EnvoyLegacyEntity(ShownStateEntity, CoordinatorEntity[EnvoyLegacyCoordinator]):
    """An entity of the Envoy device (site totals)."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: EnvoyLegacyCoordinator, description: EntityDescription) -> None:
        """Initialize the entity."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.serial}_{description.key}"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, coordinator.serial)})

    @property
    def available(self) -> bool:
        """Return True while the Envoy answers, or its last values are young enough."""
        return super().available and self.coordinator.data.site_shown

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when the value or the availability changed."""
        self._async_write_if_changed()


class EnvoyLegacyInverterEntity(ShownStateEntity):
    """An entity of one microinverter's device, updated when its inverter has news."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    # Whether the value still means something once the inverter has retired (model/census.py).
    shown_when_retired = False
    # Whether it shows the panel's energy, written at the pace of model/pacing.py.
    paced = False

    def __init__(
        self,
        coordinator: EnvoyLegacyCoordinator,
        description: EntityDescription,
        inverter_serial: str,
    ) -> None:
        """Initialize the entity."""
        self.coordinator = coordinator
        self.entity_description = description
        self.inverter_serial = inverter_serial
        self._attr_unique_id = f"{inverter_serial}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, inverter_serial)},
            manufacturer=MANUFACTURER,
            model="Microinverter",
            name=f"Inverter {inverter_serial}",
            serial_number=inverter_serial,
            via_device_id=coordinator.device_id,
        )

    @property
    def available(self) -> bool:
        """Return True while the Envoy answers and lists this inverter (and it means something).

        A retired inverter's value is shown only when it still means something.
        """
        coordinator = self.coordinator
        serial = self.inverter_serial
        return (
            coordinator.last_update_success
            and coordinator.data.inverters_shown
            and serial in coordinator.data.inverters
            and (self.shown_when_retired or serial not in coordinator.data.census.retired)
        )

    async def async_added_to_hass(self) -> None:
        """Listen to this inverter (to its panel, for the panel energy)."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.signals.listen(
                self.inverter_serial, self._async_write_if_changed, panel=self.paced
            )
        )


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
