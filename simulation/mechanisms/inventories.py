"""Inventories and stockpiles: arrivals, state releases, use, and the next week's targets.

Each week, for every buyer position:

1. **Arrivals.** This week's slot of the pipeline, and recycled material, enter the stock.
2. **Release.** Where a country's firms hold less than ``stockpile_release_trigger_days``
   of cover in a commodity, its stockpile agency releases up to
   ``stockpile_max_release_share_per_week`` of its stock, to the firms below the trigger,
   in proportion to their gap.
3. **Use.** A manufacturer uses what it needs, as far as its stock allows.
4. **Targets.** Manufacturers aim at their inventory days of use plus a full pipeline.
   A stockpile aims at its policy target (days of the country's use), reached linearly by
   ``stockpile_target_date`` if set; it buys only in calm (no shortage of that commodity
   in the country last week, outside price at most ``stockpile_refill_max_price_multiple``
   of calm) at ``stockpile_refill_share_per_week`` of the gap.
5. **Holding cost** of each stockpile: its value at the outside price times the yearly
   holding rate, per week (USD).
"""

from __future__ import annotations

import numpy as np

from simulation.mechanisms.base import Mechanism, span
from simulation.population import POS_MANUFACTURER, POS_STOCKPILE


class Inventories(Mechanism):
    """Firm inventories and state stockpiles."""

    name = "inventories"

    def __init__(self, model):
        super().__init__(model)
        e, cfg = model.eco, model.config
        self.manuf = e.pos_kind == POS_MANUFACTURER
        self.stock = np.flatnonzero(e.pos_kind == POS_STOCKPILE)
        self.cc_all = e.pos_cc
        self.cc_stock = self.cc_all[self.stock]
        n_cc = e.n_cc
        self.n_cc = n_cc
        # country daily use at full output, per country-commodity
        self.use_cc_day = np.bincount(self.cc_all[self.manuf], e.pos_base_use_t[self.manuf],
                                      minlength=n_cc) / 7.0
        n_com = len(e.commodities)
        trig = np.zeros(n_cc)
        rel = np.zeros(n_cc)
        self.hold = np.zeros(len(e.countries))
        self.refill = np.zeros(len(self.stock))
        self.max_price = np.zeros(len(self.stock))
        self.target_final = np.zeros(len(self.stock))
        self.target_step = np.zeros(len(self.stock))
        for k, country in enumerate(e.countries):
            pol = cfg.policy_of(country)
            trig[k * n_com:(k + 1) * n_com] = pol.stockpile_release_trigger_days
            rel[k * n_com:(k + 1) * n_com] = pol.stockpile_max_release_share_per_week
            self.hold[k] = pol.stockpile_holding_cost_share_per_year
        self.trigger_days = trig
        self.release_share = rel
        init = e.pos_inventory_t[self.stock]
        self.initial = init.copy()
        for j, p in enumerate(self.stock):
            country, com = e.countries[e.pos_country[p]], e.commodities[e.pos_commodity[p]]
            pol = cfg.policy_of(country)
            days = pol.stockpile_target_days_by_commodity.get(com, pol.stockpile_target_days)
            daily = self.use_cc_day[self.cc_stock[j]]
            self.target_final[j] = init[j] if days is None else days * daily
            self.target_step[j] = (cfg.step_of(pol.stockpile_target_date)
                                   if pol.stockpile_target_date is not None else 0)
            self.refill[j] = pol.stockpile_refill_share_per_week
            self.max_price[j] = pol.stockpile_refill_max_price_multiple
        self.released_cc = np.zeros(n_cc)
        self._index()

    def _index(self) -> None:
        """Fixed subsets and per-position constants, gathered once (manufacturers' positions
        are a contiguous range: a slice)."""
        e = self.model.eco
        ip = np.intp
        self._mf = span(self.manuf)
        # population.py puts manufacturers' positions first: the views below rely on a slice
        assert isinstance(self._mf, slice), "manufacturers' positions must be contiguous"
        self._not_mf = span(~self.manuf)
        self._cc = self.cc_all.astype(ip)
        self._cc_stock = self.cc_stock.astype(ip)
        self._cc_mf = self._cc[self._mf]
        self._trigger_mf = self.trigger_days[self.cc_all][self._mf]
        self._target_days = e.pos_target_days[self._mf]
        self._lead_weeks = e.pos_lead_weeks[self._mf]
        self._stock_com = e.pos_commodity[self.stock].astype(ip)
        self._stock_country = e.pos_country[self.stock].astype(ip)
        self._hold_stock = self.hold[self._stock_country]
        self._max_price = self.max_price * self.model.market.p0[self._stock_com]
        self._settled = int(np.ceil(np.max(self.target_step, initial=0)))  # ramps done once t + 1 >= this
        self._final_target: np.ndarray | None = None

    def stockpile_target(self, t: int) -> np.ndarray:
        """Target stock of each stockpile at step ``t`` (t), on its build path."""
        ramp = np.where(self.target_step > 0,
                        np.minimum(1.0, (t + 1) / np.maximum(self.target_step, 1)), 1.0)
        return self.initial + (self.target_final - self.initial) * ramp

    def _stock_goal(self, t: int) -> np.ndarray:
        """:meth:`stockpile_target`, computed once for the steps after every target date."""
        if t + 1 < self._settled:
            return self.stockpile_target(t)
        if self._final_target is None:
            self._final_target = self.stockpile_target(t)
        return self._final_target

    def step(self) -> None:
        m, e, s = self.model, self.model.eco, self.model.state
        L = s.ring.shape[0]
        slot = m.t % L
        arrived = s.ring[slot].copy()
        s.arrived_cn = s.ring_cn[slot].copy()
        s.ring[slot] = 0.0
        s.ring_cn[slot] = 0.0
        s.in_transit -= arrived
        s.inventory += arrived + s.recycled
        s.arrived = arrived

        # state releases to firms short of cover (manufacturers' positions are the range mf;
        # elsewhere need and use are 0)
        mf, n_cc = self._mf, self.n_cc
        cc_mf = self._cc_mf
        required, inventory = s.required, s.inventory
        req_mf, inv_mf = required[mf], inventory[mf]
        need_mf = req_mf * self._trigger_mf
        need_mf /= 7.0
        need_mf -= inv_mf
        np.maximum(need_mf, 0.0, out=need_mf)
        need_cc = np.bincount(cc_mf, need_mf, minlength=n_cc)
        stock_cc = np.zeros(n_cc)
        stock_cc[self._cc_stock] = inventory[self.stock]
        release_cc = np.minimum(need_cc, stock_cc * self.release_share)
        frac = np.divide(release_cc, need_cc, out=np.zeros(n_cc), where=need_cc > 0)
        if release_cc.any():  # else every share is 0 and no stock changes hands
            need_mf *= frac.take(cc_mf)
            inv_mf += need_mf
        inventory[self.stock] -= release_cc[self._cc_stock]
        self.released_cc = release_cc

        # use
        use = np.zeros(len(inventory))
        use_mf = np.minimum(req_mf, inv_mf, out=use[mf])
        inv_mf -= use_mf
        s.use = use

        # next week's targets
        s.expected_use[mf] = req_mf
        s.expected_use[self._not_mf] = 0.0
        target = np.multiply(req_mf, self._target_days, out=s.stock_target[mf])
        target /= 7.0
        np.multiply(req_mf, self._lead_weeks, out=s.pipe_target[mf])
        lack = req_mf - use_mf
        np.maximum(lack, 0.0, out=lack)
        short_cc = np.bincount(cc_mf, lack, minlength=n_cc)
        com = self._stock_com
        price_stock = s.price[com]
        calm = (short_cc[self._cc_stock] <= 0) & (price_stock <= self._max_price)
        s.stock_target[self.stock] = self._stock_goal(m.t)
        s.adjust_rate[self.stock] = np.where(calm, self.refill, 0.0)

        # holding cost (USD) by country
        value = inventory[self.stock] * price_stock
        s.holding_cost_usd = np.bincount(self._stock_country, value * self._hold_stock / 52.0,
                                         minlength=len(e.countries))
