"""Calibration and validation against published estimates (DESIGN section 6).

Cases (``configs/calibration/cases.toml``, the fit set) pair a shock (a scenario) with a view
(a profile in ``configs/calibration/profiles/``). The two views are one model of one economy
and differ only in behaviour: the adaptive view (NRI) lets firms substitute, reroute and
re-source; the fixed-coefficient view (Daiwa) binds every critical input (Leontief), with no
substitution, rerouting, re-sourcing or new supply within the year. Each profile is its
documented settings (``<profile>_settings.toml``) plus fitted values (``<profile>_fitted.toml``,
written by calibrate), and the shipped scenarios include the whole adaptive profile, so it
is fitted with the settings it ships with. A case file states the published estimate's own
scenario, like the length of the stop, and departs from the shipped settings only where the
estimate says so: NRI's figures are "based on the 2010 experience", when Japan's state
stockpile was not released (they name inventories, substitution and rerouting), so the two
NRI cases turn that release off (`world.countries.JP.policy.stockpile_max_release_share_per_week
= 0`), a condition of the case, not of the profile; Daiwa's say nothing of stockpiles, so
their cases release it as the shipped scenarios do.
Three parameters are fitted, jointly, once:

- ``world.output.induced_multiplier`` (one value, shared by both views, in
  ``profiles/shared_fitted.toml``) -- lost value added per unit of directly lost value added:
  a property of Japan's input-output links, not of a view. Losses are linear in it, so it is
  found in closed form (the value that balances the largest over- and under-estimate of the
  four cases), bounded to 0.5-3 (assumption: the range of input-output output multipliers of
  manufacturing, about 1.5-3, widened; the bound keeps an exact fit from hiding a wrong
  shape behind an implausible level).
- ``world.firms.inventory_days_scale`` (shared, in the same file) -- multiplies firms'
  inventory days: how soon a stop bites. Inventories are a fact of the world, not of a view;
  they are also the least documented input of the world data (every figure approximate).
- ``world.transshipment.max_reroute_share`` (adaptive view only, a behaviour the
  fixed-coefficient view rules out) -- how much of the blocked Chinese supply leaks through
  third countries: how fast losses fade within a year (the ratio of NRI's 3- to 12-month
  figures).

Degrees of freedom: 3 fitted parameters against 4 independent figures (NRI 3 months, NRI
12 months, Daiwa rare earths, Daiwa rare metals), leaving 1. Each case's yen and % of GDP
figures are one estimate on two scales and count as one figure: a case's modelled /
published ratio is the geometric mean of its two. The jobs figures are GDP share times
employment and add no evidence: they are reported, not fitted and not counted.

The inventory scale and the rerouting share are found by a deterministic grid search
(refined three times around the best point) minimizing the largest case error, model /
published - 1 (the measure validation checks at +-25%; a case in which the model loses
nothing at all counts -100%), then the root-mean-square error, with the multiplier in closed
form at each point. Everything else is data with a source or a documented setting of the
view. The fit uses seeds 1 to 4 (``--seeds``); validation uses 20
other seeds (101-120) and reports each published figure beside the model's mean and 90%
interval, passing within +-25%.

Validation out of sample: ``simulation validate`` also runs the test set
(``configs/validation/``, run by ``simulation/validation.py``), episodes from the record that
calibration never reads (:func:`load_cases` refuses that folder), with pass bands written
before the model was run on them. The test set is reported pass / fail; only the fit set
decides the exit code.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from pydantic import Field, ValidationError

from simulation.config import ConfigError, Strict, configs_root, load_config
from simulation.runner import run

TOLERANCE = 0.25
MULTIPLIER = "world.output.induced_multiplier"
SCALE = "world.firms.inventory_days_scale"
MULTIPLIER_BOUNDS = (0.5, 3.0)  # input-output output multipliers of manufacturing are about 1.5-3
REROUTE = "world.transshipment.max_reroute_share"
REROUTE_PROFILES = ("adaptive",)
SCALE_GRID = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.25)
REROUTE_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)


class Case(Strict):
    name: str
    label: str
    scenario: str
    profile: str
    gdp_pct: float = Field(gt=0)
    output_lcu: float = Field(gt=0)
    jobs: float | None = Field(None, gt=0)
    source: str = ""


class Cases(Strict):
    cases: list[Case]


def calibration_dir() -> Path:
    return configs_root() / "calibration"


def validation_dir() -> Path:
    """The test set's folder (``configs/validation/``): episodes calibration never reads."""
    return configs_root() / "validation"


TEST_SET_MARK = "test"  # a test-set cases file says ``set = "test"``


