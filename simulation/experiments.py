"""Experiments: scenarios x strategies x sampled uncertainties x seeds, and running them.

An experiment file (TOML, validated like configs) names the scenarios, the strategies
(levers), the uncertain parameters with their ranges and the number of seeds. The design
is a table with one row per run: its inputs and its seed. Seeds are derived with
``numpy.random.SeedSequence`` from the experiment's root seed and the run's (scenario,
uncertainty sample, replicate) -- never from the strategy -- so every strategy sees the same
draws (common random numbers) and differences between strategies are paired.

:func:`run_sweep` runs a design on any ``concurrent.futures.Executor`` and writes a sweep
directory (:mod:`simulation.sweepdir`); :mod:`simulation.analysis` compares the strategies.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import re
import sys
import time
import tomllib
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import tomli_w
from pydantic import Field, ValidationError, model_validator

from simulation.config import ConfigError, Strict, find_strategy, get_dotted, load_config, validation_error

# ------------------------------------------------------------------------ schema

DESIGN_COLUMNS = ("run_id", "scenario", "strategy", "sample", "replicate", "seed")
OUTCOMES = ("cum_output_loss_pct_gdp", "cum_output_loss_usd", "weeks_in_shortage", "peak_shortage_share",
            "peak_jobs_lost", "strategy_cost_usd", "peak_level", "weeks_to_peak")
RESERVED = {*DESIGN_COLUMNS, *OUTCOMES, "status", "error", "target", "cum_output_loss", "final_level", "conceded"}

Value = float | date


class SweepError(Exception):
    """A sweep that cannot start or continue (bad output directory, changed experiment)."""


class Uncertainty(Strict):
    """One uncertain parameter: a dotted config path (or several set to the same value) and
    its range (``low``/``high``, uniform or triangular) or its discrete ``values``."""

    name: str = Field(description="Column name in the design and results tables.")
    path: str | list[str] = Field(description="Dotted config path(s); list items by index, e.g. "
                                  "escalation.levels.5.measures.0.approval_probability.")
    low: Value | None = None
    high: Value | None = None
    values: list[Any] | None = Field(None, description="Discrete alternatives instead of a range.")
    distribution: Literal["uniform", "triangular"] = "uniform"
    mode: Value | None = Field(None, description="Peak of a triangular distribution.")
    integer: bool = Field(False, description="Round sampled values to whole numbers.")
    label: str = ""

    @property
    def paths(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)

    @model_validator(mode="after")
    def _check(self) -> Uncertainty:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.name):
            raise ValueError(f"name '{self.name}' must be an identifier (letters, digits, _)")
        if self.name in RESERVED:
            raise ValueError(f"name '{self.name}' is reserved")
        if not self.paths:
            raise ValueError("path: give at least one config path")
        if self.values is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either values or low/high, not both")
            if not self.values:
                raise ValueError("values: give at least one value")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give low and high (or values)")
        if isinstance(self.low, date) != isinstance(self.high, date):
            raise ValueError("low and high must both be dates or both numbers")
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.distribution == "triangular":
            if self.mode is None or isinstance(self.mode, date) != isinstance(self.low, date):
                raise ValueError("a triangular distribution needs a mode of the same kind as low/high")
            if not self.low <= self.mode <= self.high:
                raise ValueError(f"mode ({self.mode}) must lie between low and high")
        return self

    def value(self, u: float) -> Any:
        """The parameter value at the unit-interval point ``u`` (inverse CDF)."""
        if self.values is not None:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        is_date = isinstance(self.low, date)
        lo, hi = (self.low.toordinal(), self.high.toordinal()) if is_date else (self.low, self.high)
        if self.distribution == "triangular":
            mo = self.mode.toordinal() if is_date else self.mode
            c = (mo - lo) / (hi - lo)
            x = lo + math.sqrt(u * (hi - lo) * (mo - lo)) if u < c else hi - math.sqrt((1 - u) * (hi - lo) * (hi - mo))
        else:
            x = lo + u * (hi - lo)
        if is_date:
            return date.fromordinal(int(round(x)))
        return int(round(x)) if self.integer else float(x)

    def grid_units(self, points: int) -> list[float]:
        if self.values is not None:
            k = len(self.values)
            return [(i + 0.5) / k for i in range(k)]
        return list(np.linspace(0.0, 1.0, points))


class Design(Strict):
    method: Literal["none", "grid", "lhs", "sobol"] | None = Field(
        None, description="How uncertainties are sampled; default lhs (none without uncertainties).")
    samples: Annotated[int, Field(ge=1)] = Field(
        8, description="lhs: points; sobol: base sample N (a power of 2), N*(D+2) points.")
    grid_points: Annotated[int, Field(ge=2)] = Field(3, description="grid: points per range.")
    matched: bool = Field(
        False, description="lhs: one sample per seed (parameters and noise drawn together): the design "
        "has `seeds` samples, each run on its own seed; `samples` is not used. Default: every sample "
        "is run on every seed (crossed).")


class Execution(Strict):
    bundle_seconds: Annotated[float, Field(gt=0)] = Field(
        0.5, description="Runs are bundled so each task does about this much work.")
    tables: Literal["target", "all"] = Field(
        "target", description="Per run: the target's series only, or also all three full tables.")


class Experiment(Strict):
    """A validated experiment: what to run; :func:`design` says which runs."""

    name: str
    description: str = ""
    seed: Annotated[int, Field(ge=0, lt=2**63)] = Field(0, description="Root seed of all run seeds.")
    seeds: Annotated[int, Field(ge=1)] = Field(1, description="Replicates per scenario and sample.")
    steps: Annotated[int, Field(ge=1)] | None = Field(None, description="Weeks per run (None: horizon).")
    scenarios: list[str] = Field(min_length=1)
    strategies: list[str] = Field(min_length=1)
    baseline: str = Field("baseline", description="The strategy the others are compared with.")
    outcome: Literal[OUTCOMES] = Field(  # type: ignore[valid-type]
        "cum_output_loss_pct_gdp", description="Outcome of the sensitivity analysis.")
    params: dict[str, Any] = Field(default_factory=dict, description="Fixed dotted-path overrides.")
    design: Design = Field(default_factory=Design)
    uncertainties: list[Uncertainty] = Field(default_factory=list)
    execution: Execution = Field(default_factory=Execution)

    # set by load_experiment, not part of the file
    source: str = Field("", exclude=True)

    @property
    def method(self) -> str:
        return self.design.method or ("lhs" if self.uncertainties else "none")

    def strategy_label(self, strategy: str) -> str:
        return Path(strategy).stem if strategy.endswith(".toml") else strategy

    def scenario_label(self, scenario: str) -> str:
        return Path(scenario).stem

    def to_dict(self) -> dict:
        data = self.model_dump(mode="python", exclude_none=True)
        data["design"]["method"] = self.method
        return data


# ---------------------------------------------------------------------- loading


def load_experiment(
    path: str | Path,
    *,
    method: str | None = None,
    samples: int | None = None,
    seeds: int | None = None,
    check: bool = True,
) -> Experiment:
    """Read, resolve and validate an experiment file.

    Scenario files and strategy files given as paths are resolved against the experiment
    file's folder (then the working directory) and stored as absolute paths.

    Args:
        path: the experiment TOML.
        method, samples, seeds: override ``design.method``, ``design.samples``, ``seeds``.
        check: load every scenario and try each uncertainty's bounds (slower, clearer errors).

    Raises:
        ConfigError: one line naming the experiment file, the key and the problem.
    """
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise ConfigError(file, "", "file not found")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "", f"malformed TOML: {exc}") from None
    design = data.setdefault("design", {})
    if isinstance(design, dict):
        if method is not None:
            design["method"] = method
            if method != "lhs":
                design.pop("matched", None)  # matched is an lhs option
        if samples is not None:
            design["samples"] = samples
    if seeds is not None:
        data["seeds"] = seeds
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, {}, file, Experiment) from None
    exp.source = str(path.resolve())
    base = path.resolve().parent

    def resolve(ref: str, key: str, must_exist: bool) -> str:
        for cand in (base / ref, Path.cwd() / ref):
            if cand.is_file():
                return str(cand.resolve())
        if must_exist:
            raise ConfigError(file, key, f"file not found: {ref}")
        return ref

    exp.scenarios = [resolve(s, f"scenarios[{i}]", True) for i, s in enumerate(exp.scenarios)]
    exp.strategies = [resolve(s, f"strategies[{i}]", False) if s.endswith(".toml") else s
                      for i, s in enumerate(exp.strategies)]
    labels = [exp.strategy_label(s) for s in exp.strategies]
    for i, lab in enumerate(labels):
        if lab in labels[:i]:
            raise ConfigError(file, f"strategies[{i}]", f"'{lab}' is listed twice")
    if exp.baseline not in labels:
        raise ConfigError(file, "baseline", f"'{exp.baseline}' is not one of the strategies {labels}")
    scen = [exp.scenario_label(s) for s in exp.scenarios]
    for i, lab in enumerate(scen):
        if lab in scen[:i]:
            raise ConfigError(file, f"scenarios[{i}]", f"'{lab}' is listed twice")
    names = [u.name for u in exp.uncertainties]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise ConfigError(file, f"uncertainties[{i}].name", f"'{n}' is used twice")
    if exp.method == "none" and exp.uncertainties:
        raise ConfigError(file, "design.method", "'none' samples nothing: remove the uncertainties or pick a method")
    if exp.method != "none" and not exp.uncertainties:
        raise ConfigError(file, "design.method", f"'{exp.method}' needs at least one [[uncertainties]]")
    if exp.design.matched and exp.method != "lhs":
        raise ConfigError(file, "design.matched", f"matched samples need method 'lhs', not '{exp.method}'")
    if exp.method == "sobol":
        try:
            import SALib  # noqa: F401
        except ImportError:
            raise ConfigError(file, "design.method",
                              "sobol needs SALib: pip install 'coercion-sim[sensitivity]'") from None
    if check:
        _check_against_scenarios(exp, file)
    return exp


def _check_against_scenarios(exp: Experiment, file: str) -> None:
    for si, scenario in enumerate(exp.scenarios):
        try:
            cfg = load_config(scenario, steps=exp.steps, params=dict(exp.params))
        except ConfigError as exc:
            where = "params" if exc.file == "<config>" or "<override>" in exc.file else f"scenarios[{si}]"
            raise ConfigError(file, where, f"{exc.key}: {exc.problem}" if exc.key else exc.problem) from None
        for i, unc in enumerate(exp.uncertainties):
            for path in unc.paths:
                try:
                    get_dotted(cfg, path)
                except KeyError as exc:
                    raise ConfigError(file, f"uncertainties[{i}].path",
                                      f"'{path}' does not exist in {exp.scenario_label(scenario)} "
                                      f"(no '{exc.args[0]}')") from None
            if unc.values is not None:
                probes = [(f"values[{j}]", v) for j, v in enumerate(unc.values)]
            else:
                probes = [("low", unc.value(0.0)), ("high", unc.value(1.0))]
            for which, value in probes:
                try:
                    load_config(scenario, steps=exp.steps, params={**exp.params, **dict.fromkeys(unc.paths, value)})
                except ConfigError as exc:
                    raise ConfigError(file, f"uncertainties[{i}].{which}",
                                      f"{value} is not valid for {exc.key}: {exc.problem}") from None


def missing_strategies(exp: Experiment) -> list[str]:
    """Strategies with no file (their runs will be recorded as failed)."""
    return [exp.strategy_label(s) for s in exp.strategies if find_strategy(s, Path(exp.scenarios[0])) is None]


# ----------------------------------------------------------------------- design


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
    from SALib.sample import sobol as sobol_sample

    problem = sobol_problem(exp)
    seed = int(ss.generate_state(1)[0])
    import warnings

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


def experiment_to_toml(exp: Experiment) -> str:
    return tomli_w.dumps(exp.to_dict())


# ------------------------------------------------------------------------ sweep


@dataclass
class SweepOutcome:
    """What :func:`run_sweep` did. ``directory`` holds everything (see README)."""

    directory: Path
    n_runs: int
    n_done_before: int
    n_executed: int
    n_failed: int
    wall_time_s: float


def _executor_workers(executor: Executor) -> int:
    n = getattr(executor, "_max_workers", None)
    if n:
        return int(n)
    client = getattr(executor, "_client", None)  # distributed.client.ClientExecutor
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # noqa: BLE001 - a hint only
            pass
    return os.cpu_count() or 1


class SerialExecutor(Executor):
    """Runs each task in the calling process when submitted (``--workers 1``)."""

    _max_workers = 1

    def submit(self, fn, /, *args, **kwargs) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(exc)
        return fut


# imported once by the fork server, so that each worker forked from it starts with the model's
# modules and compiled kernels loaded
WORKER_PRELOAD = ["__main__", "simulation.sweepdir", "simulation.warmup"]


def process_pool(workers: int) -> ProcessPoolExecutor:
    """Local worker processes, started with ``forkserver`` where available (never changes
    the global start method). The fork server imports the model's modules and loads the
    compiled kernels once (:data:`WORKER_PRELOAD`): workers then start in milliseconds instead
    of each spending about two seconds on imports and kernels."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" not in methods:
        return ProcessPoolExecutor(max_workers=workers)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(WORKER_PRELOAD)  # no effect once the fork server runs
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


