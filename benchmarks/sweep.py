"""Part 4 of the benchmarks: a sweep with 2 workers against 1, and the main process's peak memory.

Uses ``simulation.sweep.loop.run_sweep`` on a throwaway experiment (the default scenario,
baseline strategy, one run per seed). If the sweep runner cannot be imported or fails, the
rows are reported as "not available" with the reason; the rest of the benchmark stands.

- **Speed-up**: the same runs with ``workers=1`` (in this process) and ``workers=2`` (local
  worker processes), timing the runs only (``report=False``: compaction and the report are
  serial bookkeeping, not the parallel part).
- **Peak memory**: each sweep (20 runs, then 200 runs, 2 workers, with compaction and
  report as the CLI does) runs in a fresh child process whose peak resident set is read
  at the end: ``VmHWM`` of ``/proc/self/status``, that process alone, not its workers
  (``ru_maxrss`` would not do: Linux carries the parent's high-water mark over fork and exec).

Run as a child: ``python -m benchmarks.sweep RUNS STEPS`` prints one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "configs" / "scenarios" / "japan_2026.toml"


def write_experiment(directory: Path, runs: int, steps: int) -> Path:
    """A throwaway experiment of ``runs`` seeds of the default scenario (baseline)."""
    path = directory / f"bench_{runs}x{steps}.toml"
    path.write_text(
        f'name = "bench_{runs}x{steps}"\n'
        f"seed = 7\nseeds = {runs}\nsteps = {steps}\n"
        f'scenarios = ["{SCENARIO}"]\nstrategies = ["baseline"]\n'
        '[design]\nmethod = "none"\n'
    )
    return path


def _sweep(runs: int, steps: int, workers: int, report: bool) -> float:
    """Wall time of one sweep (seconds); raises if any run failed."""
    from simulation.sweep.loop import run_sweep

    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        exp = write_experiment(Path(tmp), runs, steps)
        t0 = time.perf_counter()
        outcome = run_sweep(exp, out=Path(tmp) / "sweep", workers=workers, progress=False, report=report,
                            verbose=False)
        wall = time.perf_counter() - t0
        if outcome.n_failed or outcome.n_executed != runs:
            raise RuntimeError(f"{outcome.n_failed} of {runs} runs failed, {outcome.n_executed} executed")
    return wall


def peak_rss_mb() -> float:
    """This process's peak resident set (MB): ``VmHWM`` in ``/proc/self/status``."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def child(runs: int, steps: int) -> dict:
    """In a fresh process: the peak RSS after imports and after a sweep with 2 workers."""
    import simulation.sweep.loop  # noqa: F401 - imported before the baseline reading

    base = peak_rss_mb()
    wall = _sweep(runs, steps, workers=2, report=True)
    peak = peak_rss_mb()
    return {"runs": runs, "steps": steps, "wall_s": wall, "rss_after_imports_mb": base, "peak_rss_mb": peak}


def _child_rss(runs: int, steps: int) -> dict:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.sweep", str(runs), str(steps)], cwd=ROOT,
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"child sweep of {runs} runs failed: {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(quick: bool) -> dict:
    """Speed-up of 2 workers over 1 and the peak memory of 200 runs against 20."""
    try:
        from simulation.sweep.loop import run_sweep  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - another engineer's module, maybe not there yet
        return {"available": False, "reason": f"simulation.sweep.loop.run_sweep: {type(exc).__name__}: {exc}"}
    speed_runs, speed_steps = (6, 52) if quick else (32, 156)
    small, large, mem_steps = (20, 200, 4) if quick else (20, 200, 26)
    load_before = os.getloadavg()
    try:
        _sweep(2, 4, workers=2, report=False)  # warm up (forkserver, imports)
        one = _sweep(speed_runs, speed_steps, workers=1, report=False)
        two = _sweep(speed_runs, speed_steps, workers=2, report=False)
        rss_small = _child_rss(small, mem_steps)
        rss_large = _child_rss(large, mem_steps)
    except Exception as exc:  # noqa: BLE001 - report, do not crash the benchmark
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    return {
        "available": True, "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "speed_runs": speed_runs, "speed_steps": speed_steps,
        "one_worker_s": one, "two_workers_s": two, "speedup": one / two,
        "runs_small": small, "runs_large": large, "memory_steps": mem_steps,
        "small": rss_small, "large": rss_large,
        "rss_small_mb": rss_small["peak_rss_mb"], "rss_large_mb": rss_large["peak_rss_mb"],
        "memory_ratio": rss_large["peak_rss_mb"] / rss_small["peak_rss_mb"],
    }


if __name__ == "__main__":
    print(json.dumps(child(int(sys.argv[1]), int(sys.argv[2]))))
