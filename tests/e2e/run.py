"""Drive a real Home Assistant through its web UI in headless Chromium (see scripts/e2e).

Standard library and Playwright only: it runs on the host, outside Home Assistant's Python.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from playwright.sync_api import Locator, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOMAIN = "enphase_envoy_legacy"
FAILURE_SHOT = "/tmp/enphase_envoy_legacy-e2e-failure.png"  # noqa: S108 - a debugging aid
USER = {"name": "Envoy owner", "username": "owner", "password": "e2e-password-1", "language": "en"}
# The frontend is ready when its launch screen ("Loading...") is gone and it holds a connection.
SHELL_READY = """() => {
    const ha = document.querySelector("home-assistant");
    return !document.getElementById("ha-launch-screen")
        && Boolean(ha && ha.hass && ha.hass.connected);
}"""
NOT_YET = (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError)
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """How long each kind of wait may take, in seconds.

    A cold start (a virtualenv, a browser or a Home Assistant that never ran here) first
    installs the frontend and integration requirements and compiles every import: minutes.
    Once warm, the same waits end in seconds, so their limits are short.
    """

    start: float  # Home Assistant's API answering, the simulator answering
    running: float  # Home Assistant's core state RUNNING and its services described
    app_shell: float  # the frontend's app shell rendered in the browser
    dialog: float  # a dialog's or a page's content present

    @classmethod
    def for_start(cls, *, cold: bool) -> Limits:
        """Generous bounded limits for a cold start, short ones once warm."""
        if cold:
            return cls(start=900, running=900, app_shell=300, dialog=120)
        return cls(start=180, running=180, app_shell=90, dialog=45)


class StepError(Exception):
    """A step of the check did not reach its state; the message names the step."""


@contextmanager
def step(name: str) -> Iterator[None]:
    """Run one step: print it, and on failure say which step it was."""
    print(f"e2e: {name}", flush=True)  # noqa: T201
    started = time.monotonic()
    try:
        yield
    except StepError as err:
        raise StepError(f"{name}: {err}") from err
    except Exception as err:
        message = f"{name}: {type(err).__name__}: {err}"
        raise StepError(message) from err
    print(f"e2e:   done in {time.monotonic() - started:.1f} s", flush=True)  # noqa: T201


def wait_until(what: str, check: Callable[[], T | None], limit: float, every: float = 2) -> T:
    """Poll check() until it returns something other than None; fail after limit seconds."""
    deadline = time.monotonic() + limit
    last = "no answer yet"
    while True:
        try:
            result = check()
        except NOT_YET as err:
            result, last = None, f"{type(err).__name__}: {err}"
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise StepError(f"{what}: not within {limit:.0f} s (last: {last})")
        time.sleep(every)


def request(
    url: str,
    method: str = "GET",
    data: dict[str, Any] | None = None,
    token: str | None = None,
    *,
    form: bool = False,
) -> Any:
    """Call Home Assistant's HTTP API; return the decoded JSON."""
    headers = {}
    body = None
    if data is not None:
        if form:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    call = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    with urllib.request.urlopen(call, timeout=30) as answer:  # noqa: S310 - loopback only
        return json.loads(answer.read() or b"null")


def api_answering(base: str) -> list[dict[str, Any]] | None:
    """Onboarding's steps, once Home Assistant's HTTP API answers."""
    steps = request(f"{base}/api/onboarding")
    return steps if isinstance(steps, list) else None


def core_running(base: str, token: str) -> bool | None:
    """Tell whether Home Assistant has started and can describe its services.

    The frontend's first calls include the service descriptions; on a cold start they fail
    while Home Assistant is still installing integration requirements, and the frontend then
    sits on its launch screen.
    """
    if request(f"{base}/api/config", token=token).get("state") != "RUNNING":
        return None
    return True if isinstance(request(f"{base}/api/services", token=token), list) else None


