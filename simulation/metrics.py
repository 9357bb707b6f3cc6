"""The registry of output metrics and the per-step recorder.

Names tell their kind: ``cum_`` cumulative, ``n_`` a count, ``_share`` a fraction,
``_t`` tonnes, ``_pct_gdp`` percent of annual GDP, ``_days`` days of use.

:data:`METRICS` is the one list of output metrics: the recorder allocates a series for each
recorded one, and the tables take their columns, in order, from it (a derived metric is
computed from recorded ones when the tables are made).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from simulation.config import Config
from simulation.kernels import implementation, kernel
from simulation.population import POS_MANUFACTURER, POS_STOCKPILE, Economy
from simulation.signals import Signals
from simulation.state import State

TABLES = ("model", "country", "country_commodity")
KEYS = {"model": ["step", "date"], "country": ["step", "date", "country"],
        "country_commodity": ["step", "date", "country", "commodity"]}


@dataclass(frozen=True)
class Metric:
    """An output metric: a column of one of the three tables.

    Attributes:
        name: the column name.
        table: ``model`` (one row a week), ``country`` or ``country_commodity``.
        unit: its unit.
        label: what it measures.
        dtype: how the recorder stores it (``float``, ``int``, ``bool`` or ``str``).
        derived: computed from recorded metrics when the tables are made (not recorded).
    """

    name: str
    table: str
    unit: str
    label: str
    dtype: str = "float"
    derived: bool = False


METRICS = [
    Metric("escalation_level", "model", "level", "China's level on the escalation ladder (0 = calm)", "int"),
    Metric("escalation_stage", "model", "name", "Name of that level", "str"),
    Metric("secondary_boycott", "model", "bool", "Secondary-boycott clause in force", "bool"),
    Metric("transshipped_t", "model", "t/week",
           "Chinese-origin tonnes delivered to the target through transit-hub traders"),
    Metric("detected_transshipments", "model", "count/week", "Transshipments detected by China", "int"),
    Metric("blacklisted_traders", "model", "count", "Traders cut off from Chinese supply", "int"),
    Metric("output_loss", "country", "LCU/week", "Value added lost (country's currency)"),
    Metric("output_loss_pct_gdp", "country", "% of annual GDP", "Weekly loss in % of annual GDP", derived=True),
    Metric("cum_output_loss_pct_gdp", "country", "% of annual GDP", "Cumulative loss", derived=True),
    Metric("jobs_lost", "country", "jobs", "Job equivalents lost at this week's rate of loss"),
    Metric("demand_t", "country_commodity", "t/week", "Manufacturers' need at full output"),
    Metric("supplied_t", "country_commodity", "t/week", "Used by manufacturers"),
    Metric("shortage_t", "country_commodity", "t/week", "Need not met", derived=True),
    Metric("shortage_share", "country_commodity", "share", "shortage_t / demand_t", derived=True),
    Metric("china_share", "country_commodity", "share",
           "Chinese-origin share of the tonnes shipped to the country this week (direct, via "
           "traders, spot); empty when nothing was shipped"),
    Metric("stockpile_days", "country_commodity", "days", "State stockpile, days of use"),
    Metric("recycled_t", "country_commodity", "t/week", "Secondary supply from recycling"),
    Metric("price", "country_commodity", "USD/t", "Price outside China"),
    Metric("price_china", "country_commodity", "USD/t", "Price inside China"),
    Metric("inventory_days", "country_commodity", "days", "Firms' inventories, days of use"),
    Metric("shipped_t", "country_commodity", "t/week",
           "Tonnes shipped this week to the country's manufacturers and stockpile, all origins (at departure; "
           "times china_share: its Chinese-origin tonnes)"),
]
METRIC = {m.name: m for m in METRICS}
COLUMNS = {table: KEYS[table] + [m.name for m in METRICS if m.table == table] for table in TABLES}
LEDGER = ("supply_t", "use_t", "inventory_change_t", "losses_t")  # material ledger per commodity (conservation)
# per country, USD/week; ``input_premium_usd``: what manufacturers pay for the material they use above its calm
# price (outside China the outside price, in China the inside price; FORGE members' firms also what they pay
# above it under the coalition's floor, signals.floor_paid_usd): the cost side of a price rise, which
# the output loss (physical shortage only) does not count
COSTS = ("holding_cost_usd", "stock_purchase_usd", "stock_purchase_calm_usd", "policy_cost_usd", "input_premium_usd")


def _derived(name: str, series: dict[str, np.ndarray], gdp: np.ndarray) -> np.ndarray:
    """A derived metric's values (weeks x columns) from the recorded series."""
    if name == "output_loss_pct_gdp":
        return series["output_loss"] / gdp * 100.0
    if name == "cum_output_loss_pct_gdp":
        return np.cumsum(series["output_loss"] / gdp * 100.0, axis=0)
    shortage = np.maximum(series["demand_t"] - series["supplied_t"], 0.0)
    if name == "shortage_t":
        return shortage
    if name == "shortage_share":
        return np.divide(shortage, series["demand_t"], out=np.zeros_like(shortage), where=series["demand_t"] > 0)
    raise KeyError(f"no rule for the derived metric {name!r}")


