"""Bit-identical check of a refactoring: record a fixed run set, compare it with a stored one.

    python -m benchmarks.identical --save DIR      # before the change (e.g. on the base commit)
    python -m benchmarks.identical --compare DIR   # after it: "N arrays, 0 differ"

The run set: both shipped scenarios (default strategy), Korea under every shipped strategy,
Japan with endogenous escalation after the script under three seeds, the tiny test world and
the four calibration cases. For each run it stores every recorded series (the three tables,
column by column, the material ledger and the cost series), the summary's numbers, the final
mutable state and the state of every random stream (the mechanisms' and Mesa's).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from simulation import CoercionModel, load_config
from simulation.runner import summarize

ROOT = Path(__file__).resolve().parent.parent
SCEN = ROOT / "configs" / "scenarios"
CAL = ROOT / "configs" / "calibration"


def run_set() -> dict[str, dict]:
    """Name -> ``load_config`` arguments of every run compared."""
    runs: dict[str, dict] = {
        "japan_2026": dict(path=SCEN / "japan_2026.toml"),
        "korea_coerced": dict(path=SCEN / "korea_coerced.toml"),
        "tiny": dict(path=ROOT / "tests" / "data" / "tiny.toml", seed=7),
    }
    for strategy in sorted(p.stem for p in (ROOT / "configs" / "strategies").glob("*.toml")):
        runs[f"korea-{strategy}"] = dict(path=SCEN / "korea_coerced.toml", strategy=strategy)
    for seed in (1, 2, 3):
        runs[f"japan-endogenous-{seed}"] = dict(path=SCEN / "japan_2026.toml", seed=seed,
                                                 params={"escalation.after_script": "endogenous"})
    for case in ("nri_3m", "nri_12m", "daiwa_ree_12m", "daiwa_rare_metals_12m"):
        runs[f"calibration-{case}"] = dict(path=CAL / f"{case}.toml")
    return runs


def _flat(obj, prefix: str, out: dict) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flat(v, f"{prefix}.{k}", out)
    elif isinstance(obj, bool | int | float) and obj is not None:
        out[prefix] = np.array([float(obj)])


def _rng_state(gen) -> np.ndarray:
    return np.frombuffer(json.dumps(gen.bit_generator.state, sort_keys=True, default=int).encode(), np.uint8)


def snapshot(model: CoercionModel) -> dict[str, np.ndarray]:
    """Every array of a finished run, under names that do not depend on the code's layout."""
    rec = model.recorder
    tables = rec.tables()
    out: dict[str, np.ndarray] = {}
    for name, df in tables.items():
        for col in df.columns:
            values = df[col].to_numpy()
            out[f"table/{name}/{col}"] = values.astype(str) if values.dtype == object else values
    for name in ("holding_cost_usd", "stock_purchase_usd", "policy_cost_usd"):
        out[f"series/{name}"] = rec.costs[name]
    for name in ("output_loss", "jobs_lost"):
        out[f"series/{name}"] = rec.series[name]
    for name, arr in rec.ledger.items():
        out[f"ledger/{name}"] = arr
    _flat(summarize(model, tables), "summary", out)
    for f in dataclasses.fields(model.state):
        value = getattr(model.state, f.name)
        if value is not None:
            out[f"state/{f.name}"] = np.asarray(value)
    for name, gen in sorted(model.streams._gens.items()):
        out[f"rng/{name}"] = _rng_state(gen)
    out["rng/mesa"] = _rng_state(model.rng)
    return out


def record(name: str, spec: dict) -> dict[str, np.ndarray]:
    spec = dict(spec)
    path = spec.pop("path")
    model = CoercionModel(load_config(path, **spec))
    model.run_model()
    return {f"{name}/{k}": v for k, v in snapshot(model).items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.identical", allow_abbrev=False)
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", metavar="DIR")
    group.add_argument("--compare", metavar="DIR")
    args = ap.parse_args(argv)
    arrays: dict[str, np.ndarray] = {}
    for name, spec in run_set().items():
        arrays |= record(name, spec)
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
        np.savez(Path(args.save) / "arrays.npz", **arrays)
        print(f"{len(run_set())} runs, {len(arrays)} arrays saved in {args.save}")
        return 0
    stored = np.load(Path(args.compare) / "arrays.npz")
    missing = sorted(set(stored.files) - set(arrays))
    extra = sorted(set(arrays) - set(stored.files))
    differ = []
    for k in sorted(set(stored.files) & set(arrays)):
        a, b = stored[k], arrays[k]
        if a.shape != b.shape or not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
            differ.append(k)
    for k in differ[:40]:
        print("differs:", k)
    for k in missing[:20]:
        print("missing:", k)
    for k in extra[:20]:
        print("new:", k)
    print(f"{len(run_set())} runs, {len(stored.files)} arrays, {len(differ)} differ, {len(missing)} missing")
    return 1 if differ or missing else 0


if __name__ == "__main__":
    sys.exit(main())
