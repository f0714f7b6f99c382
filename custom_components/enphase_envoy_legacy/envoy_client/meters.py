"""The CT meters of a metered Envoy-S: ``/ivp/meters`` and ``/ivp/meters/readings``.

Firmware without meters answers these endpoints with 401 or 404 (handled by the client),
an HTML page or ``[]``: each parser returns an empty result for those, never an error. A
malformed meter record is left out and the others kept; a list of nothing but malformed
records raises EnvoyBadDataError (it would otherwise pass for an Envoy without meters).
"""

from __future__ import annotations

from typing import Final

from .models import MEASUREMENT_TYPES, EnvoyMeter, EnvoyMeterReading
from .numbers import measure, whole
from .values import (
    FREQUENCY_MAX,
    electrical,
    every_record_bad,
    moment,
    optional_json,
    records_of,
    word,
)

PATH_METERS: Final = "/ivp/meters"
PATH_METER_READINGS: Final = "/ivp/meters/readings"

# Split phase has two, three phase three: anything else is no phase count.
_PHASE_COUNTS: Final = range(1, 4)


def _parse_meter(record: object) -> EnvoyMeter | None:
    """Return a meter's configuration, or None when the record is malformed."""
    if not isinstance(record, dict):
        return None
    eid = whole(record.get("eid"), minimum=0)
    kind = record.get("measurementType")
    state = word(record.get("state"))
    if eid is None or state is None or not isinstance(kind, str) or kind not in MEASUREMENT_TYPES:
        return None
    phases = whole(record.get("phaseCount"))
    flags = record.get("statusFlags")
    return EnvoyMeter(
        eid=eid,
        enabled=state == "enabled",
        measurement_type=kind,
        phase_mode=word(record.get("phaseMode")),
        phase_count=phases if phases in _PHASE_COUNTS else None,
        metering_status=word(record.get("meteringStatus")),
        status_flags=tuple(
            flag for flag in map(word, flags if isinstance(flags, list) else []) if flag
        ),
    )


def parse_meters(body: bytes) -> tuple[EnvoyMeter, ...] | None:
    """Parse ``/ivp/meters``: every meter's configuration (empty: ``[]``, the Envoy has none).

    None for an HTML page: firmware without meters answers one, and so may a glitch.
    A meter listed twice (by ``eid``) is kept once, as first listed.
    """
    payload = optional_json(body, PATH_METERS)
    if payload is None:
        return None
    records = records_of(payload, PATH_METERS)
    meters: dict[int, EnvoyMeter] = {}
    skipped = 0
    for record in records:
        if (meter := _parse_meter(record)) is None:
            skipped += 1
        else:
            meters.setdefault(meter.eid, meter)
    if skipped and not meters:
        raise every_record_bad(PATH_METERS, skipped)
    return tuple(meters.values())


def _parse_reading(record: object, *, nested: bool) -> EnvoyMeterReading | None:
    """Return a meter's (or, nested, a phase's) reading, or None when it is malformed.

    A phase that is malformed leaves the meter without phases (their order is their
    meaning), not without its reading.
    """
    if not isinstance(record, dict):
        return None
    eid = whole(record.get("eid"), minimum=0)
    power = whole(record.get("activePower"))
    delivered = whole(record.get("actEnergyDlvd"), minimum=0)
    received = whole(record.get("actEnergyRcvd"), minimum=0)
    if eid is None or power is None or delivered is None or received is None:
        return None
    channels: tuple[EnvoyMeterReading, ...] = ()
    raw = record.get("channels")
    if not nested and isinstance(raw, list):
        phases = [_parse_reading(channel, nested=True) for channel in raw]
        channels = tuple(phase for phase in phases if phase is not None)
        if len(channels) != len(phases):
            channels = ()
    voltage, current, factor = electrical(record, "voltage", "current", "pwrFactor")
    return EnvoyMeterReading(
        eid=eid,
        timestamp=moment(record.get("timestamp")),
        active_power=power,
        energy_delivered=delivered,
        energy_received=received,
        voltage=voltage,
        current=current,
        power_factor=factor,
        frequency=measure(record.get("freq"), 0.0, FREQUENCY_MAX),
        channels=channels,
    )


def parse_meter_readings(body: bytes) -> dict[int, EnvoyMeterReading] | None:
    """Parse ``/ivp/meters/readings`` into readings by meter ``eid`` (empty: ``[]``).

    None for an HTML page, as :func:`parse_meters`. Match them to the meters of
    :func:`parse_meters` by ``eid``. A meter listed twice keeps its first reading.
    """
    payload = optional_json(body, PATH_METER_READINGS)
    if payload is None:
        return None
    records = records_of(payload, PATH_METER_READINGS)
    readings: dict[int, EnvoyMeterReading] = {}
    skipped = 0
    for record in records:
        if (reading := _parse_reading(record, nested=False)) is None:
            skipped += 1
        else:
            readings.setdefault(reading.eid, reading)
    if skipped and not readings:
        raise every_record_bad(PATH_METER_READINGS, skipped)
    return readings