class RecordFixed(NamedTuple):
    """What the record kernel reads that never changes."""

    manuf: np.ndarray  # per position: a manufacturer's
    stock: np.ndarray  # per position: a state stockpile's
    cc: np.ndarray  # per position: its country-commodity pair
    com: np.ndarray  # per position: its commodity
    country: np.ndarray  # per position: its country
    pairs: np.ndarray  # the recorded country-commodity pairs (with use)
    pair_com: np.ndarray  # their commodity
    daily_use: np.ndarray  # their calm use, t/day
    coercer: int  # the coercer's country (its manufacturers pay the inside price)
    p0: np.ndarray  # calm price per commodity, outside China
    p0_cn: np.ndarray  # and inside
    n_cc: int


class RecordWeek(NamedTuple):
    """The week's state the record kernel reads (per position; prices and production per commodity)."""

    required: np.ndarray
    use: np.ndarray
    shipped: np.ndarray
    shipped_cn: np.ndarray
    inventory: np.ndarray
    in_transit: np.ndarray
    recycled: np.ndarray
    price: np.ndarray
    price_cn: np.ndarray
    production_t: np.ndarray


class RecordSeries(NamedTuple):
    """The recorder's arrays the record kernel writes a row ``t`` of (weeks x pairs, x countries
    or x commodities)."""

    demand_t: np.ndarray
    supplied_t: np.ndarray
    china_share: np.ndarray
    stockpile_days: np.ndarray
    recycled_t: np.ndarray
    price: np.ndarray
    price_china: np.ndarray
    inventory_days: np.ndarray
    shipped_t: np.ndarray
    stock_purchase_usd: np.ndarray  # tonnes bought by the stockpiles at the week's (outside) price
    stock_purchase_calm_usd: np.ndarray  # the same tonnes at calm prices
    input_premium_usd: np.ndarray
    supply_t: np.ndarray
    use_t: np.ndarray
    inventory_change_t: np.ndarray


