"""The worked example (issue 16, item 6) stays runnable: docs/examples/compare_strategies.py loads a
scenario, runs it under two strategies, prints their comparison and draws a figure."""

from __future__ import annotations

import re
import subprocess
import sys

from simulation import load_config, run

from .conftest import KOREA, ROOT

EXAMPLE = ROOT / "docs" / "examples" / "compare_strategies.py"
STEPS = 12


def test_the_example_runs_compares_and_plots(tmp_path):
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--steps", str(STEPS), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("korea_coerced: target KR, seed ") and lines[0].endswith(f"{STEPS} weeks")
    assert re.split(r"\s+", lines[1].strip()) == ["outcome", "baseline", "stockpile_100", "difference"]
    assert (tmp_path / "out" / "compare_strategies.png").stat().st_size > 10_000
    assert lines[-1] == f"figure: {tmp_path / 'out' / 'compare_strategies.png'}"
    # the printed cost is the runs' own (the same config, the same seed: the same numbers)
    cost = {s: run(load_config(KOREA, strategy=s, steps=STEPS)).summary["countries"]["KR"]["strategy_cost_usd"]
            for s in ("baseline", "stockpile_100")}
    row = next(ln for ln in lines if ln.startswith("strategy cost, USD m"))
    printed = [float(x.replace(",", "")) for x in row.split()[-3:]]
    assert printed == [round(cost["baseline"] / 1e6, 1), round(cost["stockpile_100"] / 1e6, 1),
                       round((cost["stockpile_100"] - cost["baseline"]) / 1e6, 1)]
    assert printed[2] > 0  # stockpiling costs money at once
