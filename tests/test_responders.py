"""The responders (simulation/states.py): the US, FORGE as a coalition, transit hubs, China's retaliation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tomli_w

from simulation import run
from simulation.config import ConfigError, config_from_dict, config_to_dict, load_config
from simulation.kernels import checking
from simulation.mechanisms.diversification import SourcingWeek, _premium_kernel
from simulation.mechanisms.market import ShipWeek, _spot
from simulation.model import CoercionModel
from simulation.population import POS_MANUFACTURER, POS_TRADER, PRODUCER
from simulation.states import ForgeRole, HubRole, USRole

from .conftest import TINY

# The tiny world's controls toward Japan start on 2026-01-30 (week 4).
US = {"label": "United States", "currency": "USD", "gdp_lcu_per_year": 28e12, "lcu_per_usd": 1.0,
      "employment": 160e6, "n_manufacturers": 10, "forge_member": True,
      "sector_va_share_gdp": {"autos": 0.01},
      "commodities": {"ree": {"demand_t_per_year": 1040.0, "import_shares": {"CN": 0.9, "AU": 0.1},
                              "inventory_days": 28.0, "stockpile_days": 56.0}}}
US_PROJECT = {"name": "US ree separation", "commodity": "ree", "country": "US", "capacity_t_per_year": 500.0,
              "online_date": "2030-01-01", "ramp_weeks": 4}
RETALIATION = {"kind": "export_control", "commodities": ["ree"], "destinations": ["US"], "instrument": "ban",
               "label": "ban of ree to the US"}
# China answers a full round (severity 1; the ban puts 23% of its calm export revenue at stake in this world)
ANSWER = {"measures": [RETALIATION], "threshold": 0.5}


def tiny_with_us(**responders) -> dict:
    """The tiny world with a US (a FORGE member buying Chinese ree) and the given responders."""
    data = config_to_dict(load_config(TINY))
    data["world"]["countries"]["US"] = US
    data["world"]["commodities"]["ree"]["capacity_t_per_year"]["US"] = 200.0
    data["world"]["project_options"] = {"us_ree": US_PROJECT}
    data["responders"] = responders
    return data


def chips(*rounds: tuple[str, float]) -> dict:
    return {"chip_controls": [{"date": d, "severity": s} for d, s in rounds]}


def decisions(data: dict) -> pd.DataFrame:
    return run(config_from_dict(data)).decisions


def test_responders_not_switched_on_get_no_role_and_change_nothing():
    plain = CoercionModel(config_from_dict(tiny_with_us()))
    # China's retaliation is configured but the US never moves: nothing to answer
    idle = CoercionModel(config_from_dict(tiny_with_us(retaliation={"measures": [RETALIATION]})))
    assert all(a.role is None for a in list(plain.state_agents)[2:])
    plain.run_model()
    idle.run_model()
    for name, table in plain.recorder.tables().items():
        pd.testing.assert_frame_equal(table, idle.recorder.tables()[name], obj=name)
    assert "retaliate" not in set(idle.decisions.frame().decision)
    assert not any(d == "US" for d, _ in idle.signals.controls)


def test_us_chip_controls_trigger_china_retaliation_and_without_them_china_does_not_retaliate():
    answered = tiny_with_us(us=chips(("2026-02-13", 1.0)), retaliation=ANSWER)
    model = CoercionModel(config_from_dict(answered))
    assert isinstance(model.states["US"].role, USRole)
    model.run_model()
    log = model.decisions.frame()
    us_move = log[(log.state == "US") & (log.decision == "chip_controls")]
    answer = log[(log.state == "CN") & (log.decision == "retaliate")]
    assert len(us_move) == 1 and len(answer) == 1
    assert answer.step.iloc[0] == us_move.step.iloc[0] + 1  # China reads the US move the week after
    assert ("US", "ree") in model.signals.controls and model.signals.controls["US", "ree"].ban
    # the ban is carried out: US buyers' direct Chinese ree edges are closed, Japan's controls unchanged
    e, s = model.eco, model.state
    us_cn = (e.pos_country[e.edge_pos] == e.countries.index("US")) & (e.edge_origin == e.coercer) & ~e.edge_via_trader
    assert us_cn.any() and not s.edge_open[us_cn].any()
    quiet = CoercionModel(config_from_dict(tiny_with_us(retaliation={"measures": [RETALIATION]})))
    quiet.run_model()
    assert not any(d == "US" for d, _ in quiet.signals.controls)
    assert quiet.state.edge_open[us_cn].all()


def test_china_weighs_grievance_against_its_threshold_and_the_revenue_at_stake():
    rounds = chips(("2026-02-13", 0.6), ("2026-04-03", 0.6))
    log = decisions(tiny_with_us(us=rounds, retaliation={"measures": [RETALIATION], "threshold": 1.0,
                                                         "cost_weight": 0.0}))
    cn = log[(log.state == "CN") & log.decision.isin(["retaliate", "no_retaliation"])]
    # the first round (0.6) is not enough; the second brings the grievance to 1.2: China answers
    assert list(cn.decision) == ["no_retaliation", "retaliate"]
    # the same rounds, but China weighs the revenue the ban puts at stake heavily: it does not answer
    log = decisions(tiny_with_us(us=rounds, retaliation={"measures": [RETALIATION], "threshold": 1.0,
                                                         "cost_weight": 100.0}))
    assert "retaliate" not in set(log.decision)
    assert (log.decision == "no_retaliation").sum() == 2


def test_the_us_finances_its_project_once_china_controls_its_commodity_toward_it():
    data = tiny_with_us(us={**chips(("2026-02-13", 1.0)), "invest_options": ["us_ree"], "invest_lead_weeks": 10},
                        retaliation=ANSWER)
    model = CoercionModel(config_from_dict(data))
    e = model.eco
    project = np.flatnonzero(e.firm_project >= 0)
    assert len(project) == 1 and e.firm_country[project[0]] == e.countries.index("US")
    model.run_model()
    log = model.decisions.frame()
    invest = log[(log.state == "US") & (log.decision == "invest")]
    answer = log[log.decision == "retaliate"]
    assert len(invest) == 1 and invest.step.iloc[0] >= answer.step.iloc[0]
    assert model.state.capacity_factor[project[0]] == 1.0  # online 10 weeks later, ramped over 4
    idle = CoercionModel(config_from_dict(tiny_with_us(us={"invest_options": ["us_ree"]})))
    idle.run_model()  # China never controls ree toward the US: the option stays dormant
    assert idle.state.capacity_factor[project[0]] == 0.0
    assert "invest" not in set(idle.decisions.frame().decision)


def undercut(data: dict, weeks: int = 45) -> CoercionModel:
    """Run with the outside price held at half its calm level (China undercutting): the price the
    market sets each week is overridden before the next week's investment and exit decisions."""
    with checking():  # the new-supply kernel with floors agrees with its numpy reference
        model = CoercionModel(config_from_dict(data))
    for _ in range(weeks):
        model.step()
        model.state.price[:] = 0.5 * model.eco.price0
    return model


