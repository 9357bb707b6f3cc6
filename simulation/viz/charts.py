"""The browser view's charts: pure functions from a model to a matplotlib ``Figure``.

Each function reads the model's recorder (weeks ``0..model.t-1``) and its last week's state;
none changes the model. Figures are built with ``matplotlib.figure.Figure`` (no pyplot, no
global state), so they can be drawn from the server's worker threads; :func:`png` turns one
into PNG bytes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import matplotlib
import matplotlib.dates as mdates
import networkx as nx
import numpy as np
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator

from simulation.display import FOCUS

if TYPE_CHECKING:
    from simulation.model import CoercionModel

FIGSIZE = (5.6, 3.6)  # inches; at DPI this fits a half-width cell of the SolaraViz grid
DPI = 100
STATUS_COLORS = {  # trade-graph edge colours, by CoercionModel.country_graph() status
    "normal": "#9e9e9e",
    "licensed": "#f57c00",
    "transshipped": "#8e24aa",
    "blocked": "#d32f2f",
}


def png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes (light compression: redrawn every step, sent over localhost)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def focus_countries(model: CoercionModel) -> list[int]:
    """Indices of the countries the line charts show: the target first, then ``FOCUS``."""
    e = model.eco
    names = [e.countries[e.target]] + [c for c in FOCUS if c in e.countries]
    return [e.countries.index(c) for c in dict.fromkeys(names) if c != e.countries[e.coercer]]


def _weeks(model: CoercionModel) -> np.ndarray:
    """Start dates of all weeks of the run (the x axis spans the whole run from week 0)."""
    cfg = model.config
    return np.array([cfg.date_of(i) for i in range(cfg.n_steps + 1)], dtype="datetime64[D]")


def _time_axis(ax, dates: np.ndarray, n_ticks: int = 6) -> None:
    """A date axis over the whole run, ticked on the first of every 1, 2, 3, 6 or 12 months."""
    start, end = dates[0], dates[-1]
    ax.set_xlim(start, end)
    span = (end - start).astype(int)
    step = next((m for m in (1, 2, 3, 6) if span / 30.4 / m <= n_ticks), 12)
    one = np.timedelta64(1, "M")
    months = np.arange(start.astype("datetime64[M]") + one, end.astype("datetime64[M]") + one, one)
    months = months[(months.astype(int) % 12) % step == 0].astype("datetime64[D]")
    months = months[months < end - np.timedelta64(int(0.07 * span), "D")]  # no label over the right edge
    ax.xaxis.set_major_locator(FixedLocator(mdates.date2num(months)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def _title(model: CoercionModel, what: str) -> str:
    return f"{what} - week {model.t} ({model.config.date_of(model.t).isoformat()})"


def _curved_edges(p0: np.ndarray, p1: np.ndarray, r0: np.ndarray, r1: np.ndarray, bend: float = 0.12,
                  n: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quadratic curves from p0 to p1 (rows), bent to the left, trimmed by the radii r0, r1.

    Returns the polylines (edges, n, 2), their end points and unit tangents there (for the
    arrow heads). Drawing them as one LineCollection is several times faster than one
    FancyArrowPatch per edge.
    """
    d = p1 - p0
    length = np.linalg.norm(d, axis=1, keepdims=True)
    ctrl = (p0 + p1) / 2 + bend * np.column_stack([-d[:, 1], d[:, 0]])
    s0 = np.clip(r0[:, None] / length, 0, 0.45)
    s1 = 1 - np.clip(r1[:, None] / length, 0, 0.45)
    u = s0 + (s1 - s0) * np.linspace(0, 1, n)[None, :]  # (edges, n)
    pts = (((1 - u) ** 2)[..., None] * p0[:, None] + (2 * (1 - u) * u)[..., None] * ctrl[:, None]
           + (u**2)[..., None] * p1[:, None])
    tangent = 2 * (1 - s1) * (ctrl - p0) + 2 * s1 * (p1 - ctrl)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    return pts, pts[:, -1], tangent


