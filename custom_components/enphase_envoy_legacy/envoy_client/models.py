"""Typed data returned by the Envoy client."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

# ASCII digits, at most nine per part: int() refuses very long digit strings (ValueError),
# and no version part of a real firmware comes close.
_VERSION = re.compile(r"[A-Za-z]*([0-9]{1,9}(?:\.[0-9]{1,9})*)(?![0-9])")

# Firmware 7.0 moved the Envoy to token (JWT) authentication over HTTPS.
TOKEN_FIRMWARE_MAJOR = 7


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvoyInfo:
    """What ``/info.xml`` says about the Envoy."""

    serial: str
    firmware: str
    part_number: str | None
    web_tokens: bool

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