@kernel
def _record_kernel(fx, wk, out, held, t):
    """Row ``t`` of the per-week arrays (:func:`record_reference` in numpy).

    One pass over positions sums, each in position order (as ``np.bincount`` adds), into
    country-commodity pairs (over manufacturers, stockpiles, or both), stockpiles' countries
    and commodities; then the per-pair shares and days of use and the commodity ledger.
    ``held`` (tonnes per commodity in stock and in transit) is replaced by this week's.
    """
    manuf, stock, cc, com, country, pairs, pair_com, daily_use = (
        fx.manuf, fx.stock, fx.cc, fx.com, fx.country, fx.pairs, fx.pair_com, fx.daily_use)
    required, use, shipped, shipped_cn, inventory, in_transit, recycled, price = (
        wk.required, wk.use, wk.shipped, wk.shipped_cn, wk.inventory, wk.in_transit, wk.recycled, wk.price)
    price_cn, production_t = wk.price_cn, wk.production_t
    demand_t, supplied_t, china_share, stockpile_days, recycled_t, price_out, price_china, inventory_days = (
        out.demand_t, out.supplied_t, out.china_share, out.stockpile_days, out.recycled_t, out.price,
        out.price_china, out.inventory_days)
    stock_purchase_usd, supply_t, use_t, inventory_change_t = (
        out.stock_purchase_usd, out.supply_t, out.use_t, out.inventory_change_t)
    # the sums of one pair (or commodity) side by side, in one flat array (``pc + k``: pair c's k-th
    # sum; faster than a 2-d array: neighbouring addresses the compiler updates together): shipped,
    # Chinese-origin shipped, demand, use, firms' inventory, recycled, stockpile | recycled, use,
    # inventory, in transit
    by_cc = np.zeros(fx.n_cc * 8)
    by_com = np.zeros(supply_t.shape[1] * 4)
    purchase = np.zeros(stock_purchase_usd.shape[1])
    purchase_calm = np.zeros(stock_purchase_usd.shape[1])
    for i in range(len(cc)):
        pc, pg = cc[i] * 8, com[i] * 4
        ship, ship_cn, req, used, inv, rec = shipped[i], shipped_cn[i], required[i], use[i], inventory[i], recycled[i]
        if manuf[i]:
            by_cc[pc] += ship
            by_cc[pc + 1] += ship_cn
            by_cc[pc + 2] += req
            by_cc[pc + 3] += used
            by_cc[pc + 4] += inv
            by_cc[pc + 5] += rec
        elif stock[i]:
            by_cc[pc] += ship
            by_cc[pc + 1] += ship_cn
            by_cc[pc + 6] += inv
            purchase[country[i]] += ship * price[com[i]]
            purchase_calm[country[i]] += ship * fx.p0[com[i]]
        by_com[pg] += rec
        by_com[pg + 1] += used
        by_com[pg + 2] += inv
        by_com[pg + 3] += in_transit[i]
    for q in range(len(pairs)):
        pc = pairs[q] * 8
        ship = by_cc[pc]
        china_share[t, q] = by_cc[pc + 1] / ship if ship > 1e-12 else np.nan
        out.shipped_t[t, q] = ship
        demand_t[t, q] = by_cc[pc + 2]
        supplied_t[t, q] = by_cc[pc + 3]
        inventory_days[t, q] = by_cc[pc + 4] / daily_use[q]
        recycled_t[t, q] = by_cc[pc + 5]
        stockpile_days[t, q] = by_cc[pc + 6] / daily_use[q]
        price_out[t, q] = price[pair_com[q]]
        price_china[t, q] = price_cn[pair_com[q]]
    stock_purchase_usd[t] = purchase
    out.stock_purchase_calm_usd[t] = purchase_calm
    # manufacturers' use of each pair at its price above calm (inside China: the inside price)
    n_com = len(price)
    premium = np.zeros(stock_purchase_usd.shape[1])
    for c in range(fx.n_cc):
        g, k = c % n_com, c // n_com
        extra = price_cn[g] - fx.p0_cn[g] if k == fx.coercer else price[g] - fx.p0[g]
        premium[k] += by_cc[c * 8 + 3] * extra
    out.input_premium_usd[t] = premium
    for g in range(supply_t.shape[1]):
        supply_t[t, g] = production_t[g] + by_com[g * 4]
        use_t[t, g] = by_com[g * 4 + 1]
        now = by_com[g * 4 + 2] + by_com[g * 4 + 3]
        inventory_change_t[t, g] = now - held[g]
        held[g] = now


def _sum_by(index: np.ndarray, values: np.ndarray, where: np.ndarray, n: int) -> np.ndarray:
    """``values`` summed by ``index`` where ``where`` holds (``n`` bins)."""
    return np.bincount(index[where], values[where], minlength=n)


def record_reference(fx: RecordFixed, wk: RecordWeek, out: RecordSeries, held: np.ndarray, t: int) -> None:
    """:func:`_record_kernel` in numpy."""
    manuf, stock = fx.manuf, fx.stock & ~fx.manuf
    either, everywhere, q = manuf | stock, np.ones(len(fx.cc), bool), fx.pairs
    ship = _sum_by(fx.cc, wk.shipped, either, fx.n_cc)[q]
    ship_cn = _sum_by(fx.cc, wk.shipped_cn, either, fx.n_cc)[q]
    out.china_share[t] = np.divide(ship_cn, ship, out=np.full(len(q), np.nan), where=ship > 1e-12)
    out.shipped_t[t] = ship
    out.demand_t[t] = _sum_by(fx.cc, wk.required, manuf, fx.n_cc)[q]
    out.supplied_t[t] = _sum_by(fx.cc, wk.use, manuf, fx.n_cc)[q]
    out.inventory_days[t] = _sum_by(fx.cc, wk.inventory, manuf, fx.n_cc)[q] / fx.daily_use
    out.recycled_t[t] = _sum_by(fx.cc, wk.recycled, manuf, fx.n_cc)[q]
    out.stockpile_days[t] = _sum_by(fx.cc, wk.inventory, stock, fx.n_cc)[q] / fx.daily_use
    out.price[t] = wk.price[fx.pair_com]
    out.price_china[t] = wk.price_cn[fx.pair_com]
    out.stock_purchase_usd[t] = _sum_by(fx.country, wk.shipped * wk.price[fx.com], stock,
                                        out.stock_purchase_usd.shape[1])
    out.stock_purchase_calm_usd[t] = _sum_by(fx.country, wk.shipped * fx.p0[fx.com], stock,
                                             out.stock_purchase_usd.shape[1])
    n_com, n_k = len(wk.price), out.input_premium_usd.shape[1]
    cc = np.arange(fx.n_cc)
    g, k = cc % n_com, cc // n_com
    extra = np.where(k == fx.coercer, wk.price_cn[g] - fx.p0_cn[g], wk.price[g] - fx.p0[g])
    out.input_premium_usd[t] = np.bincount(k, _sum_by(fx.cc, wk.use, manuf, fx.n_cc) * extra, minlength=n_k)
    n_com = out.supply_t.shape[1]
    out.supply_t[t] = wk.production_t + _sum_by(fx.com, wk.recycled, everywhere, n_com)
    out.use_t[t] = _sum_by(fx.com, wk.use, everywhere, n_com)
    now = _sum_by(fx.com, wk.inventory, everywhere, n_com) + _sum_by(fx.com, wk.in_transit, everywhere, n_com)
    out.inventory_change_t[t] = now - held
    held[:] = now


