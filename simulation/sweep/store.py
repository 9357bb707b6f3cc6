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
    sweep.lock                 locked (``flock``) by the process that owns the directory; its pid

One process owns a sweep directory at a time: the sweep (or ``simulation compare``) holds an
exclusive lock on ``sweep.lock`` for its whole life, and a second one is refused
(:class:`SweepLock`). Workers only write inside ``runs/``; everything else is written by the
owner, atomically (temporary file, then ``os.replace``). Temporary names end in
``.tmp-<pid>...``: only the owner removes them, and only those whose process is dead
(:func:`clean_stale`).

The tables are derived from the run folders' completion markers: ``results.parquet`` is
current when its statuses are the markers' (:func:`is_compacted`), and ``report.md`` when it
was written from that ``results.parquet`` (:func:`is_reported`); a sweep or ``--resume``
rebuilds whichever is not.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
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
from simulation.sweep.lifeline import alive

MARKER = "COMPLETE"
RUNS = "runs"
LOCK = "sweep.lock"
_TMP = re.compile(r"^\..+\.tmp-(\d+)(?:-\d+)?$")  # rundir's and _stream's temporary names
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


class SweepBusy(SweepError):
    """The sweep directory is locked by another process."""


_HELD: dict[str, SweepLock] = {}  # sweep directories this process has locked


class SweepLock:
    """The exclusive lock of one process on a sweep directory: ``flock`` on its ``sweep.lock``
    (which holds the owner's pid), released by :meth:`release`, at the end of a ``with``
    block, or by the kernel when the process dies. Not inherited by child processes."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.fd: int | None = None

    @property
    def key(self) -> str:
        return os.path.realpath(self.directory)

    def acquire(self) -> SweepLock:
        """Take the lock, or raise :class:`SweepBusy` at once (never waits)."""
        try:
            import fcntl
        except ImportError:  # no flock (Windows): one owner is then the user's business
            fcntl = None
        try:
            fd = os.open(self.directory / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SweepError(f"{self.directory}: cannot lock the sweep directory: {exc.strerror}") from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise SweepBusy(f"{self.directory} is in use by another process ({self.holder()}): "
                                "one sweep or compare at a time per sweep directory") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        _HELD[self.key] = self
        return self

    def holder(self) -> str:
        """``pid N`` of the process that holds (or last held) the lock."""
        try:
            pid = (self.directory / LOCK).read_text().strip()
        except OSError:
            pid = ""
        return f"pid {pid}" if pid.isdigit() else "pid unknown"

    def release(self) -> None:
        """Let the lock go (idempotent). ``sweep.lock`` stays, with the last owner's pid."""
        if self.fd is not None:
            _HELD.pop(self.key, None)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> SweepLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


@contextmanager
def holding(directory: str | Path) -> Iterator[None]:
    """Within the block this process owns ``directory``: its lock, taken here unless this
    process holds it already. Raises :class:`SweepBusy` when another process does."""
    if os.path.realpath(directory) in _HELD:
        yield
        return
    with SweepLock(directory).acquire():
        yield


def prepare(exp: Experiment, table: pd.DataFrame, out: str | Path | None, resume: bool) -> SweepLock:
    """Create the sweep directory, or (``resume``) check that ``out`` is this experiment's
    sweep; either way, lock it for this process. Nothing is written when it is refused."""
    if out is None:
        out = latest_sweep_dir(exp) if resume else None
        if out is None and resume:
            raise SweepError(f"nothing to resume: no runs/{exp.name}-*/ sweep directory (give --out)")
        out = out or default_sweep_dir(exp)
    out = Path(out)
    return _reopen(exp, table, out) if resume else _create(exp, table, out)


def _reopen(exp: Experiment, table: pd.DataFrame, out: Path) -> SweepLock:
    if not (out / "experiment.toml").is_file():
        what = "does not exist" if not out.exists() else "is not a sweep directory (no experiment.toml)"
        raise SweepError(f"nothing to resume: {out} {what}")
    lock = SweepLock(out).acquire()
    try:
        diff = _first_difference(read_experiment(out).to_dict(), exp.to_dict())
        if diff:
            raise SweepError(f"{out}: the experiment differs from its experiment.toml at '{diff}' "
                             "(resume with the same experiment file and options)")
        ids = pd.read_csv(out / "design.csv", usecols=list(DESIGN_COLUMNS), dtype={"run_id": str})
        if not ids.astype(str).equals(table[list(DESIGN_COLUMNS)].astype(str)):
            raise SweepError(f"{out}: design.csv does not match the experiment's design")
    except BaseException:
        lock.release()
        raise
    return lock


