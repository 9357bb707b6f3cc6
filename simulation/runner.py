"""Running one config: the Results object, the summary and the run directory."""

from __future__ import annotations

import copy
import functools
import json
import os
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.config import Config, dump_config
from simulation.model import CoercionModel

TABLE_FILES = {"model": "model.csv", "country": "country.csv",
               "country_commodity": "country_commodity.csv"}


@dataclass
class Results:
    """What one run produced: the three tables, the summary and the run's metadata."""

    config: Config
    model: pd.DataFrame
    country: pd.DataFrame
    country_commodity: pd.DataFrame
    summary: dict
    wall_time_s: float = 0.0
    ledger: dict = field(default_factory=dict, repr=False)


def summarize(model: CoercionModel, tables: dict[str, pd.DataFrame]) -> dict:
    """Per-country and escalation outcomes of a run (the ``summary.json`` contract)."""
    cfg, rec, e = model.config, model.recorder, model.eco
    n = model.t
    threshold = cfg.world.output.shortage_threshold_share
    cc = tables["country_commodity"]
    countries = {}
    for k, c in enumerate(e.countries):
        ctry = cfg.world.countries[c]
        rows = cc[cc["country"] == c]
        loss = rec.output_loss[:n, k]
        if len(rows):
            weekly = rows.groupby("step")["shortage_share"].max()
            peak_short = float(weekly.max())
            weeks_short = int((weekly > threshold).sum())
            final = {}
            for com, grp in rows.groupby("commodity", sort=False):
                vals = grp["china_share"].dropna()
                final[com] = float(vals.iloc[-1]) if len(vals) else None
        else:
            peak_short, weeks_short, final = 0.0, 0, {}
        purchase = float(rec.stock_purchase_usd[:n, k].sum())
        holding = float(rec.holding_cost_usd[:n, k].sum())
        policy = float(rec.policy_cost_usd[:n, k].sum())
        countries[c] = {
            "cum_output_loss": float(loss.sum()),
            "currency": ctry.currency,
            "cum_output_loss_pct_gdp": float(loss.sum() / ctry.gdp_lcu_per_year * 100.0),
            "peak_jobs_lost": float(rec.jobs_lost[:n, k].max(initial=0.0)),
            "peak_shortage_share": peak_short,
            "weeks_in_shortage": weeks_short,
            "final_china_share": final,
            "strategy_cost_usd": purchase + holding + policy,
            "stockpile_purchases_usd": purchase,
            "stockpile_holding_cost_usd": holding,
            "other_policy_cost_usd": policy,
            "cum_recycled_t": float(rows["recycled_t"].sum()) if len(rows) else 0.0,
        }
    levels = rec.level[:n]
    peak = int(levels.max(initial=0))
    return {
        "scenario": cfg.scenario.name,
        "strategy": cfg.strategy.name,
        "seed": cfg.run.seed,
        "steps": n,
        "target": cfg.scenario.target,
        "escalation": {
            "peak_level": peak,
            "peak_stage": cfg.escalation.levels[peak].name,
            "weeks_to_peak": int(np.argmax(levels == peak)) if n else 0,
            "final_level": int(levels[-1]) if n else 0,
            "conceded": bool(model.conceded),
            "concession_week": model.concession_step,
        },
        "countries": countries,
    }


def run(config: Config) -> Results:
    """Build the model, run every step, and collect tables and summary.

    Args:
        config: a validated config (``load_config``).

    Returns:
        :class:`Results` with ``model``, ``country``, ``country_commodity`` tables.
    """
    t0 = time.perf_counter()
    model = CoercionModel(config)
    model.run_model()
    tables = model.recorder.tables()
    summary = summarize(model, tables)
    return Results(config=config, summary=summary, wall_time_s=time.perf_counter() - t0,
                   ledger={k: v[: model.t] for k, v in model.recorder.ledger.items()}, **tables)


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment(packages: tuple[str, ...] = ("mesa", "numpy", "pandas", "networkx", "pydantic", "matplotlib")) -> dict:
    """Package version, git commit, Python and key package versions (for manifests).

    Read once per process (the code running is the code imported): a sweep's worker writes
    hundreds of manifests, and each reading costs a ``git`` call and package lookups."""
    return copy.deepcopy(_environment(packages))


@functools.cache
def _environment(packages: tuple[str, ...]) -> dict:
    versions = {}
    for pkg in ("coercion-sim", *packages):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "package": "coercion-sim",
        "version": versions.pop("coercion-sim"),
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "packages": versions,
    }


def manifest(results: Results) -> dict:
    cfg = results.config
    return {
        **environment(),
        "scenario": cfg.scenario.name,
        "strategy": cfg.strategy.name,
        "seed": cfg.run.seed,
        "steps": cfg.n_steps,
        "start_date": cfg.scenario.start_date.isoformat(),
        "end_date": cfg.date_of(cfg.n_steps).isoformat(),
        "wall_time_s": round(results.wall_time_s, 3),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def timestamped_dir(root: str | Path, stem: str) -> Path:
    """``root/<stem>-<timestamp>``, with a counter if that exists already."""
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    base = Path(root) / f"{stem}-{stamp}"
    path, i = base, 1
    while path.exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    return path


def default_run_dir(config: Config, root: str | Path = "runs") -> Path:
    return timestamped_dir(root, f"{config.scenario.name}-{config.strategy.name}")


def write_tables(results: Results, directory: Path) -> None:
    for name, fname in TABLE_FILES.items():
        getattr(results, name).to_csv(directory / fname, index=False, float_format="%.10g")


def write_run(results: Results, out: str | Path, figures: bool = True) -> Path:
    """Write a run directory atomically (a temporary sibling, renamed at the end).

    Args:
        results: what :func:`run` returned.
        out: the run directory to create (must not exist, or be empty).
        figures: also draw ``figures/*.png``.

    Returns:
        The run directory.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        dump_config(results.config, tmp / "config.toml")
        write_tables(results, tmp)
        (tmp / "summary.json").write_text(json.dumps(results.summary, indent=2) + "\n")
        if figures:
            from simulation.figures import run_figures

            run_figures(results, tmp / "figures")
        (tmp / "manifest.json").write_text(json.dumps(manifest(results), indent=2) + "\n")
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