def test_forge_floors_keep_member_capacity_online_when_china_undercuts():
    base = config_to_dict(load_config(TINY))
    base["world"]["forge"]["price_floor_multiple"] = 0.0  # no standing floor: only the coalition's
    base["escalation"]["script"] = []  # no controls: China only undercuts
    floors = {**base, "responders": {"forge": {"from_date": "2026-01-02", "price_floor_multiple": 1.0}}}
    without, with_floor = undercut(base), undercut(floors)
    assert isinstance(with_floor.states["AU"].role, ForgeRole)
    e = with_floor.eco
    au = np.flatnonzero((e.firm_kind == PRODUCER) & (e.firm_country == e.countries.index("AU"))
                        & (e.firm_project < 0) & ~e.firm_invest)
    assert len(au)
    # without a floor the members' producers idle capacity as the smoothed price falls below the exit price
    assert without.state.capacity_factor[au].max() < 0.8
    # with the coalition's floor they keep all of it online, and the members pay the gap
    assert np.all(with_floor.state.capacity_factor[au] == 1.0)
    au = with_floor.eco.countries.index("AU")
    assert with_floor.recorder.costs["policy_cost_usd"][:, au].sum() > 0
    assert without.recorder.costs["policy_cost_usd"][:, au].sum() == 0
    log = with_floor.decisions.frame()
    assert list(log[log.decision == "forge_floor"].state) == ["FORGE"]


