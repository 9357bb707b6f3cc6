"""The design of a sweep: one row per run, its inputs and its seed.

Seeds are derived with ``numpy.random.SeedSequence`` from the experiment's root seed and the
run's (scenario, uncertainty sample, replicate) -- never from the strategy -- so every
strategy sees the same draws (common random numbers) and differences between strategies
are paired. Uncertainties are sampled on the unit hypercube (grid, Latin hypercube or
Sobol' sequence) and mapped to their ranges by each uncertainty's inverse CDF.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterator

import numpy as np
import pandas as pd

from simulation.sweep.experiment import DESIGN_COLUMNS, Experiment


def _stable(text: str) -> int:
    return zlib.crc32(text.encode())


def run_seed(root: int, scenario: str, sample: int, replicate: int) -> int:
    """The seed of every strategy's run for one (scenario, sample, replicate).

    ``SeedSequence(root, spawn_key=(crc32(scenario), sample, replicate))``: independent of
    the strategy (common random numbers) and of the order or number of other runs.
    """
    ss = np.random.SeedSequence(root, spawn_key=(_stable(scenario), sample, replicate))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def unit_samples(exp: Experiment) -> np.ndarray:
    """Design points on the unit hypercube, one row per sample, one column per uncertainty."""
    d = len(exp.uncertainties)
    method = exp.method
    if method == "none":
        return np.zeros((1, 0))
    if method == "grid":
        axes = [u.grid_units(exp.design.grid_points) for u in exp.uncertainties]
        return np.array(list(itertools.product(*axes)), dtype=float)
    ss = np.random.SeedSequence(exp.seed, spawn_key=(_stable("design"),))
    if method == "lhs":
        rng = np.random.default_rng(ss)
        n = exp.seeds if exp.design.matched else exp.design.samples
        u = np.empty((n, d))
        for j in range(d):
            u[:, j] = (rng.permutation(n) + rng.random(n)) / n
        return u
    problem = sobol_problem(exp)
    seed = int(ss.generate_state(1)[0])
    if method == "morris":
        from SALib.sample import morris as morris_sample

        return morris_sample.sample(problem, exp.design.samples, num_levels=exp.design.levels, seed=seed)
    import warnings

    from SALib.sample import sobol as sobol_sample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns when N is not a power of 2
        return sobol_sample.sample(problem, exp.design.samples, calc_second_order=False, seed=seed)


def sobol_problem(exp: Experiment) -> dict:
    """The SALib problem: every uncertainty on [0, 1] (mapped to its range by inverse CDF)."""
    return {"num_vars": len(exp.uncertainties), "names": [u.name for u in exp.uncertainties],
            "bounds": [[0.0, 1.0]] * len(exp.uncertainties)}


def design(exp: Experiment) -> pd.DataFrame:
    """One row per run: ``run_id, scenario, strategy, sample, replicate, seed`` and one column
    per uncertainty. Ordered scenario, sample, replicate, strategy (paired runs adjacent)."""
    units = unit_samples(exp)
    rows = []
    for scenario in exp.scenarios:
        slabel = exp.scenario_label(scenario)
        for k, u in enumerate(units):
            values = {unc.name: unc.value(float(x)) for unc, x in zip(exp.uncertainties, u, strict=True)}
            for r in [k] if exp.design.matched else range(exp.seeds):
                seed = run_seed(exp.seed, slabel, k, r)
                for strategy in exp.strategies:
                    rows.append({"run_id": f"{len(rows):06d}", "scenario": slabel,
                                 "strategy": exp.strategy_label(strategy), "sample": k, "replicate": r,
                                 "seed": seed, **values})
    return pd.DataFrame(rows, columns=[*DESIGN_COLUMNS, *(u.name for u in exp.uncertainties)])


def run_specs(exp: Experiment, table: pd.DataFrame) -> Iterator[dict]:
    """What a worker needs to make each run of the design (plain, picklable dicts)."""
    scen = {exp.scenario_label(s): s for s in exp.scenarios}
    strat = {exp.strategy_label(s): s for s in exp.strategies}
    names = [u.name for u in exp.uncertainties]
    for row in table.itertuples(index=False):
        rec = row._asdict()
        params = dict(exp.params)
        for unc in exp.uncertainties:
            v = rec[unc.name]
            v = v.item() if isinstance(v, np.generic) else v
            params.update(dict.fromkeys(unc.paths, v))
        yield {"run_id": rec["run_id"], "scenario": scen[rec["scenario"]], "strategy": strat[rec["strategy"]],
               "seed": int(rec["seed"]), "steps": exp.steps, "params": params,
               "inputs": {k: rec[k] for k in names}}