def trade_graph_figure(model: CoercionModel) -> Figure:
    """Country-level trade of last week: nodes sized by GDP, edges by value, coloured by status.

    The coercer sits in the middle, the others on a circle in the world's order. Edge widths
    are relative to the largest flow of the week.
    """
    e = model.eco
    g = model.country_graph()
    fig = Figure(figsize=FIGSIZE)
    box = (0.0, 0.0, 0.78, 0.9)  # figure fractions: the legend sits on the right
    ax = fig.add_axes(box)
    ax.set_axis_off()
    span = 2.3  # data units across the smaller side of the axes (equal aspect)
    ax.set_xlim(-span / 2, span / 2)
    ax.set_ylim(-span / 2, span / 2)
    ax.set_aspect("equal")
    points_per_unit = min(box[2] * FIGSIZE[0], box[3] * FIGSIZE[1]) * 72 / span
    coercer, target = e.countries[e.coercer], e.countries[e.target]
    nodes = list(g.nodes)
    pos = nx.shell_layout(g, nlist=[[coercer], [c for c in nodes if c != coercer]])
    xy = np.array([pos[c] for c in nodes])
    xy /= np.abs(xy).max()  # the outer shell on the unit circle
    gdp = np.array([g.nodes[c]["gdp_usd"] for c in nodes])
    sizes = 60 + 1400 * np.sqrt(gdp / gdp.max())  # marker area, points^2
    radius = np.sqrt(sizes) / 2 / points_per_unit  # in data units
    edges = list(g.edges(data=True))
    if edges:
        a = np.array([nodes.index(u) for u, _, _ in edges])
        b = np.array([nodes.index(v) for _, v, _ in edges])
        flow = np.array([d["flow_usd"] for *_, d in edges])
        widths = 0.4 + 5.0 * np.sqrt(flow / (flow.max() or 1.0))
        colors = [STATUS_COLORS[d["status"]] for *_, d in edges]
        lines, tips, tangent = _curved_edges(xy[a], xy[b], radius[a], radius[b] + 0.01)
        ax.add_collection(LineCollection(lines, linewidths=widths, colors=colors, alpha=0.8, capstyle="butt"))
        size = (0.028 + 0.005 * widths)[:, None]  # arrow heads grow with the line
        normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
        heads = np.stack([tips, tips - size * (tangent * 1.6 + normal), tips - size * (tangent * 1.6 - normal)], 1)
        ax.add_collection(PolyCollection(heads, facecolors=colors, edgecolors="none", alpha=0.9))
    node_colors = ["#c62828" if c == coercer else "#1565c0" if c == target else "#90a4ae" for c in nodes]
    ax.scatter(xy[:, 0], xy[:, 1], s=sizes, c=node_colors, linewidths=0.5, edgecolors="white", zorder=3)
    for c, (x, y) in zip(nodes, xy, strict=True):
        ax.text(x, y, c, fontsize=7, ha="center", va="center", zorder=4)
    handles = [Line2D([], [], color=c, lw=3, label=s) for s, c in STATUS_COLORS.items()]
    fig.legend(handles=handles, loc="center right", fontsize=7, frameon=False, title="edge status",
               title_fontsize=7)
    note = "no shipments yet" if not edges else "width: value ordered last week"
    fig.suptitle(_title(model, "Trade between countries"), fontsize=9)
    fig.text(0.99, 0.02, f"node size: GDP\n{note}", fontsize=6, ha="right", va="bottom", color="0.35")
    return fig


def escalation_figure(model: CoercionModel) -> Figure:
    """China's level on the ladder over time, labelled with the stage names."""
    names = [lvl.name for lvl in model.config.escalation.levels]
    dates = _weeks(model)
    t = model.t
    fig = Figure(figsize=FIGSIZE)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.25, right=0.97, top=0.9, bottom=0.1)
    if t:
        x = dates[: t + 1]
        y = np.append(model.recorder.series["escalation_level"][:t], model.recorder.series["escalation_level"][t - 1])
        ax.step(x, y, where="post", color="firebrick", lw=2)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_ylim(-0.3, len(names) - 0.7)
    _time_axis(ax, dates)
    ax.set_title(_title(model, f"Escalation: {model.stage}"), fontsize=9)
    return fig


