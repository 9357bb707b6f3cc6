"""Comparing strategies across a sweep: paired differences, cost-effectiveness, sensitivity.

Pure functions from the compacted tables of a sweep directory (:mod:`simulation.sweepdir`)
to new tables and figures; :func:`write_report` puts them in ``report.md``,
``comparison.csv``, ``cost_effectiveness.csv``, ``sobol.csv`` and ``figures/``.

Runs are paired on (scenario, sample, replicate): the same seed and the same uncertain
parameter values, differing only in strategy (common random numbers). Every difference is
``strategy - baseline`` per pair; intervals are 90% percentile-bootstrap intervals of the
mean over pairs, from a generator seeded by the experiment's root seed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from simulation.experiments import Experiment, sobol_problem  # noqa: E402

PAIR = ["scenario", "sample", "replicate"]
LEVEL = 0.90
N_BOOT = 2000


@dataclass(frozen=True)
class Outcome:
    name: str
    label: str
    unit: str
    scale: float = 1.0  # shown value = value * scale


COMPARED = [
    Outcome("cum_output_loss_pct_gdp", "cumulative output loss", "% of GDP"),
    Outcome("weeks_in_shortage", "weeks in shortage", "weeks"),
    Outcome("peak_shortage_share", "peak shortage", "share of demand"),
    Outcome("strategy_cost_usd", "strategy cost", "USD m", 1e-6),
]


def _rng(seed: int, *key: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(zlib.crc32(k.encode()) for k in key)))


def bootstrap_mean(x: np.ndarray, rng: np.random.Generator, level: float = LEVEL) -> tuple[float, float, float]:
    """Mean of ``x`` and its percentile-bootstrap interval."""
    x = np.asarray(x, float)
    if len(x) == 0:
        return (np.nan, np.nan, np.nan)
    idx = rng.integers(0, len(x), size=(N_BOOT, len(x)))
    means = x[idx].mean(axis=1)
    a = (1 - level) / 2
    return float(x.mean()), float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def ok_runs(results: pd.DataFrame) -> pd.DataFrame:
    return results[results["status"] == "ok"]


def paired(results: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """One row per (pair, strategy other than baseline) with both sides' outcomes:
    ``<outcome>`` (strategy), ``<outcome>_base`` and ``<outcome>_diff`` = strategy - baseline."""
    ok = ok_runs(results)
    names = [o.name for o in COMPARED] + ["cum_output_loss_usd"]
    base = ok[ok["strategy"] == baseline][PAIR + names]
    other = ok[ok["strategy"] != baseline][PAIR + ["strategy"] + names]
    merged = other.merge(base, on=PAIR, suffixes=("", "_base"), validate="many_to_one")
    for n in names:
        merged[f"{n}_diff"] = merged[n].astype(float) - merged[f"{n}_base"].astype(float)
    return merged


def compare(results: pd.DataFrame, baseline: str, seed: int = 0) -> pd.DataFrame:
    """Paired differences vs the baseline, per scenario, strategy and outcome: ``n_pairs``,
    ``mean``, ``ci_low``, ``ci_high`` (90% interval of the mean), ``p05``, ``p95`` (spread of
    the pairwise differences) and ``share_better`` (pairs where the strategy is lower)."""
    pairs = paired(results, baseline)
    rows = []
    for (scenario, strategy), grp in pairs.groupby(["scenario", "strategy"], sort=False):
        for o in COMPARED:
            d = grp[f"{o.name}_diff"].to_numpy(float)
            mean, lo, hi = bootstrap_mean(d, _rng(seed, scenario, strategy, o.name))
            rows.append({"scenario": scenario, "strategy": strategy, "outcome": o.name, "n_pairs": len(d),
                         "mean": mean, "ci_low": lo, "ci_high": hi,
                         "p05": float(np.quantile(d, 0.05)), "p95": float(np.quantile(d, 0.95)),
                         "share_better": float((d < 0).mean())})
    return pd.DataFrame(rows, columns=["scenario", "strategy", "outcome", "n_pairs", "mean", "ci_low", "ci_high",
                                       "p05", "p95", "share_better"])


def cost_effectiveness(results: pd.DataFrame, baseline: str, seed: int = 0) -> pd.DataFrame:
    """Loss avoided (USD) and extra cost (USD) vs the baseline, and loss avoided per USD of
    extra cost (ratio of the means, bootstrap interval over pairs)."""
    pairs = paired(results, baseline)
    rows = []
    for (scenario, strategy), grp in pairs.groupby(["scenario", "strategy"], sort=False):
        avoided = -grp["cum_output_loss_usd_diff"].to_numpy(float)
        cost = grp["strategy_cost_usd_diff"].to_numpy(float)
        rng = _rng(seed, scenario, strategy, "cost_effectiveness")
        idx = rng.integers(0, len(avoided), size=(N_BOOT, len(avoided)))
        a_means, c_means = avoided[idx].mean(axis=1), cost[idx].mean(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(c_means > 0, a_means / c_means, np.nan)
        a, c = float(avoided.mean()), float(cost.mean())
        q = (1 - LEVEL) / 2
        finite = ratios[np.isfinite(ratios)]
        rows.append({
            "scenario": scenario, "strategy": strategy, "n_pairs": len(avoided),
            "loss_avoided_usd": a, "loss_avoided_ci_low": float(np.quantile(a_means, q)),
            "loss_avoided_ci_high": float(np.quantile(a_means, 1 - q)),
            "extra_cost_usd": c, "extra_cost_ci_low": float(np.quantile(c_means, q)),
            "extra_cost_ci_high": float(np.quantile(c_means, 1 - q)),
            "avoided_per_usd": a / c if c > 0 else np.nan,
            "avoided_per_usd_ci_low": float(np.quantile(finite, q)) if len(finite) == N_BOOT else np.nan,
            "avoided_per_usd_ci_high": float(np.quantile(finite, 1 - q)) if len(finite) == N_BOOT else np.nan,
        })
    return pd.DataFrame(rows)


def ranking(comparison: pd.DataFrame, ce: pd.DataFrame) -> pd.DataFrame:
    """Strategies per scenario, best first: ranked by mean loss avoided (% of GDP)."""
    loss = comparison[comparison["outcome"] == "cum_output_loss_pct_gdp"]
    wide = loss[["scenario", "strategy", "n_pairs", "mean", "ci_low", "ci_high", "share_better"]].rename(
        columns={"mean": "loss_diff", "ci_low": "loss_lo", "ci_high": "loss_hi"})
    for name, short in (("weeks_in_shortage", "weeks"), ("peak_shortage_share", "peak"),
                        ("strategy_cost_usd", "cost")):
        part = comparison[comparison["outcome"] == name][["scenario", "strategy", "mean", "ci_low", "ci_high"]]
        wide = wide.merge(part.rename(columns={"mean": f"{short}_diff", "ci_low": f"{short}_lo",
                                               "ci_high": f"{short}_hi"}), on=["scenario", "strategy"])
    if not ce.empty:
        wide = wide.merge(ce[["scenario", "strategy", "avoided_per_usd", "avoided_per_usd_ci_low",
                              "avoided_per_usd_ci_high"]], on=["scenario", "strategy"], how="left")
    wide = wide.sort_values(["scenario", "loss_diff", "strategy"], kind="stable").reset_index(drop=True)
    wide.insert(2, "rank", wide.groupby("scenario").cumcount() + 1)
    return wide


def sobol_indices(results: pd.DataFrame, exp: Experiment) -> pd.DataFrame:
    """First- and total-order Sobol indices of ``exp.outcome`` per scenario and strategy,
    from the mean over replicates of each design sample (SALib)."""
    from SALib.analyze import sobol

    problem = sobol_problem(exp)
    n_samples = int(results["sample"].max()) + 1
    rows = []
    for (scenario, strategy), grp in results.groupby(["scenario", "strategy"], sort=False):
        ok = grp[grp["status"] == "ok"]
        y = ok.groupby("sample")[exp.outcome].mean().reindex(range(n_samples)).to_numpy(float)
        if np.isnan(y).any():
            continue
        res = sobol.analyze(problem, y, calc_second_order=False, print_to_console=False,
                            seed=int(np.random.SeedSequence(exp.seed).generate_state(1)[0]))
        for i, name in enumerate(problem["names"]):
            rows.append({"scenario": scenario, "strategy": strategy, "outcome": exp.outcome, "parameter": name,
                         "S1": float(res["S1"][i]), "S1_conf": float(res["S1_conf"][i]),
                         "ST": float(res["ST"][i]), "ST_conf": float(res["ST_conf"][i])})
    return pd.DataFrame(rows, columns=["scenario", "strategy", "outcome", "parameter", "S1", "S1_conf", "ST",
                                       "ST_conf"])


# ---------------------------------------------------------------------- figures


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


def loss_box_figure(results: pd.DataFrame, pairs: pd.DataFrame, order: list[str], baseline: str):
    """Cumulative output loss by strategy (box), and its paired difference vs the baseline."""
    scen = list(dict.fromkeys(results["scenario"]))
    fig, axes = plt.subplots(len(scen), 2, figsize=(12, 4.2 * len(scen)), squeeze=False)
    ok = ok_runs(results)
    for (a1, a2), sc in zip(axes, scen, strict=True):
        vals = [ok[(ok["scenario"] == sc) & (ok["strategy"] == s)]["cum_output_loss_pct_gdp"].astype(float)
                for s in order]
        a1.boxplot(vals, tick_labels=order, showmeans=True)
        a1.set_ylabel("cumulative output loss, % of GDP")
        a1.set_title(f"{sc}: cumulative loss by strategy")
        others = [s for s in order if s != baseline]
        diffs = [pairs[(pairs["scenario"] == sc) & (pairs["strategy"] == s)]["cum_output_loss_pct_gdp_diff"]
                 for s in others]
        if others:
            a2.boxplot(diffs, tick_labels=others, showmeans=True)
        a2.axhline(0, color="grey", lw=0.8)
        a2.set_ylabel(f"loss minus {baseline}'s, % of GDP (paired)")
        a2.set_title(f"{sc}: paired difference vs {baseline}")
        for a in (a1, a2):
            a.tick_params(axis="x", rotation=30, labelsize=8)
            a.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def bands_figure(series: pd.DataFrame, results: pd.DataFrame, order: list[str]):
    """Median and 5-95% band over runs of the target's cumulative loss and worst shortage."""
    scen = list(dict.fromkeys(results["scenario"]))
    fig, axes = plt.subplots(len(scen), 2, figsize=(13, 4.2 * len(scen)), squeeze=False)
    data = series.merge(results[["run_id", "scenario", "strategy"]], on="run_id")
    colors = _colors(order)
    cols = (("cum_output_loss_pct_gdp", "cumulative output loss, % of GDP"),
            ("shortage_share_max", "worst commodity shortage, share"))
    for row, sc in zip(axes, scen, strict=True):
        part = data[data["scenario"] == sc]
        for ax, (col, label) in zip(row, cols, strict=True):
            for s in order:
                grp = part[part["strategy"] == s].groupby("date")[col]
                if not len(grp):
                    continue
                q = grp.quantile([0.05, 0.5, 0.95]).unstack()
                x = pd.to_datetime(q.index)
                ax.fill_between(x, q[0.05], q[0.95], color=colors[s], alpha=0.15)
                ax.plot(x, q[0.5], color=colors[s], lw=1.4, label=s)
            _date_axis(ax)
            ax.set_ylabel(label)
            ax.set_title(f"{sc}: median and 5-95% band over runs")
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
                        fmt="o", color=colors.get(r.strategy), capsize=3, label=r.strategy)
        lim = max(1e-9, float(np.nanmax(part["extra_cost_usd"].to_numpy())) / 1e9)
        ax.plot([0, lim], [0, lim], ls="--", color="grey", lw=0.8, label="loss avoided = cost")
        ax.axhline(0, color="grey", lw=0.6)
        ax.axvline(0, color="grey", lw=0.6)
        ax.set_xlabel("extra cost vs baseline, USD bn")
        ax.set_ylabel("output loss avoided vs baseline, USD bn")
        ax.set_title(f"{sc}: cost-effectiveness (mean, 90% interval)")
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


