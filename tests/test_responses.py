"""Responses and coercion dynamics (issue 3): each mechanism's behaviour."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from simulation import CoercionModel, load_config, run
from simulation.config import ConfigError, config_from_dict, config_to_dict
from simulation.population import POS_TRADER
from tests.conftest import KOREA, TINY


def tiny_dict(**changes):
    data = config_to_dict(load_config(TINY))
    for dotted, value in changes.items():
        cur = data
        parts = dotted.split(".")
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur.setdefault(p, {})
        cur[parts[-1]] = value
    return data


def with_boycott(enforcement: float, approval: float = 0.0):
    data = tiny_dict()
    data["escalation"]["levels"][1]["measures"] = [
        {"kind": "export_control", "commodities": ["ree", "gallium"], "end_use": "all",
         "approval_probability": approval},
        {"kind": "secondary_boycott", "commodities": ["ree", "gallium"], "enforcement": enforcement},
    ]
    return data


def transshipped(data) -> np.ndarray:
    return run(config_from_dict(data)).model["transshipped_t"].to_numpy()


def test_transshipment_rises_when_direct_flows_are_cut():
    series = transshipped(with_boycott(0.0))
    before, after = series[:4].mean(), series[8:20].mean()
    assert after > 1.5 * before


def test_transshipment_falls_as_enforcement_rises():
    def mean_total(enforcement):
        data = with_boycott(enforcement)
        data["world"]["countries"]["VN"]["n_traders_per_commodity"] = 6
        out = []
        for seed in range(8):
            data["run"]["seed"] = seed
            out.append(transshipped(data)[4:].sum())
        return np.mean(out)

    totals = [mean_total(e) for e in (0.0, 0.5, 1.0)]
    assert totals[0] > totals[1] > totals[2]


def test_a_detected_trader_gets_no_chinese_supply_afterwards():
    model = CoercionModel(config_from_dict(with_boycott(1.0)))
    caught_at = None
    for _ in range(52):
        model.step()
        if caught_at is None and model.mechanisms["transshipment"].blacklisted.any():
            caught_at = model.t
            caught = np.flatnonzero(model.mechanisms["transshipment"].blacklisted)
    assert caught_at is not None
    e, s = model.eco, model.state
    up = (e.pos_kind[e.edge_pos] == POS_TRADER) & np.isin(e.pos_firm[e.edge_pos], caught)
    assert up.any() and not s.edge_open[up].any()
    # nothing flowed through them since: their deliveries to buyers are zero now
    via = e.edge_via_trader & np.isin(e.edge_supplier, caught)
    assert s.transshipped[via].sum() == 0.0


def embargo_then_calm(**levers):
    data = tiny_dict(**{"scenario.horizon_weeks": 156})
    data["escalation"]["script"] = [{"date": dt.date(2026, 1, 30), "level": 1},
                                    {"date": dt.date(2026, 7, 3), "level": 0}]
    data["world"]["commodities"]["ree"]["capacity_t_per_year"]["AU"] = 3000.0
    if levers:
        data["strategy"]["levers"] = {"JP": levers}
    model = CoercionModel(config_from_dict(data))
    jp = (model.eco.pos_country == model.eco.target) & (model.eco.pos_commodity == 0) & (model.eco.pos_kind == 0)
    use = model.eco.pos_base_use_t[jp]
    shares = []
    while model.running:
        model.step()
        cn = model.mechanisms["diversification"].cn_share()[jp]
        shares.append(float((cn * use).sum() / use.sum()))
    return np.array(shares), model


def test_crisis_diversification_then_re_dependence_under_the_baseline():
    shares, _ = embargo_then_calm()
    calm, trough, end = shares[0], shares[:40].min(), shares[-1]
    assert trough < calm - 0.05  # diversified during the embargo
    assert end > trough + 0.5 * (calm - trough)  # drifted back in calm


def test_a_dependence_ceiling_holds_the_share_down():
    shares, model = embargo_then_calm(dependence_ceiling_share=0.4)
    assert shares[-1] <= 0.4 + 1e-9
    cc = model.recorder.tables()["country_commodity"]
    jp = cc[(cc.country == "JP") & (cc.commodity == "ree")]
    assert (jp["china_share"].dropna() <= 0.4 + 1e-9).all()  # receipts, every week


def test_new_supply_appears_no_earlier_than_its_lead_time():
    data = tiny_dict()
    data["world"]["projects"] = [{"name": "mine", "commodity": "ree", "country": "AU",
                                  "capacity_t_per_year": 500.0, "online_date": dt.date(2026, 6, 5), "ramp_weeks": 10}]
    data["world"]["investment"] = {"price_threshold_multiple": 1.05, "lead_weeks": 30}
    model = CoercionModel(config_from_dict(data))
    ns = model.mechanisms["new_supply"]
    online = model.config.step_of(dt.date(2026, 6, 5))
    first_decision = None
    while model.running:
        model.step()
        f = model.state.capacity_factor
        assert (f[ns.project_firms] > 0).any() == (model.t - 1 >= online)
        if first_decision is None and ns.started.any():
            first_decision = model.t - 1
        if first_decision is not None and model.t - 1 < first_decision + 30:
            assert not f[ns.invest_firms].any()
    assert first_decision is not None and f[ns.invest_firms].any()


def test_recycled_supply_never_exceeds_the_recoverable_stock():
    data = tiny_dict()
    data["world"]["countries"]["JP"]["commodities"]["ree"]["recycled_share"] = 0.5
    data["world"]["commodities"]["ree"]["recyclability_share"] = 0.1
    model = CoercionModel(config_from_dict(data))
    rec = model.mechanisms["recycling"]
    for _ in range(40):
        pool_before = rec.pool.copy()
        use = model.state.use  # last week's (product life 1 week); before the run, the calm use
        inflow = rec.recyclability * (rec.use_week if use is None else np.bincount(
            rec.cc[rec.manuf], use[rec.manuf], minlength=model.eco.n_cc))
        model.step()
        assert np.all(rec.recycled_cc <= pool_before + inflow + 1e-12)
        assert np.all(rec.recycled_cc <= rec.capacity + 1e-12)
    assert rec.recycled_cc.sum() > 0


def test_substitution_only_under_price_pressure_and_within_reach_and_pace():
    calm = CoercionModel(load_config(TINY, params={"escalation.script": []}))
    calm.run_model()
    assert np.all(calm.state.intensity == 1.0)
    model = CoercionModel(load_config(TINY))
    sub = model.mechanisms["substitution"]
    prev = model.state.intensity[sub.pos].copy()
    while model.running:
        model.step()
        cur = model.state.intensity[sub.pos]
        assert np.all(cur <= prev + 1e-15) and np.all(prev - cur <= sub.pace + 1e-12)
        assert np.all(cur >= 1 - sub.reach - 1e-12)
        prev = cur.copy()
    assert (cur < 1).any()


def test_endogenous_paths_differ_across_seeds_and_resolve_decides():
    # one rung of export controls on the tiny world, at no cost to China: the target's resolve
    # (drawn once per run) differs by seed, and so do the paths
    data = tiny_dict(**{"escalation.mode": "endogenous", "escalation.min_weeks_per_level": 2,
                        "escalation.target_resolve_pct_gdp": 0.5, "escalation.resolve_noise_share": 1.0,
                        **{f"escalation.{w}": 0.0 for w in ("revenue_weight", "market_share_weight",
                                                            "producer_loss_weight", "diversification_weight")}})
    data["escalation"]["script"] = []
    paths = set()
    for seed in range(8):
        data["run"]["seed"] = seed
        paths.add(tuple(run(config_from_dict(data)).model["escalation_level"]))
    assert len(paths) >= 2
    data["run"]["seed"] = 1
    data["escalation"]["resolve_noise_share"] = 0.0
    data["escalation"]["target_resolve_pct_gdp"] = 0.0
    weak = run(config_from_dict(data)).summary["escalation"]
    data["escalation"]["target_resolve_pct_gdp"] = 1000.0
    strong = run(config_from_dict(data)).summary["escalation"]
    assert weak["conceded"] and weak["final_level"] == 0
    assert not strong["conceded"] and strong["peak_level"] >= 1


@pytest.fixture(scope="module")
def korea_runs(tmp_path_factory):
    from simulation.cli import main

    out = {}
    for s in ("baseline", "stockpile_100", "hree_180", "recycling_20", "dependence_ceiling", "forge_integration",
              "japan_path", "combined"):
        d = tmp_path_factory.mktemp(s) / "run"
        assert main(["run", str(KOREA), "--strategy", s, "--out", str(d), "--no-figures"]) == 0
        out[s] = json.loads((d / "summary.json").read_text())["countries"]["KR"]
    return out


def test_korea_strategies_against_the_baseline(korea_runs):
    base = korea_runs["baseline"]
    # a stockpile can only not make the shortage longer
    assert korea_runs["stockpile_100"]["weeks_in_shortage"] <= base["weeks_in_shortage"]
    assert korea_runs["recycling_20"]["cum_recycled_t"] > base["cum_recycled_t"]
    cfg = load_config(KOREA, strategy="dependence_ceiling")
    capped = 0
    for com, share in korea_runs["dependence_ceiling"]["final_china_share"].items():
        ceiling = cfg.ceiling_of("KR", com)
        if ceiling is not None and share is not None:
            capped += 1
            assert share <= ceiling + 1e-9, com
    assert capped >= 5
    for s, row in korea_runs.items():
        assert row["strategy_cost_usd"] >= 0, s
        # each strategy pays for what it adds: stock bought, or policy spending (forge_integration's
        # offtake premia are not costed yet, and its projects are financed by their hosts)
        if s not in ("baseline", "forge_integration"):
            assert (row["stockpile_purchases_usd"] > base["stockpile_purchases_usd"]
                    or row["other_policy_cost_usd"] > base["other_policy_cost_usd"]), s


def test_a_ceiling_tightens_linearly_to_its_date():
    from simulation.mechanisms.base import ceiling_at

    final, end = np.array([0.6, np.nan, 0.5]), np.array([10.0, 0.0, 0.0])
    assert ceiling_at(final, end, 0) == pytest.approx([0.96, 1.0, 0.5])
    assert ceiling_at(final, end, 4) == pytest.approx([0.8, 1.0, 0.5])
    assert ceiling_at(final, end, 20) == pytest.approx([0.6, 1.0, 0.5])


def test_scrap_comes_from_products_sold_a_product_life_ago():
    # an embargo cuts Japan's use of rare earths, but its scrap comes from products sold before
    # the run (a 10-year life): the pool still grows by recyclability x calm use every week
    data = tiny_dict()
    data["world"]["countries"]["JP"]["commodities"]["ree"]["recycled_share"] = 0.05
    data["world"]["commodities"]["ree"]["recyclability_share"] = 0.2
    data["world"]["commodities"]["ree"]["product_life_weeks"] = 520
    model = CoercionModel(config_from_dict(data))
    rec, e = model.mechanisms["recycling"], model.eco
    cc = e.countries.index("JP") * len(e.commodities) + e.commodities.index("ree")
    calm_inflow = rec.recyclability[cc] * rec.use_week[cc]
    shortfall = False
    while model.running:
        before = rec.pool[cc]
        model.step()
        assert rec.pool[cc] == pytest.approx(before + calm_inflow - rec.recycled_cc[cc], rel=1e-12)
        use = model.state.use[rec.manuf & (rec.cc == cc)].sum()
        shortfall = shortfall or use < 0.9 * rec.use_week[cc]
    assert shortfall  # use fell, the scrap did not


def test_scrap_of_a_short_product_life_follows_use():
    # a 4-week life: once the run is 4 weeks in, the inflow is the use of 4 weeks before
    data = tiny_dict()
    data["world"]["commodities"]["ree"]["recyclability_share"] = 0.2
    data["world"]["commodities"]["ree"]["product_life_weeks"] = 4
    model = CoercionModel(config_from_dict(data))
    rec, e = model.mechanisms["recycling"], model.eco
    cc = e.countries.index("JP") * len(e.commodities) + e.commodities.index("ree")
    used = []  # the use of each week
    while model.running:
        before = rec.pool[cc]
        t = model.t
        model.step()
        inflow = rec.pool[cc] + rec.recycled_cc[cc] - before
        expected = rec.use_week[cc] if t < 4 else used[t - 4]
        assert inflow == pytest.approx(rec.recyclability[cc] * expected, rel=1e-9)
        used.append(model.state.use[rec.manuf & (rec.cc == cc)].sum())


def test_each_commodity_invests_with_its_own_lead_time():
    data = tiny_dict()
    data["world"]["investment"] = {"price_threshold_multiple": 1.05, "lead_weeks": 30}
    data["world"]["commodities"]["ree"]["investment_lead_weeks"] = 12
    model = CoercionModel(config_from_dict(data))
    ns, e = model.mechanisms["new_supply"], model.eco
    ree = e.commodities.index("ree")
    mine = ns.invest_firms[e.firm_commodity[ns.invest_firms] == ree]
    first = None
    while model.running:
        model.step()
        t = model.t - 1
        if first is None and ns.started[ree] > 0:
            first = t
        online = (model.state.capacity_factor[mine] > 0).any()
        assert online == (first is not None and t >= first + 12)
    assert first is not None


def test_project_options_are_off_unless_a_scenario_or_strategy_names_them():
    option = {"name": "mine", "commodity": "ree", "country": "AU", "capacity_t_per_year": 500.0,
              "online_date": dt.date(2026, 3, 6), "ramp_weeks": 0, "capex_usd": 7e6}
    data = tiny_dict()
    data["world"]["project_options"] = {"au_mine": option}
    off = config_from_dict(data)
    assert off.projects == [] and CoercionModel(off).mechanisms["new_supply"].project_firms.size == 0
    data["scenario"]["project_options"] = ["au_mine"]
    on = config_from_dict(data)
    assert [p.name for p in on.projects] == ["mine"] and on.strategy_projects == []  # the scenario assumes it
    assert CoercionModel(on).mechanisms["new_supply"].capex_usd == 0
    data["scenario"]["project_options"] = []
    data["strategy"]["project_options"] = ["au_mine"]
    financed = config_from_dict(data)
    assert [p.name for p in financed.strategy_projects] == ["mine"]  # the strategy pays for it
    assert CoercionModel(financed).mechanisms["new_supply"].capex_usd == 7e6
    data["strategy"]["project_options"] = ["au_mines"]
    with pytest.raises(ConfigError) as err:
        config_from_dict(data)
    assert "strategy.project_options[0]" in str(err.value) and "au_mine" in str(err.value)