def test_a_coordinated_release_releases_from_every_member():
    data = tiny_with_us()
    data["world"]["countries"]["JP"]["forge_member"] = True  # Japan short under the controls; the US is not
    alone = CoercionModel(config_from_dict(data))
    data["responders"] = {"forge": {"from_date": "2026-01-02", "chair": "AU", "release_trigger_days": 20.0}}
    pooled = CoercionModel(config_from_dict(data))
    stocks = {"alone": [], "pooled": []}
    for name, m in (("alone", alone), ("pooled", pooled)):
        while m.running:
            m.step()
            stocks[name].append((m.states["US"].stockpile_t("ree"), m.states["JP"].stockpile_t("ree")))
    alone_s, pooled_s = np.array(stocks["alone"]), np.array(stocks["pooled"])
    log = pooled.decisions.frame()
    release = log[(log.decision == "coordinated_release") & log.reason.str.startswith("ree")]
    assert len(release) >= 1 and set(release.state) == {"FORGE"} and "JP" in release.reason.iloc[0]
    ended = log[(log.decision == "end_release") & log.reason.str.startswith("ree")]
    assert len(ended) >= 1 and ended.step.iloc[0] > release.step.iloc[0]  # the pool ends when cover is back
    # the US is not short (China controls only Japan): alone, its stockpile never releases
    assert np.all(np.diff(alone_s[:, 0]) >= -1e-9)
    # pooled, Japan's shortage makes both members release in the same weeks
    both = np.flatnonzero((np.diff(pooled_s[:, 0]) < -1e-9) & (np.diff(pooled_s[:, 1]) < -1e-9)) + 1
    assert len(both) >= 1 and release.step.iloc[0] <= both[0]
    assert pooled_s[-1, 0] < alone_s[-1, 0]


def boycott(cooperation: dict | None) -> dict:
    data = config_to_dict(load_config(TINY))
    data["escalation"]["levels"][1]["measures"].append(
        {"kind": "secondary_boycott", "commodities": ["ree"], "enforcement": 0.8})
    if cooperation is not None:
        data["responders"] = {"hubs": {"countries": {"VN": cooperation}, "china_own_enforcement_share": 0.25}}
    return data


def test_a_non_cooperating_hub_lowers_the_enforcement_its_traders_face():
    loyal = CoercionModel(config_from_dict(boycott({"china_trade_share_gdp": 0.4, "target_trade_share_gdp": 0.05})))
    with checking():  # the transshipment kernel with per-trader enforcement agrees with its reference
        defiant = CoercionModel(config_from_dict(boycott({"china_trade_share_gdp": 0.01,
                                                          "target_trade_share_gdp": 0.4})))
    plain = CoercionModel(config_from_dict(boycott(None)))
    assert isinstance(defiant.states["VN"].role, HubRole)
    for m in (loyal, defiant, plain):
        m.run_model()
    assert list(loyal.decisions.frame().query("state == 'VN'").decision) == ["cooperate"]
    assert list(defiant.decisions.frame().query("state == 'VN'").decision) == ["refuse_cooperation"]
    faced = {k: m.mechanisms["transshipment"]._enforcement for k, m in
             (("loyal", loyal), ("defiant", defiant), ("plain", plain))}
    assert np.allclose(faced["loyal"], 0.8) and np.array_equal(faced["loyal"], faced["plain"])
    assert np.allclose(faced["defiant"], 0.8 * 0.25)  # China's own share only
    # fewer detections over seeds where the hub refuses (the same draws: common random numbers)
    caught = {}
    for name, coop in (("loyal", {"china_trade_share_gdp": 0.4, "target_trade_share_gdp": 0.05}),
                       ("defiant", {"china_trade_share_gdp": 0.01, "target_trade_share_gdp": 0.4})):
        total = 0
        for seed in range(4):
            data = boycott(coop)
            data["run"]["seed"] = seed
            total += int(run(config_from_dict(data)).model["blacklisted_traders"].iloc[-1])
        caught[name] = total
    assert caught["defiant"] < caught["loyal"]


