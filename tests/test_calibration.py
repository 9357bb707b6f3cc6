"""Calibration: the published estimates are reproduced; a broken profile is caught."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from simulation.calibration import TOLERANCE, load_cases, validate
from simulation.cli import main
from simulation.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def test_every_published_figure_within_tolerance_over_20_seeds():
    checks = validate(n_seeds=20)
    assert len(checks) == 10  # 4 cases x (GDP %, yen) + 2 jobs figures
    bad = [(c.case.name, c.measure, round(c.error, 3)) for c in checks if not c.ok]
    assert not bad
    assert all(c.low <= c.mean <= c.high for c in checks)


def test_one_model_two_documented_views():
    views = {c.profile for c in load_cases()}
    assert views == {"adaptive", "fixed_coefficient"}
    a = load_config(ROOT / "configs/calibration/nri_12m.toml")
    d = load_config(ROOT / "configs/calibration/daiwa_ree_12m.toml")
    assert a.escalation.levels == d.escalation.levels  # the same shock machinery
    assert a.world.output.leontief_share == 0.0 and d.world.output.leontief_share == 1.0
    assert a.world.firms.inventory_days_scale == d.world.firms.inventory_days_scale  # shared fitted value
    assert all(c.substitutability_share == 0 for c in d.world.commodities.values())


def test_a_broken_profile_fails_validation(tmp_path, monkeypatch):
    configs = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", configs)
    profile = configs / "calibration" / "profiles" / "fixed_coefficient_fitted.toml"
    text = profile.read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("induced_multiplier"))
    value = float(line.split("=")[1])
    profile.write_text(text.replace(line, f"induced_multiplier = {value * 2}"))
    checks = validate(configs / "calibration", n_seeds=2)
    failed = {c.case.name for c in checks if not c.ok}
    assert {"daiwa_ree_12m", "daiwa_rare_metals_12m"} <= failed
    # the broken profile moves only its own cases (with 2 seeds an intact case may miss by chance)
    intact = validate(ROOT / "configs" / "calibration", n_seeds=2)
    assert [(c.case.name, c.measure) for c in checks] == [(c.case.name, c.measure) for c in intact]
    for broken, ok in zip(checks, intact, strict=True):
        if broken.case.profile != "fixed_coefficient":
            assert broken.mean == ok.mean, broken.case.name
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--seeds", "2", "--report", str(tmp_path / "cal.md")]) == 1
    assert "| NO |" in (tmp_path / "cal.md").read_text()


def test_bad_cases_file_is_one_line(tmp_path):
    (tmp_path / "cases.toml").write_text('[[cases]]\nname = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_cases(tmp_path)
    assert "cases.toml: cases.0.label" in str(err.value)
    assert 0 < TOLERANCE < 1
