"""What hassfest and the HACS action check, checked here too: manifest, hacs.json, brand, texts."""

from __future__ import annotations

import json
import re
from pathlib import Path

from homeassistant.const import __version__ as ha_version
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = ROOT / "custom_components" / "enphase_envoy_legacy"
MANIFEST = json.loads((INTEGRATION / "manifest.json").read_text())
HACS = json.loads((ROOT / "hacs.json").read_text())
KEY = re.compile(r"^[a-z0-9_]+$")


def test_manifest_keys() -> None:
    """The keys a custom integration needs, domain and name first, the rest sorted."""
    assert set(MANIFEST) >= {
        "domain", "name", "codeowners", "config_flow", "documentation", "integration_type",
        "iot_class", "issue_tracker", "loggers", "requirements", "version",
    }  # fmt: skip
    assert list(MANIFEST)[:2] == ["domain", "name"]
    assert list(MANIFEST)[2:] == sorted(list(MANIFEST)[2:])
    assert MANIFEST["domain"] == INTEGRATION.name
    assert MANIFEST["iot_class"] == "local_polling"
    assert MANIFEST["integration_type"] == "hub"
    assert re.fullmatch(r"\d+\.\d+\.\d+", MANIFEST["version"])
    assert all(owner.startswith("@") for owner in MANIFEST["codeowners"])
    assert MANIFEST["documentation"].startswith("https://")
    assert MANIFEST["issue_tracker"].startswith("https://")
    assert MANIFEST["zeroconf"] == ["_enphase-envoy._tcp.local."]


def test_hacs_json_claims_the_tested_version() -> None:
    """hacs.json's minimum is the Home Assistant the test suite runs on."""
    assert set(HACS) <= {"name", "homeassistant", "render_readme", "hacs", "country", "zip_release"}
    assert HACS["name"] == MANIFEST["name"]
    assert HACS["homeassistant"] == ha_version


def test_brand_icons() -> None:
    """The brand icon is a square PNG of 256 pixels, and 512 for high density screens."""
    for name, size in (("icon.png", 256), ("icon@2x.png", 512)):
        with Image.open(INTEGRATION / "brand" / name) as image:
            assert image.format == "PNG"
            assert image.size == (size, size)


def test_translation_files_are_well_formed() -> None:
    """Texts are strings under snake_case keys, in the sections Home Assistant reads."""
    for path in (INTEGRATION / "translations").glob("*.json"):
        texts = json.loads(path.read_text())
        assert set(texts) <= {"config", "entity", "exceptions", "issues"}, path.name

        def walk(node: object, where: str, file: str = path.name) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    assert KEY.match(key), (file, where, key)
                    walk(value, f"{where}.{key}")
            else:
                assert isinstance(node, str), (file, where)
                assert node.strip(), (file, where)

        walk(texts, "")
        for exception in texts["exceptions"].values():
            assert set(exception) == {"message"}
        for sensor in texts["entity"]["sensor"].values():
            # An enum sensor's states have their texts too, a sensor's attributes their names.
            assert set(sensor) in ({"name"}, {"name", "state"}, {"name", "state_attributes"})
