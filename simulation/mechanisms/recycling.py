"""Recycling (urban mining): recovery capacity grows toward policy targets.

Per country and commodity: recovery capacity starts at ``recycled_share`` of use and, if
the state sets ``recycling_target_share`` with ``recycling_target_date``, grows linearly
to it by that date (never shrinks). Scrap accumulates at ``recyclability_share`` of last
week's use (the pool starts with 26 weeks of it); recovery takes ``min(capacity, pool)``
from the pool, so recycled supply never exceeds the recoverable stock. Recycled tonnes
are domestic, non-Chinese material delivered into the country's manufacturers' stocks in
proportion to their need. Capacity added beyond the starting level costs
``recycling_capex_price_multiple`` years of its output at calm prices (USD), to the state.
"""

from __future__ import annotations

import numpy as np

from simulation.kernels import kernel, maximum, minimum, span
from simulation.mechanisms.base import Context, Mechanism, SettledPath
from simulation.population import POS_MANUFACTURER


@kernel
def _recycling_kernel(goal, capacity, capex, country_of, policy_cost_usd, use, required, cc, recyclability,
                      pool, recycled_cc, recycled):
    """Capacity growth (its cost to the states), the scrap pool (fed by last week's ``use``,
    None in the first week), recovery, and recycled supply to the manufacturers' positions
    (``use``, ``required``, ``recycled``: theirs; ``cc``: their country-commodity), in place."""
    n_cc = len(capacity)
    cost = np.zeros(len(policy_cost_usd))
    for i in range(n_cc):
        g = goal[i]
        new_cap = maximum(g, capacity[i])
        cost[country_of[i]] += (new_cap - capacity[i]) * capex[i]
        capacity[i] = new_cap
    for k in range(len(cost)):
        policy_cost_usd[k] += cost[k]
    use_cc = np.zeros(n_cc)
    need_cc = np.zeros(n_cc)
    for j in range(len(required)):
        if use is not None:
            use_cc[cc[j]] += use[j]
        need_cc[cc[j]] += required[j]
    frac = np.zeros(n_cc)
    for i in range(n_cc):
        if use is not None:
            pool[i] += recyclability[i] * use_cc[i]
        cap = capacity[i]
        recovered = minimum(cap, pool[i])
        pool[i] -= recovered
        recycled_cc[i] = recovered
        if need_cc[i] > 0:
            frac[i] = recovered / need_cc[i]
    for j in range(len(required)):
        recycled[j] = required[j] * frac[cc[j]]


class Recycling(Mechanism):
    """Recovery capacity, scrap pools and recycled supply."""

    name = "recycling"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        e, cfg = self.eco, self.config
        n_com = len(e.commodities)
        self.manuf = e.pos_kind == POS_MANUFACTURER
        cc = e.pos_cc
        self.cc = cc
        self.use_week = np.bincount(cc[self.manuf], e.pos_base_use_t[self.manuf], minlength=e.n_cc)
        start = np.zeros(e.n_cc)
        target = np.zeros(e.n_cc)
        target_step = np.zeros(e.n_cc)
        capex = np.zeros(e.n_cc)
        recyclability = np.array([cfg.world.commodities[c].recyclability_share for c in e.commodities])
        p0 = np.array([cfg.world.commodities[c].price_usd_per_t for c in e.commodities])
        for k, country in enumerate(e.countries):
            pol = cfg.policy_of(country)
            ctry = cfg.world.countries[country]
            for j, com in enumerate(e.commodities):
                i = k * n_com + j
                cc_cfg = ctry.commodities.get(com)
                start[i] = cc_cfg.recycled_share if cc_cfg is not None else 0.0
                target[i] = max(start[i], pol.recycling_target_share if pol.recycling_target_share is not None
                                else start[i])
                target_step[i] = cfg.step_of(pol.recycling_target_date) if pol.recycling_target_date else 0
                capex[i] = pol.recycling_capex_price_multiple * p0[j] * 52.0  # USD per t/week of capacity
        self.start, self.target, self.target_step, self.capex = start, target, target_step, capex
        self.recyclability = recyclability[np.arange(e.n_cc) % n_com]
        self.pool = self.recyclability * self.use_week * 26.0
        self.capacity = start * self.use_week
        self.country_of = np.arange(e.n_cc) // n_com
        # fixed index arrays, gathered once (manufacturers' positions are a contiguous range)
        self._mf = span(self.manuf)
        assert isinstance(self._mf, slice), "manufacturers' positions must be contiguous"
        self._cc_mf = cc[self._mf].astype(np.min_scalar_type(e.n_cc))
        self._goal = SettledPath(lambda t: self.capacity_share(t) * self.use_week, self.target_step)  # t/week
        self.recycled_cc = np.zeros(e.n_cc)

    def capacity_share(self, t: int) -> np.ndarray:
        """Recovery capacity at step ``t``, share of use."""
        ramp = np.where(self.target_step > 0, np.minimum(1.0, (t + 1) / np.maximum(self.target_step, 1)), 1.0)
        return self.start + (self.target - self.start) * ramp

    def step(self, t: int) -> None:
        s = self.state
        # only manufacturers need material (elsewhere need and recycled supply stay 0)
        mf = self._mf
        _recycling_kernel(self._goal.at(t), self.capacity, self.capex, self.country_of, s.policy_cost_usd,
                          None if s.use is None else s.use[mf], s.required[mf], self._cc_mf, self.recyclability,
                          self.pool, self.recycled_cc, s.recycled[mf])
