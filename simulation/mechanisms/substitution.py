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

from simulation.kernels import kernel, maximum, minimum, span
from simulation.mechanisms.base import Context, Mechanism
from simulation.population import POS_MANUFACTURER

LAG_WEEKS = 13.0


@kernel
def _substitution_kernel(price, p0, price_ema, cc_com, reach_cc, pace_cc, intensity_cc, changed, cc, intensity,
                         policy_cost_usd, rd_week):
    """The smoothed price per commodity, the intensity per country-commodity (``cc_com``: its
    commodity; ``changed``: scratch) and at the manufacturers' positions (``cc``,
    ``intensity``: theirs; only those that changed are written), and the R&D cost, in place.
    (Clips and extremes as numpy's: NaN wins.)"""
    for j in range(len(price_ema)):
        price_ema[j] += (price[j] / p0[j] - price_ema[j]) / LAG_WEEKS
    for c in range(len(intensity_cc)):
        pressure = price_ema[cc_com[c]] - 1.0  # clipped to [0, 1]
        if pressure < 0.0:
            pressure = 0.0
        if pressure > 1.0:
            pressure = 1.0
        goal = 1.0 - reach_cc[c] * pressure
        cur = intensity_cc[c]
        # where(goal < cur, max(goal, cur - pace), cur): the intensity only falls, by at most pace
        step = cur - pace_cc[c]
        step = maximum(goal, step)
        new = minimum(cur, step)
        changed[c] = new != cur
        intensity_cc[c] = new
    for i in range(len(intensity)):
        if changed[cc[i]]:
            intensity[i] = intensity_cc[cc[i]]
    for k in range(len(policy_cost_usd)):
        policy_cost_usd[k] += rd_week[k]


class Substitution(Mechanism):
    """Input intensity of manufacturers."""

    name = "substitution"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        e, cfg = self.eco, self.config
        self.pos = np.flatnonzero(e.pos_kind == POS_MANUFACTURER)
        com = e.pos_commodity[self.pos]
        coms = [cfg.world.commodities[c] for c in e.commodities]
        # reach and pace depend on the commodity and the country only, and so does the intensity (1 at
        # the start everywhere): it is computed per country-commodity, then copied to the positions
        n_com = len(coms)
        cc_com, cc_country = np.arange(e.n_cc) % n_com, np.arange(e.n_cc) // n_com
        boost = np.array([cfg.policy_of(c).substitution_boost for c in e.countries])[cc_country]
        self._reach_cc = np.minimum(0.9, np.array([c.substitutability_share for c in coms])[cc_com] * (1 + boost))
        self._pace_cc = np.array([c.substitution_share_per_year for c in coms])[cc_com] * (1 + boost) / 52.0
        cc = e.pos_cc[self.pos]
        self.reach = self._reach_cc[cc]
        self.pace = self._pace_cc[cc]
        self.com = com
        self.price_ema = np.ones(n_com)
        rd = np.array([cfg.policy_of(c).substitution_rd_usd_per_year for c in e.countries])
        self.rd_week = rd / 52.0
        self._pos = span(e.pos_kind == POS_MANUFACTURER)
        assert isinstance(self._pos, slice), "manufacturers' positions must be contiguous"
        assert np.all(self.state.intensity[self._pos] == 1.0)
        self._cc_com = cc_com.astype(np.min_scalar_type(n_com))
        self._cc = cc.astype(np.min_scalar_type(e.n_cc))
        self._intensity_cc = np.ones(e.n_cc)
        self._changed = np.zeros(e.n_cc, bool)  # scratch

    def step(self, t: int) -> None:
        s = self.state
        _substitution_kernel(s.price, self.eco.price0, self.price_ema, self._cc_com, self._reach_cc, self._pace_cc,
                             self._intensity_cc, self._changed, self._cc, s.intensity[self._pos], s.policy_cost_usd,
                             self.rd_week)
