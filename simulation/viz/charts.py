"""The browser view's charts: vega-lite specs, and the data sets each step sends them.

A chart is a :class:`Chart`: ``spec(runs, commodity)`` is built once per model (and again
when the commodity selector changes), ``data(runs, commodity)`` at every step; the browser
swaps the data into the running chart (:class:`~simulation.viz.widget.VegaChart`). All are
pure functions of the runs: ``runs`` is a list of ``(strategy name, model)``, the chosen
strategy first and the compared one (if any) second, both at the same week. Each reads the
model's recorder (weeks ``0..model.t-1``) and its last week's state; none changes a model.
``commodity`` is a commodity id, or None for "all commodities" (the worst one).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from simulation.display import FOCUS, full_name

if TYPE_CHECKING:
    from simulation.model import CoercionModel

Runs = list[tuple[str, "CoercionModel"]]

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"  # an identifier: nothing is fetched from it
HEIGHT = 190  # px, every time chart
STATUS_COLORS = {  # trade-graph edge colours, by CoercionModel.country_graph() status
    "normal": "#9e9e9e",
    "licensed": "#f57c00",
    "transshipped": "#8e24aa",
    "blocked": "#d32f2f",
}
LOSS_BINS = (0.0, 0.01, 0.05, 0.2, 0.5)  # lower edges of the firm-loss classes, share of output
LOSS_BIN_LABELS = ("none", "under 1%", "1-5%", "5-20%", "20-50%", "50% or more")
LOSS_BIN_COLORS = ("#e0e0e0", "#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000")  # none in grey
CONFIG = {  # text at least 11 px: readable at 1024x768
    "axis": {"labelFontSize": 11, "titleFontSize": 11, "titleFontWeight": "normal"},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "labelLimit": 260},
    "title": {"fontSize": 13, "anchor": "start", "offset": 6},
    "view": {"stroke": None},
    "line": {"strokeWidth": 2},
}


# ------------------------------------------------------------------------------ helpers


def focus_countries(model: CoercionModel) -> list[int]:
    """Indices of the countries the charts show: the target first, then ``FOCUS`` (never the coercer)."""
    e = model.eco
    names = [e.countries[e.target]] + [c for c in FOCUS if c in e.countries]
    return [e.countries.index(c) for c in dict.fromkeys(names) if c != e.countries[e.coercer]]


def country_label(model: CoercionModel, k: int) -> str:
    """The country's name from the world config (e.g. ``Korea``)."""
    return model.config.world.countries[model.eco.countries[k]].label


def commodity_label(model: CoercionModel, com: str) -> str:
    """The commodity's full name (e.g. ``High-purity manganese sulphate`` for ``hpmsm``)."""
    return full_name(model.config.world.commodities[com].label)


def week_ms(model: CoercionModel) -> np.ndarray:
    """Start of every week of the run (0..n_steps) in ms since 1970 (UTC), as vega-lite reads time."""
    return _week_ms(model.config.date_of(0), model.config.n_steps)


@lru_cache(maxsize=32)
def _week_ms(start: dt.date, n_steps: int) -> np.ndarray:
    days = np.datetime64(start, "D") + 7 * np.arange(n_steps + 1)
    out = days.astype("datetime64[ms]").astype(np.int64)
    out.flags.writeable = False
    return out


WEEK_MS = 7 * 24 * 3600 * 1000


def _week_from_index(model: CoercionModel) -> dict:
    """The transform that dates a row from its week index ``i`` (rows carry the index, not the date)."""
    return {"calculate": f"{int(week_ms(model)[0])} + datum.i * {WEEK_MS}", "as": "week"}


def _x(model: CoercionModel) -> dict:
    """The time axis: the whole run from week 0, whatever the week shown."""
    ms = week_ms(model)
    return {"field": "week", "type": "temporal", "title": None,
            "scale": {"type": "utc", "domain": [int(ms[0]), int(ms[-1])]},
            "axis": {"format": "%b %Y", "labelOverlap": True, "tickCount": 6, "grid": True}}


