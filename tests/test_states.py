"""The states decide (simulation/states.py): China's calculus, the target's resolve, the log."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulation import run
from simulation.config import config_from_dict, config_to_dict, load_config
from simulation.model import CoercionModel, schedule
from simulation.population import POS_STOCKPILE
from simulation.states import DECISION_COLUMNS, CoercerRole, TargetRole

from .conftest import TINY

LICENSING = {"kind": "export_control", "commodities": ["ree", "gallium"], "approval_probability": 0.5,
             "delay_weeks": 4}
BAN_REE = {"kind": "export_control", "commodities": ["ree"], "instrument": "ban"}
BAN_ALL = {"kind": "export_control", "commodities": ["ree", "gallium"], "instrument": "ban"}
MINERAL_LADDER = [{"name": "calm"}, {"name": "licensing", "measures": [LICENSING]},
                  {"name": "ban_ree", "measures": [BAN_REE]}, {"name": "ban_all", "measures": [BAN_ALL]}]
MIXED_LADDER = [{"name": "calm"},
                {"name": "tourism", "measures": [{"kind": "trade_ban", "target_loss_share_gdp_per_year": 0.002}]},
                {"name": "licensing", "measures": [LICENSING]}, {"name": "ban", "measures": [BAN_ALL]},
                {"name": "seafood", "measures": [{"kind": "trade_ban", "target_loss_share_gdp_per_year": 0.01}]}]
WEIGHTS = {"revenue_weight": 1.0, "market_share_weight": 2.0, "producer_loss_weight": 0.5,
           "diversification_weight": 1.0}


def world(levels, weight_scale: float = 1.0, seed: int = 7, **esc) -> dict:
    """The tiny world, endogenous from the start on ``levels``, China's cost weights scaled."""
    data = config_to_dict(load_config(TINY))
    data["escalation"].update(mode="endogenous", script=[], levels=levels,
                              **{k: v * weight_scale for k, v in WEIGHTS.items()}, **esc)
    data["scenario"]["horizon_weeks"] = 60
    data["run"]["seed"] = seed
    return data


def first_step_down(data: dict) -> int | None:
    d = run(config_from_dict(data)).decisions
    down = d[(d.state == "CN") & (d.decision == "step_down")]
    return int(down.step.iloc[0]) if len(down) else None


def test_states_are_agents_stepped_before_the_mechanisms_in_a_documented_order():
    model = CoercionModel(load_config(TINY))
    assert schedule()[0] == "states"
    agents = list(model.state_agents)
    assert isinstance(agents[0].role, TargetRole) and isinstance(agents[1].role, CoercerRole)
    assert all(a.role is None for a in agents[2:])
    assert {a.code for a in agents} == set(model.eco.countries)
    assert all(a in model.agents for a in agents)  # Mesa agents of the model
    assert model.states["JP"] is agents[0] and model.states["CN"] is agents[1]


def test_china_steps_down_earlier_when_its_costs_weigh_more():
    # a target that refuses whatever happens, so only China's costs end the campaign
    light = first_step_down(world(MIXED_LADDER, weight_scale=0.1, target_resolve_pct_gdp=1000.0))
    heavy = first_step_down(world(MIXED_LADDER, weight_scale=1.0, target_resolve_pct_gdp=1000.0))
    assert heavy is not None
    assert light is None or light > heavy


def test_china_does_not_climb_the_whole_ladder_against_a_target_that_cannot_be_hurt():
    esc = dict(target_resolve_pct_gdp=1000.0, min_weeks_per_level=8)
    hurt = world(MINERAL_LADDER, weight_scale=0.01, **esc)
    full = world(MINERAL_LADDER, weight_scale=0.01, **esc)  # costs hardly weigh: only the pain decides
    for com in ("ree", "gallium"):
        full["world"]["countries"]["JP"]["commodities"][com]["stockpile_days"] = 3000.0
    top = len(MINERAL_LADDER) - 1
    hurt_levels = run(config_from_dict(hurt)).model["escalation_level"]
    full_run = run(config_from_dict(full))
    assert hurt_levels.max() == top  # the control: a target that is hurt sees the whole ladder
    assert full_run.model["escalation_level"].max() < top
    holds = full_run.decisions[(full_run.decisions.state == "CN") & (full_run.decisions.decision == "hold")]
    assert holds.reason.str.contains("raised pain by").any()


def test_resolve_is_drawn_once_per_run_and_moves_only_with_events():
    data = world(MIXED_LADDER, weight_scale=0.1, target_resolve_pct_gdp=0.5, resolve_noise_share=0.5,
                 resolve_rally_share=0.1)
    model = CoercionModel(config_from_dict(data))
    target = model.states["JP"].role
    drawn, climbs, seen = target.resolve_pct_gdp, 0, model.level
    while model.running:
        model.step()  # the target saw the level of the week before (its decision comes first)
        assert target.resolve_pct_gdp == pytest.approx(drawn * 1.1 ** climbs)
        climbs, seen = climbs + max(0, model.level - seen), model.level
    assert climbs >= 1
    # the same seed draws the same resolve; the draw does not depend on the strategy or the world's firms
    again = CoercionModel(config_from_dict(data))
    assert again.states["JP"].role.resolve0_pct_gdp == target.resolve0_pct_gdp


