"""Export controls toward any destination, and the rules between instruments (issue 13, item 3).

On the tiny world (China, the target JP, the ally AU, the hub VN with traders), with a third
buyer added in AU where a test needs buyers outside the target: one test per instrument or
rule, asserting behaviour.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from simulation import CoercionModel
from simulation.config import config_from_dict
from simulation.mechanisms.export_controls import GRANTED, RENEWING
from simulation.population import MANUFACTURER
from tests.test_references import run_checked
from tests.test_responses import tiny_dict

BOTH = ["ree", "gallium"]


def world(*levels, script=(4,), weeks: int = 52, au_buyer: bool = True) -> dict:
    """The tiny world with ``levels`` (lists of measures) above calm, climbed at the weeks in
    ``script`` (one per level); with ``au_buyer``, Australia buys rare earths too (half from China)."""
    data = tiny_dict()
    data["scenario"]["horizon_weeks"] = weeks
    data["escalation"]["levels"] = [{"name": "calm"}] + [
        {"name": f"level{i + 1}", "measures": ms} for i, ms in enumerate(levels)]
    start = dt.date(2026, 1, 2)
    data["escalation"]["script"] = [{"date": start + dt.timedelta(weeks=w), "level": i + 1}
                                    for i, w in enumerate(script)]
    if au_buyer:
        au = data["world"]["countries"]["AU"]
        au["n_manufacturers"] = 10
        au["sector_va_share_gdp"] = {"autos": 0.02}
        au["commodities"] = {"ree": {"demand_t_per_year": 1040.0, "import_shares": {"CN": 0.5, "AU": 0.5}}}
    return data


def licensing(destinations="target", commodities=BOTH, **terms) -> dict:
    return {"kind": "export_control", "commodities": commodities, "destinations": destinations,
            "instrument": "licensing", "end_use": "all", **terms}


def covered_countries(model: CoercionModel) -> set[str]:
    e, s = model.eco, model.state
    return {e.countries[c] for c in np.unique(e.pos_country[e.edge_pos[s.edge_controlled]])}


def test_worldwide_licensing_raises_the_outside_price_for_every_buyer():
    terms = dict(approval_probability=0.5, delay_weeks=4.0, license_validity_weeks=13.0)
    prices, licensed_in = {}, {}
    for dest in ("target", "all"):
        model = CoercionModel(config_from_dict(world([licensing(dest, **terms)])))
        e, s = model.eco, model.state
        ree = e.commodities.index("ree")
        p0, seen = s.price[ree], set()
        for _ in range(30):
            model.step()
            seen |= {e.countries[c] for c in np.unique(e.pos_country[e.edge_pos[s.edge_licensed]])}
        prices[dest], licensed_in[dest] = s.price[ree] / p0, seen
        if dest == "all":  # Australia's and the hub's buyers are controlled too, not only the target's
            assert covered_countries(model) == {"JP", "AU", "VN"}
            au = (e.pos_country == e.countries.index("AU")) & (e.pos_commodity == ree) & (e.pos_kind != 2)
            assert au.any() and s.pos_controlled[au].all()
    assert licensed_in["target"] == {"JP"}
    assert {"JP", "AU", "VN"} <= licensed_in["all"]  # licences granted toward several destinations
    assert prices["all"] > 1.05 and prices["all"] > prices["target"] * 1.02


def test_a_ban_revokes_the_licences_in_force():
    grant = licensing(approval_probability=1.0, military_approval_probability=1.0, delay_weeks=0.0,
                      license_validity_weeks=26.0)
    ban = {"kind": "export_control", "commodities": BOTH, "instrument": "ban"}
    model = CoercionModel(config_from_dict(world([grant], [ban], script=(4, 10), weeks=20)))
    s = model.state
    for _ in range(10):  # weeks 0-9: licensing since week 4, every licence granted
        model.step()
    covered = s.edge_controlled.copy()
    assert covered.any() and s.edge_licensed[covered].all() and s.edge_open[covered].all()
    model.step()  # week 10: the ban
    assert (s.edge_controlled == covered).all()
    assert not s.edge_open[covered].any() and not s.edge_licensed.any()
    for _ in range(5):  # and no licence is applied for while it lasts
        model.step()
        assert not s.edge_open[covered].any()


def test_a_renewal_made_in_time_keeps_flows_running():
    terms = dict(approval_probability=1.0, military_approval_probability=1.0, delay_weeks=3.0,
                 license_validity_weeks=8.0)
    model = CoercionModel(config_from_dict(world([licensing("all", **terms)], weeks=60)))
    s, ec = model.state, model.mechanisms["export_controls"]
    first_open = None
    renewing = 0
    for _ in range(60):
        model.step()
        covered = s.edge_controlled
        if first_open is None:
            if covered.any() and s.edge_open[covered].all():
                first_open = covered.copy()
            continue
        assert s.edge_open[first_open].all()  # never closed again after its first grant
        renewing += int(np.count_nonzero(ec.status == RENEWING))
    assert first_open is not None
    assert renewing > 0 and ec.n_granted > 3 * np.count_nonzero(first_open)  # renewals happened, and were made
    assert (np.isin(ec.status[first_open], (GRANTED, RENEWING))).all()


def test_a_list_of_destinations_covers_exactly_those_countries():
    refuse = dict(approval_probability=0.0)
    model = CoercionModel(config_from_dict(world([licensing(["AU", "VN"], **refuse)])))
    e, s = model.eco, model.state
    for _ in range(6):
        model.step()
    assert covered_countries(model) == {"AU", "VN"}
    direct = (e.firm_country[e.edge_supplier] == e.coercer) & ~e.edge_via_trader
    dest = e.pos_country[e.edge_pos]
    listed = np.isin(dest, [e.countries.index("AU"), e.countries.index("VN")])
    assert (s.edge_controlled == (direct & listed)).all()
    assert not s.edge_open[direct & listed].any() and s.edge_open[~(direct & listed)].all()
    assert not s.pos_controlled[~np.isin(e.pos_country, [e.countries.index("AU"), e.countries.index("VN")])].any()


def test_the_boycott_never_blacklists_traders_of_other_commodities():
    stop = licensing(approval_probability=0.0)
    boycott = {"kind": "secondary_boycott", "commodities": ["ree"], "enforcement": 1.0}
    data = world([stop, boycott], au_buyer=False)
    data["world"]["countries"]["JP"]["commodities"]["gallium"].update(via_hub_share=0.1)
    data["world"]["transshipment"] = {"detection_base_per_week": 0.5}
    model = CoercionModel(config_from_dict(data))
    model.run_model()
    e, tr = model.eco, model.mechanisms["transshipment"]
    gallium, ree = e.commodities.index("gallium"), e.commodities.index("ree")
    traders = tr.traders
    via_target = e.edge_via_trader & (e.pos_country[e.edge_pos] == e.target)
    ga_traders = traders[e.firm_commodity[traders] == gallium]
    shipped_ga = np.isin(e.edge_supplier[via_target], ga_traders)
    assert model.recorder.series["transshipped_t"].sum() > 0
    assert shipped_ga.any()  # gallium traders re-export to the target...
    assert not tr.blacklisted[ga_traders].any()  # ...and are never blacklisted
    assert tr.blacklisted[traders[e.firm_commodity[traders] == ree]].any()  # rare-earth traders are


def test_kernels_match_their_references_under_every_instrument():
    """Worldwide licensing with delays and renewals, a ban on top, then back to licensing and
    calm, in the checking mode (every kernel call compared with its reference)."""
    terms = dict(approval_probability=0.6, delay_weeks=3.0, license_validity_weeks=6.0)
    ban = {"kind": "export_control", "commodities": ["ree"], "destinations": ["JP"], "instrument": "ban"}
    boycott = {"kind": "secondary_boycott", "commodities": ["ree"], "enforcement": 0.8}
    data = world([licensing("all", **terms)], [ban, boycott], script=(4, 20), weeks=40)
    start = dt.date(2026, 1, 2)
    data["escalation"]["script"] += [{"date": start + dt.timedelta(weeks=28), "level": 1},
                                     {"date": start + dt.timedelta(weeks=34), "level": 0}]
    model = run_checked(data)
    assert model.mechanisms["export_controls"].n_granted > 0


def test_military_end_users_are_drawn_at_each_countrys_share_on_the_same_draws():
    """A country's own ``military_share`` decides how many of its manufacturers are military end users
    (the world's ``firms.military_share`` where it gives none), on the same random draws: changing one
    country's share changes no other flag, and raising it only adds end users."""

    def flags(jp=None, au=None, world_share=0.05):
        data = world(weeks=8, script=())
        data["world"]["countries"]["AU"]["n_manufacturers"] = 400
        data["world"]["firms"] = {**data["world"].get("firms", {}), "military_share": world_share}
        for c, share in (("JP", jp), ("AU", au)):
            if share is not None:
                data["world"]["countries"][c]["military_share"] = share
        e = CoercionModel(config_from_dict(data)).eco
        manuf = e.firm_kind == MANUFACTURER
        country = [e.countries.index(c) for c in ("JP", "AU")]
        return [e.firm_military[manuf & (e.firm_country == k)] for k in country]

    jp_all, au_default = flags(jp=1.0)
    assert jp_all.all() and 0 < au_default.mean() < 0.15  # AU falls back to the world's 5% (of 400)
    jp_none, au_same = flags(jp=0.0)
    assert not jp_none.any() and np.array_equal(au_same, au_default)  # only Japan's flags moved
    _, au_more = flags(jp=0.0, au=0.2)
    assert au_more.mean() > au_default.mean() and np.all(au_more[au_default])  # the same draws, a higher bar
    _, au_off = flags(jp=0.0, au=0.0, world_share=0.5)
    assert not au_off.any()  # a country's own 0 beats the world's share
