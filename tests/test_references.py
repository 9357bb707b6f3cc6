"""Every compiled kernel agrees with its plain-numpy reference.

Each kernel (``simulation.kernels.kernel``) has a reference beside it, written with numpy
array operations: it documents the logic and guards the kernel. Models built inside
``kernels.checking()`` call both at every step, on the same inputs, and stop at the first
output or in-place update that differs (relative tolerance 1e-9: the references sum in
numpy's order, which may differ from the kernels' in the last bits). Checking call by call
keeps a last-bit difference from growing through a run into a false alarm.

The worlds: the tiny test world driven through every branch (licences, rerouting, a secondary
boycott that blacklists traders, a dependence ceiling, recycling and stockpile targets, a
project, an embargo lifted again), and random variations of it drawn by hypothesis.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation import CoercionModel
from simulation.config import config_from_dict
from simulation.kernels import checking
from tests.test_responses import with_boycott


def busy_world(enforcement: float = 0.5, approval: float = 0.5, ceiling: float = 0.4, lift_week: int = 35,
               scale: float = 1.0, seed: int = 7, weeks: int = 78) -> dict:
    """The tiny world with every mechanism at work."""
    data = with_boycott(enforcement, approval=approval)
    data["scenario"]["horizon_weeks"] = weeks
    data["run"]["seed"] = seed
    data["world"]["firms"]["scale"] = scale
    start = dt.date(2026, 1, 2)
    data["escalation"]["script"] = [{"date": dt.date(2026, 1, 30), "level": 1},
                                    {"date": start + dt.timedelta(weeks=lift_week), "level": 0}]
    data["world"]["projects"] = [{"name": "mine", "commodity": "ree", "country": "AU", "capacity_t_per_year": 300.0,
                                  "online_date": dt.date(2026, 5, 1), "ramp_weeks": 8}]
    data["world"]["investment"] = {"price_threshold_multiple": 1.05, "lead_weeks": 20}
    data["strategy"]["levers"] = {"JP": {"dependence_ceiling_share": ceiling, "recycling_target_share": 0.2,
                                         "recycling_target_date": dt.date(2026, 12, 4),
                                         "stockpile_target_days": 60.0, "diversification_subsidy_share": 0.3,
                                         "substitution_boost": 0.5}}
    return data


def run_checked(data: dict) -> CoercionModel:
    with checking():
        model = CoercionModel(config_from_dict(data))
    model.run_model()
    return model


def test_kernels_match_their_references_in_the_busy_tiny_world():
    model = run_checked(busy_world())
    assert model.mechanisms["transshipment"].blacklisted.any()  # the boycott branch ran
    assert model.recorder.series["transshipped_t"].sum() > 0  # so did rerouting
    assert model.state.capacity_factor[model.mechanisms["new_supply"].project_firms].max() > 0  # the project


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(enforcement=st.floats(0.0, 1.0), approval=st.floats(0.0, 1.0), ceiling=st.floats(0.1, 1.0),
       lift_week=st.integers(6, 40), scale=st.sampled_from([0.5, 1.0, 2.0]), seed=st.integers(0, 2**31))
def test_kernels_match_their_references_in_random_worlds(enforcement, approval, ceiling, lift_week, scale, seed):
    run_checked(busy_world(enforcement, approval, ceiling, lift_week, scale, seed, weeks=45))
