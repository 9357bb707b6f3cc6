"""The uncertainty catalogue (configs/uncertainties.toml), Morris screening over it, and the
sensitivity document."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import tomli_w
from pydantic import BaseModel

from simulation.cli import main
from simulation.config import ConfigError, load_config
from simulation.config.catalogue import check_catalogue, load_catalogue
from simulation.sweep.experiment import load_experiment
from simulation.sweep.loop import run_sweep

from .conftest import KOREA, ROOT, TINY, refused

CATALOGUE = ROOT / "configs" / "uncertainties.toml"
JAPAN = ROOT / "configs" / "scenarios" / "japan_2026.toml"


def _assumption_paths(node, path: str = "") -> list[str]:
    """Dotted paths of every config field whose schema description labels it an assumption."""
    found = []
    if isinstance(node, BaseModel):
        for name, info in type(node).model_fields.items():
            sub = f"{path}.{name}" if path else name
            if "Assumption" in (info.description or ""):
                found.append(sub)
            found += _assumption_paths(getattr(node, name), sub)
    elif isinstance(node, dict):
        for k, v in node.items():
            found += _assumption_paths(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _assumption_paths(v, f"{path}.{i}")
    return found


@pytest.mark.parametrize("scenario", [JAPAN, KOREA], ids=["japan_2026", "korea_coerced"])
def test_the_catalogue_agrees_with_the_shipped_scenarios(scenario):
    cfg = load_config(scenario)
    assert check_catalogue(load_catalogue(CATALOGUE), cfg) == []


def test_every_parameter_labelled_an_assumption_is_in_the_catalogue():
    cfg = load_config(JAPAN)
    cat = load_catalogue(CATALOGUE)
    listed = {path for p in cat.parameters for path in p.paths_in(cfg)}
    missing = [p for p in _assumption_paths(cfg) if p not in listed]
    assert missing == []


def test_catalogue_entries_carry_their_evidence(tmp_path):
    bad = {"parameters": [{"name": "x", "label": "x", "path": "world.market.precautionary_days", "value": 14.0,
                           "unit": "days", "low": 0.0, "high": 45.0, "kind": "sourced", "quality": "B"}]}
    path = tmp_path / "cat.toml"
    path.write_bytes(tomli_w.dumps(bad).encode())
    with pytest.raises(ConfigError) as err:
        load_catalogue(path)
    assert str(path) in str(err.value) and "parameters[0]" in str(err.value) and "source" in str(err.value)
    bad["parameters"][0].update(kind="assumption", reasoning="judgement", value=50.0)
    path.write_bytes(tomli_w.dumps(bad).encode())
    with pytest.raises(ConfigError, match="low <= value <= high"):
        load_catalogue(path)


def test_a_catalogue_value_that_disagrees_with_the_config_is_named():
    cat = load_catalogue(CATALOGUE)
    cfg = load_config(JAPAN, params={"world.market.precautionary_days": 20.0})
    assert check_catalogue(cat, cfg) == ["precautionary_days: 'world.market.precautionary_days' is 20.0 in the "
                                         "config, 14.0 in the catalogue"]


def test_an_experiment_samples_the_catalogue_with_wildcards_expanded():
    exp = load_experiment(ROOT / "configs" / "experiments" / "sensitivity_japan.toml", check=False)
    cat = load_catalogue(CATALOGUE)
    assert [u.name for u in exp.uncertainties] == [p.name for p in cat.parameters if p.sample]
    flex = next(u for u in exp.uncertainties if u.name == "price_flexibility")
    cfg = load_config(JAPAN)
    assert flex.paths == [f"world.commodities.{c}.price_flexibility" for c in cfg.world.commodities]
    assert exp.n_samples == exp.design.samples * (len(exp.uncertainties) + 1)


def _catalogue_experiment(folder: Path, **changes) -> Path:
    cat = {"parameters": [
        {"name": "approval", "label": "approval at level 1",
         "path": "escalation.levels.1.measures.0.approval_probability", "value": 0.0, "unit": "share", "low": 0.0,
         "high": 0.9, "kind": "assumption", "quality": "C", "reasoning": "test", "sample": True},
        {"name": "stock_days", "label": "JP stockpile", "path": "world.countries.JP.commodities.*.stockpile_days",
         "value": 0.0, "unit": "days", "low": 0.0, "high": 120.0, "kind": "assumption", "quality": "C",
         "reasoning": "test", "sample": True},
        {"name": "unused", "label": "not sampled", "path": "world.market.precautionary_days", "value": 14.0,
         "unit": "days", "low": 0.0, "high": 45.0, "kind": "sourced", "quality": "A", "source": "test"}]}
    (folder / "cat.toml").write_bytes(tomli_w.dumps(cat).encode())
    data = {"name": "tiny_morris", "seed": 5, "scenarios": [str(TINY)], "strategies": ["baseline", "stock.toml"],
            "uncertainties_from": "cat.toml", "design": {"method": "morris", "samples": 3, "levels": 4}}
    (folder / "stock.toml").write_text('name = "stock"\n[levers.JP]\nstockpile_target_days = 60.0\n')
    data.update(changes)
    path = folder / "morris.toml"
    path.write_bytes(tomli_w.dumps(data).encode())
    return path


def test_morris_sweep_and_the_sensitivity_document(tmp_path, capsys):
    pytest.importorskip("SALib")
    exp = _catalogue_experiment(tmp_path)
    outcome = run_sweep(exp, out=tmp_path / "sweep", workers=1, progress=False, verbose=False)
    assert outcome.n_runs == 2 * 3 * (2 + 1) and outcome.n_failed == 0
    design = pd.read_parquet(tmp_path / "sweep" / "results.parquet")
    assert set(design["approval"].round(6)) <= {0.0, 0.3, 0.6, 0.9}  # 4 levels on the range
    morris = pd.read_csv(tmp_path / "sweep" / "morris.csv")
    assert set(morris["outcome"]) == {"cum_output_loss_pct_gdp", "avoided: stock"}
    assert sorted(set(morris["parameter"])) == ["approval", "stock_days"]
    assert (morris["mu_star"] >= 0).all() and morris["mu_star"].notna().all()
    # the embargo's approval moves Japan's loss; a bigger starting stockpile cuts it
    baseline = morris[(morris["outcome"] == "cum_output_loss_pct_gdp") & (morris["strategy"] == "baseline")]
    loss = baseline.set_index("parameter")
    assert loss.loc["approval", "mu_star"] > 0 and loss.loc["stock_days", "mu"] <= 0
    doc = tmp_path / "sensitivity.md"
    assert main(["sensitivity", str(tmp_path / "sweep"), "--catalogue", str(tmp_path / "cat.toml"),
                 "--out", str(doc)]) == 0
    text = doc.read_text()
    top = morris.loc[morris["mu_star_rel"].idxmax(), "parameter"]
    assert f"| 1 | `{top}` |" in text and "assumption (C)" in text
    assert "## By outcome" in text and "avoided: stock" in text


def test_sensitivity_refuses_a_sweep_without_morris(tmp_path, capsys):
    (tmp_path / "plain").mkdir()
    code = main(["sensitivity", str(tmp_path / "plain"), "--out", str(tmp_path / "s.md")])
    refused(capsys, code, "not a sweep directory")
    assert not (tmp_path / "s.md").exists()


def test_unknown_catalogue_names_are_refused(tmp_path, capsys):
    exp = _catalogue_experiment(tmp_path, select=["aproval"])
    code = main(["sweep", str(exp), "--out", str(tmp_path / "out"), "--dry-run"])
    refused(capsys, code, "select[0]", "'aproval'", "approval")
