"""Figures of a sweep: pure functions from its tables to matplotlib figures.

Escalation paths of all runs, loss by strategy with paired differences, time series with
bands over runs, cost-effectiveness and Sobol indices; :mod:`simulation.sweep.report` saves
them beside ``report.md``. A spread (box, 5-95% band) is drawn only from at least ``min_n``
values (:data:`~simulation.sweep.stats.MIN_PAIRS`); below it each value is drawn as it is.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from simulation.sweep.stats import MIN_PAIRS, ok_runs  # noqa: E402


def _date_axis(ax) -> None:
    loc = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def _colors(strategies: list[str]) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab10")
    return {s: cmap(i % 10) for i, s in enumerate(strategies)}


def escalation_fan_figure(series: pd.DataFrame, results: pd.DataFrame, order: list[str]):
    """China's escalation level over time for every run (one thin line each), per scenario."""
    scen = list(dict.fromkeys(results["scenario"]))
    fig, axes = plt.subplots(len(scen), 1, figsize=(9, 3.6 * len(scen)), squeeze=False)
    data = series.merge(results[["run_id", "scenario", "strategy"]], on="run_id")
    colors = _colors(order)
    for ax, sc in zip(axes[:, 0], scen, strict=True):
        part = data[data["scenario"] == sc]
        for k, s in enumerate(order):
            offset = (k - (len(order) - 1) / 2) * 0.04  # separate overlapping paths by strategy
            for i, (_, run) in enumerate(part[part["strategy"] == s].groupby("run_id", sort=False)):
                ax.step(pd.to_datetime(run["date"]), run["escalation_level"] + offset, where="post", lw=0.7,
                        alpha=0.35, color=colors[s], label=s if i == 0 else None)
        _date_axis(ax)
        ax.set_title(f"Escalation paths of all runs: {sc}")
        ax.set_ylabel("escalation level")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=4, loc="upper left")
    fig.tight_layout()
    return fig


def _boxes_or_points(ax, values: list[pd.Series], labels: list[str], min_n: int) -> bool:
    """Box plots when every group has ``min_n`` values, else every value as a point (and the
    mean as a bar): a box from a few points would look like a spread. True if boxes were drawn."""
    if values and min(len(v) for v in values) >= min_n:
        ax.boxplot(values, tick_labels=labels, showmeans=True)
        return True
    for i, v in enumerate(values, start=1):
        x = i + np.linspace(-0.12, 0.12, len(v)) if len(v) > 1 else np.full(len(v), float(i))
        ax.plot(x, v, "o", ms=4, alpha=0.7, color="C0")
        if len(v):
            ax.hlines(float(np.mean(v)), i - 0.25, i + 0.25, color="C1", lw=1.5)
    ax.set_xticks(range(1, len(values) + 1), labels)
    ax.set_xlim(0.4, len(values) + 0.6)
    return False


