"""Property-based checks over generated valid configs: the invariants always hold."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation import load_config, run
from simulation.config import config_from_dict, config_to_dict
from tests.conftest import TINY

BASE = config_to_dict(load_config(TINY))


@st.composite
def configs(draw):
    data = config_to_dict(config_from_dict(BASE))
    jp = data["world"]["countries"]["JP"]["commodities"]["ree"]
    cn_share = draw(st.floats(0.0, 1.0))
    jp["import_shares"] = {"CN": cn_share, "AU": 1.0 - cn_share}
    jp["demand_t_per_year"] = draw(st.floats(10.0, 4000.0))
    jp["stockpile_days"] = draw(st.floats(0.0, 200.0))
    jp["inventory_days"] = draw(st.floats(0.0, 90.0))
    jp["via_hub_share"] = draw(st.floats(0.0, 0.5))
    measure = data["escalation"]["levels"][1]["measures"][0]
    measure["approval_probability"] = draw(st.floats(0.0, 1.0))
    measure["delay_weeks"] = draw(st.floats(0.0, 12.0))
    data["escalation"]["script"][0]["date"] = dt.date(2026, 1, 2) + dt.timedelta(weeks=draw(st.integers(0, 20)))
    data["world"]["firms"]["size_sigma"] = draw(st.floats(0.0, 2.0))
    data["run"]["seed"] = draw(st.integers(0, 2**32))
    data["run"]["steps"] = 30
    return config_from_dict(data)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_invariants_hold_for_any_valid_config(cfg):
    res = run(cfg)
    lg = res.ledger
    lhs = lg["supply_t"]
    rhs = lg["use_t"] + lg["inventory_change_t"] + lg["losses_t"]
    assert np.all(np.abs(lhs - rhs) <= 1e-9 * np.maximum(lhs, 1.0))
    cc = res.country_commodity
    assert (cc["supplied_t"] <= cc["demand_t"] * (1 + 1e-12)).all()
    assert cc["shortage_share"].between(0, 1).all()
    assert cc["china_share"].dropna().between(0, 1 + 1e-12).all()
    assert (cc["stockpile_days"] >= -1e-9).all()
    assert (cc["price"] > 0).all() and (cc["price_china"] > 0).all()
    assert (res.country["output_loss"] >= 0).all()
    # never more lost than the value added exposed plus the trade-ban losses
    assert res.country["output_loss_pct_gdp"].max() <= 100.0