@contextmanager
def dask_executor(scheduler: str, workers: int | None = None) -> Iterator[Executor]:
    """A ``concurrent.futures`` executor on a Dask cluster.

    Args:
        scheduler: ``tcp://HOST:PORT`` of a running scheduler, or ``local`` to start a
            LocalCluster of ``workers`` single-threaded processes here. Workers must see
            the sweep directory (a shared file system on a real cluster).
        workers: LocalCluster size (default: CPU count).
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SweepError("--scheduler needs dask: pip install 'coercion-sim[dask]'") from None
    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise SweepError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _say(msg: str, verbose: bool) -> None:
    if verbose:
        from tqdm import tqdm

        tqdm.write(msg, file=sys.stderr)


def run_sweep(
    experiment: Experiment | str | Path,
    executor: Executor | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    *,
    workers: int | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    report: bool = True,
    verbose: bool = True,
) -> SweepOutcome:
    """Run every run of an experiment's design and write the sweep directory.

    Args:
        experiment: an :class:`Experiment` or the path of an experiment file.
        executor: any ``concurrent.futures.Executor`` (a ProcessPoolExecutor, a Dask
            ``client.get_executor()``, ...). Default: ``workers`` local processes, or this
            process when ``workers`` is 1. An executor passed in is not shut down.
        out: the sweep directory (default ``runs/<experiment>-<timestamp>/``).
        resume: continue the sweep in ``out``: only runs without a completion marker run.
        workers: processes of the default executor (default: CPU count); with an
            executor, a hint of its size for bundling.
        retry_failed: with ``resume``, also rerun the runs recorded as failed.
        progress: show a progress bar (stderr).
        report: write ``report.md``, the comparison tables and figures at the end (the
            results are compacted either way).
        verbose: say what happens on stderr.

    Returns:
        A :class:`SweepOutcome`. Failed runs are counted, never raised.

    Raises:
        SweepError: ``out`` exists (without ``resume``) or is not this experiment's sweep,
            or an executor passed in broke.
    """
    from tqdm import tqdm

    from simulation import sweepdir

    t0 = time.perf_counter()
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    table = design(exp)
    directory = sweepdir.prepare(exp, table, out, resume)
    done = sweepdir.completed(directory, retry_failed=retry_failed)
    todo = [s for s in run_specs(exp, table) if s["run_id"] not in done]
    n_before = len(table) - len(todo)
    per = "one seed each" if exp.design.matched else f"x {exp.seeds} seed(s)"
    _say(f"{exp.name}: {len(table)} runs = {len(exp.scenarios)} scenario(s) x {len(exp.strategies)} strategies "
         f"x {table['sample'].nunique()} sample(s) {per}; sweep directory {directory}", verbose and not n_before)
    if todo:
        for name in missing_strategies(exp):
            _say(f"warning: strategy '{name}' has no file in configs/strategies/: its runs will be "
                 "recorded as failed", verbose)
    if not todo:
        if sweepdir.is_compacted(directory):
            _say(f"nothing to do: all {len(table)} runs in {directory} are complete", verbose)
            return SweepOutcome(directory, len(table), n_before, 0, sweepdir.n_failed(directory), 0.0)
        _say(f"all {len(table)} runs are complete; compacting the results", verbose)
    elif n_before:
        _say(f"resuming {directory}: {n_before} of {len(table)} runs complete, {len(todo)} to run", verbose)

    own = executor is None
    n_workers = workers or (None if own else _executor_workers(executor)) or os.cpu_count() or 1
    pool = _Pool(executor, n_workers if own and len(todo) > 1 else 1)
    invocation = sweepdir.start_invocation(directory, pool.executor, n_workers, len(todo))
    bar = tqdm(total=len(todo), desc=exp.name, unit="run", file=sys.stderr, disable=not progress,
               dynamic_ncols=True, mininterval=0.5)
    try:
        n_failed = _execute(todo, pool, directory, exp, n_workers, bar)
    finally:
        bar.close()
        pool.shutdown()
    sweepdir.finish_invocation(directory, invocation, len(todo), n_failed, time.perf_counter() - t0)
    sweepdir.compact(directory)
    if report:
        from simulation.analysis import write_report

        try:
            write_report(directory)
        except Exception as exc:  # noqa: BLE001 - the runs are safe; say why the report is missing
            _say(f"warning: report not written: {type(exc).__name__}: {exc}", True)
    return SweepOutcome(directory, len(table), n_before, len(todo), sweepdir.n_failed(directory),
                        time.perf_counter() - t0)


class _Pool:
    """The executor of a sweep; one we own is rebuilt if a worker process dies."""

    def __init__(self, executor: Executor | None, workers: int):
        self.own = executor is None
        self.workers = workers
        self.main_pid = os.getpid() if self.own else None  # our workers stop if we are killed
        self.breaks = 0
        self.executor = executor if executor is not None else self._make()

    def _make(self) -> Executor:
        return SerialExecutor() if self.workers == 1 else process_pool(self.workers)

    def rebuild(self, exc: BaseException) -> None:
        if not self.own:
            raise SweepError(f"the executor broke ({type(exc).__name__}: {exc}); continue with --resume")
        self.breaks += 1
        if self.breaks > 10:
            raise SweepError("worker processes keep dying; continue with --resume") from exc
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._make()

    def shutdown(self) -> None:
        if self.own:
            self.executor.shutdown(wait=True, cancel_futures=True)


def _execute(todo: list[dict], pool: _Pool, directory: Path, exp: Experiment, n_workers: int, bar) -> int:
    """Submit bundles as workers free up, at most two per worker in flight (flat memory).

    The first tasks hold one run each; later ones hold enough runs for about
    ``execution.bundle_seconds`` of work at the mean run time so far (fewer near the end,
    so that every worker stays busy).

    A bundle that fails as a whole (not one of its runs: those are recorded by the worker)
    is retried run by run. When a worker process dies, the runs in flight are retried one
    at a time, so the run that kills its worker is found and recorded as failed.
    """
    from simulation import sweepdir

    queue = deque(todo)
    singles: deque[dict] = deque()  # retried one by one, in parallel
    suspects: deque[dict] = deque()  # retried one by one, alone
    inflight: dict[Future, list[dict]] = {}
    seconds, runs, n_failed = 0.0, 0, 0
    target = exp.execution.bundle_seconds
    where = str(Path(directory).resolve())  # workers may run elsewhere (shared file system)

    def bundle_size() -> int:
        if not runs:
            return 1
        cap = max(1, math.ceil(len(queue) / (2 * n_workers)))  # keep every worker busy to the end
        return max(1, min(math.ceil(target / max(seconds / runs, 1e-3)), cap))

    while queue or singles or suspects or inflight:
        while len(inflight) < 2 * n_workers:
            if suspects:
                if inflight:
                    break
                bundle = [suspects.popleft()]
            elif singles:
                bundle = [singles.popleft()]
            elif queue:
                bundle = [queue.popleft() for _ in range(min(bundle_size(), len(queue)))]
            else:
                break
            fut = pool.executor.submit(sweepdir.run_bundle, bundle, where, exp.execution.tables,
                                       pool.main_pid)
            inflight[fut] = bundle
        finished, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
        statuses: list[dict] = []
        broken: BaseException | None = None
        for fut in finished:
            bundle = inflight.pop(fut)
            try:
                statuses += fut.result()
            except BrokenExecutor as exc:
                if len(bundle) == 1 and not inflight and broken is None and len(finished) == 1:
                    statuses.append(sweepdir.record_failure(bundle[0], directory, exc, "a worker process died"))
                else:
                    suspects.extend(bundle)
                broken = exc
            except Exception as exc:  # noqa: BLE001 - a task that failed as a whole
                if len(bundle) > 1:
                    singles.extend(bundle)
                else:
                    statuses.append(sweepdir.record_failure(bundle[0], directory, exc))
        if broken is not None:
            for fut, bundle in list(inflight.items()):
                suspects.extend(bundle)
                del inflight[fut]
            pool.rebuild(broken)
        for st in statuses:
            n_failed += st["status"] != "ok"
            seconds += st["wall_time_s"]
            runs += 1
        bar.update(len(statuses))
        if n_failed:
            bar.set_postfix(failed=n_failed, refresh=False)
    return n_failed


__all__ = ["Experiment", "SweepError", "SweepOutcome", "Uncertainty", "design", "load_experiment",
           "run_seed", "run_sweep"]
