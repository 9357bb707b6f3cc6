"""Markets that ration, and the instruments of the record (issue 13, items 2-4).

On the tiny world with a third buyer in Australia (see :func:`tests.test_controls.world`):
the quota caps China's exports, an announcement moves prices and precautionary stocks
before the effective date, spare supply goes to the highest bidders, a refused end user is
assessed anew when it reapplies while a granted one keeps its licence, the dated record adds
its measures between their dates; on the Japan scenario, China's domestic prices stay near calm while the outside
prices of the controlled commodities rise.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from simulation import CoercionModel
from simulation.config import config_from_dict, load_config
from simulation.mechanisms.export_controls import PENDING
from simulation.population import POS_MANUFACTURER, POS_TRADER
from tests.conftest import JAPAN, KOREA
from tests.test_controls import BOTH, licensing, world

START = dt.date(2026, 1, 2)


def _china_exports(model: CoercionModel, com: int) -> float:
    """Chinese-origin tonnes shipped this week to buyers outside China (direct, via hubs, spot)."""
    e, s = model.eco, model.state
    outside = (e.pos_country != e.coercer) & (e.pos_kind != POS_TRADER) & (e.pos_commodity == com)
    return float(s.shipped_cn[outside].sum())


def test_a_quota_caps_chinas_exports_at_the_quota():
    data = world([{"kind": "export_control", "commodities": ["ree"], "destinations": "all",
                   "instrument": "quota", "quota_t_per_year": {"ree": 520.0}}], script=(4,), weeks=30)
    model = CoercionModel(config_from_dict(data))
    ree = model.eco.commodities.index("ree")
    before = []
    for _ in range(4):
        model.step()
        before.append(_china_exports(model, ree))
    assert min(before) > 2 * 10.0  # calm exports are well above the quota's 10 t a week
    after = []
    for _ in range(20):
        model.step()
        after.append(_china_exports(model, ree))
        assert after[-1] <= 10.0 * (1 + 1e-9)  # never above the quota
    assert after[-1] == pytest.approx(10.0, rel=1e-6)  # and the contracts take all of it
    assert model.state.price[ree] > 1.2 * model.eco.price0[ree]  # the outside price rises


def test_an_announcement_moves_precautionary_stocks_and_prices_before_the_effective_date():
    control = licensing("target", approval_probability=0.2, delay_weeks=6.0)
    data = world([control], script=(4,), weeks=30)
    data["escalation"]["script"][0]["effective_date"] = START + dt.timedelta(weeks=12)
    model = CoercionModel(config_from_dict(data))
    e, s = model.eco, model.state
    ree = e.commodities.index("ree")
    au = np.flatnonzero((e.pos_country == e.countries.index("AU")) & (e.pos_commodity == ree)
                        & (e.pos_kind == POS_MANUFACTURER))
    target0, p0 = s.stock_target[au].sum(), s.price[ree]
    for _ in range(4):
        model.step()
    assert s.stock_target[au].sum() == pytest.approx(target0)  # nothing known yet
    for _ in range(8):  # weeks 4-11: announced, not yet in force
        model.step()
        assert model.signals.announced == frozenset(BOTH) and not model.signals.controls
        assert not s.edge_controlled.any()
    assert s.stock_target[au].sum() > target0 * 1.1  # a buyer outside the target stocks up
    assert s.price[ree] > p0 * 1.01  # and the extra orders move the outside price
    model.step()  # week 12: in force
    assert model.signals.controls and not model.signals.announced
    assert s.edge_controlled.any()


def test_stocks_on_the_market_damp_the_price_when_chinas_exports_stop():
    """The outside price counts buyers' stocks as supply (``world.market.price_stock_weeks``): in
    the weeks after China stops its rare-earth exports, the price rises less where buyers hold
    more stock. (Priced on flows alone, the first weeks' price does not see the stocks at all:
    orders equal use until the stocks fall below target.)"""
    ban = {"kind": "export_control", "commodities": ["ree"], "destinations": "all", "instrument": "ban"}
    peak = {}
    for stock_weeks in (0.0, 4.0):
        for scale in (1.0, 3.0):
            data = world([ban], script=(4,), weeks=12)
            data["world"]["market"]["price_stock_weeks"] = stock_weeks
            data["world"]["firms"]["inventory_days_scale"] = scale
            model = CoercionModel(config_from_dict(data))
            ree = model.eco.commodities.index("ree")
            p0, seen = model.state.price[ree], []
            for week in range(8):
                model.step()
                assert week >= 4 or model.state.price[ree] == pytest.approx(p0, rel=1e-9)  # calm holds
                seen.append(model.state.price[ree] / p0)
            peak[stock_weeks, scale] = max(seen)
    assert peak[4.0, 1.0] > 1.2  # the stop raises the price
    assert peak[4.0, 3.0] < peak[4.0, 1.0] / 1.5  # much less where buyers hold three times the stock
    assert peak[4.0, 1.0] < peak[0.0, 1.0]  # and less than on flows alone


def test_material_waiting_for_qualification_does_not_stop_the_orders_a_buyer_can_use():
    """Spot material from a new supplier outside China waits for its qualification (26 weeks for
    Dy/Tb) in the buyer's pipeline. The order rule counts the pipeline that arrives within the
    longest normal lead only (a dual-index rule), so the buyer keeps ordering from its qualified
    suppliers: under FORGE integration (30% of Korea's sourcing moved away from China, some of it
    bought spot) Korea's Dy/Tb makers keep their stocks near target. Counting the whole pipeline,
    they held about a third of it within a year, and the shortage invited China's next step."""
    model = CoercionModel(load_config(KOREA, strategy="forge_integration", steps=50))
    e, s = model.eco, model.state
    kr = np.flatnonzero((e.pos_country == e.countries.index("KR")) & (e.pos_commodity == e.commodities.index("dy_tb"))
                        & (e.pos_kind == POS_MANUFACTURER))
    waiting, cover = [], []
    for week in range(50):
        model.step()
        if week >= 20:
            waiting.append(s.in_transit[kr].sum() / s.pipe_target[kr].sum())
            cover.append(s.inventory[kr].sum() / s.stock_target[kr].sum())
    assert min(waiting) > 1.5  # well beyond the normal pipeline: material waiting for qualification
    assert min(cover) > 0.8  # and the stocks stay near target


