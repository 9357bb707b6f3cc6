"""Inventories and stockpiles: arrivals, state releases, use, and the next week's targets.

Each week, for every buyer position (after FORGE's coordinated release, when its members pool a
commodity: ``signals.release_pool``, see :meth:`Inventories._pooled_release`):

1. **Arrivals.** This week's slot of the pipeline, and recycled material, enter the stock.
2. **Release.** Where a country's firms hold less than ``stockpile_release_trigger_days``
   of cover in a commodity (or less than their own target, if that is lower: a firm that
   keeps a thin stock in calm is not short), its stockpile releases up to
   ``stockpile_max_release_share_per_week`` of its stock, to the firms below the trigger,
   in proportion to their gap -- where ``signals.release_open`` allows it (a state whose
   agency decides, :mod:`simulation.agency`, opens it in a shortage). A state with a
   ``stockpile_release_priority`` gives ``stockpile_priority_share`` of the release to its
   priority tiers in order (the first tier's need in full, then the next's, ...), and the
   rest to all firms left short, pro rata to their need.
3. **Use.** A manufacturer uses what it needs, as far as its stock allows.
4. **Targets.** Manufacturers aim at their inventory days of use plus a full pipeline
   of what they buy (use net of recycled supply). Outside China they add
   ``precautionary_days`` for a commodity while an export control on it is announced or in
   force toward any destination (``signals.alert``): precautionary buying.
   A stockpile aims at its policy target (days of the country's use), reached linearly by
   ``stockpile_target_date`` if set, plus ``signals.stockpile_add_days`` days of the
   country's use once its agency has raised its targets after a crisis (the states decide
   it); it buys only in calm (no shortage of that commodity
   in the country last week, outside price at most ``stockpile_refill_max_price_multiple``
   of calm, and ``signals.refill_open``: its agency, if one decides, allows it) at
   ``stockpile_refill_share_per_week`` of the gap.
5. **Holding cost** of each stockpile, per week (USD): its tonnes times the state's
   storage cost per tonne-year (``stockpile_storage_usd_per_t_per_year``) plus its value at
   calm prices times the capital and insurance rates
   (``stockpile_capital_cost_share_per_year``, ``stockpile_insurance_share_per_year``),
   over 52. It scales with tonnes held and time, not with the week's price: the capital
   tied up is what the stock is worth in calm (the recorder books purchases at the prices
   paid; ``summary.json`` values the tonnes bought at calm prices).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from simulation.kernels import implementation, kernel, maximum, minimum, span
from simulation.mechanisms.base import Context, Mechanism, SettledPath
from simulation.population import POS_MANUFACTURER, POS_STOCKPILE


class InventoriesFixed(NamedTuple):
    """What the inventories kernel reads that never changes. Manufacturers' positions are the
    range ``mf_start:mf_end``; the ``*_mf`` arrays, ``target_days`` and ``lead_weeks`` are over
    it. The stockpiles' arrays are per stockpile, in the order of ``stock``."""

    mf_start: int
    mf_end: int
    cc_mf: np.ndarray  # country-commodity
    trigger_mf: np.ndarray  # release trigger, days of cover (at most the firm's target)
    target_days: np.ndarray  # inventory target, days of use
    lead_weeks: np.ndarray
    stock: np.ndarray  # the stockpiles' positions
    cc_stock: np.ndarray
    stock_com: np.ndarray  # commodity
    stock_country: np.ndarray
    release_share: np.ndarray  # per country-commodity: the most released per week
    tier_mf: np.ndarray  # per manufacturers' position: its priority tier in its country's release (0 first)
    n_tiers: int  # tiers per country-commodity (1: no state sets a priority; the pro-rata rule alone)
    priority_share: np.ndarray  # per country-commodity: the share of a release given by priority
    refill: np.ndarray  # refill share of the gap per week (in calm)
    max_price: np.ndarray  # the highest price at which it refills
    hold_stock: np.ndarray  # holding cost, USD per tonne-year (storage + calm value x capital and insurance)
    n_cc: int
    n_countries: int


