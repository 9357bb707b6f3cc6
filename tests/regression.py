"""The stored baseline: summary numbers of small fixed runs, compared in tests.

Regenerate only on purpose, after a change meant to alter results:

    .venv/bin/python -m tests.regression --regenerate

and say in the commit why the numbers moved.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from simulation import load_config, run

HERE = Path(__file__).parent
STORE = HERE / "baseline" / "summaries.json"
ROOT = HERE.parent
RUNS = {
    "tiny": dict(path="tests/data/tiny.toml", seed=7, steps=None, strategy=None),
    "korea_combined_60w": dict(path="configs/scenarios/korea_coerced.toml", seed=5, steps=60, strategy="combined"),
    "japan_endogenous_60w": dict(path="configs/scenarios/japan_2026.toml", seed=3, steps=60, strategy=None,
                                 params={"escalation.after_script": "endogenous"}),
}
REL_TOL = 1e-9


def flatten(obj, prefix: str = "") -> dict[str, float]:
    """Every number of a nested summary under a dotted key (booleans as 0/1, None skipped)."""
    out: dict[str, float] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, bool):
        out[prefix] = float(obj)
    elif isinstance(obj, int | float):
        out[prefix] = float(obj)
    return out


def summaries(params_override: dict | None = None) -> dict[str, dict[str, float]]:
    out = {}
    for name, spec in RUNS.items():
        params = dict(spec.get("params", {}))
        params.update(params_override or {})
        cfg = load_config(ROOT / spec["path"], seed=spec["seed"], steps=spec["steps"], strategy=spec["strategy"],
                          params=params or None)
        out[name] = flatten(run(cfg).summary)
    return out


def differences(stored: dict, current: dict) -> list[str]:
    """One line per number that changed (or appeared, or vanished)."""
    lines = []
    for run_name in sorted(set(stored) | set(current)):
        a, b = stored.get(run_name, {}), current.get(run_name, {})
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                lines.append(f"{run_name}: {key}: {'new' if key not in a else 'gone'}")
            elif not math.isclose(a[key], b[key], rel_tol=REL_TOL, abs_tol=1e-12):
                lines.append(f"{run_name}: {key}: stored {a[key]!r}, now {b[key]!r}")
    return lines


if __name__ == "__main__":
    if "--regenerate" not in sys.argv:
        sys.exit("usage: python -m tests.regression --regenerate  (overwrites tests/baseline/summaries.json)")
    STORE.write_text(json.dumps(summaries(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {STORE}")
