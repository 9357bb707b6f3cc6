"""An honest sweep report (issue 16, item 4): pair counts beside intervals, nothing resolved and
no spread drawn below MIN_PAIRS, ties share a rank, rank stability from the bootstrap."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import tomli_w

from simulation.sweep import plots
from simulation.sweep.loop import run_sweep
from simulation.sweep.report import _figures, _report_text
from simulation.sweep.stats import MIN_PAIRS, compare, cost_effectiveness, paired, ranking

from .conftest import TINY

SHIFT = {"baseline": 0.0, "winner": -0.5, "twin_a": 0.0, "twin_b": 0.0, "noisy": 0.02}


def results_table(n_pairs: int, shift: dict[str, float] = SHIFT, seed: int = 3) -> pd.DataFrame:
    """A compacted results table in memory: one scenario, ``n_pairs`` twin pairs per strategy.
    ``twin_a`` and ``twin_b`` equal the baseline in every pair; ``winner`` loses 0.5 % GDP less."""
    rng = np.random.default_rng(seed)
    base = 1.0 + rng.normal(0, 0.1, n_pairs)
    noise = rng.normal(0, 0.2, n_pairs)
    rows = []
    for strategy, d in shift.items():
        for i in range(n_pairs):
            loss = base[i] + d + (noise[i] if strategy == "noisy" else 0.0)
            rows.append({"run_id": f"{strategy}-{i}", "scenario": "tiny", "strategy": strategy, "sample": i,
                         "replicate": 0, "status": "ok", "error": None, "target": "JP",
                         "cum_output_loss_pct_gdp": loss, "cum_output_loss_usd": loss * 1e9,
                         "weeks_in_shortage": 10.0 + 10 * d, "peak_shortage_share": 0.2 + 0.1 * d,
                         "strategy_cost_usd": 0.0 if strategy == "baseline" else 1e8})
    return pd.DataFrame(rows)


def experiment(strategies=tuple(SHIFT)) -> SimpleNamespace:
    return SimpleNamespace(name="synthetic", description="", strategies=list(strategies), baseline="baseline",
                           seed=11, seeds=1, method="lhs", design=SimpleNamespace(matched=True), uncertainties=[],
                           outcome="cum_output_loss_pct_gdp", strategy_label=lambda s: s)


def ranked(results: pd.DataFrame) -> pd.DataFrame:
    comparison = compare(results, "baseline", 11)
    return ranking(comparison, cost_effectiveness(results, "baseline", 11), paired(results, "baseline"), 11)


def report(results: pd.DataFrame) -> str:
    return _report_text(experiment(), results, ranked(results), None, {})


def ranking_rows(text: str) -> dict[str, list[str]]:
    table = text.split("### Strategies ranked")[1].split("###")[0]
    header = next(line for line in table.splitlines() if line.startswith("| rank"))
    names = [c.strip() for c in header.strip("|").split("|")]
    rows = {}
    for line in table.splitlines():
        if line.startswith("| ") and not line.startswith("| rank"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[1].strip("`")] = dict(zip(names, cells, strict=True))
    return rows


def test_below_the_minimum_nothing_is_resolved():
    results = results_table(MIN_PAIRS - 1)
    comparison = compare(results, "baseline", 11)
    winner = comparison[(comparison["strategy"] == "winner") & (comparison["outcome"] == "cum_output_loss_pct_gdp")]
    assert (winner["ci_high"] < 0).all() and not winner["resolved"].any()  # excludes 0, still not resolved
    assert not comparison["resolved"].any()
    text = report(results)
    assert "resolved:" not in text.replace("not resolved:", "")
    assert "Too few pairs to resolve anything" in text
    rows = ranking_rows(text)
    assert rows["winner"]["verdict"] == f"not resolved: {MIN_PAIRS - 1} pairs, fewer than {MIN_PAIRS}"
    assert rows["winner"]["rank kept"] == "n/a"
    assert "no spread" in text.split("### Outcomes by strategy")[1]
    assert not re.search(r"\d \[[-\d.]+, [-\d.]+\] \|", text.split("### Outcomes by strategy")[1])


def test_below_the_minimum_no_spread_is_drawn(monkeypatch, tmp_path):
    drawn = []
    monkeypatch.setattr(plots.plt.Axes, "boxplot", lambda *a, **k: drawn.append("box"))
    monkeypatch.setattr(plots.plt.Axes, "fill_between", lambda *a, **k: drawn.append("band"))
    for n, spread in ((MIN_PAIRS - 1, False), (MIN_PAIRS, True)):
        results = results_table(n)
        series = pd.DataFrame([{"run_id": r, "step": w, "date": pd.Timestamp("2026-01-02") + pd.Timedelta(weeks=w),
                                "escalation_level": 0, "cum_output_loss_pct_gdp": 0.1 * w,
                                "shortage_share_max": 0.0} for r in results["run_id"] for w in range(3)])
        drawn.clear()
        figs = _figures(experiment(), results, series, cost_effectiveness(results, "baseline", 11), tmp_path)
        assert {"box", "bands"} <= set(figs)
        assert (set(drawn) == {"box", "band"}) if spread else not drawn
        text = _report_text(experiment(), results, ranked(results), None, figs)
        assert ("every run (no box)" in text) is not spread


def test_exact_ties_share_a_rank():
    text = report(results_table(MIN_PAIRS + 5))
    table = ranked(results_table(MIN_PAIRS + 5)).set_index("strategy")
    assert table.loc["twin_a", "rank"] == table.loc["twin_b", "rank"]
    assert table.loc["twin_a", "tied_with"] == "twin_b" and table.loc["winner", "tied_with"] == ""
    for col in ("rank_kept", "rank_lo", "rank_hi"):  # identical in every resample too
        assert table.loc["twin_a", col] == table.loc["twin_b", col]
    rows = ranking_rows(text)
    assert rows["twin_a"]["rank"] == rows["twin_b"]["rank"]
    assert rows["twin_a"]["verdict"].startswith(f"no difference: all {MIN_PAIRS + 5} pairs equal to `baseline`")
    assert "tie with 1 other" in rows["twin_b"]["verdict"]
    assert "**Tie at rank" in text and "`twin_a`, `twin_b`" in text


def test_a_clear_winner_with_many_pairs_is_resolved_and_stable():
    n = 4 * MIN_PAIRS
    table = ranked(results_table(n)).set_index("strategy")
    assert table.loc["winner", "rank"] == 1 and table.loc["winner", "resolved"]
    assert table.loc["winner", "rank_kept"] >= 0.99 and table.loc["winner", "rank_hi"] == 1
    assert table.loc["noisy", "rank_kept"] < 0.9  # noisy sits around the twins: its rank moves
    rows = ranking_rows(report(results_table(n)))
    assert rows["winner"]["verdict"] == "resolved: less loss" and rows["winner"]["rank kept"] in ("99%", "100%")
    assert rows["winner"]["rank range (90%)"] == "1"


def test_the_report_is_reproducible():
    a, b = ranked(results_table(30)), ranked(results_table(30))
    pd.testing.assert_frame_equal(a, b)


def _assert_pairs_beside_intervals(text: str) -> None:
    """Every table row holding an interval ``x [lo, hi]`` has a pair count column."""
    for block in text.split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.startswith("|")]
        if not lines or not any(re.search(r"\[[^\]]+, [^\]]+\]", ln) for ln in lines[2:]):
            continue
        header = [c.strip() for c in lines[0].strip("|").split("|")]
        if "cum. loss, % GDP" in header:  # absolute outcomes: a spread over runs, with its runs
            assert "runs" in header, block
            continue
        assert "pairs" in header, block
        col = header.index("pairs")
        for ln in lines[2:]:
            assert re.fullmatch(r"\d+", ln.strip("|").split("|")[col].strip()), ln


@pytest.mark.parametrize("n", [2, MIN_PAIRS, 25])
def test_every_interval_has_its_pair_count(n):
    _assert_pairs_beside_intervals(report(results_table(n)))


def test_a_small_sweep_end_to_end(tmp_path):
    """Two seeds of the tiny world: the real report says too few pairs and draws no box."""
    (tmp_path / "tiny_stock.toml").write_text('name = "tiny_stock"\n[levers.JP]\nstockpile_target_days = 120.0\n'
                                              "stockpile_refill_share_per_week = 0.2\n")
    (tmp_path / "baseline_copy.toml").write_text('name = "baseline_copy"\n')
    exp = tmp_path / "e.toml"
    exp.write_bytes(tomli_w.dumps({"name": "e", "seed": 5, "seeds": 2, "scenarios": [str(TINY)],
                                   "strategies": ["baseline", "tiny_stock.toml", "baseline_copy.toml"]}).encode())
    run_sweep(exp, out=tmp_path / "s", workers=1, progress=False, verbose=False)
    text = Path(tmp_path / "s" / "report.md").read_text()
    assert "Too few pairs to resolve anything" in text and "every run (no box)" in text
    rows = ranking_rows(text)
    assert rows["baseline_copy"]["verdict"].startswith("no difference: all 2 pairs equal")
    assert all(r["pairs"] == "2" for r in rows.values())
    _assert_pairs_beside_intervals(text)


def test_the_outcomes_table_shows_concessions_and_peak_levels_beside_losses():
    """A strategy that makes the target hold out can lose more output and concede less: the
    outcomes table counts the runs in which the target conceded, and China's peak levels."""
    results = results_table(MIN_PAIRS)
    results["conceded"] = (results["strategy"] == "baseline") & (results["sample"] % 2 == 0)
    results["peak_level"] = np.where(results["strategy"] == "winner", 5, 7)
    table = report(results).split("### Outcomes by strategy")[1].split("###")[0]
    header = next(line for line in table.splitlines() if line.startswith("| strategy"))
    names = [c.strip() for c in header.strip("|").split("|")]
    rows = {}
    for line in table.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0].strip("`")] = dict(zip(names, cells, strict=True))
    assert rows["baseline"]["conceded"] == f"{(MIN_PAIRS + 1) // 2} of {MIN_PAIRS}"
    assert rows["winner"]["conceded"] == f"0 of {MIN_PAIRS}"
    assert rows["winner"]["peak level (runs)"] == f"5: {MIN_PAIRS}"
    assert rows["baseline"]["peak level (runs)"] == f"7: {MIN_PAIRS}"
    assert "does not count what conceding costs" in table
