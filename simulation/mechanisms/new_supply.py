"""New supply: dated projects, price-driven investment, and exit protected by FORGE floors.

- **Projects** (``world.projects`` and a strategy's ``projects``): a dedicated producer
  that comes online on ``online_date`` and ramps linearly over ``ramp_weeks``.
- **Investment**: while the outside price, smoothed over ``price_smoothing_weeks`` (26), exceeds
  ``price_threshold_multiple`` of calm, new non-Chinese capacity is started at
  ``response_share_per_year`` of world capacity a year (full rate at twice the
  threshold), in FORGE members first, and comes online the commodity's
  ``investment_lead_weeks`` later (else ``world.investment.lead_weeks``), up to
  ``max_share`` of world capacity. Investors in FORGE members see at least the FORGE
  floor price.
- **Exit**: when that smoothed price falls below ``exit_price_multiple`` (0.8) of calm (China
  undercutting), producers outside China and outside FORGE idle ``exit_share_per_week`` (2%)
  of their capacity a week, down to ``exit_floor_share`` (half) of it; FORGE members whose
  floor is above the exit price keep producing. (All in ``world.investment``: assumptions
  with ranges in the schema.)
- **The states' floors** (``signals.producer_floor``, set by the US's and FORGE's ``decide()``,
  ``simulation/states.py``): a producer whose state guarantees it a floor above the exit price
  does not exit (it is paid at least the floor), investors in that commodity see the floor, and
  the state pays the gap between its floor and the outside price on the capacity kept online, less
  what members' firms paid of it last week under FORGE's floor in their landed prices
  (``signals.floor_paid_usd``, from the market), shared over the members' covered producers of the
  commodity pro rata to their capacity online.
- **Projects the US decides** (``responders.us.invest_options``) are dormant until the US finances
  them (``signals.project_online``: their week online), then ramp as dated projects.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from simulation.kernels import implementation, kernel, maximum, minimum
from simulation.mechanisms.base import Context, Mechanism
from simulation.population import PRODUCER


class NewSupplyFixed(NamedTuple):
    """What the new-supply kernel reads that never changes."""

    project_firms: np.ndarray  # the projects' producers
    online: np.ndarray  # their first step online
    ramp: np.ndarray  # their ramp, weeks
    p0: np.ndarray  # calm price per commodity
    floor: float  # the FORGE price floor, multiple of calm
    any_member: bool  # any investment producer in a FORGE member (investors then see the floor)
    thr: float  # invest while the smoothed price exceeds this multiple of calm
    pace_cap: np.ndarray  # per commodity: new capacity a week at full pace, t/week
    invest_cap: np.ndarray  # per commodity: the investment producers' nominal capacity, t/week
    invest_firms: np.ndarray  # the investment producers (dormant at the start)
    invest_com: np.ndarray  # their commodity
    lead: np.ndarray  # per commodity: weeks from an investment decision to output
    exit_firms: np.ndarray  # the producers that idle when prices collapse
    exit_com: np.ndarray  # their commodity
    exit_price_multiple: float  # world.investment.exit_price_multiple
    exit_share_per_week: float  # world.investment.exit_share_per_week
    exit_floor: float  # world.investment.exit_floor_share
    smoothing_weeks: float  # world.investment.price_smoothing_weeks


class Investment(NamedTuple):
    """Per commodity, carried from week to week (``new``: this week's)."""

    price_ema: np.ndarray  # smoothed price / calm price
    started: np.ndarray  # t/week decided so far
    new: np.ndarray  # this week's new investment, t/week
    invest_floor: np.ndarray  # per commodity: the price floor (multiple of calm) its investors see, 0: none
    exit_support: np.ndarray  # per exiting producer: its state's price floor (multiple of calm), 0: none
    arrivals: np.ndarray  # (weeks, commodity) ring: capacity started in week t is due in row (t + lead) % weeks
    online_cap: np.ndarray  # t/week of investment capacity online


@kernel
def _new_supply_kernel(fx, inv, t, price, capacity_factor):
    """The projects' ramps, the smoothed price, this week's new investment per commodity
    (into ``new``, added to ``started`` and to the ``arrivals`` row due after each commodity's
    lead time), the exit of unprotected producers, then the capacity due this week online (the
    investment producers' capacity factors), in place. Returns whether any investment was
    started. (Clips and extremes as numpy's: NaN wins.) :func:`new_supply_reference` in numpy."""
    project_firms, online, ramp, p0, thr = fx.project_firms, fx.online, fx.ramp, fx.p0, fx.thr
    pace_cap, invest_cap, exit_firms, exit_com = fx.pace_cap, fx.invest_cap, fx.exit_firms, fx.exit_com
    price_ema, started, new = inv.price_ema, inv.started, inv.new
    for k in range(len(project_firms)):
        r = (t - online[k] + 1) / max(ramp[k], 1.0) if ramp[k] > 0 else 1.0
        if r < 0.0:
            r = 0.0
        if r > 1.0:
            r = 1.0
        capacity_factor[project_firms[k]] = r if t >= online[k] else 0.0
    started_any = False
    for j in range(len(price_ema)):
        ema = price_ema[j] + (price[j] / p0[j] - price_ema[j]) / fx.smoothing_weeks
        price_ema[j] = ema
        seen = maximum(ema, fx.floor) if fx.any_member else ema
        seen = maximum(seen, inv.invest_floor[j])
        pace = (seen - thr) / thr
        if pace < 0.0:
            pace = 0.0
        if pace > 1.0:
            pace = 1.0
        room = invest_cap[j] - started[j]
        if room < 0.0:
            room = 0.0
        want = pace_cap[j] * pace
        new[j] = minimum(want, room) if ema > thr else 0.0
        started_any = started_any or new[j] != 0
    arrivals, online_cap = inv.arrivals, inv.online_cap
    n_rows = arrivals.shape[0]
    if started_any:
        for j in range(len(started)):
            started[j] += new[j]
            arrivals[(t + fx.lead[j]) % n_rows, j] += new[j]
    for k in range(len(exit_firms)):
        f = capacity_factor[exit_firms[k]]
        if maximum(price_ema[exit_com[k]], inv.exit_support[k]) < fx.exit_price_multiple:
            f -= fx.exit_share_per_week
            f = maximum(f, fx.exit_floor)
        else:
            f += fx.exit_share_per_week
            f = minimum(f, 1.0)
        capacity_factor[exit_firms[k]] = f
    # the capacity due this week comes online
    due = arrivals[t % n_rows]
    arrived = False
    for j in range(len(due)):
        if due[j] != 0.0:  # NaN too (as numpy's any)
            arrived = True
    if arrived:
        frac = np.zeros(len(due))
        for j in range(len(due)):
            online_cap[j] += due[j]
            due[j] = 0.0
            if invest_cap[j] > 0:
                frac[j] = online_cap[j] / invest_cap[j]
        for k in range(len(fx.invest_firms)):
            capacity_factor[fx.invest_firms[k]] = frac[fx.invest_com[k]]
    return started_any


def new_supply_reference(fx: NewSupplyFixed, inv: Investment, t: int, price: np.ndarray,
                         capacity_factor: np.ndarray) -> bool:
    """:func:`_new_supply_kernel` in numpy."""
    price_ema, started, new = inv.price_ema, inv.started, inv.new
    ramp = np.where(fx.ramp > 0, (t - fx.online + 1) / np.maximum(fx.ramp, 1.0), 1.0)
    capacity_factor[fx.project_firms] = np.where(t >= fx.online, np.clip(ramp, 0.0, 1.0), 0.0)
    price_ema += (price / fx.p0 - price_ema) / fx.smoothing_weeks
    seen = np.maximum(price_ema, fx.floor) if fx.any_member else price_ema
    seen = np.maximum(seen, inv.invest_floor)
    pace = np.clip((seen - fx.thr) / fx.thr, 0.0, 1.0)
    room = np.maximum(fx.invest_cap - started, 0.0)
    new[:] = np.where(price_ema > fx.thr, np.minimum(fx.pace_cap * pace, room), 0.0)
    started_any = bool(np.any(new != 0))
    ring, online_cap = inv.arrivals, inv.online_cap
    if started_any:
        started += new
        ring[(t + fx.lead) % len(ring), np.arange(len(new))] += new  # due after each lead time
    f = capacity_factor[fx.exit_firms]
    low = np.maximum(price_ema[fx.exit_com], inv.exit_support) < fx.exit_price_multiple
    capacity_factor[fx.exit_firms] = np.where(low, np.maximum(f - fx.exit_share_per_week, fx.exit_floor),
                                              np.minimum(f + fx.exit_share_per_week, 1.0))
    due = ring[t % len(ring)]
    if due.any():
        online_cap += due
        due[:] = 0.0
        frac = np.divide(online_cap, fx.invest_cap, out=np.zeros_like(online_cap), where=fx.invest_cap > 0)
        capacity_factor[fx.invest_firms] = frac[fx.invest_com]
    return started_any


@kernel
def _pay_floors_kernel(firms, com, floor_usd, capacity, payer, member, price, capacity_factor, paid, policy_cost):
    """What each state pays its covered producers this week, into ``policy_cost`` (its entry per
    country, USD): the gap between the floor and the outside price on the capacity kept online, less
    the members' share of what their firms paid under FORGE's floor (``paid``, countries x
    commodities; empty: none) (:func:`pay_floors_reference` in numpy; sums in numpy's order)."""
    n, n_com = len(firms), len(price)
    online = np.empty(n)
    pay = np.empty(n)
    for j in range(n):
        online[j] = capacity[j] * capacity_factor[firms[j]]
        pay[j] = online[j] * maximum(floor_usd[j] - price[com[j]], 0.0)
    if paid.size:
        base = np.zeros(n_com)  # the members' covered capacity online per commodity, in order
        for j in range(n):
            if member[j]:
                base[com[j]] += online[j]
        paid_com = np.zeros(n_com)  # what members' firms paid per commodity, country by country
        for k in range(paid.shape[0]):
            for g in range(n_com):
                paid_com[g] += paid[k, g]
        for j in range(n):
            b = base[com[j]]
            part = online[j] / b if member[j] and b > 0 else 0.0
            pay[j] = maximum(pay[j] - paid_com[com[j]] * part, 0.0)
    add = np.zeros(len(policy_cost))
    for j in range(n):
        add[payer[j]] += pay[j]
    for k in range(len(policy_cost)):
        policy_cost[k] += add[k]


def pay_floors_reference(firms, com, floor_usd, capacity, payer, member, price, capacity_factor, paid,
                         policy_cost) -> None:
    """:func:`_pay_floors_kernel` in numpy."""
    gap = np.maximum(floor_usd - price[com], 0.0)
    online = capacity * capacity_factor[firms]
    pay = online * gap
    if paid.size:
        n_com = len(price)
        base = np.bincount(com[member], online[member], minlength=n_com)[com]
        part = np.zeros(len(firms))
        np.divide(online, base, out=part, where=member & (base > 0))
        pay = np.maximum(pay - paid.sum(axis=0)[com] * part, 0.0)
    policy_cost += np.bincount(payer, pay, minlength=len(policy_cost))


class NewSupply(Mechanism):
    """Capacity that appears (projects, investment) or idles (exit)."""

    name = "new_supply"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        e, cfg = self.eco, self.config
        self.cfg = cfg.world.investment
        n_com = len(e.commodities)
        self.project_firms = np.flatnonzero(e.firm_project >= 0)
        projects = cfg.projects
        self.online = np.array([cfg.step_of(projects[j].online_date) for j in e.firm_project[self.project_firms]],
                               dtype=float)
        self.ramp = np.array([projects[j].ramp_weeks for j in e.firm_project[self.project_firms]], dtype=float)
        self.invest_firms = np.flatnonzero(e.firm_invest)  # dormant in the initial state, as project firms
        self.invest_com = e.firm_commodity[self.invest_firms]
        # nominal capacity of the dormant investment producers, per commodity
        self.invest_cap = np.bincount(self.invest_com, e.firm_capacity_t[self.invest_firms], minlength=n_com)
        coms = [cfg.world.commodities[c] for c in e.commodities]
        self.world_cap_week = np.array([sum(c.capacity_t_per_year.values()) for c in coms]) / 52.0
        self.started = np.zeros(n_com)  # t/week decided so far
        self.online_cap = np.zeros(n_com)
        self.price_ema = np.ones(n_com)
        member = np.array([cfg.world.countries[c].forge_member for c in e.countries])
        self.floor = cfg.world.forge.price_floor_multiple
        regular = (e.firm_kind == PRODUCER) & (e.firm_project < 0) & ~e.firm_invest
        self.exit_firms = np.flatnonzero(regular & (e.firm_country != e.coercer))
        protected = member[e.firm_country[self.exit_firms]] & (self.floor >= self.cfg.exit_price_multiple)
        self.exit_firms = self.exit_firms[~protected]
        self.invest_member = member[e.firm_country[self.invest_firms]]
        self.capex_usd = sum(p.capex_usd for p in cfg.strategy_projects)
        # each commodity's investment lead time (weeks from decision to output); capacity started in
        # week t comes online in week t + lead, row (t + lead) % weeks of a ring one week longer than
        # the longest lead
        lead = np.array([cfg.world.commodities[c].investment_lead_weeks or self.cfg.lead_weeks
                         for c in e.commodities], dtype=np.int64)
        self.fixed = NewSupplyFixed(
            project_firms=self.project_firms, online=self.online, ramp=self.ramp, p0=e.price0, floor=float(self.floor),
            any_member=bool(self.invest_member.any()), thr=float(self.cfg.price_threshold_multiple),
            pace_cap=self.cfg.response_share_per_year / 52.0 * self.world_cap_week, invest_cap=self.invest_cap,
            invest_firms=self.invest_firms, invest_com=self.invest_com.astype(np.intp), lead=lead,
            exit_firms=self.exit_firms, exit_com=e.firm_commodity[self.exit_firms].astype(np.intp),
            exit_price_multiple=float(self.cfg.exit_price_multiple),
            exit_share_per_week=float(self.cfg.exit_share_per_week), exit_floor=float(self.cfg.exit_floor_share),
            smoothing_weeks=float(self.cfg.price_smoothing_weeks))
        self.investment = Investment(price_ema=self.price_ema, started=self.started, new=np.zeros(n_com),
                                     invest_floor=np.zeros(n_com), exit_support=np.zeros(len(self.exit_firms)),
                                     arrivals=np.zeros((int(lead.max()) + 1, n_com)), online_cap=self.online_cap)
        # the states' price floors (signals.producer_floor) as they were last read; the producers they cover
        self._floor_seen = self.signals.producer_floor
        # the covered producers, read when the floors change: (firms, commodity, floor USD/t, capacity t/week, payer,
        # whether the payer is a FORGE member)
        self._floor_gap: tuple[np.ndarray, ...] | None = None
        self._member = member  # per country: a FORGE member (its firms pay FORGE's floor: signals.floor_paid_usd)
        # projects the US decides to finance (responders.us.invest_options): dormant until it does
        self._online_seen = self.signals.project_online
        n_fixed = len(cfg.projects) - len(cfg.decided_options)
        self._decided = {key: np.flatnonzero(e.firm_project[self.project_firms] == n_fixed + i)
                         for i, key in enumerate(cfg.decided_options)}
        for k in self._decided.values():
            self.online[k] = np.inf
        self._start = cfg.history_steps  # the analysis's first week (the history's weeks are unrecorded)
        self._kernel = implementation(_new_supply_kernel, new_supply_reference)
        self._pay = implementation(_pay_floors_kernel, pay_floors_reference)

    def step(self, t: int) -> None:
        s, sig = self.state, self.signals
        if sig.producer_floor is not self._floor_seen:
            self._read_floors()
        if sig.project_online is not self._online_seen:
            self._online_seen = sig.project_online
            for key, week in sig.project_online.items():
                self.online[self._decided[key]] = week
        # dated projects, price-driven investment (decided now, online after the lead time), the exit
        # of unprotected producers when prices collapse, and the investment due this week online
        self._kernel(self.fixed, self.investment, t, s.price, s.capacity_factor)
        if t == self._start and self.capex_usd:  # the analysis start: a history week is unrecorded
            s.policy_cost_usd[self._payer()] += self.capex_usd
        if self._floor_gap is not None:
            self._pay_floors()

    def _read_floors(self) -> None:
        """The states' price floors changed: the producers they protect from exit, what investors see, and
        who pays the gap."""
        e = self.eco
        floor = self._floor_seen = self.signals.producer_floor
        self.investment.exit_support[:] = floor[e.firm_country[self.exit_firms], e.firm_commodity[self.exit_firms]]
        invest = np.zeros(len(e.commodities))
        np.maximum.at(invest, self.invest_com, floor[e.firm_country[self.invest_firms], self.invest_com])
        self.investment.invest_floor[:] = invest
        prod = np.flatnonzero((e.firm_kind == PRODUCER) & (e.firm_country != e.coercer) & (e.firm_commodity >= 0))
        level = floor[e.firm_country[prod], e.firm_commodity[prod]]
        covered = level > 0
        firms = prod[covered]
        com = e.firm_commodity[firms]
        payer = e.firm_country[firms].astype(np.intp)
        self._floor_gap = ((firms, com.astype(np.intp), level[covered] * e.price0[com], e.firm_capacity_t[firms],
                            payer, self._member[payer]) if covered.any() else None)

    def _pay_floors(self) -> None:
        """Each state pays its producers the gap between its floor and the outside price on the capacity they
        keep online (take-or-pay), USD, into its policy cost; what members' firms paid of it under FORGE's
        floor (``signals.floor_paid_usd``, last week's, at the same price) is taken off the members'
        producers of the commodity, pro rata to their capacity online (never below nothing)."""
        s = self.state
        # (firms, commodity, floor USD/t, capacity, payer, a FORGE member's), then the week's
        self._pay(*self._floor_gap, s.price, s.capacity_factor, self.signals.floor_paid_usd, s.policy_cost_usd)

    def _payer(self) -> int:
        """The state that finances the strategy's projects: the first country with levers, else the target."""
        levers = list(self.config.strategy.levers)
        return self.eco.countries.index(levers[0]) if levers else self.eco.target
