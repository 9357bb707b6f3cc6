"""The benchmark's bare arithmetic (``benchmarks/bare.py``) reproduces the model's market and output.

The benchmark's "model step / bare arithmetic" ratio means something only while the bare
week computes what the model computes; when a mechanism changes and the two part ways, this
fails here instead of the benchmark reporting "not available".
"""

from __future__ import annotations

from benchmarks import bare
from simulation import CoercionModel
from tests.test_references import busy_world


def test_bare_week_reproduces_the_model_in_a_busy_world():
    from simulation.config import config_from_dict

    model = CoercionModel(config_from_dict(busy_world(weeks=40)))
    _, worst = bare.replay(model, 40, reps=1)
    assert worst <= 1e-12
