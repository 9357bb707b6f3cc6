"""The report of a sweep: ``report.md``, ``comparison.csv``, ``cost_effectiveness.csv``,
``sobol.csv`` and ``figures/``, rebuilt from the sweep directory (``simulation compare``).

For each scenario, strategies are ranked by the output loss they avoid against the
baseline (:mod:`simulation.sweep.stats`), then each strategy's absolute outcomes, the
figures (:mod:`simulation.sweep.plots`) and the failed runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from simulation.sweep.plots import (
    bands_figure,
    cost_effectiveness_figure,
    escalation_fan_figure,
    loss_box_figure,
    save,
    sobol_figure,
)
from simulation.sweep.stats import (
    LEVEL,
    MIN_PAIRS,
    N_BOOT,
    compare,
    cost_effectiveness,
    morris_indices,
    ok_runs,
    paired,
    ranking,
    sobol_indices,
    verdict,
)
from simulation.sweep.store import compact, is_compacted, read_experiment


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


def write_report(directory: str | Path) -> Path:
    """(Re)build ``report.md``, the comparison tables and the figures of a sweep directory."""
    directory = Path(directory)
    exp = read_experiment(directory)
    if not is_compacted(directory):
        compact(directory)
    results = pd.read_parquet(directory / "results.parquet")
    series_path = directory / "series.parquet"
    series = pd.read_parquet(series_path, columns=["run_id", "step", "date", "escalation_level",
                                                   "cum_output_loss_pct_gdp", "shortage_share_max"]) \
        if series_path.is_file() else pd.DataFrame()
    baseline, seed = exp.baseline, exp.seed
    comparison = compare(results, baseline, seed)
    ce = cost_effectiveness(results, baseline, seed)
    ranked = ranking(comparison, ce, paired(results, baseline), seed)
    comparison.to_csv(directory / "comparison.csv", index=False)
    ce.to_csv(directory / "cost_effectiveness.csv", index=False)
    figs = _figures(exp, results, series, ce, directory / "figures")
    sobol = None
    if exp.method == "sobol":
        sobol = sobol_indices(results, exp)
        sobol.to_csv(directory / "sobol.csv", index=False)
        if not sobol.empty:
            figs["sobol"] = save(sobol_figure(sobol), directory / "figures" / "sobol.png")

    morris = None
    if exp.method == "morris":
        morris = morris_indices(results, exp)
        morris.to_csv(directory / "morris.csv", index=False)

    text = _report_text(exp, results, ranked, sobol, figs, morris)
    path = directory / "report.md"
    path.write_text(text)
    return path


def _figures(exp, results: pd.DataFrame, series: pd.DataFrame, ce: pd.DataFrame, figdir: Path) -> dict[str, str]:
    """Draw the sweep's figures (those its tables allow); key -> path relative to the report."""
    order = [exp.strategy_label(s) for s in exp.strategies]
    figs = {}
    ok = ok_runs(results)
    if not ok.empty and not series.empty:
        figs["fan"] = save(escalation_fan_figure(series, ok, order), figdir / "escalation_fan.png")
        figs["bands"] = save(bands_figure(series, ok, order), figdir / "time_series_bands.png")
    if not ok.empty:
        figs["box"] = save(loss_box_figure(ok, paired(results, exp.baseline), order, exp.baseline),
                           figdir / "loss_by_strategy.png")
    if not ce.empty:
        figs["ce"] = save(cost_effectiveness_figure(ce, order), figdir / "cost_effectiveness.png")
    return figs


def _report_text(exp, results, ranked, sobol, figs, morris=None) -> str:
    out = _intro(exp, results) + _uncertainties(exp)
    for sc in dict.fromkeys(results["scenario"]):
        out += _scenario_section(exp, results, ranked, sc)
    if figs:
        out += _figure_list(results, figs)
    if sobol is not None:
        out += _sobol_section(exp, sobol)
    if morris is not None:
        out += _morris_section(exp, morris)
    out += _failures(results)
    out += ["Tables: `results.parquet` (one row per run), `series.parquet`, `commodity_series.parquet`, "
            "`comparison.csv`, `cost_effectiveness.csv`" + (", `sobol.csv`" if sobol is not None else "")
            + (", `morris.csv`" if morris is not None else "") + ".", ""]
    return "\n".join(out)


