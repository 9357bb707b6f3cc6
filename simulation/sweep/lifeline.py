"""A sweep's processes live and die with it.

Whatever ends the main process of a sweep, none of its processes outlives it by more than a
few seconds:

- SIGTERM and SIGHUP (``kill``, ``timeout``, Slurm, systemd, a closed terminal) raise
  :class:`Interrupted` in the main process, a ``KeyboardInterrupt``: they take the same path
  as Ctrl-C, which stops the workers and leaves the sweep directory resumable
  (:func:`signals_interrupt`).
- SIGKILL cannot be caught, so the children watch their parent. The fork server of the local
  worker pool imports this module first (``simulation.sweep.executors.WORKER_PRELOAD``) and
  asks Linux to SIGKILL it when its parent, the main process, dies (``prctl(PR_SET_PDEATHSIG)``);
  each worker does the same at its start (:func:`worker_start`), its parent being the fork
  server. Where ``prctl`` is missing, each worker polls its parent and the main process
  (:func:`watch_parent`), and gives up its copy of the fork server's "alive" pipe, so that the
  fork server, which exits when that pipe has no writer left, follows the main process.
- multiprocessing's resource tracker exits by itself once every process holding its pipe
  (the main process, the fork server, the workers) is gone.

Linux sends the parent-death signal when the *thread* that started the child ends: the fork
server is started by the thread that first submits to a local pool, normally the main thread.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_INTERVAL_S = 0.5

#: the fork server's pid, set when this module is preloaded by it (inherited by its workers)
SERVER_PID: int | None = None


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP received by a sweep: handled like Ctrl-C."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


def _raise_interrupted(signum: int, _frame) -> None:
    raise Interrupted(signum)


@contextmanager
def signals_interrupt(names: tuple[str, ...] = ("SIGTERM", "SIGHUP")) -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Interrupted` (as Ctrl-C raises
    ``KeyboardInterrupt``); the previous handlers come back after it. Only in the main thread
    (elsewhere Python cannot set handlers: a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {}
    for name in names:
        num = getattr(signal, name, None)  # SIGHUP is missing on Windows
        if num is not None:
            old[num] = signal.signal(num, _raise_interrupted)
    try:
        yield
    finally:
        for num, handler in old.items():
            signal.signal(num, handler)


def die_with_parent(signum: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``signum`` to this process when its parent dies; False where
    ``prctl`` is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return False
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (dead, not yet reaped)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in (b"Z", b"X")


def watch_parent(main_pid: int | None = None, interval: float = WATCH_INTERVAL_S) -> threading.Thread:
    """Start a daemon thread that ends this process (``os._exit``) when its parent changes
    (the parent died) or ``main_pid`` is gone: the fallback where ``prctl`` is missing."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent or (main_pid is not None and not alive(main_pid)):
                os._exit(1)

    thread = threading.Thread(target=watch, name="sweep-lifeline", daemon=True)
    thread.start()
    return thread


def _drop_forkserver_alive_fd() -> None:
    """Close this worker's copy of the fork server's "alive" pipe (the fork server exits when
    no process holds it); a worker never starts processes through the fork server."""
    try:
        from multiprocessing import forkserver

        fd = forkserver._forkserver._forkserver_alive_fd
        if fd is not None and forkserver._forkserver._forkserver_pid is None:  # a child, not the client
            forkserver._forkserver._forkserver_alive_fd = None
            os.close(fd)
    except (ImportError, AttributeError, OSError):
        pass


def worker_start(main_pid: int) -> None:
    """Initializer of each local worker process: die with the parent (the fork server, or the
    main process without one), leave Ctrl-C to the main process (which stops the workers), and
    exit at once if the main process is already gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _drop_forkserver_alive_fd()
    if not die_with_parent():
        watch_parent(main_pid)
    if (SERVER_PID is not None and os.getppid() != SERVER_PID) or not alive(main_pid):  # died before prctl
        os._exit(1)


def _preloaded_by_forkserver() -> bool:
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "main" and frame.f_globals.get("__name__") == "multiprocessing.forkserver":
            return True
        frame = frame.f_back
    return False


if _preloaded_by_forkserver():  # the fork server dies with the main process; workers check SERVER_PID
    SERVER_PID = os.getpid()
    die_with_parent()
