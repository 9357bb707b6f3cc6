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


def test_licence_kernels_match_their_references_with_pending_decisions():
    """Licences waiting for a later decision (the busy world decides every application in the
    week it is made, its controls having no delay): hand-made candidates in every status
    (renewals pending among them), some banned, some dates reached, others not, published for
    all edges and for the changed ones only."""
    import numpy as np

    from simulation.kernels import compare_calls
    from simulation.mechanisms import export_controls as ec

    rng = np.random.default_rng(11)
    for t in range(3, 9):
        n_cand, n_edges = 14, 20
        cand = np.sort(rng.choice(n_edges, n_cand, replace=False)).astype(np.uint32)
        status, next_step = np.zeros(n_edges, np.int8), np.zeros(n_edges, np.int64)
        standing = rng.random(n_cand)
        lic = ec.Licences(cand, rng.integers(0, 5, n_cand).astype(np.int8), rng.integers(t - 3, t + 4, n_cand),
                          status, next_step, standing, standing.view(np.uint64).copy(),
                          rng.integers(0, 3, n_cand))
        status[cand], next_step[cand] = lic.status_c, lic.next_c
        cover_c = rng.random(n_cand) < 0.7
        cover = np.zeros(n_edges, bool)
        cover[cand] = cover_c
        ban_c = cover_c & (rng.random(n_cand) < 0.3)
        cov = ec.Coverage(cover, np.zeros(5, bool), cover_c, ban_c, rng.random(n_cand),
                          rng.random(n_cand) < 0.5, np.full(n_cand, 3.0),
                          np.full(n_cand, 10.0), np.full(n_cand, 7), np.full(n_cand, 4), np.full(n_cand, -3.476),
                          rng.integers(0, 3, n_cand))
        scratch = ec.Applications(*(np.zeros(n_cand, np.uint32) for _ in range(3)))
        n_new, n_again, n_due = compare_calls("requests", ec._requests_kernel, ec.requests_reference,
                                              (lic, cov, t, scratch))
        new, again = scratch.new[:n_new], scratch.again[:n_again]
        logs = np.log1p(-rng.random(n_new + n_again))  # one uniform draw per application: its wait
        n_due = compare_calls("schedule", ec._schedule_kernel, ec.schedule_reference,
                              (lic, cover_c, cov.wait_scale_c, cov.floor_c, t, ec.Applications(new, again, scratch.due),
                               n_due, logs))
        edges = ec.EdgeAccess(rng.random(n_edges) < 0.2, np.zeros(n_edges, bool), np.zeros(n_edges, bool))
        compare_calls("decide_publish", ec._decide_publish_kernel, ec.decide_publish_reference,
                      (lic, cov, t, ec.Applications(new, again, scratch.due[:n_due]), t % 2 == 0, edges))


def test_kernels_match_their_references_when_unprotected_producers_exit():
    # the ally outside FORGE and a strong investment response: after the embargo the glut
    # pushes the smoothed price below the exit level, and its producers idle (new supply's exit)
    data = busy_world(lift_week=20, weeks=104)
    data["world"]["countries"]["AU"]["forge_member"] = False
    data["world"]["investment"]["response_share_per_year"] = 1.0
    model = run_checked(data)
    fx = model.mechanisms["new_supply"].fixed
    assert len(fx.exit_firms) and model.state.capacity_factor[fx.exit_firms].min() < 1.0
