"""The house's layers, checked by a tool: Home Assistant stays out of the model and the client.

ruff's banned-api rule (ruff.toml) refuses a ``homeassistant`` import anywhere in ``model/``
and ``envoy_client/``, and allows it in the integration's top-level modules; the test command
runs ruff on the whole tree. These tests prove the rule bites where it must and only there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = "custom_components/enphase_envoy_legacy"
IMPORTS = ("import homeassistant", "from homeassistant.core import HomeAssistant")


def banned(path: str, source: str) -> bool:
    """Return True when ruff refuses ``source`` placed at ``path`` for importing Home Assistant."""
    checked = subprocess.run(  # noqa: S603 - ruff, from this environment, on our own text
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--select",
            "TID251",
            "--stdin-filename",
            path,
            "-",
        ],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return "TID251" in checked.stdout


@pytest.mark.parametrize("source", IMPORTS)
@pytest.mark.parametrize("folder", ["model", "envoy_client"])
def test_the_model_and_the_client_may_not_import_home_assistant(folder: str, source: str) -> None:
    """A Home Assistant import in the model or the client fails the lint."""
    assert banned(f"{INTEGRATION}/{folder}/probe.py", source + "\n")


@pytest.mark.parametrize("source", IMPORTS)
def test_the_top_level_may(source: str) -> None:
    """The integration's own modules are Home Assistant's side."""
    assert not banned(f"{INTEGRATION}/probe.py", source + "\n")


def test_no_module_of_the_model_or_the_client_does() -> None:
    """Today's tree passes: what the rule refuses is not there."""
    for folder in ("model", "envoy_client"):
        for module in (ROOT / INTEGRATION / folder).glob("*.py"):
            assert not banned(str(module.relative_to(ROOT)), module.read_text()), module
