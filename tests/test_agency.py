"""The target's stockpile agency (simulation/agency.py): releases by sector priority in a shortage,
refills when prices allow, and raises its diversification target after a crisis (simulation/states.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import tomli_w

from simulation import run
from simulation.cli import main
from simulation.config import config_from_dict, config_to_dict, load_config
from simulation.kernels import checking
from simulation.model import CoercionModel
from simulation.population import POS_MANUFACTURER, POS_STOCKPILE
from simulation.runner import write_run

from .conftest import TINY, refused


def tiny(lift: str | None = "2026-05-01", **policy) -> dict:
    """The tiny world with a thin Japanese rare-earth stockpile (14 days), no hub route, China's
    controls from week 4 (lifted on ``lift``), and Japan's ``policy``."""
    data = config_to_dict(load_config(TINY))
    data["world"]["countries"]["JP"]["commodities"]["ree"].update(via_hub_share=0.0, stockpile_days=14.0)
    data["world"]["countries"]["JP"]["policy"] = policy
    if lift:
        data["escalation"]["script"].append({"date": lift, "level": 0})
    return data


def positions(model: CoercionModel, kind: int, commodity: str = "ree") -> np.ndarray:
    e = model.eco
    return np.flatnonzero((e.pos_kind == kind) & (e.pos_country == e.countries.index("JP"))
                          & (e.pos_commodity == e.commodities.index(commodity)))


def lack_by_sector(data: dict) -> tuple[dict[str, float], CoercionModel]:
    """Japan's rare-earth use lacked over the run, per sector (t), run with every kernel checked
    against its numpy reference."""
    with checking():
        model = CoercionModel(config_from_dict(data))
    e = model.eco
    mf = positions(model, POS_MANUFACTURER)
    sector = e.firm_sector[e.pos_firm[mf]]
    lack = np.zeros(len(e.sectors))
    while model.running:
        model.step()
        np.add.at(lack, sector, np.maximum(model.state.required[mf] - model.state.use[mf], 0.0))
    return dict(zip(e.sectors, lack, strict=True)), model


def test_release_goes_to_the_priority_sector_first():
    # the same agency, the same shortage: by priority (chips first) or pro rata (priority share 0)
    # (controls lifted while the thin stock lasts)
    def lack(order: list[str], share: float):
        return lack_by_sector(tiny("2026-07-03", stockpile_release_priority=order, stockpile_priority_share=share))

    first, model = lack(["chips"], 1.0)
    pro_rata, _ = lack(["chips"], 0.0)
    autos_first, _ = lack(["autos"], 1.0)
    assert pro_rata["chips"] > 0 and pro_rata["autos"] > 0  # a shortage the stockpile cannot cover
    assert first["chips"] < 0.1 * pro_rata["chips"] and first["autos"] > pro_rata["autos"]
    assert autos_first["autos"] < pro_rata["autos"] and autos_first["chips"] > pro_rata["chips"]
    log = model.decisions.frame()
    release = log[(log.state == "JP") & (log.decision == "release")]
    controls = model.config.step_of(model.config.escalation.script[0].date)
    # it decides the week after it observes the shortage, and says why and for whom
    assert len(release) >= 1 and release.step.iloc[0] > controls
    assert release.reason.iloc[0].startswith("ree:") and "chips first" in release.reason.iloc[0]


def test_no_agency_no_change_and_a_pro_rata_agency_releases_as_the_fixed_rule():
    # a policy that does not switch the agency on changes nothing; with it on and no priority
    # share the release is the fixed rule's, at most a week later (the agency decides on the cover
    # firms were left with last week): the stockpile is drawn down over about the same weeks
    base = CoercionModel(config_from_dict(tiny()))
    same = CoercionModel(config_from_dict(tiny(stockpile_priority_share=0.5)))  # no priority: no agency
    agency = CoercionModel(config_from_dict(tiny(stockpile_release_priority=["chips"], stockpile_priority_share=0.0)))
    assert base.states["JP"].agency is None and agency.states["JP"].agency is not None
    stock = positions(base, POS_STOCKPILE)
    paths = {name: [] for name in ("base", "same", "agency")}
    for _ in range(30):
        for name, m in (("base", base), ("same", same), ("agency", agency)):
            m.step()
            paths[name].append(float(m.state.inventory[stock].sum()))
    assert paths["base"] == paths["same"]
    drawn = [np.flatnonzero(np.diff(p) < 0) for p in (paths["base"], paths["agency"])]
    assert len(drawn[0]) and drawn[1][0] - drawn[0][0] in (0, 1)
    assert abs(paths["agency"][-1] - paths["base"][-1]) < 0.05 * paths["base"][0]


