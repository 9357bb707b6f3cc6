"""Escalation: China's position on the ladder and the measures in force.

Scripted mode follows the dated moves of ``escalation.script``; the level of a week is
that of the last move dated on or before the end of that week's first day range
(:meth:`Config.step_of`). Measures are cumulative: level L puts in force the measures of
levels 1..L.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.config import Measure
from simulation.mechanisms.base import Mechanism


@dataclass(frozen=True)
class ControlSpec:
    """The export-control regime on one commodity towards the target."""

    approval_probability: float
    military_approval_probability: float
    delay_weeks: float
    license_validity_weeks: float
    all_end_uses: bool


def measures_in_force(levels, level: int) -> list[Measure]:
    """All measures of levels 1..level (level 0 is calm)."""
    return [m for lvl in levels[1 : level + 1] for m in lvl.measures]


def control_specs(measures: list[Measure], commodities: dict) -> dict[str, ControlSpec]:
    """The most restrictive export control per commodity among the measures."""
    specs: dict[str, ControlSpec] = {}
    for m in measures:
        if m.kind != "export_control":
            continue
        if isinstance(m.commodities, list):
            scope = m.commodities
        elif m.commodities == "all":
            scope = list(commodities)
        elif m.commodities == "dual_use":
            scope = [c for c, com in commodities.items() if com.dual_use]
        else:
            scope = [c for c, com in commodities.items() if com.rare_earth]
        for c in scope:
            new = ControlSpec(
                m.approval_probability if m.end_use == "all" else 1.0,
                m.military_approval_probability,
                m.delay_weeks,
                m.license_validity_weeks,
                m.end_use == "all",
            )
            old = specs.get(c)
            if old is not None:
                new = ControlSpec(
                    min(old.approval_probability, new.approval_probability),
                    min(old.military_approval_probability, new.military_approval_probability),
                    max(old.delay_weeks, new.delay_weeks),
                    min(old.license_validity_weeks, new.license_validity_weeks),
                    old.all_end_uses or new.all_end_uses,
                )
            specs[c] = new
    return specs


class Escalation(Mechanism):
    """Moves China on the ladder and publishes the measures in force.

    Publishes on the model: ``level``, ``stage`` (level name), ``measures`` (list),
    ``controls`` (commodity -> :class:`ControlSpec`), ``secondary_boycott`` (bool),
    ``enforcement`` (0-1), ``trade_ban_loss_share`` (share of the target's GDP a year).
    """

    name = "escalation"

    def __init__(self, model):
        super().__init__(model)
        cfg = model.config
        esc = cfg.escalation
        self.levels = esc.levels
        self.script_steps = np.array([cfg.step_of(ev.date) for ev in esc.script], dtype=int)
        self.script_levels = np.array([ev.level for ev in esc.script], dtype=int)
        self.script_end = int(self.script_steps.max()) if len(self.script_steps) else -1
        self.endogenous = esc.mode == "endogenous" or esc.after_script == "endogenous"
        self._apply(0)

    def scripted_level(self, step: int) -> int | None:
        """Level set by the script for ``step``, or None before the first move."""
        hit = np.flatnonzero(self.script_steps <= step)
        return int(self.script_levels[hit[-1]]) if len(hit) else None

    def step(self) -> None:
        m = self.model
        t = m.t
        if m.config.escalation.mode == "scripted" or t <= self.script_end:
            lvl = self.scripted_level(t)
            if lvl is not None and lvl != m.level:
                self._apply(lvl)

    def _apply(self, level: int) -> None:
        m = self.model
        m.level = level
        m.stage = self.levels[level].name
        m.measures = measures_in_force(self.levels, level)
        m.controls = control_specs(m.measures, m.config.world.commodities)
        boycott = [x for x in m.measures if x.kind == "secondary_boycott"]
        m.secondary_boycott = bool(boycott)
        m.enforcement = max((x.enforcement for x in boycott), default=0.0)
        m.trade_ban_loss_share = sum(
            x.target_loss_share_gdp_per_year for x in m.measures if x.kind == "trade_ban"
        )
