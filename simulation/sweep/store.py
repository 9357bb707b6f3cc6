"""The sweep directory: what the main process writes, reads back and compacts.

Layout (``runs/<experiment>-<timestamp>/`` unless ``--out``)::

    manifest.json              versions, seeds, design, one entry per invocation (resumes)
    experiment.toml            the experiment as resolved (absolute paths, every default)
    design.csv                 one row per run: run_id, scenario, strategy, sample,
                               replicate, seed, one column per uncertainty
    runs/<run_id>/             one folder per run, written by a worker (:mod:`simulation.sweep.worker`)
                               under a temporary name and renamed; COMPLETE (its status) is written last
        config.toml summary.json manifest.json row.json series.parquet
        commodity_series.parquet (ok runs) | error.json (failed runs)
    results.parquet            compacted: the design joined with each run's outcomes
    series.parquet             compacted: per run and week, the target's series
    commodity_series.parquet   compacted: per run, week and commodity, the target's rows
    report.md, comparison.csv, figures/   written by :mod:`simulation.sweep.report`

Workers only write inside ``runs/``; everything else is written by the main process,
atomically (temporary file, then ``os.replace``).
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simulation.provenance import environment
from simulation.rundir import atomic_write, read_marker, timestamped_dir
from simulation.runner import strict_json
from simulation.sweep.design import design
from simulation.sweep.experiment import (
    DESIGN_COLUMNS,
    OUTCOMES,
    Experiment,
    SweepError,
    experiment_to_toml,
    load_experiment,
)

MARKER = "COMPLETE"
RUNS = "runs"
INT_OUTCOMES = {"weeks_in_shortage": "Int64", "peak_level": "Int64", "weeks_to_peak": "Int64", "final_level": "Int64",
                "conceded": "boolean"}


def default_sweep_dir(exp: Experiment, root: str | Path = "runs") -> Path:
    """``runs/<experiment>-<timestamp>``."""
    return timestamped_dir(root, exp.name)


def latest_sweep_dir(exp: Experiment, root: str | Path = "runs") -> Path | None:
    """The newest sweep directory of this experiment under ``root`` (for ``--resume``)."""
    found = sorted(p for p in Path(root).glob(f"{exp.name}-*") if (p / "experiment.toml").is_file())
    return found[-1] if found else None


def read_experiment(directory: str | Path) -> Experiment:
    """The experiment a sweep directory was made from."""
    return load_experiment(Path(directory) / "experiment.toml", check=False)


def _first_difference(a, b, path: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            d = _first_difference(a.get(k), b.get(k), f"{path}.{k}" if path else k)
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            d = _first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else (path or "<top>")


def prepare(exp: Experiment, table: pd.DataFrame, out: str | Path | None, resume: bool) -> Path:
    """Create the sweep directory, or check that ``out`` is this experiment's sweep."""
    if out is None:
        out = latest_sweep_dir(exp) if resume else None
        if out is None and resume:
            raise SweepError(f"nothing to resume: no runs/{exp.name}-*/ sweep directory (give --out)")
        out = out or default_sweep_dir(exp)
    out = Path(out)
    stored = out / "experiment.toml"
    if resume and stored.is_file():
        old = read_experiment(out).to_dict()
        diff = _first_difference(old, exp.to_dict())
        if diff:
            raise SweepError(f"{out}: the experiment differs from its experiment.toml at '{diff}' "
                             "(resume with the same experiment file and options)")
        ids = pd.read_csv(out / "design.csv", usecols=list(DESIGN_COLUMNS), dtype={"run_id": str})
        if not ids.astype(str).equals(table[list(DESIGN_COLUMNS)].astype(str)):
            raise SweepError(f"{out}: design.csv does not match the experiment's design")
        return out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        hint = " and is not a sweep directory" if resume else " (use --resume to continue it)"
        raise SweepError(f"{out} exists and is not empty{hint}")
    out.mkdir(parents=True, exist_ok=True)
    (out / RUNS).mkdir()
    atomic_write(out / "experiment.toml", _experiment_toml(exp))
    atomic_write(out / "design.csv", table.to_csv(index=False))
    atomic_write(out / "manifest.json", strict_json(_manifest(exp, table)))
    return out


def _experiment_toml(exp: Experiment) -> str:
    head = f"# The experiment as resolved for this sweep (from {exp.source}).\n"
    return head + experiment_to_toml(exp)


def _manifest(exp: Experiment, table: pd.DataFrame) -> dict:
    return {
        **environment(("mesa", "numpy", "pandas", "pyarrow", "pydantic", "dask", "distributed", "SALib")),
        "experiment": exp.name,
        "experiment_file": exp.source,
        "root_seed": exp.seed,
        "design": exp.method,
        "n_samples": int(table["sample"].nunique()),
        "seeds": exp.seeds,
        "scenarios": [exp.scenario_label(s) for s in exp.scenarios],
        "strategies": [exp.strategy_label(s) for s in exp.strategies],
        "n_runs": len(table),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "running",
        "invocations": [],
    }


