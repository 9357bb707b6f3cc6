"""A worked example: load a scenario, run it under two strategies, compare them, plot.

Run from the project folder::

    .venv/bin/python docs/examples/compare_strategies.py                 # Korea, 156 weeks (~1 min)
    .venv/bin/python docs/examples/compare_strategies.py --steps 52 --strategies baseline hree_180

It uses the public API only (``from simulation import load_config, run``): ``load_config`` builds a
validated config from a scenario file, a strategy name, a seed and a number of weeks; ``run`` returns
a ``Results`` with the three tables (``model``, ``country``, ``country_commodity``) and the summary
(as ``summary.json``). Both runs share the scenario's seed, so they see the same random draws
(common random numbers) and differ only by what the strategy changes. One pair of runs is one
draw: for intervals, run a sweep (``simulation sweep configs/experiments/korea_strategies.toml``).

The same comparison from the command line, with figures and a markdown table::

    simulation run korea_coerced --out runs/a
    simulation run korea_coerced --strategy stockpile_100 --out runs/b
    simulation compare runs/a runs/b
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from simulation import load_config, run  # noqa: E402

PROJECT = Path(__file__).resolve().parents[2]
SCENARIO = PROJECT / "configs" / "scenarios" / "korea_coerced.toml"


def outcomes(results) -> dict:
    """The target's headline outcomes from a run's summary."""
    summary = results.summary
    row = summary["countries"][summary["target"]]
    binding = row["binding_commodity"]
    label = results.config.world.commodities[binding].label if binding else "none"
    return {
        "loss, % of GDP": row["cum_output_loss_pct_gdp"],
        "peak jobs lost": row["peak_jobs_lost"],
        "peak shortage": row["peak_shortage_share"],
        "weeks in shortage": row["weeks_in_shortage"],
        "strategy cost, USD m": row["strategy_cost_usd"] / 1e6,
        "binding commodity": label,
    }


FORMATS = {"loss, % of GDP": ".3f", "peak jobs lost": ",.0f", "peak shortage": ".1%", "weeks in shortage": "d",
           "strategy cost, USD m": ",.1f", "binding commodity": "s"}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Run a scenario under two strategies and compare them.")
    parser.add_argument("--scenario", type=Path, default=SCENARIO, help="scenario file (default korea_coerced)")
    parser.add_argument("--strategies", nargs=2, default=["baseline", "stockpile_100"], metavar="NAME",
                        help="two strategy names of configs/strategies/ (default baseline stockpile_100)")
    parser.add_argument("--steps", type=int, help="weeks to run (default: the scenario's horizon)")
    parser.add_argument("--out", type=Path, default=Path("runs") / "example", help="folder for the figure")
    args = parser.parse_args(argv)

    # 1. Load: the same scenario (and so the same seed) under each strategy.
    configs = {s: load_config(args.scenario, strategy=s, steps=args.steps) for s in args.strategies}

    # 2. Run.
    results = {s: run(cfg) for s, cfg in configs.items()}

    # 3. Compare the target's outcomes, strategy by strategy, and the difference.
    first, second = args.strategies
    cfg = configs[first]
    a, b = outcomes(results[first]), outcomes(results[second])
    print(f"{cfg.scenario.name}: target {cfg.scenario.target}, seed {cfg.run.seed}, {cfg.n_steps} weeks")
    print(f"{'outcome':22} {first:>28} {second:>28} {'difference':>14}")
    for key, fmt in FORMATS.items():
        diff = "" if key == "binding commodity" else format(b[key] - a[key], "+" + fmt)
        print(f"{key:22} {format(a[key], fmt):>28} {format(b[key], fmt):>28} {diff:>14}")

    # 4. Plot the target's cumulative loss under each strategy.
    target = cfg.scenario.target
    fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    for style, (name, res) in zip(("-", "--"), results.items(), strict=True):
        rows = res.country[res.country["country"] == target]
        ax.plot(pd.to_datetime(rows["date"]), rows["cum_output_loss_pct_gdp"], linestyle=style, label=name)
    ax.set_ylabel("cumulative output loss, % of GDP")
    ax.set_title(f"{target} under {first} and {second}\n{cfg.scenario.name}, seed {cfg.run.seed}")
    ax.legend()
    ax.grid(alpha=0.3)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "compare_strategies.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"figure: {path}")
    return results


if __name__ == "__main__":
    main()
