"""Config flow for the Enphase Envoy Legacy integration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import TextSelector

from .const import CONF_SERIAL, DOMAIN, LOGGER
from .envoy_client import (
    EnvoyAuthenticationError,
    EnvoyBadDataError,
    EnvoyClient,
    EnvoyError,
    EnvoyHostError,
    EnvoyInfo,
    EnvoyUnsupportedFirmwareError,
)


class WrongSerialError(Exception):
    """The Envoy at the host reports another serial than the one typed."""


class EnvoyLegacyConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up an Envoy by host and serial."""

    VERSION = 1
    MINOR_VERSION = 1

    async def _async_validate(self, host: str, serial: str) -> EnvoyInfo:
        """Read the Envoy the way the integration will; raise on any problem."""
        client = EnvoyClient(host, serial, async_get_clientsession(self.hass))
        info = await client.info()
        if info.serial != serial:
            raise WrongSerialError(info.serial)
        await client.update()
        return info

    async def _async_try(
        self, user_input: dict[str, Any]
    ) -> tuple[EnvoyInfo | None, dict[str, str], dict[str, str]]:
        """Validate the input; return the Envoy's info or the errors for the form."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        try:
            info = await self._async_validate(user_input[CONF_HOST], user_input[CONF_SERIAL])
        except EnvoyHostError:
            errors[CONF_HOST] = "invalid_host"
        except WrongSerialError as err:
            errors[CONF_SERIAL] = "wrong_serial"
            placeholders["found"] = str(err)
        except EnvoyAuthenticationError:
            errors["base"] = "invalid_auth"
        except EnvoyUnsupportedFirmwareError as err:
            errors["base"] = "unsupported_firmware"
            placeholders["error"] = str(err)
        except EnvoyBadDataError as err:
            errors["base"] = "invalid_response"
            placeholders["error"] = str(err)
        except EnvoyError as err:
            errors["base"] = "cannot_connect"
            placeholders["error"] = str(err)
        except Exception:  # noqa: BLE001 - anything else must still end in a form, not a crash
            LOGGER.exception("Unexpected error while validating the Envoy")
            errors["base"] = "unknown"
        else:
            return info, errors, placeholders
        return None, errors, placeholders

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the host and serial, and check them against the Envoy."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            user_input = {
                CONF_HOST: user_input[CONF_HOST].strip(),
                CONF_SERIAL: user_input[CONF_SERIAL].strip(),
            }
            info, errors, placeholders = await self._async_try(user_input)
            if info is not None:
                await self.async_set_unique_id(info.serial)
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title=f"Envoy {info.serial}", data=user_input)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_HOST): TextSelector(),
                        vol.Required(CONF_SERIAL): TextSelector(),
                    }
                ),
                user_input,
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
        """Check the Envoy again once the user has sorted out its users."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        entry = self._get_reauth_entry()
        if user_input is not None:
            info, errors, placeholders = await self._async_try(dict(entry.data))
            if info is not None:
                return self.async_update_reload_and_abort(entry)
        return self.async_show_form(
            step_id="reauth_confirm",
            errors=errors,
            description_placeholders={"serial": entry.data[CONF_SERIAL], **placeholders},
        )
