"""Baseline regression: stored summary numbers of fixed runs (tests/regression.py)."""

from __future__ import annotations

import json

from tests.regression import STORE, differences, summaries


def test_summaries_match_the_stored_baseline():
    stored = json.loads(STORE.read_text())
    changed = differences(stored, summaries())
    print("\n".join(changed))
    assert not changed, f"{len(changed)} numbers changed (see above); regenerate only on purpose"


def test_negative_control_a_changed_parameter_is_caught():
    stored = json.loads(STORE.read_text())
    changed = differences(stored, summaries({"world.output.induced_multiplier": 1.01}))
    assert any("cum_output_loss" in line for line in changed)
