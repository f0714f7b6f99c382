"""Typed data returned by the Envoy client."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

# ASCII digits, at most nine per part: int() refuses very long digit strings (ValueError),
# and no version part of a real firmware comes close.
_VERSION = re.compile(r"[A-Za-z]*([0-9]{1,9}(?:\.[0-9]{1,9})*)(?![0-9])")

# Firmware 7.0 moved the Envoy to token (JWT) authentication over HTTPS.
TOKEN_FIRMWARE_MAJOR = 7


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvoyInfo:
    """What ``/info.xml`` says about the Envoy.

    ``imeter``: True on an Envoy-S that can carry CTs, False on one that cannot, None when
    ``<imeter>`` is absent (or the identity was stored before it was kept).
    """

    serial: str
    firmware: str
    part_number: str | None
    web_tokens: bool
    imeter: bool | None = None

    @property
    def firmware_version(self) -> tuple[int, ...]:
        """Return the numeric firmware version: ``D5.0.62`` -> ``(5, 0, 62)``."""
        if (match := _VERSION.match(self.firmware.strip())) is None:
            return ()
        return tuple(int(part) for part in match.group(1).split("."))

    @property
    def uses_tokens(self) -> bool:
        """Return True when the firmware wants token (JWT) auth: 7.0 and later."""
        version = self.firmware_version
        return self.web_tokens or (bool(version) and version[0] >= TOKEN_FIRMWARE_MAJOR)


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvoyProduction:
    """Site totals from ``/api/v1/production``."""

    watts_now: int
    watt_hours_today: int
    watt_hours_seven_days: int
    watt_hours_lifetime: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvoyInverter:
    """One microinverter record from ``/api/v1/production/inverters``."""

    serial_number: str
    last_report_date: datetime
    last_report_watts: int
    max_report_watts: int
    dev_type: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvoyData:
    """One complete reading: the site totals and every inverter by serial."""

    production: EnvoyProduction
    inverters: dict[str, EnvoyInverter]


# --- Metered Envoy-S: /production.json, /ivp/meters, /ivp/meters/readings -------------------

PRODUCTION: Final = "production"
TOTAL_CONSUMPTION: Final = "total-consumption"
NET_CONSUMPTION: Final = "net-consumption"
MEASUREMENT_TYPES: Final = (PRODUCTION, TOTAL_CONSUMPTION, NET_CONSUMPTION)


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvoyPhaseReading:
    """One phase of a meter entry of ``/production.json`` (its ``lines[]``)."""

    watts_now: int
    watt_hours_lifetime: int | None
    watt_hours_today: int | None
    rms_voltage: float | None
    rms_current: float | None
    power_factor: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvoyMeterEntry:
    """An active entry of ``/production.json``: the inverters' sum, or a CT's (``eim``).

    ``measurement_type`` is the entry's own, or the one it was told apart as when the
    firmware leaves it out (None for the inverters' entry). Energies are Wh, power is W.
    """

    kind: str
    measurement_type: str | None
    active_count: int
    reading_time: datetime | None
    watts_now: int
    watt_hours_lifetime: int
    watt_hours_today: int | None
    watt_hours_last_seven_days: int | None
    rms_voltage: float | None
    rms_current: float | None
    power_factor: float | None
    lines: tuple[EnvoyPhaseReading, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvoyBattery:
    """An AC Battery entry of ``/production.json`` (``storage[]``, ``type`` ``acb``)."""

    active_count: int
    reading_time: datetime | None
    watts_now: int
    watt_hours_now: int
    percent_full: int | None
    state: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvoyMeteredProduction:
    """What ``/production.json`` says, without the entries of CTs that are not installed.

    An entry with ``activeCount`` 0 is a CT that is not there (its numbers mean nothing):
    it is left out, so each field is None unless that CT measures. ``battery`` is the AC
    Batteries' entry when at least one is installed. ``skipped`` counts malformed entries
    left out.
    """

    inverters: EnvoyMeterEntry | None
    production: EnvoyMeterEntry | None
    total_consumption: EnvoyMeterEntry | None
    net_consumption: EnvoyMeterEntry | None
    battery: EnvoyBattery | None
    skipped: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvoyMeter:
    """One CT meter's configuration from ``/ivp/meters``."""

    eid: int
    enabled: bool
    measurement_type: str
    phase_mode: str | None
    phase_count: int | None
    metering_status: str | None
    status_flags: tuple[str, ...]

    @property
    def metering(self) -> bool:
        """Return True when the meter is enabled and its status is ``normal``."""
        return self.enabled and self.metering_status in (None, "normal")


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvoyMeterReading:
    """One meter's (or one phase's) reading from ``/ivp/meters/readings``.

    ``energy_delivered`` (``actEnergyDlvd``) is the import on a net-consumption meter and
    the production on a production meter; ``energy_received`` (``actEnergyRcvd``) the
    export on a net-consumption meter. Energies in Wh, power in W.
    """

    eid: int
    timestamp: datetime | None
    active_power: int
    energy_delivered: int
    energy_received: int
    voltage: float | None
    current: float | None
    power_factor: float | None
    frequency: float | None
    channels: tuple[EnvoyMeterReading, ...] = ()