def load_cases(directory: Path | None = None) -> list[Case]:
    """The fit set's cases (``cases.toml`` in ``directory``, default ``configs/calibration/``).

    Refuses the test set, before opening anything in it: a folder at or under
    :func:`validation_dir`, or a cases file marked ``set = "test"``."""
    directory = directory or calibration_dir()
    path = directory / "cases.toml"
    test_dir = validation_dir().resolve()
    if directory.resolve() == test_dir or test_dir in directory.resolve().parents:
        raise ConfigError(path, "", "a test-set folder: calibration never reads the test set")
    if not path.is_file():
        raise ConfigError(path, "", "file not found")
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        if data.get("set") == TEST_SET_MARK:
            raise ConfigError(path, "set", "a test-set file: calibration never reads the test set")
        return Cases.model_validate(data).cases
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"malformed TOML: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(path, key, err["msg"]) from None


@dataclass
class Outcome:
    """Japan's (the target's) loss in one run."""

    gdp_pct: float
    output_lcu: float
    jobs: float


def evaluate(case: Case, seed: int, params: dict | None = None, directory: Path | None = None) -> Outcome:
    """Run one case with one seed; the target's loss over the run."""
    directory = directory or calibration_dir()
    cfg = load_config(directory / case.scenario, seed=seed, params=params)
    res = run(cfg)
    target = cfg.scenario.target
    row = res.summary["countries"][target]
    jobs = res.country.loc[res.country["country"] == target, "jobs_lost"].mean()
    return Outcome(row["cum_output_loss_pct_gdp"], row["cum_output_loss"], float(jobs))


def _fit(cases: list[Case], seeds: list[int], directory: Path, scale_grid=SCALE_GRID, reroute_grid=REROUTE_GRID,
         refine_rounds: int = 3) -> dict[str, dict]:
    """Joint fit: grid over the shared inventory scale and the adaptive rerouting share, with the one
    shared multiplier in closed form; minimize the largest case error (then the root-mean-square
    error); refine around the best point.

    A case's error is model / published - 1, the measure validation checks at +-25%, with the
    case's modelled / published ratio the geometric mean of its two scales (% of GDP and yen: one
    estimate, so one figure). For a given point the multiplier that minimizes the largest error
    balances the largest over- and under-estimate: 2 / (smallest ratio + largest ratio). A case
    in which the model loses nothing has an error of -100% whatever the multiplier."""
    cache: dict = {}

    def modelled(case: Case, scale: float, reroute: float) -> tuple[float, float]:
        """The case's (% of GDP, yen) at multiplier 1, mean over the fit seeds."""
        params = {MULTIPLIER: 1.0, SCALE: scale}
        if case.profile in REROUTE_PROFILES:
            params[REROUTE] = reroute
        key = (case.name, scale, reroute if case.profile in REROUTE_PROFILES else None)
        if key not in cache:
            outs = [evaluate(case, s, params, directory) for s in seeds]
            cache[key] = (float(np.mean([o.gdp_pct for o in outs])), float(np.mean([o.output_lcu for o in outs])))
        return cache[key]

    def score(scale: float, reroute: float):
        """((largest, root-mean-square) case error), the fit: the error validation checks, model / published - 1."""
        ratios, missed = {}, []  # modelled at multiplier 1 / published, one per case with a loss
        for c in cases:
            gdp, lcu = modelled(c, scale, reroute)
            if min(gdp, lcu) <= 0:
                missed.append(c.name)  # no loss at all: an error of -100% whatever the multiplier
                continue
            ratios[c.name] = math.sqrt(gdp / c.gdp_pct * lcu / c.output_lcu)  # one figure on two scales
        if not ratios:
            return (math.inf, math.inf), {}
        mult = 2.0 / (min(ratios.values()) + max(ratios.values()))  # balances the largest over and under
        mult = min(max(mult, MULTIPLIER_BOUNDS[0]), MULTIPLIER_BOUNDS[1])
        errors = {name: mult * r - 1.0 for name, r in ratios.items()} | dict.fromkeys(missed, -1.0)
        worst = max(abs(e) for e in errors.values())
        rms = math.sqrt(float(np.mean([e * e for e in errors.values()])))
        return (worst, rms), {"induced_multiplier": mult, "errors": errors, "missed": missed}

    tried = {(g, r): score(g, r) for g in scale_grid for r in reroute_grid}
    best = min(tried, key=lambda k: tried[k][0])
    steps = (0.05, 0.025)
    for _ in range(refine_rounds):  # refine around the best point, deterministically
        g0, r0 = best
        for g, r in ((g0 - steps[0], r0), (g0 + steps[0], r0), (g0, r0 - steps[1]), (g0, r0 + steps[1])):
            key = (round(g, 6), round(r, 6))
            if key[0] > 0 and 0 <= key[1] <= 1 and key not in tried:
                tried[key] = score(*key)
        best = min(tried, key=lambda k: tried[k][0])
        steps = (steps[0] / 2, steps[1] / 2)
    (worst, _), fit = tried[best]
    if math.isinf(worst):
        raise RuntimeError("no point on the grid gives a loss in any case")
    fits = {}
    for profile in dict.fromkeys(c.profile for c in cases):
        mine = {c.name for c in cases if c.profile == profile}
        fits[profile] = {"induced_multiplier": round(fit["induced_multiplier"], 6),
                         "inventory_days_scale": best[0],
                         "residuals": {k: round(v, 6) for k, v in fit["errors"].items() if k in mine},
                         "max_abs_error": round(worst, 6),
                         "missed": [k for k in fit["missed"] if k in mine]}
        if profile in REROUTE_PROFILES:
            fits[profile]["max_reroute_share"] = best[1]
    return fits


