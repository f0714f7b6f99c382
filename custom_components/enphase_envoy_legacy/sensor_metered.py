"""The sensors of a metered Envoy-S (issue #14), on the Envoy's device.

Each description says when its sensor exists (``exists_fn``): only while the Envoy has what
it shows, a CT that is there and metering. A sensor is created the first time it exists (at
setup, or when a CT starts metering), and is unavailable while it does not.

- Consumption, Grid and Production CT: power, and lifetime counters through their guards
  (model/counters.py);
- per phase (L1 to L3) of each CT: power, voltage, current, power factor, frequency,
  disabled by default; a phase that reads all zeros creates nothing;
- meter health (diagnostic): each enabled meter's metering status and status flags;
- an AC Battery, where production.json lists one with its state of charge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
)
from homeassistant.helpers.typing import StateType

from .envoy_client import NET_CONSUMPTION, PRODUCTION, TOTAL_CONSUMPTION, EnvoyBattery, EnvoyMeter
from .model import (
    CONSUMPTION,
    EXPORTED,
    IMPORTED,
    PHASES,
    PRODUCTION_CT,
    STATUSES,
    GuardedCounter,
    Phase,
    Snapshot,
)

BATTERY_STATES = ["idle", "charging", "discharging", "full"]
# Each CT by the name its sensors carry.
PREFIXES = {PRODUCTION: "production_ct", NET_CONSUMPTION: "grid", TOTAL_CONSUMPTION: "consumption"}


@dataclass(frozen=True, kw_only=True)
class EnvoyMeteredSensorDescription(SensorEntityDescription):
    """Describes a metered Envoy's sensor: its value, and whether the Envoy has it."""

    value_fn: Callable[[Snapshot], StateType]
    exists_fn: Callable[[Snapshot], bool]


def _counter(data: Snapshot, name: str) -> GuardedCounter | None:
    return data.counters.get(name)


def _counted(name: str) -> Callable[[Snapshot], bool]:
    return lambda data: name in data.counters


def _energy(key: str, name: str, field: str) -> EnvoyMeteredSensorDescription:
    """Return a guarded energy sensor (``field``: today or lifetime, total_increasing)."""
    return EnvoyMeteredSensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2 if field == "today" else 3,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda data: getattr(_counter(data, name), field, None),
        exists_fn=_counted(name),
    )


def _power(
    key: str,
    exists: Callable[[Snapshot], bool],
    value: Callable[[Snapshot], StateType],
) -> EnvoyMeteredSensorDescription:
    return EnvoyMeteredSensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=UnitOfPower.WATT,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=value,
        exists_fn=exists,
    )


def _net_power(data: Snapshot) -> int | None:
    """Return the grid's power (import positive), while the import counter is believed."""
    imported = data.counters.get(IMPORTED)
    if data.metered is None or imported is None or imported.watts_now is None:
        return None
    net = data.metered.measured(NET_CONSUMPTION)
    return net.watts if net is not None else None


COUNTER_SENSORS: tuple[EnvoyMeteredSensorDescription, ...] = (
    _power(
        "consumption_power",
        _counted(CONSUMPTION),
        lambda data: getattr(_counter(data, CONSUMPTION), "watts_now", None),
    ),
    _energy("consumption_energy_today", CONSUMPTION, "today"),
    _energy("consumption_lifetime_energy", CONSUMPTION, "lifetime"),
    _power("grid_power", _counted(IMPORTED), _net_power),
    _energy("grid_energy_imported", IMPORTED, "lifetime"),
    _energy("grid_energy_exported", EXPORTED, "lifetime"),
    _power(
        "production_ct_power",
        _counted(PRODUCTION_CT),
        lambda data: getattr(_counter(data, PRODUCTION_CT), "watts_now", None),
    ),
    _energy("production_ct_lifetime_energy", PRODUCTION_CT, "lifetime"),
)


def _phase(data: Snapshot, kind: str, index: int) -> Phase | None:
    """Return a CT's phase (0: L1) while it measures, None when it has no such phase."""
    measured = data.metered.measured(kind) if data.metered is not None else None
    if measured is None or index >= len(measured.phases):
        return None
    return measured.phases[index]


# What each phase sensor shows: (key, unit, device class, field of Phase).
PHASE_VALUES: tuple[tuple[str, str | None, SensorDeviceClass, str], ...] = (
    ("power", UnitOfPower.WATT, SensorDeviceClass.POWER, "power"),
    ("voltage", UnitOfElectricPotential.VOLT, SensorDeviceClass.VOLTAGE, "voltage"),
    ("current", UnitOfElectricCurrent.AMPERE, SensorDeviceClass.CURRENT, "current"),
    ("power_factor", None, SensorDeviceClass.POWER_FACTOR, "power_factor"),
    ("frequency", UnitOfFrequency.HERTZ, SensorDeviceClass.FREQUENCY, "frequency"),
)