def simulator_answering(envoy_host: str) -> bool:
    """Tell whether the Envoy simulator serves its identity."""
    url = f"http://{envoy_host}/info.xml"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return bool(answer.read())


def onboard(base: str) -> dict[str, Any]:
    """Create the owner through the onboarding API; return the owner's tokens."""
    client_id = f"{base}/"
    created = request(f"{base}/api/onboarding/users", "POST", {"client_id": client_id, **USER})
    tokens: dict[str, Any] = request(
        f"{base}/auth/token",
        "POST",
        {"grant_type": "authorization_code", "code": created["auth_code"], "client_id": client_id},
        form=True,
    )
    # The other steps are marked done before the start (scripts/e2e): the core_config step
    # would set up internet services (weather, radio browser) on a machine without internet.
    remaining = [step["step"] for step in request(f"{base}/api/onboarding") if not step["done"]]
    assert not remaining, remaining
    return tokens


def open_app(page: Page, url: str, limits: Limits) -> None:
    """Open a page and wait for the app shell; reload once if it sits on the launch screen."""
    page.goto(url)
    try:
        page.wait_for_function(SHELL_READY, timeout=limits.app_shell * 1000 / 2)
    except PlaywrightTimeout:
        print("e2e:   still on the launch screen; reloading once", flush=True)  # noqa: T201
        page.reload()
        page.wait_for_function(SHELL_READY, timeout=limits.app_shell * 1000 / 2)


def call_ws(page: Page, message: dict[str, Any]) -> Any:
    """Send a websocket command through the frontend's own connection."""
    return page.evaluate(
        """message => document.querySelector('home-assistant').hass.callWS(message).catch(
            error => { throw new Error(JSON.stringify(error)); })""",
        message,
    )


def field(page: Page, name: str) -> Locator:
    """Return the text input of a flow form's field."""
    return page.locator(f'[name="{name}"]').locator("input").first


def add_integration(
    page: Page, shots: Path | None, envoy_host: str, serial: str, limits: Limits
) -> None:
    """Add the integration the way a user does, with a wrong serial first.

    ``shots``: where the flow's screenshots go (None: none are taken).
    """
    wait = limits.dialog * 1000
    with step("the integrations page lists its 'Add integration' button"):
        add = page.get_by_text("Add integration", exact=True).first
        expect(add).to_be_visible(timeout=wait)
        add.click()
    with step("the brand search finds Enphase Envoy Legacy"):
        search = page.get_by_placeholder("Search for a brand name")
        expect(search).to_be_visible(timeout=wait)
        search.fill("Enphase Envoy Legacy")
        # In the dialog: with an entry already there, its card behind says the same.
        dialog = page.locator("dialog-add-integration")
        brand = dialog.get_by_text("Enphase Envoy Legacy", exact=True).first
        expect(brand).to_be_visible(timeout=wait)
        brand.click()
    with step("the flow asks for host and serial; a wrong serial is refused"):
        host = field(page, "host")
        expect(host).to_be_visible(timeout=wait)
        host.fill(envoy_host)
        field(page, "serial").fill(serial[:-1] + "0")
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_text(f"reports serial number {serial}")).to_be_visible(timeout=wait)
        if shots is not None:
            page.screenshot(path=shots / "config-flow-wrong-serial.png")
    with step("the right serial creates the entry"):
        field(page, "serial").fill(serial)
        page.get_by_role("button", name="Submit").click()
        # Home Assistant then offers to name the new devices and assign them to areas.
        expect(page.get_by_text("Name and assign")).to_be_visible(timeout=wait)
        if shots is not None:
            page.screenshot(path=shots / "config-flow-devices.png")
        page.get_by_role("button", name="Skip and finish").click()


