"""The repair issues the integration raises, and clears when their cause goes away.

- token firmware: the Envoy moved to firmware 7 or later, which this integration cannot read;
- Envoy replaced: another Envoy answers at the entry's address; its fix flow replaces the
  entry's Envoy with it (as Reconfigure does), so the history continues;
- silent inverter: a microinverter stopped reporting in daylight while the rest of the site
  reports;
- meter fault: a CT meter of a metered Envoy-S reports ``check-wiring`` or stopped metering;
- slowed Envoy: its microinverters have reported less often than every 15 minutes for a day
  (Enphase set it so, through its cloud; model/schedule.py judges it);
- underperforming panel: a panel's share of the site's output stayed clearly below its own
  normal for three bright days (model/output.py judges it).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import SUN_EVENT_SUNRISE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.sun import get_astral_event_date, is_up
from homeassistant.util import dt as dt_util

from .const import CONF_SERIAL, DOMAIN, SILENT_INVERTER_AFTER
from .devices import inverter_devices, move_to
from .envoy_client import MEASUREMENT_TYPES, EnvoyInverter
from .model import Snapshot, Underperformance


def token_firmware_issue_id(serial: str) -> str:
    """Return the id of the repair issue for an Envoy that moved to token firmware."""
    return f"{serial}_token_firmware"


def silent_inverter_issue_id(serial: str, inverter_serial: str) -> str:
    """Return the id of the repair issue for a microinverter that stopped reporting."""
    return f"{serial}_inverter_silent_{inverter_serial}"


def replaced_issue_id(serial: str) -> str:
    """Return the id of the repair issue for another Envoy answering at the entry's address."""
    return f"{serial}_replaced"


def meter_fault_issue_id(serial: str, measurement_type: str) -> str:
    """Return the id of the repair issue for a CT meter that reports a fault."""
    return f"{serial}_meter_{measurement_type}"


def slowed_issue_id(serial: str) -> str:
    """Return the id of the repair issue for an Envoy whose microinverters report slowly."""
    return f"{serial}_slowed"


def underperforming_issue_id(serial: str, inverter_serial: str) -> str:
    """Return the id of the repair issue for a panel that makes less than its normal."""
    return f"{serial}_panel_low_{inverter_serial}"


def raise_token_firmware(hass: HomeAssistant, serial: str, error: str) -> None:
    """Say that the Envoy moved to firmware that signs in with tokens."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        token_firmware_issue_id(serial),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="token_firmware",
        translation_placeholders={"serial": serial, "error": error},
    )


def clear_token_firmware(hass: HomeAssistant, serial: str) -> None:
    """Clear the token firmware issue: the Envoy answers on legacy firmware."""
    ir.async_delete_issue(hass, DOMAIN, token_firmware_issue_id(serial))


def remove_issues(hass: HomeAssistant, serial: str) -> None:
    """Remove every issue about an Envoy (its entry is deleted)."""
    prefix = f"{serial}_"
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.startswith(prefix):
            ir.async_delete_issue(hass, DOMAIN, issue_id)


class SilentInverters:
    """The repair issues of an Envoy's microinverters that stopped reporting."""

    def __init__(self, hass: HomeAssistant, serial: str) -> None:
        """Pick up the issues raised before (issues outlive a reload of the entry)."""
        self.hass = hass
        self.serial = serial
        prefix = silent_inverter_issue_id(serial, "")
        self.silent: set[str] = {
            issue_id.removeprefix(prefix)
            for domain, issue_id in ir.async_get(hass).issues
            if domain == DOMAIN and issue_id.startswith(prefix)
        }

    def forget(self, inverter_serial: str) -> None:
        """Clear an inverter's issue, if any."""
        self.silent.discard(inverter_serial)
        ir.async_delete_issue(
            self.hass, DOMAIN, silent_inverter_issue_id(self.serial, inverter_serial)
        )

    def _daylight_for_long_enough(self, now: datetime) -> bool:
        """Return True when the sun has been up for SILENT_INVERTER_AFTER at least."""
        if not is_up(self.hass, now):
            return False
        sunrise = get_astral_event_date(self.hass, SUN_EVENT_SUNRISE, dt_util.as_local(now).date())
        # No sunrise today while the sun is up: polar day.
        return sunrise is None or now - sunrise >= SILENT_INVERTER_AFTER

    def update(
        self, inverters: Mapping[str, EnvoyInverter], retired: AbstractSet[str], now: datetime
    ) -> None:
        """Raise an issue for each inverter silent in daylight; clear it when it reports.

        An inverter is silent when its last report is older than SILENT_INVERTER_AFTER while
        another inverter of the site reported within that time and the sun has been up at
        least that long: nightfall, an Envoy outage or a whole-site shutdown flags nothing.
        A retired inverter (``retired``, see model/census.py) raises nothing.
        """
        cutoff = now - SILENT_INVERTER_AFTER
        for serial in list(self.silent):
            inverter = inverters.get(serial)
            if inverter is None or inverter.last_report_date >= cutoff:
                self.forget(serial)
        # Most reads find none: the sun's position is worked out only when one is found.
        newly_silent = [
            (serial, inverter)
            for serial, inverter in inverters.items()
            if inverter.last_report_date < cutoff
            and serial not in self.silent
            and serial not in retired
        ]
        if (
            not newly_silent
            or not any(inverter.last_report_date >= cutoff for inverter in inverters.values())
            or not self._daylight_for_long_enough(now)
        ):
            return
        for serial, inverter in newly_silent:
            self.silent.add(serial)
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                silent_inverter_issue_id(self.serial, serial),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="inverter_silent",
                translation_placeholders={
                    "inverter": serial,
                    "envoy": self.serial,
                    "last_report": inverter.last_report_date.isoformat(),
                },
            )