def _phase_sensor(
    kind: str, index: int, value: tuple[str, str | None, SensorDeviceClass, str]
) -> EnvoyMeteredSensorDescription:
    name, unit, device_class, field = value
    prefix = PREFIXES[kind]

    def exists(data: Snapshot) -> bool:
        phase = _phase(data, kind, index)
        return phase is not None and phase.used and getattr(phase, field) is not None

    return EnvoyMeteredSensorDescription(
        key=f"{prefix}_l{index + 1}_{name}",
        translation_key=f"{prefix}_phase_{name}",
        translation_placeholders={"phase": f"L{index + 1}"},
        native_unit_of_measurement=unit,
        device_class=device_class,
        state_class=SensorStateClass.MEASUREMENT,
        entity_registry_enabled_default=False,
        value_fn=lambda data: getattr(_phase(data, kind, index), field, None),
        exists_fn=exists,
    )


PHASE_SENSORS: tuple[EnvoyMeteredSensorDescription, ...] = tuple(
    _phase_sensor(kind, index, value)
    for kind in PREFIXES
    for index in range(PHASES)
    for value in PHASE_VALUES
)


def _meter(data: Snapshot, kind: str) -> EnvoyMeter | None:
    """Return an enabled meter's configuration (None: not configured, or disabled)."""
    meter = data.metered.setup.meter(kind) if data.metered is not None else None
    return meter if meter is not None and meter.enabled else None


def _status(data: Snapshot, kind: str) -> str | None:
    meter = _meter(data, kind)
    status = (meter.metering_status or "").replace("-", "_") if meter is not None else None
    return status if status in STATUSES else None


def _flags(data: Snapshot, kind: str) -> str:
    meter = _meter(data, kind)
    return ", ".join(meter.status_flags if meter is not None else ()) or "none"


def _health_sensors(kind: str) -> tuple[EnvoyMeteredSensorDescription, ...]:
    prefix = PREFIXES[kind]
    return (
        EnvoyMeteredSensorDescription(
            key=f"{prefix}_meter_status",
            translation_key=f"{prefix}_meter_status",
            device_class=SensorDeviceClass.ENUM,
            options=list(STATUSES),
            entity_category=EntityCategory.DIAGNOSTIC,
            value_fn=lambda data: _status(data, kind),
            exists_fn=lambda data: _meter(data, kind) is not None,
        ),
        EnvoyMeteredSensorDescription(
            key=f"{prefix}_meter_flags",
            translation_key=f"{prefix}_meter_flags",
            entity_category=EntityCategory.DIAGNOSTIC,
            value_fn=lambda data: _flags(data, kind),
            exists_fn=lambda data: _meter(data, kind) is not None,
        ),
    )


HEALTH_SENSORS: tuple[EnvoyMeteredSensorDescription, ...] = tuple(
    description for kind in PREFIXES for description in _health_sensors(kind)
)


def _battery(data: Snapshot) -> EnvoyBattery | None:
    """Return the AC Batteries' entry while it gives a state of charge."""
    answer = data.metered.production_json if data.metered is not None else None
    battery = answer.battery if answer is not None else None
    return battery if battery is not None and battery.percent_full is not None else None


def _has_battery(data: Snapshot) -> bool:
    return _battery(data) is not None


def _battery_state(data: Snapshot) -> str | None:
    state = getattr(_battery(data), "state", None)
    return state if state in BATTERY_STATES else None


BATTERY_SENSORS: tuple[EnvoyMeteredSensorDescription, ...] = (
    EnvoyMeteredSensorDescription(
        key="battery_level",
        translation_key="battery_level",
        native_unit_of_measurement=PERCENTAGE,
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: getattr(_battery(data), "percent_full", None),
        exists_fn=_has_battery,
    ),
    _power("battery_power", _has_battery, lambda data: getattr(_battery(data), "watts_now", None)),
    EnvoyMeteredSensorDescription(
        key="battery_state",
        translation_key="battery_state",
        device_class=SensorDeviceClass.ENUM,
        options=BATTERY_STATES,
        value_fn=_battery_state,
        exists_fn=_has_battery,
    ),
)

METERED_SENSORS: tuple[EnvoyMeteredSensorDescription, ...] = (
    *COUNTER_SENSORS,
    *PHASE_SENSORS,
    *HEALTH_SENSORS,
    *BATTERY_SENSORS,
)
