"""``/production.json`` of a metered Envoy-S: the inverters, the CTs, the AC Batteries.

``production[]`` holds the inverters' entry (``type`` ``inverters``) and the production CT's
(``eim``), ``consumption[]`` the consumption CTs' (``total-consumption`` and
``net-consumption``), ``storage[]`` the AC Batteries' (``acb``). A CT entry with
``activeCount`` 0 is a CT that is not installed, whatever numbers it carries (D4.2.27 says
5.8 kW on one): it is left out. Firmware that omits ``measurementType`` (M4.2.33) has its
entries told apart by place and by their power (net = total - production).

A required value (``activeCount``, ``wNow``, ``whLifetime``; ``whNow`` of a battery) that is
missing or malformed leaves its entry out; an optional one (today, seven days, voltage,
current, power factor, phases, state of charge) is only None then.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from .exceptions import EnvoyBadDataError
from .models import (
    NET_CONSUMPTION,
    PRODUCTION,
    TOTAL_CONSUMPTION,
    EnvoyBattery,
    EnvoyMeteredProduction,
    EnvoyMeterEntry,
    EnvoyPhaseReading,
)
from .numbers import whole
from .values import electrical, moment, optional_json, word

PATH_PRODUCTION_JSON: Final = "/production.json"
# With details=1, the CTs' entries carry one line per phase.
PATH_PRODUCTION_JSON_DETAILS: Final = "/production.json?details=1"

_MALFORMED: Final = object()
_ENTRY_KINDS: Final = ("inverters", "eim")
_PERCENT_MAX: Final = 100


def _lines(record: dict[str, object]) -> tuple[EnvoyPhaseReading, ...]:
    """Return an entry's phases; none when any is malformed (their order is their meaning)."""
    raw = record.get("lines")
    if not isinstance(raw, list):
        return ()
    lines = []
    for line in raw:
        watts = whole(line.get("wNow")) if isinstance(line, dict) else None
        if not isinstance(line, dict) or watts is None:
            return ()
        voltage, current, factor = electrical(line, "rmsVoltage", "rmsCurrent", "pwrFactor")
        lines.append(
            EnvoyPhaseReading(
                watts_now=watts,
                watt_hours_lifetime=whole(line.get("whLifetime"), minimum=0),
                watt_hours_today=whole(line.get("whToday"), minimum=0),
                rms_voltage=voltage,
                rms_current=current,
                power_factor=factor,
            )
        )
    return tuple(lines)


def _entry(record: object) -> EnvoyMeterEntry | object | None:
    """Return an inverters or eim entry (None: another kind; ``_MALFORMED``: a broken one)."""
    if not isinstance(record, dict) or not isinstance(kind := record.get("type"), str):
        return _MALFORMED
    if kind not in _ENTRY_KINDS:
        return None
    active = whole(record.get("activeCount"), minimum=0)
    watts = whole(record.get("wNow"))
    lifetime = whole(record.get("whLifetime"), minimum=0)
    measured = record.get("measurementType")
    if active is None or watts is None or lifetime is None:
        return _MALFORMED
    voltage, current, factor = electrical(record, "rmsVoltage", "rmsCurrent", "pwrFactor")
    return EnvoyMeterEntry(
        kind=kind,
        measurement_type=measured if isinstance(measured, str) else None,
        active_count=active,
        reading_time=moment(record.get("readingTime")),
        watts_now=watts,
        watt_hours_lifetime=lifetime,
        watt_hours_today=whole(record.get("whToday"), minimum=0),
        watt_hours_last_seven_days=whole(record.get("whLastSevenDays"), minimum=0),
        rms_voltage=voltage,
        rms_current=current,
        power_factor=factor,
        lines=_lines(record),
    )


def _battery(record: object) -> EnvoyBattery | object | None:
    """Return an AC Battery entry (None: another kind; ``_MALFORMED``: a broken one)."""
    if not isinstance(record, dict) or not isinstance(kind := record.get("type"), str):
        return _MALFORMED
    if kind != "acb":
        return None
    active = whole(record.get("activeCount"), minimum=0)
    watts = whole(record.get("wNow"))
    stored = whole(record.get("whNow"), minimum=0)
    if active is None or watts is None or stored is None:
        return _MALFORMED
    percent = whole(record.get("percentFull"), minimum=0)
    return EnvoyBattery(
        active_count=active,
        reading_time=moment(record.get("readingTime")),
        watts_now=watts,
        watt_hours_now=stored,
        percent_full=percent if percent is not None and percent <= _PERCENT_MAX else None,
        state=word(record.get("state")),
    )