def _spot_world() -> dict:
    """China stops rare-earth exports to Japan and to Australia: both bid for the spare
    non-Chinese capacity (Australia's own producers have some to spare); Australia's buyers
    make more value per tonne, so they bid more."""
    ban = {"kind": "export_control", "commodities": ["ree"], "destinations": ["JP", "AU"], "instrument": "ban"}
    data = world([ban], script=(2,), weeks=20)
    data["world"]["commodities"]["ree"]["capacity_t_per_year"]["AU"] = 1500.0
    data["world"]["countries"]["AU"]["sector_va_share_gdp"] = {"autos": 0.2}  # Australia's buyers bid more
    return data


def test_spare_supply_goes_to_the_highest_bidders_and_not_all_to_the_target():
    model = CoercionModel(config_from_dict(_spot_world()))
    e, s = model.eco, model.state
    ree = e.commodities.index("ree")
    fx = model.mechanisms["market"].fixed.clear
    rank = fx.pos_group  # per buyer, its group's place in the bidding (lower: a higher bid of the commodity)
    buyers = np.flatnonzero((e.pos_commodity == ree) & (e.pos_kind == POS_MANUFACTURER))
    jp, au = (e.pos_country[buyers] == e.target), (e.pos_country[buyers] == e.countries.index("AU"))
    got = np.zeros(len(buyers))
    short_weeks = 0
    for _ in range(12):
        model.step()
        unmet = (s.desired - (s.shipped - s.spot))[buyers]  # what contracts left unfilled
        served = np.divide(s.spot[buyers], unmet, out=np.ones(len(buyers)), where=unmet > 1e-12)
        got += s.spot[buyers]
        partly = served < 1 - 1e-9
        if partly.any():  # spare capacity ran short: every higher bid was served in full
            short_weeks += 1
            worst = rank[buyers][partly].min()
            assert (served[(rank[buyers] < worst) & (unmet > 1e-12)] >= 1 - 1e-9).all()
    assert short_weeks > 0  # the test saw rationing
    assert got[au].sum() > got[jp].sum() > 0  # the target competes: the higher bids get more of it


