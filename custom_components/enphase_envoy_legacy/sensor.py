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
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfEnergy, UnitOfPower
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .coordinator import EnvoyLegacyConfigEntry, EnvoyLegacyCoordinator
from .entity import EnvoyLegacyEntity, EnvoyLegacyInverterEntity, async_add_inverter_entities
from .model import Snapshot, plausible_watts
from .sensor_metered import METERED_SENSORS, EnvoyMeteredSensorDescription

# Every entity reads the coordinator's data; none makes a request of its own.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EnvoyProductionSensorDescription(SensorEntityDescription):
    """Describes a site total sensor; None means no trustworthy value yet."""

    value_fn: Callable[[Snapshot], int | None]


@dataclass(frozen=True, kw_only=True)
class EnvoyInverterSensorDescription(SensorEntityDescription):
    """Describes a microinverter sensor."""

    value_fn: Callable[[Snapshot, str], float | int | datetime | None]
    # Whether the value still means something once the inverter has retired.
    shown_when_retired: bool = True
    # Whether it is the panel's energy, written at the pace of model/pacing.py.
    paced: bool = False
    # Its state attributes (None: it never has any; the function's None: none now).
    attributes_fn: Callable[[Snapshot, str], dict[str, datetime] | None] | None = None


PRODUCTION_SENSORS: tuple[EnvoyProductionSensorDescription, ...] = (
    EnvoyProductionSensorDescription(
        key="current_power",
        translation_key="current_power",
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: data.production.watts_now,
    ),
    EnvoyProductionSensorDescription(
        key="energy_today",
        translation_key="energy_today",
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        # Energy today and lifetime at the same precision, the site's and each panel's.
        suggested_display_precision=3,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda data: data.production.today,
    ),
    EnvoyProductionSensorDescription(
        # A rolling window: it goes down as old days leave it, so it has no state class.
        key="energy_last_seven_days",
        translation_key="energy_last_seven_days",
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=1,
        device_class=SensorDeviceClass.ENERGY,
        value_fn=lambda data: data.production.seven_days,
    ),
    EnvoyProductionSensorDescription(
        key="lifetime_energy",
        translation_key="lifetime_energy",
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda data: data.production.lifetime,
    ),
    EnvoyProductionSensorDescription(
        # The Envoy's counter as it reported it, glitches included, for those who want to
        # see them. No state class: it must not feed long-term statistics.
        key="lifetime_energy_reported",
        translation_key="lifetime_energy_reported",
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        device_class=SensorDeviceClass.ENERGY,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.envoy.production.watt_hours_lifetime,
    ),
    # Panel health at a glance: how many of the listed microinverters reported in the last
    # report interval, and how many are listed (not counting those retired).
    EnvoyProductionSensorDescription(
        key="inverters_reporting",
        translation_key="inverters_reporting",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: data.census.reporting,
    ),
    EnvoyProductionSensorDescription(
        key="inverters_known",
        translation_key="inverters_known",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.census.known,
    ),
)

INVERTER_SENSORS: tuple[EnvoyInverterSensorDescription, ...] = (
    EnvoyInverterSensorDescription(
        key="current_power",
        translation_key="current_power",
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        # A power no microinverter can produce (above MAX_MICROINVERTER_W, or negative) is
        # garbage: unknown, rather than a spike in the statistics.
        value_fn=lambda data, serial: plausible_watts(data.inverters[serial].last_report_watts),
        shown_when_retired=False,
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
        value_fn=lambda data, serial: data.inverters[serial].max_report_watts,
    ),
    EnvoyInverterSensorDescription(
        key="last_report",
        translation_key="last_report",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data, serial: data.inverters[serial].last_report_date,
    ),
    # Estimated from the reports (see model/panels.py): accepted by the Energy dashboard as solar
    # production, panel by panel.
    EnvoyInverterSensorDescription(
        key="energy_today",
        # Its own name's translation: it tells, on the panel's first day, since when it counts.
        translation_key="panel_energy_today",
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda data, serial: _panel_energy(data, serial, today=True),
        attributes_fn=lambda data, serial: (
            None if (since := counted_since(data, serial)) is None else {"counted_since": since}
        ),
        paced=True,
    ),
    # Disabled by default: energy today's total_increasing already feeds the panel's long-term
    # statistics, and each enabled one costs a database row per write and statistics rows.
    EnvoyInverterSensorDescription(
        key="lifetime_energy",
        translation_key="lifetime_energy",
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_registry_enabled_default=False,
        value_fn=lambda data, serial: _panel_energy(data, serial, today=False),
        paced=True,
    ),
    # Yesterday's share of the site's output as a percentage of the panel's normal (the last
    # day bright enough to judge: model/output.py). Disabled by default, for those who chart it.
    EnvoyInverterSensorDescription(
        key="relative_output",
        translation_key="relative_output",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        entity_registry_enabled_default=False,
        value_fn=lambda data, serial: (
            None if (output := data.outputs.get(serial)) is None else output.relative()
        ),
        paced=True,
    ),
)


