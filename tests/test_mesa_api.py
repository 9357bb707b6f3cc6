"""Mesa's conventions: the model built from keywords, its DataCollector, and ``mesa.batch_run``."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mesa.batchrunner import batch_run

from simulation.agents import StateAgent
from simulation.config import ConfigError, load_config
from simulation.mesa_api import MODEL_REPORTERS, STATE_REPORTERS, config_from_keywords
from simulation.model import CoercionModel

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "data" / "tiny.toml"

#: A strategy for the tiny world: Japan stockpiles 200 days of everything before the controls bite.
JP_STOCKPILE = """name = "jp_stockpile"
description = "Japan: 200 days of every input by the third week."
[levers.JP]
stockpile_target_days = 200.0
stockpile_target_date = 2026-01-20
stockpile_refill_share_per_week = 1.0
"""


def test_keywords_build_the_same_model_as_a_config():
    by_keywords = CoercionModel(scenario=str(TINY), seed=7, steps=12)
    by_config = CoercionModel(load_config(TINY, seed=7, steps=12))
    assert by_keywords.config == by_config.config
    by_keywords.run_model()
    by_config.run_model()
    for name, table in by_config.recorder.tables().items():
        pd.testing.assert_frame_equal(by_keywords.recorder.tables()[name], table, check_exact=True)


def test_a_lever_is_a_dotted_path_with_double_underscores():
    flat = config_from_keywords(str(TINY), world__firms__scale=0.5, escalation__after_script="endogenous")
    dotted = config_from_keywords(str(TINY), **{"world.firms.scale": 0.5, "escalation.after_script": "endogenous"})
    assert flat == dotted
    assert flat.world.firms.scale == 0.5 and flat.escalation.after_script == "endogenous"
    with pytest.raises(ConfigError, match="world.firms.sclae"):
        config_from_keywords(str(TINY), world__firms__sclae=0.5)


def test_a_scenario_is_a_name_or_a_path_and_defaults_stay_in_the_config():
    cfg = config_from_keywords("korea_coerced", strategy="stockpile_100", seed=3, steps=52)
    assert (cfg.scenario.target, cfg.run.seed, cfg.n_steps) == ("KR", 3, 52)
    assert cfg.strategy.name == "stockpile_100"
    same = load_config(ROOT / "configs" / "scenarios" / "korea_coerced.toml", seed=3, steps=52,
                       strategy="stockpile_100")
    assert cfg == same
    assert config_from_keywords(str(TINY)) == load_config(TINY)  # nothing given: the config's own values
    with pytest.raises(TypeError, match="not both"):
        CoercionModel(load_config(TINY), seed=3)
    with pytest.raises(TypeError, match="name or a path"):
        config_from_keywords(scenario=object())


def test_the_collector_reports_the_tables_values_and_leaves_firms_lazy():
    model = CoercionModel(scenario=str(TINY), steps=20)
    model.run_model()
    assert model.firms.n_created == 0 and len(model.agents) == len(model.states)
    mv = model.datacollector.get_model_vars_dataframe()
    assert list(mv.columns) == list(MODEL_REPORTERS) and len(mv) == 21  # at build, then each week
    tables = model.recorder.tables()
    target = model.config.scenario.target
    country = tables["country"]
    tc = country[country.country == target]
    np.testing.assert_array_equal(mv.escalation_level.to_numpy()[1:], tables["model"].escalation_level)
    np.testing.assert_array_equal(mv.transshipped_t.to_numpy()[1:], tables["model"].transshipped_t)
    np.testing.assert_array_equal(mv.target_loss_pct_gdp.to_numpy()[1:], tc.output_loss_pct_gdp)
    np.testing.assert_array_equal(mv.target_cum_loss_pct_gdp.to_numpy()[1:], tc.cum_output_loss_pct_gdp)
    assert mv.target_cum_loss_pct_gdp.iloc[-1] > 0  # the tiny world's controls bite
    av = model.datacollector.get_agenttype_vars_dataframe(StateAgent)
    assert set(STATE_REPORTERS) <= set(av.columns) and len(av) == 21 * len(model.states)
    last = av.xs(20.0, level="Step").set_index("country")
    cc = tables["country_commodity"]
    week = cc[cc.step == 19]
    for code in model.states:
        mine = week[week.country == code]
        if mine.empty:
            assert pd.isna(last.loc[code, "tightest_commodity"]) and model.states[code].tightest_commodity is None
            continue
        low = mine.loc[mine.stockpile_days.idxmin()]
        assert (last.loc[code, "tightest_commodity"], last.loc[code, "tightest_stockpile_days"]) == (
            low.commodity, low.stockpile_days)
        row = country[(country.country == code) & (country.step == 19)].iloc[0]
        assert last.loc[code, "cum_loss_pct_gdp"] == row.cum_output_loss_pct_gdp
    assert model.firms.n_created == 0


def test_collection_is_opt_in_for_a_config():
    quiet = CoercionModel(load_config(TINY, steps=3))
    quiet.run_model()
    assert quiet.datacollector.get_model_vars_dataframe().empty
    loud = CoercionModel(load_config(TINY, steps=3), collect=True)
    loud.run_model()
    assert len(loud.datacollector.get_model_vars_dataframe()) == 4


@pytest.fixture
def start_method():
    """``batch_run`` sets the global start method to spawn: put it back for the other tests."""
    before = multiprocessing.get_start_method(allow_none=True)
    yield
    multiprocessing.set_start_method(before, force=True)


def test_batch_run_over_two_strategies(tmp_path, start_method):
    strategy = tmp_path / "jp_stockpile.toml"
    strategy.write_text(JP_STOCKPILE)
    rows = batch_run(CoercionModel, {"scenario": str(TINY), "strategy": ["baseline", str(strategy)], "steps": 16},
                     rng=[11], max_steps=100, data_collection_period=1, display_progress=False)
    df = pd.DataFrame(rows)
    assert sorted(df.strategy.unique()) == sorted(["baseline", str(strategy)])
    for _, runs in df.groupby("strategy"):  # one row set per strategy: each week, one row per state
        assert runs.RunId.nunique() == 1 and (runs.seed == 11).all()
        assert sorted(runs.Step.unique()) == list(range(17)) and len(runs) == 17 * 4
        assert set(MODEL_REPORTERS) | set(STATE_REPORTERS) <= set(runs.columns)
    jp = {name: runs[runs.country == "JP"].set_index("Step") for name, runs in df.groupby("strategy")}
    base, stock = jp["baseline"], jp[str(strategy)]
    # the same seed and script: China moves the same way, and nothing differs before the build starts
    pd.testing.assert_series_equal(base.escalation_level, stock.escalation_level)
    assert base.escalation_level.iloc[-1] == 1
    assert base.loc[0, "tightest_stockpile_days"] == stock.loc[0, "tightest_stockpile_days"]
    # Japan's stockpile buys it time
    assert stock.loc[16, "tightest_stockpile_days"] > base.loc[16, "tightest_stockpile_days"]
    assert stock.loc[16, "cum_loss_pct_gdp"] < base.loc[16, "cum_loss_pct_gdp"]


def test_mesas_own_plot_component_draws_a_model_reporter():
    """Mesa's plotting components read the model's DataCollector: ``make_plot_component`` renders."""
    import ipywidgets
    import solara
    from mesa.visualization import make_plot_component

    model = CoercionModel(scenario=str(TINY), steps=6)
    model.run_model()
    make, page = make_plot_component(["target_cum_loss_pct_gdp", "escalation_level"])
    _, rc = solara.render(make(model), handle_error=False)
    images = rc.find(ipywidgets.Image).widgets
    assert page == 0 and len(images) == 1 and bytes(images[0].value).startswith(b"\x89PNG")
    assert len(model.datacollector.get_model_vars_dataframe()) == 7  # week 0 and six weeks
