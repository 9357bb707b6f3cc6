"""Experiment files: what a sweep runs (scenarios x strategies x sampled uncertainties x seeds).

An experiment file (TOML, validated like configs) names the scenarios, the strategies
(levers), the uncertain parameters with their ranges and the number of seeds.
:func:`load_experiment` reads and checks it; :mod:`simulation.sweep.design` turns it into
one row per run, :mod:`simulation.sweep.loop` runs them.
"""

from __future__ import annotations

import math
import re
import types
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
import tomli_w
from pydantic import BaseModel, Field, ValidationError, model_validator

from simulation.config import ConfigError, Strict, find_strategy, get_dotted, load_config, validation_error
from simulation.config.errors import did_you_mean
from simulation.config.loading import read_toml
from simulation.config.schema import Day, FileName, Flag, Number, Whole

# ------------------------------------------------------------------------ schema

DESIGN_COLUMNS = ("run_id", "scenario", "strategy", "sample", "replicate", "seed")
OUTCOMES = ("cum_output_loss_pct_gdp", "cum_output_loss_usd", "weeks_in_shortage", "peak_shortage_share",
            "peak_jobs_lost", "strategy_cost_usd", "peak_level", "weeks_to_peak")
RESERVED = {*DESIGN_COLUMNS, *OUTCOMES, "status", "error", "target", "cum_output_loss", "final_level", "conceded"}

Value = Number | Day
MAX_RUNS = 100_000  # default of execution.max_runs


class SweepError(Exception):
    """A sweep that cannot start or continue (bad output directory, changed experiment)."""


class Uncertainty(Strict):
    """One uncertain parameter: a dotted config path (or several set to the same value) and
    its range (``low``/``high``, uniform or triangular) or its discrete ``values``."""

    name: str = Field(description="Column name in the design and results tables.")
    path: str | list[str] = Field(description="Dotted config path(s); list items by index, e.g. "
                                  "escalation.levels.5.measures.0.approval_probability.")
    low: Value | None = None
    high: Value | None = None
    values: list[Any] | None = Field(None, description="Discrete alternatives instead of a range.")
    distribution: Literal["uniform", "triangular"] = "uniform"
    mode: Value | None = Field(None, description="Peak of a triangular distribution.")
    integer: Flag = Field(False, description="Round sampled values to whole numbers.")
    label: str = ""

    @property
    def paths(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)

    @model_validator(mode="after")
    def _check(self) -> Uncertainty:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.name):
            raise ValueError(f"name '{self.name}' must be an identifier (letters, digits, _)")
        if self.name in RESERVED:
            raise ValueError(f"name '{self.name}' is reserved")
        if not self.paths:
            raise ValueError("path: give at least one config path")
        if self.values is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either values or low/high, not both")
            if not self.values:
                raise ValueError("values: give at least one value")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give low and high (or values)")
        if isinstance(self.low, date) != isinstance(self.high, date):
            raise ValueError("low and high must both be dates or both numbers")
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.distribution == "triangular":
            if self.mode is None or isinstance(self.mode, date) != isinstance(self.low, date):
                raise ValueError("a triangular distribution needs a mode of the same kind as low/high")
            if not self.low <= self.mode <= self.high:
                raise ValueError(f"mode ({self.mode}) must lie between low and high")
        return self

    def value(self, u: float) -> Any:
        """The parameter value at the unit-interval point ``u`` (inverse CDF)."""
        if self.values is not None:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        is_date = isinstance(self.low, date)
        lo, hi = (self.low.toordinal(), self.high.toordinal()) if is_date else (self.low, self.high)
        if self.distribution == "triangular":
            mo = self.mode.toordinal() if is_date else self.mode
            c = (mo - lo) / (hi - lo)
            x = lo + math.sqrt(u * (hi - lo) * (mo - lo)) if u < c else hi - math.sqrt((1 - u) * (hi - lo) * (hi - mo))
        else:
            x = lo + u * (hi - lo)
        if is_date:
            return date.fromordinal(int(round(x)))
        return int(round(x)) if self.integer else float(x)

    def grid_units(self, points: int) -> list[float]:
        if self.values is not None:
            k = len(self.values)
            return [(i + 0.5) / k for i in range(k)]
        return list(np.linspace(0.0, 1.0, points))