def devices_with_values(page: Page, serial: str) -> str | None:
    """Return the Envoy device's id once it and its 40 inverters exist with values."""
    devices = call_ws(page, {"type": "config/device_registry/list"})
    ours = [
        device
        for device in devices
        if any(domain == "enphase_envoy_legacy" for domain, _ in device["identifiers"])
    ]
    envoy = next((d for d in ours if ["enphase_envoy_legacy", serial] in d["identifiers"]), None)
    if envoy is None:
        return None
    inverters = [d for d in ours if d["via_device_id"] == envoy["id"]]
    states = {state["entity_id"]: state for state in call_ws(page, {"type": "get_states"})}
    wanted = [
        f"sensor.envoy_{serial}_current_power",
        f"sensor.envoy_{serial}_lifetime_energy",
        *(
            f"sensor.inverter_{identifier[1]}_current_power"
            for inverter in inverters
            for identifier in inverter["identifiers"]
        ),
    ]
    if len(inverters) != 40 or any(entity not in states for entity in wanted):
        return None
    assert float(states[wanted[0]]["state"]) > 0, states[wanted[0]]
    assert float(states[wanted[1]]["state"]) > 0, states[wanted[1]]
    for entity in wanted[2:]:
        assert float(states[entity]["state"]) >= 0, states[entity]
    return str(envoy["id"])


# A metered Envoy-S's sensors the Energy dashboard takes, by key (their unique id's end), and
# the house's consumption beside them.
METERED_KEYS = (
    "lifetime_energy",
    "grid_energy_imported",
    "grid_energy_exported",
    "consumption_lifetime_energy",
)
# Consumption and production move every minute (the readings); the house always draws.
MOVING_KEYS = ("consumption_lifetime_energy", "lifetime_energy")
# A grid source's cost, compensation and power fields: none of them set.
GRID_UNSET = (
    "stat_rate",
    "power_config",
    "stat_cost",
    "entity_energy_price",
    "number_energy_price",
    "stat_compensation",
    "entity_energy_price_export",
    "number_energy_price_export",
)
# What the check compares of each kind of energy source.
SOURCE_KEYS = {
    "solar": ("type", "stat_energy_from", "stat_rate", "config_entry_solar_forecast"),
    "grid": ("type", "stat_energy_from", "stat_energy_to", *GRID_UNSET),
}


def metered_with_values(page: Page, serial: str) -> dict[str, str] | None:
    """Return the metered Envoy's device id and energy sensors once they all have values."""
    entries = call_ws(page, {"type": "config/entity_registry/list"})
    found = {
        key: entry
        for key in METERED_KEYS
        for entry in entries
        if entry["platform"] == DOMAIN and entry["unique_id"] == f"{serial}_{key}"
    }
    if len(found) != len(METERED_KEYS):
        return None
    states = {state["entity_id"]: state["state"] for state in call_ws(page, {"type": "get_states"})}
    if any(
        states.get(entry["entity_id"], "unknown") in ("unknown", "unavailable")
        for entry in found.values()
    ):
        return None
    return {"device": found["lifetime_energy"]["device_id"]} | {
        key: entry["entity_id"] for key, entry in found.items()
    }


def states_of(page: Page, entity_ids: list[str]) -> dict[str, str]:
    """Return the states of some entities."""
    states = {state["entity_id"]: state["state"] for state in call_ws(page, {"type": "get_states"})}
    return {entity_id: states.get(entity_id, "unknown") for entity_id in entity_ids}


def moved_since(page: Page, before: dict[str, str]) -> dict[str, str] | None:
    """Return the states of the entities once every one differs from ``before``."""
    now = states_of(page, list(before))
    return now if all(now[entity] != before[entity] for entity in before) else None


def registry_entity(entries: list[dict[str, Any]], serial: str, key: str) -> str:
    """Return the entity id the integration created for an Envoy's sensor, by its unique id.

    ``entries``: the entity registry (config/entity_registry/list).
    """
    found = [
        entry["entity_id"]
        for entry in entries
        if entry["platform"] == DOMAIN and entry["unique_id"] == f"{serial}_{key}"
    ]
    if len(found) != 1:
        raise StepError(f"the entity registry has {len(found)} entities for {serial}_{key}")
    return str(found[0])


