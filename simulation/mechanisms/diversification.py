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

from simulation.mechanisms.base import CeilingPath, Mechanism, position_ceilings, span
from simulation.population import POS_TRADER


class Diversification(Mechanism):
    """Sourcing shares of buyer positions."""

    name = "diversification"

    def __init__(self, model):
        super().__init__(model)
        e, cfg = model.eco, model.config
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
        self.ceiling_final, self.ceiling_end = position_ceilings(model)
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
        """Fixed subsets as integer indices (slices when contiguous) and fixed per-position
        constants, gathered once."""
        e, cfg = self.model.eco, self.model.config
        ip = np.intp
        pos = np.asarray(e.edge_pos, dtype=ip)  # no copy when already intp
        self._cn = np.flatnonzero(self.cn_edge)
        self._cn_pos = pos[self._cn]
        n_alt = np.bincount(pos[self.alt_edge], minlength=e.n_pos)
        self._has_alt = n_alt > 0
        self._even_div = np.maximum(n_alt, 1)
        # buyer edges (Chinese or not), keyed (origin is China, position): one bincount gives
        # both sums of a position, one gather its rescaling factor
        self._be = span(self.buyer_edge)
        self._be_key = np.where(self.cn_edge[self._be], e.n_pos, 0) + pos[self._be]
        # each position's non-Chinese edges (contiguous: edges are sorted by position)
        self._alt = np.flatnonzero(self.alt_edge)
        self._alt_pos = pos[self._alt]
        self._n_alt = n_alt
        self._alt_first = np.searchsorted(self._alt_pos, np.arange(e.n_pos))
        self._com = e.pos_commodity.astype(ip)
        self._buy = span(self.buyer)
        self._not_buyer = span(~self.buyer)
        self._buy_com = self._com[self._buy]
        self._country = e.pos_country.astype(ip)
        payer = np.where(self.hard_ceiling, 1.0, self.subsidy)
        self._paying = np.flatnonzero(payer != 0)  # elsewhere the premium costs the state nothing
        self._payer = payer[self._paying]
        self._paying_country = self._country[self._paying]
        self._paying_com = self._com[self._paying]
        noncn = self.model.market.noncn_producer
        self._noncn = np.flatnonzero(noncn)
        self._noncn_com = e.firm_commodity[self._noncn].astype(ip)
        self._ceiling = CeilingPath(self.ceiling_final, self.ceiling_end)
        self._ceiling_fixed: np.ndarray | None = None
        # the drift back: a constant rate per position, applied where calm
        self._drift_rate = cfg.world.diversification.drift_share_per_week * self.drift_factor

    def cn_share(self) -> np.ndarray:
        e, s = self.model.eco, self.model.state
        return np.bincount(self._cn_pos, s.edge_share[self._cn], minlength=e.n_pos)

    def _ceiling_at(self, t: int) -> np.ndarray:
        """The ceiling in force at step ``t``: the state's, or the FORGE offtake cap if lower."""
        if t + 1 >= self._ceiling.settled:
            if self._ceiling_fixed is None:
                self._ceiling_fixed = np.minimum(self._ceiling.at(t), self.offtake_cap)
            return self._ceiling_fixed
        return np.minimum(self._ceiling.at(t), self.offtake_cap)

    def step(self) -> None:
        m, e, s = self.model, self.model.eco, self.model.state
        p = self.p
        n_pos = e.n_pos
        desired, shipped = s.desired, s.shipped
        lack = desired - shipped
        np.maximum(lack, 0.0, out=lack)
        shortfall = np.divide(lack, desired, out=np.zeros(n_pos), where=desired > 1e-12)
        signal = np.maximum(s.blocked_share, shortfall, out=shortfall)
        signal[self._not_buyer] = 0.0
        self.mem += (signal - self.mem) / p.memory_weeks
        calm_for = self.calm_for
        calm_for += 1
        calm_for *= ~(signal > 0.01)
        share = s.edge_share
        sums = np.bincount(self._be_key, share[self._be], minlength=2 * n_pos)
        alt, cn = sums[:n_pos], sums[n_pos:]
        ceiling = self._ceiling_at(m.t)
        away = p.shift_share_per_week * self.mem * cn
        excess = cn - ceiling
        if excess.max(initial=0.0) > 0.0:
            room = ceiling - cn
            np.maximum(room, 0.0, out=room)
            np.maximum(excess, 0.0, out=excess)
            excess *= p.ceiling_share_per_week
            away += excess
        else:  # no position above its ceiling: nothing to add, and the room is ceiling - cn >= 0
            room = ceiling - cn
        np.minimum(away, cn, out=away)
        # capacity left outside China, per commodity
        com = self._com
        n_com = len(e.commodities)
        wanted = np.bincount(com, away * desired, minlength=n_com)
        moving = wanted > 1e-12
        if moving.any():  # else the scale is 1 everywhere
            cap = e.firm_capacity_t[self._noncn] * s.capacity_factor[self._noncn]
            buy = self._buy
            headroom = np.maximum(np.bincount(self._noncn_com, cap, minlength=n_com)
                                  - np.bincount(self._buy_com, desired[buy] * (1 - cn[buy]), minlength=n_com),
                                  0.0)
            scale = np.minimum(1.0, np.divide(headroom, wanted, out=np.ones(n_com), where=moving))
            if (scale != 1.0).any():
                away *= scale.take(com)
        # drift back toward the calm (cheapest) share, never above the ceiling
        back = self.base_cn - cn
        np.maximum(back, 0.0, out=back)
        back *= self._drift_rate
        back *= calm_for >= p.calm_weeks
        np.minimum(back, room, out=back)
        new_cn = cn - away
        new_cn += back
        np.clip(new_cn, 0.0, 1.0, out=new_cn)
        self._rescale(cn, alt, new_cn)
        # the state's share of the premium on sourcing moved away from China
        if len(self._paying):
            i = self._paying
            moved = self.base_cn[i] - new_cn[i]
            np.maximum(moved, 0.0, out=moved)
            moved *= shipped[i]
            premium = np.maximum(s.price - s.price_cn, 0.0).take(self._paying_com)
            cost = np.bincount(self._paying_country, self._payer * moved * premium, minlength=self.n_countries)
        else:
            cost = np.zeros(self.n_countries)
        s.policy_cost_usd += cost

    def _apply(self, cn: np.ndarray, new_cn: np.ndarray) -> None:
        """Rescale Chinese and non-Chinese edges of each position to the new split."""
        e, s = self.model.eco, self.model.state
        alt = np.bincount(self._alt_pos, s.edge_share[self._alt], minlength=e.n_pos)
        self._rescale(cn, alt, new_cn)

    def _rescale(self, cn: np.ndarray, alt: np.ndarray, new_cn: np.ndarray) -> None:
        """:meth:`_apply` given the current non-Chinese sums ``alt`` of the positions."""
        s = self.model.state
        n_pos = len(cn)
        share = s.edge_share
        factor = np.zeros(2 * n_pos)  # per key: (non-Chinese, position), (Chinese, position)
        np.divide(new_cn, cn, out=factor[n_pos:], where=cn > 0)
        rest = 1.0 - new_cn
        np.divide(rest, alt, out=factor[:n_pos], where=alt > 0)
        be = self._be
        if isinstance(be, slice):
            share[be] *= factor.take(self._be_key)
        else:
            share[be] = share[be] * factor.take(self._be_key)
        # only latent alternatives (no share yet): share them equally
        spread = alt <= 0
        spread &= self._has_alt
        sp = np.flatnonzero(spread)
        if len(sp):
            even = rest.take(sp) / self._even_div.take(sp)
            first = self._alt_first.take(sp)
            n = self._n_alt.take(sp)
            if n.max() == 1:  # the usual case: one latent alternative
                share[self._alt.take(first)] = even
            else:
                k = np.repeat(first - np.cumsum(n) + n, n) + np.arange(n.sum())
                share[self._alt.take(k)] = np.repeat(even, n)