class PreStartCosts:
    """What the states spend during a scenario's history (``scenario.history_from``), before the
    recorder's first week, per country (USD; the names of :data:`COSTS` the history books).

    The mechanisms run the history with the strategy's levers in force, so a strategy builds
    stocks and capacity there: its spending there is its cost too (``summary.json``:
    ``pre_start_cost_usd``, part of ``strategy_cost_usd``).

    Args:
        eco: the economy.
    """

    NAMES = ("holding_cost_usd", "stock_purchase_usd", "stock_purchase_calm_usd", "policy_cost_usd")

    def __init__(self, eco: Economy):
        k = len(eco.countries)
        self.usd = {name: np.zeros(k) for name in self.NAMES}
        self.weeks = 0
        self._stock = np.flatnonzero(eco.pos_kind == POS_STOCKPILE)
        self._country = eco.pos_country[self._stock].astype(np.intp)
        self._com = eco.pos_commodity[self._stock].astype(np.intp)
        self._p0 = eco.price0[self._com]
        self._k = k

    def add(self, state: State) -> None:
        """Add the week the mechanisms just ran (as :meth:`Recorder.record` books a recorded week)."""
        bought = state.shipped[self._stock]
        self.usd["holding_cost_usd"] += state.holding_cost_usd
        self.usd["policy_cost_usd"] += state.policy_cost_usd
        self.usd["stock_purchase_usd"] += np.bincount(self._country, bought * state.price[self._com],
                                                      minlength=self._k)
        self.usd["stock_purchase_calm_usd"] += np.bincount(self._country, bought * self._p0, minlength=self._k)
        self.weeks += 1


