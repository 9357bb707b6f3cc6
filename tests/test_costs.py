"""Strategy costs (issue 14, item 6): purchases at the price paid, holding per tonne-year,
recycling capex per t/yr of capacity, and the summary's accounting of them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from simulation import CoercionModel, load_config, run
from simulation.config import config_from_dict, config_to_dict
from simulation.population import POS_STOCKPILE
from tests.conftest import TINY

CALM = {"escalation.script": []}  # the tiny world without its controls


def tiny_data(calm: bool = True) -> dict:
    return config_to_dict(load_config(TINY, params=CALM if calm else None))


def jp_policy(data: dict, **levers) -> dict:
    data["world"]["countries"]["JP"].setdefault("policy", {}).update(levers)
    return data


def jp_stock_t(model: CoercionModel) -> float:
    """Tonnes in Japan's stockpiles (every commodity)."""
    e = model.eco
    jp = e.countries.index("JP")
    at = (e.pos_kind == POS_STOCKPILE) & (e.pos_country == jp)
    return float(model.state.inventory[at].sum())


def test_holding_cost_is_storage_plus_capital_and_insurance_per_tonne_year():
    storage, capital, insurance = 300.0, 0.03, 0.005
    data = jp_policy(tiny_data(), stockpile_storage_usd_per_t_per_year=storage,
                     stockpile_capital_cost_share_per_year=capital, stockpile_insurance_share_per_year=insurance)
    model = CoercionModel(config_from_dict(data))
    jp = model.eco.countries.index("JP")
    model.step()
    # only Japan's ree has a stockpile in the tiny world (56 days of 2,080 t/yr)
    held = jp_stock_t(model)
    assert held == pytest.approx(2080.0 * 56 / 365, rel=1e-6)
    per_t_year = storage + 10_000.0 * (capital + insurance)  # ree at its calm price, USD 10,000/t
    assert model.state.holding_cost_usd[jp] == pytest.approx(held * per_t_year / 52.0, rel=1e-9)


def test_holding_cost_scales_with_tonnes_held_and_with_time():
    def weekly_costs(days: float, weeks: int) -> tuple[np.ndarray, float]:
        data = tiny_data()
        data["world"]["countries"]["JP"]["commodities"]["ree"]["stockpile_days"] = days
        model = CoercionModel(config_from_dict(data))
        jp = model.eco.countries.index("JP")
        held = []
        for _ in range(weeks):
            model.step()
            held.append(jp_stock_t(model))
        return model.recorder.costs["holding_cost_usd"][:weeks, jp], float(np.mean(held))

    one, held_one = weekly_costs(56.0, 8)
    two, held_two = weekly_costs(112.0, 8)
    assert held_two == pytest.approx(2 * held_one, rel=1e-6)  # calm: nothing is released or bought
    assert two == pytest.approx(2 * one, rel=1e-9)  # twice the tonnes, twice the cost
    assert np.ptp(one) == pytest.approx(0.0, abs=1e-9 * one[0])  # a steady stock costs the same each week
    assert one[:4].sum() == pytest.approx(0.5 * one.sum(), rel=1e-9)  # half the weeks, half the cost


def test_stockpile_purchases_are_booked_at_the_price_paid():
    # a build to 150 days of ree by May, while the controls of the tiny world move the price
    data = jp_policy(tiny_data(calm=False), stockpile_target_days=150.0,
                     stockpile_target_date=dt.date(2026, 5, 1), stockpile_refill_share_per_week=0.5,
                     stockpile_refill_max_price_multiple=100.0)
    model = CoercionModel(config_from_dict(data))
    e, s = model.eco, model.state
    jp = e.countries.index("JP")
    at = (e.pos_kind == POS_STOCKPILE) & (e.pos_country == jp)
    paid, calm, prices = 0.0, 0.0, []
    for t in range(20):
        model.step()
        bought = s.shipped[at]
        com = e.pos_commodity[at]
        paid += float((bought * s.price[com]).sum())
        calm += float((bought * e.price0[com]).sum())
        prices.append(float(s.price[e.commodities.index("ree")]))
        assert model.recorder.costs["stock_purchase_usd"][t, jp] == pytest.approx((bought * s.price[com]).sum())
    assert calm > 0  # it bought
    assert max(prices) > 1.01 * e.price0[e.commodities.index("ree")]  # at prices above calm
    assert model.recorder.costs["stock_purchase_usd"][:20, jp].sum() == pytest.approx(paid)
    assert model.recorder.costs["stock_purchase_calm_usd"][:20, jp].sum() == pytest.approx(calm)
    assert paid > calm  # the premium it paid