def _figure_list(results, figs: dict[str, str]) -> list[str]:
    captions = {"fan": "Escalation paths of all runs", "box": "Cumulative loss by strategy and paired "
                "differences", "bands": "Time series, median and 5-95% band", "ce": "Cost-effectiveness",
                "sobol": "Sobol indices"}
    out = ["## Figures", ""]
    runs = ok_runs(results).groupby(["scenario", "strategy"]).size()
    if len(runs) and runs.min() < MIN_PAIRS:
        captions["box"] = "Cumulative loss by strategy and paired differences, every run (no box)"
        captions["bands"] = "Time series, every run (no band)"
        out += [f"Some strategies have fewer than {MIN_PAIRS} runs (as few as {runs.min()}): their loss and "
                "time-series figures show every run instead of a box plot or a 5-95% band, since quantiles of "
                "so few values are not a spread one can read.", ""]
    return out + [f"![{captions[k]}]({v})" for k, v in figs.items()] + [""]


def _intro(exp, results) -> list[str]:
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
        f"over pairs and its {LEVEL:.0%} bootstrap interval in brackets; *pairs* is the number of twin "
        "pairs every interval in its row rests on. A difference is *resolved* when its interval "
        f"excludes 0 and it rests on at least {MIN_PAIRS} pairs: with fewer, a percentile bootstrap's "
        f"{LEVEL:.0%} interval covers the true mean far less often than {LEVEL:.0%} (about half the time "
        "with 2 pairs), so nothing below that is called resolved and no spread (box plot, 5-95% range or "
        "band) is drawn; run more seeds (`--seeds`). Strategies whose loss is identical in every pair "
        "are ties: they share a rank, and one identical to the baseline shows *no difference*. *Rank "
        f"kept* is the share of {N_BOOT} bootstrap resamples of the pairs (all strategies resampled "
        f"together) in which the strategy keeps its rank; *rank range* is its {LEVEL:.0%} range of "
        "ranks over those resamples. *Pairs better* is the share of pairs in which the strategy "
        "lost less. *Loss avoided per USD* is the output loss avoided (USD) divided by the extra "
        "strategy cost (USD: stockpile purchases above their calm value, holding, capex, premia and R&D; "
        "docs/ODD.md); n/a when the "
        "strategy costs no more than the baseline.",
        "",
    ]
    return out


def _uncertainties(exp) -> list[str]:
    if not exp.uncertainties:
        return []
    rows = []
    for u in exp.uncertainties:
        rng = (", ".join(str(v) for v in u.values) if u.values is not None
               else f"{u.low} to {u.high}" + (f" (mode {u.mode})" if u.mode is not None else ""))
        rows.append([u.name, "<br>".join(f"`{p}`" for p in u.paths), u.distribution if u.values is None
                     else "discrete", rng])
    return ["## Uncertain parameters", "", _table(["name", "config path", "distribution", "range"], rows), ""]


def _scenario_section(exp, results, ranked, sc: str) -> list[str]:
    """A scenario's ranking against the baseline and each strategy's absolute outcomes."""
    ok = ok_runs(results)
    target = ok[ok["scenario"] == sc]["target"].dropna()
    out = [f"## {sc}" + (f" (target {target.iloc[0]})" if len(target) else ""), ""]
    part = ranked[ranked["scenario"] == sc]
    if part.empty:
        out += [f"No complete pairs with `{exp.baseline}`: nothing to rank.", ""]
    else:
        out += _ranking_table(exp, part)
    return out + _outcomes_table(exp, results, sc)


