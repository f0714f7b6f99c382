"""What a metered Envoy-S measures: its CT meters, and one poll's reading of them.

``MeterSetup`` is the meters' configuration (``/ivp/meters``) as detection found it.
``MeteredReading`` is one poll's answers (``/production.json`` and, where a net meter exists,
``/ivp/meters/readings``) and tells what each CT measures: a CT is measured only while it
is there and metering. Where both endpoints give a CT, the readings serve (its export
counter exists only there, and they are read every minute).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

from ..envoy_client import (
    MEASUREMENT_TYPES,
    NET_CONSUMPTION,
    PRODUCTION,
    TOTAL_CONSUMPTION,
    EnvoyMeter,
    EnvoyMeteredProduction,
    EnvoyMeterEntry,
    EnvoyMeterReading,
    EnvoyProduction,
)
from .stored import Malformed, flag, items, mapping, optional_text, text

# The phases a meter can have (L1 to L3).
PHASES: Final = 3
# The statuses a meter reports in /ivp/meters, as entity states (snake case).
STATUSES: Final = ("normal", "not_metering", "check_wiring")
FAULTS: Final = frozenset({"not-metering", "check-wiring"})


@dataclass(frozen=True, kw_only=True)
class MeterSetup:
    """The meters' configuration, as detection found it."""

    meters: tuple[EnvoyMeter, ...] = ()

    @property
    def has_net_meter(self) -> bool:
        """Return True when a net-consumption meter is configured (its readings are read)."""
        return self.meter(NET_CONSUMPTION) is not None

    def meter(self, kind: str) -> EnvoyMeter | None:
        """Return the meter of a measurement type, if one is configured (the first listed)."""
        return self._by_type.get(kind)

    @cached_property
    def _by_type(self) -> dict[str, EnvoyMeter]:
        """Each measurement type's first meter, worked out once (entities ask at every poll)."""
        by_type: dict[str, EnvoyMeter] = {}
        for meter in self.meters:
            by_type.setdefault(meter.measurement_type, meter)
        return by_type

    def faults(self) -> dict[str, str]:
        """Return the status of each enabled meter that reports a fault, by measurement type."""
        return {
            meter.measurement_type: meter.metering_status
            for meter in self.meters
            if meter.enabled and meter.metering_status in FAULTS
        }

    def as_dict(self) -> dict[str, Any]:
        """Return the setup for storage."""
        return {
            "meters": [
                {
                    "eid": m.eid,
                    "enabled": m.enabled,
                    "measurement_type": m.measurement_type,
                    "phase_mode": m.phase_mode,
                    "phase_count": m.phase_count,
                    "metering_status": m.metering_status,
                    "status_flags": list(m.status_flags),
                }
                for m in self.meters
            ],
        }

    @classmethod
    def from_dict(cls, data: object) -> MeterSetup:
        """Rebuild a stored setup."""
        return cls(
            meters=tuple(_meter(mapping(item)) for item in items(mapping(data).get("meters")))
        )


def _meter(item: Mapping[str, Any]) -> EnvoyMeter:
    """Return a stored meter."""
    kind = text(item.get("measurement_type"))
    phases = item.get("phase_count")
    if kind not in MEASUREMENT_TYPES or not (phases is None or type(phases) is int):
        raise Malformed(item)
    return EnvoyMeter(
        eid=_eid(item.get("eid")),
        enabled=flag(item.get("enabled")),
        measurement_type=kind,
        phase_mode=optional_text(item.get("phase_mode")),
        phase_count=phases,
        metering_status=optional_text(item.get("metering_status")),
        status_flags=tuple(text(flag_) for flag_ in items(item.get("status_flags"))),
    )


def _eid(value: object) -> int:
    """Return a stored meter id (any int: meter ids are the Envoy's own)."""
    if type(value) is not int:
        raise Malformed(value)
    return value


@dataclass(frozen=True, kw_only=True)
class Phase:
    """One phase of a meter: from the readings' ``channels`` or production.json's ``lines``."""

    power: int
    voltage: float | None
    current: float | None
    power_factor: float | None
    frequency: float | None

    @property
    def used(self) -> bool:
        """Return False for a phase that reads all zeros (not wired)."""
        return any((self.power, self.voltage, self.current))


@dataclass(frozen=True, kw_only=True)
class Measured:
    """What one CT measures now: power, its lifetime counter(s), and its phases."""

    watts: int
    lifetime: int  # Wh delivered (import on the net meter)
    received: int | None = None  # Wh received (export on the net meter; readings only)
    today: int | None = None
    seven_days: int | None = None
    phases: tuple[Phase, ...] = ()
    # The figures come from production.json's entry (not from the readings).
    from_entry: bool = False