class MeterFaults:
    """The repair issues of a metered Envoy's CT meters: raised on a fault, cleared after it."""

    def __init__(self, hass: HomeAssistant, serial: str) -> None:
        """Follow the meters of one Envoy."""
        self.hass = hass
        self.serial = serial

    def update(self, faults: Mapping[str, str]) -> None:
        """Raise an issue for each meter in fault ({measurement type: status}); clear the others."""
        for kind in MEASUREMENT_TYPES:
            issue_id = meter_fault_issue_id(self.serial, kind)
            if (status := faults.get(kind)) is None:
                ir.async_delete_issue(self.hass, DOMAIN, issue_id)
                continue
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="meter_fault",
                translation_placeholders={"meter": kind, "envoy": self.serial, "status": status},
            )


class SlowedEnvoy:
    """The repair issue of an Envoy whose microinverters report slowly: raised, then cleared."""

    def __init__(self, hass: HomeAssistant, serial: str) -> None:
        """Follow one Envoy (an issue raised before is picked up: issues outlive a reload)."""
        self.hass = hass
        self.serial = serial
        raised = ir.async_get(hass).async_get_issue(DOMAIN, slowed_issue_id(serial)) is not None
        # The interval shown in minutes (0: an issue raised before, its text not known here).
        self.shown: int | None = 0 if raised else None

    def update(self, slowed: float | None) -> None:
        """Raise the issue while the Envoy is slowed (``slowed``: its interval), else clear it."""
        minutes = None if slowed is None else round(slowed / 60)
        if minutes == self.shown:
            return
        self.shown = minutes
        issue_id = slowed_issue_id(self.serial)
        if minutes is None:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="envoy_slowed",
            translation_placeholders={"envoy": self.serial, "minutes": str(minutes)},
        )


class UnderperformingPanels:
    """The repair issues of an Envoy's panels that make less than their normal."""

    def __init__(self, hass: HomeAssistant, serial: str, entry_id: str) -> None:
        """Follow one Envoy's panels (the model keeps which underperform across restarts)."""
        self.hass = hass
        self.serial = serial
        self.entry_id = entry_id
        prefix = underperforming_issue_id(serial, "")
        # What each issue raised says; those raised before a reload are checked again.
        self.raised: dict[str, Underperformance | None] = {
            issue_id.removeprefix(prefix): None
            for domain, issue_id in ir.async_get(hass).issues
            if domain == DOMAIN and issue_id.startswith(prefix)
        }
        self._seen: Mapping[str, Underperformance] | None = None

    def update(self, found: Mapping[str, Underperformance]) -> None:
        """Raise an issue for each panel underperforming; clear those back at normal.

        The model gives a new mapping only when a day's judgement changed it: most polls
        cost one comparison.
        """
        if found is self._seen:
            return
        self._seen = found
        for inverter in self.raised.keys() - found.keys():
            del self.raised[inverter]
            ir.async_delete_issue(
                self.hass, DOMAIN, underperforming_issue_id(self.serial, inverter)
            )
        for inverter, underperformance in found.items():
            if self.raised.get(inverter) != underperformance:
                self.raised[inverter] = underperformance
                self._raise(inverter, underperformance)

    def _raise(self, inverter: str, underperformance: Underperformance) -> None:
        """Raise one panel's issue, naming its device and area as the user set them."""
        device_id = inverter_devices(self.hass, self.entry_id, self.serial).get(inverter)
        device = None if device_id is None else dr.async_get(self.hass).async_get(device_id)
        name = f"Inverter {inverter}"
        area = None
        if device is not None:
            name = device.name_by_user or device.name or name
            area_id = device.area_id
            area = None if area_id is None else ar.async_get(self.hass).async_get_area(area_id)
        placeholders = {
            "inverter": inverter,
            "envoy": self.serial,
            "name": name,
            "normal": f"{100 * underperformance.normal:.0f}",
            "recent": f"{100 * underperformance.recent:.0f}",
            "since": underperformance.since,
        }
        if area is not None:
            placeholders["area"] = area.name
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            underperforming_issue_id(self.serial, inverter),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=(
                "panel_underperforming" if area is not None else "panel_underperforming_no_area"
            ),
            translation_placeholders=placeholders,
        )