def test_each_responder_decision_is_written_to_decisions_csv(tmp_path):
    from simulation.runner import write_run

    data = tiny_with_us(us={**chips(("2026-02-13", 1.0)), "invest_options": ["us_ree"],
                            "price_floors": [{"commodity": "ree", "floor_multiple": 1.5, "date": "2026-01-09"}]},
                        retaliation=ANSWER,
                        forge={"from_date": "2026-01-02", "chair": "AU", "price_floor_multiple": 0.9,
                               "release_trigger_days": 20.0, "offtake_share": 0.5, "tariff_share": 0.1},
                        hubs={"countries": {"VN": {"china_trade_share_gdp": 0.4, "target_trade_share_gdp": 0.05}}})
    data["world"]["countries"]["JP"]["forge_member"] = True
    data["escalation"]["levels"][1]["measures"].append(
        {"kind": "secondary_boycott", "commodities": ["ree"], "enforcement": 0.8})
    out = write_run(run(config_from_dict(data)), tmp_path / "run", figures=False)
    written = pd.read_csv(out / "decisions.csv")
    kinds = set(zip(written.state, written.decision, strict=True))
    for expected in [("US", "chip_controls"), ("US", "price_floor"), ("US", "invest"), ("CN", "retaliate"),
                     ("FORGE", "forge_floor"), ("FORGE", "forge_offtake"), ("FORGE", "forge_tariff"),
                     ("FORGE", "coordinated_release"), ("VN", "cooperate")]:
        assert expected in kinds, expected
    assert written.reason.str.len().gt(0).all()


def offtake_world(share: float) -> dict:
    """Japan (a member) and the US (not one) both cut off from Chinese ree, bidding for Australia's spare."""
    data = tiny_with_us()
    data["world"]["countries"]["JP"]["forge_member"] = True
    data["world"]["countries"]["US"]["forge_member"] = False
    data["escalation"]["levels"][1]["measures"][0]["destinations"] = ["JP", "US"]
    if share:
        data["responders"] = {"forge": {"from_date": "2026-01-02", "chair": "AU", "offtake_share": share}}
    return data


def test_offtake_claims_are_served_before_spot_buyers():
    spot = {}
    for share in (0.0, 1.0):
        with checking():  # the offtake stage of the compiled clearing agrees with its numpy reference
            model = CoercionModel(config_from_dict(offtake_world(share)))
        e = model.eco
        buyers = {c: (e.pos_commodity == e.commodities.index("ree")) & (e.pos_country == e.countries.index(c))
                  & (e.pos_kind != POS_TRADER) for c in ("JP", "US")}
        got = {c: 0.0 for c in buyers}
        for _ in range(30):
            model.step()
            for c, sel in buyers.items():
                got[c] += model.state.spot[sel].sum()
        spot[share] = got
    # without offtake the US outbids Japan for Australia's spare ree; with it Japan's claim comes first
    assert spot[0.0]["JP"] < 1e-6 < spot[1.0]["JP"]
    assert spot[1.0]["US"] < spot[0.0]["US"]


def test_a_forge_tariff_slows_members_drift_back_to_china():
    data = config_to_dict(load_config(TINY))
    data["world"]["forge"]["tariff_share"] = 0.0  # no standing tariff: only the coalition's
    data["world"]["countries"]["JP"]["forge_member"] = True
    plain = CoercionModel(config_from_dict(data))
    data["responders"] = {"forge": {"from_date": "2026-01-02", "chair": "AU", "tariff_share": 0.1}}
    tariff = CoercionModel(config_from_dict(data))
    plain.step()
    tariff.step()
    e = tariff.eco
    jp_ree = (e.pos_country == e.countries.index("JP")) & (e.pos_commodity == e.commodities.index("ree"))
    rate = {k: m.mechanisms["diversification"].fixed.drift_rate[jp_ree] for k, m in
            (("plain", plain), ("tariff", tariff))}
    # ree: China's price edge is 10%; a 10% tariff erases it in members' landed prices, so they stop drifting
    assert np.all(rate["plain"] > 0) and np.all(rate["tariff"] == 0)
    assert "forge_tariff" in set(tariff.decisions.frame().decision)