class Design(Strict):
    """How the uncertainties are sampled."""

    method: Literal["none", "grid", "lhs", "sobol", "morris"] | None = Field(
        None, description="How uncertainties are sampled; default lhs (none without uncertainties).")
    samples: Annotated[Whole, Field(ge=1)] = Field(
        8, description="lhs: points; sobol: base sample N (a power of 2), N*(D+2) points; morris: "
        "trajectories r, r*(D+1) points.")
    levels: Annotated[Whole, Field(ge=2)] = Field(4, description="morris: grid levels of each range.")
    grid_points: Annotated[Whole, Field(ge=2)] = Field(3, description="grid: points per range.")
    matched: Flag = Field(
        False, description="lhs: one sample per seed (parameters and noise drawn together): the design "
        "has `seeds` samples, each run on its own seed; `samples` is not used. Default: every sample "
        "is run on every seed (crossed).")


class Execution(Strict):
    """How the runs are bundled, what each keeps, and the most runs a sweep may have."""

    bundle_seconds: Annotated[Number, Field(gt=0)] = Field(
        0.5, description="Runs are bundled so each task does about this much work.")
    tables: Literal["target", "all"] = Field(
        "target", description="Per run: the target's series only, or also all three full tables.")
    max_runs: Annotated[Whole, Field(ge=1)] = Field(
        MAX_RUNS, description="A larger design is refused before anything is built or written.")


class Experiment(Strict):
    """A validated experiment: what to run; :func:`design` says which runs."""

    name: FileName = Field(description="Names the sweep directory runs/<name>-<time>/.")
    description: str = ""
    seed: Annotated[Whole, Field(ge=0, lt=2**63)] = Field(0, description="Root seed of all run seeds.")
    seeds: Annotated[Whole, Field(ge=1)] = Field(1, description="Replicates per scenario and sample.")
    steps: Annotated[Whole, Field(ge=1)] | None = Field(None, description="Weeks per run (None: horizon).")
    scenarios: list[str] = Field(min_length=1)
    strategies: list[str] = Field(min_length=1)
    baseline: str = Field("baseline", description="The strategy the others are compared with.")
    outcome: Literal[OUTCOMES] = Field(  # type: ignore[valid-type]
        "cum_output_loss_pct_gdp", description="Outcome of the sensitivity analysis.")
    params: dict[str, Any] = Field(default_factory=dict, description="Fixed dotted-path overrides.")
    design: Design = Field(default_factory=Design)
    uncertainties: list[Uncertainty] = Field(default_factory=list)
    uncertainties_from: str | None = Field(
        None, description="An uncertainty catalogue (configs/uncertainties.toml): its entries marked "
        "sample = true (or those named in `select`) are added to the uncertainties.")
    select: list[str] | None = Field(None, description="Catalogue entries to sample (default: those marked sample).")
    execution: Execution = Field(default_factory=Execution)

    # set by load_experiment, not part of the file
    source: str = Field("", exclude=True)

    @property
    def method(self) -> str:
        return self.design.method or ("lhs" if self.uncertainties else "none")

    @property
    def n_samples(self) -> int:
        """Points of the design (before scenarios, strategies and seeds), from the settings alone."""
        method, d = self.method, len(self.uncertainties)
        if method == "none":
            return 1
        if method == "grid":
            return math.prod(len(u.values) if u.values is not None else self.design.grid_points
                             for u in self.uncertainties)
        if method == "lhs":
            return self.seeds if self.design.matched else self.design.samples
        if method == "morris":
            return self.design.samples * (d + 1)  # r trajectories of D + 1 points
        return self.design.samples * (d + 2)  # sobol, first order: N (D + 2)

    @property
    def n_runs(self) -> int:
        """Rows of the design (:func:`simulation.sweep.design.design`), computed without building it."""
        per_sample = 1 if self.design.matched else self.seeds
        return len(self.scenarios) * len(self.strategies) * self.n_samples * per_sample

    def strategy_label(self, strategy: str) -> str:
        return Path(strategy).stem if strategy.endswith(".toml") else strategy

    def scenario_label(self, scenario: str) -> str:
        return Path(scenario).stem

    def to_dict(self) -> dict:
        """The experiment as stored in its sweep directory: self-contained (a catalogue's entries
        are listed among the uncertainties, with their paths expanded)."""
        data = self.model_dump(mode="python", exclude_none=True, exclude={"uncertainties_from", "select"})
        data["design"]["method"] = self.method
        return data


# ---------------------------------------------------------------------- loading