@dataclass(frozen=True, kw_only=True)
class MeteredReading:
    """One poll's answers of the meter endpoints, with the configuration in force."""

    production_json: EnvoyMeteredProduction | None
    readings: Mapping[int, EnvoyMeterReading] = field(default_factory=dict)
    setup: MeterSetup = field(default_factory=MeterSetup)
    # production.json was read at this poll (False: it is the one read at an earlier poll).
    entries_fresh: bool = True

    @property
    def measures(self) -> bool:
        """Return True when at least one CT measures now."""
        return any(self.measured(kind) is not None for kind in MEASUREMENT_TYPES)

    def entry(self, kind: str) -> EnvoyMeterEntry | None:
        """Return production.json's active entry of a measurement type."""
        answer = self.production_json
        if answer is None:
            return None
        return {
            PRODUCTION: answer.production,
            TOTAL_CONSUMPTION: answer.total_consumption,
            NET_CONSUMPTION: answer.net_consumption,
        }[kind]

    @cached_property
    def _measured(self) -> dict[str, Measured | None]:
        """What each CT measures, worked out once per reading (entities ask many times)."""
        return {}

    def measured(self, kind: str) -> Measured | None:
        """Return what the CT of a measurement type measures, None when it is not metering."""
        known = self._measured
        if kind not in known:
            known[kind] = self._measure(kind)
        return known[kind]

    def _measure(self, kind: str) -> Measured | None:
        """Work out what the CT of a measurement type measures (see measured)."""
        meter = self.setup.meter(kind)
        if meter is not None and not meter.metering:
            return None
        entry = self.entry(kind)
        reading = self.readings.get(meter.eid) if meter is not None else None
        if reading is not None:
            return Measured(
                watts=reading.active_power,
                lifetime=reading.energy_delivered,
                received=reading.energy_received,
                today=self._today(entry),
                seven_days=entry.watt_hours_last_seven_days if entry is not None else None,
                phases=tuple(
                    Phase(
                        power=c.active_power,
                        voltage=c.voltage,
                        current=c.current,
                        power_factor=c.power_factor,
                        frequency=c.frequency,
                    )
                    for c in reading.channels
                ),
            )
        if entry is None:
            return None
        return Measured(
            watts=entry.watts_now,
            lifetime=entry.watt_hours_lifetime,
            today=self._today(entry),
            seven_days=entry.watt_hours_last_seven_days,
            phases=tuple(
                Phase(
                    power=line.watts_now,
                    voltage=line.rms_voltage,
                    current=line.rms_current,
                    power_factor=line.power_factor,
                    frequency=None,
                )
                for line in entry.lines
            ),
            from_entry=True,
        )

    def consumption(self) -> Measured | None:
        """Return the house's consumption: the total CT's, or the net one's plus production.

        Derived, its lifetime is production + import - export, so it needs the net meter's
        export counter (the readings endpoint). Where the readings give both CTs, the
        derived one is preferred to production.json's total-consumption entry (which the
        Envoy derives the same way): the readings are read every minute, production.json
        only with the inverters. Its today and last seven days are the entry's.
        """
        total = self.measured(TOTAL_CONSUMPTION)
        if total is not None and not total.from_entry:
            return total
        net, production = self.measured(NET_CONSUMPTION), self.measured(PRODUCTION)
        if net is None or production is None or net.received is None or production.from_entry:
            return total
        entry = self.entry(TOTAL_CONSUMPTION)
        return Measured(
            watts=net.watts + production.watts,
            lifetime=max(production.lifetime + net.lifetime - net.received, 0),
            today=self._today(entry),
            seven_days=entry.watt_hours_last_seven_days if entry is not None else None,
        )

    def _today(self, entry: EnvoyMeterEntry | None) -> int | None:
        """Return an entry's energy today, when production.json was read at this poll.

        The guard takes it only to start a day it did not follow from midnight: an old
        answer's figure may be yesterday's.
        """
        return entry.watt_hours_today if entry is not None and self.entries_fresh else None

    def site_production(self) -> EnvoyProduction | None:
        """Return the production CT's figures as the site totals (None: no CT measures).

        On a metered Envoy ``/api/v1/production`` reports these same figures: reading them
        here spares that request. Power and lifetime come from the readings where they
        answer (read each minute), energy today and the last seven days from production.json.
        """
        entry = self.entry(PRODUCTION)
        measured = self.measured(PRODUCTION)
        if entry is None or measured is None:
            return None
        return EnvoyProduction(
            watts_now=measured.watts,
            watt_hours_today=self._today(entry) or 0,
            watt_hours_seven_days=entry.watt_hours_last_seven_days or 0,
            watt_hours_lifetime=measured.lifetime,
        )