def picker_names(
    page: Page, registry: list[dict[str, Any]], entity_ids: list[str]
) -> dict[str, tuple[str, str]]:
    """Return what the statistic picker shows for each entity: its name, then its device's.

    ``registry``: the entity registry (config/entity_registry/list).
    """
    entries = {e["entity_id"]: e for e in registry}
    devices = {d["id"]: d for d in call_ws(page, {"type": "config/device_registry/list"})}
    names = {}
    for entity_id in entity_ids:
        entry = entries[entity_id]
        device = devices[entry["device_id"]]
        names[entity_id] = (
            entry["name"] or entry["original_name"],
            device["name_by_user"] or device["name"],
        )
    return names


def pick_statistic(dialog: Locator, label: str, entity_id: str, shown: tuple[str, str]) -> None:
    """In an energy settings dialog, pick an entity with the statistic picker labelled so.

    The picker's search takes the entity id; of what it then lists, the option picked is the
    one showing exactly the entity's name over its device's name.
    """
    name, device = shown
    picker = dialog.get_by_role("button", name=label)
    picker.click()
    dialog.get_by_placeholder("Search").fill(entity_id)
    option = dialog.get_by_role("option").filter(
        has_text=re.compile(rf"^\s*{re.escape(name)}\s+{re.escape(device)}\s*$")
    )
    option.click()
    expect(picker).to_contain_text(f"{name} {device}")


def save_energy_dialog(page: Page, dialog: Locator, listed: list[str], limits: Limits) -> None:
    """Save an energy settings dialog; wait until it closes and the page lists what it added.

    ``listed``: the entities' friendly names the settings page then shows.
    """
    wait = limits.dialog * 1000
    save = dialog.get_by_role("button", name="Save")
    expect(save).to_be_enabled(timeout=wait)
    save.click()
    expect(save).to_have_count(0, timeout=wait)
    for name in listed:
        expect(page.get_by_text(name, exact=True)).to_be_visible(timeout=wait)


def configure_energy(
    page: Page,
    base: str,
    solar: list[str],
    grid: tuple[str, str] | None,
    registry: list[dict[str, Any]],
    limits: Limits,
) -> None:
    """Configure the Energy dashboard in its settings page, as a user does, with no costs.

    ``solar``: the solar production's energy sensors; ``grid``: the grid's import and export
    energy sensors, if any; ``registry``: the entity registry.
    """
    wait = limits.dialog * 1000
    with step("the energy settings page offers solar production"):
        everything = [*solar, *(grid or ())]
        names = picker_names(page, registry, everything)
        states = {state["entity_id"]: state for state in call_ws(page, {"type": "get_states"})}
        friendly = {entity: states[entity]["attributes"]["friendly_name"] for entity in everything}
        open_app(page, f"{base}/config/energy", limits)
        expect(page.get_by_role("heading", name="Solar panels")).to_be_visible(timeout=wait)
    for entity in solar:
        with step(f"solar production: {entity}, no forecast"):
            page.get_by_role("button", name="Add solar production").click()
            dialog = page.locator("dialog-energy-solar-settings")
            pick_statistic(dialog, "Solar production energy", entity, names[entity])
            expect(dialog.get_by_role("radio", name="Don't forecast production")).to_be_checked()
            save_energy_dialog(page, dialog, [friendly[entity]], limits)
    if grid is None:
        return
    imported, exported = grid
    with step(f"grid connection: import {imported}, export {exported}, no costs"):
        page.get_by_role("button", name="Add grid connection").click()
        dialog = page.locator("dialog-energy-grid-settings")
        pick_statistic(dialog, "Energy imported from grid", imported, names[imported])
        pick_statistic(dialog, "Energy exported to grid", exported, names[exported])
        for choice in ("Do not track costs", "Do not track compensation", "No power sensor"):
            radio = dialog.get_by_role("radio", name=choice)
            radio.check()
            expect(radio).to_be_checked()
        save_energy_dialog(page, dialog, [friendly[imported], friendly[exported]], limits)