def load_experiment(
    path: str | Path,
    *,
    method: str | None = None,
    samples: int | None = None,
    seeds: int | None = None,
    check: bool = True,
) -> Experiment:
    """Read, resolve and validate an experiment file.

    Scenario files and strategy files given as paths are resolved against the experiment
    file's folder (then the working directory) and stored as absolute paths.

    Args:
        path: the experiment TOML.
        method, samples, seeds: override ``design.method``, ``design.samples``, ``seeds``.
        check: load every scenario and try each uncertainty's bounds (slower, clearer errors).

    Raises:
        ConfigError: one line naming the experiment file, the key and the problem.
    """
    path = Path(path)
    file = str(path)
    data = _read(path, method, samples, seeds)
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, {}, file, Experiment) from None
    exp.source = str(path.resolve())
    _resolve_files(exp, path, file)
    _add_catalogue(exp, path, file)
    _check_names(exp, file)
    _check_design(exp, file)
    if check:
        _check_against_scenarios(exp, file)
    return exp


def _read(path: Path, method: str | None, samples: int | None, seeds: int | None) -> dict:
    """The file's TOML with the command line's overrides."""
    file = str(path)
    if not path.is_file():
        raise ConfigError(file, "", "file not found")
    data = read_toml(path)
    design = data.setdefault("design", {})
    if isinstance(design, dict):
        if method is not None:
            design["method"] = method
            if method != "lhs":
                design.pop("matched", None)  # matched is an lhs option
        if samples is not None:
            design["samples"] = samples
    if seeds is not None:
        data["seeds"] = seeds
    return data


def _resolve_files(exp: Experiment, path: Path, file: str) -> None:
    """Scenario and strategy files as absolute paths (from the file's folder, then here)."""
    base = path.resolve().parent

    def resolve(ref: str, key: str, must_exist: bool) -> str:
        for cand in (base / ref, Path.cwd() / ref):
            if cand.is_file():
                return str(cand.resolve())
        if must_exist:
            raise ConfigError(file, key, f"file not found: {ref}")
        return ref

    exp.scenarios = [resolve(s, f"scenarios[{i}]", True) for i, s in enumerate(exp.scenarios)]
    exp.strategies = [resolve(s, f"strategies[{i}]", False) if s.endswith(".toml") else s
                      for i, s in enumerate(exp.strategies)]


def _add_catalogue(exp: Experiment, path: Path, file: str) -> None:
    """The catalogue's sampled entries (or ``select``) added to the uncertainties, their ``*``
    paths expanded in the first scenario."""
    if exp.uncertainties_from is None:
        if exp.select is not None:
            raise ConfigError(file, "select", "select names catalogue entries: set uncertainties_from")
        return
    from simulation.config.catalogue import as_uncertainties, load_catalogue

    ref = path.resolve().parent / exp.uncertainties_from
    if not ref.is_file():
        raise ConfigError(file, "uncertainties_from", f"file not found: {exp.uncertainties_from}")
    cat = load_catalogue(ref)
    names = [p.name for p in cat.parameters]
    for i, n in enumerate(exp.select or []):
        if n not in names:
            raise ConfigError(file, f"select[{i}]", f"'{n}' is not in {exp.uncertainties_from}{did_you_mean(n, names)}")
    try:
        cfg = load_config(exp.scenarios[0], steps=exp.steps, params=dict(exp.params))
    except ConfigError as exc:
        raise ConfigError(file, "scenarios[0]", f"{exc.key}: {exc.problem}" if exc.key else exc.problem) from None
    exp.uncertainties = [*exp.uncertainties, *(Uncertainty.model_validate(u) for u in
                                               as_uncertainties(cat, cfg, exp.select))]


def _check_names(exp: Experiment, file: str) -> None:
    """Strategies, scenarios and uncertainties listed once each; the baseline among the strategies."""
    labels = [exp.strategy_label(s) for s in exp.strategies]
    for i, lab in enumerate(labels):
        if lab in labels[:i]:
            raise ConfigError(file, f"strategies[{i}]", f"'{lab}' is listed twice")
    if exp.baseline not in labels:
        raise ConfigError(file, "baseline", f"'{exp.baseline}' is not one of the strategies {labels}")
    scen = [exp.scenario_label(s) for s in exp.scenarios]
    for i, lab in enumerate(scen):
        if lab in scen[:i]:
            raise ConfigError(file, f"scenarios[{i}]", f"'{lab}' is listed twice")
    names = [u.name for u in exp.uncertainties]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise ConfigError(file, f"uncertainties[{i}].name", f"'{n}' is used twice")