def _dash(runs: Runs) -> dict:
    """Strategy as the line's dash: the chosen one solid, the compared one dashed."""
    names = [name for name, _ in runs]
    return {"field": "strategy", "type": "nominal", "title": "strategy",
            "scale": {"domain": names, "range": [[1, 0], [6, 3]][: len(names)]},
            "legend": None if len(names) == 1 else {"orient": "top", "direction": "horizontal", "title": None,
                                                    "symbolStrokeWidth": 2}}


def _countries(model: CoercionModel) -> list[str]:
    return [country_label(model, k) for k in focus_countries(model)]


def _color_country(model: CoercionModel) -> dict:
    return {"field": "country", "type": "nominal", "title": None, "scale": {"domain": _countries(model)},
            "legend": {"orient": "bottom", "direction": "horizontal", "columns": 3}}


def _line_spec(model: CoercionModel, title: str, dataset: str, y: dict, color: dict, runs: Runs,
               height: int = HEIGHT) -> dict:
    """A line chart of data set ``dataset`` over the run's weeks, dashed by strategy."""
    encoding = {"x": _x(model), "y": y, "color": color, "strokeDash": _dash(runs)}
    return {"$schema": SCHEMA, "title": title, "width": "container", "height": height,
            "autosize": {"type": "fit-x", "contains": "padding"}, "config": CONFIG,
            "data": {"name": dataset}, "transform": [_week_from_index(model)],
            "mark": {"type": "line", "interpolate": "linear", "clip": True}, "encoding": encoding}


