"""Names for an Envoy's entry that reveal nothing of its serial number.

The last six characters of an Envoy's serial are the password of its ``envoy`` user, and
users paste Home Assistant's logs into public bug reports. Home Assistant writes an entry's
title into its own log lines (a failed setup, for one), and this integration names its
coordinator, which Home Assistant logs with every failed poll: neither may hold the serial.
This module has no Home Assistant imports.
"""

from __future__ import annotations

from typing import Final

# The password is the serial's last six characters: only what comes before them is shown.
PASSWORD_LENGTH: Final = 6
MASK: Final = "*" * PASSWORD_LENGTH


def entry_title(serial: str) -> str:
    """Return a new entry's title: the Envoy's serial without its last six characters."""
    return f"Envoy {serial[:-PASSWORD_LENGTH]}{MASK}"


def legacy_title(serial: str) -> str:
    """Return the title the first releases gave an entry (the whole serial in it)."""
    return f"Envoy {serial}"


def entry_tag(entry_id: str) -> str:
    """Return what names an entry in log lines: the end of its id, nothing of the serial."""
    return f"entry {entry_id[-6:]}"
