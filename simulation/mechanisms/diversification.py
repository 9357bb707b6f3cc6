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

from simulation.mechanisms.base import Mechanism, ceiling_at, position_ceilings
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

    def cn_share(self) -> np.ndarray:
        e, s = self.model.eco, self.model.state
        return np.bincount(e.edge_pos[self.cn_edge], s.edge_share[self.cn_edge], minlength=e.n_pos)

    def step(self) -> None:
        m, e, s = self.model, self.model.eco, self.model.state
        p = self.p
        shortfall = np.divide(np.maximum(s.desired - s.shipped, 0.0), s.desired, out=np.zeros(e.n_pos),
                              where=s.desired > 1e-12)
        signal = np.maximum(s.blocked_share, shortfall) * self.buyer
        self.mem += (signal - self.mem) / p.memory_weeks
        self.calm_for = np.where(signal > 0.01, 0, self.calm_for + 1)
        cn = self.cn_share()
        ceiling = np.minimum(ceiling_at(self.ceiling_final, self.ceiling_end, m.t), self.offtake_cap)
        away = p.shift_share_per_week * self.mem * cn
        away += p.ceiling_share_per_week * np.maximum(cn - ceiling, 0.0)
        away = np.minimum(away, cn)
        # capacity left outside China, per commodity
        com = e.pos_commodity
        n_com = len(e.commodities)
        cap = e.firm_capacity_t * s.capacity_factor
        noncn = m.market.noncn_producer
        headroom = np.maximum(np.bincount(e.firm_commodity[noncn], cap[noncn], minlength=n_com)
                              - np.bincount(com[self.buyer], (s.desired * (1 - cn))[self.buyer], minlength=n_com),
                              0.0)
        wanted = np.bincount(com, away * s.desired, minlength=n_com)
        scale = np.minimum(1.0, np.divide(headroom, wanted, out=np.ones(n_com), where=wanted > 1e-12))
        away *= scale[com]
        # drift back toward the calm (cheapest) share, never above the ceiling
        calm = self.calm_for >= p.calm_weeks
        back = np.where(calm, p.drift_share_per_week * self.drift_factor * np.maximum(self.base_cn - cn, 0.0), 0.0)
        back = np.minimum(back, np.maximum(ceiling - cn, 0.0))
        new_cn = np.clip(cn - away + back, 0.0, 1.0)
        self._apply(cn, new_cn)
        # the state's share of the premium on sourcing moved away from China
        moved = np.maximum(self.base_cn - new_cn, 0.0) * s.shipped
        premium = np.maximum(s.price - s.price_cn, 0.0)[com]
        payer = np.where(self.hard_ceiling, 1.0, self.subsidy)
        s.policy_cost_usd += np.bincount(e.pos_country, payer * moved * premium, minlength=self.n_countries)

    def _apply(self, cn: np.ndarray, new_cn: np.ndarray) -> None:
        """Rescale Chinese and non-Chinese edges of each position to the new split."""
        e, s = self.model.eco, self.model.state
        alt = np.bincount(e.edge_pos[self.alt_edge], s.edge_share[self.alt_edge], minlength=e.n_pos)
        n_alt = np.bincount(e.edge_pos[self.alt_edge], minlength=e.n_pos)
        f_cn = np.divide(new_cn, cn, out=np.zeros(e.n_pos), where=cn > 0)
        f_alt = np.divide(1.0 - new_cn, alt, out=np.zeros(e.n_pos), where=alt > 0)
        share = s.edge_share
        pos = e.edge_pos
        share[self.cn_edge] *= f_cn[pos[self.cn_edge]]
        spread = (alt <= 0) & (n_alt > 0)  # only latent alternatives: share them equally
        scaled = self.alt_edge & ~spread[pos]
        share[scaled] *= f_alt[pos[scaled]]
        even = self.alt_edge & spread[pos]
        share[even] = ((1.0 - new_cn) / np.maximum(n_alt, 1))[pos[even]]
