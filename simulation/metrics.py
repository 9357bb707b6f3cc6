"""The registry of output metrics and the per-step recorder.

Names tell their kind: ``cum_`` cumulative, ``n_`` a count, ``_share`` a fraction,
``_t`` tonnes, ``_pct_gdp`` percent of annual GDP, ``_days`` days of use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from simulation.mechanisms.base import kernel
from simulation.population import POS_MANUFACTURER, POS_STOCKPILE

if TYPE_CHECKING:
    from simulation.model import CoercionModel


@dataclass(frozen=True)
class Metric:
    name: str
    table: str  # model | country | country_commodity
    unit: str
    label: str


METRICS = [
    Metric("escalation_level", "model", "level", "China's level on the escalation ladder (0 = calm)"),
    Metric("escalation_stage", "model", "name", "Name of that level"),
    Metric("secondary_boycott", "model", "bool", "Secondary-boycott clause in force"),
    Metric("transshipped_t", "model", "t/week",
           "Chinese-origin tonnes delivered to the target through transit-hub traders"),
    Metric("detected_transshipments", "model", "count/week", "Transshipments detected by China"),
    Metric("blacklisted_traders", "model", "count", "Traders cut off from Chinese supply"),
    Metric("output_loss", "country", "LCU/week", "Value added lost (country's currency)"),
    Metric("output_loss_pct_gdp", "country", "% of annual GDP", "Weekly loss in % of annual GDP"),
    Metric("cum_output_loss_pct_gdp", "country", "% of annual GDP", "Cumulative loss"),
    Metric("jobs_lost", "country", "jobs", "Job equivalents lost at this week's rate of loss"),
    Metric("demand_t", "country_commodity", "t/week", "Manufacturers' need at full output"),
    Metric("supplied_t", "country_commodity", "t/week", "Used by manufacturers"),
    Metric("shortage_t", "country_commodity", "t/week", "Need not met"),
    Metric("shortage_share", "country_commodity", "share", "shortage_t / demand_t"),
    Metric("china_share", "country_commodity", "share",
           "Chinese-origin share of the tonnes shipped to the country this week (direct, via "
           "traders, spot); empty when nothing was shipped"),
    Metric("stockpile_days", "country_commodity", "days", "State stockpile, days of use"),
    Metric("recycled_t", "country_commodity", "t/week", "Secondary supply from recycling"),
    Metric("price", "country_commodity", "USD/t", "Price outside China"),
    Metric("price_china", "country_commodity", "USD/t", "Price inside China"),
    Metric("inventory_days", "country_commodity", "days", "Firms' inventories, days of use"),
]
COLUMNS = {
    "model": ["step", "date"] + [m.name for m in METRICS if m.table == "model"],
    "country": ["step", "date", "country"] + [m.name for m in METRICS if m.table == "country"],
    "country_commodity": ["step", "date", "country", "commodity"]
    + [m.name for m in METRICS if m.table == "country_commodity"],
}


@kernel
def _record_kernel(manuf, stock, cc, com, country, pairs, pair_com, daily_use, n_cc,
                   required, use, shipped, shipped_cn, inventory, in_transit, recycled, price, price_cn,
                   production_t, held, t,
                   demand_t, supplied_t, china_share, stockpile_days, recycled_t, price_out, price_china,
                   inventory_days, stock_purchase_usd, supply_t, use_t, inventory_change_t):
    """Row ``t`` of the per-week arrays.

    One pass over positions sums, each in position order (as ``np.bincount`` adds), into
    country-commodity pairs (over manufacturers, stockpiles, or both), stockpiles' countries
    and commodities; then the per-pair shares and days of use and the commodity ledger.
    ``held`` (tonnes per commodity in stock and in transit) is replaced by this week's.
    """
    # the sums of one pair (or commodity) side by side: shipped, Chinese-origin shipped,
    # demand, use, firms' inventory, recycled, stockpile | recycled, use, inventory, in transit
    by_cc = np.zeros((n_cc, 7))
    by_com = np.zeros((supply_t.shape[1], 4))
    purchase = np.zeros(stock_purchase_usd.shape[1])
    for i in range(len(cc)):
        c, g = cc[i], com[i]
        if manuf[i]:
            by_cc[c, 0] += shipped[i]
            by_cc[c, 1] += shipped_cn[i]
            by_cc[c, 2] += required[i]
            by_cc[c, 3] += use[i]
            by_cc[c, 4] += inventory[i]
            by_cc[c, 5] += recycled[i]
        elif stock[i]:
            by_cc[c, 0] += shipped[i]
            by_cc[c, 1] += shipped_cn[i]
            by_cc[c, 6] += inventory[i]
            purchase[country[i]] += shipped[i] * price[g]
        by_com[g, 0] += recycled[i]
        by_com[g, 1] += use[i]
        by_com[g, 2] += inventory[i]
        by_com[g, 3] += in_transit[i]
    for q in range(len(pairs)):
        c = pairs[q]
        ship = by_cc[c, 0]
        china_share[t, q] = by_cc[c, 1] / ship if ship > 1e-12 else np.nan
        demand_t[t, q] = by_cc[c, 2]
        supplied_t[t, q] = by_cc[c, 3]
        inventory_days[t, q] = by_cc[c, 4] / daily_use[q]
        recycled_t[t, q] = by_cc[c, 5]
        stockpile_days[t, q] = by_cc[c, 6] / daily_use[q]
        price_out[t, q] = price[pair_com[q]]
        price_china[t, q] = price_cn[pair_com[q]]
    stock_purchase_usd[t] = purchase
    for g in range(len(by_com)):
        supply_t[t, g] = production_t[g] + by_com[g, 0]
        use_t[t, g] = by_com[g, 1]
        now = by_com[g, 2] + by_com[g, 3]
        inventory_change_t[t, g] = now - held[g]
        held[g] = now


class Recorder:
    """Preallocated per-step arrays; :meth:`tables` turns them into tidy DataFrames."""

    def __init__(self, model: CoercionModel):
        self.model = model
        e = model.eco
        n = model.config.n_steps
        k, m = len(e.countries), len(e.commodities)
        self.n = n
        self.manuf = e.pos_kind == POS_MANUFACTURER
        self.stock = e.pos_kind == POS_STOCKPILE
        self.cc = e.pos_cc
        demand_cc = np.bincount(self.cc[self.manuf], e.pos_base_use_t[self.manuf], minlength=k * m)
        self.pairs = np.flatnonzero(demand_cc > 0)  # country-commodity pairs with use
        self.daily_use = demand_cc[self.pairs] / 7.0
        p = len(self.pairs)
        self.level = np.zeros(n, np.int64)
        self.stage = [""] * n
        self.boycott = np.zeros(n, bool)
        self.transshipped = np.zeros(n)
        self.detected = np.zeros(n, np.int64)
        self.blacklisted = np.zeros(n, np.int64)
        self.output_loss = np.zeros((n, k))
        self.jobs_lost = np.zeros((n, k))
        self.holding_cost_usd = np.zeros((n, k))
        self.stock_purchase_usd = np.zeros((n, k))
        self.policy_cost_usd = np.zeros((n, k))
        names = ("demand_t", "supplied_t", "china_share", "stockpile_days", "recycled_t",
                 "price", "price_china", "inventory_days")
        self.cc_vals = {name: np.zeros((n, p)) for name in names}
        # material ledger per commodity (conservation tests)
        self.ledger = {name: np.zeros((n, m)) for name in
                       ("supply_t", "use_t", "inventory_change_t", "losses_t")}
        # fixed index arrays, converted once
        self._cc = self.cc.astype(np.intp)
        self._com = e.pos_commodity.astype(np.intp)
        self._country = e.pos_country.astype(np.intp)
        self._target_edges = np.flatnonzero(e.pos_country[e.edge_pos] == e.target)  # edges into the target
        self._pair_com = self.pairs % m
        self._held = self._holdings()

    def _holdings(self) -> np.ndarray:
        """Tonnes per commodity in stock and in transit (the weekly kernel sums the same)."""
        s = self.model.state
        m = len(self.model.eco.commodities)
        return (np.bincount(self._com, s.inventory, minlength=m)
                + np.bincount(self._com, s.in_transit, minlength=m))

    def record(self) -> None:
        """Store the week just simulated (row ``model.t``)."""
        mdl, e, s = self.model, self.model.eco, self.model.state
        t = mdl.t
        self.level[t] = mdl.level
        self.stage[t] = mdl.stage
        self.boycott[t] = mdl.secondary_boycott
        self.transshipped[t] = s.transshipped[self._target_edges].sum()
        self.detected[t] = mdl.new_detections
        self.blacklisted[t] = mdl.n_blacklisted
        self.output_loss[t] = s.output_loss
        self.jobs_lost[t] = s.jobs_lost
        self.holding_cost_usd[t] = s.holding_cost_usd
        self.policy_cost_usd[t] = s.policy_cost_usd
        v, lg = self.cc_vals, self.ledger
        _record_kernel(self.manuf, self.stock, self._cc, self._com, self._country, self.pairs, self._pair_com,
                       self.daily_use, e.n_cc,
                       s.required, s.use, s.shipped, s.shipped_cn, s.inventory, s.in_transit, s.recycled,
                       s.price, s.price_cn, s.production_t, self._held, t,
                       v["demand_t"], v["supplied_t"], v["china_share"], v["stockpile_days"], v["recycled_t"],
                       v["price"], v["price_china"], v["inventory_days"], self.stock_purchase_usd,
                       lg["supply_t"], lg["use_t"], lg["inventory_change_t"])
        lg["losses_t"][t] = s.losses_t

    # ------------------------------------------------------------------ tables
    def tables(self) -> dict[str, pd.DataFrame]:
        """The three contract tables over the weeks recorded so far."""
        mdl, e = self.model, self.model.eco
        n = mdl.t
        steps = np.arange(n)
        dates = [mdl.config.date_of(int(i)).isoformat() for i in steps]
        k = len(e.countries)
        model_df = pd.DataFrame({
            "step": steps, "date": dates,
            "escalation_level": self.level[:n], "escalation_stage": self.stage[:n],
            "secondary_boycott": self.boycott[:n], "transshipped_t": self.transshipped[:n],
            "detected_transshipments": self.detected[:n], "blacklisted_traders": self.blacklisted[:n],
        })
        gdp = np.array([mdl.config.world.countries[c].gdp_lcu_per_year for c in e.countries])
        pct = self.output_loss[:n] / gdp * 100.0
        country_df = pd.DataFrame({
            "step": np.repeat(steps, k), "date": np.repeat(dates, k),
            "country": np.tile(e.countries, n),
            "output_loss": self.output_loss[:n].ravel(),
            "output_loss_pct_gdp": pct.ravel(),
            "cum_output_loss_pct_gdp": np.cumsum(pct, axis=0).ravel(),
            "jobs_lost": self.jobs_lost[:n].ravel(),
        })
        pairs = self.pairs
        p = len(pairs)
        m = len(e.commodities)
        v = {name: arr[:n] for name, arr in self.cc_vals.items()}
        shortage = np.maximum(v["demand_t"] - v["supplied_t"], 0.0)
        cc_df = pd.DataFrame({
            "step": np.repeat(steps, p), "date": np.repeat(dates, p),
            "country": np.tile([e.countries[i // m] for i in pairs], n),
            "commodity": np.tile([e.commodities[i % m] for i in pairs], n),
            "demand_t": v["demand_t"].ravel(), "supplied_t": v["supplied_t"].ravel(),
            "shortage_t": shortage.ravel(),
            "shortage_share": np.divide(shortage, v["demand_t"], out=np.zeros_like(shortage),
                                        where=v["demand_t"] > 0).ravel(),
            "china_share": v["china_share"].ravel(), "stockpile_days": v["stockpile_days"].ravel(),
            "recycled_t": v["recycled_t"].ravel(), "price": v["price"].ravel(),
            "price_china": v["price_china"].ravel(), "inventory_days": v["inventory_days"].ravel(),
        })
        return {"model": model_df[COLUMNS["model"]], "country": country_df[COLUMNS["country"]],
                "country_commodity": cc_df[COLUMNS["country_commodity"]]}
