"""credentials.py: the owner's credentials in an entry's data, and the derived users."""

from __future__ import annotations

from homeassistant.const import CONF_PASSWORD, CONF_USERNAME

from custom_components.enphase_envoy_legacy.envoy_client import credentials_of, installer_password
from custom_components.enphase_envoy_legacy.envoy_client.credentials import (
    PASSWORD,
    USERNAME,
    derived_credentials,
)


def test_the_keys_are_home_assistants() -> None:
    """The client spells Home Assistant's keys itself, so that it does not import it."""
    assert (USERNAME, PASSWORD) == (CONF_USERNAME, CONF_PASSWORD)


def test_credentials_of_an_entry() -> None:
    """Both keys give the owner's credentials (as text); either one missing gives none."""
    data = {"host": "192.0.2.1", CONF_USERNAME: "owner", CONF_PASSWORD: "sunny-roof-42"}
    assert credentials_of(data) == ("owner", "sunny-roof-42")
    assert credentials_of({CONF_USERNAME: 7, CONF_PASSWORD: 42}) == ("7", "42")
    assert credentials_of({"host": "192.0.2.1", CONF_USERNAME: "owner"}) is None
    assert credentials_of({CONF_PASSWORD: "sunny-roof-42"}) is None


def test_derived_credentials() -> None:
    """Without the owner's, envoy (the serial's last six) then installer are tried."""
    serial = "121621012167"
    assert derived_credentials(serial) == [
        ("envoy", "012167"),
        ("installer", installer_password(serial)),
    ]
