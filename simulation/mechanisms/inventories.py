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

from simulation.kernels import kernel, maximum, minimum, span
from simulation.mechanisms.base import Context, Mechanism, SettledPath
from simulation.population import POS_MANUFACTURER, POS_STOCKPILE


@kernel
def _inventories_kernel(ring, ring_cn, slot, in_transit, inventory, recycled, required,
                        mf_start, mf_end, cc_mf, trigger_mf, target_days, lead_weeks,
                        stock, cc_stock, stock_com, stock_country, release_share, refill, max_price,
                        hold_stock, goal, price, n_cc, n_countries,
                        expected_use, stock_target, pipe_target, adjust_rate):
    """One week of :class:`Inventories`: arrivals, releases, use, targets, holding cost.

    Updates ``ring``, ``ring_cn``, ``in_transit``, ``inventory`` and the targets in place;
    returns the arrivals (all and Chinese-origin), use per position, releases per
    country-commodity and holding cost per country (USD). Manufacturers' positions are the
    range ``mf_start:mf_end`` (``cc_mf``, ``trigger_mf``, ``target_days``, ``lead_weeks``
    are over it); the loops over it are kept simple so that they vectorise.
    """
    # arrivals
    row, row_cn = ring[slot], ring_cn[slot]
    arrived = np.empty(len(inventory))
    arrived_cn = np.empty(len(inventory))
    for i in range(len(inventory)):
        a = row[i]
        arrived[i] = a
        arrived_cn[i] = row_cn[i]
        row[i] = 0.0
        row_cn[i] = 0.0
        in_transit[i] -= a
        inventory[i] += a + recycled[i]

    # need of the manufacturers short of cover, and releases per country-commodity
    req = required[mf_start:mf_end]
    inv = inventory[mf_start:mf_end]
    need = np.empty(len(req))
    for j in range(len(req)):
        need[j] = maximum(req[j] * trigger_mf[j] / 7.0 - inv[j], 0.0)
    need_cc = np.zeros(n_cc)
    for j in range(len(req)):
        need_cc[cc_mf[j]] += need[j]
    stock_cc = np.zeros(n_cc)
    for k in range(len(stock)):
        stock_cc[cc_stock[k]] = inventory[stock[k]]
    release_cc = np.empty(n_cc)
    frac = np.zeros(n_cc)
    released = False  # else every share is 0 and no stock changes hands
    for c in range(n_cc):
        release_cc[c] = minimum(need_cc[c], stock_cc[c] * release_share[c])
        if need_cc[c] > 0:
            frac[c] = release_cc[c] / need_cc[c]
        if release_cc[c] != 0.0:
            released = True
    if released:
        for j in range(len(req)):
            inv[j] += need[j] * frac[cc_mf[j]]

    # use and next week's targets; shortage per country-commodity
    use = np.zeros(len(inventory))
    use_mf = use[mf_start:mf_end]
    expected_use[:mf_start] = 0.0
    expected_use[mf_end:] = 0.0
    expected_use_mf = expected_use[mf_start:mf_end]
    stock_target_mf = stock_target[mf_start:mf_end]
    pipe_target_mf = pipe_target[mf_start:mf_end]
    lack = need  # the buffer is reused: the need has been spent
    for j in range(len(req)):
        r = req[j]
        u = minimum(r, inv[j])
        use_mf[j] = u
        inv[j] -= u
        lack[j] = maximum(r - u, 0.0)
        expected_use_mf[j] = r
        stock_target_mf[j] = r * target_days[j] / 7.0
        pipe_target_mf[j] = r * lead_weeks[j]
    short_cc = np.zeros(n_cc)
    for j in range(len(req)):
        short_cc[cc_mf[j]] += lack[j]

    # stockpiles: release, refill rate (calm only), holding cost by country
    holding = np.zeros(n_countries)
    for k in range(len(stock)):
        p = stock[k]
        inventory[p] -= release_cc[cc_stock[k]]
        price_p = price[stock_com[k]]
        calm = short_cc[cc_stock[k]] <= 0 and price_p <= max_price[k]
        stock_target[p] = goal[k]
        adjust_rate[p] = refill[k] if calm else 0.0
        holding[stock_country[k]] += inventory[p] * price_p * hold_stock[k] / 52.0
    return arrived, arrived_cn, use, release_cc, holding


class Inventories(Mechanism):
    """Firm inventories and state stockpiles."""

    name = "inventories"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        e, cfg = self.eco, self.config
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
        self._index()

    def _index(self) -> None:
        """Fixed subsets and per-position constants, gathered once (manufacturers' positions
        are a contiguous range: a slice)."""
        e = self.eco
        ip = np.intp
        self._mf = span(self.manuf)
        # population.py puts manufacturers' positions first: the kernel takes them as a range
        assert isinstance(self._mf, slice), "manufacturers' positions must be contiguous"
        self._cc_stock = self.cc_stock.astype(ip)
        self._cc_mf = self.cc_all[self._mf].astype(ip)
        self._trigger_mf = self.trigger_days[self.cc_all][self._mf]
        self._target_days = e.pos_target_days[self._mf]
        self._lead_weeks = e.pos_lead_weeks[self._mf]
        self._stock_com = e.pos_commodity[self.stock].astype(ip)
        self._stock_country = e.pos_country[self.stock].astype(ip)
        self._hold_stock = self.hold[self._stock_country]
        self._max_price = self.max_price * e.price0[self._stock_com]
        self._goal = SettledPath(self.stockpile_target, self.target_step)

    def stockpile_target(self, t: int) -> np.ndarray:
        """Target stock of each stockpile at step ``t`` (t), on its build path."""
        ramp = np.where(self.target_step > 0,
                        np.minimum(1.0, (t + 1) / np.maximum(self.target_step, 1)), 1.0)
        return self.initial + (self.target_final - self.initial) * ramp

    def step(self, t: int) -> None:
        e, s = self.eco, self.state
        mf = self._mf
        s.arrived, s.arrived_cn, s.use, _released, s.holding_cost_usd = _inventories_kernel(
            s.ring, s.ring_cn, t % s.ring.shape[0], s.in_transit, s.inventory, s.recycled, s.required,
            mf.start, mf.stop, self._cc_mf, self._trigger_mf, self._target_days, self._lead_weeks,
            self.stock, self._cc_stock, self._stock_com, self._stock_country, self.release_share,
            self.refill, self._max_price, self._hold_stock, self._goal.at(t), s.price,
            self.n_cc, len(e.countries), s.expected_use, s.stock_target, s.pipe_target, s.adjust_rate)
