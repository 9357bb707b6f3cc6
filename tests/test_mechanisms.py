"""Each mechanism in isolation, against expectations computed by hand."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import numpy as np
import pytest

from simulation.config import Measure, config_from_dict
from simulation.mechanisms.escalation import control_specs, measures_in_force
from simulation.mechanisms.export_controls import GRANTED
from simulation.mechanisms.market import _by_bid, _by_bid_reference, _pool_supply
from simulation.model import CoercionModel
from simulation.population import MANUFACTURER, POS_MANUFACTURER, POS_STOCKPILE, PRODUCER
from tests.conftest import edited
from tests.test_responses import tiny_dict


class _Bids(NamedTuple):
    pos_group: np.ndarray
    group_com: np.ndarray


def test_spot_pool_serves_the_highest_bids_first_and_shares_at_the_margin():
    # commodity 0: position 1 bids most, 0 and 2 tie below it, 3 bids least; commodity 1: position 4
    bids = _Bids(np.array([1, 0, 1, 2, 3], np.intp), np.array([0, 0, 0, 1], np.intp))  # groups by position
    request = np.array([2.0, 3.0, 2.0, 5.0, 1.0])
    spare = np.array([3.0, 5.0, 2.0, 4.0])
    pool = np.array([0, 2, 3], np.intp)  # the producer outside the pool (1) offers nothing
    supply = _pool_supply(spare, pool, np.array([0, 0, 1], np.intp), 2)
    assert supply == pytest.approx([5.0, 4.0])
    for by_bid in (_by_bid, _by_bid_reference):
        fill, used = by_bid(bids, supply, request)
        # 3 t to the highest bid in full; the 2 t left shared by the tie (4 t asked); none for the lowest
        assert request * fill == pytest.approx([1.0, 3.0, 1.0, 0.0, 1.0])
        assert used == pytest.approx([5.0, 1.0])


def test_control_specs_keep_the_most_restrictive():
    countries = ["CN", "JP", "US"]
    m1 = Measure(kind="export_control", commodities=["a"], approval_probability=0.6, delay_weeks=4)
    m2 = Measure(kind="export_control", commodities=["a"], approval_probability=0.2, delay_weeks=2)
    m3 = Measure(kind="export_control", commodities=["b"], end_use="military")
    m4 = Measure(kind="export_control", commodities=["b"], destinations="all", instrument="ban", end_use="military")
    specs = control_specs([m1, m2, m3, m4], countries, "CN", "JP")
    assert set(specs) == {("JP", "a"), ("JP", "b"), ("US", "b")}  # per (destination, commodity)
    assert specs["JP", "a"].approval_probability == 0.2 and specs["JP", "a"].delay_weeks == 4
    assert specs["JP", "b"].approval_probability == 1.0  # military only: civilians not controlled
    assert not specs["JP", "b"].all_end_uses
    assert specs["JP", "b"].military_ban and not specs["JP", "b"].ban  # a military-only ban
    assert not specs["JP", "a"].ban


def test_measures_are_cumulative(tiny):
    levels = tiny.escalation.levels
    assert measures_in_force(levels, 0) == []
    assert len(measures_in_force(levels, 1)) == 1


def test_scripted_escalation_moves_in_the_week_of_the_date(tiny):
    model = CoercionModel(tiny)
    seen = []
    for _ in range(6):
        model.step()
        seen.append(model.level)
    # 2026-01-30 is 28 days after the start: week 4
    assert seen == [0, 0, 0, 0, 1, 1]
    assert model.stage == "controls"


def test_refused_licences_close_direct_chinese_edges_to_the_target_only(tiny):
    model = CoercionModel(tiny)
    for _ in range(5):
        model.step()
    e, s = model.eco, model.state
    from_cn = e.firm_country[e.edge_supplier] == e.coercer
    to_jp = e.pos_country[e.edge_pos] == e.target
    direct = from_cn & to_jp & ~e.edge_via_trader
    assert direct.any()
    assert not s.edge_open[direct].any()
    assert s.edge_open[~direct].all()
    jp_buyers = (e.pos_country == e.target) & (e.pos_kind != 2)
    assert s.pos_controlled[jp_buyers].all()
    assert not s.pos_controlled[~jp_buyers].any()


def test_certain_approval_without_delay_grants_at_once(tiny):
    cfg = edited(tiny)
    cfg.escalation.levels[1].measures[0].approval_probability = 1.0
    cfg.escalation.levels[1].measures[0].military_approval_probability = 1.0
    model = CoercionModel(cfg)
    for _ in range(5):
        model.step()
    ec = model.mechanisms["export_controls"]
    covered = model.state.edge_controlled
    assert covered.any() and not (covered & ~ec.candidate).any()
    assert (ec.status[covered] == GRANTED).all()
    assert model.state.edge_open.all()


def test_short_producer_fills_every_order_pro_rata(tiny):
    model = CoercionModel(tiny)
    e, s = model.eco, model.state
    prod = np.flatnonzero((e.firm_kind == PRODUCER) & (e.firm_country == e.coercer))[0]
    s.capacity_factor[prod] = 0.25
    mk = model.mechanisms["market"]
    mk.step(0)
    desired = s.desired
    edges = np.flatnonzero(e.edge_supplier == prod)
    placed = np.where(mk.up_edge[edges], 0.0, desired[e.edge_pos[edges]] * e.edge_share[edges])
    trader_orders = np.bincount(mk.via_trader_pos, (desired[e.edge_pos] * e.edge_share)[mk.via_edge],
                                minlength=e.n_pos)
    placed = np.where(mk.up_edge[edges], trader_orders[e.edge_pos[edges]] * e.edge_share[edges], placed)
    cap = e.firm_capacity_t[prod] * 0.25
    assert placed.sum() > cap  # the producer is short
    production = s.production_t[e.firm_commodity[prod]]
    # all producers' contract deliveries + spot: the short one delivers exactly its capacity
    assert production <= e.firm_capacity_t[e.firm_commodity == e.firm_commodity[prod]].sum()
    # direct buyers of that producer lacked (placed * (1 - cap/orders)) before the spot market
    assert s.spot[e.edge_pos[edges][~mk.up_edge[edges]]].sum() > 0


def test_calm_prices_hold_and_controls_split_them(tiny):
    model = CoercionModel(tiny)
    p0 = model.eco.price0.copy()
    for _ in range(4):
        model.step()
    assert model.state.price == pytest.approx(p0, rel=0.02)
    for _ in range(10):
        model.step()
    s = model.state
    assert (s.price > 1.2 * p0).all()  # outside: the target's Chinese supply is gone
    assert (s.price_cn <= model.eco.price0_cn * 1.0001).all()  # inside: capacity idles


def test_stockpile_release_follows_the_rule_by_hand(tiny):
    cfg = edited(tiny)
    model = CoercionModel(cfg)
    e, s = model.eco, model.state
    inv = model.mechanisms["inventories"]
    jp_ree = (e.pos_country == e.target) & (e.pos_commodity == e.commodities.index("ree"))
    manuf = np.flatnonzero(jp_ree & (e.pos_kind == POS_MANUFACTURER))
    stock = np.flatnonzero(jp_ree & (e.pos_kind == POS_STOCKPILE))[0]
    s.ring[:] = 0.0  # nothing arrives this week
    s.in_transit[:] = 0.0
    s.inventory[manuf] = 0.0
    s.required[:] = e.pos_base_use_t
    stock_before = s.inventory[stock]
    pol = cfg.policy_of("JP")
    need = (s.required[manuf] * pol.stockpile_release_trigger_days / 7.0).sum()
    release = min(need, stock_before * pol.stockpile_max_release_share_per_week)
    inv.step(0)
    assert s.inventory[stock] == pytest.approx(stock_before - release)
    # what was released was used (it is less than one week's need here) or kept
    assert (s.use[manuf].sum() + s.inventory[manuf].sum()) == pytest.approx(release)


def test_output_loss_is_worst_critical_input_times_value_added(tiny):
    model = CoercionModel(tiny)
    e, s = model.eco, model.state
    firm = np.flatnonzero((e.firm_kind == MANUFACTURER) & (e.firm_country == e.target)
                          & (e.firm_sector == e.sectors.index("chips")))[0]
    a, b = e.firm_pos_start[firm], e.firm_pos_end[firm]
    s.required[:] = e.pos_base_use_t
    s.use = s.required.copy()
    s.use[a:b] = s.required[a:b] * np.array([0.5, 0.0])[: b - a]  # gallium half, ree none
    crit = e.pos_criticality[a:b]
    expected_share = max(crit * (1 - np.array([0.5, 0.0])[: b - a]))
    model.signals.trade_ban_loss_share = 0.0
    model.mechanisms["output"].step(0)
    assert s.firm_output_loss_share[firm] == pytest.approx(expected_share)
    assert s.output_loss[e.target] == pytest.approx(e.firm_va_week[firm] * expected_share)
    # the loss is the binding input's: gallium (0.5 x half short = 0.25) over ree (0.2 x all short = 0.2)
    by_com = s.output_loss_by_commodity[e.target]
    assert by_com[e.commodities.index("gallium")] == pytest.approx(s.output_loss[e.target])
    assert by_com.sum() == pytest.approx(s.output_loss[e.target])
    gdp, emp = 600e12, 68e6
    assert s.jobs_lost[e.target] == pytest.approx(emp * s.output_loss[e.target] * 52 / gdp)


def test_diversification_keeps_the_sums_of_each_positions_edge_shares_as_they_move():
    """Diversification sums each position's non-Chinese and Chinese edge shares once, then keeps the
    sums as it rescales the shares: every week they are the shares' sums, to the last bit. No share
    turns negative or -0.0 (latent alternatives at a Chinese share of 1 are left at 0 on that ground)."""
    data = tiny_dict(**{"scenario.horizon_weeks": 60})
    data["escalation"]["script"] = [{"date": dt.date(2026, 1, 30), "level": 1},
                                    {"date": dt.date(2026, 7, 3), "level": 0}]
    data["strategy"]["levers"] = {"JP": {"dependence_ceiling_share": 0.4}}
    model = CoercionModel(config_from_dict(data))
    div = model.mechanisms["diversification"]
    key, n_pos = div.fixed.key, model.eco.n_pos
    start = model.state.edge_share.copy()
    checked = 0
    while model.running:
        model.step()
        sums = np.bincount(key, model.state.edge_share, minlength=2 * n_pos + 1)
        assert div.memory.summed[0]
        assert np.array_equal(div.memory.sums, sums), f"week {checked}: kept sums differ from the shares' sums"
        assert not np.signbit(model.state.edge_share).any()  # no share negative, nor -0.0 (the kernel relies on it)
        checked += 1
    assert checked > 50 and not np.array_equal(model.state.edge_share, start)  # the shares moved
