"""Running one config: the Results object, the summary and the run directory (``simulation run``)."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.config import Config, dump_config
from simulation.model import CoercionModel
from simulation.provenance import environment
from simulation.rundir import commit_dir, timestamped_dir
from simulation.states import DECISION_COLUMNS

TABLE_FILES = {"model": "model.csv", "country": "country.csv",
               "country_commodity": "country_commodity.csv"}


@dataclass
class Results:
    """What one run produced: the three tables, the summary, the states' decisions and the run's metadata."""

    config: Config
    model: pd.DataFrame
    country: pd.DataFrame
    country_commodity: pd.DataFrame
    summary: dict
    wall_time_s: float = 0.0
    ledger: dict = field(default_factory=dict, repr=False)
    decisions: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(DECISION_COLUMNS)),
                                    repr=False)  # every state decision (written as decisions.csv)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The three tables by name (``model``, ``country``, ``country_commodity``)."""
        return {name: getattr(self, name) for name in TABLE_FILES}


def _loss_by_commodity(weekly: np.ndarray, commodities: list[str], gdp: float) -> dict[str, float]:
    """Cumulative loss, % of GDP, by the commodity whose shortage caused it (``trade_ban``: the
    non-mineral measures), largest first; only what caused a loss."""
    total = weekly.sum(axis=0) / gdp * 100.0
    names = [*commodities, "trade_ban"]
    return {names[j]: float(total[j]) for j in np.argsort(-total, kind="stable") if total[j] > 0}


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
        loss = rec.series["output_loss"][:n, k]
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
        by_com = _loss_by_commodity(rec.loss_by_commodity[:n, k], e.commodities, ctry.gdp_lcu_per_year)
        purchase = float(rec.costs["stock_purchase_usd"][:n, k].sum())
        purchase_calm = float(rec.costs["stock_purchase_calm_usd"][:n, k].sum())
        holding = float(rec.costs["holding_cost_usd"][:n, k].sum())
        policy = float(rec.costs["policy_cost_usd"][:n, k].sum())
        pre = {name: float(v[k]) for name, v in rec.pre_start.usd.items()}
        pre_start = (pre["stock_purchase_usd"] - pre["stock_purchase_calm_usd"] + pre["holding_cost_usd"]
                     + pre["policy_cost_usd"])
        countries[c] = {
            "cum_output_loss": float(loss.sum()),
            "currency": ctry.currency,
            "cum_output_loss_pct_gdp": float(loss.sum() / ctry.gdp_lcu_per_year * 100.0),
            "cum_output_loss_pct_gdp_by_commodity": by_com,
            "binding_commodity": max((c for c in by_com if c != "trade_ban"), key=by_com.get, default=None),
            "peak_jobs_lost": float(rec.series["jobs_lost"][:n, k].max(initial=0.0)),
            "peak_shortage_share": peak_short,
            "weeks_in_shortage": weeks_short,
            "final_china_share": final,
            # the tonnes a stockpile buys stay the state's (in stock, or released to its firms in place of
            # imports): they are valued at calm prices, so a purchase costs its premium over calm
            # and what the history (scenario.history_from, unrecorded) cost, where the levers act too
            "strategy_cost_usd": (purchase - purchase_calm) + holding + policy + pre_start,
            "pre_start_cost_usd": pre_start,
            "pre_start_stockpile_purchases_usd": pre["stock_purchase_usd"],
            "stockpile_purchases_usd": purchase,
            "stockpile_purchases_calm_value_usd": purchase_calm,
            "stockpile_purchase_premium_usd": purchase - purchase_calm,
            "stockpile_holding_cost_usd": holding,
            "other_policy_cost_usd": policy,
            "cum_input_premium_usd": float(rec.costs["input_premium_usd"][:n, k].sum()),
            "cum_recycled_t": float(rows["recycled_t"].sum()) if len(rows) else 0.0,
        }
    levels = rec.series["escalation_level"][:n]
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
        :class:`Results` with ``model``, ``country``, ``country_commodity`` tables and the
        states' ``decisions``.
    """
    t0 = time.perf_counter()
    model = CoercionModel(config)
    model.run_model()
    tables = model.recorder.tables()
    summary = summarize(model, tables)
    return Results(config=config, summary=summary, wall_time_s=time.perf_counter() - t0,
                   ledger={k: v[: model.t] for k, v in model.recorder.ledger.items()},
                   decisions=model.decisions.frame(), **tables)


def manifest(results: Results) -> dict:
    """The run's ``manifest.json``: versions, seed, dates and wall time."""
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