def _section(payload: dict[str, object], name: str) -> list[object]:
    """Return a list of the answer (empty when absent), or raise EnvoyBadDataError."""
    section = payload.get(name, [])
    if not isinstance(section, list):
        raise EnvoyBadDataError(f"{PATH_PRODUCTION_JSON}: {name!r} is not a JSON list")
    return section


def _consumption(
    entries: list[EnvoyMeterEntry], production: EnvoyMeterEntry | None
) -> dict[str, EnvoyMeterEntry]:
    """Return the consumption entries by measurement type, telling unlabelled ones apart.

    Unlabelled entries take the types no entry names, in the order every firmware lists
    them (total, then net); two of them are swapped when their power says so: a net
    reading is the total one less production.
    """
    named = {entry.measurement_type for entry in entries}
    free = [kind for kind in (TOTAL_CONSUMPTION, NET_CONSUMPTION) if kind not in named]
    unnamed = [entry for entry in entries if entry.measurement_type is None]
    if len(unnamed) == 2 and production is not None and len(free) == 2:  # noqa: PLR2004
        first, second = unnamed
        as_listed = abs(first.watts_now - production.watts_now - second.watts_now)
        swapped = abs(second.watts_now - production.watts_now - first.watts_now)
        if swapped < as_listed:
            unnamed.reverse()
    found: dict[str, EnvoyMeterEntry] = {}
    for entry in entries:
        if entry.measurement_type is not None:
            found.setdefault(entry.measurement_type, entry)
    for entry, kind in zip(unnamed, free, strict=False):
        found.setdefault(kind, replace(entry, measurement_type=kind))
    return found


def _entries(sections: dict[str, list[object]]) -> tuple[dict[str, list[EnvoyMeterEntry]], int]:
    """Return the entries of production[] and consumption[] by kind, and the malformed count."""
    skipped = 0
    found: dict[str, list[EnvoyMeterEntry]] = {"inverters": [], PRODUCTION: [], "consumption": []}
    for section in ("production", "consumption"):
        for record in sections[section]:
            entry = _entry(record)
            if isinstance(entry, EnvoyMeterEntry):
                if entry.kind == "eim":
                    found[PRODUCTION if section == "production" else section].append(entry)
                elif section == "production":
                    found["inverters"].append(entry)
            elif entry is _MALFORMED:
                skipped += 1
    return found, skipped


def parse_production_json(body: bytes) -> EnvoyMeteredProduction | None:
    """Parse ``/production.json``; None when the Envoy has none (an HTML page)."""
    payload = optional_json(body, PATH_PRODUCTION_JSON)
    if payload is None:
        return None
    if not isinstance(payload, dict) or "production" not in payload:
        raise EnvoyBadDataError(f"{PATH_PRODUCTION_JSON} is not an object with 'production'")
    sections = {name: _section(payload, name) for name in ("production", "consumption", "storage")}
    found, skipped = _entries(sections)
    batteries = [_battery(record) for record in sections["storage"]]
    skipped += sum(1 for battery in batteries if battery is _MALFORMED)
    if (
        skipped
        and not any(found.values())
        and not any(isinstance(battery, EnvoyBattery) for battery in batteries)
    ):
        raise EnvoyBadDataError(f"{PATH_PRODUCTION_JSON}: every one of its entries is malformed")
    production = next(
        (
            entry
            for entry in found[PRODUCTION]
            if entry.active_count > 0 and entry.measurement_type in (None, PRODUCTION)
        ),
        None,
    )
    if production is not None and production.measurement_type is None:
        production = replace(production, measurement_type=PRODUCTION)
    consumption = _consumption(found["consumption"], production)
    return EnvoyMeteredProduction(
        inverters=next(iter(found["inverters"]), None),
        production=production,
        total_consumption=_active(consumption.get(TOTAL_CONSUMPTION)),
        net_consumption=_active(consumption.get(NET_CONSUMPTION)),
        battery=next(
            (b for b in batteries if isinstance(b, EnvoyBattery) and b.active_count > 0), None
        ),
        skipped=skipped,
    )


def _active(entry: EnvoyMeterEntry | None) -> EnvoyMeterEntry | None:
    """Return an entry whose CT is installed (``activeCount`` above 0), else None."""
    return entry if entry is not None and entry.active_count > 0 else None
