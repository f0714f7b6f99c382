"""Every user-visible key the code uses has its text (and icon) in the integration's files.

Home Assistant core checks this for its own integrations; custom integrations have to do it
themselves, or a missing key shows users a raw key instead of a sentence.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from custom_components.enphase_envoy_legacy.errors import Reason
from custom_components.enphase_envoy_legacy.sensor import INVERTER_SENSORS, PRODUCTION_SENSORS
from custom_components.enphase_envoy_legacy.sensor_metered import METERED_SENSORS

INTEGRATION = Path(__file__).resolve().parent.parent / "custom_components" / "enphase_envoy_legacy"
EN = json.loads((INTEGRATION / "translations" / "en.json").read_text())
ICONS = json.loads((INTEGRATION / "icons.json").read_text())


def _source(name: str) -> str:
    return (INTEGRATION / name).read_text()


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_entity_names_and_icons() -> None:
    """Each sensor's translation key has a name and an icon, and no key is left over."""
    descriptions = (*PRODUCTION_SENSORS, *INVERTER_SENSORS, *METERED_SENSORS)
    keys = {d.translation_key for d in descriptions}
    assert keys == set(EN["entity"]["sensor"])
    assert keys == set(ICONS["entity"]["sensor"])
    for description in descriptions:
        # A name's placeholders are the description's own; an enum's states all have a text.
        name = EN["entity"]["sensor"][description.translation_key]["name"]
        assert _placeholders(name) == set(description.translation_placeholders or {})
        states = EN["entity"]["sensor"][description.translation_key].get("state", {})
        assert set(description.options or ()) == set(states)


def test_config_flow_errors() -> None:
    """Every error the flow can show has its text, and every text is used."""
    used = set(re.findall(r'errors\[[^\]]+\] = "(\w+)"', _source("config_flow.py")))
    # Every failure the client can report shows as its reason (errors.py), except a host
    # that does not resolve: the flow shows that on the host field, as "invalid_host".
    assert "reason(err).value" in _source("config_flow.py")
    used |= set(Reason) - {Reason.HOST_NOT_FOUND}
    assert used == set(EN["config"]["error"])


def test_config_flow_steps() -> None:
    """Every step a flow shows has its texts, and every field its help text."""
    steps = set(re.findall(r'step_id="(\w+)"', _source("config_flow.py")))
    assert steps == set(EN["config"]["step"])
    assert "options" not in EN  # no options flow, so no options texts
    for form in EN["config"]["step"].values():
        assert set(form.get("data", {})) == set(form.get("data_description", {}))
    assert set(EN["config"]["step"]["user"]["data"]) == {"host", "serial"}


# Abort reasons Home Assistant's own helpers use on the flow's behalf.
HELPER_ABORTS = {
    "already_configured",  # _abort_if_unique_id_configured
    "already_in_progress",  # async_set_unique_id
    "reauth_successful",  # async_update_reload_and_abort
    "reconfigure_successful",
}


def test_abort_reasons() -> None:
    """Every abort reason has its text, and every text is used."""
    used = set(re.findall(r'reason="(\w+)"', _source("config_flow.py")))
    assert used | HELPER_ABORTS == set(EN["config"]["abort"])
    fix_flow = EN["issues"]["envoy_replaced"]["fix_flow"]
    assert set(re.findall(r'reason="(\w+)"', _source("repairs.py"))) == set(fix_flow["abort"])
    assert set(re.findall(r'step_id="(\w+)"', _source("repairs.py"))) == set(fix_flow["step"])


FIXABLE = {"envoy_replaced"}


def test_exception_and_issue_translations() -> None:
    """Every translated exception and repair issue has its text, and every text is used."""
    modules = ("coordinator.py", "errors.py", "repairs.py", "__init__.py")
    source = "".join(_source(module) for module in modules)
    used = set(re.findall(r'translation_key="(\w+)"', source))
    # A key chosen by a condition: translation_key=("a" if ... else "b").
    for choice in re.findall(r"translation_key=\(([^)]*)\)", source):
        used |= set(re.findall(r'"(\w+)"', choice))
    # A failed poll raises the reason of the client's error (errors.py).
    assert "translation_key=reason(err)" in source
    used |= set(Reason)
    assert used == set(EN["exceptions"]) | set(EN["issues"])
    assert not set(EN["exceptions"]) & set(EN["issues"])
    # A fixable issue says it all in its fix flow; the others in a description.
    assert source.count("is_fixable=True") == len(FIXABLE)
    for key, issue in EN["issues"].items():
        assert set(issue) == ({"title", "fix_flow"} if key in FIXABLE else {"title", "description"})


def test_no_core_references() -> None:
    """[%key:...%] references only resolve in core; a custom integration shows them raw."""
    assert "[%key:" not in json.dumps(EN)


def test_placeholders_are_supplied() -> None:
    """Error texts only use placeholders the flow supplies."""
    supplied = set(re.findall(r'placeholders\["(\w+)"\]', _source("config_flow.py")))
    for key, text in EN["config"]["error"].items():
        assert _placeholders(text) <= supplied, key


LANGUAGES = ("de", "en", "es", "fr", "it", "nl")


def _strings(tree: dict[str, object], path: str = "") -> dict[str, str]:
    """Flatten a translation file into {dotted.key: text}."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_strings(value, f"{path}{key}."))
        else:
            assert isinstance(value, str), f"{path}{key}"
            flat[f"{path}{key}"] = value
    return flat


def test_languages_present() -> None:
    """English, German, French, Dutch, Spanish and Italian ship, and nothing half-done."""
    files = {path.stem for path in (INTEGRATION / "translations").glob("*.json")}
    assert files == set(LANGUAGES)


@pytest.mark.parametrize("language", [language for language in LANGUAGES if language != "en"])
def test_language_complete(language: str) -> None:
    """Each language has every English key, no other, and the same placeholders in each text."""
    english = _strings(EN)
    translated = _strings(
        json.loads((INTEGRATION / "translations" / f"{language}.json").read_text())
    )
    assert set(translated) == set(english)
    for key, text in english.items():
        assert _placeholders(translated[key]) == _placeholders(text), key
        assert translated[key].strip(), key