def pair_index(model: CoercionModel) -> dict[tuple[int, int], int]:
    """(country, commodity) -> column of the recorder's per-pair series."""
    m = len(model.eco.commodities)
    return {(int(p) // m, int(p) % m): j for j, p in enumerate(model.recorder.pairs)}


def shortage_share(model: CoercionModel) -> np.ndarray:
    """Weeks x pairs: unmet share of demand."""
    rec, t = model.recorder, model.t
    demand = rec.series["demand_t"][:t]
    short = np.maximum(demand - rec.series["supplied_t"][:t], 0.0)
    return np.divide(short, demand, out=np.zeros_like(demand), where=demand > 0)


def binding_commodity(model: CoercionModel, k: int) -> int | None:
    """The commodity binding country ``k`` so far (index), or None while nothing is short.

    The commodity its firms' lost output is attributed to most (the output mechanism gives
    each firm's loss to its worst-short input); before any loss, the one with the largest
    shortage share of demand so far (all weeks' unmet tonnes over all weeks' demand).
    """
    rec, t = model.recorder, model.t
    if not t:
        return None
    m = len(model.eco.commodities)
    lost = rec.loss_by_commodity[:t, k, :m].sum(axis=0)
    if lost.max() > 0:
        return int(np.argmax(lost))
    share = np.zeros(m)
    demand, supplied = rec.series["demand_t"][:t], rec.series["supplied_t"][:t]
    for (country, com), j in pair_index(model).items():
        if country == k:
            d = demand[:, j].sum()
            unmet = np.maximum(demand[:, j] - supplied[:, j], 0.0).sum()
            share[com] = unmet / d if d > 0 else 0.0
    return int(np.argmax(share)) if share.max() > 0 else None


def binding_text(model: CoercionModel, k: int) -> str:
    """The binding commodity of country ``k`` in words (full name), or why there is none."""
    com = binding_commodity(model, k)
    if com is not None:
        return commodity_label(model, model.eco.commodities[com])
    m = len(model.eco.commodities)
    if model.t and model.recorder.loss_by_commodity[: model.t, k, m].sum() > 0:
        return "no commodity short (its loss: China's trade measures)"
    return "none short yet"


def loss_pct_gdp(model: CoercionModel, k: int) -> np.ndarray:
    """Cumulative output loss of country ``k``, % of annual GDP, weeks 0..t-1."""
    gdp = model.config.world.countries[model.eco.countries[k]].gdp_lcu_per_year
    return np.cumsum(model.recorder.series["output_loss"][: model.t, k]) / gdp * 100.0


# ------------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class Chart:
    """One chart of the page: its name, spec and per-step data (functions of the runs and the commodity).

    A time series' rows of past weeks do not change, so a step need only send the last weeks
    (``since``); the others' data is small and sent whole.
    """

    name: str
    spec: Callable[[Runs, str | None], dict]
    data: Callable[..., dict[str, dict[str, list]]]  # (runs, commodity[, since]) -> data sets
    uses_commodity: bool = False
    wide: bool = False  # spans the page's two columns
    timeseries: bool = True  # rows carry a week index ``i``; ``data(..., since)`` gives the weeks i >= since


def loss_spec(runs: Runs, commodity: str | None) -> dict:
    model = runs[0][1]
    return _line_spec(model, "Cumulative output loss, % of annual GDP", "loss",
                      {"field": "value", "type": "quantitative", "title": "% of annual GDP",
                       "scale": {"domain": {"unionWith": [0, 0.01]}}},
                      _color_country(model), runs, height=200)


def _add(rows: dict[str, list], i: np.ndarray, values: np.ndarray, since: int, digits: int, **labels: str) -> None:
    """Append the rows of weeks ``i >= since`` to a table: week index, value and constant labels."""
    keep = i >= since
    n = int(keep.sum())
    rows["i"] += i[keep].tolist()
    rows["value"] += np.round(values[keep], digits).tolist()
    for column, label in labels.items():
        rows[column] += [label] * n


def loss_data(runs: Runs, commodity: str | None, since: int = 0) -> dict:
    rows: dict[str, list] = {"i": [], "value": [], "country": [], "strategy": []}
    for name, model in runs:
        i = np.arange(1, model.t + 1)  # the loss of week i-1 is known at its end, the start of week i
        for k in focus_countries(model):
            _add(rows, i, loss_pct_gdp(model, k), since, 5, country=country_label(model, k), strategy=name)
    return {"loss": rows}


def escalation_spec(runs: Runs, commodity: str | None) -> dict:
    model = runs[0][1]
    names = [lvl.name for lvl in model.config.escalation.levels]
    labels = "[" + ", ".join(repr(n) for n in names) + "][datum.value]"
    spec = _line_spec(model, "China's escalation level", "level",
                      {"field": "value", "type": "quantitative", "title": None,
                       "scale": {"domain": [0, len(names) - 1], "nice": False},
                       "axis": {"values": list(range(len(names))), "labelExpr": labels, "grid": True}},
                      {"value": "firebrick"}, runs)
    spec["mark"]["interpolate"] = "step-after"
    return spec


def escalation_data(runs: Runs, commodity: str | None, since: int = 0) -> dict:
    rows: dict[str, list] = {"i": [], "value": [], "strategy": []}
    for name, model in runs:
        t = model.t
        if not t:
            continue
        level = model.recorder.series["escalation_level"][:t]
        # the last week drawn to its end: a point at week t with week t-1's level
        _add(rows, np.arange(t + 1), np.append(level, level[-1]), since, 0, strategy=name)
    return {"level": rows}


def _per_country(model: CoercionModel, commodity: str | None, values: np.ndarray, worst) -> dict[int, np.ndarray]:
    """Country -> weekly values of the chosen commodity, or ``worst`` over commodities for None."""
    pairs = pair_index(model)
    com = None if commodity is None else model.eco.commodities.index(commodity)
    out = {}
    for k in focus_countries(model):
        cols = [j for (c, i), j in pairs.items() if c == k and (com is None or i == com)]
        if cols:
            out[k] = worst(values[:, cols], axis=1)
    return out


def _commodity_title(model: CoercionModel, commodity: str | None, all_text: str) -> str:
    return all_text if commodity is None else commodity_label(model, commodity)


def shortage_spec(runs: Runs, commodity: str | None) -> dict:
    model = runs[0][1]
    what = _commodity_title(model, commodity, "each country's worst commodity")
    return _line_spec(model, f"Shortage share: {what}", "shortage",
                      {"field": "value", "type": "quantitative", "title": "share of demand unmet",
                       "axis": {"format": ".0%"}, "scale": {"domain": {"unionWith": [0, 0.05]}}},
                      _color_country(model), runs)


def shortage_data(runs: Runs, commodity: str | None, since: int = 0) -> dict:
    rows: dict[str, list] = {"i": [], "value": [], "country": [], "strategy": []}
    for name, model in runs:
        i = np.arange(model.t)
        for k, y in _per_country(model, commodity, shortage_share(model), np.max).items():
            _add(rows, i, y, since, 5, country=country_label(model, k), strategy=name)
    return {"shortage": rows}


def stockpile_spec(runs: Runs, commodity: str | None) -> dict:
    model = runs[0][1]
    what = _commodity_title(model, commodity, "each country's lowest")
    return _line_spec(model, f"Stockpile days: {what}", "stockpile",
                      {"field": "value", "type": "quantitative", "title": "days of use",
                       "scale": {"domain": {"unionWith": [0, 10]}}},
                      _color_country(model), runs)


def stockpile_data(runs: Runs, commodity: str | None, since: int = 0) -> dict:
    rows: dict[str, list] = {"i": [], "value": [], "country": [], "strategy": []}
    for name, model in runs:
        i = np.arange(model.t)
        days = model.recorder.series["stockpile_days"][: model.t]
        for k, y in _per_country(model, commodity, days, np.min).items():
            _add(rows, i, y, since, 3, country=country_label(model, k), strategy=name)
    return {"stockpile": rows}


def price_spec(runs: Runs, commodity: str | None) -> dict:
    model = runs[0][1]
    y = {"field": "value", "type": "quantitative", "title": "price / calm outside price",
         "scale": {"type": "log", "domain": {"unionWith": [0.8, 1.25]}}, "axis": {"format": "~g"}}
    if commodity is None:
        names = [commodity_label(model, c) for c in model.eco.commodities]
        color = {"field": "series", "type": "nominal", "title": None, "scale": {"domain": names, "scheme": "tableau20"},
                 "legend": {"orient": "right", "columns": 2, "labelLimit": 190}}
        title = "Prices outside China, relative to calm"
    else:
        color = {"field": "series", "type": "nominal", "title": None,
                 "scale": {"domain": ["outside China", "inside China"], "range": ["#1565c0", "#c62828"]},
                 "legend": {"orient": "right"}}
        title = f"Price of {commodity_label(model, commodity)}, relative to the calm outside price"
    return _line_spec(model, title, "price", y, color, runs)


def price_data(runs: Runs, commodity: str | None, since: int = 0) -> dict:
    rows: dict[str, list] = {"i": [], "value": [], "series": [], "strategy": []}
    for name, model in runs:
        rec, e, cfg, t = model.recorder, model.eco, model.config, model.t
        m = len(e.commodities)
        i = np.arange(t)
        first = {}
        for j, p in enumerate(rec.pairs):
            first.setdefault(int(p) % m, j)
        coms = range(m) if commodity is None else [e.commodities.index(commodity)]
        for c in coms:
            if c not in first:
                continue
            calm = cfg.world.commodities[e.commodities[c]].price_usd_per_t
            for series in ["price"] if commodity is None else ["price", "price_china"]:
                label = (commodity_label(model, e.commodities[c]) if commodity is None
                         else "outside China" if series == "price" else "inside China")
                _add(rows, i, rec.series[series][:t, first[c]] / calm, since, 5, series=label, strategy=name)
    return {"price": rows}


def _layout(model: CoercionModel) -> tuple[list[str], np.ndarray]:
    """Countries and their positions: the coercer in the middle, the others on a circle."""
    e = model.eco
    coercer = e.countries[e.coercer]
    others = [c for c in e.countries if c != coercer]
    g = nx.DiGraph()
    g.add_nodes_from(e.countries)
    pos = nx.shell_layout(g, nlist=[[coercer], others])
    xy = np.array([pos[c] for c in e.countries])
    return list(e.countries), xy / np.abs(xy).max()


def trade_spec(runs: Runs, commodity: str | None) -> dict:
    model = runs[0][1]
    e = model.eco
    countries, xy = _layout(model)
    gdp = np.array([model.config.world.countries[c].gdp_lcu_per_year / model.config.world.countries[c].lcu_per_usd
                    for c in countries])
    role = ["China (coercer)" if i == e.coercer else "target" if i == e.target else "other"
            for i in range(len(countries))]
    nodes = {"x": xy[:, 0].round(4).tolist(), "y": xy[:, 1].round(4).tolist(), "code": countries,
             "name": [model.config.world.countries[c].label for c in countries],
             "gdp": (gdp / 1e9).round(0).tolist(), "role": role}
    scale = {"domain": [-1.25, 1.25], "nice": False, "zero": False}
    ax = {"type": "quantitative", "axis": None, "scale": scale}
    statuses = list(STATUS_COLORS)
    return {
        "$schema": SCHEMA, "title": "Trade between countries last week", "width": "container", "height": 270,
        "autosize": {"type": "fit-x", "contains": "padding"}, "config": CONFIG,
        "resolve": {"scale": {"color": "independent", "size": "independent", "strokeWidth": "independent"},
                    "legend": {"color": "independent"}},
        "layer": [
            {"data": {"name": "edges"}, "mark": {"type": "rule", "opacity": 0.75},
             "encoding": {"x": {"field": "x", **ax}, "y": {"field": "y", **ax},
                          "x2": {"field": "x2"}, "y2": {"field": "y2"},
                          "color": {"field": "status", "type": "nominal", "title": "trade",
                                    "scale": {"domain": statuses, "range": list(STATUS_COLORS.values())},
                                    "legend": {"orient": "right"}},
                          "strokeWidth": {"field": "flow", "type": "quantitative", "legend": None,
                                          "scale": {"range": [0.5, 7], "domain": {"unionWith": [0, 1]}}},
                          "tooltip": [{"field": "pair", "title": "from-to"}, {"field": "status"},
                                      {"field": "flow", "title": "USD million", "format": ",.0f"}]}},
            {"data": {"name": "edges"}, "mark": {"type": "point", "shape": "wedge", "filled": True, "size": 70},
             "encoding": {"x": {"field": "hx", **ax}, "y": {"field": "hy", **ax},
                          "angle": {"field": "angle", "type": "quantitative", "scale": None},
                          "color": {"field": "status", "type": "nominal", "legend": None,
                                    "scale": {"domain": statuses, "range": list(STATUS_COLORS.values())}}}},
            {"data": {"values": [dict(zip(nodes, vals, strict=True)) for vals in zip(*nodes.values(), strict=True)]},
             "mark": {"type": "circle", "opacity": 1, "stroke": "white", "strokeWidth": 1},
             "encoding": {"x": {"field": "x", **ax}, "y": {"field": "y", **ax},
                          "size": {"field": "gdp", "type": "quantitative", "legend": None,
                                   "scale": {"type": "sqrt", "range": [60, 1100], "zero": True}},
                          "color": {"field": "role", "type": "nominal", "title": "country",
                                    "scale": {"domain": ["China (coercer)", "target", "other"],
                                              "range": ["#c62828", "#1565c0", "#90a4ae"]},
                                    "legend": {"orient": "right"}},
                          "tooltip": [{"field": "name"}, {"field": "gdp", "title": "GDP, USD bn", "format": ",.0f"}]}},
            {"data": {"values": [dict(zip(nodes, vals, strict=True)) for vals in zip(*nodes.values(), strict=True)]},
             "mark": {"type": "text", "fontSize": 11, "fontWeight": "bold"},
             "encoding": {"x": {"field": "x", **ax}, "y": {"field": "y", **ax}, "text": {"field": "code"}}},
        ],
    }


def trade_data(runs: Runs, commodity: str | None) -> dict:
    model = runs[0][1]  # the chosen strategy's trade
    countries, xy = _layout(model)
    at = {c: i for i, c in enumerate(countries)}
    g = model.country_graph()
    rows: dict[str, list] = {k: [] for k in ("x", "y", "x2", "y2", "hx", "hy", "angle", "status", "flow", "pair")}
    for a, b, d in g.edges(data=True):
        p0, p1 = xy[at[a]], xy[at[b]]
        delta = p1 - p0
        length = float(np.hypot(*delta)) or 1.0
        normal = np.array([-delta[1], delta[0]]) / length * 0.025  # a->b and b->a side by side
        s0, s1 = p0 + normal + delta * 0.08, p0 + normal + delta * 0.86
        head = p0 + normal + delta * 0.88
        rows["x"].append(round(float(s0[0]), 4))
        rows["y"].append(round(float(s0[1]), 4))
        rows["x2"].append(round(float(s1[0]), 4))
        rows["y2"].append(round(float(s1[1]), 4))
        rows["hx"].append(round(float(head[0]), 4))
        rows["hy"].append(round(float(head[1]), 4))
        rows["angle"].append(round(math.degrees(math.atan2(delta[0], delta[1])), 1))
        rows["status"].append(d["status"])
        rows["flow"].append(round(d["flow_usd"] / 1e6, 3))
        rows["pair"].append(f"{a}-{b}")
    return {"edges": rows}


def firm_loss_share(model: CoercionModel) -> np.ndarray:
    """Per firm: the mean share of its output lost over the weeks run (0 before the first week).

    Read from ``model.firm_loss_sum`` (the weekly ``state.firm_output_loss_share`` summed by
    the view's models, see :class:`simulation.viz.app.ViewModel`).
    """
    total = getattr(model, "firm_loss_sum", None)
    if total is None or not model.t:
        return np.zeros(model.eco.n_firms)
    return total / model.t


def firms_spec(runs: Runs, commodity: str | None) -> dict:
    model = runs[0][1]
    e = model.eco
    target = model.config.world.countries[e.countries[e.target]].label
    y_title = None if len(runs) == 1 else "sector, strategy"
    return {
        "$schema": SCHEMA, "title": f"How {target}'s firms fare: share of firms by output lost so far",
        "width": "container", "height": {"step": 16 if len(runs) > 1 else 24},
        "autosize": {"type": "fit-x", "contains": "padding"}, "config": CONFIG,
        "data": {"name": "firms"}, "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "row", "type": "nominal", "title": y_title, "sort": None,
                  "axis": {"labelLimit": 220}},
            "x": {"field": "share", "type": "quantitative", "stack": "zero", "title": "share of the sector's firms",
                  "axis": {"format": ".0%"}, "scale": {"domain": [0, 1]}},
            "color": {"field": "lost", "type": "ordinal", "title": "output lost",
                      "scale": {"domain": list(LOSS_BIN_LABELS), "range": list(LOSS_BIN_COLORS)},
                      "legend": {"orient": "bottom", "direction": "horizontal", "columns": 3}},
            "order": {"field": "bin", "type": "quantitative"},
            "tooltip": [{"field": "row", "title": "sector"}, {"field": "lost"}, {"field": "firms"},
                        {"field": "share", "format": ".1%"}],
        },
    }


