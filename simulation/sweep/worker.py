"""A sweep's worker side: make the runs of a task and write each run's folder.

Each run's folder ``runs/<run_id>/`` is written by :func:`simulation.rundir.commit_dir`, the
same writer as ``simulation run``'s, and gets the completion marker last. A run that raises
is recorded as a failed run (``error.json``, its ``row.json``), never raised.
"""

from __future__ import annotations

import json
import time
import traceback
from pathlib import Path

import pandas as pd

from simulation.config import dump_config, load_config
from simulation.rundir import commit_dir
from simulation.runner import Results, run, strict_json, write_run_files
from simulation.sweep.lifeline import alive
from simulation.sweep.store import MARKER, RUNS, marker_status


def run_bundle(specs: list[dict], directory: str, tables: str, main_pid: int | None = None) -> list[dict]:
    """A task: make each run of the bundle and write its folder. Returns one small status
    per run. Stops early if the main process (``main_pid``) is gone."""
    out = []
    for spec in specs:
        if main_pid is not None and not alive(main_pid):
            break
        out.append(run_one(spec, Path(directory), tables))
    return out


def run_one(spec: dict, directory: Path, tables: str = "target") -> dict:
    """Make one run and write ``runs/<run_id>/``; an exception becomes a failed record."""
    run_dir = directory / RUNS / spec["run_id"]
    status = marker_status(run_dir)
    if status is not None:
        return {"run_id": spec["run_id"], "status": status, "wall_time_s": 0.0}
    t0 = time.perf_counter()
    config = None
    try:
        config = load_config(spec["scenario"], seed=spec["seed"], steps=spec["steps"], strategy=spec["strategy"],
                             params=spec["params"])
        results = run(config)
    except Exception as exc:  # noqa: BLE001 - recorded as data
        return _write_failure(spec, directory, exc, config, time.perf_counter() - t0)

    def files(tmp: Path) -> None:
        write_run_files(results, tmp)
        series, commodity = target_series(results)
        series.to_parquet(tmp / "series.parquet", index=False)
        commodity.to_parquet(tmp / "commodity_series.parquet", index=False)
        if tables == "all":
            for name in ("model", "country", "country_commodity"):
                getattr(results, name).to_parquet(tmp / f"{name}.parquet", index=False)
        row = {"run_id": spec["run_id"], "status": "ok", "error": None, **outcome_row(results)}
        (tmp / "row.json").write_text(strict_json(row, indent=1))

    commit_dir(run_dir, files, MARKER, "ok")
    return {"run_id": spec["run_id"], "status": "ok", "wall_time_s": time.perf_counter() - t0}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:500]


def _write_failure(spec: dict, directory: Path, exc: BaseException, config, wall: float,
                   note: str = "") -> dict:
    run_dir = directory / RUNS / spec["run_id"]
    error = (f"{note}: " if note else "") + _one_line(exc)

    def files(tmp: Path) -> None:
        if config is not None:
            dump_config(config, tmp / "config.toml")
        detail = {"error": error, "type": type(exc).__name__, "spec": _jsonable(spec),
                  "traceback": "".join(traceback.format_exception(exc))}
        (tmp / "error.json").write_text(strict_json(detail))
        row = {"run_id": spec["run_id"], "status": "failed", "error": error}
        (tmp / "row.json").write_text(strict_json(row, indent=1))

    commit_dir(run_dir, files, MARKER, "failed")
    return {"run_id": spec["run_id"], "status": "failed", "wall_time_s": wall}


def record_failure(spec: dict, directory: Path, exc: BaseException, note: str = "") -> dict:
    """Record a run whose task failed outside the run itself (e.g. its worker died)."""
    return _write_failure(spec, Path(directory), exc, None, 0.0, note)


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


def target_series(results: Results) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The target's weekly series (one row per week) and its per-commodity rows."""
    target = results.summary["target"]
    country = results.country[results.country["country"] == target].drop(columns=["country", "date"])
    cc = results.country_commodity
    commodity = cc[cc["country"] == target].drop(columns=["country"]).reset_index(drop=True)
    worst = commodity.groupby("step", as_index=False)["shortage_share"].max()
    worst = worst.rename(columns={"shortage_share": "shortage_share_max"})
    series = results.model.merge(country, on="step", how="left").merge(worst, on="step", how="left")
    return series, commodity


def outcome_row(results: Results) -> dict:
    """The target's outcomes of one run (one row of the compacted results)."""
    s = results.summary
    target = s["target"]
    c = s["countries"][target]
    esc = s["escalation"]
    lcu = results.config.world.countries[target].lcu_per_usd
    row = {
        "target": target,
        "cum_output_loss_pct_gdp": c["cum_output_loss_pct_gdp"],
        "cum_output_loss_usd": c["cum_output_loss"] / lcu,
        "cum_output_loss": c["cum_output_loss"],
        "weeks_in_shortage": c["weeks_in_shortage"],
        "peak_shortage_share": c["peak_shortage_share"],
        "peak_jobs_lost": c["peak_jobs_lost"],
        "strategy_cost_usd": c["strategy_cost_usd"],
        "peak_level": esc["peak_level"],
        "weeks_to_peak": esc["weeks_to_peak"],
        "final_level": esc["final_level"],
        "conceded": esc["conceded"],
    }
    for com, share in sorted(c["final_china_share"].items()):
        row[f"final_china_share.{com}"] = share
    return row
