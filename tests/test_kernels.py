"""The compiled kernels compute what their Python source says.

Each mechanism's weekly arithmetic is a numba kernel (``mechanisms.base.kernel``). With
``NUMBA_DISABLE_JIT=1`` the same functions run as plain Python on numpy values. A run of the
tiny world that goes through every mechanism's branches (export controls with licences,
rerouting through hubs, a secondary boycott that blacklists traders, a dependence ceiling, an
embargo lifted again) must record the same numbers to the last bit both ways: the compiled
code neither overflows its small index types nor divides or treats NaN differently.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys

import numpy as np

from simulation import CoercionModel, load_config
from simulation.config import config_from_dict, dump_config
from tests.test_responses import with_boycott

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = """
import sys
import numpy as np
from tests.test_kernels import arrays
from simulation import CoercionModel, load_config
model = CoercionModel(load_config(sys.argv[1]))
model.run_model()
np.savez(sys.argv[2], **arrays(model))
"""


def arrays(model: CoercionModel) -> dict[str, np.ndarray]:
    """Every recorded series and the final state of a finished run."""
    rec = model.recorder
    out = {f"record/{k}": np.asarray(v) for k, v in rec.series.items() if k != "escalation_stage"}
    out |= {f"costs/{k}": v for k, v in rec.costs.items()} | {f"ledger/{k}": v for k, v in rec.ledger.items()}
    for f in dataclasses.fields(model.state):
        value = getattr(model.state, f.name)
        if value is not None:
            out[f"state/{f.name}"] = np.asarray(value)
    out["transshipment/blacklisted"] = model.mechanisms["transshipment"].blacklisted
    out["diversification/mem"] = model.mechanisms["diversification"].mem
    return out


def test_kernels_compiled_and_interpreted_agree(tmp_path):
    data = with_boycott(0.5, approval=0.5)
    data["scenario"]["horizon_weeks"] = 78
    data["escalation"]["script"] = [{"date": dt.date(2026, 1, 30), "level": 1},
                                    {"date": dt.date(2026, 9, 4), "level": 0}]
    data["strategy"]["levers"] = {"JP": {"dependence_ceiling_share": 0.4}}
    config = config_from_dict(data)
    path = tmp_path / "config.toml"
    dump_config(config, path)

    model = CoercionModel(load_config(path))
    model.run_model()
    compiled = arrays(model)
    assert compiled["transshipment/blacklisted"].any()  # the boycott branch ran
    assert compiled["record/transshipped_t"].sum() > 0  # so did rerouting

    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=ROOT)
    subprocess.run([sys.executable, "-c", CHILD, str(path), str(tmp_path / "plain.npz")], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=600)
    plain = np.load(tmp_path / "plain.npz")
    assert sorted(plain.files) == sorted(compiled)
    differ = [k for k in compiled if not np.array_equal(compiled[k], plain[k], equal_nan=compiled[k].dtype.kind == "f")]
    assert not differ, f"compiled and interpreted kernels differ in {differ}"


def test_np_sum_is_numpys_sum_to_the_last_bit():
    """Kernels that stand in for ``(x * p).sum()`` (China's sales) sum as numpy does: pairwise,
    blocks of eight partial sums, long arrays split in halves; -0.0 values sum to 0.0."""
    from simulation.kernels import np_sum

    rng = np.random.default_rng(5)
    cases = [rng.standard_normal(n) * 10.0 ** rng.uniform(-8, 8, n) for n in (*range(0, 300), 1000, 4097, 70001)]
    cases += [np.array([-0.0] * n) for n in (1, 9, 200)] + [np.array([np.inf, -np.inf] * 9), np.array([1e308] * 20)]
    with np.errstate(invalid="ignore", over="ignore"):
        differ = [len(x) for x in cases if np.float64(np_sum(x)).tobytes() != np.float64(np.sum(x)).tobytes()]
    assert differ == []
    # a plain left-to-right sum differs from numpy's in the last bits: the test can fail
    x = cases[200]
    plain = 0.0
    for v in x:
        plain += v
    assert np.float64(plain).tobytes() != np.float64(np.sum(x)).tobytes()


def test_pain_is_numpys_mean_of_the_window_to_the_last_bit():
    """The states' pain (``escalation.pain_pct_gdp``, a compiled column sum) is what numpy's mean of the
    window's column gives, to the bit: windows shorter than the series, longer (numpy's pairwise split),
    at its start (fewer weeks) and empty, with -0.0 and NaN entries."""
    from simulation.mechanisms.escalation import pain_pct_gdp

    rng = np.random.default_rng(11)
    differ = []
    for case in range(400):
        weeks, k = int(rng.integers(1, 420)), int(rng.integers(1, 13))
        loss = rng.lognormal(0.0, 3.0, (weeks, k)) * (rng.random((weeks, k)) < 0.7)
        if case % 5 == 0:
            loss[rng.random((weeks, k)) < 0.4] = -0.0
        if case % 50 == 0:
            loss[rng.integers(0, weeks), :] = np.nan
        country, t, window = int(rng.integers(0, k)), int(rng.integers(0, weeks + 2)), int(rng.integers(1, 300))
        gdp = float(rng.lognormal(20.0, 2.0))
        lost = loss[max(0, t - window):t, country]
        want = 0.0 if len(lost) == 0 else float(lost.mean() * 52.0 / gdp * 100.0)
        got = pain_pct_gdp(loss, gdp, country, t, window)
        if np.float64(got).tobytes() != np.float64(want).tobytes():
            differ.append((weeks, t, window))
    assert differ == []


def test_chinas_cost_reading_is_numpys_to_the_last_bit():
    """China's weekly cost reading (``states._cost_reading``: the margin its producers lost and the
    Chinese-origin share of outside buyers' sourcing, one compiled call) equals its numpy reference bit
    for bit: many lengths of the edge selection (numpy's pairwise split), -0.0 weights, a NaN price."""
    from simulation.states import _cost_reading, cost_reading_reference

    rng = np.random.default_rng(12)
    differ = []
    for n in (*range(0, 260, 7), 1024, 1025, 14626, 37400):
        for case in range(3):
            x = rng.lognormal(0.0, 2.0, 37400) * (rng.random(37400) < 0.8)
            idx = np.sort(rng.choice(37400, size=n, replace=False))
            w = rng.lognormal(0.0, 3.0, n)
            if case == 2:
                w[rng.random(n) < 0.5] = -0.0
            prod_w, price_cn, price0 = rng.random(12), rng.lognormal(0.0, 0.3, 12), rng.lognormal(0.0, 0.3, 12)
            if case == 1:
                price_cn[3] = np.nan
            got = _cost_reading(prod_w, price_cn, price0, w, x, idx)
            want = cost_reading_reference(prod_w, price_cn, price0, w, x, idx)
            if np.asarray(got, float).tobytes() != np.asarray(want, float).tobytes():
                differ.append((n, case))
    assert differ == []


def test_floor_payments_are_their_numpy_reference_to_the_last_bit():
    """What the states pay their covered producers (``new_supply._pay_floors_kernel``) equals its numpy
    reference bit for bit: prices above and below the floors, members and not, a commodity whose
    members' capacity is all idle, FORGE's floor paid by members' firms (or none)."""
    from simulation.mechanisms.new_supply import _pay_floors_kernel, pay_floors_reference

    rng = np.random.default_rng(13)
    differ = []
    for case in range(300):
        n, k, m, n_firms = int(rng.integers(1, 60)), int(rng.integers(1, 13)), int(rng.integers(1, 13)), 500
        firms = rng.choice(n_firms, n, replace=False)
        com, payer = rng.integers(0, m, n), rng.integers(0, k, n)
        member = rng.random(k) < 0.5
        price = rng.lognormal(0.0, 0.5, m) * 1000.0
        floor_usd = rng.lognormal(0.0, 0.5, n) * 1000.0
        capacity, factor = rng.lognormal(0.0, 1.0, n), rng.random(n_firms) * (rng.random(n_firms) < 0.8)
        paid = rng.lognormal(0.0, 3.0, (k, m)) * (rng.random((k, m)) < 0.6) if case % 3 else np.zeros((0, 0))
        args = (firms, com, floor_usd, capacity, payer, member[payer], price, factor, paid)
        got = rng.lognormal(0.0, 1.0, k)  # the policy costs booked so far this week
        want = got.copy()
        _pay_floors_kernel(*args, got)
        pay_floors_reference(*args, want)
        if got.tobytes() != want.tobytes():
            differ.append(case)
    assert differ == []