def canonical(source: dict[str, Any]) -> str:
    """Return an energy source as one comparable string."""
    return json.dumps(source, sort_keys=True)


def saved_sources(page: Page, solar: list[str], grid: tuple[str, str] | None) -> None:
    """Assert the Energy dashboard's preferences hold exactly these sources.

    With no forecast, no power sensor, no costs and no compensation; and no devices.
    """
    prefs = call_ws(page, {"type": "energy/get_prefs"})
    expected: list[dict[str, Any]] = [
        {"type": "solar", "stat_energy_from": entity}
        | dict.fromkeys(("stat_rate", "config_entry_solar_forecast"))
        for entity in solar
    ]
    if grid is not None:
        expected.append(
            {"type": "grid", "stat_energy_from": grid[0], "stat_energy_to": grid[1]}
            | dict.fromkeys(GRID_UNSET)
        )
    sources = prefs["energy_sources"]
    got = [
        {key: source.get(key) for key in SOURCE_KEYS.get(source["type"], source)}
        for source in sources
    ]
    if sorted(got, key=canonical) != sorted(expected, key=canonical):
        raise StepError(f"energy/get_prefs: {json.dumps(prefs)}, expected {json.dumps(expected)}")
    if prefs["device_consumption"]:
        raise StepError(f"energy/get_prefs: devices too: {json.dumps(prefs)}")


def check_energy(
    page: Page, base: str, shots: Path, serial: str, metered: dict[str, str] | None, limits: Limits
) -> None:
    """Configure the Energy dashboard in its settings page; Home Assistant must find no fault.

    Solar: each Envoy's lifetime energy; the grid: a metered Envoy-S's lifetime import and
    export.
    """
    with step("the Energy dashboard's sensors: each Envoy's lifetime energy, import, export"):
        registry = call_ws(page, {"type": "config/entity_registry/list"})
        solar = [registry_entity(registry, serial, "lifetime_energy")]
        grid = None
        if metered is not None:
            solar.append(metered["lifetime_energy"])
            grid = (metered["grid_energy_imported"], metered["grid_energy_exported"])
    configure_energy(page, base, solar, grid, registry, limits)
    with step("energy/get_prefs holds exactly those sources, with no costs"):
        saved_sources(page, solar, grid)

    # A new sensor has no statistics until the recorder's next five-minute compile; until
    # then Home Assistant says "statistics_not_defined". Anything else is a real problem.
    def validated() -> dict[str, Any] | None:
        validation: dict[str, Any] = call_ws(page, {"type": "energy/validate"})
        problems = [issue for source in validation["energy_sources"] for issue in source]
        if any(p["type"] != "statistics_not_defined" for p in problems):
            raise StepError(f"energy/validate: {json.dumps(validation)}")
        return None if problems else validation

    with step("energy/validate finds nothing wrong with any source"):
        validation = wait_until("energy/validate clean", validated, limit=7 * 60, every=15)
        if len(validation["energy_sources"]) != len(solar) + (grid is not None):
            raise StepError(f"energy/validate: {json.dumps(validation)}")
        print("energy/validate:", json.dumps(validation))  # noqa: T201
    with step("the energy settings and the Energy dashboard show them"):
        open_app(page, f"{base}/config/energy", limits)
        page.wait_for_timeout(3000)
        page.screenshot(path=shots / "energy-settings.png", full_page=True)
        open_app(page, f"{base}/energy", limits)
        page.wait_for_timeout(5000)  # the charts animate in
        page.screenshot(path=shots / "energy-dashboard.png", full_page=True)