def _rank_cells(r, few: bool) -> list[str]:
    """Rank kept and 90% rank range; n/a below the minimum of pairs."""
    if few or not hasattr(r, "rank_kept") or not np.isfinite(r.rank_kept):
        return ["n/a", "n/a"]
    return [f"{r.rank_kept:.0%}", f"{r.rank_lo}" if r.rank_lo == r.rank_hi else f"{r.rank_lo}-{r.rank_hi}"]


def _tie_lines(part: pd.DataFrame, baseline: str) -> list[str]:
    """One line per group of strategies with identical loss in every pair."""
    if "tied_with" not in part:
        return []
    groups = {}
    for r in part.itertuples():
        if isinstance(r.tied_with, str) and r.tied_with:
            members = tuple(sorted([r.strategy, *r.tied_with.split(", ")]))
            groups.setdefault(members, r)
    lines = []
    for members, r in groups.items():
        same = f", and equal to `{baseline}`" if bool(getattr(r, "all_equal", False)) else ""
        lines.append(f"- **Tie at rank {r.rank}:** {', '.join(f'`{m}`' for m in members)}: no difference between "
                     f"them, all {r.n_pairs} pairs equal{same}. They share the rank; their order means nothing.")
    return lines + [""] if lines else []


def _ranking_table(exp, part: pd.DataFrame) -> list[str]:
    rows = []
    for r in part.itertuples():
        note = verdict(r.n_pairs, r.loss_lo, r.loss_hi, bool(getattr(r, "all_equal", False)), exp.baseline,
                       "less loss")
        tied = getattr(r, "tied_with", "")
        if isinstance(tied, str) and tied:
            note += f"; tie with {len(tied.split(', '))} other(s)"
        rows.append([str(r.rank), f"`{r.strategy}`", str(r.n_pairs), _ci(r.loss_diff, r.loss_lo, r.loss_hi), note,
                     *_rank_cells(r, r.n_pairs < MIN_PAIRS),
                     _ci(r.weeks_diff, r.weeks_lo, r.weeks_hi), _ci(r.peak_diff, r.peak_lo, r.peak_hi),
                     _ci(r.cost_diff, r.cost_lo, r.cost_hi, 1e-6),
                     _ci(r.avoided_per_usd, r.avoided_per_usd_ci_low, r.avoided_per_usd_ci_high)
                     if "avoided_per_usd" in part else "n/a",
                     f"{r.share_better:.0%}"])
    out = [f"### Strategies ranked by output loss avoided vs `{exp.baseline}`", ""]
    if part["n_pairs"].min() < MIN_PAIRS:
        out += [f"**Too few pairs to resolve anything:** {part['n_pairs'].min()} pair(s) where at least "
                f"{MIN_PAIRS} are needed. The intervals are shown but no difference is called resolved, "
                "the rank stability is not shown, and the order below is only that of the means.", ""]
    out += _tie_lines(part, exp.baseline)
    out += [_table(["rank", "strategy", "pairs", f"Δ cum. loss, % GDP ({LEVEL:.0%} interval)", "verdict",
                    "rank kept", f"rank range ({LEVEL:.0%})", "Δ weeks in shortage", "Δ peak shortage",
                    "Δ cost, USD m", "loss avoided per USD", "pairs better"], rows), ""]
    return out


