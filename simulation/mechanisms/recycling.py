"""Recycling (urban mining): recovery capacity grows toward policy targets.

Per country and commodity: recovery capacity starts at ``recycled_share`` of use and, if
the state sets ``recycling_target_share`` with ``recycling_target_date``, grows linearly
to it by that date (never shrinks). Scrap accumulates at ``recyclability_share`` of the use
of ``product_life_weeks`` ago (the products that carry the material reach the end of their
life; before the run the use is the calm use, so scrap from products older than the run
does not fall with a shortage); the pool starts with ``world.recycling.initial_scrap_weeks``
(26) of it. Recovery takes ``min(capacity, pool)`` from the pool, so recycled supply never
exceeds the recoverable stock. Recycled tonnes
are domestic, non-Chinese material delivered into the country's manufacturers' stocks in
proportion to their need. Capacity added beyond the starting level costs the state the
commodity's ``recycling_capex_usd_per_t_per_year`` (USD per t/yr, from a published plant) or,
where none is given, ``recycling_capex_price_multiple`` years of its output at calm prices.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from simulation.kernels import implementation, kernel, maximum, minimum, span
from simulation.mechanisms.base import Context, Mechanism, SettledPath
from simulation.population import POS_MANUFACTURER


class RecyclingFixed(NamedTuple):
    """What the recycling kernel reads that never changes."""

    capex: np.ndarray  # per country-commodity: USD per t/week of capacity added
    country_of: np.ndarray  # per country-commodity: its country
    cc: np.ndarray  # per manufacturers' position: its country-commodity
    recyclability: np.ndarray  # per country-commodity: share of use that becomes scrap
    life: np.ndarray  # per country-commodity: weeks from use to scrap (the products' life)


class RecyclingStock(NamedTuple):
    """Per country-commodity, carried from week to week (``recycled_cc``: this week's)."""

    capacity: np.ndarray  # recovery capacity, t/week
    pool: np.ndarray  # scrap, t
    recycled_cc: np.ndarray  # recovered this week, t
    used: np.ndarray  # (weeks, country-commodity): past weeks' use, week w in row w % weeks (calm before the run)


class RecyclingWeek(NamedTuple):
    """The week's arrays of the recycling kernel (at the manufacturers' positions: ``required``,
    ``recycled``)."""

    goal: np.ndarray  # recovery capacity aimed at this week, per country-commodity, t/week
    policy_cost_usd: np.ndarray  # updated: the capacity's cost added
    required: np.ndarray
    recycled: np.ndarray  # updated: recycled supply


@kernel
def _recycling_kernel(fx, stock, wk, use, t):
    """Capacity growth (its cost to the states), the scrap pool (fed by the use of
    ``fx.life`` weeks before week ``t``: ``use`` is last week's at the manufacturers'
    positions, None in the first week, kept in ``stock.used``), recovery, and recycled supply
    to the manufacturers' positions (``fx.cc``: their country-commodity), in place
    (:func:`recycling_reference` in numpy)."""
    goal, capex, country_of, policy_cost_usd = wk.goal, fx.capex, fx.country_of, wk.policy_cost_usd
    required, cc, recyclability, recycled = wk.required, fx.cc, fx.recyclability, wk.recycled
    capacity, pool, recycled_cc = stock.capacity, stock.pool, stock.recycled_cc
    n_cc = len(capacity)
    cost = np.zeros(len(policy_cost_usd))
    for i in range(n_cc):
        g = goal[i]
        new_cap = maximum(g, capacity[i])
        cost[country_of[i]] += (new_cap - capacity[i]) * capex[i]
        capacity[i] = new_cap
    for k in range(len(cost)):
        policy_cost_usd[k] += cost[k]
    used, life = stock.used, fx.life
    weeks = used.shape[0]
    use_cc = np.zeros(n_cc)
    need_cc = np.zeros(n_cc)
    for j in range(len(required)):
        if use is not None:
            use_cc[cc[j]] += use[j]
        need_cc[cc[j]] += required[j]
    if use is not None:
        row = (t - 1) % weeks
        for i in range(n_cc):
            used[row, i] = use_cc[i]
    frac = np.zeros(n_cc)
    for i in range(n_cc):
        pool[i] += recyclability[i] * used[(t - life[i]) % weeks, i]
        cap = capacity[i]
        recovered = minimum(cap, pool[i])
        pool[i] -= recovered
        recycled_cc[i] = recovered
        if need_cc[i] > 0:
            frac[i] = recovered / need_cc[i]
    for j in range(len(required)):
        recycled[j] = required[j] * frac[cc[j]]


def recycling_reference(fx: RecyclingFixed, stock: RecyclingStock, wk: RecyclingWeek, use: np.ndarray | None,
                        t: int) -> None:
    """:func:`_recycling_kernel` in numpy."""
    capacity, pool, policy_cost_usd, used = stock.capacity, stock.pool, wk.policy_cost_usd, stock.used
    n_cc, weeks = len(capacity), stock.used.shape[0]
    new_cap = np.maximum(wk.goal, capacity)
    policy_cost_usd += np.bincount(fx.country_of, (new_cap - capacity) * fx.capex, minlength=len(policy_cost_usd))
    capacity[:] = new_cap
    if use is not None:
        used[(t - 1) % weeks] = np.bincount(fx.cc, use, minlength=n_cc)
    pool += fx.recyclability * used[(t - fx.life) % weeks, np.arange(n_cc)]
    recovered = np.minimum(capacity, pool)
    pool -= recovered
    stock.recycled_cc[:] = recovered
    need_cc = np.bincount(fx.cc, wk.required, minlength=n_cc)
    frac = np.divide(recovered, need_cc, out=np.zeros(n_cc), where=need_cc > 0)
    wk.recycled[:] = wk.required * frac[fx.cc]


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
        capex_t = [cfg.world.commodities[c].recycling_capex_usd_per_t_per_year for c in e.commodities]
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
                per_t_year = capex_t[j] if capex_t[j] is not None else pol.recycling_capex_price_multiple * p0[j]
                capex[i] = per_t_year * 52.0  # USD per t/week of capacity
        self.start, self.target, self.target_step, self.capex = start, target, target_step, capex
        self.recyclability = recyclability[np.arange(e.n_cc) % n_com]
        life = np.array([cfg.world.commodities[c].product_life_weeks for c in e.commodities], dtype=np.int64)
        self.life = life[np.arange(e.n_cc) % n_com]
        # the use of past weeks, for the scrap of products reaching the end of their life (calm use before the run)
        self.used = np.tile(self.use_week, (int(self.life.max()), 1))
        self.pool = self.recyclability * self.use_week * cfg.world.recycling.initial_scrap_weeks
        self.capacity = start * self.use_week
        self.country_of = np.arange(e.n_cc) // n_com
        # fixed index arrays, gathered once (manufacturers' positions are a contiguous range)
        self._mf = span(self.manuf)
        assert isinstance(self._mf, slice), "manufacturers' positions must be contiguous"
        self._goal = SettledPath(lambda t: self.capacity_share(t) * self.use_week, self.target_step)  # t/week
        self.recycled_cc = np.zeros(e.n_cc)
        self.fixed = RecyclingFixed(capex=capex, country_of=self.country_of, recyclability=self.recyclability,
                                    cc=cc[self._mf].astype(np.min_scalar_type(e.n_cc)), life=self.life)
        self.stock = RecyclingStock(capacity=self.capacity, pool=self.pool, recycled_cc=self.recycled_cc,
                                    used=self.used)
        self._kernel = implementation(_recycling_kernel, recycling_reference)

    def capacity_share(self, t: int) -> np.ndarray:
        """Recovery capacity at step ``t``, share of use."""
        ramp = np.where(self.target_step > 0, np.minimum(1.0, (t + 1) / np.maximum(self.target_step, 1)), 1.0)
        return self.start + (self.target - self.start) * ramp

    def step(self, t: int) -> None:
        s = self.state
        # only manufacturers need material (elsewhere need and recycled supply stay 0)
        mf = self._mf
        self._kernel(self.fixed, self.stock,
                     RecyclingWeek(goal=self._goal.at(t), policy_cost_usd=s.policy_cost_usd, required=s.required[mf],
                                   recycled=s.recycled[mf]),
                     None if s.use is None else s.use[mf], t)
