"""Config flow for the Enphase Envoy Legacy integration."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo

from .const import CONF_SERIAL, DOMAIN, LOGGER
from .envoy_client import (
    TOKEN_FIRMWARE_MAJOR,
    EnvoyClient,
    EnvoyError,
    EnvoyHostError,
    EnvoyInfo,
    base_url,
    credentials_of,
    host_address,
)
from .errors import reason
from .naming import entry_title
from .repairs import replace_envoy

USER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_HOST): TextSelector(),
        vol.Required(CONF_SERIAL): TextSelector(),
    }
)
RECONFIGURE_SCHEMA = vol.Schema({vol.Required(CONF_HOST): TextSelector()})
# Asked only when the Envoy refuses both passwords derived from its serial (an owner changed
# its password): the derived ones are always tried first.
CREDENTIALS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_USERNAME): TextSelector(),
        vol.Required(CONF_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
    }
)


def _is_ip_address(host: str) -> bool:
    """Return True when a configured host is an IP address (with or without a port)."""
    address = base_url(host).raw_host or ""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _host(typed: str) -> str:
    """Return the host to keep for what a user typed: the address alone (``host_address``).

    What is no address is returned trimmed, for the check to refuse it on the form.
    """
    try:
        return host_address(typed)
    except EnvoyHostError:
        return typed.strip()


def _given_credentials(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Return the username (trimmed) and password a user typed, for the entry's data."""
    return {
        CONF_USERNAME: str(user_input[CONF_USERNAME]).strip(),
        CONF_PASSWORD: str(user_input[CONF_PASSWORD]),
    }


class WrongSerialError(Exception):
    """The Envoy at the host reports another serial than the one typed."""


class EnvoyLegacyConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up an Envoy by host and serial, typed or discovered."""

    VERSION = 1
    # 1.2: titles without the serial's last six characters (see naming.py).
    # 1.3: no options (the polling interval and keep-alive switch are gone).
    MINOR_VERSION = 3

    def __init__(self) -> None:
        """Start with nothing discovered."""
        self._discovered: dict[str, str] = {}
        # Host and serial waiting for credentials of the user's own (async_step_credentials).
        self._refused: dict[str, str] = {}
        # The host and serial of the Envoy that replaces this entry's (async_step_replace).
        self._replacing: dict[str, str] = {}

    async def _async_validate(
        self, host: str, serial: str, credentials: tuple[str, str] | None
    ) -> EnvoyInfo:
        """Read the Envoy the way the integration will; raise on any problem."""
        client = EnvoyClient(
            host, serial, async_get_clientsession(self.hass), credentials=credentials
        )
        info = await client.info()
        if info.serial != serial:
            raise WrongSerialError(info.serial)
        await client.update()
        return info

    async def _async_try(
        self, host: str, serial: str, credentials: tuple[str, str] | None = None
    ) -> tuple[EnvoyInfo | None, dict[str, str], dict[str, str]]:
        """Validate host and serial; return the Envoy's info, or the errors for the form.

        Without ``credentials`` the passwords derived from the serial are tried.
        """
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        try:
            info = await self._async_validate(host, serial, credentials)
        except EnvoyHostError:
            errors[CONF_HOST] = "invalid_host"
        except WrongSerialError as err:
            errors[CONF_SERIAL] = "wrong_serial"
            placeholders["found"] = str(err)
        except EnvoyError as err:
            # What the failure means, in the user's language: never the client's message,
            # which may hold the address or the Envoy's challenge (see errors.py).
            LOGGER.debug("Checking the Envoy failed: %s", err)
            errors["base"] = reason(err).value
        except Exception:  # noqa: BLE001 - anything else must still end in a form, not a crash
            LOGGER.exception("Unexpected error while validating the Envoy")
            errors["base"] = "unknown"
        else:
            return info, errors, placeholders
        return None, errors, placeholders

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the host and serial and check them."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            user_input = {
                CONF_HOST: _host(user_input[CONF_HOST]),
                CONF_SERIAL: user_input[CONF_SERIAL].strip(),
            }
            info, errors, placeholders = await self._async_try(
                user_input[CONF_HOST], user_input[CONF_SERIAL]
            )
            if info is not None:
                return await self._async_create(info, user_input)
            if errors == {"base": "invalid_auth"}:
                self._refused = user_input
                return await self.async_step_credentials()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """Offer an Envoy announced on the network; follow a known one to its new address."""
        serial = str(discovery_info.properties.get("serialnum") or "")
        if not serial:
            return self.async_abort(reason="not_envoy")
        version = str(discovery_info.properties.get("protovers") or "")
        major = version.split(".", 1)[0]
        if major.isdigit() and int(major) >= TOKEN_FIRMWARE_MAJOR:
            LOGGER.debug(
                "Ignoring a discovered Envoy: firmware %s uses token authentication", version
            )
            return self.async_abort(reason="unsupported_firmware")
        if discovery_info.ip_address.version != 4:  # noqa: PLR2004 - IPv4
            # Envoys announce link-local IPv6 addresses too; the IPv4 announcement follows.
            return self.async_abort(reason="not_ipv4_address")
        host = discovery_info.host
        if discovery_info.port not in (None, 80):
            host = f"{host}:{discovery_info.port}"
        await self.async_set_unique_id(serial)
        # A known Envoy at a new address: follow it, unless the user gave it a host name.
        entry = self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, serial)
        follow = entry is not None and _is_ip_address(entry.data[CONF_HOST])
        self._abort_if_unique_id_configured(updates={CONF_HOST: host} if follow else None)
        self._discovered = {CONF_HOST: host, CONF_SERIAL: serial}
        self.context["title_placeholders"] = {"serial": serial, "host": host}
        return await self.async_step_zeroconf_confirm()

    async def async_step_zeroconf_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the discovered Envoy; once the user confirms, check it as the user step does."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        host, serial = self._discovered[CONF_HOST], self._discovered[CONF_SERIAL]
        if user_input is not None:
            info, errors, placeholders = await self._async_try(host, serial)
            if info is not None:
                return self.async_create_entry(
                    title=entry_title(info.serial), data={CONF_HOST: host, CONF_SERIAL: serial}
                )
            if errors == {"base": "invalid_auth"}:
                self._refused = dict(self._discovered)
                return await self.async_step_credentials()
            # The form has no fields: an error about one (another Envoy now answers at the
            # announced address) is about the whole form.
            (error,) = errors.values()
            errors = {"base": error}
        self._set_confirm_only()
        return self.async_show_form(
            step_id="zeroconf_confirm",
            errors=errors,
            description_placeholders={"serial": serial, "host": host, **placeholders},
        )

    async def _async_create(self, info: EnvoyInfo, data: dict[str, str]) -> ConfigFlowResult:
        """Create the entry for a checked Envoy, unless it is configured already."""
        await self.async_set_unique_id(info.serial, raise_on_progress=False)
        self._abort_if_unique_id_configured()
        return self.async_create_entry(title=entry_title(info.serial), data=data)

    async def async_step_credentials(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a username and password when the Envoy refuses both derived ones."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        host, serial = self._refused[CONF_HOST], self._refused[CONF_SERIAL]
        if user_input is not None:
            given = _given_credentials(user_input)
            info, errors, placeholders = await self._async_try(host, serial, credentials_of(given))
            if info is not None:
                return await self._async_create(info, {**self._refused, **given})
        return self.async_show_form(
            step_id="credentials",
            data_schema=self.add_suggested_values_to_schema(
                CREDENTIALS_SCHEMA, {CONF_USERNAME: (user_input or {}).get(CONF_USERNAME, "")}
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start re-authentication when the Envoy refuses the derived passwords."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a username and password; the derived ones are tried first, silently.

        When the derived passwords work again, the entry goes back to them (what the user
        typed is dropped); otherwise what the user typed is checked and kept.
        """
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        entry = self._get_reauth_entry()
        host, serial = _host(entry.data[CONF_HOST]), entry.data[CONF_SERIAL]
        if user_input is not None:
            derived = {CONF_HOST: host, CONF_SERIAL: serial}
            info, _, _ = await self._async_try(host, serial)
            if info is not None:
                return self.async_update_reload_and_abort(entry, data=derived)
            given = _given_credentials(user_input)
            info, errors, placeholders = await self._async_try(host, serial, credentials_of(given))
            if info is not None:
                return self.async_update_reload_and_abort(entry, data={**derived, **given})
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(
                CREDENTIALS_SCHEMA,
                {CONF_USERNAME: (user_input or entry.data).get(CONF_USERNAME, "")},
            ),
            errors=errors,
            description_placeholders={"serial": serial, **placeholders},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the Envoy's address; another Envoy there may replace this one."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        entry = self._get_reconfigure_entry()
        if user_input is not None:
            host = _host(user_input[CONF_HOST])
            info, errors, placeholders = await self._async_try(
                host, entry.data[CONF_SERIAL], credentials_of(entry.data)
            )
            if info is not None:
                return self.async_update_reload_and_abort(entry, data_updates={CONF_HOST: host})
            if (found := placeholders.get("found")) is not None:
                # Another Envoy answers there: read it as itself, then offer to replace.
                new, errors, placeholders = await self._async_try(host, found)
                if new is not None:
                    self._replacing = {CONF_HOST: host, CONF_SERIAL: found}
                    return await self.async_step_replace()
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                RECONFIGURE_SCHEMA, user_input or {CONF_HOST: entry.data[CONF_HOST]}
            ),
            errors=errors,
            description_placeholders={"serial": entry.data[CONF_SERIAL], **placeholders},
        )

    async def async_step_replace(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm that the Envoy found replaces this entry's, whose history it continues."""
        entry = self._get_reconfigure_entry()
        old, new = entry.data[CONF_SERIAL], self._replacing[CONF_SERIAL]
        if (other := self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, new)) and (
            other.entry_id != entry.entry_id
        ):
            return self.async_abort(
                reason="replacement_configured", description_placeholders={"found": new}
            )
        if user_input is not None:
            updates = replace_envoy(self.hass, entry, new, self._replacing[CONF_HOST])
            return self.async_update_reload_and_abort(entry, reason="replaced", **updates)
        return self.async_show_form(
            step_id="replace", description_placeholders={"old": old, "new": new}
        )
