"""Figures of one run (``simulation run``) and of two runs side by side (``simulation compare
RUN_A RUN_B``): pure functions from a run's tables and summary to matplotlib figures.

For a report, every figure:

- names its run in the title (scenario, strategy and seed);
- names commodities in full (the world config's labels, :func:`simulation.display.commodity_name`);
- ticks dates with matplotlib's concise formatter and a few ticks, so tick labels do not overlap;
- is laid out by matplotlib's constrained layout, legends outside the axes, so no label is cut off;
- draws no line over another: a series that is zero throughout is not drawn but named in the
  legend ("zero throughout: JP, US"), series identical to each other are drawn once under their
  joint label ("US = EU"), and the others differ by line style and markers as well as colour;
- names each country's binding commodity: the one whose shortage caused most of its loss
  (``binding_commodity`` of ``summary.json``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from simulation.display import FOCUS, NON_MINERAL, commodity_name, stage_name  # noqa: E402

STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
PALETTE = plt.get_cmap("tab10").colors
DPI = 100


@dataclass(frozen=True)
class RunInfo:
    """What the figures say about a run: its names, and the full names of its commodities.

    Attributes:
        scenario, strategy, seed: the run's (``summary.json``'s) names and seed.
        target: the coerced country's code.
        commodities: commodity id -> full name (the world config's label without its unit).
        countries: country code -> name.
        stages: the ladder's level names, level 0 first.
    """

    scenario: str
    strategy: str
    seed: int
    target: str
    commodities: Mapping[str, str]
    countries: Mapping[str, str]
    stages: tuple[str, ...]

    @classmethod
    def from_config(cls, config: Mapping) -> RunInfo:
        """From a resolved config as plain dicts (``config.toml`` read, or ``config_to_dict``)."""
        world = config.get("world", {})
        return cls(
            scenario=str(config["scenario"]["name"]), strategy=str(config["strategy"]["name"]),
            seed=int(config["run"]["seed"]), target=str(config["scenario"]["target"]),
            commodities={k: commodity_name(v.get("label") or k) for k, v in world.get("commodities", {}).items()},
            countries={k: v.get("label") or k for k, v in world.get("countries", {}).items()},
            stages=tuple(lvl["name"] for lvl in config.get("escalation", {}).get("levels", [])),
        )

    @property
    def label(self) -> str:
        """``korea_coerced, strategy stockpile_100, seed 3``: what a title says of the run."""
        return f"{self.scenario}, strategy {self.strategy}, seed {self.seed}"

    def commodity(self, cid: str | None) -> str:
        """The full name of a commodity id (``trade_ban``: the non-mineral measures; None: none)."""
        if cid is None:
            return "none"
        if cid == "trade_ban":
            return NON_MINERAL
        return self.commodities.get(cid, cid)

    def shown(self, present) -> list[str]:
        """The countries the line charts show: the target first, then :data:`FOCUS`, those in ``present``."""
        present = set(present)
        return [c for c in dict.fromkeys([self.target, *FOCUS]) if c in present]


def country_colors(countries) -> dict[str, tuple]:
    """A fixed colour per country code (the same in every figure of a run or a comparison)."""
    order = list(dict.fromkeys([*FOCUS, *sorted(countries)]))
    return {c: PALETTE[order.index(c) % len(PALETTE)] for c in countries}


#: Tick spacings tried in turn, finest first: (days apart, locator).
TICK_STEPS = (
    (7, lambda: mdates.WeekdayLocator(byweekday=mdates.MO)),
    (14, lambda: mdates.WeekdayLocator(byweekday=mdates.MO, interval=2)),
    (30.4, lambda: mdates.MonthLocator()),
    (61, lambda: mdates.MonthLocator(bymonth=range(1, 13, 2))),
    (91, lambda: mdates.MonthLocator(bymonth=(1, 4, 7, 10))),
    (183, lambda: mdates.MonthLocator(bymonth=(1, 7))),
    (365, lambda: mdates.YearLocator()),
    (730, lambda: mdates.YearLocator(2)),
    (1826, lambda: mdates.YearLocator(5)),
    (3652, lambda: mdates.YearLocator(10)),
)


def date_axis(ax, max_ticks: int = 8) -> None:
    """Dates on the x axis (call after plotting): the finest of :data:`TICK_STEPS` that gives at most
    ``max_ticks`` ticks over the axis, labelled concisely (the year written once, at its first tick)."""
    lo, hi = ax.get_xlim()
    make = next((m for days, m in TICK_STEPS if (hi - lo) / days + 1 <= max_ticks), TICK_STEPS[-1][1])
    locator = make()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def legend_outside(ax, handles=None, fontsize: float = 8) -> None:
    """The axes' legend to the right of it (constrained layout makes room), never over the data."""
    handles = handles if handles is not None else ax.get_legend_handles_labels()[0]
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=fontsize,
                  frameon=False, borderaxespad=0.0)


