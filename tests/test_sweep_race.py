"""One owner per sweep directory: ``compare``, ``--resume`` and compaction while a sweep runs
are refused in one line and change nothing; the sweep ends with the tables of an
uninterrupted one, no good run recorded as failed."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from simulation.cli import main
from simulation.sweep.experiment import SweepError
from simulation.sweep.loop import run_sweep
from simulation.sweep.store import LOCK, SweepBusy, compact, load_results

from .test_sweep import assert_same_tables
from .test_sweep_kill import left_after, mark, reference, start_sweep  # noqa: F401 - fixtures

HOLD = """
import fcntl, os, sys, time
fds = [os.open(path, os.O_RDWR | os.O_CREAT) for path in sys.argv[1:]]
for fd in fds:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\\n".encode())
print("locked", flush=True)
time.sleep(120)
"""


def _try_compare(out: Path, capsys) -> str:
    """``simulation compare`` on the sweep directory; how it ended."""
    code = main(["compare", str(out)])
    err = capsys.readouterr().err
    if code == 0:
        return "compared (the sweep had ended)"
    assert code == 2 and err.count("\n") == 1, err
    if "is in use by another process" in err:
        return "compare refused: in use"
    assert "is not a sweep directory" in err, err  # before the sweep wrote its experiment.toml
    return "compare refused: not a sweep yet"


def _try_resume(exp: Path, out: Path, capsys) -> str:
    """A second ``simulation sweep --resume`` (and a compaction) on the directory; how they ended."""
    code = main(["sweep", str(exp), "--resume", "--workers", "1", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    if code == 0:
        return "resume ran (the sweep had ended)"
    assert code == 2 and err.count("\n") == 1, err
    try:
        compact(out)
    except SweepBusy:
        pass
    except SweepError:  # not a sweep directory yet
        assert "in use" not in err
    return "resume refused: in use" if "is in use by another process" in err else "resume refused: not a sweep yet"


def test_compare_and_resume_while_a_sweep_runs(reference, tmp_path, mark, capsys):  # noqa: F811 - fixture
    exp, ref = reference
    out = tmp_path / "sweep"
    proc = start_sweep(exp, out, mark, tmp_path / "sweep.log")
    tries: Counter[str] = Counter()
    while proc.poll() is None:
        tries[_try_compare(out, capsys)] += 1
        if sum(tries.values()) % 5 == 1:
            tries[_try_resume(exp, out, capsys)] += 1
        time.sleep(0.1)  # leave the machine to the sweep
    print(f"races: {dict(tries)}")
    assert proc.returncode == 0, (tmp_path / "sweep.log").read_text()
    assert left_after(mark) == []
    assert tries["compare refused: in use"] > 0 and tries["resume refused: in use"] > 0
    res = load_results(out)
    assert (res["status"] == "ok").all(), res[res["status"] != "ok"][["run_id", "status", "error"]]
    assert_same_tables(ref, out)


def _snapshot(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(directory.rglob("*"))}


@pytest.fixture
def holder(tmp_path):
    """Another process holding the locks of the given sweep directories."""
    procs = []

    def hold(*directories: Path) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", HOLD, *(str(d / LOCK) for d in directories)],
                                stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline() == "locked\n"
        return proc

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_locked_sweep_directory_refuses_a_second_owner_and_changes_nothing(reference, tmp_path, holder, capsys):  # noqa: F811
    exp, ref = reference
    out = tmp_path / "sweep"
    shutil.copytree(ref, out)
    missing = sorted(p.name for p in (out / "runs").iterdir())[:2]
    for name in missing:
        shutil.rmtree(out / "runs" / name)  # a sweep with work left
    fresh = tmp_path / "fresh"  # a sweep being created (locked, nothing written yet)
    fresh.mkdir()
    other = holder(out, fresh)
    before, before_fresh = _snapshot(out), _snapshot(fresh)
    busy = f"is in use by another process (pid {other.pid}): one sweep or compare at a time per sweep directory"
    for argv in (["sweep", str(exp), "--resume", "--out", str(out)],
                 ["sweep", str(exp), "--resume", "--retry-failed", "--out", str(out)],
                 ["compare", str(out)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{out} {busy}" in err, err
    assert main(["sweep", str(exp), "--out", str(out)]) == 2  # not a new sweep in a sweep directory either
    assert capsys.readouterr().err.count("\n") == 1
    with pytest.raises(SweepBusy, match=re.escape(busy)):
        compact(out)
    with pytest.raises(SweepBusy, match=re.escape(busy)):
        run_sweep(exp, out=fresh, workers=1, progress=False, verbose=False)
    assert _snapshot(out) == before and _snapshot(fresh) == before_fresh

    other.kill()  # the lock goes with its process
    other.wait()
    outcome = run_sweep(exp, out=out, resume=True, workers=1, progress=False, verbose=False, report=False)
    assert outcome.n_executed == len(missing) and outcome.n_failed == 0
    assert_same_tables(ref, out)
