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
