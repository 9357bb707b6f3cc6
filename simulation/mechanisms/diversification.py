"""Diversification and re-dependence: firms re-source after disruption, drift back in calm.

For every buyer position, ``cn`` is the China-origin share of its sourcing (direct and via
traders). Each week:

1. **Memory of disruption** ``mem`` (time constant ``memory_weeks``) follows the week's
   disruption signal: the share of its orders on closed Chinese edges, or the share of its
   order that was not shipped, whichever is larger.
2. **Shift away**: a disrupted position moves ``shift_share_per_week * mem * cn`` of its
   sourcing from Chinese to non-Chinese suppliers.
3. **Policy**: where a ceiling applies (the state's dependence ceiling on that commodity,
   tightening linearly to its level by ``dependence_ceiling_date``; or
   ``1 - forge_offtake_share`` held with FORGE-member origins), ``ceiling_share_per_week``
   of the excess over it is moved too.
4. **Capacity limit**: moves toward non-Chinese suppliers are scaled down, per commodity,
   to the non-Chinese capacity left unordered (contracts and lead times bind).
5. **Drift back in calm**: a position undisrupted for ``calm_weeks`` closes
   ``drift_share_per_week`` of its gap back to its calm (cheapest) Chinese share, slowed by
   a tax incentive (``diversification_subsidy_share``) and, for FORGE members, by the FORGE
   tariff eating into China's price edge; never above its ceiling.

The strategy's cost (USD) is the premium of non-Chinese over Chinese prices on the
sourcing moved away from China: the state's subsidized share under a tax incentive, all
of it (paid by firms) under a dependence ceiling.
"""

from __future__ import annotations

import numpy as np

from simulation.kernels import kernel, maximum, minimum
from simulation.mechanisms.base import Context, Mechanism, SettledPath, ceiling_path, position_ceilings
from simulation.population import POS_TRADER, PRODUCER


@kernel
def _rescale_kernel(share, key, alt_edges, alt_start, sums, new_cn):
    """Rescale the Chinese and non-Chinese edges of each position from their sums (``sums``:
    non-Chinese by position, then Chinese; ``key`` is an edge's index into it, ``2 * n_pos``
    for an edge left as it is) to the new split ``new_cn``; a position with latent
    alternatives only (no share yet) shares its non-Chinese part equally among them."""
    n_pos = len(new_cn)
    factor = np.empty(2 * n_pos + 1)
    for i in range(n_pos):
        cn = sums[n_pos + i]
        factor[n_pos + i] = new_cn[i] / cn if cn > 0.0 else 0.0
    for i in range(n_pos):
        alt = sums[i]
        factor[i] = (1.0 - new_cn[i]) / alt if alt > 0.0 else 0.0
    factor[2 * n_pos] = 1.0
    for k in range(len(share)):
        share[k] *= factor[key[k]]
    for i in range(n_pos):
        n_alt = alt_start[i + 1] - alt_start[i]
        if sums[i] <= 0.0 and n_alt > 0:
            even = (1.0 - new_cn[i]) / n_alt
            for j in range(alt_start[i], alt_start[i + 1]):
                share[alt_edges[j]] = even


@kernel
def _diversification_kernel(desired, shipped, blocked_share, buyer, mem, calm_for, memory_weeks,
                            share, key, alt_edges, alt_start, ceiling, shift_rate, ceiling_rate,
                            com, n_com, noncn, noncn_com, firm_capacity_t, capacity_factor,
                            base_cn, drift_rate, calm_weeks, paying, payer, country, price, price_cn, policy_cost):
    """One week: memory and calm counter, non-Chinese and Chinese sums of each position (keyed
    as in :func:`_rescale_kernel`), moves away (shift and ceiling excess, scaled to the
    non-Chinese capacity left per commodity), drift back, the new Chinese share, the edge shares
    rescaled to it, and the premium cost of the ``paying`` positions added to ``policy_cost``.

    Short loops, each simple enough for the compiler to vectorize."""
    n_pos = len(desired)
    sums = np.zeros(2 * n_pos + 1)
    for k in range(len(share)):
        sums[key[k]] += share[k]
    cn = sums[n_pos:2 * n_pos]
    signal = np.empty(n_pos)
    for i in range(n_pos):
        d = desired[i]
        shortfall = maximum(d - shipped[i], 0.0) / d if d > 1e-12 else 0.0
        signal[i] = maximum(blocked_share[i], shortfall) if buyer[i] else 0.0
    for i in range(n_pos):
        mem[i] += (signal[i] - mem[i]) / memory_weeks
    for i in range(n_pos):
        calm_for[i] = 0 if signal[i] > 0.01 else calm_for[i] + 1
    away = np.empty(n_pos)
    back = np.empty(n_pos)
    for i in range(n_pos):
        excess = cn[i] - ceiling[i]
        a = shift_rate * mem[i] * cn[i]
        a = a + excess * ceiling_rate if excess > 0.0 else a
        away[i] = minimum(a, cn[i])
        # drift back toward the calm (cheapest) share, never above the ceiling (no room left)
        room = 0.0 if excess > 0.0 else ceiling[i] - cn[i]
        b = maximum(base_cn[i] - cn[i], 0.0) * drift_rate[i] * (1.0 if calm_for[i] >= calm_weeks else 0.0)
        back[i] = minimum(b, room)
    # capacity left outside China, per commodity
    wanted = np.zeros(n_com)
    for i in range(n_pos):
        wanted[com[i]] += away[i] * desired[i]
    scale = np.ones(n_com)
    if np.any(wanted > 1e-12):
        capacity = np.zeros(n_com)
        for j in range(len(noncn)):
            capacity[noncn_com[j]] += firm_capacity_t[noncn[j]] * capacity_factor[noncn[j]]
        ordered = np.zeros(n_com)  # non-Chinese orders
        for i in range(n_pos):
            if buyer[i]:
                ordered[com[i]] += desired[i] * (1 - cn[i])
        for c in range(n_com):
            if wanted[c] > 1e-12:
                scale[c] = minimum(1.0, maximum(capacity[c] - ordered[c], 0.0) / wanted[c])
        for i in range(n_pos):
            away[i] *= scale[com[i]]
    new_cn = np.empty(n_pos)
    for i in range(n_pos):
        new_cn[i] = minimum(maximum(cn[i] - away[i] + back[i], 0.0), 1.0)
    # the state's share of the premium on sourcing moved away from China
    cost = np.zeros(len(policy_cost))
    for j in range(len(paying)):
        i = paying[j]
        moved = maximum(base_cn[i] - new_cn[i], 0.0) * shipped[i]
        cost[country[i]] += payer[j] * moved * maximum(price[com[i]] - price_cn[com[i]], 0.0)
    for c in range(len(policy_cost)):
        policy_cost[c] += cost[c]
    _rescale_kernel(share, key, alt_edges, alt_start, sums, new_cn)


