"""Running a sweep: every run of an experiment's design on an executor, into a sweep directory.

:func:`run_sweep` prepares the directory (:mod:`simulation.sweep.store`), submits bundles of
runs to workers (:mod:`simulation.sweep.worker`) on any ``concurrent.futures.Executor``
(:mod:`simulation.sweep.executors`), compacts the results and writes the report
(:mod:`simulation.sweep.report`).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from simulation.sweep import store
from simulation.sweep.design import design, run_specs
from simulation.sweep.executors import SerialExecutor, executor_workers, process_pool, stop_workers
from simulation.sweep.experiment import Experiment, SweepError, load_experiment, missing_strategies
from simulation.sweep.lifeline import signals_interrupt
from simulation.sweep.worker import record_failure, run_bundle


@dataclass
class SweepOutcome:
    """What :func:`run_sweep` did. ``directory`` holds everything (see README)."""

    directory: Path
    n_runs: int
    n_done_before: int
    n_executed: int
    n_failed: int
    wall_time_s: float


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

    The sweep locks its directory for its whole life (a second sweep, ``--resume`` or
    ``compare`` there is refused), and removes the temporary files of dead writers. SIGTERM and
    SIGHUP are handled like Ctrl-C: ``KeyboardInterrupt`` (:class:`~simulation.sweep.lifeline.Interrupted`)
    is raised after the workers are stopped; ``resume`` continues. If this process is killed
    outright, its workers die with it (:mod:`simulation.sweep.lifeline`).

    Raises:
        SweepError: ``out`` exists (without ``resume``) or is not this experiment's sweep, is
            in use by another process (:class:`~simulation.sweep.store.SweepBusy`), or an
            executor passed in broke.
    """
    t0 = time.perf_counter()
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    table = design(exp)
    with signals_interrupt():  # SIGTERM, SIGHUP: as Ctrl-C
        lock = store.prepare(exp, table, out, resume)
        with lock:
            try:
                return _sweep_locked(exp, table, lock.directory, executor, workers, retry_failed, progress,
                                     report, verbose, t0)
            except KeyboardInterrupt as exc:
                n_done = len(store.completed(lock.directory))
                _say(f"interrupted ({str(exc) or 'SIGINT'}): {n_done} of {len(table)} runs complete in "
                     f"{lock.directory}; continue with --resume", verbose)
                raise


def _sweep_locked(exp: Experiment, table, directory: Path, executor: Executor | None, workers: int | None,
                  retry_failed: bool, progress: bool, report: bool, verbose: bool, t0: float) -> SweepOutcome:
    """:func:`run_sweep` in its locked directory: run what is left, compact, report."""
    store.clean_stale(directory)  # temporaries of killed writers
    done = store.completed(directory, retry_failed=retry_failed)
    todo = [s for s in run_specs(exp, table) if s["run_id"] not in done]
    n_before = len(table) - len(todo)
    compacted = not todo and store.is_compacted(directory)
    reported = not report or (compacted and store.is_reported(directory))
    _announce(exp, table, directory, len(todo), compacted, reported, verbose)
    if todo:
        own = executor is None
        n_workers = workers or (None if own else executor_workers(executor)) or os.cpu_count() or 1
        pool = _Pool(executor, n_workers if own and len(todo) > 1 else 1)
        n_failed = _execute_with_progress(todo, pool, directory, exp, n_workers, progress)
        store.finish_invocation(directory, pool.invocation, len(todo), n_failed, time.perf_counter() - t0)
        store.clean_stale(directory)  # of workers that died
    if not compacted:
        store.compact(directory)
    if not reported:
        from simulation.sweep.report import write_report  # matplotlib only when reporting

        try:
            write_report(directory)
            store.mark_reported(directory)
        except Exception as exc:  # noqa: BLE001 - the runs are safe; say why the report is missing
            _say(f"warning: report not written: {type(exc).__name__}: {exc}", True)
    wall = time.perf_counter() - t0 if todo or not (compacted and reported) else 0.0
    return SweepOutcome(directory, len(table), n_before, len(todo), store.n_failed(directory), wall)


