"""Where a sweep's runs are executed: this process, local worker processes, or a Dask cluster.

Any ``concurrent.futures.Executor`` will do; these are the ones the command line makes.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager

from simulation.sweep.experiment import SweepError
from simulation.sweep.lifeline import worker_start


def executor_workers(executor: Executor) -> int:
    """How many tasks an executor runs at once (a hint for bundling runs)."""
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
# modules and compiled kernels loaded; the lifeline first: the fork server dies with the main process
WORKER_PRELOAD = ["simulation.sweep.lifeline", "__main__", "simulation.sweep.worker", "simulation.warmup"]


def process_pool(workers: int) -> ProcessPoolExecutor:
    """Local worker processes, started with ``forkserver`` where available (never changes
    the global start method). The fork server imports the model's modules and loads the
    compiled kernels once (:data:`WORKER_PRELOAD`): workers then start in milliseconds instead
    of each spending about two seconds on imports and kernels.

    The fork server and the workers die with this process, however it ends
    (:mod:`simulation.sweep.lifeline`)."""
    init = {"initializer": worker_start, "initargs": (os.getpid(),)}
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" not in methods:
        return ProcessPoolExecutor(max_workers=workers, **init)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(WORKER_PRELOAD)  # no effect once the fork server runs
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, **init)


def stop_workers(executor: ProcessPoolExecutor, timeout: float = 5.0) -> None:
    """Stop a local pool now (on an interruption): cancel what waits, end the workers
    (SIGTERM, then SIGKILL after ``timeout`` seconds). Runs they were writing leave temporary
    folders, which the next ``--resume`` removes."""
    procs = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.exitcode is None:
            proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.exitcode is None:
            proc.kill()
            proc.join(1.0)


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

