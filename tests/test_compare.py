"""``simulation compare RUN_A RUN_B`` (issue 16, item 2): headline outcomes of two runs side by side,
whether they are comparable, figures, one-line errors for what is not a pair of run directories,
nothing half-written. (``simulation compare SWEEP_DIR`` is tested in test_sweep.py.)"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from simulation import compare
from simulation.cli import main
from simulation.compare import differences, load_run

from .conftest import KOREA, refused
from .test_cli import files_under
from .test_figures import cut_off, hidden_lines, overlapping_ticks

STEPS = 30
FIGURES = ["loss_by_commodity.png", "output_loss.png", "shortages.png"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Korea, 30 weeks: baseline (A) and stockpile_100 (B) on the same seed; C: baseline, 20 weeks, seed 5."""
    root = tmp_path_factory.mktemp("runs")
    argv = {"A": ["--strategy", "baseline"], "B": ["--strategy", "stockpile_100"],
            "C": ["--strategy", "baseline", "--steps", "20", "--seed", "5"]}
    for name, extra in argv.items():
        steps = [] if "--steps" in extra else ["--steps", str(STEPS)]
        assert main(["run", str(KOREA), *steps, *extra, "--no-figures", "--out", str(root / name)]) == 0
    return {name: root / name for name in argv}


def summary(path: Path) -> dict:
    return json.loads((path / "summary.json").read_text())