class InventoriesWeek(NamedTuple):
    """The state's arrays the inventories kernel reads and writes."""

    ring: np.ndarray  # written: this week's slot is emptied
    ring_cn: np.ndarray  # written
    in_transit: np.ndarray  # written
    inventory: np.ndarray  # written
    recycled: np.ndarray
    required: np.ndarray
    expected_use: np.ndarray  # written
    stock_target: np.ndarray  # written
    pipe_target: np.ndarray  # written
    adjust_rate: np.ndarray  # written at the stockpiles
    price: np.ndarray
    extra_days: np.ndarray  # per manufacturers' position: precautionary days added to its target
    release_open: np.ndarray  # per country-commodity: 1 where the stockpile may release, 0 where not
    refill_open: np.ndarray  # per country-commodity: 1 where the stockpile may buy, 0 where not


@kernel
def _inventories_kernel(fx, wk, slot, goal):
    """One week of :class:`Inventories` (:func:`inventories_reference` in numpy): arrivals
    from ring slot ``slot``, releases, use, targets (``goal``: the stockpiles' target stock),
    holding cost.

    Updates the ring, ``in_transit``, ``inventory`` and the targets in place; returns the
    arrivals (all and Chinese-origin), use per position, releases per country-commodity and
    holding cost per country (USD). The loops over the manufacturers' range are kept simple
    so that they vectorise.
    """
    arrived, arrived_cn = _arrive(wk, slot)
    need, release_cc = _release(fx, wk)
    use, short_cc = _use(fx, wk, need)
    holding = _stockpiles(fx, wk, goal, release_cc, short_cc)
    return arrived, arrived_cn, use, release_cc, holding


@kernel
def _arrive(wk, slot):
    """This week's ring slot, and recycled material, enter the stock; the slot is emptied.
    Returns the arrivals (all and Chinese-origin)."""
    row, row_cn = wk.ring[slot], wk.ring_cn[slot]
    in_transit, inventory, recycled = wk.in_transit, wk.inventory, wk.recycled
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
    return arrived, arrived_cn


@kernel
def _release(fx, wk):
    """Need of the manufacturers short of cover, and releases per country-commodity, given to
    them in proportion to their need. Returns the need per manufacturers' position and the
    releases."""
    cc_mf, trigger_mf, cc_stock, n_cc = fx.cc_mf, fx.trigger_mf, fx.cc_stock, fx.n_cc
    req = wk.required[fx.mf_start:fx.mf_end]
    inv = wk.inventory[fx.mf_start:fx.mf_end]
    need = np.empty(len(req))
    for j in range(len(req)):
        need[j] = maximum(req[j] * trigger_mf[j] / 7.0 - inv[j], 0.0)
    need_cc = np.zeros(n_cc)
    for j in range(len(req)):
        need_cc[cc_mf[j]] += need[j]
    stock_cc = np.zeros(n_cc)
    for k in range(len(fx.stock)):
        stock_cc[cc_stock[k]] = wk.inventory[fx.stock[k]]
    release_cc = np.empty(n_cc)
    frac = np.zeros(n_cc)
    released = False  # else every share is 0 and no stock changes hands
    for c in range(n_cc):
        release_cc[c] = minimum(need_cc[c], stock_cc[c] * fx.release_share[c]) * wk.release_open[c]
        if release_cc[c] != 0.0:
            released = True
    if released and fx.n_tiers > 1:
        _release_by_priority(fx, need, need_cc, release_cc, inv)
    elif released:
        for c in range(n_cc):
            if need_cc[c] > 0:
                frac[c] = release_cc[c] / need_cc[c]
        for j in range(len(req)):
            inv[j] += need[j] * frac[cc_mf[j]]
    return need, release_cc


