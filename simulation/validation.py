"""Validation out of sample: the test set, episodes from the record that calibration never reads.

The test set lives in ``configs/validation/`` (``cases.toml``, marked ``set = "test"``, with
its own worlds and scenarios); :func:`simulation.calibration.load_cases` refuses that folder
and any file so marked, so ``simulation calibrate`` cannot read it. Each episode names its
seeds and the date that ends its calm (the reference of price multiples); each check names a
scenario, a measure of one country's purchases of one commodity over a window, the
record's figure with its source, and the pass band written before the model was run
(``low <= model mean over the seeds <= high``). A check the model cannot be asked is
``expressible = false`` with the reason, and is reported as such, never as a pass.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, model_validator

from simulation.calibration import TEST_SET_MARK, validation_dir
from simulation.config import ConfigError, Strict, load_config
from simulation.config.schema import Day
from simulation.runner import run

Measure = Literal["price_multiple_max", "outside_inside_ratio", "china_share_mean", "conceded_by", "exports_ratio"]


class EpisodeCheck(Strict):
    """One figure of the record and the band the model's mean must fall in."""

    name: str
    label: str = ""
    scenario: str | None = None
    measure: Measure
    country: str
    commodity: str | None = None
    start: Day | None = None
    end: Day | None = None
    published: float
    low: float | None = None
    high: float | None = None
    expressible: bool = True
    reason: str = ""
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self):
        if not self.expressible:
            if not self.reason:
                raise ValueError("a check that is not expressible needs its reason")
            return self
        missing = [k for k in ("scenario", "start", "end", "low", "high") if getattr(self, k) is None]
        if self.measure != "conceded_by" and self.commodity is None:
            missing.append("commodity")
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        if self.low > self.high or self.start > self.end:
            raise ValueError("low must not exceed high, nor start end")
        return self


class Episode(Strict):
    name: str
    label: str
    seeds: int = Field(ge=1, le=100)
    first_seed: int = Field(ge=0)
    calm_until: Day
    source: str = ""
    checks: list[EpisodeCheck] = Field(min_length=1)


class HeldOutSet(Strict):
    set: Literal["test"]
    episodes: list[Episode] = Field(min_length=1)


def load_test_set(directory: Path | None = None) -> list[Episode]:
    """The test set's episodes (``cases.toml`` in ``directory``, default ``configs/validation/``)."""
    directory = directory or validation_dir()
    path = directory / "cases.toml"
    if not path.is_file():
        raise ConfigError(path, "", "file not found")
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"malformed TOML: {exc}") from None
    if data.get("set") != TEST_SET_MARK:
        raise ConfigError(path, "set", f'a test-set file says set = "{TEST_SET_MARK}"')
    try:
        return HeldOutSet.model_validate(data).episodes
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(path, key, err["msg"]) from None


# ------------------------------------------------------------------------ measures