def test_a_refused_end_user_is_assessed_anew_and_a_granted_one_keeps_its_licence():
    """The approval probability is the share of applications granted: about half the end users
    are licensed after the first decisions; each round of reapplications licenses about half of
    those still refused, so the share grows as 1 - (1 - p)^n; a licence granted is renewed every
    time; and military end users under an approval of 0 are never licensed."""
    terms = dict(approval_probability=0.5, military_approval_probability=0.0, delay_weeks=2.0,
                 license_validity_weeks=6.0)
    model = CoercionModel(config_from_dict(world([licensing("all", **terms)], weeks=80)))
    e, s = model.eco, model.state
    military = e.pos_military[e.edge_pos]
    status = model.mechanisms["export_controls"].status
    for _ in range(8):  # controls from week 4; the first decisions (delay 2 weeks), no reapplication yet
        model.step()
    civil = s.edge_controlled & ~military
    decided = civil & (status != PENDING)
    first = s.edge_licensed[decided].mean()
    assert decided.sum() > 20 and 0.25 < first < 0.75  # about p of the end users decided in the first round
    first = s.edge_licensed[civil].mean()
    licensed = s.edge_licensed.copy()
    shares = []
    for _ in range(60):  # many rounds of reapplication (a refusal waits max(4, delay) weeks) and renewal
        model.step()
        assert s.edge_open[licensed].all()  # a licence granted is renewed every time
        shares.append(s.edge_licensed[civil].mean())
    assert shares[4] > first and shares[10] > shares[4]  # those refused are licensed round after round
    assert min(shares[30:]) > 0.9
    assert military[s.edge_controlled].any() and not s.edge_licensed[military].any()  # p = 0: refused for good


def test_no_licence_comes_before_the_dossiers_review():
    """With a 9-week mean delay, no application is decided within floor(first_decision_share * 9)
    weeks of the controls (6 at 0.67) and most are decided within a few weeks after; without
    the floor (share 0) a geometric wait licenses some end users within three weeks."""
    terms = dict(approval_probability=1.0, military_approval_probability=1.0, delay_weeks=9.0,
                 license_validity_weeks=52.0)
    first = {}
    for share in (0.67, 0.0):
        data = world([licensing("all", **terms)], weeks=40)
        data["world"]["licensing"] = {"first_decision_share": share}
        model = CoercionModel(config_from_dict(data))
        s = model.state
        licensed = []
        for _ in range(30):
            model.step()
            licensed.append(s.edge_licensed.sum() / max(s.edge_controlled.sum(), 1))
        first[share] = next(w for w, x in enumerate(licensed) if x > 0) - 4  # weeks after the controls (week 4)
        if share:
            assert licensed[4 + 10] > 0.4  # decided within a few weeks after the floor
    assert first[0.67] >= 6  # none before the floor: floor(0.67 * 9) = 6 weeks
    assert first[0.0] <= 3


def test_an_end_users_later_standings_come_from_its_own_stream():
    """The standing drawn at each refusal: the kernel and its numpy reference agree, the draws are
    uniform on [0, 1), and one end user's n-th draw does not depend on the others'."""
    from simulation.mechanisms import export_controls as ec

    keys = np.random.default_rng(3).random(4000).view(np.uint64)
    n = np.arange(4000) % 7 + 1
    ref = ec.restanding_reference(keys, n)
    assert np.array_equal(ref, np.array([ec._restanding(k, int(m)) for k, m in zip(keys, n, strict=True)]))
    assert ((ref >= 0) & (ref < 1)).all()
    assert abs(ref.mean() - 0.5) < 0.02 and abs((ref < 0.25).mean() - 0.25) < 0.03
    assert np.array_equal(ec.restanding_reference(keys[:10], n[:10]), ref[:10])  # alone, the same draws
    assert not np.array_equal(ec.restanding_reference(keys, n + 1), ref)  # the next in each stream differs