def _check_empty(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(p.name != LOCK for p in out.iterdir())):
        raise SweepError(f"{out} exists and is not empty (use --resume to continue it)")


def _create(exp: Experiment, table: pd.DataFrame, out: Path) -> SweepLock:
    if (out / LOCK).is_file():
        SweepLock(out).acquire().release()  # a running sweep: say so, rather than "not empty"
    _check_empty(out)
    out.mkdir(parents=True, exist_ok=True)
    lock = SweepLock(out).acquire()
    try:
        _check_empty(out)  # another sweep may have begun here meanwhile
        (out / RUNS).mkdir()
        atomic_write(out / "experiment.toml", _experiment_toml(exp))
        atomic_write(out / "design.csv", table.to_csv(index=False))
        atomic_write(out / "manifest.json", strict_json(_manifest(exp, table)))
    except BaseException:
        lock.release()
        raise
    return lock


def clean_stale(directory: str | Path) -> int:
    """Remove the temporary files and folders of dead processes (writers that were killed) from
    the sweep directory and its ``runs/``; those of live processes are left alone. Call it
    while owning the directory. Returns how many were removed."""
    n = 0
    for folder in (Path(directory), Path(directory) / RUNS):
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            m = _TMP.match(entry.name)
            if m is None or int(m.group(1)) == os.getpid() or alive(int(m.group(1))):
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                Path(entry.path).unlink(missing_ok=True)
            n += 1
    return n


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


def _results_statuses(directory: Path) -> dict[str, str] | None:
    try:
        t = pq.read_table(Path(directory) / "results.parquet", columns=["run_id", "status"])
    except (OSError, ValueError, KeyError, pa.ArrowException):
        return None
    return dict(zip(t.column("run_id").to_pylist(), t.column("status").to_pylist(), strict=True))


def is_compacted(directory: Path) -> bool:
    """Whether ``results.parquet`` is current: every run's status in it is its completion
    marker's (``missing`` without one). Written last by :func:`compact`, it vouches for the
    series tables too."""
    have = _results_statuses(directory)
    if have is None:
        return False
    markers = completed(directory)
    return markers.keys() <= have.keys() and all(markers.get(r, "missing") == s for r, s in have.items())


def _results_digest(directory: Path) -> str | None:
    try:
        return hashlib.sha256((Path(directory) / "results.parquet").read_bytes()).hexdigest()
    except OSError:
        return None


def is_reported(directory: Path) -> bool:
    """Whether ``report.md`` is current: written (to its end) from the current results table."""
    directory = Path(directory)
    if not (directory / "report.md").is_file() or not is_compacted(directory):
        return False
    reported = json.loads((directory / "manifest.json").read_text()).get("reported")
    return reported is not None and reported == _results_digest(directory)


def mark_reported(directory: Path) -> None:
    """Record that ``report.md`` was written from the current ``results.parquet`` (call it
    after the report is complete, while owning the directory)."""
    _update_manifest(Path(directory), reported=_results_digest(directory))


def n_failed(directory: Path) -> int:
    return sum(1 for s in completed(directory).values() if s != "ok")


# ------------------------------------------------------------------ compaction


def compact(directory: str | Path) -> Path:
    """Join the design with every run's outcomes into ``results.parquet`` (one row per run,
    in design order: ``status`` is ok, failed or missing) and stream the per-run series into
    ``series.parquet`` and ``commodity_series.parquet``. Reads one run at a time.

    Owns the directory meanwhile (:func:`holding`: raises :class:`SweepBusy` if a sweep runs in
    it) and never touches temporary files. ``results.parquet`` is written last: when it is
    current (:func:`is_compacted`), so are the series."""
    directory = Path(directory)
    with holding(directory):
        return _compact(directory)


def _compact(directory: Path) -> Path:
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
    for name in ("series", "commodity_series"):
        _stream(directory / f"{name}.parquet", ((rid, runs / rid / f"{name}.parquet") for rid in ok))
    atomic_write(directory / "results.parquet", _parquet_bytes(results))
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
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    if writer is not None:
        writer.close()
    if writer is None:
        path.unlink(missing_ok=True)
        return
    os.replace(tmp, path)


def load_results(directory: str | Path) -> pd.DataFrame:
    """The compacted results of a sweep (one row per run)."""
    return pd.read_parquet(Path(directory) / "results.parquet")