def _announce(exp: Experiment, table, directory: Path, n_todo: int, compacted: bool, reported: bool,
              verbose: bool) -> None:
    """Say what the sweep is, what is left to do, and warn of strategies without a file."""
    n_before = len(table) - n_todo
    per = "one seed each" if exp.design.matched else f"x {exp.seeds} seed(s)"
    _say(f"{exp.name}: {len(table)} runs = {len(exp.scenarios)} scenario(s) x {len(exp.strategies)} strategies "
         f"x {table['sample'].nunique()} sample(s) {per}; sweep directory {directory}", verbose and not n_before)
    if n_todo:
        for name in missing_strategies(exp):
            _say(f"warning: strategy '{name}' has no file in configs/strategies/: its runs will be "
                 "recorded as failed", verbose)
    if not n_todo:
        if not compacted:
            _say(f"all {len(table)} runs are complete; compacting the results", verbose)
        elif not reported:
            _say(f"all {len(table)} runs are complete; writing the report", verbose)
        else:
            _say(f"nothing to do: all {len(table)} runs in {directory} are complete", verbose)
    elif n_before:
        _say(f"resuming {directory}: {n_before} of {len(table)} runs complete, {n_todo} to run", verbose)


def _execute_with_progress(todo: list[dict], pool: _Pool, directory: Path, exp: Experiment, n_workers: int,
                           progress: bool) -> int:
    """Record the invocation, run ``todo`` with a progress bar, shut our pool down; the number failed."""
    from tqdm import tqdm

    pool.invocation = store.start_invocation(directory, pool.executor, n_workers, len(todo))
    bar = tqdm(total=len(todo), desc=exp.name, unit="run", file=sys.stderr, disable=not progress,
               dynamic_ncols=True, mininterval=0.5)
    try:
        return _execute(todo, pool, directory, exp, n_workers, bar)
    except BaseException:
        pool.abort()  # interrupted (or broken for good): stop the workers now
        raise
    finally:
        bar.close()
        pool.shutdown()


class _Pool:
    """The executor of a sweep; one we own is rebuilt if a worker process dies."""

    def __init__(self, executor: Executor | None, workers: int):
        self.own = executor is None
        self.workers = workers
        self.main_pid = os.getpid() if self.own else None  # our workers stop if we are killed
        self.breaks = 0
        self.executor = executor if executor is not None else self._make()
        self.invocation: dict = {}  # this invocation's entry in the sweep's manifest

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

    def abort(self) -> None:
        """Stop at once: our workers are ended (their unfinished runs are redone on resume).
        An executor passed in is left to its owner (e.g. the command line closes its Dask cluster)."""
        if self.own and isinstance(self.executor, ProcessPoolExecutor):
            stop_workers(self.executor)


def _execute(todo: list[dict], pool: _Pool, directory: Path, exp: Experiment, n_workers: int, bar) -> int:
    """Submit bundles as workers free up, at most two per worker in flight (flat memory).

    The first tasks hold one run each; later ones hold enough runs for about
    ``execution.bundle_seconds`` of work at the mean run time so far (fewer near the end,
    so that every worker stays busy).

    A bundle that fails as a whole (not one of its runs: those are recorded by the worker)
    is retried run by run. When a worker process dies, the runs in flight are retried one
    at a time, so the run that kills its worker is found and recorded as failed.
    """
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
            fut = pool.executor.submit(run_bundle, bundle, where, exp.execution.tables,
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
                    statuses.append(record_failure(bundle[0], directory, exc, "a worker process died"))
                else:
                    suspects.extend(bundle)
                broken = exc
            except Exception as exc:  # noqa: BLE001 - a task that failed as a whole
                if len(bundle) > 1:
                    singles.extend(bundle)
                else:
                    statuses.append(record_failure(bundle[0], directory, exc))
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