def shortage_figure(model: CoercionModel) -> Figure:
    """By country: the worst commodity's shortage share, and state stockpile days."""
    rec, e = model.recorder, model.eco
    t, m = model.t, len(e.commodities)
    dates = _weeks(model)
    fig = Figure(figsize=FIGSIZE)
    a1, a2 = fig.subplots(2, 1, sharex=True)
    fig.subplots_adjust(left=0.15, right=0.97, top=0.9, bottom=0.1, hspace=0.08)
    country_of_pair = rec.pairs // m
    demand = rec.series["demand_t"][:t]
    short = np.divide(np.maximum(demand - rec.series["supplied_t"][:t], 0.0), demand,
                      out=np.zeros_like(demand), where=demand > 0)
    days = rec.series["stockpile_days"][:t]
    for k in focus_countries(model):
        sel = country_of_pair == k
        if not sel.any():
            continue
        a1.plot(dates[:t], short[:, sel].max(axis=1) if t else [], label=e.countries[k])
        a2.plot(dates[:t], days[:, sel].mean(axis=1) if t else [], label=e.countries[k])
    a1.set_ylabel("worst shortage\nshare", fontsize=7)
    a1.set_ylim(bottom=0)
    a2.set_ylabel("state stockpile,\ndays (mean)", fontsize=7)
    a2.set_ylim(bottom=0)
    for ax in (a1, a2):
        _time_axis(ax, dates)
    a1.legend(fontsize=6, ncols=4, loc="upper left")
    a1.set_title(_title(model, "Shortages and stockpiles"), fontsize=9)
    return fig


def price_figure(model: CoercionModel) -> Figure:
    """Price per commodity outside and inside China, relative to the calm outside price."""
    rec, e, cfg = model.recorder, model.eco, model.config
    t, m = model.t, len(e.commodities)
    dates = _weeks(model)
    fig = Figure(figsize=FIGSIZE)
    axes = fig.subplots(1, 2, sharey=True)
    fig.subplots_adjust(left=0.11, right=0.98, top=0.85, bottom=0.1, wspace=0.05)
    tab20 = matplotlib.colormaps["tab20"]
    colors = [tab20(i) for i in (*range(0, 20, 2), *range(1, 20, 2))]  # dark tones first
    commodity_of_pair = rec.pairs % m
    for i, com in enumerate(e.commodities):
        hit = np.flatnonzero(commodity_of_pair == i)
        if not len(hit):
            continue
        calm = cfg.world.commodities[com].price_usd_per_t
        for ax, name in zip(axes, ("price", "price_china"), strict=True):
            ax.plot(dates[:t], rec.series[name][:t, hit[0]] / calm, color=colors[i % 20], lw=1.2, label=com)
    for ax, where in zip(axes, ("outside China", "inside China"), strict=True):
        _time_axis(ax, dates, n_ticks=3)
        ax.set_title(where, fontsize=8)
    if not t:
        axes[0].set_ylim(0.5, 2.0)  # nothing drawn yet: a log axis needs positive limits
    axes[0].set_yscale("log")  # shared: set the scale once, then the tickers of both axes
    lo, hi = axes[0].get_ylim()
    subs = (1.0, 2.0, 5.0) if hi / lo > 10 else (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
    for ax in axes:
        ax.yaxis.set_major_locator(LogLocator(subs=subs))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_locator(NullLocator())  # minor log ticks cost more than they show
    axes[0].set_ylabel("price / calm outside price", fontsize=7)
    axes[1].legend(fontsize=5, loc="upper left", ncols=2)
    fig.suptitle(_title(model, "Prices"), fontsize=9)
    return fig


def output_loss_figure(model: CoercionModel) -> Figure:
    """Cumulative output lost by country, % of annual GDP."""
    rec, e, cfg = model.recorder, model.eco, model.config
    t = model.t
    dates = _weeks(model)
    fig = Figure(figsize=FIGSIZE)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.11, right=0.97, top=0.9, bottom=0.1)
    for k in focus_countries(model):
        gdp = cfg.world.countries[e.countries[k]].gdp_lcu_per_year
        ax.plot(dates[:t], np.cumsum(rec.series["output_loss"][:t, k]) / gdp * 100.0, label=e.countries[k])
    ax.set_ylabel("% of annual GDP", fontsize=7)
    ax.set_ylim(bottom=0)
    _time_axis(ax, dates)
    ax.legend(fontsize=6, loc="upper left")
    ax.set_title(_title(model, "Cumulative output loss"), fontsize=9)
    return fig


CHARTS = (trade_graph_figure, escalation_figure, shortage_figure, price_figure, output_loss_figure)
