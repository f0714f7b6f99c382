"""Sensors for the Enphase Envoy Legacy integration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfEnergy, UnitOfPower
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EnvoyLegacyConfigEntry
from .entity import EnvoyLegacyEntity, EnvoyLegacyInverterEntity
from .envoy_client import EnvoyInverter, EnvoyProduction

# Every entity reads the coordinator's data; none makes a request of its own.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EnvoyProductionSensorDescription(SensorEntityDescription):
    """Describes a site total sensor."""

    value_fn: Callable[[EnvoyProduction], int]


@dataclass(frozen=True, kw_only=True)
class EnvoyInverterSensorDescription(SensorEntityDescription):
    """Describes a microinverter sensor."""

    value_fn: Callable[[EnvoyInverter], int | datetime]


PRODUCTION_SENSORS: tuple[EnvoyProductionSensorDescription, ...] = (
    EnvoyProductionSensorDescription(
        key="current_power",
        translation_key="current_power",
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda production: production.watts_now,
    ),
    EnvoyProductionSensorDescription(
        key="energy_today",
        translation_key="energy_today",
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda production: production.watt_hours_today,
    ),
    EnvoyProductionSensorDescription(
        # A rolling window: it goes down as old days leave it, so it has no state class.
        key="energy_last_seven_days",
        translation_key="energy_last_seven_days",
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=1,
        device_class=SensorDeviceClass.ENERGY,
        value_fn=lambda production: production.watt_hours_seven_days,
    ),
    EnvoyProductionSensorDescription(
        key="lifetime_energy",
        translation_key="lifetime_energy",
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda production: production.watt_hours_lifetime,
    ),
)

INVERTER_SENSORS: tuple[EnvoyInverterSensorDescription, ...] = (
    EnvoyInverterSensorDescription(
        key="current_power",
        translation_key="current_power",
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda inverter: inverter.last_report_watts,
    ),
    # Two diagnostics per microinverter, disabled by default: a site has dozens of
    # inverters, and these change rarely (maximum) or with every report (timestamp).
    EnvoyInverterSensorDescription(
        key="max_reported_power",
        translation_key="max_reported_power",
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda inverter: inverter.max_report_watts,
    ),
    EnvoyInverterSensorDescription(
        key="last_report",
        translation_key="last_report",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda inverter: inverter.last_report_date,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnvoyLegacyConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the Envoy's sensors, and one set per microinverter as the Envoy lists them."""
    coordinator = entry.runtime_data
    async_add_entities(
        EnvoyProductionSensor(coordinator, description) for description in PRODUCTION_SENSORS
    )
    known: set[str] = set()

    @callback
    def add_new_inverters() -> None:
        """Add the entities of inverters the Envoy lists for the first time."""
        # After a failed poll the data is the last good reading: nothing new in it.
        if not (new := coordinator.data.inverters.keys() - known):
            return
        known.update(new)
        async_add_entities(
            EnvoyInverterSensor(coordinator, description, serial)
            for serial in sorted(new)
            for description in INVERTER_SENSORS
        )

    add_new_inverters()
    entry.async_on_unload(coordinator.async_add_listener(add_new_inverters))


class EnvoyProductionSensor(EnvoyLegacyEntity, SensorEntity):
    """A site total read from the Envoy."""

    entity_description: EnvoyProductionSensorDescription

    @property
    def native_value(self) -> int:
        """Return the value from the last reading."""
        return self.entity_description.value_fn(self.coordinator.data.production)


class EnvoyInverterSensor(EnvoyLegacyInverterEntity, SensorEntity):
    """A value from one microinverter's last report."""

    entity_description: EnvoyInverterSensorDescription

    @property
    def native_value(self) -> int | datetime:
        """Return the value from the inverter's last report.

        Only read while the entity is available, that is while the Envoy lists the inverter.
        """
        return self.entity_description.value_fn(
            self.coordinator.data.inverters[self.inverter_serial]
        )
