"""Sweeps: experiment files, common random numbers, parallel = serial = Dask, resume after
SIGKILL, failed runs as data, the comparison report, Sobol indices."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import tomli_w

from simulation.cli import main
from simulation.config import ConfigError, load_config
from simulation.sweep.design import design, run_seed
from simulation.sweep.executors import WORKER_PRELOAD, process_pool
from simulation.sweep.experiment import SweepError, load_experiment
from simulation.sweep.loop import run_sweep
from simulation.sweep.store import MARKER, compact, is_compacted, is_reported, load_results
from simulation.warmup import warm_kernels

from .conftest import TINY

STRATEGIES = {
    "tiny_stock.toml": 'name = "tiny_stock"\n[levers.JP]\nstockpile_target_days = 120.0\n'
                       "stockpile_refill_share_per_week = 0.2\n",
    "baseline_copy.toml": 'name = "baseline_copy"\ndescription = "No levers: must equal baseline."\n',
}
UNCERTAINTIES = [
    {"name": "approval", "path": "escalation.levels.1.measures.0.approval_probability", "low": 0.0, "high": 0.6},
    {"name": "start", "path": "escalation.script.0.date", "low": pd.Timestamp("2026-01-16").date(),
     "high": pd.Timestamp("2026-04-03").date()},
]


def experiment_file(folder: Path, name: str = "tiny_sweep", **changes) -> Path:
    """A small experiment on the tiny world (runs of ~0.1 s), with its strategy files."""
    folder.mkdir(parents=True, exist_ok=True)
    for fname, text in STRATEGIES.items():
        (folder / fname).write_text(text)
    data = {"name": name, "seed": 11, "seeds": 2, "scenarios": [str(TINY)],
            "strategies": ["baseline", "tiny_stock.toml", "baseline_copy.toml"],
            "design": {"method": "lhs", "samples": 2}, "uncertainties": UNCERTAINTIES}
    data.update(changes)
    path = folder / f"{name}.toml"
    path.write_bytes(tomli_w.dumps(data).encode())
    return path


def tables(directory: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(directory / f"{name}.parquet")
            for name in ("results", "series", "commodity_series")}


def assert_same_tables(a: Path, b: Path) -> None:
    ta, tb = tables(a), tables(b)
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], obj=name)


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> tuple[Path, Path]:
    """The experiment file and its sweep, run in this process (--workers 1)."""
    folder = tmp_path_factory.mktemp("serial")
    exp = experiment_file(folder)
    outcome = run_sweep(exp, out=folder / "sweep", workers=1, progress=False, verbose=False)
    assert outcome.n_runs == outcome.n_executed == 12 and outcome.n_failed == 0
    return exp, folder / "sweep"


# ------------------------------------------------------------------ design and CRN


def test_design_gives_every_strategy_the_same_seed(serial):
    exp_path, sweep = serial
    exp = load_experiment(exp_path)
    table = design(exp)
    assert len(table) == 1 * 2 * 2 * 3
    per_pair = table.groupby(["scenario", "sample", "replicate"])
    assert (per_pair["seed"].nunique() == 1).all()  # common random numbers
    assert (per_pair["strategy"].apply(sorted).apply(tuple) == ("baseline", "baseline_copy", "tiny_stock")).all()
    assert table.drop_duplicates(["sample", "replicate"])["seed"].is_unique  # else different draws
    # seeds depend only on (root, scenario, sample, replicate): not on the strategies listed
    fewer = design(exp.model_copy(update={"strategies": exp.strategies[:1]}))
    assert fewer["seed"].tolist() == table[table["strategy"] == "baseline"]["seed"].tolist()
    assert fewer["seed"].iloc[0] == run_seed(11, "tiny", 0, 0)
    # each run was made with its design seed and its sampled parameters
    row = table.iloc[4]
    cfg = load_config(sweep / "runs" / row["run_id"] / "config.toml")
    assert cfg.run.seed == row["seed"]
    assert cfg.escalation.levels[1].measures[0].approval_probability == row["approval"]
    assert cfg.escalation.script[0].date == row["start"]


def test_a_strategy_without_levers_equals_baseline_pair_by_pair(serial):
    res = load_results(serial[1])
    key = ["sample", "replicate"]
    base = res[res["strategy"] == "baseline"].set_index(key).sort_index()
    copy = res[res["strategy"] == "baseline_copy"].set_index(key).sort_index()
    stock = res[res["strategy"] == "tiny_stock"].set_index(key).sort_index()
    assert (copy["cum_output_loss_pct_gdp"] == base["cum_output_loss_pct_gdp"]).all()
    assert (copy["weeks_in_shortage"] == base["weeks_in_shortage"]).all()
    assert (stock["strategy_cost_usd"] > base["strategy_cost_usd"]).all()
    loss = base["cum_output_loss_pct_gdp"].unstack("replicate")
    assert loss.mean(axis=1).nunique() == len(loss)  # the samples differ
    hurt = loss[(loss > 0).all(axis=1)]
    assert len(hurt) and (hurt.nunique(axis=1) == hurt.shape[1]).all()  # and so do the seeds, where there is a loss


def test_lhs_and_grid_designs(tmp_path):
    exp = load_experiment(experiment_file(tmp_path, design={"method": "grid", "grid_points": 3}))
    table = design(exp)
    assert len(table) == 3 * 3 * 2 * 3
    assert sorted(table["approval"].unique()) == [0.0, 0.3, 0.6]
    lhs = exp.model_copy(update={"design": exp.design.model_copy(update={"method": "lhs", "samples": 5})})
    units = design(lhs).drop_duplicates("sample")["approval"].to_numpy() / 0.6
    assert sorted((units * 5).astype(int)) == [0, 1, 2, 3, 4]  # one point per stratum


def test_list_indices_in_parameter_overrides():
    cfg = load_config(TINY, params={"escalation.levels.1.measures.0.approval_probability": 0.3})
    assert cfg.escalation.levels[1].measures[0].approval_probability == 0.3
    with pytest.raises(ConfigError, match=r"escalation\.levels\.7\.name: '7' is not an index of a list of 2"):
        load_config(TINY, params={"escalation.levels.7.name": "x"})


# ---------------------------------------------------------------- executors agree


def test_two_worker_processes_equal_one(serial, tmp_path):
    exp, sweep = serial
    with process_pool(2) as pool:
        outcome = run_sweep(exp, pool, out=tmp_path / "parallel", progress=False, verbose=False)
    assert outcome.n_executed == 12
    assert_same_tables(sweep, tmp_path / "parallel")
    assert (tmp_path / "parallel" / "results.parquet").read_bytes() == (sweep / "results.parquet").read_bytes()


def test_worker_preload_modules_exist_and_warm_the_kernels():
    # the fork server ignores a preload module that fails to import: check they all do
    for name in WORKER_PRELOAD:
        if name != "__main__":
            importlib.import_module(name)
    assert warm_kernels(steps=1)


def test_dask_local_cluster_equals_local_processes(serial, tmp_path):
    distributed = pytest.importorskip("distributed")
    exp, sweep = serial
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        run_sweep(exp, client.get_executor(pure=False), out=tmp_path / "dask", progress=False, verbose=False)
    assert_same_tables(sweep, tmp_path / "dask")


# ------------------------------------------------------------------ kill and resume


def _cli(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "simulation", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_sweep_killed_midway_resumes_without_loss_or_duplication(tmp_path):
    exp = experiment_file(tmp_path, seeds=5, design={"method": "lhs", "samples": 4})  # 60 runs
    out = tmp_path / "killed"
    proc = _cli("sweep", str(exp), "--workers", "2", "--out", str(out), "--no-progress", start_new_session=True)
    deadline = time.monotonic() + 120
    while len(list(out.glob(f"runs/*/{MARKER}"))) < 6:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the main process and its workers, mid-sweep
    proc.wait()
    done = {p.parent.name: p.stat().st_mtime_ns for p in out.glob(f"runs/*/{MARKER}")}
    assert 6 <= len(done) < 60, "the sweep should have been killed midway"
    assert not (out / "results.parquet").exists()

    proc = _cli("sweep", str(exp), "--resume", "--workers", "2", "--out", str(out), "--no-progress")
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr
    assert f"{len(done)} of 60 runs complete, {60 - len(done)} to run" in stderr
    # runs completed before the kill were not run again
    assert {p.parent.name: p.stat().st_mtime_ns for p in out.glob(f"runs/*/{MARKER}") if p.parent.name in done} == done
    assert len(list((out / "runs").iterdir())) == 60  # no leftovers of killed writers
    res = load_results(out)
    assert res["run_id"].is_unique and len(res) == 60 and (res["status"] == "ok").all()

    reference = tmp_path / "uninterrupted"
    run_sweep(exp, out=reference, workers=1, progress=False, verbose=False, report=False)
    assert_same_tables(reference, out)

    stamp = (out / "results.parquet").stat().st_mtime_ns
    proc = _cli("sweep", str(exp), "--resume", "--out", str(out))
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "nothing to do" in stderr
    assert (out / "results.parquet").stat().st_mtime_ns == stamp


def test_a_stale_table_a_cut_report_and_dead_temporaries_are_redone_on_resume(serial, tmp_path, capsys):
    exp, sweep = serial
    out = tmp_path / "copy"
    shutil.copytree(sweep, out)
    late = sorted((out / "runs").iterdir())[:2]
    for run in late:
        run.rename(tmp_path / run.name)
    compact(out)  # a table made while two runs were still being written
    assert (load_results(out)["status"] == "missing").sum() == 2
    for run in late:
        (tmp_path / run.name).rename(run)  # ... which then completed
    assert not is_compacted(out)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # temporaries of killed writers (a dead pid) and of live ones
        stale = [out / "runs" / f".r99.tmp-{dead.pid}-1", out / f".commodity_series.parquet.tmp-{dead.pid}"]
        kept = [out / "runs" / f".r98.tmp-{live.pid}-1", out / f".results.parquet.tmp-{live.pid}-7"]
        for path in (stale[0], kept[0]):
            path.mkdir()
        for path in (stale[1], kept[1]):
            path.write_bytes(b"half")
        capsys.readouterr()
        outcome = run_sweep(exp, out=out, resume=True, workers=1, progress=False)
        assert "all 12 runs are complete; compacting the results" in capsys.readouterr().err
        assert outcome.n_executed == 0 and outcome.n_failed == 0
        assert [p.exists() for p in stale + kept] == [False, False, True, True]
    finally:
        live.kill()
        live.wait()
    assert_same_tables(sweep, out)
    assert is_compacted(out) and is_reported(out)

    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["reported"]  # killed while writing the report
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "report.md").write_text("# Sweep")
    run_sweep(exp, out=out, resume=True, workers=1, progress=False)
    assert "all 12 runs are complete; writing the report" in capsys.readouterr().err
    assert (out / "report.md").read_text() == (sweep / "report.md").read_text()
    run_sweep(exp, out=out, resume=True, workers=1, progress=False)
    assert "nothing to do" in capsys.readouterr().err


def test_resume_needs_a_sweep_directory(serial, tmp_path):
    with pytest.raises(SweepError, match="nothing to resume: .*missing does not exist"):
        run_sweep(serial[0], out=tmp_path / "missing", resume=True, workers=1, progress=False, verbose=False)
    assert not (tmp_path / "missing").exists()


def test_resume_refuses_a_changed_experiment(serial, tmp_path):
    exp, sweep = serial
    changed = experiment_file(tmp_path, seed=12)
    with pytest.raises(SweepError, match="differs from its experiment.toml at 'seed'"):
        run_sweep(changed, out=sweep, resume=True, workers=1, progress=False, verbose=False)


# ----------------------------------------------------------------- failures as data


def test_failing_runs_are_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    import simulation.sweep.worker as worker

    # the CLI refuses an unknown strategy before the sweep starts (tests/test_inputs.py); a strategy
    # file that goes missing once the sweep runs is still recorded as failed runs
    exp = load_experiment(experiment_file(tmp_path, strategies=["baseline", "no_such_strategy"], seeds=3,
                                          design={"method": "none"}, uncertainties=[]), check=False)
    bad_seed = run_seed(11, "tiny", 0, 1)
    real_run = worker.run

    def flaky(config):
        if config.run.seed == bad_seed:
            raise RuntimeError("boom\nsecond line")
        return real_run(config)

    monkeypatch.setattr(worker, "run", flaky)
    outcome = run_sweep(exp, out=tmp_path / "s", workers=1, progress=False, verbose=False)
    assert outcome.n_runs == 6 and outcome.n_failed == 4
    res = load_results(tmp_path / "s").set_index(["strategy", "replicate"])
    assert res.loc[("baseline", 1), "error"] == "RuntimeError: boom second line"
    assert res.loc[("baseline", 0), "status"] == res.loc[("baseline", 2), "status"] == "ok"
    assert res.loc[("no_such_strategy", 0), "status"] == "failed"
    assert "unknown strategy 'no_such_strategy'" in res.loc[("no_such_strategy", 0), "error"]
    run_id = res.loc[("baseline", 1), "run_id"]
    assert "Traceback" in (tmp_path / "s" / "runs" / run_id / "error.json").read_text()
    report = (tmp_path / "s" / "report.md").read_text()
    assert "## Failed runs" in report and "`no_such_strategy` | 3 |" in report


# ------------------------------------------------------------------- report


def test_report_ranks_strategies_with_intervals(serial):
    sweep = serial[1]
    report = (sweep / "report.md").read_text()
    ranked = report.split("### Strategies ranked")[1].split("###")[0]
    rows = [line for line in ranked.splitlines() if line.startswith("| 1 ") or line.startswith("| 2 ")]
    assert len(rows) == 2 and all("[" in r and "]" in r for r in rows)
    assert "`tiny_stock`" in ranked and "`baseline_copy`" in ranked
    comparison = pd.read_csv(sweep / "comparison.csv")
    copy = comparison[comparison["strategy"] == "baseline_copy"]
    assert (copy[["mean", "ci_low", "ci_high"]] == 0).all().all()
    stock = comparison[(comparison["strategy"] == "tiny_stock") & (comparison["outcome"] == "strategy_cost_usd")]
    assert (stock["ci_low"] > 0).all()
    for fig in ("escalation_fan", "loss_by_strategy", "time_series_bands", "cost_effectiveness"):
        assert (sweep / "figures" / f"{fig}.png").stat().st_size > 0


def test_compare_rebuilds_the_report(serial, capsys):
    sweep = serial[1]
    before = (sweep / "report.md").read_text()
    (sweep / "report.md").unlink()
    assert main(["compare", str(sweep)]) == 0
    assert (sweep / "report.md").read_text() == before
    assert "report.md" in capsys.readouterr().out


def test_sobol_design_gives_indices(tmp_path):
    pytest.importorskip("SALib")
    exp = experiment_file(tmp_path, strategies=["baseline"], seeds=1, design={"method": "sobol", "samples": 4})
    outcome = run_sweep(exp, out=tmp_path / "sobol", workers=1, progress=False, verbose=False)
    assert outcome.n_runs == 4 * (2 + 2)
    sobol = pd.read_csv(tmp_path / "sobol" / "sobol.csv")
    assert sorted(sobol["parameter"]) == ["approval", "start"]
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(sobol.columns) and sobol[["S1", "ST"]].notna().all().all()
    assert (tmp_path / "sobol" / "figures" / "sobol.png").is_file()
    assert "Sensitivity of cum_output_loss_pct_gdp (Sobol)" in (tmp_path / "sobol" / "report.md").read_text()


# ------------------------------------------------------------- bad input, exit 2

BAD = [
    ({"sede": 1}, "sede: unknown key"),
    ({"design": {"mehtod": "lhs"}}, "design.mehtod: unknown key"),
    ({"seeds": 0}, "seeds: Input should be greater than or equal to 1"),
    ({"scenarios": ["nowhere.toml"]}, "scenarios[0]: file not found: nowhere.toml"),
    ({"baseline": "calm"}, "baseline: 'calm' is not one of the strategies"),
    ({"uncertainties": [{**UNCERTAINTIES[0], "path": "escalation.levels.1.measures.0.aproval"}]},
     "uncertainties[0].path: 'escalation.levels.1.measures.0.aproval' does not exist in tiny"),
    ({"uncertainties": [{**UNCERTAINTIES[0], "low": 0.7}]}, "uncertainties[0]: low (0.7) must be below high (0.6)"),
    ({"uncertainties": [{**UNCERTAINTIES[0], "high": 1.5}]},
     "uncertainties[0].high: 1.5 is not valid for escalation.levels[1].measures[0].approval_probability"),
    ({"design": {"method": "none"}}, "design.method: 'none' samples nothing"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_bad_experiment_files_get_one_line_errors(tmp_path, capsys, change, message):
    exp = experiment_file(tmp_path, **change)
    assert main(["sweep", str(exp), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {exp}: ") and message in err, err
    assert not (tmp_path / "out").exists()


def test_malformed_or_missing_experiment_and_bad_command_lines(tmp_path, capsys, serial):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    cases = [
        (["sweep", str(bad)], "malformed TOML"),
        (["sweep", str(tmp_path / "missing.toml")], "file not found"),
        (["sweep", str(serial[0]), "--workers", "0"], "--workers"),
        (["sweep", str(serial[0]), "--out", str(serial[1])], "use --resume to continue it"),
        (["sweep", str(serial[0]), "--retry-failed"], "--retry-failed needs --resume"),
        (["compare", str(tmp_path)], "is not a sweep directory"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, (argv, err)


SHIPPED_EXPERIMENTS = sorted((Path(__file__).parent.parent / "configs" / "experiments").glob("*.toml"))


@pytest.mark.parametrize("path", SHIPPED_EXPERIMENTS, ids=lambda p: p.stem)
def test_every_shipped_experiment_loads_and_pairs_its_runs(path):
    """Each shipped experiment file validates with its scenarios and uncertainty bounds checked, and its
    design runs every strategy once on each (scenario, sample, replicate), on the same seed (paired)."""
    exp = load_experiment(path)
    runs = design(exp)
    assert runs.run_id.is_unique
    cells = runs.groupby(["scenario", "sample", "replicate"])
    assert (cells.strategy.apply(sorted) == [sorted(exp.strategies)] * cells.ngroups).all()
    assert (cells.seed.nunique() == 1).all()
    assert set(runs.scenario) == {exp.scenario_label(s) for s in exp.scenarios}
