"""Each simulated panel's character, and the weather: why the panels of one site differ.

A panel's *factor* on a local date is what it makes there relative to a clear day's share of
the site's power: its ``PanelCharacter`` (where it faces, a fixed shade, an output lost from
some date until repaired) times the day's ``Weather`` (clouds over the whole site, and a
little of each panel's own). A factor is constant within a local day, so the simulator keeps
a panel's energy the site's integral times the panel's share times its factor: cheap.

``panel_factor`` computes one factor from given clouds and jitter (property tests draw
those); ``factors`` gives every panel's on a date, the weather drawn from its seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

# An overcast day leaves at most this share of a clear one, a bright day at least BROKEN.
OVERCAST: Final = 0.5
BROKEN: Final = 0.7

# The demo site (``--character``): three rows, one panel under a chimney, one that loses
# DEMO_LOSS from DEMO_LOSS_AFTER after the start (see demo_loss_day).
DEMO_ROWS: Final = (0.8, 1.0, 0.85)  # east, south, west
DEMO_SHADE: Final = 0.7
DEMO_LOSS: Final = 0.35
DEMO_LOSS_AFTER: Final = timedelta(days=11)


def _positive(value: float) -> bool:
    """Return True for a finite number above 0."""
    return math.isfinite(value) and value > 0


@dataclass(frozen=True, kw_only=True)
class PanelCharacter:
    """What makes one panel differ from a south-facing one in the open, day after day.

    ``orientation``: its yield relative to a south-facing panel (0.8: an east row).
    ``shade``: the share a fixed shade leaves it (0.7: a chimney every afternoon).
    ``loss``: the share it loses from the local date ``lost_from`` on, until the local date
    ``repaired`` (None: never).
    """

    orientation: float = 1.0
    shade: float = 1.0
    loss: float = 0.0
    lost_from: date | None = None
    repaired: date | None = None

    def __post_init__(self) -> None:
        """Refuse a character no panel can have."""
        if not _positive(self.orientation):
            raise ValueError("a panel's orientation is a yield above 0")
        if not (_positive(self.shade) and self.shade <= 1):
            raise ValueError("a shade leaves a share in (0, 1]")
        if not 0 <= self.loss <= 1:
            raise ValueError("a loss is a share in [0, 1]")
        if self.repaired is not None and (
            self.lost_from is None or self.repaired <= self.lost_from
        ):
            raise ValueError("a panel is repaired after it lost output")

    def degraded(self, day: date) -> bool:
        """Return True when the panel has lost its ``loss`` on ``day``."""
        if self.lost_from is None or day < self.lost_from:
            return False
        return self.repaired is None or day < self.repaired

    def factor(self, day: date) -> float:
        """Return what the panel makes on a clear ``day`` relative to a south-facing one."""
        kept = 1 - self.loss if self.degraded(day) else 1.0
        return self.orientation * self.shade * kept


PLAIN: Final = PanelCharacter()


@dataclass(frozen=True, kw_only=True)
class Weather:
    """Clouds from day to day: the same on every run for a seed.

    Each local date has a site-wide factor: overcast (in [``dullest``, OVERCAST)) on about a
    ``dull`` share of the days, bright (in [BROKEN, 1]) on the others. Each panel's own
    clouds move it within ±``jitter`` of that.
    """

    seed: int = 0
    dull: float = 0.2
    dullest: float = 0.1
    jitter: float = 0.05

    def __post_init__(self) -> None:
        """Refuse weather that is not a share of a clear day."""
        if not 0 <= self.dull <= 1:
            raise ValueError("the share of dull days is in [0, 1]")
        if not (_positive(self.dullest) and self.dullest < OVERCAST):
            raise ValueError(f"the dullest day leaves a share in (0, {OVERCAST})")
        if not 0 <= self.jitter < 1:
            raise ValueError("a panel's own clouds move it by a share in [0, 1)")

    def clouds(self, day: date) -> float:
        """Return the share of a clear day the whole site gets on ``day``."""
        draw = random.Random(f"{self.seed}/{day.isoformat()}")
        if draw.random() < self.dull:
            return draw.uniform(self.dullest, OVERCAST)
        return draw.uniform(BROKEN, 1.0)

    def spread(self, day: date, panel: int) -> float:
        """Return panel ``panel``'s own share of the day's clouds: within ±``jitter`` of 1."""
        draw = random.Random(f"{self.seed}/{day.isoformat()}/{panel}")
        return draw.uniform(1 - self.jitter, 1 + self.jitter)


def panel_factor(
    character: PanelCharacter, day: date, *, clouds: float = 1.0, spread: float = 1.0
) -> float:
    """Return a panel's factor on ``day`` under the site's ``clouds`` and its own ``spread``."""
    return character.factor(day) * clouds * spread


def factors(
    characters: Sequence[PanelCharacter] | None, weather: Weather | None, day: date, count: int
) -> list[float]:
    """Return the factor of each of ``count`` panels (by record index) on ``day``.

    A panel beyond ``characters`` (or without any) is a plain south-facing one; without
    weather every day is clear.
    """
    own = list(characters or ())[:count]
    own += [PLAIN] * (count - len(own))
    if weather is None:
        return [panel_factor(character, day) for character in own]
    clouds = weather.clouds(day)
    return [
        panel_factor(character, day, clouds=clouds, spread=weather.spread(day, index))
        for index, character in enumerate(own)
    ]


def demo_characters(count: int, start: date) -> list[PanelCharacter]:
    """Return the demo site's ``count`` panels, for a site started on ``start``.

    An east, a south and a west row (in record order); the first panel under a chimney; the
    middle one losing DEMO_LOSS from ``demo_loss_day(start)`` on.
    """
    lost_from = demo_loss_day(start)
    return [
        PanelCharacter(
            orientation=DEMO_ROWS[index * len(DEMO_ROWS) // count],
            shade=DEMO_SHADE if index == 0 else 1.0,
            loss=DEMO_LOSS if index == count // 2 else 0.0,
            lost_from=lost_from if index == count // 2 else None,
        )
        for index in range(count)
    ]


def demo_loss_day(start: date) -> date:
    """Return the day the demo's panel starts losing output: some days after ``start``.

    Late enough for the integration to have learnt every panel's normal first: its first
    day is not whole, a normal needs BASELINE_DAYS judged days (model/output.py), and dull
    days are not judged. A loss from the start would be learnt as the panel's normal.
    """
    return start + DEMO_LOSS_AFTER