class Recorder:
    """Preallocated per-step series, one per recorded metric; :meth:`tables` turns them into
    tidy DataFrames.

    Args:
        eco: the economy. state: the mutable arrays. signals: the published signals.
        config: the validated config (horizon and dates).

    Attributes:
        series: metric name -> array (weeks, or weeks x countries, or weeks x pairs).
        pairs: the country-commodity pairs with use (``country * n_commodities + commodity``).
        ledger: the material ledger per commodity and week (:data:`LEDGER`).
        costs: per country and week, USD (:data:`COSTS`).
        pre_start: what the states spent during the history, before the first recorded week.
    """

    def __init__(self, eco: Economy, state: State, signals: Signals, config: Config,
                 pre_start: PreStartCosts | None = None):
        self.eco, self.state, self.signals, self.config = eco, state, signals, config
        self.pre_start = pre_start if pre_start is not None else PreStartCosts(eco)
        e = eco
        n = config.n_steps
        k, m = len(e.countries), len(e.commodities)
        self.n = n
        self.manuf = e.pos_kind == POS_MANUFACTURER
        self.stock = e.pos_kind == POS_STOCKPILE
        self.cc = e.pos_cc
        demand_cc = np.bincount(self.cc[self.manuf], e.pos_base_use_t[self.manuf], minlength=k * m)
        self.pairs = np.flatnonzero(demand_cc > 0)  # country-commodity pairs with use
        self.daily_use = demand_cc[self.pairs] / 7.0
        width = {"model": (), "country": (k,), "country_commodity": (len(self.pairs),)}
        dtypes = {"float": float, "int": np.int64, "bool": bool}
        self.series: dict[str, np.ndarray | list] = {
            mt.name: ([""] * n if mt.dtype == "str" else np.zeros((n, *width[mt.table]), dtypes[mt.dtype]))
            for mt in METRICS if not mt.derived}
        self.costs = {name: np.zeros((n, k)) for name in COSTS}
        # per week, country and binding commodity (the trade-ban loss last), LCU/week
        self.loss_by_commodity = np.zeros((n, k, m + 1))
        self.ledger = {name: np.zeros((n, m)) for name in LEDGER}
        # fixed index arrays, converted once
        self._com = e.pos_commodity.astype(np.intp)
        # the edges into the target through hub traders (only they carry transshipped tonnes)
        self._target_edges = np.flatnonzero((e.pos_country[e.edge_pos] == e.target) & e.edge_via_trader)
        self.fixed = RecordFixed(manuf=self.manuf, stock=self.stock, cc=self.cc.astype(np.intp), com=self._com,
                                 country=e.pos_country.astype(np.intp), pairs=self.pairs, pair_com=self.pairs % m,
                                 daily_use=self.daily_use, coercer=int(e.coercer), p0=e.price0,
                                 p0_cn=e.price0_cn, n_cc=int(e.n_cc))
        v = self.series
        self._out = RecordSeries(
            demand_t=v["demand_t"], supplied_t=v["supplied_t"], china_share=v["china_share"],
            stockpile_days=v["stockpile_days"], recycled_t=v["recycled_t"], price=v["price"],
            price_china=v["price_china"], inventory_days=v["inventory_days"], shipped_t=v["shipped_t"],
            stock_purchase_usd=self.costs["stock_purchase_usd"],
            stock_purchase_calm_usd=self.costs["stock_purchase_calm_usd"],
            input_premium_usd=self.costs["input_premium_usd"], supply_t=self.ledger["supply_t"],
            use_t=self.ledger["use_t"], inventory_change_t=self.ledger["inventory_change_t"])
        self._kernel = implementation(_record_kernel, record_reference)
        self._held = self._holdings()
        self.n_recorded = 0  # weeks recorded so far

    def _holdings(self) -> np.ndarray:
        """Tonnes per commodity in stock and in transit (the weekly kernel sums the same)."""
        s = self.state
        m = len(self.eco.commodities)
        return (np.bincount(self._com, s.inventory, minlength=m)
                + np.bincount(self._com, s.in_transit, minlength=m))

    def record(self, t: int) -> None:
        """Store week ``t``, just simulated."""
        s, sig, v = self.state, self.signals, self.series
        v["escalation_level"][t] = sig.level
        v["escalation_stage"][t] = sig.stage
        v["secondary_boycott"][t] = sig.secondary_boycott
        v["transshipped_t"][t] = s.transshipped[self._target_edges].sum()
        v["detected_transshipments"][t] = sig.new_detections
        v["blacklisted_traders"][t] = sig.n_blacklisted
        v["output_loss"][t] = s.output_loss
        v["jobs_lost"][t] = s.jobs_lost
        self.loss_by_commodity[t] = s.output_loss_by_commodity
        self.costs["holding_cost_usd"][t] = s.holding_cost_usd
        self.costs["policy_cost_usd"][t] = s.policy_cost_usd
        self._kernel(self.fixed, RecordWeek(
            required=s.required, use=s.use, shipped=s.shipped, shipped_cn=s.shipped_cn, inventory=s.inventory,
            in_transit=s.in_transit, recycled=s.recycled, price=s.price, price_cn=s.price_cn,
            production_t=s.production_t), self._out, self._held, t)
        if sig.floor_paid_usd.size:  # members' firms paid FORGE's floor on members' material (market)
            self.costs["input_premium_usd"][t] += sig.floor_paid_usd.sum(axis=1)
        self.ledger["losses_t"][t] = s.losses_t
        self.n_recorded = t + 1

    # ------------------------------------------------------------------ tables
    def tables(self) -> dict[str, pd.DataFrame]:
        """The three contract tables over the weeks recorded so far, columns as in :data:`COLUMNS`."""
        e, n = self.eco, self.n_recorded
        steps = np.arange(n)
        dates = [self.config.date_of(int(i)).isoformat() for i in steps]
        k, m, p = len(e.countries), len(e.commodities), len(self.pairs)
        series = {name: arr[:n] for name, arr in self.series.items()}
        keys = {
            "model": {"step": steps, "date": dates},
            "country": {"step": np.repeat(steps, k), "date": np.repeat(dates, k), "country": np.tile(e.countries, n)},
            "country_commodity": {
                "step": np.repeat(steps, p), "date": np.repeat(dates, p),
                "country": np.tile([e.countries[i // m] for i in self.pairs], n),
                "commodity": np.tile([e.commodities[i % m] for i in self.pairs], n)},
        }
        out = {}
        for table in TABLES:
            cols = dict(keys[table])
            for mt in METRICS:
                if mt.table == table:
                    values = _derived(mt.name, series, e.gdp_lcu) if mt.derived else series[mt.name]
                    cols[mt.name] = values if table == "model" else np.asarray(values).ravel()
            out[table] = pd.DataFrame(cols)[COLUMNS[table]]
        return out