def test_two_runs_give_a_table_a_csv_and_figures(runs, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", str(runs["A"]), str(runs["B"]), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["comparison.csv", "comparison.md", "figures"]
    assert sorted(p.name for p in (out / "figures").iterdir()) == FIGURES
    lines = printed.splitlines()
    assert lines[0].startswith(f"A: {runs['A']}  korea_coerced  strategy baseline")
    assert lines[1].startswith(f"B: {runs['B']}  korea_coerced  strategy stockpile_100")
    assert lines[2] == "comparable: same scenario, world, ladder, seed and weeks; only the strategy differs"
    assert printed.rstrip().endswith(f"comparison: {out / 'comparison.md'}")
    # every number of comparison.csv is the runs' summary.json value, and B - A their difference
    sa, sb = summary(runs["A"]), summary(runs["B"])
    table = pd.read_csv(out / "comparison.csv")
    assert list(table.columns) == ["country", "outcome", "commodity", "a", "b", "b_minus_a"]
    numeric = table[~table["outcome"].isin(["binding_commodity", "cum_output_loss_pct_gdp_by_commodity"])]
    assert set(numeric["outcome"]) == {"cum_output_loss_pct_gdp", "cum_output_loss", "peak_jobs_lost",
                                       "peak_shortage_share", "weeks_in_shortage", "strategy_cost_usd"}
    assert {"KR", "JP", "US", "EU"} <= set(numeric["country"])
    for r in numeric.itertuples():
        a, b = sa["countries"][r.country][r.outcome], sb["countries"][r.country][r.outcome]
        assert float(r.a) == pytest.approx(a, rel=1e-9) and float(r.b) == pytest.approx(b, rel=1e-9)
        assert float(r.b_minus_a) == pytest.approx(b - a, rel=1e-8, abs=1e-9)
    kr_cost = numeric[(numeric.country == "KR") & (numeric.outcome == "strategy_cost_usd")].iloc[0]
    assert float(kr_cost.b) > float(kr_cost.a)  # B buys stock: its cost shows
    for r in table[table["outcome"] == "binding_commodity"].itertuples():
        want = (sa, sb)
        for col, s in zip(("a", "b"), want, strict=True):
            value = getattr(r, col)
            assert (None if isinstance(value, float) and math.isnan(value) else value) == \
                s["countries"][r.country]["binding_commodity"]
    by_com = table[table["outcome"] == "cum_output_loss_pct_gdp_by_commodity"]
    for r in by_com.itertuples():
        assert float(r.a) == pytest.approx(
            sa["countries"][r.country]["cum_output_loss_pct_gdp_by_commodity"].get(r.commodity, 0.0), rel=1e-9)


def test_the_console_and_markdown_name_the_binding_commodity_in_full(runs, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", str(runs["A"]), str(runs["B"]), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    text = (out / "comparison.md").read_text()
    a = load_run(runs["A"])
    for c in ("EU", "TH"):
        binding_a = a.summary["countries"][c]["binding_commodity"]
        assert binding_a is not None  # short of heavy rare earths under the record's licensing
        name = a.info.commodity(binding_a)
        assert name != binding_a and name in printed and f"| {c} | binding commodity | {name} |" in text
    assert "dy_tb" not in printed and "trade_ban" not in printed
    assert "no interval" in printed and "no interval" in text
    assert "![output_loss](figures/output_loss.png)" in text


def test_runs_that_differ_are_compared_and_flagged(runs, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", str(runs["A"]), str(runs["C"]), "--out", str(out), "--no-figures"]) == 0
    verdict = capsys.readouterr().out.splitlines()[2]
    assert verdict.startswith("NOT comparable like for like: ")
    assert f"different lengths: {STEPS} vs 20 weeks" in verdict
    assert f"different seeds: {summary(runs['A'])['seed']} vs 5" in verdict
    assert "different world" not in verdict and "different scenarios" not in verdict
    assert "**Not comparable like for like**:" in (out / "comparison.md").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["comparison.csv", "comparison.md"]


def test_a_changed_world_or_scenario_is_flagged(runs, tmp_path):
    edited = tmp_path / "edited"
    shutil.copytree(runs["A"], edited)
    text = (edited / "config.toml").read_text()
    text = text.replace("price_usd_per_t = 20000.0", "price_usd_per_t = 21000.0", 1)
    text = text.replace('target = "KR"', 'target = "JP"', 1)
    (edited / "config.toml").write_text(text)
    a, e = load_run(runs["A"]), load_run(edited)
    assert differences(a, load_run(runs["B"])) == []
    notes = differences(a, e)
    assert notes == ["different scenarios: korea_coerced (target KR) vs korea_coerced (target JP)",
                     "different world data: 1 key(s) differ (world.commodities.nd_pr.price_usd_per_t)"]


def test_the_default_folder_is_under_runs(runs, here, capsys):
    assert main(["compare", str(runs["A"]), str(runs["B"]), "--no-figures"]) == 0
    written = files_under(here)
    assert written[0] == "runs" and written[1].startswith("runs/compare-A-vs-B-")
    assert sorted(Path(p).name for p in written[2:]) == ["comparison.csv", "comparison.md"]
    assert f"comparison: {written[1]}/comparison.md" in capsys.readouterr().out


def _broken(tmp_path: Path, runs, what: str) -> Path:
    path = tmp_path / what
    shutil.copytree(runs["A"], path)
    if what == "bad_json":
        (path / "summary.json").write_text("{not json")
    elif what == "no_column":
        df = pd.read_csv(path / "country.csv").drop(columns=["cum_output_loss_pct_gdp"])
        df.to_csv(path / "country.csv", index=False)
    elif what == "no_table":
        (path / "country_commodity.csv").unlink()
    return path


@pytest.mark.parametrize("case, fragments", [
    ("missing", ("simulation compare: RUN_B: ", "nowhere: no such directory")),
    ("file", ("simulation compare: RUN_B: ", "afile: not a directory")),
    ("empty", ("simulation compare: RUN_B: ", "empty is not a run directory (no config.toml, summary.json, "
                                              "model.csv, country.csv, country_commodity.csv)")),
    ("no_table", ("no_table is not a run directory (no country_commodity.csv)",)),
    ("bad_json", ("bad_json/summary.json: not a readable JSON file",)),
    ("no_column", ("no_column/country.csv: missing column(s) cum_output_loss_pct_gdp",)),
    ("sweep", ("sweep is a sweep directory, not a run directory",)),
])
def test_what_is_not_a_run_is_refused_in_one_line(case, fragments, runs, tmp_path, here, capsys):
    other = {"missing": lambda: tmp_path / "nowhere", "file": lambda: tmp_path / "afile",
             "empty": lambda: tmp_path / "empty", "sweep": lambda: tmp_path / "sweep"}
    (tmp_path / "afile").write_text("x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "experiment.toml").write_text("")
    path = other[case]() if case in other else _broken(tmp_path, runs, case)
    refused(capsys, main(["compare", str(runs["A"]), str(path)]), *fragments)
    assert files_under(here) == []


@pytest.mark.parametrize("argv, fragment", [
    (["A", "B", "C"], "give one sweep directory or two run directories, not 3"),
    (["A"], "is not a sweep directory (no experiment.toml) (a run directory: compare two runs, RUN_A RUN_B)"),
    (["SWEEP", "--out", "x"], "--out applies to two runs"),
])
def test_the_wrong_number_of_folders_is_refused(argv, fragment, runs, tmp_path, here, capsys):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "experiment.toml").write_text("")
    paths = {"A": str(runs["A"]), "B": str(runs["B"]), "C": str(runs["C"]), "SWEEP": str(sweep)}
    refused(capsys, main(["compare", *[paths.get(a, a) for a in argv]]), "simulation compare: ", fragment)
    assert files_under(here) == []


def test_a_used_out_is_refused_before_anything_is_written(runs, here, capsys):
    (here / "used").mkdir()
    (here / "used" / "x").write_text("x")
    refused(capsys, main(["compare", str(runs["A"]), str(runs["B"]), "--out", "used"]),
            "simulation compare: --out: used exists and is not an empty directory")
    assert files_under(here) == ["used", "used/x"]


def test_nothing_is_half_written(runs, here, monkeypatch):
    def boom(a, b):
        raise RuntimeError("a figure failed")

    monkeypatch.setattr(compare, "comparison_figures", boom)
    with pytest.raises(RuntimeError):
        main(["compare", str(runs["A"]), str(runs["B"]), "--out", "cmp"])
    assert files_under(here) == []  # no folder, no temporary sibling


def test_the_comparison_figures_are_legible(runs):
    a, b = load_run(runs["A"]), load_run(runs["B"])
    figs = compare.comparison_figures(a, b)
    try:
        for name, fig in figs.items():
            titles = "\n".join([fig.get_suptitle(), *(ax.get_title() for ax in fig.axes)])
            assert f"A: {a.info.label}" in titles and f"B: {b.info.label}" in titles, name
            assert overlapping_ticks(fig) == [] and cut_off(fig) == [], name
            assert hidden_lines(fig) == [], name
    finally:
        for fig in figs.values():
            plt.close(fig)