def calibrate(directory: Path | None = None, seeds: tuple[int, ...] = (1, 2, 3, 4), out: Path | None = None,
              scale_grid=SCALE_GRID, reroute_grid=REROUTE_GRID, refine_rounds: int = 3) -> dict[str, dict]:
    """Fit the profiles to their cases and write the fitted values into ``out``: default the
    profiles' own folder ``directory/profiles`` (the shipped files; ``simulation calibrate`` passes
    a run folder unless it is given ``--write``). ``shared_fitted.toml`` holds the values both
    views share (the induced multiplier, the inventory scale); ``<profile>_fitted.toml`` includes
    it and adds the view's own fitted value, if any. Reads the fit set only (:func:`load_cases`
    refuses the test set)."""
    directory = directory or calibration_dir()
    cases = load_cases(directory)
    fitted = _fit(cases, list(seeds), directory, scale_grid, reroute_grid, refine_rounds)
    out = Path(out) if out is not None else directory / "profiles"
    out.mkdir(parents=True, exist_ok=True)
    write_shared(out / SHARED_FILE, next(iter(fitted.values())), cases, seeds,
                 [name for fit in fitted.values() for name in fit["missed"]])
    for profile, fit in fitted.items():
        write_profile(out / f"{profile}_fitted.toml", profile, fit)
    return fitted


SHARED_FILE = "shared_fitted.toml"


def write_shared(path: Path, fit: dict, cases: list[Case], seeds, all_missed: list[str] = ()) -> None:
    """Write the values both views share (one induced multiplier, one inventory scale)."""
    lines = [
        f"# Fitted values shared by every profile, written by `simulation calibrate` on {date.today().isoformat()}.",
        f"# One fit to {', '.join(c.name for c in cases)} with seeds {list(seeds)};",
        f"# largest case error (model / published - 1, both scales as one): {fit['max_abs_error']:.3f}"
        + (f"; no loss at all in {', '.join(all_missed)}." if all_missed else "."),
        "# See docs/calibration.md.",
        "",
        "[world.output]",
        f"induced_multiplier = {fit['induced_multiplier']!r}",
        "",
        "[world.firms]",
        f"inventory_days_scale = {fit['inventory_days_scale']!r}",
        "",
    ]
    path.write_text("\n".join(lines))


def write_profile(path: Path, profile: str, fit: dict) -> None:
    """Write ``<profile>_fitted.toml``: the shared values (included) plus the view's own."""
    lines = [
        f"# Profile '{profile}': fitted values, written by `simulation calibrate` on {date.today().isoformat()}.",
        "# case errors (model / published - 1, % and yen as one figure): "
        + ", ".join(f"{k} {v:+.3f}" for k, v in fit["residuals"].items()) + ".",
        "# See docs/calibration.md.",
        f'include = "{SHARED_FILE}"',
        "",
    ]
    if "max_reroute_share" in fit:
        lines += ["[world.transshipment]", f"max_reroute_share = {fit['max_reroute_share']!r}", ""]
    path.write_text("\n".join(lines))


@dataclass
class Check:
    case: Case
    measure: str
    published: float
    mean: float
    low: float
    high: float

    @property
    def error(self) -> float:
        return self.mean / self.published - 1.0

    @property
    def ok(self) -> bool:
        return abs(self.error) <= TOLERANCE


def validate(directory: Path | None = None, n_seeds: int = 20, first_seed: int = 101) -> list[Check]:
    """Every published figure beside the model's mean and 90% interval over seeds."""
    directory = directory or calibration_dir()
    checks = []
    seeds = range(first_seed, first_seed + n_seeds)
    for case in load_cases(directory):
        outs = [evaluate(case, s, None, directory) for s in seeds]
        for measure in ("gdp_pct", "output_lcu", "jobs"):
            published = getattr(case, measure)
            if published is None:
                continue
            vals = np.array([getattr(o, measure) for o in outs])
            checks.append(Check(case, measure, published, float(vals.mean()),
                                float(np.percentile(vals, 5)), float(np.percentile(vals, 95))))
    return checks


UNITS = {"gdp_pct": "% of GDP", "output_lcu": "yen", "jobs": "jobs"}