def note_handle(text: str) -> Line2D:
    """A legend entry with no line: a note such as "zero throughout: JP, US"."""
    return Line2D([], [], linestyle="none", label=text)


def draw_distinct(ax, series: Mapping[str, tuple], colors: Mapping[str, tuple] | None = None,
                  styles: Mapping[str, str] | None = None) -> list[str]:
    """Draw line series so that none hides another.

    A series that is zero throughout is not drawn (its key is returned, for a note); series equal to
    each other are drawn once, labelled ``"A = B"``; every drawn line gets its own line style and
    markers (at staggered points) besides its colour.

    Args:
        ax: the axes.
        series: label -> ``(x, y)``.
        colors: label -> colour (default: matplotlib's cycle).
        styles: label -> line style (default: one of :data:`STYLES` per drawn line).

    Returns:
        The labels of the series that are zero throughout.
    """
    zero, groups = [], []
    for label, (x, y) in series.items():
        y = np.asarray(y, dtype=float)
        if len(y) and np.all(np.nan_to_num(y) == 0.0):
            zero.append(label)
            continue
        for group in groups:
            if len(group[2]) == len(y) and np.allclose(group[2], y, rtol=1e-9, atol=1e-12, equal_nan=True):
                group[0].append(label)
                break
        else:
            groups.append(([label], x, y))
    for i, (labels, x, y) in enumerate(groups):
        step = max(len(y) // 8, 1)
        kwargs = {"color": colors[labels[0]]} if colors and labels[0] in colors else {}
        ax.plot(x, y, label=" = ".join(labels), linestyle=(styles or {}).get(labels[0], STYLES[i % len(STYLES)]),
                marker=MARKERS[i % len(MARKERS)], markersize=3.5,
                markevery=(i * step // max(len(groups), 1), step), linewidth=1.5, **kwargs)
    return zero


def _dates(values) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(values))


def _new(figsize, nrows: int = 1, ncols: int = 1, **kwargs):
    return plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", squeeze=False, **kwargs)


def _binding(summary: Mapping, country: str) -> str | None:
    return (summary.get("countries", {}).get(country) or {}).get("binding_commodity")


# ------------------------------------------------------------------------ one run


def escalation_figure(model_df: pd.DataFrame, info: RunInfo):
    """China's level on the ladder over time, the stage names on the axis."""
    fig, axes = _new((9, 3.8))
    ax = axes[0, 0]
    ax.step(_dates(model_df["date"]), model_df["escalation_level"], where="post", color="firebrick")
    stages = info.stages or tuple(str(i) for i in range(int(model_df["escalation_level"].max()) + 1))
    ax.set_yticks(range(len(stages)), [stage_name(s) for s in stages], fontsize=8)
    ax.set_ylim(-0.3, len(stages) - 0.7)
    ax.set_title(f"China's escalation level\n{info.label}", fontsize=10)
    date_axis(ax)
    ax.grid(alpha=0.3)
    return fig


def shortage_figure(cc: pd.DataFrame, summary: Mapping, info: RunInfo):
    """Each country's worst shortage (naming the commodity at its peak), and the state stockpile of
    its binding commodity in days of use (not a mean over commodities, which hides the one that binds)."""
    fig, axes = _new((10, 6.2), 2, 1, sharex=True)
    a1, a2 = axes[:, 0]
    countries = info.shown(cc["country"].unique())
    colors = country_colors(countries)
    worst, days, color_of, no_binding = {}, {}, {}, []
    for c in countries:
        rows = cc[cc["country"] == c]
        by_date = rows.pivot_table(index="date", columns="commodity", values="shortage_share", sort=True)
        peaks = by_date.max().fillna(0.0)
        name = f"{c} (peak: {info.commodity(peaks.idxmax())})" if len(peaks) and peaks.max() > 0 else c
        worst[name] = (_dates(by_date.index), by_date.max(axis=1).to_numpy() * 100.0)
        color_of[name] = colors[c]
        binding = _binding(summary, c)
        if binding is None or binding not in set(rows["commodity"]):
            no_binding.append(c)
            continue
        b = rows[rows["commodity"] == binding].sort_values("date")
        key = f"{c}: {info.commodity(binding)}"
        days[key] = (_dates(b["date"]), b["stockpile_days"].to_numpy())
        color_of[key] = colors[c]
    zero = draw_distinct(a1, worst, color_of)
    a1.set_ylabel("worst shortage,\n% of demand")
    a1.set_title(f"Shortages and the binding commodity's stockpile by country\n{info.label}", fontsize=10)
    legend_outside(a1, a1.get_legend_handles_labels()[0]
                   + ([note_handle("no shortage: " + ", ".join(zero))] if zero else []))
    zero_days = draw_distinct(a2, days, color_of)
    a2.set_ylabel("state stockpile of the\nbinding commodity, days")
    notes = ([note_handle("empty throughout: " + "; ".join(zero_days))] if zero_days else []) + (
        [note_handle("no commodity binds: " + ", ".join(no_binding))] if no_binding else [])
    legend_outside(a2, a2.get_legend_handles_labels()[0] + notes)
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
        date_axis(ax)
    return fig


def binding_figure(summary: Mapping, info: RunInfo, countries=None):
    """Cumulative output loss by the commodity whose shortage caused it, per country, with each
    country's binding commodity named beside its bar."""
    rows = summary.get("countries", {})
    countries = countries or info.shown(rows)
    causes = list(dict.fromkeys(com for c in countries
                                for com in (rows.get(c) or {}).get("cum_output_loss_pct_gdp_by_commodity", {})))
    order = [*info.commodities, "trade_ban"]
    causes.sort(key=lambda com: order.index(com) if com in order else len(order))
    colors = {com: plt.get_cmap("tab20").colors[i % 20] for i, com in enumerate(order)}
    colors["trade_ban"] = (0.6, 0.6, 0.6)
    fig, axes = _new((10, 1.2 + 0.75 * max(len(countries), 1)))
    ax = axes[0, 0]
    ticks, labelled = [], set()
    for y, c in enumerate(countries):
        row = rows.get(c) or {}
        left = 0.0
        for com in causes:
            value = row.get("cum_output_loss_pct_gdp_by_commodity", {}).get(com, 0.0)
            if value > 0:
                ax.barh(y, value, left=left, color=colors.get(com), height=0.6,
                        label=None if com in labelled else info.commodity(com))
                labelled.add(com)
                left += value
        binding = row.get("binding_commodity")
        total = row.get("cum_output_loss_pct_gdp", 0.0) or 0.0
        if total <= 0:
            ticks.append(f"{c}: no loss")
        elif binding is None:
            ticks.append(f"{c}: {total:.3g}% of GDP\nno commodity binds")
        else:
            ticks.append(f"{c}: {total:.3g}% of GDP\nbinding: {info.commodity(binding)}")
    ax.set_yticks(range(len(countries)), ticks, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("cumulative output loss, % of annual GDP")
    ax.set_title(f"Output loss by the commodity whose shortage caused it\n{info.label}", fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    legend_outside(ax, ax.get_legend_handles_labels()[0] or [note_handle("no output lost")])
    return fig


def price_figure(cc: pd.DataFrame, info: RunInfo):
    """Price outside and inside China per commodity, relative to the outside price in the first week."""
    prices = cc.drop_duplicates(["step", "commodity"])
    coms = list(dict.fromkeys(prices["commodity"]))
    ncols = 4 if len(coms) > 4 else max(len(coms), 1)
    nrows = -(-len(coms) // ncols) or 1
    fig, axes = _new((12, 1.0 + 2.3 * nrows), nrows, ncols)
    same_any = False
    style = {"outside China": ("-", PALETTE[0]), "inside China": ("--", PALETTE[1]),
             "inside = outside China": (":", PALETTE[4])}
    for ax, com in zip(axes.ravel(), coms, strict=False):
        rows = prices[prices["commodity"] == com]
        d = _dates(rows["date"])
        base = rows["price"].iloc[0]
        outside, inside = rows["price"].to_numpy() / base, rows["price_china"].to_numpy() / base
        if np.allclose(outside, inside, rtol=1e-9, equal_nan=True):
            same_any = True
            ax.plot(d, outside, linestyle=":", color=style["inside = outside China"][1], linewidth=2)
        else:
            ax.plot(d, outside, linestyle="-", color=PALETTE[0])
            ax.plot(d, inside, linestyle="--", color=PALETTE[1])
        ax.set_title(textwrap.fill(info.commodity(com), 28), fontsize=9)
        ax.tick_params(labelsize=7)
        date_axis(ax, max_ticks=4)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(coms):]:
        ax.set_visible(False)
    names = ["outside China", "inside China"] + (["inside = outside China"] if same_any else [])
    fig.legend(handles=[Line2D([], [], linestyle=style[n][0], color=style[n][1], label=n) for n in names],
               loc="outside lower center", ncols=len(names), fontsize=8, frameon=False)
    fig.suptitle(f"Prices relative to the outside price in the first week\n{info.label}", fontsize=10)
    return fig


def output_loss_figure(country: pd.DataFrame, summary: Mapping, info: RunInfo):
    """Cumulative output loss, % of annual GDP, each country labelled with its binding commodity."""
    fig, axes = _new((10, 4.2))
    ax = axes[0, 0]
    countries = info.shown(country["country"].unique())
    colors = country_colors(countries)
    series, color_of, code_of = {}, {}, {}
    for c in countries:
        rows = country[country["country"] == c]
        binding = _binding(summary, c)
        key = c if binding is None else f"{c} (binding: {info.commodity(binding)})"
        series[key] = (_dates(rows["date"]), rows["cum_output_loss_pct_gdp"].to_numpy())
        color_of[key], code_of[key] = colors[c], c
    zero = [code_of[key] for key in draw_distinct(ax, series, color_of)]
    ax.set_ylabel("% of annual GDP")
    ax.set_title(f"Cumulative output loss\n{info.label}", fontsize=10)
    ax.grid(alpha=0.3)
    date_axis(ax)
    legend_outside(ax, ax.get_legend_handles_labels()[0]
                   + ([note_handle("zero throughout: " + ", ".join(zero))] if zero else []))
    return fig


def run_figures(tables: Mapping[str, pd.DataFrame], summary: Mapping, info: RunInfo,
                directory: Path) -> list[Path]:
    """Draw a run's figures into ``directory`` (created).

    Args:
        tables: the run's ``model``, ``country`` and ``country_commodity`` tables.
        summary: the run's summary (``summary.json``): the binding commodities.
        info: the run's names (:meth:`RunInfo.from_config`).
        directory: where the PNG files go.

    Returns:
        The files written: ``escalation``, ``shortages``, ``binding``, ``prices``, ``output_loss`` (PNG).
    """
    cc = tables["country_commodity"]
    return save_all({
        "escalation.png": escalation_figure(tables["model"], info),
        "shortages.png": shortage_figure(cc, summary, info),
        "binding.png": binding_figure(summary, info),
        "prices.png": price_figure(cc, info),
        "output_loss.png": output_loss_figure(tables["country"], summary, info),
    }, directory)


def save_all(figures: Mapping[str, plt.Figure], directory: Path) -> list[Path]:
    """Save each figure as ``directory/<name>`` and close it."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in figures.items():
        path = directory / name
        fig.savefig(path, dpi=DPI)
        plt.close(fig)
        paths.append(path)
    return paths


# ------------------------------------------------------------------- two runs


def _pair_title(what: str, a: RunInfo, b: RunInfo) -> str:
    return f"{what}\nA: {a.label}\nB: {b.label}"


def _pair_note(zero: list[str]) -> str:
    """``["JP, A", "JP, B", "KR, B"]`` -> ``"JP (A and B), KR (B)"``."""
    runs: dict[str, list[str]] = {}
    for key in zero:
        country, _, run = key.rpartition(", ")
        runs.setdefault(country, []).append(run)
    return ", ".join(f"{c} ({' and '.join(r)})" for c, r in runs.items())


def compare_loss_figure(country_a: pd.DataFrame, country_b: pd.DataFrame, a: RunInfo, b: RunInfo):
    """Cumulative output loss per country, run A solid and run B dashed in the country's colour."""
    fig, axes = _new((10, 4.6))
    ax = axes[0, 0]
    countries = a.shown(set(country_a["country"]) & set(country_b["country"]))
    colors = country_colors(countries)
    color_of, style_of, zero = {}, {}, []
    for c in countries:
        ya = country_a[country_a["country"] == c]
        yb = country_b[country_b["country"] == c]
        pair = {f"{c}, A": (_dates(ya["date"]), ya["cum_output_loss_pct_gdp"].to_numpy()),
                f"{c}, B": (_dates(yb["date"]), yb["cum_output_loss_pct_gdp"].to_numpy())}
        for key in pair:
            color_of[key] = colors[c]
            style_of[key] = "-" if key.endswith("A") else "--"
        zero += draw_distinct(ax, pair, color_of, style_of)
    ax.set_ylabel("% of annual GDP")
    ax.set_title(_pair_title("Cumulative output loss", a, b), fontsize=10)
    ax.grid(alpha=0.3)
    date_axis(ax)
    legend_outside(ax, ax.get_legend_handles_labels()[0]
                   + ([note_handle("zero throughout: " + _pair_note(zero))] if zero else []))
    return fig


def compare_commodity_figure(summary_a: Mapping, summary_b: Mapping, a: RunInfo, b: RunInfo):
    """Cumulative loss by the commodity that caused it, A beside B, one panel per country that lost
    output in either run; each panel names both runs' binding commodities."""
    rows_a, rows_b = summary_a.get("countries", {}), summary_b.get("countries", {})
    countries = [c for c in a.shown(set(rows_a) & set(rows_b))
                 if (rows_a[c].get("cum_output_loss_pct_gdp") or 0) > 0
                 or (rows_b[c].get("cum_output_loss_pct_gdp") or 0) > 0]
    order = [*a.commodities, "trade_ban"]
    panels = []
    for c in countries:
        causes = list(dict.fromkeys([*rows_a[c].get("cum_output_loss_pct_gdp_by_commodity", {}),
                                     *rows_b[c].get("cum_output_loss_pct_gdp_by_commodity", {})]))
        causes.sort(key=lambda com: order.index(com) if com in order else len(order))
        panels.append((c, causes))
    heights = [max(len(causes), 1) + 1.2 for _, causes in panels] or [1]
    fig, axes = _new((10, 1.6 + 0.45 * sum(heights)), max(len(panels), 1), 1,
                     gridspec_kw={"height_ratios": heights})
    if not panels:
        axes[0, 0].set_axis_off()
        axes[0, 0].text(0.5, 0.5, "no country lost output in either run", ha="center", va="center",
                        transform=axes[0, 0].transAxes)
    for ax, (c, causes) in zip(axes[:, 0], panels, strict=False):
        ya = [rows_a[c].get("cum_output_loss_pct_gdp_by_commodity", {}).get(com, 0.0) for com in causes]
        yb = [rows_b[c].get("cum_output_loss_pct_gdp_by_commodity", {}).get(com, 0.0) for com in causes]
        pos = np.arange(len(causes))
        ax.barh(pos - 0.2, ya, height=0.38, color=PALETTE[0], label="A")
        ax.barh(pos + 0.2, yb, height=0.38, color=PALETTE[1], hatch="//", label="B")
        ax.set_yticks(pos, [textwrap.fill(a.commodity(com), 34) for com in causes], fontsize=8)
        ax.invert_yaxis()
        ax.grid(alpha=0.3, axis="x")
        ax.set_title(f"{c}: binding in A: {a.commodity(rows_a[c].get('binding_commodity'))}; "
                     f"in B: {b.commodity(rows_b[c].get('binding_commodity'))}", fontsize=9, loc="left")
        legend_outside(ax)
    axes[-1, 0].set_xlabel("cumulative output loss, % of annual GDP")
    fig.suptitle(_pair_title("Output loss by the commodity whose shortage caused it", a, b), fontsize=10)
    return fig


def compare_shortage_figure(cc_a: pd.DataFrame, cc_b: pd.DataFrame, model_a: pd.DataFrame,
                            model_b: pd.DataFrame, a: RunInfo, b: RunInfo):
    """Each country's worst shortage, A solid and B dashed, and China's escalation level in each run."""
    fig, axes = _new((10, 6.4), 2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    a1, a2 = axes[:, 0]
    countries = a.shown(set(cc_a["country"]) & set(cc_b["country"]))
    colors = country_colors(countries)
    color_of, style_of, zero = {}, {}, []
    for c in countries:
        pair = {}
        for run, cc in (("A", cc_a), ("B", cc_b)):
            worst = cc[cc["country"] == c].groupby("date")["shortage_share"].max()
            key = f"{c}, {run}"
            pair[key] = (_dates(worst.index), worst.to_numpy() * 100.0)
            color_of[key], style_of[key] = colors[c], "-" if run == "A" else "--"
        zero += draw_distinct(a1, pair, color_of, style_of)
    a1.set_ylabel("worst shortage,\n% of demand")
    a1.set_title(_pair_title("Shortages and escalation", a, b), fontsize=10)
    legend_outside(a1, a1.get_legend_handles_labels()[0]
                   + ([note_handle("no shortage: " + _pair_note(zero))] if zero else []))
    levels = {"A": (_dates(model_a["date"]), model_a["escalation_level"].to_numpy()),
              "B": (_dates(model_b["date"]), model_b["escalation_level"].to_numpy())}
    if np.array_equal(levels["A"][1], levels["B"][1]) and len(levels["A"][0]) == len(levels["B"][0]):
        levels = {"A = B": levels["A"]}
    for i, (key, (x, y)) in enumerate(levels.items()):
        a2.step(x, y, where="post", color="firebrick", linestyle=STYLES[i], label=key)
    stages = a.stages if a.stages == b.stages else ()
    if stages:
        a2.set_yticks(range(len(stages)), [stage_name(s) for s in stages], fontsize=7)
        a2.set_ylim(-0.3, len(stages) - 0.7)
    a2.set_ylabel("China's level")
    legend_outside(a2)
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
        date_axis(ax)
    return fig