class Diversification(Mechanism):
    """Sourcing shares of buyer positions."""

    name = "diversification"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        e, cfg = self.eco, self.config
        self.p = cfg.world.diversification
        self.buyer = e.pos_kind != POS_TRADER
        self.buyer_edge = self.buyer[e.edge_pos]
        self.cn_edge = (e.edge_origin == e.coercer) & self.buyer_edge
        self.alt_edge = (e.edge_origin != e.coercer) & self.buyer_edge
        self.base_cn = np.bincount(e.edge_pos[self.cn_edge], e.edge_share[self.cn_edge], minlength=e.n_pos)
        self.mem = np.zeros(e.n_pos)
        self.calm_for = np.zeros(e.n_pos, np.int64)
        country = e.pos_country
        pols = [cfg.policy_of(c) for c in e.countries]
        self.ceiling_final, self.ceiling_end = position_ceilings(e, cfg)
        self.hard_ceiling = ~np.isnan(self.ceiling_final)
        self.offtake_cap = 1.0 - np.array([p.forge_offtake_share for p in pols])[country]
        self.subsidy = np.array([p.diversification_subsidy_share for p in pols])[country]
        member = np.array([cfg.world.countries[c].forge_member for c in e.countries])[country]
        disc = np.array([cfg.world.commodities[c].china_price_discount_share for c in e.commodities])
        edge = np.where(disc > 0, np.clip(1 - cfg.world.forge.tariff_share / np.maximum(disc, 1e-12), 0, 1), 1.0)
        self.drift_factor = (1 - self.subsidy) * np.where(member, edge[e.pos_commodity], 1.0)
        self.n_countries = len(e.countries)
        self._index()

    def _index(self) -> None:
        """Fixed subsets as integer indices and fixed per-position constants, gathered once."""
        e, cfg = self.eco, self.config
        ip = np.intp
        pos = np.asarray(e.edge_pos, dtype=ip)  # no copy when already intp
        self._cn = np.flatnonzero(self.cn_edge)
        self._cn_pos = pos[self._cn]
        self._alt = np.flatnonzero(self.alt_edge).astype(np.int32)
        self._alt_pos = pos[self._alt]
        # each edge's index into the sums of the kernels: its position's non-Chinese (position)
        # or Chinese (n_pos + position) sum for a buyer edge; a spare slot (2 * n_pos) for the others
        self._key = np.where(self.buyer_edge, np.where(self.cn_edge, e.n_pos, 0) + pos, 2 * e.n_pos).astype(np.int32)
        # each position's non-Chinese edges (contiguous: edges are sorted by position)
        self._alt_start = np.searchsorted(self._alt_pos, np.arange(e.n_pos + 1)).astype(np.int32)
        self._com = e.pos_commodity
        self._country = e.pos_country.astype(ip)
        payer = np.where(self.hard_ceiling, 1.0, self.subsidy)
        self._paying = np.flatnonzero(payer != 0)  # elsewhere the premium costs the state nothing
        self._payer = payer[self._paying]
        self._noncn = np.flatnonzero((e.firm_kind == PRODUCER) & (e.firm_country != e.coercer))
        self._noncn_com = e.firm_commodity[self._noncn].astype(ip)
        # the ceiling in force: the state's, or the FORGE offtake cap if lower
        ceiling = ceiling_path(self.ceiling_final, self.ceiling_end)
        self._ceiling = SettledPath(lambda t: np.minimum(ceiling.at(t), self.offtake_cap), self.ceiling_end)
        # the drift back: a constant rate per position, applied where calm
        self._drift_rate = cfg.world.diversification.drift_share_per_week * self.drift_factor

    def cn_share(self) -> np.ndarray:
        """The Chinese-origin share of each position's sourcing."""
        e, s = self.eco, self.state
        return np.bincount(self._cn_pos, s.edge_share[self._cn], minlength=e.n_pos)

    def step(self, t: int) -> None:
        e, s = self.eco, self.state
        p = self.p
        _diversification_kernel(
            s.desired, s.shipped, s.blocked_share, self.buyer, self.mem, self.calm_for, float(p.memory_weeks),
            s.edge_share, self._key, self._alt, self._alt_start, self._ceiling.at(t), p.shift_share_per_week,
            p.ceiling_share_per_week, self._com, len(e.commodities), self._noncn, self._noncn_com, e.firm_capacity_t,
            s.capacity_factor, self.base_cn, self._drift_rate, p.calm_weeks, self._paying, self._payer, self._country,
            s.price, s.price_cn, s.policy_cost_usd)