def _outcomes_table(exp, results, sc: str) -> list[str]:
    """Each strategy's absolute outcomes: mean and 5-95% spread over runs (the spread only from
    at least MIN_PAIRS runs)."""
    rows, few = [], False
    for s in [exp.strategy_label(x) for x in exp.strategies]:
        g = results[(results["scenario"] == sc) & (results["strategy"] == s)]
        v = g[g["status"] == "ok"]
        if v.empty:
            rows.append([f"`{s}`", "-", "-", "-", "-", "-", "-", f"{len(g)}", f"{len(g) - len(v)}"])
            continue
        few |= len(v) < MIN_PAIRS

        def spread(col, scale=1.0, v=v):
            x = v[col].astype(float) * scale
            if len(x) < MIN_PAIRS:
                return f"{_fmt(x.mean())} (no spread: {len(x)} runs)"
            return f"{_fmt(x.mean())} [{_fmt(x.quantile(0.05))}, {_fmt(x.quantile(0.95))}]"

        rows.append([f"`{s}`", spread("cum_output_loss_pct_gdp"), spread("weeks_in_shortage"),
                     spread("peak_shortage_share"), spread("strategy_cost_usd", 1e-6), _concessions(v),
                     _levels(v, "peak_level"), f"{len(g)}", f"{len(g) - len(v)}"])
    out = ["### Outcomes by strategy (mean [5%, 95%] over runs)", ""]
    if few:
        out += [f"The 5-95% range is shown only from {MIN_PAIRS} successful runs on: with fewer, it would be "
                "little more than the smallest and largest value.", ""]
    out += ["The cumulative loss does not count what conceding costs the target: a strategy that makes it hold "
            "out can lose more output and concede less. *Conceded* is the number of runs in which the target "
            "conceded; *peak level* counts the runs by China's highest ladder level.", ""]
    return out + [_table(["strategy", "cum. loss, % GDP", "weeks in shortage", "peak shortage", "cost, USD m",
                          "conceded", "peak level (runs)", "runs", "failed"], rows), ""]


def _concessions(v: pd.DataFrame) -> str:
    """How many of the runs ``v`` the target conceded in, or '-' where the column is absent."""
    if "conceded" not in v:
        return "-"
    return f"{int(v['conceded'].astype(bool).sum())} of {len(v)}"


def _levels(v: pd.DataFrame, col: str) -> str:
    """The runs ``v`` counted by ``col`` (a ladder level), highest level first: 'level: runs'."""
    if col not in v or v[col].isna().all():
        return "-"
    counts = v[col].dropna().astype(int).value_counts().sort_index(ascending=False)
    return ", ".join(f"{lvl}: {n}" for lvl, n in counts.items())


def _sobol_section(exp, sobol: pd.DataFrame) -> list[str]:
    out = [f"## Sensitivity of {exp.outcome} (Sobol)", ""]
    if sobol.empty:
        return out + ["Not computed: some design samples have no successful run.", ""]
    rows = [[r.scenario, f"`{r.strategy}`", r.parameter, str(r.n_samples), f"{r.S1:.3f} ± {r.S1_conf:.3f}",
             f"{r.ST:.3f} ± {r.ST_conf:.3f}"] for r in sobol.itertuples()]
    return out + ["First-order (S1) and total (ST) indices with 95% confidence, from the mean over seeds "
                  "of each design sample.", "",
                  _table(["scenario", "strategy", "parameter", "design samples", "S1", "ST"], rows), ""]


def _morris_section(exp, morris: pd.DataFrame, top: int = 5) -> list[str]:
    out = [f"## Sensitivity (Morris elementary effects, {exp.design.samples} trajectories)", ""]
    if morris.empty:
        return out + ["Not computed: some design samples have no successful run.", ""]
    out += ["For each outcome, the parameters with the largest mean absolute elementary effect (mu*, in the "
            "outcome's unit, with its 95% confidence) and sigma (interactions and non-linearity); `avoided` "
            "is the baseline's loss less the strategy's, paired by sample. All rows: `morris.csv`.", ""]
    rows = []
    for (sc, outcome), g in morris.groupby(["scenario", "outcome"], sort=False):
        for r in g.sort_values("mu_star", ascending=False).head(top).itertuples():
            rows.append([sc, outcome, r.parameter, f"{r.mu_star:.3g} ± {r.mu_star_conf:.2g}", f"{r.sigma:.3g}"])
    return out + [_table(["scenario", "outcome", "parameter", "mu*", "sigma"], rows), ""]


def _failures(results) -> list[str]:
    out = []
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
    return out