def firms_data(runs: Runs, commodity: str | None) -> dict:
    rows: dict[str, list] = {"row": [], "lost": [], "bin": [], "share": [], "firms": []}
    for sector_no in range(len(runs[0][1].eco.sectors)):
        for name, model in runs:
            e = model.eco
            sel = (e.firm_sector == sector_no) & (e.firm_country == e.target)
            n = int(sel.sum())
            if not n:
                continue
            loss = firm_loss_share(model)[sel]
            bins = np.where(loss <= 0, 0, np.searchsorted(LOSS_BINS, loss, side="right"))
            counts = np.bincount(bins, minlength=len(LOSS_BIN_LABELS))
            label = full_name(model.config.world.sectors[e.sectors[sector_no]].label)
            row = label if len(runs) == 1 else f"{label} ({name})"
            for b, count in enumerate(counts):
                rows["row"].append(row)
                rows["lost"].append(LOSS_BIN_LABELS[b])
                rows["bin"].append(b)
                rows["share"].append(round(count / n, 5))
                rows["firms"].append(int(count))
    return {"firms": rows}


CHARTS = (
    Chart("loss", loss_spec, loss_data),
    Chart("escalation", escalation_spec, escalation_data),
    Chart("shortage", shortage_spec, shortage_data, uses_commodity=True),
    Chart("stockpile", stockpile_spec, stockpile_data, uses_commodity=True),
    Chart("price", price_spec, price_data, uses_commodity=True, wide=True),
    Chart("trade", trade_spec, trade_data, timeseries=False),
    Chart("firms", firms_spec, firms_data, wide=True, timeseries=False),
)
CHART = {c.name: c for c in CHARTS}


def all_data(runs: Runs, commodity: str | None) -> dict[str, dict[str, Any]]:
    """Every chart's data sets (what one step sends), by chart name."""
    return {c.name: c.data(runs, commodity) for c in CHARTS}