def default_run_dir(config: Config, root: str | Path = "runs") -> Path:
    """``runs/<scenario>-<strategy>-<timestamp>`` (both names are plain names: see the schema)."""
    return timestamped_dir(root, f"{config.scenario.name}-{config.strategy.name}")


NAME_MAX = 255 - 40  # a folder's name leaves room for its temporary sibling's suffix (.NAME.tmp-PID-THREAD)


def _probe(directory: Path) -> str | None:
    """Make and remove a folder in ``directory``: None, or why that fails."""
    probe = directory / f".probe-{os.getpid()}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        return f"cannot write in {directory}: {exc.strerror or exc}"
    return None


def output_dir_problem(out: str | Path, *, existing: bool = False) -> str | None:
    """Why ``out`` cannot be the output folder of a run or sweep, or None; checked before anything
    is computed, and nothing is left behind.

    ``out`` must be a new or empty folder (``existing``: a folder that exists, for a resume)
    whose nearest existing ancestor is a writable folder, with names the file system accepts.
    """
    text = str(out)
    if "\0" in text:
        return f"{text!r} contains a NUL character"
    out = Path(out).absolute()
    if any(len(part.encode()) > NAME_MAX for part in out.parts):
        return f"{text}: a name in it is longer than {NAME_MAX} bytes"
    if existing:
        if not out.is_dir():
            return f"{text} is not a directory"
        return _probe(out)
    if out.exists():
        if not out.is_dir():
            return f"{text} exists and is not a directory"
        if any(out.iterdir()):
            return f"{text} exists and is not an empty directory"
        return _probe(out) or _probe(out.parent)
    above = out.parent
    while not above.exists():
        above = above.parent
    if not above.is_dir():
        return f"{above} is not a directory"
    return _probe(above)


def write_tables(results: Results, directory: Path) -> None:
    for name, fname in TABLE_FILES.items():
        getattr(results, name).to_csv(directory / fname, index=False, float_format="%.10g")
    results.decisions.to_csv(directory / "decisions.csv", index=False, float_format="%.10g")


def finite(data):
    """``data`` (nested dicts, lists, numbers) with every NaN or infinity replaced by None."""
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [finite(v) for v in data]
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data


def strict_json(data, indent: int | None = 2) -> str:
    """Strict JSON text (RFC 8259: ``null``, never ``NaN`` or ``Infinity``) of ``data``, with a newline."""
    return json.dumps(finite(data), indent=indent, allow_nan=False) + "\n"


def write_run_files(results: Results, directory: Path) -> None:
    """The files every run folder has: ``config.toml``, ``summary.json`` and ``manifest.json``
    (strict JSON: a non-finite number is written as ``null``)."""
    dump_config(results.config, directory / "config.toml")
    (directory / "summary.json").write_text(strict_json(results.summary))
    (directory / "manifest.json").write_text(strict_json(manifest(results)))


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

    def files(tmp: Path) -> None:
        write_tables(results, tmp)
        if figures:
            from simulation.config import config_to_dict
            from simulation.figures import RunInfo, run_figures  # matplotlib only when drawing

            info = RunInfo.from_config(config_to_dict(results.config))
            run_figures(results.tables(), results.summary, info, tmp / "figures")
        write_run_files(results, tmp)

    commit_dir(out, files)
    return out