def test_the_record_adds_its_measures_between_their_dates():
    data = world([], script=(), weeks=40)
    data["escalation"]["script"] = []
    data["escalation"]["record"] = [{
        "name": "worldwide licensing", "announced": START + dt.timedelta(weeks=3),
        "effective": START + dt.timedelta(weeks=6), "lifted": START + dt.timedelta(weeks=20),
        **licensing("all", ["gallium"], approval_probability=0.5, delay_weeks=2.0)}]
    model = CoercionModel(config_from_dict(data))
    seen = []
    for _ in range(25):
        model.step()
        sig = model.signals
        seen.append((sig.level, bool(sig.announced), sorted({d for d, _ in sig.controls})))
    assert all(level == 0 for level, _, _ in seen)  # the ladder never moves
    assert [a for _, a, _ in seen[:8]] == [False] * 3 + [True] * 3 + [False] * 2  # announced in weeks 3-5
    assert seen[5][2] == [] and seen[6][2] == ["AU", "JP", "VN"] and seen[19][2] == ["AU", "JP", "VN"]
    assert seen[20][2] == []  # lifted
    assert not model.state.edge_controlled.any()


def test_chinas_domestic_price_stays_near_calm_while_outside_prices_of_controlled_commodities_rise():
    """In the 2025-26 campaign against Japan, whose calm of 2025-11-07 already holds the controls
    of the record: China's inside prices stay within 15% of where the campaign starts, every
    week, while the campaign raises the outside prices of the commodities it controls (against
    the same world without the campaign, whose record still runs: at the start the outside
    prices of 2025's controls are high and falling back as new supply and stocks answer). The
    record is held: after it the shipped scenario lets the states decide, and China may climb
    further."""
    def prices(params):
        model = CoercionModel(load_config(JAPAN, steps=104, params={"escalation.after_script": "hold", **params}))
        start_in = model.state.price_cn.copy()
        inside, outside = [], []
        for _ in range(104):
            model.step()
            inside.append(model.state.price_cn / start_in)
            outside.append(model.state.price.copy())
        return model, np.array(inside), np.array(outside)

    model, inside, outside = prices({})
    _, _, without = prices({"escalation.script": []})  # the record alone
    e, s = model.eco, model.state
    # the commodities the campaign's measures control (its dual-use and rare-earth levels): each dearer
    # outside than without the campaign at some point, never cheaper, one by more than 20% (gallium:
    # Japan's share of the outside market is large, and outside buyers' stocks of it are thin)
    controlled = [e.commodities.index(c) for c in ("gallium", "graphite", "tungsten", "dy_tb")]
    raised = outside[:, controlled] / without[:, controlled]
    assert (raised.max(axis=0) > 1.01).all()
    assert raised.max() > 1.2
    assert (raised > 1 - 1e-9).all()
    assert (np.abs(inside - 1) <= 0.15).all()  # inside: within 15% of the start, every week, every commodity
    assert inside.min() < 0.999  # and not pinned: utilization still moves it
    # against the calm of 2023 too, the managed inside prices move far less than the outside ones
    assert (np.abs(s.price_cn / e.price0_cn - 1) < np.abs(s.price / e.price0 - 1) + 1e-12)[controlled].all()


def test_the_analysis_starts_from_the_world_the_history_leaves():
    """With ``history_from``, the mechanisms run the record from that date, unrecorded: at the
    start the record's controls are in force and their licences granted; the tables begin on
    the start date."""
    data = world([], script=(), weeks=20)
    data["escalation"]["script"] = []
    data["escalation"]["record"] = [{
        "name": "worldwide licensing", "announced": START - dt.timedelta(weeks=20),
        "effective": START - dt.timedelta(weeks=20),
        **licensing("all", ["gallium"], approval_probability=1.0, military_approval_probability=1.0,
                    delay_weeks=2.0)}]
    fresh = CoercionModel(config_from_dict(data))
    data["scenario"]["history_from"] = START - dt.timedelta(weeks=30)
    model = CoercionModel(config_from_dict(data))
    assert model.history == 30 and fresh.history == 0
    assert model.state.edge_licensed.any() and not fresh.state.edge_licensed.any()
    model.step()
    fresh.step()
    assert model.state.edge_open[model.state.edge_controlled].all()  # licensed in the history: open at once
    assert not fresh.state.edge_open[fresh.state.edge_controlled].all()  # applying from scratch: some wait
    for m in (model, fresh):
        assert m.recorder.tables()["model"]["date"].iloc[0] == START.isoformat()
