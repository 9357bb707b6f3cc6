"""New supply: dated projects, price-driven investment, and exit protected by FORGE floors.

- **Projects** (``world.projects`` and a strategy's ``projects``): a dedicated producer
  that comes online on ``online_date`` and ramps linearly over ``ramp_weeks``.
- **Investment**: while the outside price, smoothed over 26 weeks, exceeds
  ``price_threshold_multiple`` of calm, new non-Chinese capacity is started at
  ``response_share_per_year`` of world capacity a year (full rate at twice the
  threshold), in FORGE members first, and comes online ``lead_weeks`` later, up to
  ``max_share`` of world capacity. Investors in FORGE members see at least the FORGE
  floor price.
- **Exit**: when that smoothed price falls below ``exit_price_multiple`` of calm (China
  undercutting), producers outside China and outside FORGE idle 2% of their capacity a
  week (down to half); FORGE members whose floor is above the exit price keep producing.
"""

from __future__ import annotations

import numpy as np

from simulation.kernels import kernel, maximum, minimum
from simulation.mechanisms.base import Context, Mechanism
from simulation.population import PRODUCER

EXIT_PRICE_MULTIPLE = 0.8
EXIT_SHARE_PER_WEEK = 0.02
EXIT_FLOOR = 0.5


@kernel
def _new_supply_kernel(t, project_firms, online, ramp, price, p0, price_ema, floor, any_member, thr, pace_cap,
                       invest_cap, started, new, exit_firms, exit_com, capacity_factor):
    """The projects' ramps, the smoothed price, this week's new investment per commodity
    (into ``new``, added to ``started``) and the exit of unprotected producers, in place.
    Returns whether any investment was started. (Clips and extremes as numpy's: NaN wins.)"""
    for k in range(len(project_firms)):
        r = (t - online[k] + 1) / max(ramp[k], 1.0) if ramp[k] > 0 else 1.0
        if r < 0.0:
            r = 0.0
        if r > 1.0:
            r = 1.0
        capacity_factor[project_firms[k]] = r if t >= online[k] else 0.0
    started_any = False
    for j in range(len(price_ema)):
        ema = price_ema[j] + (price[j] / p0[j] - price_ema[j]) / 26.0
        price_ema[j] = ema
        seen = maximum(ema, floor) if any_member else ema
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
    if started_any:
        for j in range(len(started)):
            started[j] += new[j]
    for k in range(len(exit_firms)):
        f = capacity_factor[exit_firms[k]]
        if price_ema[exit_com[k]] < EXIT_PRICE_MULTIPLE:
            f -= EXIT_SHARE_PER_WEEK
            f = maximum(f, EXIT_FLOOR)
        else:
            f += EXIT_SHARE_PER_WEEK
            f = minimum(f, 1.0)
        capacity_factor[exit_firms[k]] = f
    return started_any


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
        self.arrivals: dict[int, np.ndarray] = {}
        self.online_cap = np.zeros(n_com)
        self.price_ema = np.ones(n_com)
        member = np.array([cfg.world.countries[c].forge_member for c in e.countries])
        self.floor = cfg.world.forge.price_floor_multiple
        regular = (e.firm_kind == PRODUCER) & (e.firm_project < 0) & ~e.firm_invest
        self.exit_firms = np.flatnonzero(regular & (e.firm_country != e.coercer))
        protected = member[e.firm_country[self.exit_firms]] & (self.floor >= EXIT_PRICE_MULTIPLE)
        self.exit_firms = self.exit_firms[~protected]
        self.invest_member = member[e.firm_country[self.invest_firms]]
        self.capex_usd = sum(p.capex_usd for p in cfg.strategy.projects)
        self._exit_com = e.firm_commodity[self.exit_firms].astype(np.intp)
        self._any_member = bool(self.invest_member.any())
        self._pace_cap = self.cfg.response_share_per_year / 52.0 * self.world_cap_week  # t/week at full pace
        self._new = np.zeros(n_com)  # scratch: this week's new investment

    def step(self, t: int) -> None:
        s = self.state
        # dated projects, price-driven investment (decided now, online after the lead time), and the exit
        # of unprotected producers when prices collapse
        if _new_supply_kernel(t, self.project_firms, self.online, self.ramp, s.price, self.eco.price0, self.price_ema,
                              float(self.floor), self._any_member, float(self.cfg.price_threshold_multiple),
                              self._pace_cap, self.invest_cap, self.started, self._new, self.exit_firms,
                              self._exit_com, s.capacity_factor):
            key = t + self.cfg.lead_weeks
            self.arrivals[key] = self.arrivals.get(key, 0.0) + self._new
        if t in self.arrivals:
            self.online_cap += self.arrivals.pop(t)
            frac = np.divide(self.online_cap, self.invest_cap, out=np.zeros_like(self.online_cap),
                             where=self.invest_cap > 0)
            s.capacity_factor[self.invest_firms] = frac[self.invest_com]
        if t == 0 and self.capex_usd:
            s.policy_cost_usd[self._payer()] += self.capex_usd

    def _payer(self) -> int:
        """The state that finances the strategy's projects: the first country with levers, else the target."""
        levers = list(self.config.strategy.levers)
        return self.eco.countries.index(levers[0]) if levers else self.eco.target
