"""Comparing strategies across a sweep: paired differences, cost-effectiveness, ranking, Sobol indices.

Pure functions from the compacted results of a sweep (:mod:`simulation.sweep.store`) to new
tables. Runs are paired on (scenario, sample, replicate): the same seed and the same
uncertain parameter values, differing only in strategy (common random numbers). Every
difference is ``strategy - baseline`` per pair; intervals are 90% percentile-bootstrap
intervals of the mean over pairs, from a generator seeded by the experiment's root seed.

Below :data:`MIN_PAIRS` pairs no difference is called resolved. Strategies whose outcome is
identical in every pair are ties: they share a rank. How stable each rank is comes from
bootstrap resamples of the pairs (:func:`rank_stability`).
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulation.sweep.design import sobol_problem
from simulation.sweep.experiment import Experiment

PAIR = ["scenario", "sample", "replicate"]
LEVEL = 0.90
N_BOOT = 2000
# The fewest twin pairs from which a difference may be called resolved, and from which a spread
# (box plot, 5-95% range or band) is drawn. A percentile bootstrap over n pairs has at most
# C(2n-1, n) distinct resamples (3 for n = 2), and its nominal 90% interval of a mean covers the
# true mean far less often with few pairs (simulated, 1000 samples each: normal differences 53% at
# n = 2, 80% at n = 5, 85% at n = 10, 87% at n = 20; lognormal(0, 1) 44%, 67%, 76%, 80%).
# With 2 seeds the Korea sweep called forge_integration's +0.126 [0.006, 0.247] % GDP resolved;
# 20 seeds put it at -0.022. From 10 pairs on the coverage is within a few points of its level
# for near-normal differences. It is a floor, not a guarantee: skewed differences need more.
MIN_PAIRS = 10


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
                         "share_better": float((d < 0).mean()), "all_equal": bool((d == 0).all()),
                         "resolved": resolved(len(d), lo, hi, bool((d == 0).all()))})
    return pd.DataFrame(rows, columns=["scenario", "strategy", "outcome", "n_pairs", "mean", "ci_low", "ci_high",
                                       "p05", "p95", "share_better", "all_equal", "resolved"])


def resolved(n_pairs: int, lo: float, hi: float, all_equal: bool = False) -> bool:
    """A difference is resolved when it rests on at least :data:`MIN_PAIRS` pairs, is not zero in
    every pair, and its interval excludes 0."""
    return bool(n_pairs >= MIN_PAIRS and not all_equal and np.isfinite(lo) and np.isfinite(hi)
                and (lo > 0 or hi < 0))


def verdict(n_pairs: int, lo: float, hi: float, all_equal: bool, baseline: str, lower: str = "lower") -> str:
    """The report's word on one difference vs the baseline."""
    if all_equal:
        return f"no difference: all {n_pairs} pairs equal to `{baseline}`"
    if n_pairs < MIN_PAIRS:
        return f"not resolved: {n_pairs} pairs, fewer than {MIN_PAIRS}"
    if resolved(n_pairs, lo, hi):
        return f"resolved: {lower}" if hi < 0 else "resolved: higher"
    return "not resolved: interval contains 0"


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


def ranking(comparison: pd.DataFrame, ce: pd.DataFrame, pairs: pd.DataFrame | None = None,
            seed: int = 0) -> pd.DataFrame:
    """Strategies per scenario, best first: ranked by mean loss avoided (% of GDP); equal means
    share a rank. With ``pairs`` (:func:`paired`), also each rank's stability and its ties
    (:func:`rank_stability`)."""
    loss = comparison[comparison["outcome"] == "cum_output_loss_pct_gdp"]
    cols = ["scenario", "strategy", "n_pairs", "mean", "ci_low", "ci_high", "share_better"]
    cols += [c for c in ("all_equal", "resolved") if c in loss]
    wide = loss[cols].rename(columns={"mean": "loss_diff", "ci_low": "loss_lo", "ci_high": "loss_hi"})
    for name, short in (("weeks_in_shortage", "weeks"), ("peak_shortage_share", "peak"),
                        ("strategy_cost_usd", "cost")):
        part = comparison[comparison["outcome"] == name][["scenario", "strategy", "mean", "ci_low", "ci_high"]]
        wide = wide.merge(part.rename(columns={"mean": f"{short}_diff", "ci_low": f"{short}_lo",
                                               "ci_high": f"{short}_hi"}), on=["scenario", "strategy"])
    if not ce.empty:
        wide = wide.merge(ce[["scenario", "strategy", "avoided_per_usd", "avoided_per_usd_ci_low",
                              "avoided_per_usd_ci_high"]], on=["scenario", "strategy"], how="left")
    wide = wide.sort_values(["scenario", "loss_diff", "strategy"], kind="stable").reset_index(drop=True)
    wide.insert(2, "rank", wide.groupby("scenario")["loss_diff"].rank(method="min").astype(int))
    if pairs is not None and not wide.empty:
        stab = rank_stability(pairs, seed)
        wide = wide.merge(stab, on=["scenario", "strategy"], how="left")
    return wide