class Repairs:
    """Every repair issue of one Envoy, raised and cleared as its polls say."""

    def __init__(self, hass: HomeAssistant, serial: str, entry_id: str) -> None:
        """Follow the issues of one entry's Envoy (those raised before are picked up)."""
        self.hass = hass
        self.serial = serial
        self.silent_inverters = SilentInverters(hass, serial)
        self.meter_faults = MeterFaults(hass, serial)
        self.slowed = SlowedEnvoy(hass, serial)
        self.underperforming = UnderperformingPanels(hass, serial, entry_id)

    def token_firmware(self, error: str) -> None:
        """Say that the Envoy moved to token firmware."""
        raise_token_firmware(self.hass, self.serial, error)

    def replaced(self, entry_id: str, new: str) -> None:
        """Offer to replace the entry's Envoy with the one that answers at its address."""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            replaced_issue_id(self.serial),
            is_fixable=True,
            severity=ir.IssueSeverity.ERROR,
            translation_key="envoy_replaced",
            translation_placeholders={"old": self.serial, "new": new},
            data={"entry_id": entry_id, "serial": new},
        )

    def legacy_firmware(self) -> None:
        """Clear what the Envoy's answer disproves: token firmware, another Envoy."""
        clear_token_firmware(self.hass, self.serial)
        ir.async_delete_issue(self.hass, DOMAIN, replaced_issue_id(self.serial))

    def apply(self, snapshot: Snapshot, now: datetime) -> None:
        """Judge the inverters read, forget those gone for good, follow the meters' faults.

        And say whether the Envoy reports slowly, and which panels underperform.
        """
        if snapshot.inverters_read:
            self.silent_inverters.update(snapshot.inverters, snapshot.census.retired, now)
        for serial in snapshot.forgotten:
            self.silent_inverters.forget(serial)
        if snapshot.meter_faults is not None:
            self.meter_faults.update(snapshot.meter_faults)
        self.slowed.update(snapshot.slowed)
        self.underperforming.update(snapshot.underperforming)


class ReplaceEnvoyFlow(RepairsFlow):
    """Replace the entry's Envoy with the one found at its address (as Reconfigure does)."""

    def __init__(self, entry_id: str, new: str) -> None:
        """Fix the issue of one entry, for the Envoy with serial ``new``."""
        super().__init__()
        self.entry_id = entry_id
        self.new = new

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Show what the replacement does."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Replace on confirmation; the entry reloads with the new Envoy."""
        hass = self.hass
        entry = hass.config_entries.async_get_entry(self.entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        other = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, self.new)
        if other is not None and other.entry_id != entry.entry_id:
            return self.async_abort(
                reason="replacement_configured", description_placeholders={"found": self.new}
            )
        if user_input is not None:
            hass.config_entries.async_update_entry(entry, **replace_envoy(hass, entry, self.new))
            hass.config_entries.async_schedule_reload(entry.entry_id)
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm",
            description_placeholders={"old": entry.data[CONF_SERIAL], "new": self.new},
        )


def replace_envoy(
    hass: HomeAssistant, entry: ConfigEntry, new: str, host: str | None = None
) -> dict[str, Any]:
    """Replace the entry's Envoy with ``new``: registries, issues; return the entry's updates."""
    remove_issues(hass, entry.data[CONF_SERIAL])
    return move_to(hass, entry, new, host)


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Return the fix flow of a fixable issue (only "Envoy replaced" is)."""
    found = data or {}
    return ReplaceEnvoyFlow(str(found.get("entry_id")), str(found.get("serial")))
