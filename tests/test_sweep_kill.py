"""A sweep killed at random moments (SIGTERM, SIGKILL) leaves no process behind, resumes, and
ends with the tables of an uninterrupted sweep; a child whose parent dies follows it."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from simulation.sweep.lifeline import alive
from simulation.sweep.loop import run_sweep
from simulation.sweep.store import MARKER, is_reported

from .test_sweep import assert_same_tables, experiment_file

MARK = "COERCION_SIM_TEST_MARK"  # every process of a sweep started here carries it in its environment
SEED = 20240612  # the moments of the kills
N_RUNS = 24  # 3 strategies x 2 samples x 4 seeds on the tiny world
LIFELINE = Path(__file__).resolve().parent.parent / "simulation" / "sweep" / "lifeline.py"


def marked(mark: str) -> list[int]:
    """Pids of the live processes whose environment carries ``MARK=mark``."""
    needle = f"{MARK}={mark}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if needle in env and alive(int(entry)):
            found.append(int(entry))
    return found


def left_after(mark: str, seconds: float = 5.0) -> list[int]:
    """The marked processes still alive ``seconds`` after now (returns as soon as none is)."""
    deadline = time.monotonic() + seconds
    while (pids := marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids


def kill_marked(mark: str) -> None:
    for pid in marked(mark):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def mark():
    """A unique marker; whatever carries it is killed at the end, even when the test fails."""
    value = uuid.uuid4().hex
    yield value
    kill_marked(value)


def start_sweep(exp: Path, out: Path, mark: str, log: Path, *extra: str) -> subprocess.Popen:
    """``simulation sweep`` in a subprocess (2 workers), its output in ``log``."""
    env = {**os.environ, MARK: mark}
    with open(log, "w") as f:
        return subprocess.Popen([sys.executable, "-m", "simulation", "sweep", str(exp), "--workers", "2", "--out",
                                 str(out), "--no-progress", *extra], stdout=f, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)


def wait_until(proc: subprocess.Popen, ready, timeout: float = 180.0) -> bool:
    """Poll until ``ready()`` (True) or the process has ended (False)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.01)
    return True


def n_complete(out: Path) -> int:
    return len(list(out.glob(f"runs/*/{MARKER}")))


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    """The experiment file and its uninterrupted sweep (in this process)."""
    folder = tmp_path_factory.mktemp("kill")
    exp = experiment_file(folder, seeds=4)
    run_sweep(exp, out=folder / "reference", workers=1, progress=False, verbose=False, report=False)
    return exp, folder / "reference"


def test_killed_sweeps_leave_no_process_and_resume_to_the_same_tables(reference, tmp_path, mark):
    exp, ref = reference
    out = tmp_path / "sweep"
    rng = random.Random(SEED)
    first, second = rng.randint(1, N_RUNS // 3), rng.randint(N_RUNS // 3 + 1, 2 * N_RUNS // 3)
    # three kills, each followed by a resume: SIGTERM and SIGKILL while runs are made (after
    # `first` and `second` runs are complete), then SIGKILL once the results are compacted (the report)
    plan = [(signal.SIGTERM, lambda: n_complete(out) >= first),
            (signal.SIGKILL, lambda: n_complete(out) >= second),
            (signal.SIGKILL, lambda: (out / "results.parquet").is_file())]
    ended = []
    for i, (sig, moment) in enumerate(plan):
        log = tmp_path / f"kill{i}.log"
        proc = start_sweep(exp, out, mark, log, *(["--resume"] if i else []))
        sent = wait_until(proc, moment)
        if sent:
            proc.send_signal(sig)
        code = proc.wait(timeout=120)
        ended.append((sig.name, code, n_complete(out)))
        assert left_after(mark) == [], f"processes of the sweep outlived it ({sig.name}): {ended}"
        if code == 0:  # it ended before the kill came
            continue
        assert sent, log.read_text()
        if sig == signal.SIGTERM:  # the clean path: workers stopped, a one-line note, exit 128 + 15
            assert code == 128 + signal.SIGTERM, log.read_text()
            assert "interrupted (SIGTERM)" in log.read_text()
        else:
            assert code == -signal.SIGKILL
    print(f"kills (signal, exit code, runs complete): {ended}")

    outcome = run_sweep(exp, out=out, resume=True, workers=2, progress=False, verbose=False)  # what is left
    assert outcome.n_done_before + outcome.n_executed == N_RUNS and outcome.n_failed == 0
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(p.name for p in (ref / "runs").iterdir())
    assert [p.name for p in out.iterdir() if ".tmp-" in p.name] == []
    assert_same_tables(ref, out)
    assert (out / "report.md").is_file() and is_reported(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["n_failed"] == 0


CHILD = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("lifeline", sys.argv[1])
lifeline = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lifeline)
if sys.argv[2] == "prctl":
    assert lifeline.die_with_parent()
else:
    lifeline.watch_parent(interval=0.05)
print("ready", flush=True)
time.sleep(120)
"""

PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], *sys.argv[2:]], stdout=subprocess.PIPE, text=True)
assert child.stdout.readline() == "ready\\n"
print(child.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("how", ["prctl", "watchdog"])
def test_a_child_dies_with_its_killed_parent(how, mark):
    if how == "prctl" and not sys.platform.startswith("linux"):
        pytest.skip("prctl is Linux's")
    env = {**os.environ, MARK: mark}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD, str(LIFELINE), how], stdout=subprocess.PIPE,
                              text=True, env=env)
    child = int(parent.stdout.readline())
    assert alive(child)
    parent.kill()
    parent.wait()
    assert left_after(mark) == []