def add_metered(
    page: Page, base: str, shots: Path, args: argparse.Namespace, limits: Limits
) -> dict[str, str]:
    """Add the metered Envoy-S too, and show its device page."""
    with step("the integrations page opens again"):
        open_app(page, f"{base}/config/integrations", limits)
    add_integration(page, None, args.metered_envoy_host, args.metered_serial, limits)
    with step("the metered Envoy-S shows production, import and export"):
        metered = wait_until(
            "metered sensors", lambda: metered_with_values(page, args.metered_serial), 120
        )
    with step("the metered Envoy-S's device page shows it"):
        show_device(page, base, metered["device"], args.metered_serial, limits)
        page.screenshot(path=shots / "envoy-metered-device.png", full_page=True)
    return metered


def show_device(page: Page, base: str, device_id: str, serial: str, limits: Limits) -> None:
    """Open an Envoy's device page and wait until it shows the Envoy and its history."""
    open_app(page, f"{base}/config/devices/device/{device_id}", limits)
    expect(page.get_by_text(f"Envoy {serial}").first).to_be_visible()
    page.wait_for_timeout(3000)  # the history charts fill in


# The panel the repair names, and what the owner set on its device.
PANEL_NAME = "East row, first panel"
PANEL_AREA = "Garage roof"


def judged_low(stored: dict[str, Any], weak: str) -> dict[str, Any]:
    """Return the store with three low days judged for ``weak`` (the others at their normal).

    What a restart brings back after the Envoy's days judged them (model/output.py): a
    normal of 1 for every panel, and for ``weak`` three days at about 0.6 from three days ago.
    """
    today = time.strftime("%Y-%m-%d")
    since = time.strftime("%Y-%m-%d", time.localtime(time.time() - 3 * 86400))
    normal = {"shares": [1.0] * 7, "latest": 1.0, "low": [], "since": None, "raised": False}
    panels = dict.fromkeys(stored["data"]["panels"], normal)
    low = {"latest": 0.62, "low": [0.64, 0.6, 0.62], "since": since, "raised": True}
    panels[weak] = {**normal, **low}
    stored["data"]["output"] = {"panels": panels, "days": {}, "judged": today}
    return stored


def show_repair(
    page: Page, base: str, config: Path, serial: str, shots: Path, limits: Limits
) -> None:
    """Give the store three low days of one panel, restart the entry, show the repair."""
    devices = call_ws(page, {"type": "config/device_registry/list"})
    envoy = next(device for device in devices if [DOMAIN, serial] in device["identifiers"])
    entry_id = envoy["config_entries"][0]
    inverters = sorted(
        (identifier[1], device["id"])
        for device in devices
        for identifier in device["identifiers"]
        if identifier[0] == DOMAIN and identifier[1] != serial
    )
    weak, device_id = inverters[0]
    area = call_ws(page, {"type": "config/area_registry/create", "name": PANEL_AREA})
    call_ws(
        page,
        {
            "type": "config/device_registry/update",
            "device_id": device_id,
            "name_by_user": PANEL_NAME,
            "area_id": area["area_id"],
        },
    )
    message = {"type": "config_entries/disable", "entry_id": entry_id}
    call_ws(page, {**message, "disabled_by": "user"})
    path = config / ".storage" / f"{DOMAIN}.{entry_id}.state"
    stored = wait_until("the entry's store", lambda: path.exists() or None, limits.dialog)
    assert stored
    path.write_text(json.dumps(judged_low(json.loads(path.read_text()), weak)))
    call_ws(page, {**message, "disabled_by": None})
    open_app(page, f"{base}/config/repairs", limits)
    issue = page.get_by_text("makes less than it used to").first
    expect(issue).to_be_visible(timeout=limits.dialog * 1000)
    issue.click()
    expect(page.get_by_text(f"({PANEL_NAME}, in {PANEL_AREA})").first).to_be_visible()
    page.wait_for_timeout(1000)  # the dialog's opening animation
    page.screenshot(path=shots / "repair-panel-underperforming.png")