def test_concession_timing_spreads_across_seeds_without_weekly_redraws():
    weeks, resolves = [], []
    for seed in range(8):
        data = world(MIXED_LADDER, weight_scale=0.1, seed=seed, target_resolve_pct_gdp=0.3,
                     resolve_noise_share=0.5)
        res = run(config_from_dict(data))
        weeks.append(res.summary["escalation"]["concession_week"])
        d = res.decisions[res.decisions.state == "JP"]
        resolves.append(d.resolve_pct_gdp.iloc[0])
        # the target concedes the first week its pain exceeds its resolve, not on a lucky draw
        over = d[d.pain_pct_gdp > d.resolve_pct_gdp]
        conceded = d[d.decision == "concede"]
        assert len(conceded) == (1 if len(over) else 0)
        if len(over):
            assert conceded.step.iloc[0] == over.step.iloc[0]
    assert len(set(resolves)) == 8
    assert len({w for w in weeks}) >= 2  # timing (or whether at all) differs across seeds


def test_a_weak_target_concedes_at_once_and_a_resolute_one_never_under_the_same_rules():
    weak = run(config_from_dict(world(MIXED_LADDER, weight_scale=0.1, target_resolve_pct_gdp=0.05,
                                      resolve_noise_share=0.0)))
    strong = run(config_from_dict(world(MIXED_LADDER, weight_scale=0.1, target_resolve_pct_gdp=50.0,
                                        resolve_noise_share=0.0)))
    assert weak.summary["escalation"]["conceded"] and weak.summary["escalation"]["concession_week"] <= 2
    assert weak.model["escalation_level"].iloc[-1] == 0
    assert not strong.summary["escalation"]["conceded"] and strong.model["escalation_level"].max() >= 1


def test_decisions_are_logged_with_their_figures_and_written_to_the_run_dir(tmp_path):
    from simulation.runner import write_run

    data = world(MIXED_LADDER, target_resolve_pct_gdp=1000.0)
    model = CoercionModel(config_from_dict(data))
    model.run_model()
    log = model.decisions.frame()
    assert list(log.columns) == list(DECISION_COLUMNS)
    cn = log[log.state == "CN"]
    assert len(cn) == model.t  # China decides every week of an endogenous run
    assert set(cn.decision) <= {"escalate", "hold", "step_down", "calm", "script"}
    # every move on the ladder is a logged decision of China
    levels = model.recorder.tables()["model"]["escalation_level"].to_numpy()
    moved = np.flatnonzero(np.diff(np.concatenate(([0], levels))))
    assert list(cn[cn.decision.isin(["escalate", "step_down"])].step) == list(moved)
    assert cn.cost_index.notna().all() and cn.reason.str.len().gt(0).all()
    latest = model.latest_decisions()
    assert latest["CN"]["step"] == model.t - 1 and latest["JP"]["decision"] == "refuse"
    out = write_run(run(config_from_dict(data)), tmp_path / "run", figures=False)
    written = pd.read_csv(out / "decisions.csv")
    assert list(written.columns) == list(DECISION_COLUMNS) and len(written) == len(log)


def test_scripted_moves_are_logged_and_the_states_decide_only_after_the_script():
    cfg = load_config(TINY, params={"escalation.after_script": "endogenous"})
    res = run(cfg)
    d = res.decisions
    script_week = cfg.step_of(cfg.escalation.script[0].date)
    assert list(d[d.decision == "script"].step) == [script_week]
    jp = d[d.state == "JP"]
    assert len(jp) and jp.step.min() == script_week + 1
    held = run(load_config(TINY))  # after_script = hold: no one decides
    assert set(held.decisions.decision) == {"script"}


def test_a_strategys_crisis_lever_is_a_logged_decision_of_the_agency_and_raises_its_stockpile():
    data = config_to_dict(load_config(TINY))
    base = CoercionModel(config_from_dict(data))
    data["strategy"] = {"name": "crisis_response",
                        "levers": {"JP": {"crisis_stockpile_add_days": 60.0, "crisis_response_lag_weeks": 4.0}}}
    model = CoercionModel(config_from_dict(data))
    base.run_model()
    model.run_model()
    log = model.decisions.frame()
    raised = log[log.decision == "raise_stockpile_target"]
    crisis = model.config.step_of(model.config.escalation.script[0].date)  # the tiny world's controls
    # the agency sees the controls the week after they come into force, and decides 4 weeks later
    assert list(raised.state) == ["JP"] and list(raised.step) == [crisis + 1 + 4]
    assert "raise_stockpile_target" not in set(base.decisions.frame().decision)
    jp = model.states["JP"]
    # the agency buys toward the higher target when prices allow: never less stock than without it
    assert jp.stockpile_t("ree") >= base.states["JP"].stockpile_t("ree")
    e = model.eco
    stock = (e.pos_kind == POS_STOCKPILE) & (e.pos_country == jp.index)
    assert np.all(model.state.stock_target[stock] >= base.state.stock_target[stock])
    assert np.any(model.state.stock_target[stock] > base.state.stock_target[stock])