def _window(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    days = pd.to_datetime(frame["date"]).dt.date
    return frame[(days >= start) & (days <= end)]


def _calm(frame: pd.DataFrame, until: date) -> pd.DataFrame:
    return frame[pd.to_datetime(frame["date"]).dt.date < until]


def measure(check: EpisodeCheck, calm_until: date, country_commodity: pd.DataFrame, summary: dict,
            start_date: date) -> float:
    """The check's measure in one run (tables as written in the run directory)."""
    if check.measure == "conceded_by":
        esc = summary["escalation"]
        if not esc.get("conceded"):
            return 0.0
        week = esc.get("concession_week")
        when = pd.Timestamp(start_date) + pd.Timedelta(weeks=int(week))
        return float(when.date() <= check.end)
    cc = country_commodity
    if check.measure == "exports_ratio":  # the coercer's Chinese-origin shipments to every other country
        rows = cc[(cc["country"] != check.country) & (cc["commodity"] == check.commodity)]
        cn = (rows["shipped_t"] * rows["china_share"].fillna(0.0)).groupby(rows["date"]).sum().reset_index(name="t")
        calm, win = _calm(cn, calm_until), _window(cn, check.start, check.end)
        if len(win) == 0 or len(calm) == 0:
            raise ValueError(f"{check.name}: no weeks in the window or before calm_until")
        return float(win["t"].mean() / calm["t"].mean())
    rows = cc[(cc["country"] == check.country) & (cc["commodity"] == check.commodity)]
    calm, win = _calm(rows, calm_until), _window(rows, check.start, check.end)
    if len(win) == 0 or (check.measure != "china_share_mean" and len(calm) == 0):
        raise ValueError(f"{check.name}: no weeks in the window or before calm_until")
    if check.measure == "price_multiple_max":
        return float(win["price"].max() / calm["price"].mean())
    if check.measure == "outside_inside_ratio":
        outside = win["price"] / calm["price"].mean()
        inside = win["price_china"] / calm["price_china"].mean()
        return float((outside / inside).mean())
    return float(win["china_share"].mean())  # china_share_mean


# ------------------------------------------------------------------------- running


@dataclass
class EpisodeResult:
    episode: Episode
    check: EpisodeCheck
    mean: float | None = None
    low: float | None = None  # 5th percentile over seeds
    high: float | None = None  # 95th

    @property
    def status(self) -> str:
        if not self.check.expressible:
            return "not expressible"
        return "pass" if self.check.low <= self.mean <= self.check.high else "FAIL"


def run_test_set(directory: Path | None = None, n_seeds: int | None = None) -> list[EpisodeResult]:
    """Run every expressible check of the test set; each scenario once per seed.

    Args:
        directory: the test set's folder (default ``configs/validation/``).
        n_seeds: seeds per episode (default: the episode's ``seeds``), from its ``first_seed``.
    """
    directory = directory or validation_dir()
    episodes = load_test_set(directory)
    coercers: dict[str, str] = {}  # scenario -> its coercer
    for i, ep in enumerate(episodes):  # before any run: an exports check reads the coercer's exports
        for j, check in enumerate(ep.checks):
            if check.measure == "exports_ratio" and check.expressible:
                if check.scenario not in coercers:
                    coercers[check.scenario] = load_config(directory / check.scenario).scenario.coercer
                coercer = coercers[check.scenario]
                if check.country != coercer:
                    raise ConfigError(directory / "cases.toml", f"episodes.{i}.checks.{j}.country",
                                      f"exports_ratio reads the coercer's exports: '{coercer}' in "
                                      f"{check.scenario}, not '{check.country}'")
    results = []
    for i, ep in enumerate(episodes):
        seeds = range(ep.first_seed, ep.first_seed + (n_seeds or ep.seeds))
        runs: dict[str, list] = {}
        for j, check in enumerate(ep.checks):
            if not check.expressible:
                results.append(EpisodeResult(ep, check))
                continue
            if check.scenario not in runs:
                runs[check.scenario] = []
                for s in seeds:
                    cfg = load_config(directory / check.scenario, seed=s)
                    res = run(cfg)
                    runs[check.scenario].append((res.country_commodity, res.summary, cfg.scenario.start_date))
            try:
                vals = np.array([measure(check, ep.calm_until, cc, summ, start)
                                 for cc, summ, start in runs[check.scenario]])
            except ValueError as exc:  # a window outside the scenario's weeks
                raise ConfigError(directory / "cases.toml", f"episodes.{i}.checks.{j}", str(exc)) from None
            results.append(EpisodeResult(ep, check, float(vals.mean()), float(np.percentile(vals, 5)),
                                      float(np.percentile(vals, 95))))
    return results


def results_table(results: list[EpisodeResult]) -> list[str]:
    """The test set as a markdown table."""
    rows = ["| episode | check | record | pass band | model mean | model 90% interval | result |",
            "|---|---|---|---|---|---|---|"]
    for r in results:
        c = r.check
        if not c.expressible:
            rows.append(f"| {r.episode.name} | {c.name} | {c.published:.3g} | - | - | - | not expressible |")
            continue
        rows.append(f"| {r.episode.name} | {c.name} | {c.published:.3g} | [{c.low:.3g}, {c.high:.3g}] | "
                    f"{r.mean:.3g} | [{r.low:.3g}, {r.high:.3g}] | {r.status} |")
    return rows


def heldout_section(results: list[EpisodeResult]) -> list[str]:
    """The report's heading and notes for the test set (the table follows)."""
    n = {k: sum(r.status == k for r in results) for k in ("pass", "FAIL", "not expressible")}
    lines = ["## Test set: out of sample (never read by calibration)", "",
             "Episodes from the record in `configs/validation/cases.toml`, each figure with its source and its "
             "pass band written before the model was run on it (the case files were committed first). "
             f"Result: {n['pass']} pass, {n['FAIL']} fail, {n['not expressible']} not expressible. "
             "A failing check stays failing; only the fit set decides `simulation validate`'s exit code.", ""]
    for ep in dict.fromkeys(r.episode.name for r in results):
        first = next(r.episode for r in results if r.episode.name == ep)
        lines.append(f"- `{ep}`: {first.label} ({first.seeds} seeds from {first.first_seed}). {first.source}")
    lines.append("")
    for r in results:
        c = r.check
        why = f" Not expressible: {c.reason}" if not c.expressible else ""
        lines.append(f"- `{c.name}`: {c.label or c.measure}. Source: {c.source}{why}")
    return lines + [""]


def report_lines(results: list[EpisodeResult]) -> list[str]:
    """The test set's section of the calibration report: notes, then the table."""
    return heldout_section(results) + results_table(results)