def loss_box_figure(results: pd.DataFrame, pairs: pd.DataFrame, order: list[str], baseline: str,
                    min_n: int = MIN_PAIRS):
    """Cumulative output loss by strategy (box), and its paired difference vs the baseline; with
    fewer than ``min_n`` runs or pairs per strategy, the values themselves and their mean."""
    scen = list(dict.fromkeys(results["scenario"]))
    fig, axes = plt.subplots(len(scen), 2, figsize=(12, 4.2 * len(scen)), squeeze=False)
    ok = ok_runs(results)
    for (a1, a2), sc in zip(axes, scen, strict=True):
        vals = [ok[(ok["scenario"] == sc) & (ok["strategy"] == s)]["cum_output_loss_pct_gdp"].astype(float)
                for s in order]
        boxes = _boxes_or_points(a1, vals, order, min_n)
        a1.set_ylabel("cumulative output loss, % of GDP")
        a1.set_title(f"{sc}: cumulative loss by strategy" + ("" if boxes else f" (runs: < {min_n}, no box)"))
        others = [s for s in order if s != baseline]
        diffs = [pairs[(pairs["scenario"] == sc) & (pairs["strategy"] == s)]["cum_output_loss_pct_gdp_diff"]
                 for s in others]
        boxes = _boxes_or_points(a2, diffs, others, min_n) if others else True
        a2.axhline(0, color="grey", lw=0.8)
        a2.set_ylabel(f"loss minus {baseline}'s, % of GDP (paired)")
        a2.set_title(f"{sc}: paired difference vs {baseline}" + ("" if boxes else f" (pairs: < {min_n}, no box)"))
        for a in (a1, a2):
            a.tick_params(axis="x", rotation=30, labelsize=8)
            a.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def bands_figure(series: pd.DataFrame, results: pd.DataFrame, order: list[str], min_n: int = MIN_PAIRS):
    """Median and 5-95% band over runs of the target's cumulative loss and worst shortage; a
    strategy with fewer than ``min_n`` runs has each run drawn as a thin line and no band."""
    scen = list(dict.fromkeys(results["scenario"]))
    fig, axes = plt.subplots(len(scen), 2, figsize=(13, 4.2 * len(scen)), squeeze=False)
    data = series.merge(results[["run_id", "scenario", "strategy"]], on="run_id")
    colors = _colors(order)
    cols = (("cum_output_loss_pct_gdp", "cumulative output loss, % of GDP"),
            ("shortage_share_max", "worst commodity shortage, share"))
    for row, sc in zip(axes, scen, strict=True):
        part = data[data["scenario"] == sc]
        banded = True
        for ax, (col, label) in zip(row, cols, strict=True):
            for s in order:
                runs = part[part["strategy"] == s]
                if runs.empty:
                    continue
                if runs["run_id"].nunique() < min_n:
                    banded = False
                    for i, (_, run) in enumerate(runs.groupby("run_id", sort=False)):
                        ax.plot(pd.to_datetime(run["date"]), run[col], color=colors[s], lw=0.8, alpha=0.6,
                                label=s if i == 0 else None)
                    continue
                q = runs.groupby("date")[col].quantile([0.05, 0.5, 0.95]).unstack()
                x = pd.to_datetime(q.index)
                ax.fill_between(x, q[0.05], q[0.95], color=colors[s], alpha=0.15)
                ax.plot(x, q[0.5], color=colors[s], lw=1.4, label=s)
            _date_axis(ax)
            ax.set_ylabel(label)
            ax.set_title(f"{sc}: median and 5-95% band over runs" if banded
                         else f"{sc}: every run (< {min_n} runs of a strategy: no band)")
            ax.grid(alpha=0.3)
        row[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def cost_effectiveness_figure(ce: pd.DataFrame, order: list[str]):
    """Extra cost vs loss avoided (USD bn, 90% intervals), one point per strategy."""
    scen = list(dict.fromkeys(ce["scenario"]))
    fig, axes = plt.subplots(1, max(1, len(scen)), figsize=(7 * max(1, len(scen)), 5.5), squeeze=False)
    colors = _colors(order)
    for ax, sc in zip(axes[0], scen, strict=False):
        part = ce[ce["scenario"] == sc]
        for r in part.itertuples():
            x, y = r.extra_cost_usd / 1e9, r.loss_avoided_usd / 1e9
            ax.errorbar(x, y, xerr=[[x - r.extra_cost_ci_low / 1e9], [r.extra_cost_ci_high / 1e9 - x]],
                        yerr=[[y - r.loss_avoided_ci_low / 1e9], [r.loss_avoided_ci_high / 1e9 - y]],
                        fmt="o", color=colors.get(r.strategy), capsize=3, label=f"{r.strategy} (n = {r.n_pairs})")
        lim = max(1e-9, float(np.nanmax(part["extra_cost_usd"].to_numpy())) / 1e9)
        ax.plot([0, lim], [0, lim], ls="--", color="grey", lw=0.8, label="loss avoided = cost")
        ax.axhline(0, color="grey", lw=0.6)
        ax.axvline(0, color="grey", lw=0.6)
        ax.set_xlabel("extra cost vs baseline, USD bn")
        ax.set_ylabel("output loss avoided vs baseline, USD bn")
        ax.set_title(f"{sc}: cost-effectiveness (mean, 90% interval over n pairs)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def sobol_figure(indices: pd.DataFrame):
    """First-order and total Sobol indices per parameter, one panel per scenario/strategy."""
    groups = list(indices.groupby(["scenario", "strategy"], sort=False))
    n = len(groups)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.8 * rows), squeeze=False)
    for ax, ((sc, st), grp) in zip(axes.flat, groups, strict=False):
        x = np.arange(len(grp))
        ax.bar(x - 0.2, grp["S1"], 0.4, yerr=grp["S1_conf"], capsize=2, label="first order (S1)")
        ax.bar(x + 0.2, grp["ST"], 0.4, yerr=grp["ST_conf"], capsize=2, label="total (ST)")
        ax.set_xticks(x, grp["parameter"], rotation=30, fontsize=8, ha="right")
        ax.set_title(f"{sc} / {st}", fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"Sobol indices of {indices['outcome'].iloc[0]}" if n else "Sobol indices")
    fig.tight_layout()
    return fig


def save(fig, path: Path) -> str:
    """Save a figure as PNG and close it; its path relative to the report (``figures/NAME``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"figures/{path.name}"