def landed_world(**forge) -> dict:
    """Calm (no controls): Japan a member buying Chinese and Australian ree, the US a non-member buying
    Chinese ree; no standing tariff or floor, only the coalition's ``forge`` measures (none: no coalition)."""
    data = tiny_with_us()
    data["escalation"]["script"] = []
    data["world"]["forge"].update(tariff_share=0.0, price_floor_multiple=0.0)
    data["world"]["countries"]["JP"]["forge_member"] = True
    data["world"]["countries"]["US"]["forge_member"] = False
    if forge:
        data["responders"] = {"forge": {"from_date": "2026-01-02", "chair": "AU", **forge}}
    return data


def firms_of(model: CoercionModel, country: str, commodity: str = "ree") -> np.ndarray:
    e = model.eco
    return ((e.pos_kind == POS_MANUFACTURER) & (e.pos_country == e.countries.index(country))
            & (e.pos_commodity == e.commodities.index(commodity)))


def firms_of_members(model: CoercionModel) -> np.ndarray:
    e = model.eco
    member = np.array([model.config.world.countries[c].forge_member for c in e.countries])
    return (e.pos_kind == POS_MANUFACTURER) & member[e.pos_country]


def test_a_forge_tariff_raises_members_landed_price_of_chinese_material_and_cuts_their_chinese_purchases():
    weeks, tariff = 12, 0.2
    bought, models = {}, {}
    for key, forge in (("plain", {}), ("tariff", {"tariff_share": tariff})):
        with checking():  # the landed-price kernel and the clearing with tariff bids agree with their references
            model = CoercionModel(config_from_dict(landed_world(**forge)))
        jp = firms_of(model, "JP")
        bought[key] = 0.0
        for _ in range(weeks):
            model.step()
            bought[key] += model.state.shipped_cn[jp].sum()
        models[key] = model
    m = models["tariff"]
    s, e, landed = m.state, m.eco, m.mechanisms["market"].landed
    jp, us, cn = firms_of(m, "JP"), firms_of(m, "US"), firms_of(m, "CN")
    ree = e.commodities.index("ree")
    # Japan's ree firms pay the price x (1 + tariff) on their Chinese share (the rest is Australia's, a member's)
    cn_share = s.shipped_cn[jp] / s.shipped[jp]
    assert cn_share.min() > 0.5
    np.testing.assert_allclose(landed[jp], 1.0 + tariff * cn_share, rtol=1e-12)
    # and their demand answers their landed price: they buy less Chinese ree than without the tariff
    eps = m.config.world.commodities["ree"].demand_elasticity
    np.testing.assert_allclose(s.demand_factor[jp], (s.price[ree] * landed[jp] / e.price0[ree]) ** -eps, rtol=1e-12)
    assert bought["tariff"] < 0.99 * bought["plain"]
    # non-members pay the market's prices: the US outside China, China's firms inside it
    assert np.all(landed[us | cn] == 1.0) and np.all(models["plain"].mechanisms["market"].landed == 1.0)
    assert np.all(s.demand_factor[us] == (s.price[ree] / e.price0[ree]) ** -eps)
    assert np.all(s.demand_factor[cn] == (s.price_cn[ree] / e.price0_cn[ree]) ** -eps)


