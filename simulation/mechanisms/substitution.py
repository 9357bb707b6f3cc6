"""Substitution and thrift: material per unit of output falls under price pressure.

Each manufacturer's input intensity (1 at the start) moves toward
``1 - reach * pressure``, where ``pressure = clip(price_ema / calm - 1, 0, 1)`` (full at a
doubled price; the price is smoothed over 13 weeks, the lag) and
``reach = substitutability_share * (1 + substitution_boost)`` (at most 0.9). It falls by at
most ``substitution_share_per_year * (1 + boost) / 52`` a week and never rises again:
reduced-neodymium magnets and rare-earth-free motors, once adopted, stay.
"""

from __future__ import annotations

import numpy as np

from simulation.mechanisms.base import Mechanism, span
from simulation.population import POS_MANUFACTURER

LAG_WEEKS = 13.0


class Substitution(Mechanism):
    """Input intensity of manufacturers."""

    name = "substitution"

    def __init__(self, model):
        super().__init__(model)
        e, cfg = model.eco, model.config
        self.pos = np.flatnonzero(e.pos_kind == POS_MANUFACTURER)
        com = e.pos_commodity[self.pos]
        coms = [cfg.world.commodities[c] for c in e.commodities]
        boost = np.array([cfg.policy_of(c).substitution_boost for c in e.countries])[e.pos_country[self.pos]]
        self.reach = np.minimum(0.9, np.array([c.substitutability_share for c in coms])[com] * (1 + boost))
        self.pace = np.array([c.substitution_share_per_year for c in coms])[com] * (1 + boost) / 52.0
        self.com = com
        self.price_ema = np.ones(len(coms))
        rd = np.array([cfg.policy_of(c).substitution_rd_usd_per_year for c in e.countries])
        self.rd_week = rd / 52.0
        self._pos = span(e.pos_kind == POS_MANUFACTURER)  # a contiguous range: a slice
        self._com = com.astype(np.intp)

    def step(self) -> None:
        m, s = self.model, self.model.state
        self.price_ema += (s.price / m.market.p0 - self.price_ema) / LAG_WEEKS
        pressure = np.clip(self.price_ema - 1.0, 0.0, 1.0).take(self._com)
        goal = self.reach * pressure
        np.subtract(1.0, goal, out=goal)
        cur = s.intensity[self._pos]
        # where(goal < cur, max(goal, cur - pace), cur): the intensity only falls, by at most pace
        step = cur - self.pace
        np.maximum(goal, step, out=step)
        s.intensity[self._pos] = np.minimum(cur, step, out=step)
        s.policy_cost_usd += self.rd_week