@kernel
def _release_by_priority(fx, need, need_cc, release_cc, inv):
    """Give ``release_cc`` to the manufacturers' ``need``: ``priority_share`` of it to the tiers in
    order (each tier's need in full before the next), the rest pro rata to the need left. Where no
    priority is set (share 0) this is the pro-rata rule, to the last bit."""
    cc_mf, tier_mf, n_tiers, n_cc = fx.cc_mf, fx.tier_mf, fx.n_tiers, fx.n_cc
    need_ct = np.zeros(n_cc * n_tiers)
    for j in range(len(need)):
        need_ct[cc_mf[j] * n_tiers + tier_mf[j]] += need[j]
    first = np.zeros(n_cc * n_tiers)  # share of each tier's need met by priority
    rest = np.zeros(n_cc)  # share of the need left met pro rata
    for c in range(n_cc):
        budget = release_cc[c] * fx.priority_share[c]
        given = 0.0
        if budget > 0.0:
            for t in range(n_tiers):
                k = c * n_tiers + t
                if need_ct[k] > 0.0:
                    g = maximum(minimum(need_ct[k], budget - given), 0.0)
                    first[k] = g / need_ct[k]
                    given += g
        left = need_cc[c] - given
        if left > 0.0:
            rest[c] = minimum(maximum(release_cc[c] - given, 0.0) / left, 1.0) if given > 0.0 \
                else release_cc[c] / need_cc[c]
    for j in range(len(need)):
        f = first[cc_mf[j] * n_tiers + tier_mf[j]]
        inv[j] += need[j] * (f + (1.0 - f) * rest[cc_mf[j]]) if f > 0.0 else need[j] * rest[cc_mf[j]]


@kernel
def _use(fx, wk, need):
    """Use and next week's targets of the manufacturers (0 expected use elsewhere); returns
    use per position and the shortage per country-commodity. ``need`` is spent: its buffer is
    reused."""
    start, end, cc_mf, target_days, lead_weeks = fx.mf_start, fx.mf_end, fx.cc_mf, fx.target_days, fx.lead_weeks
    expected_use = wk.expected_use
    req = wk.required[start:end]
    inv = wk.inventory[start:end]
    use = np.zeros(len(wk.inventory))
    use_mf = use[start:end]
    expected_use[:start] = 0.0
    expected_use[end:] = 0.0
    expected_use_mf = expected_use[start:end]
    stock_target_mf = wk.stock_target[start:end]
    pipe_target_mf = wk.pipe_target[start:end]
    recycled_mf = wk.recycled[start:end]
    extra_days = wk.extra_days
    lack = need  # the buffer is reused: the need has been spent
    for j in range(len(req)):
        r = req[j]
        u = minimum(r, inv[j])
        use_mf[j] = u
        inv[j] -= u
        lack[j] = maximum(r - u, 0.0)
        expected_use_mf[j] = r
        stock_target_mf[j] = r * (target_days[j] + extra_days[j]) / 7.0
        pipe_target_mf[j] = maximum(r - recycled_mf[j], 0.0) * lead_weeks[j]
    short_cc = np.zeros(fx.n_cc)
    for j in range(len(req)):
        short_cc[cc_mf[j]] += lack[j]
    return use, short_cc


@kernel
def _stockpiles(fx, wk, goal, release_cc, short_cc):
    """Stockpiles: release, target, refill rate (calm only); returns the holding cost by
    country."""
    stock, cc_stock, inventory = fx.stock, fx.cc_stock, wk.inventory
    holding = np.zeros(fx.n_countries)
    for k in range(len(stock)):
        p = stock[k]
        inventory[p] -= release_cc[cc_stock[k]]
        price_p = wk.price[fx.stock_com[k]]
        calm = short_cc[cc_stock[k]] <= 0 and price_p <= fx.max_price[k] and wk.refill_open[cc_stock[k]] > 0
        wk.stock_target[p] = goal[k]
        wk.adjust_rate[p] = fx.refill[k] if calm else 0.0
        holding[fx.stock_country[k]] += inventory[p] * fx.hold_stock[k] / 52.0
    return holding