def _panel_energy(data: Snapshot, serial: str, *, today: bool) -> float | None:
    """Return an inverter's estimated energy (Wh), None before its first report was seen."""
    if (panel := data.panels.get(serial)) is None:
        return None
    return round(panel.today() if today else panel.lifetime, 1)


def counted_since(data: Snapshot, serial: str) -> datetime | None:
    """Return when a panel's energy started counting, on its first day only (None after).

    A panel's first "energy today" counts from the first report seen (the setup), not from
    midnight: less than the site's, which the Envoy counts from midnight.
    """
    panel = data.panels.get(serial)
    if panel is None or panel.since is None or panel.first_day != panel.day:
        return None
    return dt_util.utc_from_timestamp(panel.since)


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
    async_add_inverter_entities(
        entry,
        async_add_entities,
        lambda serial: (
            EnvoyInverterSensor(coordinator, description, serial)
            for description in INVERTER_SENSORS
        ),
    )
    added: set[str] = set()

    @callback
    def add_metered() -> None:
        # A metered Envoy's sensors, each once the Envoy has what it shows (sensor_metered.py).
        new = [
            description
            for description in METERED_SENSORS
            if description.key not in added and description.exists_fn(coordinator.data)
        ]
        if new:
            added.update(description.key for description in new)
            async_add_entities(EnvoyMeteredSensor(coordinator, d) for d in new)

    add_metered()
    entry.async_on_unload(coordinator.async_add_listener(add_metered))


class NativeValueShown(SensorEntity):
    """A sensor whose state is written when its native value changes (cheaper to get)."""

    def _shown_value(self) -> object:
        """Return the value shown: the native value, not the formatted state."""
        return self.native_value


class EnvoyProductionSensor(NativeValueShown, EnvoyLegacyEntity):
    """A site total, as the energy guard lets it through."""

    entity_description: EnvoyProductionSensorDescription

    @property
    def available(self) -> bool:
        """Return True while there is a trustworthy value to show."""
        return super().available and self.native_value is not None

    @property
    def native_value(self) -> int | None:
        """Return the value from the last reading."""
        return self.entity_description.value_fn(self.coordinator.data)


class EnvoyMeteredSensor(NativeValueShown, EnvoyLegacyEntity):
    """A metered Envoy's value, while the Envoy has it."""

    entity_description: EnvoyMeteredSensorDescription

    @property
    def available(self) -> bool:
        """Return True while the Envoy has this value and it is trustworthy."""
        return (
            super().available
            and self.entity_description.exists_fn(self.coordinator.data)
            and self.native_value is not None
        )

    @property
    def native_value(self) -> StateType:
        """Return the value from the last reading."""
        return self.entity_description.value_fn(self.coordinator.data)


class EnvoyInverterSensor(NativeValueShown, EnvoyLegacyInverterEntity):
    """A value from one microinverter's last report."""

    entity_description: EnvoyInverterSensorDescription

    def __init__(
        self,
        coordinator: EnvoyLegacyCoordinator,
        description: EnvoyInverterSensorDescription,
        inverter_serial: str,
    ) -> None:
        """Initialize the sensor; some values still mean something once it retired."""
        super().__init__(coordinator, description, inverter_serial)
        self.shown_when_retired = description.shown_when_retired
        self.paced = description.paced

    def _shown_value(self) -> object:
        """Return what is shown: the native value, and its attributes when it can have any."""
        if self.entity_description.attributes_fn is None:
            return self.native_value
        return (self.native_value, self.extra_state_attributes)

    @property
    def native_value(self) -> float | int | datetime | None:
        """Return the value from the inverter's last report, or derived from its reports.

        Only read while the entity is available, that is while the Envoy lists the inverter.
        """
        return self.entity_description.value_fn(self.coordinator.data, self.inverter_serial)

    @property
    def extra_state_attributes(self) -> dict[str, datetime] | None:
        """Return the sensor's attributes (a panel's first energy today: since when it counts)."""
        if (attributes_fn := self.entity_description.attributes_fn) is None:
            return None
        return attributes_fn(self.coordinator.data, self.inverter_serial)
