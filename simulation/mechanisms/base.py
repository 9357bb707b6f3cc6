"""What every mechanism shares: a declared context, its own random stream, one ``step(t)``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simulation.config import Config
from simulation.population import POS_TRADER, Economy
from simulation.signals import Signals
from simulation.state import State, Streams


@dataclass(frozen=True)
class Context:
    """Everything a mechanism may use, and nothing else.

    Attributes:
        eco: the economy: fixed arrays of firms, positions and edges, and calm constants
            (prices, GDP, employment).
        state: the mutable arrays (stocks, pipelines, edge status, prices, this week's flows).
        signals: the typed record mechanisms publish to one another (controls in force,
            enforcement, detections, the pain series, calm references, ...).
        config: the validated config, read-only (each mechanism reads its own section, the
            world data and the states' policies).
        streams: the random streams; a mechanism takes the one of its own name.
    """

    eco: Economy
    state: State
    signals: Signals
    config: Config
    streams: Streams


class Mechanism:
    """A submodel with its own random stream (common random numbers across strategies).

    A mechanism reads and writes the state's arrays and the signals, and reads the economy
    and the config; it never reads another mechanism or the recorder. Subclasses set
    ``name`` (also the name of their random stream) and define :meth:`step`.

    Args:
        ctx: the model's :class:`Context`.
    """

    name = "mechanism"

    def __init__(self, ctx: Context):
        self.eco, self.state, self.signals, self.config = ctx.eco, ctx.state, ctx.signals, ctx.config
        self.rng = ctx.streams[self.name]

    def step(self, t: int) -> None:  # pragma: no cover - each mechanism defines it
        """Advance week ``t`` (0-based)."""
        raise NotImplementedError


def position_ceilings(eco: Economy, cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """Dependence ceilings per position: the final level (NaN: none) and the step by which
    it is reached (0: at once). Used by the market (receipts cap) and diversification."""
    e = eco
    n_com = len(e.commodities)
    final = np.full(e.n_cc, np.nan)
    end = np.zeros(e.n_cc)
    for k, country in enumerate(e.countries):
        pol = cfg.policy_of(country)
        for j, com in enumerate(e.commodities):
            c = cfg.ceiling_of(country, com)
            if c is not None:
                final[k * n_com + j] = c
                end[k * n_com + j] = cfg.step_of(pol.dependence_ceiling_date) if pol.dependence_ceiling_date else 0
    cc = e.pos_cc
    buyer = e.pos_kind != POS_TRADER
    return np.where(buyer, final[cc], np.nan), end[cc]


def ceiling_at(final: np.ndarray, end: np.ndarray, t: int) -> np.ndarray:
    """Ceilings in force at step ``t`` (1 where none): linear from 1 to the final level."""
    left = np.where(end > 0, np.clip(1.0 - (t + 1) / np.maximum(end, 1), 0.0, 1.0), 0.0)
    return np.where(np.isnan(final), 1.0, final + (1.0 - np.nan_to_num(final)) * left)


class SettledPath:
    """``value(t)`` of a path that stops moving once every phase-in is over (``t + 1 >= settled``,
    with ``settled`` the latest end step): computed each step before, once for all steps after.
    Policy ramps (ceilings, stockpile and recycling targets) are such paths.

    The array returned is shared between calls: read it, do not modify it.
    """

    def __init__(self, value: Callable[[int], np.ndarray], ends: np.ndarray):
        self.value = value
        self.settled = int(np.ceil(np.max(ends, initial=0)))
        self._final: np.ndarray | None = None

    def at(self, t: int) -> np.ndarray:
        if t + 1 < self.settled:
            return self.value(t)
        if self._final is None:
            self._final = self.value(t)
        return self._final


def ceiling_path(final: np.ndarray, end: np.ndarray) -> SettledPath:
    """:func:`ceiling_at` of fixed ``final`` and ``end`` arrays, step by step."""
    return SettledPath(lambda t: ceiling_at(final, end, t), end)