def test_a_forge_tariff_puts_members_behind_non_members_of_lower_bid_for_chinese_spare_capacity():
    data = landed_world(tariff_share=0.2)
    # the US's carmakers bid USD 70M a tonne short of ree: below Japan's carmakers (77M), above 77M / 1.2
    data["world"]["countries"]["US"]["sector_va_share_gdp"] = {"autos": 0.0026}
    model = CoercionModel(config_from_dict(data))
    model.step()
    market, s, e = model.mechanisms["market"], model.state, model.eco
    bid = market._bid
    jp = np.flatnonzero(firms_of(model, "JP") & (bid > 7.5e7))[0]  # a Japanese carmaker
    us = np.flatnonzero(firms_of(model, "US"))[0]
    assert bid[jp] > bid[us] > bid[jp] / 1.2
    # the spot market alone: one tonne of Chinese spare ree (none elsewhere), each of them short of one tonne
    desired, spare = np.zeros(e.n_pos), np.zeros(e.n_firms)
    desired[[jp, us]] = 1.0
    spare[np.flatnonzero((e.firm_kind == PRODUCER) & (e.firm_country == e.coercer)
                         & (e.firm_commodity == e.commodities.index("ree")))[0]] = 1.0
    plain = ShipWeek(pos_controlled=np.zeros(e.n_pos, bool), ring=s.ring, ring_cn=s.ring_cn, in_transit=s.in_transit,
                     inventory=s.inventory, stock_target=s.stock_target, pipe_target=s.pipe_target)
    taxed = plain._replace(tariff=True, cn_bids=market._cn_bids)
    got = {}
    for key, wk in (("plain", plain), ("tariff", taxed)):
        spot_cn = _spot(market.fixed.clear, wk, desired, np.zeros(e.n_pos), spare)[0]
        got[key] = spot_cn[jp], spot_cn[us]
    # without the tariff Japan's carmaker, the higher bid, gets the tonne; with it, it bids 77M / 1.2 < 70M
    assert got["plain"] == (1.0, 0.0) and got["tariff"] == (0.0, 1.0)


def test_a_forge_floor_is_paid_by_members_firms_for_members_material_and_the_states_floor_cost_falls():
    floor, weeks = 1.2, 10
    with checking():  # the landed-price kernel with a floor and the new-supply kernel agree with their references
        m = CoercionModel(config_from_dict(landed_world(price_floor_multiple=floor)))
    s, e, sig = m.state, m.eco, m.signals
    au, jp_k, ree = e.countries.index("AU"), e.countries.index("JP"), e.commodities.index("ree")
    jp = firms_of(m, "JP")
    landed = m.mechanisms["market"].landed
    au_producers = np.flatnonzero((e.firm_kind == PRODUCER) & (e.firm_country == au) & (e.firm_commodity >= 0))
    paid_before, checked = None, 0
    for _ in range(weeks):
        # the floor's gap on Australia's capacity online, at the price new supply will read this week
        com = e.firm_commodity[au_producers]
        gross = (e.firm_capacity_t[au_producers] * s.capacity_factor[au_producers]
                 * np.maximum(floor * e.price0[com] - s.price[com], 0.0)).sum()
        m.step()
        assert s.price[ree] < floor * e.price0[ree]  # calm: the market price is below the floor
        # Japan's ree firms pay the floor for Australia's ree (the rest of what they get is Chinese)
        gap = floor * e.price0[ree] - s.price[ree]
        cn_share = s.shipped_cn[jp] / s.shipped[jp]
        np.testing.assert_allclose(landed[jp], cn_share + (1 - cn_share) * (1 + gap / s.price[ree]), rtol=1e-12)
        paid = sig.floor_paid_usd
        np.testing.assert_allclose(paid[jp_k, ree], ((s.shipped[jp] - s.shipped_cn[jp]) * gap).sum(), rtol=1e-9)
        assert paid[jp_k, ree] > 0 and paid.sum() == paid[jp_k].sum()  # only members' firms pay (the US does not)
        assert np.all(landed[firms_of(m, "US")] == 1.0)
        # what they paid above the outside price is part of Japan's input premium
        mf = (e.pos_kind == POS_MANUFACTURER) & (e.pos_country == jp_k)
        at_price = (s.use[mf] * (s.price - e.price0)[e.pos_commodity[mf]]).sum()
        np.testing.assert_allclose(m.recorder.costs["input_premium_usd"][m.t - 1, jp_k], at_price + paid[jp_k].sum(),
                                   rtol=1e-9)
        # Australia, the only member with covered producers, pays the gap less what the firms paid last week
        if paid_before is not None:
            np.testing.assert_allclose(s.policy_cost_usd[au], gross - paid_before.sum(), rtol=1e-9)
            assert 0 < s.policy_cost_usd[au] < gross
            checked += 1
        paid_before = paid.copy()
    assert checked == weeks - 1