def _update_manifest(directory: Path, **changes) -> dict:
    path = directory / "manifest.json"
    data = json.loads(path.read_text())
    data.update(changes)
    atomic_write(path, strict_json(data))
    return data


def start_invocation(directory: Path, executor, workers: int, n_to_run: int) -> dict:
    inv = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "executor": type(executor).__name__,
           "workers": workers, "n_to_run": n_to_run, "pid": os.getpid()}
    data = json.loads((directory / "manifest.json").read_text())
    _update_manifest(directory, status="running", compacted=None,
                     invocations=data.get("invocations", []) + [inv])
    return inv


def finish_invocation(directory: Path, inv: dict, n_run: int, n_failed: int, wall: float) -> None:
    data = json.loads((directory / "manifest.json").read_text())
    invs = data.get("invocations", [])
    if invs and invs[-1].get("started") == inv["started"]:
        invs[-1].update(finished=datetime.now(UTC).isoformat(timespec="seconds"), n_run=n_run,
                        n_failed=n_failed, wall_time_s=round(wall, 3))
    status = completed(directory)
    _update_manifest(directory, invocations=invs, n_complete=len(status),
                     n_failed=sum(1 for s in status.values() if s != "ok"),
                     status="complete" if len(status) == data["n_runs"] else "incomplete")


def marker_status(run_dir: Path) -> str | None:
    """A run folder's status (``ok``, ``failed``) from its completion marker; None: not complete."""
    return read_marker(run_dir, MARKER)


def completed(directory: Path, retry_failed: bool = False) -> dict[str, str]:
    """``run_id -> status`` of every run with a completion marker. With ``retry_failed``,
    failed runs are removed (so they run again) and left out."""
    out = {}
    runs = Path(directory) / RUNS
    if not runs.is_dir():
        return out
    for entry in os.scandir(runs):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        status = marker_status(Path(entry.path))
        if status is None:
            continue
        if retry_failed and status != "ok":
            shutil.rmtree(entry.path)
            continue
        out[entry.name] = status
    return out


def is_compacted(directory: Path) -> bool:
    data = json.loads((Path(directory) / "manifest.json").read_text())
    return bool(data.get("compacted")) and (Path(directory) / "results.parquet").is_file()


def n_failed(directory: Path) -> int:
    return sum(1 for s in completed(directory).values() if s != "ok")


# ------------------------------------------------------------------ compaction


def compact(directory: str | Path) -> Path:
    """Join the design with every run's outcomes into ``results.parquet`` (one row per run,
    in design order: ``status`` is ok, failed or missing) and stream the per-run series into
    ``series.parquet`` and ``commodity_series.parquet``. Reads one run at a time."""
    directory = Path(directory)
    exp = read_experiment(directory)
    table = design(exp)
    runs = directory / RUNS
    rows = []
    ok = []
    for run_id in table["run_id"]:
        run_dir = runs / run_id
        if marker_status(run_dir) is None:
            rows.append({"run_id": run_id, "status": "missing", "error": None})
            continue
        row = json.loads((run_dir / "row.json").read_text())
        rows.append(row)
        if row["status"] == "ok":
            ok.append(run_id)
    outcomes = pd.DataFrame(rows)
    for col in ("error", "target", *OUTCOMES):
        if col not in outcomes:
            outcomes[col] = None
    results = table.merge(outcomes, on="run_id", how="left", validate="one_to_one")
    first = [*table.columns, "status", "error", "target", *OUTCOMES]
    results = results[first + sorted(c for c in results.columns if c not in first)]
    for col, dtype in INT_OUTCOMES.items():
        if col in results:
            results[col] = results[col].astype(dtype)
    atomic_write(directory / "results.parquet", _parquet_bytes(results))
    for name in ("series", "commodity_series"):
        _stream(directory / f"{name}.parquet", ((rid, runs / rid / f"{name}.parquet") for rid in ok))
    for entry in runs.iterdir():  # temporary folders of killed writers
        if entry.name.startswith(".") and ".tmp-" in entry.name:
            shutil.rmtree(entry, ignore_errors=True)
    _update_manifest(directory, compacted=datetime.now(UTC).isoformat(timespec="seconds"))
    return directory / "results.parquet"


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), sink)
    return sink.getvalue().to_pybytes()


def _stream(path: Path, parts) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    writer = None
    try:
        for run_id, part in parts:
            table = pq.read_table(part)
            table = table.add_column(0, "run_id", pa.array([run_id] * table.num_rows, pa.string()))
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            elif table.schema != writer.schema:
                table = table.cast(writer.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        path.unlink(missing_ok=True)
        return
    os.replace(tmp, path)


def load_results(directory: str | Path) -> pd.DataFrame:
    """The compacted results of a sweep (one row per run)."""
    return pd.read_parquet(Path(directory) / "results.parquet")