def _ranks(means: np.ndarray) -> np.ndarray:
    """Competition ranks along the last axis (1 = lowest; equal values share the lowest rank)."""
    return (means[..., None, :] < means[..., :, None]).sum(axis=-1) + 1


def rank_stability(pairs: pd.DataFrame, seed: int = 0, outcome: str = "cum_output_loss_pct_gdp") -> pd.DataFrame:
    """Per scenario and strategy: ``rank_kept``, the share of bootstrap resamples of the twin pairs
    (all strategies resampled together, :data:`N_BOOT` draws seeded from ``seed`` and the scenario)
    in which the strategy keeps the rank of its mean difference; ``rank_lo`` and ``rank_hi``, its
    90% range of ranks over the resamples; ``tied_with``, the strategies with the same ``outcome``
    in every pair (they share every rank in every resample)."""
    rows = []
    q = (1 - LEVEL) / 2
    for scenario, grp in pairs.groupby("scenario", sort=False):
        wide = grp.set_index(PAIR + ["strategy"])[f"{outcome}_diff"].unstack("strategy")
        strategies = list(wide.columns)
        d = wide.to_numpy(float)
        idx = _rng(seed, scenario, "rank_stability").integers(0, len(d), size=(N_BOOT, len(d)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a resample without a strategy's pairs
            point = _ranks(np.nan_to_num(np.nanmean(d, axis=0), nan=np.inf))
            ranks = _ranks(np.nan_to_num(np.nanmean(d[idx], axis=1), nan=np.inf))
        groups: dict[bytes, list[str]] = {}
        for j, s in enumerate(strategies):
            groups.setdefault(np.nan_to_num(d[:, j], nan=np.inf).tobytes(), []).append(s)
        for j, s in enumerate(strategies):
            same = groups[np.nan_to_num(d[:, j], nan=np.inf).tobytes()]
            rows.append({"scenario": scenario, "strategy": s, "rank_kept": float((ranks[:, j] == point[j]).mean()),
                         "rank_lo": int(np.quantile(ranks[:, j], q, method="lower")),
                         "rank_hi": int(np.quantile(ranks[:, j], 1 - q, method="higher")),
                         "tied_with": ", ".join(x for x in same if x != s)})
    return pd.DataFrame(rows, columns=["scenario", "strategy", "rank_kept", "rank_lo", "rank_hi", "tied_with"])


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
                         "n_samples": n_samples, "S1": float(res["S1"][i]), "S1_conf": float(res["S1_conf"][i]),
                         "ST": float(res["ST"][i]), "ST_conf": float(res["ST_conf"][i])})
    return pd.DataFrame(rows, columns=["scenario", "strategy", "outcome", "parameter", "n_samples", "S1", "S1_conf",
                                       "ST", "ST_conf"])


def morris_indices(results: pd.DataFrame, exp: Experiment) -> pd.DataFrame:
    """Morris elementary effects (SALib: mu*, its confidence, sigma) per scenario of
    ``exp.outcome`` under each strategy (``outcome`` = the outcome's name) and of the loss each
    strategy avoids against the baseline (``avoided: <strategy>``: baseline minus strategy, paired
    by design sample), from the mean over replicates of each sample."""
    from SALib.analyze import morris

    from simulation.sweep.design import unit_samples

    problem, x = sobol_problem(exp), unit_samples(exp)
    n_samples = len(x)
    seed = int(np.random.SeedSequence(exp.seed).generate_state(1)[0])
    rows = []
    for scenario, grp in results.groupby("scenario", sort=False):
        ok = grp[grp["status"] == "ok"]
        y = {s: g.groupby("sample")[exp.outcome].mean().reindex(range(n_samples)).to_numpy(float)
             for s, g in ok.groupby("strategy", sort=False)}
        outcomes = [(s, exp.outcome, v) for s, v in y.items()]
        if exp.baseline in y:
            outcomes += [(s, f"avoided: {s}", y[exp.baseline] - v) for s, v in y.items() if s != exp.baseline]
        for strategy, outcome, v in outcomes:
            if np.isnan(v).any():
                continue
            res = morris.analyze(problem, x, v, num_levels=exp.design.levels, print_to_console=False, seed=seed)
            scale = float(np.ptp(v)) or 1.0
            for i, name in enumerate(problem["names"]):
                rows.append({"scenario": scenario, "strategy": strategy, "outcome": outcome, "parameter": name,
                             "n_samples": n_samples, "mu_star": float(res["mu_star"][i]),
                             "mu_star_conf": float(res["mu_star_conf"][i]), "sigma": float(res["sigma"][i]),
                             "mu": float(res["mu"][i]), "mu_star_rel": float(res["mu_star"][i]) / scale})
    return pd.DataFrame(rows, columns=["scenario", "strategy", "outcome", "parameter", "n_samples", "mu_star",
                                       "mu_star_conf", "sigma", "mu", "mu_star_rel"])