def _fmt(x: float, measure: str) -> str:
    if measure == "gdp_pct":
        return f"{x:.3f}"
    return f"{x / 1e9:,.0f} bn" if measure == "output_lcu" else f"{x:,.0f}"


def table(checks: list[Check]) -> list[str]:
    rows = ["| case | measure | published | model mean | model 90% interval | error | pass |",
            "|---|---|---|---|---|---|---|"]
    for c in checks:
        rows.append(f"| {c.case.name} | {UNITS[c.measure]} | {_fmt(c.published, c.measure)} | "
                    f"{_fmt(c.mean, c.measure)} | [{_fmt(c.low, c.measure)}, {_fmt(c.high, c.measure)}] | "
                    f"{c.error:+.1%} | {'yes' if c.ok else 'NO'} |")
    return rows


def read_fitted(directory: Path) -> dict[str, dict]:
    """The fitted values of each profile (``profiles/<profile>_fitted.toml`` with the shared file)."""
    folder = directory / "profiles"
    shared_path = folder / SHARED_FILE
    if not shared_path.is_file():
        return {}
    with shared_path.open("rb") as fh:
        shared = tomllib.load(fh)["world"]
    out = {}
    for path in sorted(folder.glob("*_fitted.toml")):
        if path.name == SHARED_FILE:
            continue
        with path.open("rb") as fh:
            own = tomllib.load(fh).get("world", {})
        out[path.stem.removesuffix("_fitted")] = {
            "induced_multiplier": shared["output"]["induced_multiplier"],
            "inventory_days_scale": shared["firms"]["inventory_days_scale"],
            "max_reroute_share": own.get("transshipment", {}).get("max_reroute_share"),
            "header": [ln[2:] for ln in path.read_text().splitlines() if ln.startswith("# ")]}
    return out


def write_report(checks: list[Check], path: Path, n_seeds: int, directory: Path | None = None,
                 test_set: list[str] | None = None) -> None:
    """The calibration report at ``path`` (``simulation validate``: under ``--out``, or the project's
    docs/calibration.md with ``--docs``): method, fitted parameters, residuals, figure beside it, and
    the test set's section (``test_set``: its lines) last."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory = directory or calibration_dir()
    fitted = read_fitted(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig_path = path.with_suffix(".png")
    gdp = [c for c in checks if c.measure == "gdp_pct"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = np.arange(len(gdp))
    ax.bar(x - 0.2, [c.published for c in gdp], 0.4, label="published")
    ax.bar(x + 0.2, [c.mean for c in gdp], 0.4, label="model (mean)",
           yerr=[[c.mean - c.low for c in gdp], [c.high - c.mean for c in gdp]], capsize=3)
    ax.set_xticks(x, [c.case.name for c in gdp], fontsize=8)
    ax.set_ylabel("Japan's loss, % of GDP")
    ax.set_title("Model vs published estimates (bars: 90% interval over seeds)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(fig_path, dpi=100)
    plt.close(fig)
    doc = __doc__.split("\n\n", 1)[1].replace("``", "`").replace(":func:", "")
    lines = ["# Calibration and validation", "",
             "Generated by `simulation validate` (do not edit by hand). Rerun `simulation calibrate` to refit.",
             "", "## Method", "", doc.strip(), "",
             "## Cases", "", "| case | shock | profile | source |", "|---|---|---|---|"]
    for case in load_cases(directory):
        lines.append(f"| {case.name} | {case.label} | {case.profile} | {case.source} |")
    lines += ["", "## Fitted parameters", "",
              "| profile | induced_multiplier | inventory_days_scale | max_reroute_share |", "|---|---|---|---|"]
    for name, f in fitted.items():
        reroute = f"{f['max_reroute_share']:.4g}" if f.get("max_reroute_share") is not None else "0 (view setting)"
        lines.append(f"| {name} | {f['induced_multiplier']:.4g} | {f['inventory_days_scale']:.4g} | {reroute} |")
    lines += ["", "The multiplier and the inventory scale are one value for both views "
              "(`profiles/shared_fitted.toml`)."]
    lines += [""] + [f"- `{name}`: " + " ".join(f["header"][1:2]) for name, f in fitted.items()]
    lines += ["", f"## Fit set: validation ({n_seeds} seeds, pass within +-{TOLERANCE:.0%})", ""] + table(checks)
    lines += ["", f"![model vs published]({fig_path.name})", "",
              "Jobs are the year's average of weekly job equivalents lost "
              "(employment x loss rate, elasticity 1): reported, not counted as evidence (GDP share times "
              "employment). Output in yen is Japan's cumulative lost value added.", ""]
    if test_set is not None:  # the test set's section, as simulation.validation.report_lines writes it
        lines += test_set + [""]
    path.write_text("\n".join(lines))
