"""The CLI end to end, the run directory contract, reproducibility, conservation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simulation import CoercionModel, load_config, run
from simulation.cli import main
from simulation.metrics import COLUMNS
from tests.conftest import JAPAN, KOREA, TINY


def test_cli_run_writes_every_contract_file_and_column(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(JAPAN), "--steps", "20", "--seed", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "JP*" in printed and f"run directory: {out}" in printed
    for name in ("config.toml", "manifest.json", "model.csv", "country.csv", "country_commodity.csv",
                 "summary.json"):
        assert (out / name).is_file(), name
    for fig in ("escalation.png", "shortages.png", "prices.png", "output_loss.png"):
        assert (out / "figures" / fig).stat().st_size > 1000
    for table, cols in COLUMNS.items():
        df = pd.read_csv(out / f"{table}.csv")
        assert list(df.columns) == cols
        assert df["step"].max() == 19
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["start_date"] == "2025-11-07"
    assert manifest["packages"]["mesa"] == "3.5.1"
    summary = json.loads((out / "summary.json").read_text())
    jp = summary["countries"]["JP"]
    for key in ("cum_output_loss_pct_gdp", "peak_shortage_share", "weeks_in_shortage", "final_china_share",
                "strategy_cost_usd"):
        assert key in jp
    assert set(summary["escalation"]) >= {"peak_level", "weeks_to_peak", "conceded"}


def test_resolved_config_reproduces_the_run_byte_for_byte(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["run", str(KOREA), "--steps", "40", "--out", str(a), "--no-figures"]) == 0
    assert main(["run", str(a / "config.toml"), "--out", str(b), "--no-figures"]) == 0
    for name in ("model.csv", "country.csv", "country_commodity.csv", "summary.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_out_directory_that_exists_is_refused(tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "x").write_text("keep me")
    assert main(["run", str(TINY), "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert (out / "x").read_text() == "keep me"


def test_same_seed_identical_different_seed_different():
    r1 = run(load_config(TINY, seed=11))
    r2 = run(load_config(TINY, seed=11))
    r3 = run(load_config(TINY, seed=12))
    for name in ("model", "country", "country_commodity"):
        pd.testing.assert_frame_equal(getattr(r1, name), getattr(r2, name))
    assert not r1.country_commodity.equals(r3.country_commodity)


@pytest.mark.parametrize("path,steps,strategy", [(TINY, 52, None), (JAPAN, 60, None), (KOREA, 60, None),
                                                 (KOREA, 60, "dependence_ceiling")])
def test_material_is_conserved_per_commodity_per_step(path, steps, strategy):
    # dependence_ceiling: the ceiling cuts orders through hub traders too, and traders pass on
    # all they receive (no tonnes lost between a cut and the trader's fill rate)
    res = run(load_config(path, steps=steps, strategy=strategy))
    lg = res.ledger
    lhs = lg["supply_t"]
    rhs = lg["use_t"] + lg["inventory_change_t"] + lg["losses_t"]
    scale = np.maximum(lhs, 1.0)
    assert np.all(np.abs(lhs - rhs) / scale < 1e-9)
    assert lhs.sum() > 0


def test_state_stays_in_bounds_through_a_crisis():
    model = CoercionModel(load_config(JAPAN, steps=80))
    model.run_model()
    s = model.state
    assert (s.inventory >= -1e-9).all() and (s.in_transit >= -1e-9).all()
    assert (s.price > 0).all() and (s.price_cn > 0).all()
    cc = model.recorder.tables()["country_commodity"]
    assert cc["shortage_share"].between(0, 1).all()
    assert cc["china_share"].dropna().between(0, 1 + 1e-12).all()


def test_the_run_writer_replaces_unfinished_folders_and_keeps_finished_ones(tmp_path):
    from simulation.rundir import commit_dir, read_marker

    def files(text):
        return lambda tmp: (tmp / "f.txt").write_text(text)

    out = tmp_path / "run"
    out.mkdir()  # an empty folder made beforehand (simulation run --out)
    assert commit_dir(out, files("a")) and (out / "f.txt").read_text() == "a"
    swept = tmp_path / "runs" / "000001"
    assert commit_dir(swept, files("b"), "COMPLETE", "ok") and read_marker(swept, "COMPLETE") == "ok"
    assert not commit_dir(swept, files("c"), "COMPLETE", "ok")  # finished by another writer: kept
    assert (swept / "f.txt").read_text() == "b"
    (swept / "COMPLETE").unlink()  # renamed but never marked: redone
    assert commit_dir(swept, files("d"), "COMPLETE", "failed") and (swept / "f.txt").read_text() == "d"

    def boom(tmp):
        (tmp / "partial").write_text("x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        commit_dir(tmp_path / "never", boom)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "runs"]  # no folder, no temporary left


def test_the_loss_is_broken_down_by_the_commodity_that_binds(tiny):
    from simulation import run

    summary = run(tiny).summary
    for row in summary["countries"].values():
        by_com = row["cum_output_loss_pct_gdp_by_commodity"]
        assert sum(by_com.values()) == pytest.approx(row["cum_output_loss_pct_gdp"], rel=1e-9, abs=1e-12)
        assert list(by_com.values()) == sorted(by_com.values(), reverse=True)
        assert row["binding_commodity"] == next((c for c in by_com if c != "trade_ban"), None)
    assert summary["countries"]["JP"]["binding_commodity"] in ("ree", "gallium")  # the embargo bites