def inventories_reference(fx: InventoriesFixed, wk: InventoriesWeek, slot: int, goal: np.ndarray):
    """:func:`_inventories_kernel` in numpy."""
    mf, stock, cc_mf, cc_stock = slice(fx.mf_start, fx.mf_end), fx.stock, fx.cc_mf, fx.cc_stock
    inventory = wk.inventory
    # arrivals
    arrived, arrived_cn = wk.ring[slot].copy(), wk.ring_cn[slot].copy()
    wk.ring[slot] = 0.0
    wk.ring_cn[slot] = 0.0
    wk.in_transit[:] -= arrived
    inventory[:] += arrived + wk.recycled
    # releases to the manufacturers short of cover, in proportion to their need
    req, inv = wk.required[mf], inventory[mf]
    need = np.maximum(req * fx.trigger_mf / 7.0 - inv, 0.0)
    need_cc = np.bincount(cc_mf, need, minlength=fx.n_cc)
    stock_cc = np.zeros(fx.n_cc)
    stock_cc[cc_stock] = inventory[stock]
    release_cc = np.minimum(need_cc, stock_cc * fx.release_share) * wk.release_open
    if np.any(release_cc != 0.0) and fx.n_tiers > 1:
        # by priority: each tier's need in full before the next, up to priority_share of the release
        n_t = fx.n_tiers
        need_ct = np.bincount(cc_mf * n_t + fx.tier_mf, need, minlength=fx.n_cc * n_t).reshape(fx.n_cc, n_t)
        budget = release_cc * fx.priority_share
        first = np.zeros_like(need_ct)
        given = np.zeros(fx.n_cc)
        for t in range(n_t):  # the tiers in order (a few), every country-commodity at once
            nt = need_ct[:, t]
            g = np.where((budget > 0.0) & (nt > 0.0), np.maximum(np.minimum(nt, budget - given), 0.0), 0.0)
            first[:, t] = np.divide(g, nt, out=np.zeros(fx.n_cc), where=nt > 0.0)
            given = given + g
        left = need_cc - given
        rest = np.where(given > 0, np.minimum(np.divide(np.maximum(release_cc - given, 0.0), left,
                                                        out=np.zeros(fx.n_cc), where=left > 0), 1.0),
                        np.divide(release_cc, need_cc, out=np.zeros(fx.n_cc), where=need_cc > 0))
        rest = np.where(left > 0, rest, 0.0)
        f = first[cc_mf, fx.tier_mf]
        inv += np.where(f > 0, need * (f + (1.0 - f) * rest[cc_mf]), need * rest[cc_mf])
    elif np.any(release_cc != 0.0):
        frac = np.divide(release_cc, need_cc, out=np.zeros(fx.n_cc), where=need_cc > 0)
        inv += need * frac[cc_mf]
    # use and next week's targets
    use = np.zeros(len(inventory))
    use[mf] = np.minimum(req, inv)
    inv -= use[mf]
    short_cc = np.bincount(cc_mf, np.maximum(req - use[mf], 0.0), minlength=fx.n_cc)
    wk.expected_use[:] = 0.0
    wk.expected_use[mf] = req
    wk.stock_target[mf] = req * (fx.target_days + wk.extra_days) / 7.0
    wk.pipe_target[mf] = np.maximum(req - wk.recycled[mf], 0.0) * fx.lead_weeks
    # stockpiles: release, target, refill rate (calm only), holding cost
    inventory[stock] -= release_cc[cc_stock]
    price = wk.price[fx.stock_com]
    calm = (short_cc[cc_stock] <= 0) & (price <= fx.max_price) & (wk.refill_open[cc_stock] > 0)
    wk.stock_target[stock] = goal
    wk.adjust_rate[stock] = np.where(calm, fx.refill, 0.0)
    holding = np.bincount(fx.stock_country, inventory[stock] * fx.hold_stock / 52.0,
                          minlength=fx.n_countries)
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
        self.storage = np.zeros(len(e.countries))  # USD per tonne-year
        self.value_rate = np.zeros(len(e.countries))  # share of the calm value per year
        self.refill = np.zeros(len(self.stock))
        self.max_price = np.zeros(len(self.stock))
        self.target_final = np.zeros(len(self.stock))
        self.target_step = np.zeros(len(self.stock))
        for k, country in enumerate(e.countries):
            pol = cfg.policy_of(country)
            trig[k * n_com:(k + 1) * n_com] = pol.stockpile_release_trigger_days
            rel[k * n_com:(k + 1) * n_com] = pol.stockpile_max_release_share_per_week
            self.storage[k] = pol.stockpile_storage_usd_per_t_per_year
            self.value_rate[k] = pol.stockpile_capital_cost_share_per_year + pol.stockpile_insurance_share_per_year
        self.pooled_released = np.zeros(n_com)  # FORGE's coordinated release, last week it ran, t per commodity
        self.trigger_days = trig
        self.release_share = rel
        self.tier_mf, self.n_tiers, self.priority_share = self._priorities()
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

    def _priorities(self) -> tuple[np.ndarray, int, np.ndarray]:
        """Each manufacturers' position's tier in its state's release priority (0 first; the sectors
        not listed come last), the number of tiers, and the share given by priority per
        country-commodity (0 where the state sets no priority)."""
        e, cfg = self.eco, self.config
        mf = np.flatnonzero(self.manuf)
        sector = e.firm_sector[e.pos_firm[mf]]
        military = e.pos_military[mf]
        country = e.pos_country[mf]
        tier = np.zeros(len(mf), np.intp)
        share = np.zeros(self.n_cc)
        n_tiers = 1
        n_com = len(e.commodities)
        for k, code in enumerate(e.countries):
            pol = cfg.policy_of(code)
            order = pol.stockpile_release_priority
            if not order:
                continue
            n_tiers = max(n_tiers, len(order) + 1)
            share[k * n_com:(k + 1) * n_com] = pol.stockpile_priority_share
            mine = country == k
            t = np.full(len(mf), len(order), np.intp)
            for rank in range(len(order) - 1, -1, -1):  # the highest tier a position qualifies for wins
                name = order[rank]
                hit = military if name == "military" else sector == e.sectors.index(name)
                t[hit] = rank
            tier[mine] = t[mine]
        return tier, n_tiers, share

    def _index(self) -> None:
        """Fixed subsets and per-position constants, gathered once (manufacturers' positions
        are a contiguous range: a slice)."""
        e = self.eco
        ip = np.intp
        mf = span(self.manuf)
        # population.py puts manufacturers' positions first: the kernel takes them as a range
        assert isinstance(mf, slice), "manufacturers' positions must be contiguous"
        stock_com = e.pos_commodity[self.stock].astype(ip)
        stock_country = e.pos_country[self.stock].astype(ip)
        self.fixed = InventoriesFixed(
            mf_start=int(mf.start), mf_end=int(mf.stop), cc_mf=self.cc_all[mf].astype(ip),
            trigger_mf=np.minimum(self.trigger_days[self.cc_all][mf], e.pos_target_days[mf]),
            target_days=e.pos_target_days[mf],
            lead_weeks=e.pos_lead_weeks[mf], stock=self.stock, cc_stock=self.cc_stock.astype(ip),
            stock_com=stock_com, stock_country=stock_country, release_share=self.release_share,
            tier_mf=self.tier_mf, n_tiers=int(self.n_tiers), priority_share=self.priority_share,
            refill=self.refill, max_price=self.max_price * e.price0[stock_com],
            hold_stock=self.storage[stock_country] + e.price0[stock_com] * self.value_rate[stock_country],
            n_cc=int(self.n_cc), n_countries=len(e.countries))
        self._goal = SettledPath(self.stockpile_target, self.target_step)
        # precautionary days, per manufacturers' position, while their commodity is on alert
        self._com_mf = e.pos_commodity[mf].astype(ip)
        self._outside_mf = e.pos_country[mf] != e.coercer
        self._days = self.config.world.market.precautionary_days
        self._alert: frozenset[str] = frozenset()
        self._extra = np.zeros(int(mf.stop) - int(mf.start))
        self._kernel = implementation(_inventories_kernel, inventories_reference)
        self._everywhere = np.ones(self.n_cc)  # release and refill allowed (no agency decides)

    def stockpile_target(self, t: int) -> np.ndarray:
        """Target stock of each stockpile at step ``t`` (t), on its build path."""
        ramp = np.where(self.target_step > 0,
                        np.minimum(1.0, (t + 1) / np.maximum(self.target_step, 1)), 1.0)
        return self.initial + (self.target_final - self.initial) * ramp

    def _pooled_release(self, pool: np.ndarray) -> None:
        """FORGE's coordinated release (``signals.release_pool``: the members' country-commodities that
        release together), before the week's own releases: the members' firms of those commodities below
        ``responders.forge.release_trigger_days`` of cover (or their own target, if lower) get their need,
        pro rata, from every pooled stockpile, each giving in proportion to what it may release this week
        (its stock times its ``stockpile_max_release_share_per_week``)."""
        s, fx = self.state, self.fixed
        mf, cc_mf, n_com = slice(fx.mf_start, fx.mf_end), fx.cc_mf, len(self.eco.commodities)
        # a firm that keeps a thin stock in calm is not short: the trigger is at most its own target
        days = np.minimum(self.config.responders.forge.release_trigger_days, fx.target_days)
        need = np.where(pool[cc_mf], np.maximum(s.required[mf] * days / 7.0 - s.inventory[mf], 0.0), 0.0)
        com_mf = cc_mf % n_com
        need_com = np.bincount(com_mf, need, minlength=n_com)
        give = np.where(pool[self.cc_stock], s.inventory[self.stock] * self.release_share[self.cc_stock], 0.0)
        com_st = fx.stock_com
        give_com = np.bincount(com_st, give, minlength=n_com)
        out = np.minimum(need_com, give_com)
        s.inventory[mf] += need * np.divide(out, need_com, out=np.zeros(n_com), where=need_com > 0)[com_mf]
        s.inventory[self.stock] -= give * np.divide(out, give_com, out=np.zeros(n_com), where=give_com > 0)[com_st]
        self.pooled_released = out  # tonnes released together this week, per commodity

    def step(self, t: int) -> None:
        s = self.state
        sig = self.signals
        week = InventoriesWeek(s.ring, s.ring_cn, s.in_transit, s.inventory, s.recycled, s.required, s.expected_use,
                               s.stock_target, s.pipe_target, s.adjust_rate, s.price, self._extra,
                               sig.release_open if len(sig.release_open) else self._everywhere,
                               sig.refill_open if len(sig.refill_open) else self._everywhere)
        if self.signals.alert != self._alert:
            self._alert = self.signals.alert
            e = self.eco
            mask = np.array([c in self._alert for c in e.commodities], bool)
            self._extra[:] = np.where(self._outside_mf & mask[self._com_mf], self._days, 0.0)
        if len(self.signals.release_pool):  # FORGE's members release together (simulation/states.py)
            self._pooled_release(self.signals.release_pool)
        goal = self._goal.at(t)
        add = self.signals.stockpile_add_days
        if len(add):  # a state's agency raised its targets after a crisis (days of use on top)
            goal = goal + add[self.fixed.stock_country] * self.use_cc_day[self.cc_stock]
        s.arrived, s.arrived_cn, s.use, _released, s.holding_cost_usd = self._kernel(
            self.fixed, week, t % s.ring.shape[0], goal)