def test_no_refill_while_the_price_is_above_the_multiple_then_refill_once_it_falls():
    multiple = 1.2
    model = CoercionModel(config_from_dict(tiny(stockpile_release_priority=["autos"],
                                                stockpile_refill_max_price_multiple=multiple)))
    e = model.eco
    stock = positions(model, POS_STOCKPILE)[0]
    ree = e.commodities.index("ree")
    rows = []
    while model.running:
        model.step()
        s = model.state
        rows.append((s.price[ree] / e.price0[ree], s.adjust_rate[stock], s.inventory[stock], s.stock_target[stock]))
    price, rate, held, target = map(np.array, zip(*rows, strict=True))
    log = model.decisions.frame()
    jp = log[log.state == "JP"]
    steps = {d: list(jp[jp.decision == d].step) for d in ("release", "defer_refill", "refill")}
    # released, then deferred while the price stood above 1.2x calm, then bought once it fell
    assert steps["release"] and steps["defer_refill"] and steps["refill"]
    assert steps["release"][0] < steps["defer_refill"][0] < steps["refill"][-1]
    defer, buy = steps["defer_refill"][-1], steps["refill"][-1]
    assert held[defer] < target[defer]  # a gap to refill
    assert np.all(rate[defer:buy] == 0.0)  # no purchase while deferred
    assert price[defer - 1] > multiple and price[buy - 1] <= multiple  # it decides on last week's price
    assert rate[buy] > 0 and held[-1] > held[buy]  # it buys once the price allows
    refill = jp[jp.step == buy].iloc[0]
    assert refill.price_multiple <= multiple and f"within {multiple:g}x" in refill.reason


def test_a_raised_diversification_target_comes_after_its_lag_and_not_before():
    lag = 6

    def spare(data: dict) -> dict:  # Australia has rare-earth capacity to spare, so sourcing can move
        data["world"]["commodities"]["ree"]["capacity_t_per_year"]["AU"] = 1500.0
        return data

    plain = CoercionModel(config_from_dict(spare(tiny(lift=None))))
    model = CoercionModel(config_from_dict(spare(tiny(lift=None, crisis_dependence_ceiling_share=0.3,
                                                      crisis_diversification_lag_weeks=lag))))
    crisis = model.config.step_of(model.config.escalation.script[0].date)
    decided = crisis + 1 + lag  # the target sees the controls the week after they come into force
    e = model.eco
    buyers = positions(model, POS_MANUFACTURER)
    cn_edge = np.isin(e.edge_pos, buyers) & (e.edge_origin == e.coercer)
    shares = {"plain": [], "model": []}
    for _ in range(decided + 20):
        for name, m in (("plain", plain), ("model", model)):
            m.step()
            shares[name].append(float(m.state.edge_share[cn_edge].sum()))
        if model.t <= decided:
            assert len(model.signals.diversification_ceiling) == 0
    a, b = np.array(shares["plain"]), np.array(shares["model"])
    assert np.array_equal(a[:decided], b[:decided])  # nothing before the decision
    assert np.all(b[decided:] <= a[decided:]) and b[-1] < a[-1] - 0.01  # sourcing moves away after it
    log = model.decisions.frame()
    raised = log[log.decision == "raise_diversification_target"]
    assert list(raised.state) == ["JP"] and list(raised.step) == [decided]
    assert "ree, gallium" in raised.reason.iloc[0] and "30%" in raised.reason.iloc[0]
    assert "raise_diversification_target" not in set(plain.decisions.frame().decision)


def test_the_agencys_decisions_are_in_decisions_csv(tmp_path):
    data = tiny(stockpile_release_priority=["military", "chips"], stockpile_refill_max_price_multiple=1.5,
                crisis_dependence_ceiling_share=0.5, crisis_diversification_lag_weeks=2)
    out = write_run(run(config_from_dict(data)), tmp_path / "run", figures=False)
    written = pd.read_csv(out / "decisions.csv")
    jp = written[written.state == "JP"]
    assert {"release", "defer_refill", "refill", "raise_diversification_target"} <= set(jp.decision)
    release = jp[jp.decision == "release"].iloc[0]
    assert "military, chips first" in release.reason and release.stockpile_days > 0
    refill = jp[jp.decision == "refill"].iloc[-1]
    assert refill.price_multiple <= 1.5 and refill.date


def test_an_unknown_priority_sector_is_refused(tmp_path, capsys):
    data = config_to_dict(load_config(TINY))
    data["world"]["countries"]["JP"]["policy"] = {"stockpile_release_priority": ["chips", "defense"]}
    path = tmp_path / "bad.toml"
    path.write_bytes(tomli_w.dumps(data).encode())
    out = tmp_path / "out"
    refused(capsys, main(["run", str(path), "--out", str(out)]), str(path),
            "world.countries.JP.policy.stockpile_release_priority[1]", "unknown sector 'defense'")
    assert not out.exists()


def test_no_diversification_target_when_the_controls_are_lifted_before_the_decision():
    # controls from week 4 lifted in week 17; the decision is due 20 weeks after the crisis
    model = CoercionModel(config_from_dict(tiny(crisis_dependence_ceiling_share=0.3,
                                                crisis_diversification_lag_weeks=20)))
    model.run_model()
    log = model.decisions.frame()
    kept = log[log.decision == "keep_diversification_target"]
    assert len(kept) == 1 and "lifted" in kept.reason.iloc[0]
    assert "raise_diversification_target" not in set(log.decision)
    assert len(model.signals.diversification_ceiling) == 0