def _check_design(exp: Experiment, file: str) -> None:
    """The design method fits the uncertainties (and SALib is there for sobol)."""
    if exp.method == "none" and exp.uncertainties:
        raise ConfigError(file, "design.method", "'none' samples nothing: remove the uncertainties or pick a method")
    if exp.method != "none" and not exp.uncertainties:
        raise ConfigError(file, "design.method", f"'{exp.method}' needs at least one [[uncertainties]]")
    if exp.design.matched and exp.method != "lhs":
        raise ConfigError(file, "design.matched", f"matched samples need method 'lhs', not '{exp.method}'")
    if exp.n_runs > exp.execution.max_runs:
        per = "1 seed per sample" if exp.design.matched else f"{exp.seeds:,} seed(s)"
        raise ConfigError(file, "execution.max_runs",
                          f"the design has {exp.n_runs:,} runs ({len(exp.scenarios)} scenario(s) x "
                          f"{len(exp.strategies)} strategies x {exp.n_samples:,} sample(s) x {per}), more than "
                          f"the {exp.execution.max_runs:,} allowed: shrink it or raise execution.max_runs")
    if exp.method in ("sobol", "morris"):
        try:
            import SALib  # noqa: F401
        except ImportError:
            raise ConfigError(file, "design.method",
                              f"{exp.method} needs SALib: pip install 'coercion-sim[sensitivity]'") from None


def _check_against_scenarios(exp: Experiment, file: str) -> None:
    """Every scenario loads with the fixed params and every strategy; every uncertain path
    exists, takes the type of its range, and accepts its bounds (or each of its values)."""
    for si, scenario in enumerate(exp.scenarios):
        try:
            cfg = load_config(scenario, steps=exp.steps, params=dict(exp.params))
        except ConfigError as exc:
            where = "params" if exc.file == "<config>" or "<override>" in exc.file else f"scenarios[{si}]"
            raise ConfigError(file, where, f"{exc.key}: {exc.problem}" if exc.key else exc.problem) from None
        for j, strategy in enumerate(exp.strategies):
            try:
                load_config(scenario, steps=exp.steps, strategy=strategy, params=dict(exp.params))
            except ConfigError as exc:
                raise ConfigError(file, f"strategies[{j}]", f"'{exp.strategy_label(strategy)}' with "
                                  f"{exp.scenario_label(scenario)}: {exc}") from None
        for i, unc in enumerate(exp.uncertainties):
            _check_uncertainty(exp, file, scenario, cfg, i, unc)


def _check_uncertainty(exp: Experiment, file: str, scenario: str, cfg, i: int, unc: Uncertainty) -> None:
    for path in unc.paths:
        try:
            get_dotted(cfg, path)
        except KeyError as exc:
            raise ConfigError(file, f"uncertainties[{i}].path",
                              f"'{path}' does not exist in {exp.scenario_label(scenario)} "
                              f"(no '{exc.args[0]}')") from None
        whole = unc.integer or (unc.values is not None and all(type(v) is int for v in unc.values))
        if _takes_whole_numbers(cfg, path) and not whole:
            raise ConfigError(file, f"uncertainties[{i}].integer", f"'{path}' takes whole numbers: "
                              "set integer = true (or give whole-number values)")
    if unc.values is not None:
        probes = [(f"values[{j}]", v) for j, v in enumerate(unc.values)]
    else:
        probes = [("low", unc.value(0.0)), ("high", unc.value(1.0))]
    for which, value in probes:
        try:
            load_config(scenario, steps=exp.steps, params={**exp.params, **dict.fromkeys(unc.paths, value)})
        except ConfigError as exc:
            raise ConfigError(file, f"uncertainties[{i}].{which}",
                              f"{value} is not valid for {exc.key}: {exc.problem}") from None


def _takes_whole_numbers(cfg, path: str) -> bool:
    """Whether the config field at ``path`` is a whole number (an ``int``, not a ``float``)."""
    parent, _, last = path.rpartition(".")
    try:
        holder = get_dotted(cfg, parent) if parent else cfg
    except KeyError:
        return False
    if not isinstance(holder, BaseModel) or last not in type(holder).model_fields:
        return False
    kinds, todo = set(), [type(holder).model_fields[last].annotation]
    while todo:
        ann = todo.pop()
        if get_origin(ann) in (Annotated, Union, types.UnionType):
            todo.extend(get_args(ann)[:1] if get_origin(ann) is Annotated else get_args(ann))
        else:
            kinds.add(ann)
    return int in kinds and float not in kinds


def missing_strategies(exp: Experiment) -> list[str]:
    """Strategies with no file (their runs will be recorded as failed)."""
    return [exp.strategy_label(s) for s in exp.strategies if find_strategy(s, Path(exp.scenarios[0])) is None]



def experiment_to_toml(exp: Experiment) -> str:
    """The experiment as TOML (every default, absolute paths), as the sweep directory stores it."""
    return tomli_w.dumps(exp.to_dict())