# ---------------------------------------------------------------------- report


def _fmt(x: float, digits: int = 3) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    if x != 0 and (abs(x) >= 1e7 or abs(x) < 10 ** -(digits + 1)):
        return f"{x:.{digits - 1}e}"
    if abs(x) >= 10**digits:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _ci(mean: float, lo: float, hi: float, scale: float = 1.0) -> str:
    return f"{_fmt(mean * scale)} [{_fmt(lo * scale)}, {_fmt(hi * scale)}]"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _save(fig, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"figures/{path.name}"


def write_report(directory: str | Path) -> Path:
    """(Re)build ``report.md``, the comparison tables and the figures of a sweep directory."""
    from simulation.sweepdir import compact, is_compacted, read_experiment

    directory = Path(directory)
    exp = read_experiment(directory)
    if not is_compacted(directory):
        compact(directory)
    results = pd.read_parquet(directory / "results.parquet")
    series_path = directory / "series.parquet"
    series = pd.read_parquet(series_path, columns=["run_id", "step", "date", "escalation_level",
                                                   "cum_output_loss_pct_gdp", "shortage_share_max"]) \
        if series_path.is_file() else pd.DataFrame()
    order = [exp.strategy_label(s) for s in exp.strategies]
    baseline, seed = exp.baseline, exp.seed
    comparison = compare(results, baseline, seed)
    ce = cost_effectiveness(results, baseline, seed)
    ranked = ranking(comparison, ce)
    comparison.to_csv(directory / "comparison.csv", index=False)
    ce.to_csv(directory / "cost_effectiveness.csv", index=False)
    figdir = directory / "figures"
    figs = {}
    ok = ok_runs(results)
    if not ok.empty and not series.empty:
        figs["fan"] = _save(escalation_fan_figure(series, ok, order), figdir / "escalation_fan.png")
        figs["bands"] = _save(bands_figure(series, ok, order), figdir / "time_series_bands.png")
    if not ok.empty:
        figs["box"] = _save(loss_box_figure(ok, paired(results, baseline), order, baseline),
                            figdir / "loss_by_strategy.png")
    if not ce.empty:
        figs["ce"] = _save(cost_effectiveness_figure(ce, order), figdir / "cost_effectiveness.png")
    sobol = None
    if exp.method == "sobol":
        sobol = sobol_indices(results, exp)
        sobol.to_csv(directory / "sobol.csv", index=False)
        if not sobol.empty:
            figs["sobol"] = _save(sobol_figure(sobol), figdir / "sobol.png")

    text = _report_text(exp, results, ranked, comparison, sobol, figs)
    path = directory / "report.md"
    path.write_text(text)
    return path


def _report_text(exp, results, ranked, comparison, sobol, figs) -> str:
    n = len(results)
    counts = results["status"].value_counts()
    out = [f"# Sweep report: {exp.name}", ""]
    if exp.description:
        out += [exp.description, ""]
    out += [
        f"{n} runs: {counts.get('ok', 0)} ok, {counts.get('failed', 0)} failed, "
        f"{counts.get('missing', 0)} missing. Scenarios: {', '.join(dict.fromkeys(results['scenario']))}. "
        f"Strategies: {', '.join(exp.strategy_label(s) for s in exp.strategies)}. "
        f"Design: {exp.method}, {results['sample'].nunique()} uncertainty sample(s) "
        + ("each on its own seed" if exp.design.matched else f"x {exp.seeds} seed(s)")
        + f" (root seed {exp.seed}).",
        "",
        "**How to read this.** Every strategy is run on the same seeds and the same uncertain "
        "parameter values as the baseline (common random numbers), so each run of a strategy has a "
        f"twin run of `{exp.baseline}`. Differences are *strategy minus {exp.baseline}* per twin pair; "
        "negative means less loss, fewer weeks in shortage, a lower peak. Each cell shows the mean "
        f"over pairs and its {LEVEL:.0%} bootstrap interval in brackets; an interval that excludes 0 is "
        "a difference the sweep resolves. *Pairs better* is the share of pairs in which the strategy "
        "lost less. *Loss avoided per USD* is the output loss avoided (USD) divided by the extra "
        "strategy cost (USD, purchases and holding as the model counts them); n/a when the "
        "strategy costs no more than the baseline.",
        "",
    ]
    if exp.uncertainties:
        rows = []
        for u in exp.uncertainties:
            rng = (", ".join(str(v) for v in u.values) if u.values is not None
                   else f"{u.low} to {u.high}" + (f" (mode {u.mode})" if u.mode is not None else ""))
            rows.append([u.name, "<br>".join(f"`{p}`" for p in u.paths), u.distribution if u.values is None
                         else "discrete", rng])
        out += ["## Uncertain parameters", "", _table(["name", "config path", "distribution", "range"], rows), ""]
    ok = ok_runs(results)
    for sc in dict.fromkeys(results["scenario"]):
        target = ok[ok["scenario"] == sc]["target"].dropna()
        out += [f"## {sc}" + (f" (target {target.iloc[0]})" if len(target) else ""), ""]
        part = ranked[ranked["scenario"] == sc]
        if part.empty:
            out += [f"No complete pairs with `{exp.baseline}`: nothing to rank.", ""]
        else:
            rows = []
            for r in part.itertuples():
                rows.append([str(r.rank), f"`{r.strategy}`", _ci(r.loss_diff, r.loss_lo, r.loss_hi),
                             _ci(r.weeks_diff, r.weeks_lo, r.weeks_hi), _ci(r.peak_diff, r.peak_lo, r.peak_hi),
                             _ci(r.cost_diff, r.cost_lo, r.cost_hi, 1e-6),
                             _ci(r.avoided_per_usd, r.avoided_per_usd_ci_low, r.avoided_per_usd_ci_high)
                             if "avoided_per_usd" in part else "n/a",
                             f"{r.share_better:.0%}", str(r.n_pairs)])
            out += [f"### Strategies ranked by output loss avoided vs `{exp.baseline}`", "",
                    _table(["rank", "strategy", "Δ cum. loss, % GDP", "Δ weeks in shortage", "Δ peak shortage",
                            "Δ cost, USD m", "loss avoided per USD", "pairs better", "pairs"], rows), ""]
        rows = []
        for s in [exp.strategy_label(x) for x in exp.strategies]:
            g = results[(results["scenario"] == sc) & (results["strategy"] == s)]
            v = g[g["status"] == "ok"]
            if v.empty:
                rows.append([f"`{s}`", "-", "-", "-", "-", f"{len(g)}", f"{len(g) - len(v)}"])
                continue

            def spread(col, scale=1.0, v=v):
                x = v[col].astype(float) * scale
                return f"{_fmt(x.mean())} [{_fmt(x.quantile(0.05))}, {_fmt(x.quantile(0.95))}]"

            rows.append([f"`{s}`", spread("cum_output_loss_pct_gdp"), spread("weeks_in_shortage"),
                         spread("peak_shortage_share"), spread("strategy_cost_usd", 1e-6), f"{len(g)}",
                         f"{len(g) - len(v)}"])
        out += ["### Outcomes by strategy (mean [5%, 95%] over runs)", "",
                _table(["strategy", "cum. loss, % GDP", "weeks in shortage", "peak shortage", "cost, USD m",
                        "runs", "failed"], rows), ""]
    if figs:
        out += ["## Figures", ""]
        captions = {"fan": "Escalation paths of all runs", "box": "Cumulative loss by strategy and paired "
                    "differences", "bands": "Time series, median and 5-95% band", "ce": "Cost-effectiveness",
                    "sobol": "Sobol indices"}
        out += [f"![{captions[k]}]({v})" for k, v in figs.items()] + [""]
    if sobol is not None:
        out += [f"## Sensitivity of {exp.outcome} (Sobol)", ""]
        if sobol.empty:
            out += ["Not computed: some design samples have no successful run.", ""]
        else:
            rows = [[r.scenario, f"`{r.strategy}`", r.parameter, f"{r.S1:.3f} ± {r.S1_conf:.3f}",
                     f"{r.ST:.3f} ± {r.ST_conf:.3f}"] for r in sobol.itertuples()]
            out += ["First-order (S1) and total (ST) indices with 95% confidence, from the mean over seeds "
                    "of each design sample.", "",
                    _table(["scenario", "strategy", "parameter", "S1", "ST"], rows), ""]
    failed = results[results["status"] == "failed"]
    if not failed.empty:
        out += ["## Failed runs", "", "Recorded with their error (`runs/<run_id>/error.json` has the traceback):",
                ""]
        rows = [[f"`{s}`", str(len(g)), g["error"].iloc[0].replace("|", "\\|")]
                for s, g in failed.groupby("strategy", sort=False)]
        out += [_table(["strategy", "failed runs", "first error"], rows), ""]
    missing = results[results["status"] == "missing"]
    if not missing.empty:
        out += [f"{len(missing)} runs have not completed: continue the sweep with `--resume`.", ""]
    out += ["Tables: `results.parquet` (one row per run), `series.parquet`, `commodity_series.parquet`, "
            "`comparison.csv`, `cost_effectiveness.csv`" + (", `sobol.csv`" if sobol is not None else "") + ".", ""]
    return "\n".join(out)
