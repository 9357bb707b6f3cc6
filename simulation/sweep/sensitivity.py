"""``docs/sensitivity.md`` from Morris sweeps (``simulation sensitivity``): the parameters that
matter most for the headline outcomes, beside the quality of their evidence (the catalogue,
``configs/uncertainties.toml``)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from simulation.config.catalogue import QUALITY, Catalogue
from simulation.sweep.store import read_experiment


class SensitivityError(ValueError):
    """A sweep directory that holds no Morris results."""


def read_morris(directory: Path) -> tuple[pd.DataFrame, object]:
    """A Morris sweep's indices (``morris.csv``, written by its report) and its experiment; of the
    loss itself, only the baseline strategy's (the other strategies enter as the loss they avoid)."""
    if not (directory / "experiment.toml").is_file():
        raise SensitivityError(f"{directory} is not a sweep directory (no experiment.toml)")
    exp = read_experiment(directory)
    if exp.method != "morris":
        raise SensitivityError(f"{directory}: the sweep's design is '{exp.method}', not morris")
    path = directory / "morris.csv"
    if not path.is_file():
        raise SensitivityError(f"{directory}: no morris.csv (the sweep has not finished: "
                               f"`simulation sweep --resume`, or `simulation compare {directory}`)")
    morris = pd.read_csv(path)
    keep = morris["outcome"].str.startswith("avoided: ") | (morris["strategy"] == exp.baseline)
    return morris[keep].reset_index(drop=True), exp


def influence(morris: pd.DataFrame) -> pd.DataFrame:
    """Per parameter, its largest mu* over the outcomes (all in % of GDP) and the outcome where it
    is largest; sorted, most influential first."""
    best = morris.loc[morris.groupby("parameter")["mu_star"].idxmax()]
    return best.sort_values("mu_star", ascending=False).reset_index(drop=True)


def write_sensitivity(directories: list[Path], catalogue: Catalogue, catalogue_name: str, out: Path,
                      top: int = 10) -> Path:
    """Write the sensitivity document to ``out`` (written whole, at once)."""
    frames, designs = [], []
    for d in directories:
        m, exp = read_morris(d)
        frames.append(m)
        manifest = d / "manifest.json"
        made = json.loads(manifest.read_text()) if manifest.is_file() else {}
        commit = str(made.get("git_commit") or "unknown")[:10]
        designs.append(f"`{d.name}`: {exp.name}, {exp.design.samples} trajectories x "
                       f"({len(exp.uncertainties)} + 1) points, {len(exp.strategies)} strateg"
                       f"{'y' if len(exp.strategies) == 1 else 'ies'}, seed {exp.seed}; model at commit {commit}, "
                       f"run {str(made.get('created', '?'))[:16]}")
    morris = pd.concat(frames, ignore_index=True)
    entries = {p.name: p for p in catalogue.parameters}
    ranked = influence(morris)

    def evidence(name: str) -> list[str]:
        p = entries.get(name)
        if p is None:
            return ["?", "?", "not in the catalogue"]
        return [p.kind, p.quality, (p.source or p.reasoning).replace("|", "/")]

    lines = ["# Sensitivity of the headline results", "",
             "Which uncertain parameters move the headline outcomes most, and how good the evidence for "
             "each is. Written by `simulation sensitivity` from Morris screening sweeps over the "
             f"catalogue's sampled parameters (`{catalogue_name}`, entries with `sample = true`):", ""]
    lines += [f"- {d}" for d in designs] + [""]
    lines += ["mu* is the mean absolute elementary effect of moving a parameter one grid step across its "
              "range (4 levels), in the outcome's unit (points of % of GDP); *share of range* divides it by "
              "the outcome's spread over the sweep. Parameters are ranked by their largest mu* over the "
              "headline outcomes: the target's loss under the baseline, and the loss each strategy avoids "
              "against the baseline (paired by design point). sigma large "
              "against mu* means interactions or non-linearity. Morris screens: it ranks, it does not "
              "apportion variance, and with few trajectories the confidence intervals are wide.", ""]
    lines += [f"## The {top} most influential parameters", "",
              "Each parameter's largest effect over all outcomes (Japan 2026's loss, Korea's baseline loss, "
              "the loss each Korea strategy avoids).", ""]
    rows = []
    for i, r in enumerate(ranked.head(top).itertuples(), 1):
        kind, quality, note = evidence(r.parameter)
        rows.append([str(i), f"`{r.parameter}`", f"{r.scenario}: {r.outcome}",
                     f"{r.mu_star:.3g} ± {r.mu_star_conf:.2g}", f"{r.mu_star_rel:.2f}", f"{kind} ({quality})", note])
    header = ["rank", "parameter", "where largest", "mu* (% GDP)", "share of range", "evidence", "source or reasoning"]
    lines += [_table(header, rows), ""]
    weak = [r.parameter for r in ranked.head(top).itertuples() if entries.get(r.parameter) is not None
            and entries[r.parameter].quality in ("C", "D")]
    lines += [f"Of these {min(top, len(ranked))}, {len(weak)} rest on an assumption or a fit (quality C or D): "
              + (", ".join(f"`{w}`" for w in weak) if weak else "none") + ". They are the ones to source first, "
              "and the ones a strategy ranking must be robust to (the Korea experiment samples them).", ""]
    lines += ["## By outcome", ""]
    for (sc, outcome), g in morris.groupby(["scenario", "outcome"], sort=False):  # loss: the baseline's
        lines += [f"### {sc}: {outcome}", ""]
        rows = [[f"`{r.parameter}`", f"{r.mu_star:.3g} ± {r.mu_star_conf:.2g}", f"{r.sigma:.3g}",
                 f"{r.mu_star_rel:.2f}"] for r in g.sort_values("mu_star", ascending=False).head(5).itertuples()]
        lines += [_table(["parameter", "mu*", "sigma", "share of range"], rows), ""]
    lines += ["## Evidence quality", ""] + [f"- **{k}**: {v}" for k, v in QUALITY.items()] + [""]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(out)
    return out


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