def test_the_summary_counts_the_premium_over_calm_not_the_tonnes_kept():
    data = jp_policy(tiny_data(calm=False), stockpile_target_days=150.0,
                     stockpile_target_date=dt.date(2026, 5, 1), stockpile_refill_share_per_week=0.5,
                     stockpile_refill_max_price_multiple=100.0)
    row = run(config_from_dict(data)).summary["countries"]["JP"]
    assert row["stockpile_purchases_usd"] > row["stockpile_purchases_calm_value_usd"] > 0
    assert row["stockpile_purchase_premium_usd"] == pytest.approx(
        row["stockpile_purchases_usd"] - row["stockpile_purchases_calm_value_usd"])
    assert row["strategy_cost_usd"] == pytest.approx(
        row["stockpile_purchase_premium_usd"] + row["stockpile_holding_cost_usd"] + row["other_policy_cost_usd"])
    assert row["strategy_cost_usd"] < row["stockpile_purchases_usd"]


def test_recycling_capex_follows_the_commodity_figure_or_the_price_multiple():
    data = jp_policy(tiny_data(), recycling_target_share=0.2, recycling_target_date=dt.date(2026, 6, 5),
                     recycling_capex_price_multiple=1.5)
    data["world"]["commodities"]["ree"]["recycling_capex_usd_per_t_per_year"] = 100_000.0
    cost = run(config_from_dict(data)).summary["countries"]["JP"]["other_policy_cost_usd"]
    # capacity grows from 0 to 20% of use: ree 0.2 x 2,080 t/yr at USD 100,000 per t/yr (its own figure);
    # gallium 0.2 x 26 t/yr at 1.5 years of its calm price, USD 500,000/t (the state's multiple)
    assert cost == pytest.approx(0.2 * 2080.0 * 100_000.0 + 0.2 * 26.0 * 1.5 * 500_000.0, rel=1e-6)
    # without the commodity figure, ree too is costed by the multiple
    del data["world"]["commodities"]["ree"]["recycling_capex_usd_per_t_per_year"]
    cost = run(config_from_dict(data)).summary["countries"]["JP"]["other_policy_cost_usd"]
    assert cost == pytest.approx(0.2 * 2080.0 * 1.5 * 10_000.0 + 0.2 * 26.0 * 1.5 * 500_000.0, rel=1e-6)


@pytest.mark.parametrize("history_from", [None, dt.date(2025, 10, 3)])
def test_a_strategys_project_capex_is_booked_once_in_the_recorded_weeks(history_from):
    data = tiny_data()
    data["scenario"]["history_from"] = history_from
    data["strategy"]["projects"] = [{"name": "mine", "commodity": "ree", "country": "AU", "capacity_t_per_year": 500.0,
                                     "online_date": dt.date(2026, 6, 5), "ramp_weeks": 10, "capex_usd": 7e6}]
    model = CoercionModel(config_from_dict(data))
    model.run_model()
    jp = model.eco.countries.index("JP")  # no levers: the target pays
    policy = model.recorder.costs["policy_cost_usd"][:, jp]
    assert policy.sum() == pytest.approx(7e6)
    assert policy[0] == pytest.approx(7e6)  # at the start of the analysis, after any history


def test_what_the_history_costs_is_counted_before_the_first_recorded_week():
    # levers act from the history's first week (scenario.history_from): a stock built there is paid for there
    data = jp_policy(tiny_data(), stockpile_target_days=150.0, stockpile_target_date=dt.date(2026, 3, 6),
                     stockpile_refill_share_per_week=0.5)
    data["scenario"]["history_from"] = dt.date(2025, 10, 3)  # 13 weeks before the start
    model = CoercionModel(config_from_dict(data))
    e, s, pre = model.eco, model.state, model.recorder.pre_start
    jp = e.countries.index("JP")
    at = (e.pos_kind == POS_STOCKPILE) & (e.pos_country == jp)
    # ree (56 days at the start) and gallium (none): the target is every commodity's; calm: nothing released
    held = s.inventory[at] + s.in_transit[at]
    start = np.where(e.pos_commodity[at] == e.commodities.index("ree"), 2080.0 * 56 / 365, 0.0)
    assert pre.weeks == 13 and (held - start).min() > 0
    assert pre.usd["stock_purchase_calm_usd"][jp] == pytest.approx(
        float(((held - start) * e.price0[e.pos_commodity[at]]).sum()), rel=1e-9)
    assert pre.usd["holding_cost_usd"][jp] > 13 * 2080.0 * 56 / 365 * (200.0 + 10_000.0 * 0.027) / 52 * 0.999
    row = run(config_from_dict(data)).summary["countries"]["JP"]
    assert row["pre_start_cost_usd"] == pytest.approx(
        pre.usd["stock_purchase_usd"][jp] - pre.usd["stock_purchase_calm_usd"][jp] + pre.usd["holding_cost_usd"][jp]
        + pre.usd["policy_cost_usd"][jp])
    assert row["strategy_cost_usd"] == pytest.approx(
        row["stockpile_purchase_premium_usd"] + row["stockpile_holding_cost_usd"] + row["other_policy_cost_usd"]
        + row["pre_start_cost_usd"])
    # without a history nothing is spent before the start
    data["scenario"]["history_from"] = None
    assert run(config_from_dict(data)).summary["countries"]["JP"]["pre_start_cost_usd"] == 0.0