def log_tail(path: Path | None, lines: int = 60) -> str:
    """Return the end of Home Assistant's log, for a failure report."""
    if path is None or not path.exists():
        return "(no Home Assistant log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def fail(message: str, ha_log: Path | None) -> None:
    """Exit non-zero, naming the step, with the end of Home Assistant's log."""
    print(f"--- the last lines of Home Assistant's log ({ha_log}) ---")  # noqa: T201
    print(log_tail(ha_log))  # noqa: T201
    sys.exit(f"e2e failed: {message}")


def main() -> None:
    """Run the whole check; exit non-zero with the step, a screenshot and the log on failure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--envoy-host", required=True)
    parser.add_argument("--serial", required=True)
    parser.add_argument("--metered-envoy-host", help="a metered Envoy-S simulator, if any")
    parser.add_argument("--metered-serial")
    parser.add_argument("--screenshots", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True, help="Home Assistant's config")
    parser.add_argument("--ha-log", type=Path, help="Home Assistant's log, shown on failure")
    parser.add_argument("--cold", action="store_true", help="first start here: long limits")
    args = parser.parse_args()
    base: str = args.url
    shots: Path = args.screenshots
    shots.mkdir(parents=True, exist_ok=True)
    limits = Limits.for_start(cold=args.cold)
    print(f"e2e: {'cold' if args.cold else 'warm'} start, limits {limits}", flush=True)  # noqa: T201
    try:
        run(args, base, shots, limits)
    except StepError as err:
        fail(str(err), args.ha_log)
    print("e2e: the flow, the devices and the Energy dashboard check out")  # noqa: T201


def run(args: argparse.Namespace, base: str, shots: Path, limits: Limits) -> None:
    """Every step, in order; a failed step raises StepError naming it."""
    with step("Home Assistant's API answers"):
        wait_until("Home Assistant's API", lambda: api_answering(base), limits.start)
    with step("onboarding done"):
        tokens = onboard(base)
    token = tokens["access_token"]
    with step("Home Assistant running, its services described"):
        wait_until("core state RUNNING", lambda: core_running(base, token), limits.running)
    with step("the Envoy simulator answers"):
        wait_until("the simulator", lambda: simulator_answering(args.envoy_host), limits.start)
    stored = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": tokens["expires_in"],
        "refresh_token": tokens["refresh_token"],
        "hassUrl": base,
        "clientId": f"{base}/",
        "expires": int(time.time() * 1000) + tokens["expires_in"] * 1000,
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(
            f"window.localStorage.setItem('hassTokens', {json.dumps(json.dumps(stored))});"
        )
        page = context.new_page()
        page.set_default_timeout(limits.dialog * 1000)
        try:
            with step("the frontend's app shell renders"):
                open_app(page, f"{base}/config/integrations", limits)
            add_integration(page, shots, args.envoy_host, args.serial, limits)
            with step("the Envoy and its 40 inverters exist with values"):
                envoy_id = wait_until(
                    "devices and values", lambda: devices_with_values(page, args.serial), 60
                )
            with step("the Envoy's device page shows it"):
                show_device(page, base, envoy_id, args.serial, limits)
                page.screenshot(path=shots / "envoy-device.png", full_page=True)
            with step("a panel that lost output is named in Repairs"):
                show_repair(page, base, args.config, args.serial, shots, limits)
            metered = None
            if args.metered_envoy_host:
                metered = add_metered(page, base, shots, args, limits)
            moving = states_of(page, [metered[key] for key in MOVING_KEYS]) if metered else {}
            check_energy(page, base, shots, args.serial, metered, limits)
            if moving:
                with step("the metered Envoy-S's consumption and production move"):
                    moved = wait_until("new values", lambda: moved_since(page, moving), 180)
                    print(f"e2e: {moving} became {moved}")  # noqa: T201
        except StepError:
            page.screenshot(path=FAILURE_SHOT, full_page=True)
            print(f"e2e: the page at the failure: {FAILURE_SHOT}")  # noqa: T201
            raise
        finally:
            browser.close()


if __name__ == "__main__":
    main()
