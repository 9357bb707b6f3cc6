"""Substitution and thrift: material per unit of output falls under price pressure.

Each manufacturer's input intensity (1 at the start) moves toward
``1 - reach * pressure``, where ``pressure = clip(price_ema / calm - 1, 0, 1)`` (full at a
doubled price; the price is smoothed over ``world.substitution.price_lag_weeks``, 13, the lag)
and ``reach = substitutability_share * (1 + substitution_boost)`` (at most
``world.substitution.reach_cap_share``, 0.9). It falls by at
most ``substitution_share_per_year * (1 + boost) / 52`` a week and never rises again:
reduced-neodymium magnets and rare-earth-free motors, once adopted, stay.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from simulation.kernels import implementation, kernel, maximum, minimum, span
from simulation.mechanisms.base import Context, Mechanism
from simulation.population import POS_MANUFACTURER


class SubstitutionFixed(NamedTuple):
    """What the substitution kernel reads that never changes."""

    p0: np.ndarray  # calm price per commodity
    cc_com: np.ndarray  # per country-commodity: its commodity
    reach_cc: np.ndarray  # per country-commodity: the largest fall of the intensity
    pace_cc: np.ndarray  # per country-commodity: the largest fall a week
    cc: np.ndarray  # per manufacturers' position: its country-commodity
    rd_week: np.ndarray  # per country: R&D cost, USD/week
    lag_weeks: float  # the price's smoothing time (world.substitution.price_lag_weeks)


class SubstitutionMemory(NamedTuple):
    """Carried from week to week."""

    price_ema: np.ndarray  # smoothed price / calm price, per commodity
    intensity_cc: np.ndarray  # per country-commodity
    changed: np.ndarray  # scratch: which country-commodities changed this week


@kernel
def _substitution_kernel(fx, memory, price, intensity, policy_cost_usd):
    """The smoothed price per commodity, the intensity per country-commodity (``fx.cc_com``: its
    commodity; ``changed``: scratch) and at the manufacturers' positions (``fx.cc``,
    ``intensity``: theirs; only those that changed are written), and the R&D cost, in place.
    (Clips and extremes as numpy's: NaN wins.) :func:`substitution_reference` in numpy."""
    p0, cc_com, reach_cc, pace_cc, cc, rd_week = fx.p0, fx.cc_com, fx.reach_cc, fx.pace_cc, fx.cc, fx.rd_week
    price_ema, intensity_cc, changed = memory.price_ema, memory.intensity_cc, memory.changed
    for j in range(len(price_ema)):
        price_ema[j] += (price[j] / p0[j] - price_ema[j]) / fx.lag_weeks
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
    if np.any(changed):  # else no position's intensity changes (every calm week)
        for i in range(len(intensity)):
            if changed[cc[i]]:
                intensity[i] = intensity_cc[cc[i]]
    for k in range(len(policy_cost_usd)):
        policy_cost_usd[k] += rd_week[k]


def substitution_reference(fx: SubstitutionFixed, memory: SubstitutionMemory, price: np.ndarray,
                           intensity: np.ndarray, policy_cost_usd: np.ndarray) -> None:
    """:func:`_substitution_kernel` in numpy."""
    price_ema, intensity_cc, changed = memory.price_ema, memory.intensity_cc, memory.changed
    price_ema += (price / fx.p0 - price_ema) / fx.lag_weeks
    goal = 1.0 - fx.reach_cc * np.clip(price_ema[fx.cc_com] - 1.0, 0.0, 1.0)
    new = np.minimum(intensity_cc, np.maximum(goal, intensity_cc - fx.pace_cc))
    changed[:] = new != intensity_cc
    intensity_cc[:] = new
    intensity[:] = np.where(changed[fx.cc], intensity_cc[fx.cc], intensity)
    policy_cost_usd += fx.rd_week


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
        cap = cfg.world.substitution.reach_cap_share
        reach_cc = np.minimum(cap, np.array([c.substitutability_share for c in coms])[cc_com] * (1 + boost))
        pace_cc = np.array([c.substitution_share_per_year for c in coms])[cc_com] * (1 + boost) / 52.0
        cc = e.pos_cc[self.pos]
        self.reach = reach_cc[cc]
        self.pace = pace_cc[cc]
        self.com = com
        self.price_ema = np.ones(n_com)
        rd = np.array([cfg.policy_of(c).substitution_rd_usd_per_year for c in e.countries])
        self.rd_week = rd / 52.0
        self._pos = span(e.pos_kind == POS_MANUFACTURER)
        assert isinstance(self._pos, slice), "manufacturers' positions must be contiguous"
        assert np.all(self.state.intensity[self._pos] == 1.0)
        self.memory = SubstitutionMemory(price_ema=self.price_ema, intensity_cc=np.ones(e.n_cc),
                                         changed=np.zeros(e.n_cc, bool))
        self.fixed = SubstitutionFixed(
            p0=e.price0, cc_com=cc_com.astype(np.min_scalar_type(n_com)), reach_cc=reach_cc,
            pace_cc=pace_cc, cc=cc.astype(np.min_scalar_type(e.n_cc)), rd_week=self.rd_week,
            lag_weeks=float(cfg.world.substitution.price_lag_weeks))
        self._kernel = implementation(_substitution_kernel, substitution_reference)

    def step(self, t: int) -> None:
        s = self.state
        self._kernel(self.fixed, self.memory, s.price, s.intensity[self._pos], s.policy_cost_usd)