def test_a_forge_tariff_lowers_the_premium_a_member_pays_on_sourcing_moved_away_from_china():
    tariff = 0.05
    data = landed_world(tariff_share=tariff)
    for c in ("JP", "US"):  # both states pay half the premium of their firms' sourcing moved away from China
        data["world"]["countries"][c]["policy"] = {"diversification_subsidy_share": 0.5}
    model = CoercionModel(config_from_dict(data))
    model.step()  # the coalition decides its tariff; diversification reads it
    e, fx = model.eco, model.mechanisms["diversification"].fixed
    jp, us, ree = firms_of(model, "JP"), firms_of(model, "US"), e.commodities.index("ree")
    assert np.all(fx.cn_markup[jp] == 1.0 + tariff) and np.all(fx.cn_markup[~firms_of_members(model)] == 1.0)
    # every ree firm of Japan and the US moved all its Chinese sourcing away this week, at calm prices
    moved = jp | us
    new_cn = np.where(moved, 0.0, fx.base_cn)
    cost = np.zeros(len(e.countries))
    _premium_kernel(fx, SourcingWeek(
        desired=np.ones(e.n_pos), shipped=np.ones(e.n_pos), blocked_share=np.zeros(e.n_pos),
        edge_share=model.state.edge_share, ceiling=np.ones(e.n_pos), capacity_factor=model.state.capacity_factor,
        price=e.price0, price_cn=e.price0_cn, policy_cost=cost), new_cn)
    p, p_cn = e.price0[ree], e.price0_cn[ree]
    # the US pays half of p - p_cn per tonne moved; Japan's firms land Chinese ree at p_cn x 1.05
    np.testing.assert_allclose(cost[e.countries.index("US")], 0.5 * fx.base_cn[us].sum() * (p - p_cn), rtol=1e-12)
    np.testing.assert_allclose(cost[e.countries.index("JP")],
                               0.5 * fx.base_cn[jp].sum() * (p - p_cn * (1 + tariff)), rtol=1e-12)
    assert fx.base_cn[jp].sum() > 0 and p - p_cn * (1 + tariff) < p - p_cn


BAD = {
    "unknown hub": ({"hubs": {"countries": {"XX": {"china_trade_share_gdp": 0.1, "target_trade_share_gdp": 0.1}}}},
                    "responders.hubs.countries.XX", "unknown country"),
    "hub not a hub": ({"hubs": {"countries": {"AU": {"china_trade_share_gdp": 0.1, "target_trade_share_gdp": 0.1}}}},
                      "responders.hubs.countries.AU", "not a transit hub"),
    "chair not a member": ({"forge": {"chair": "VN"}}, "responders.forge.chair", "not a FORGE member"),
    "retaliation toward the target": ({"retaliation": {"measures": [{**RETALIATION, "destinations": "target"}]}},
                                      "responders.retaliation.measures[0]", "toward named countries"),
    "unknown floor commodity": ({"us": {"price_floors": [{"commodity": "nd", "floor_multiple": 1.5,
                                                          "date": "2026-01-09"}]}},
                                "responders.us.price_floors[0].commodity", "unknown commodity"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_responder_names_file_key_and_problem(tmp_path, case):
    responders, key, problem = BAD[case]
    data = tiny_with_us(**responders)
    path = tmp_path / "bad.toml"
    path.write_bytes(tomli_w.dumps(data).encode())
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert f": {key}: " in msg and problem in msg and "\n" not in msg


def test_the_views_decision_card_lists_the_coalition_beside_the_states():
    """FORGE decides as a coalition, not a country: the view's latest-decisions rows name it too."""
    from simulation.viz.app import decision_rows

    base = config_to_dict(load_config(TINY))
    base["responders"] = {"forge": {"from_date": "2026-01-02", "price_floor_multiple": 1.0}}
    base["run"]["steps"] = 3
    model = CoercionModel(config_from_dict(base))
    model.run_model()
    rows = {code: rest for code, *rest in decision_rows(model)}
    assert rows["FORGE"][:2] == ["FORGE (coalition)", "forge_floor"]
    assert rows["FORGE"][3].startswith("members' producers")
