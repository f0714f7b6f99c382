"""Drive a real Home Assistant through its web UI in headless Chromium (see scripts/e2e).

Standard library and Playwright only: it runs on the host, outside Home Assistant's Python.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect, sync_playwright

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FAILURE_SHOT = "/tmp/enphase_envoy_legacy-e2e-failure.png"  # noqa: S108 - a debugging aid
USER = {"name": "Envoy owner", "username": "owner", "password": "e2e-password-1", "language": "en"}


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


def wait_for_onboarding(base: str, seconds: float = 300) -> None:
    """Wait until Home Assistant answers (its first start installs the frontend)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            request(f"{base}/api/onboarding")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(2)
            continue
        return
    sys.exit(f"Home Assistant did not answer at {base} within {seconds:.0f} s")


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


def call_ws(page: Page, message: dict[str, Any]) -> Any:
    """Send a websocket command through the frontend's own connection."""
    return page.evaluate(
        "message => document.querySelector('home-assistant').hass.callWS(message)", message
    )


def field(page: Page, name: str) -> Locator:
    """Return the text input of a flow form's field."""
    return page.locator(f'[name="{name}"]').locator("input").first


def add_integration(page: Page, shots: Path, envoy_host: str, serial: str) -> None:
    """Add the integration the way a user does, with a wrong serial first."""
    page.get_by_text("Add integration", exact=True).first.click()
    page.get_by_placeholder("Search for a brand name").fill("Enphase Envoy Legacy")
    page.get_by_text("Enphase Envoy Legacy", exact=True).first.click()
    host = field(page, "host")
    expect(host).to_be_visible(timeout=30_000)
    host.fill(envoy_host)
    field(page, "serial").fill(serial[:-1] + "0")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text(f"reports serial number {serial}")).to_be_visible(timeout=30_000)
    page.screenshot(path=shots / "config-flow-wrong-serial.png")
    field(page, "serial").fill(serial)
    page.get_by_role("button", name="Submit").click()
    # Home Assistant then offers to name the new devices and assign them to areas.
    expect(page.get_by_text("Name and assign")).to_be_visible(timeout=30_000)
    page.screenshot(path=shots / "config-flow-devices.png")
    page.get_by_role("button", name="Skip and finish").click()


def check_devices(page: Page, serial: str) -> str:
    """Check the Envoy and every inverter device exist with values; return the Envoy's id."""
    devices = call_ws(page, {"type": "config/device_registry/list"})
    ours = [
        device
        for device in devices
        if any(domain == "enphase_envoy_legacy" for domain, _ in device["identifiers"])
    ]
    envoy = next(d for d in ours if ["enphase_envoy_legacy", serial] in d["identifiers"])
    inverters = [d for d in ours if d["via_device_id"] == envoy["id"]]
    assert len(inverters) == 40, len(inverters)
    states = {state["entity_id"]: state for state in call_ws(page, {"type": "get_states"})}
    assert float(states[f"sensor.envoy_{serial}_current_power"]["state"]) > 0
    assert float(states[f"sensor.envoy_{serial}_lifetime_energy"]["state"]) > 0
    for inverter in inverters:
        (identifier,) = inverter["identifiers"]
        power = states[f"sensor.inverter_{identifier[1]}_current_power"]["state"]
        assert float(power) >= 0, (identifier, power)
    return str(envoy["id"])


def check_energy(page: Page, shots: Path, serial: str) -> None:
    """Use the lifetime sensor as solar production; Home Assistant must find nothing wrong."""
    sensor = f"sensor.envoy_{serial}_lifetime_energy"
    call_ws(
        page,
        {
            "type": "energy/save_prefs",
            "energy_sources": [
                {"type": "solar", "stat_energy_from": sensor, "config_entry_solar_forecast": None}
            ],
            "device_consumption": [],
        },
    )
    # A new sensor has no statistics until the recorder's next five-minute compile; until
    # then Home Assistant says "statistics_not_defined". Anything else is a real problem.
    deadline = time.monotonic() + 7 * 60
    while True:
        validation = call_ws(page, {"type": "energy/validate"})
        problems = [issue for source in validation["energy_sources"] for issue in source]
        waiting = [p for p in problems if p["type"] == "statistics_not_defined"]
        if not problems or problems != waiting or time.monotonic() > deadline:
            break
        page.wait_for_timeout(15_000)
    print("energy/validate:", json.dumps(validation))  # noqa: T201
    assert not problems, problems
    page.goto(f"{page.url.split('/config')[0]}/energy")
    page.wait_for_timeout(5000)
    page.screenshot(path=shots / "energy-dashboard.png", full_page=True)


def main() -> None:
    """Run the whole check; exit non-zero with a screenshot on any failure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--envoy-host", required=True)
    parser.add_argument("--serial", required=True)
    parser.add_argument("--screenshots", type=Path, required=True)
    args = parser.parse_args()
    base: str = args.url
    shots: Path = args.screenshots
    shots.mkdir(parents=True, exist_ok=True)

    wait_for_onboarding(base)
    tokens = onboard(base)
    stored = {
        "access_token": tokens["access_token"],
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
        page.set_default_timeout(60_000)
        try:
            page.goto(f"{base}/config/integrations")
            add_integration(page, shots, args.envoy_host, args.serial)
            page.wait_for_timeout(3000)
            envoy_id = check_devices(page, args.serial)
            page.goto(f"{base}/config/devices/device/{envoy_id}")
            expect(page.get_by_text(f"Envoy {args.serial}").first).to_be_visible()
            page.wait_for_timeout(3000)
            page.screenshot(path=shots / "envoy-device.png", full_page=True)
            check_energy(page, shots, args.serial)
        except Exception:
            page.screenshot(path=FAILURE_SHOT, full_page=True)
            print(f"e2e failed; the page at that moment: {FAILURE_SHOT}")  # noqa: T201
            raise
        finally:
            browser.close()
    print("e2e: the flow, the devices and the Energy dashboard check out")  # noqa: T201


if __name__ == "__main__":
    main()
