"""The calm is a steady state: with no measures, nothing drifts and nobody loses output.

Each shipped scenario and the tiny world run 156 weeks with China's script and record emptied
(the shipped scenarios then run a calm history first) and the dated projects off (a project
is a change to the world: its capacity moves prices by design).
Every price inside and outside China, every China share, every stock and every flow stays
within 0.5% of its value in the first week, no country loses output or jobs, and China's
export revenue equals its calm reference.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulation.config import load_config
from simulation.model import CoercionModel
from simulation.population import POS_TRADER
from tests.conftest import JAPAN, KOREA, TINY

WEEKS = 156
TOLERANCE = 0.005


def _calm(path, **params) -> CoercionModel:
    params = {"escalation.script": [], "escalation.record": [], "world.projects": [], "scenario.horizon_weeks": WEEKS,
              **params}
    return CoercionModel(load_config(path, params=params, steps=WEEKS))


def _china_share(model: CoercionModel) -> np.ndarray:
    """Chinese-origin share of what each buyer position was shipped this week (NaN: nothing)."""
    s = model.state
    with np.errstate(invalid="ignore", divide="ignore"):
        return s.shipped_cn / s.shipped


def _drift(now: np.ndarray, start: np.ndarray) -> float:
    """Largest relative change, over entries not ~0 at the start (absolute change elsewhere)."""
    ok = ~np.isnan(start)
    scale = np.maximum(np.abs(start[ok]), 1e-9 * max(np.abs(start[ok]).max(initial=0.0), 1e-12))
    return float(np.max(np.abs(now[ok] - start[ok]) / scale, initial=0.0))


@pytest.mark.parametrize("path", [JAPAN, KOREA, TINY], ids=["japan_2026", "korea_coerced", "tiny"])
def test_the_calm_is_a_steady_state(path):
    model = _calm(path)
    s, e = model.state, model.eco
    buyer = e.pos_kind != POS_TRADER
    model.step()
    start = {"price": s.price.copy(), "price_china": s.price_cn.copy(), "inventory": s.inventory.copy(),
             "shipped": s.shipped[buyer].copy(), "use": s.use.copy(), "china_share": _china_share(model)[buyer],
             "production": s.production_t.copy()}
    assert model.signals.cn_export0_usd > 0
    worst = dict.fromkeys(start, 0.0)
    for _ in range(WEEKS - 1):
        model.step()
        now = {"price": s.price, "price_china": s.price_cn, "inventory": s.inventory, "shipped": s.shipped[buyer],
               "use": s.use, "china_share": _china_share(model)[buyer], "production": s.production_t}
        for key in start:
            worst[key] = max(worst[key], _drift(now[key], start[key]))
        assert not s.output_loss.any() and not s.jobs_lost.any(), f"output lost in calm at step {model.steps}"
        assert s.cn_export_usd == pytest.approx(model.signals.cn_export0_usd, rel=TOLERANCE)
        assert s.spot.sum() == pytest.approx(0.0, abs=1e-9)  # nobody short: no spot purchases
    assert max(worst.values()) <= TOLERANCE, worst
    # the calm China shares are the ones the build contracted (the reference of every share)
    assert model.signals.cn_world_share0 == pytest.approx(s.cn_world_share, rel=1e-9)


def test_an_origin_contracted_beyond_its_capacity_is_rescaled_or_refused(tiny):
    """Import shares that ask more of an origin than it can make: the build moves the excess to
    China (and says so), or stops naming the origin with ``calm_balance = "error"``."""
    from simulation.config import ConfigError
    from tests.conftest import edited

    # tiny: find a non-Chinese origin and make it tiny
    w = tiny.world
    com, origin = next((c, k) for c, cm in w.commodities.items() for k, v in cm.capacity_t_per_year.items()
                       if k != tiny.scenario.coercer and v > 0)
    small = edited(tiny, escalation__script=[], **{f"world__commodities__{com}__capacity_t_per_year__{origin}": 1e-3})
    model = CoercionModel(small)
    assert any(note.startswith(f"{com} from {origin}:") for note in model.eco.calm_balance)
    model.run_model()
    assert not model.state.output_loss.any()
    with pytest.raises(ConfigError, match=f"world.commodities.{com}.capacity_t_per_year.{origin}"):
        CoercionModel(edited(small, world__market__calm_balance="error"))
