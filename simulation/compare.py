"""Two runs side by side (``simulation compare RUN_A RUN_B``): read two run directories, say whether
they are comparable like for like, tabulate their headline outcomes and draw them.

Pure functions read a run directory (:func:`load_run`) and return tables (:func:`headline`,
:func:`by_commodity`) or text (:func:`console_lines`, :func:`markdown`); :func:`write_comparison`
writes ``comparison.md``, ``comparison.csv`` and ``figures/`` into a new folder atomically.

A single pair of runs is one draw: the differences carry no interval (a sweep gives those).
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from simulation.figures import RunInfo
from simulation.rundir import commit_dir

TABLES = ("model", "country", "country_commodity")
COLUMNS = {  # the columns the comparison reads from each table
    "model": ("date", "escalation_level"),
    "country": ("date", "country", "cum_output_loss_pct_gdp"),
    "country_commodity": ("date", "country", "commodity", "shortage_share", "stockpile_days", "price",
                          "price_china"),
}

#: The headline outcomes per country: (key in summary.json, label, kind).
OUTCOMES = (
    ("cum_output_loss_pct_gdp", "cumulative output loss, % of GDP", "pct"),
    ("cum_output_loss", "cumulative output loss, own currency", "money"),
    ("peak_jobs_lost", "peak jobs lost", "count"),
    ("peak_shortage_share", "peak shortage, share of demand", "share"),
    ("weeks_in_shortage", "weeks in shortage", "count"),
    ("strategy_cost_usd", "strategy cost, USD", "money"),
    ("binding_commodity", "binding commodity", "name"),
)


class RunDirError(ValueError):
    """A path that is not a readable run directory (the message is one line, naming the path)."""


@dataclass(frozen=True)
class RunData:
    """A run directory as read: its path, resolved config (plain dicts), summary and tables."""

    path: Path
    config: dict
    summary: dict
    tables: dict[str, pd.DataFrame]
    info: RunInfo


def _read_table(path: Path, name: str) -> pd.DataFrame:
    csv, parquet = path / f"{name}.csv", path / f"{name}.parquet"
    source = csv if csv.is_file() else parquet
    try:
        df = pd.read_csv(source) if source is csv else pd.read_parquet(source)
    except Exception as exc:  # noqa: BLE001 - any unreadable table is one line
        raise RunDirError(f"{source}: cannot be read as a table ({type(exc).__name__})") from None
    missing = [c for c in COLUMNS[name] if c not in df.columns]
    if missing:
        raise RunDirError(f"{source}: missing column(s) {', '.join(missing)}")
    return df


def load_run(path: str | Path) -> RunData:
    """Read a run directory (``simulation run``'s, or a sweep run's kept with all tables).

    Raises:
        RunDirError: a missing path, a file, a sweep directory, a folder without the run's files,
            or a file that cannot be read; one line naming the path.
    """
    path = Path(path)
    if not path.exists():
        raise RunDirError(f"{path}: no such directory")
    if not path.is_dir():
        raise RunDirError(f"{path}: not a directory")
    if (path / "experiment.toml").is_file():
        raise RunDirError(f"{path} is a sweep directory, not a run directory "
                          "(compare a sweep alone: simulation compare SWEEP_DIR)")
    missing = [f for f in ("config.toml", "summary.json") if not (path / f).is_file()]
    missing += [f"{t}.csv" for t in TABLES
                if not (path / f"{t}.csv").is_file() and not (path / f"{t}.parquet").is_file()]
    if missing:
        raise RunDirError(f"{path} is not a run directory (no {', '.join(missing)})")
    try:
        config = tomllib.loads((path / "config.toml").read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise RunDirError(f"{path / 'config.toml'}: not a readable TOML file ({exc})") from None
    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise RunDirError(f"{path / 'summary.json'}: not a readable JSON file ({exc})") from None
    try:
        info = RunInfo.from_config(config)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RunDirError(f"{path / 'config.toml'}: not a resolved run config (missing {exc})") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("countries"), dict):
        raise RunDirError(f"{path / 'summary.json'}: not a run summary (no 'countries')")
    tables = {name: _read_table(path, name) for name in TABLES}
    return RunData(path=path, config=config, summary=summary, tables=tables, info=info)


# ------------------------------------------------------------------ comparability


def _flat(data, prefix: str = "") -> dict[str, object]:
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    if isinstance(data, list):
        out = {}
        for i, value in enumerate(data):
            out.update(_flat(value, f"{prefix}{i}."))
        return out or {prefix[:-1]: []}
    return {prefix[:-1]: data}


def differences(a: RunData, b: RunData) -> list[str]:
    """What makes two runs not comparable like for like (empty: only the strategy differs).

    Checked: the number of weeks, the seed, the scenario (name, target, dates, ladder and record),
    the world data and every other config key outside ``strategy``.
    """
    fa, fb = _flat(a.config), _flat(b.config)
    keys = sorted(k for k in set(fa) | set(fb) if not k.startswith("strategy.") and fa.get(k) != fb.get(k))
    notes = []
    steps_a, steps_b = a.summary.get("steps"), b.summary.get("steps")
    if steps_a != steps_b:
        notes.append(f"different lengths: {steps_a} vs {steps_b} weeks (cumulative outcomes cover different spans)")
    if a.info.seed != b.info.seed:
        notes.append(f"different seeds: {a.info.seed} vs {b.info.seed} (the differences mix the strategy's "
                     "effect with chance)")
    if a.info.scenario != b.info.scenario or a.info.target != b.info.target:
        notes.append(f"different scenarios: {a.info.scenario} (target {a.info.target}) vs "
                     f"{b.info.scenario} (target {b.info.target})")
    seen = {"run.steps", "run.seed", "scenario.name", "scenario.target"}
    for section, what in (("world.", "world data"), ("escalation.", "escalation ladder or record"),
                          ("scenario.", "scenario settings"), ("", "other settings")):
        diff = [k for k in keys if k.startswith(section) and k not in seen and k != "scenario.description"]
        seen.update(diff)
        if diff:
            shown = ", ".join(diff[:3]) + (f" and {len(diff) - 3} more" if len(diff) > 3 else "")
            notes.append(f"different {what}: {len(diff)} key(s) differ ({shown})")
    return notes


# ------------------------------------------------------------------------ tables


def _countries(a: RunData, b: RunData) -> list[str]:
    """The target, the focus countries, then any other country that lost output in either run."""
    common = [c for c in a.summary["countries"] if c in b.summary["countries"]]
    first = a.info.shown(common) + [c for c in b.info.shown(common) if c not in a.info.shown(common)]
    lost = [c for c in common if c not in first and any(
        (r.summary["countries"][c].get("cum_output_loss_pct_gdp") or 0) > 0 for r in (a, b))]
    return first + lost


def _diff(x, y):
    if isinstance(x, int | float) and isinstance(y, int | float) and not isinstance(x, bool):
        return y - x
    return None


def headline(a: RunData, b: RunData) -> pd.DataFrame:
    """Per country and outcome: A, B and B - A (names for the binding commodity), one row each.

    Columns: ``country, outcome, label, a, b, b_minus_a``; the binding commodity's ``a``/``b`` are
    full names.
    """
    rows = []
    for c in _countries(a, b):
        ra, rb = a.summary["countries"][c], b.summary["countries"][c]
        for key, label, _kind in OUTCOMES:
            va, vb = ra.get(key), rb.get(key)
            if key == "binding_commodity":
                va, vb = a.info.commodity(va), b.info.commodity(vb)
            if key == "cum_output_loss" and ra.get("currency"):
                label = label.replace("own currency", ra["currency"])
            rows.append({"country": c, "outcome": key, "label": label, "a": va, "b": vb, "b_minus_a": _diff(va, vb)})
    return pd.DataFrame(rows, columns=["country", "outcome", "label", "a", "b", "b_minus_a"])


def by_commodity(a: RunData, b: RunData) -> pd.DataFrame:
    """Cumulative loss, % of GDP, by the commodity that caused it: A, B and B - A per country and cause
    (only causes with a loss in either run). Columns: ``country, commodity, name, a, b, b_minus_a``."""
    rows = []
    for c in _countries(a, b):
        la = a.summary["countries"][c].get("cum_output_loss_pct_gdp_by_commodity") or {}
        lb = b.summary["countries"][c].get("cum_output_loss_pct_gdp_by_commodity") or {}
        for com in dict.fromkeys([*la, *lb]):
            va, vb = float(la.get(com, 0.0)), float(lb.get(com, 0.0))
            rows.append({"country": c, "commodity": com, "name": a.info.commodity(com), "a": va, "b": vb,
                         "b_minus_a": vb - va})
    return pd.DataFrame(rows, columns=["country", "commodity", "name", "a", "b", "b_minus_a"])


def tidy(a: RunData, b: RunData) -> pd.DataFrame:
    """``comparison.csv``: the headline and by-commodity rows in one table with fixed columns
    ``country, outcome, commodity, a, b, b_minus_a`` (outcome ``cum_output_loss_pct_gdp_by_commodity``
    for the by-commodity rows; ``binding_commodity`` rows carry commodity ids)."""
    head = headline(a, b)
    for col in ("a", "b"):  # ids, not names, in the machine-readable table
        run = a if col == "a" else b
        mask = head["outcome"] == "binding_commodity"
        head.loc[mask, col] = [run.summary["countries"][c].get("binding_commodity") for c in head.loc[mask, "country"]]
    head = head.assign(commodity=None)[["country", "outcome", "commodity", "a", "b", "b_minus_a"]]
    com = by_commodity(a, b).assign(outcome="cum_output_loss_pct_gdp_by_commodity")
    return pd.concat([head, com[["country", "outcome", "commodity", "a", "b", "b_minus_a"]]], ignore_index=True)


# ------------------------------------------------------------------------ text


def _fmt(value, kind: str, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-" if kind != "name" else "none"
    if kind == "name":
        return str(value)
    sign = "+" if signed else ""
    if kind == "pct":
        return f"{value:{sign}.3f}"
    if kind == "share":
        return f"{value * 100:{sign}.1f} pp" if signed else f"{value:.1%}"
    if kind == "money":
        return f"{value:{sign},.4g}" if abs(value) < 1e4 else f"{value:{sign},.0f}"
    return f"{value:{sign},.0f}"


def _kind(outcome: str) -> str:
    return next(kind for key, _label, kind in OUTCOMES if key == outcome)


def _run_line(name: str, run: RunData) -> str:
    return (f"{name}: {run.path}  {run.info.scenario}  strategy {run.info.strategy}  seed {run.info.seed}  "
            f"{run.summary.get('steps')} weeks")


def verdict(notes: list[str]) -> str:
    """One line: comparable like for like, or not and why."""
    if not notes:
        return "comparable: same scenario, world, ladder, seed and weeks; only the strategy differs"
    return "NOT comparable like for like: " + "; ".join(notes)


def _quiet(a: RunData, b: RunData, country: str) -> bool:
    """No loss, shortage or jobs lost in either run."""
    return all(not (r.summary["countries"][country].get(k) or 0) for r in (a, b)
               for k in ("cum_output_loss_pct_gdp", "peak_shortage_share", "peak_jobs_lost"))


def console_lines(a: RunData, b: RunData) -> list[str]:
    """The console table: the two runs, the verdict, and for the target and the focus countries the
    headline outcomes A, B, B - A and the loss by commodity (every country is in ``comparison.md``)."""
    shown = set(a.info.shown(a.summary["countries"]))
    head, com = headline(a, b), by_commodity(a, b)
    others = [c for c in dict.fromkeys(head["country"]) if c not in shown]
    head, com = head[head["country"].isin(shown)], com[com["country"].isin(shown)]
    lines = [_run_line("A", a), _run_line("B", b), verdict(differences(a, b)),
             "one run each: the differences are one draw, with no interval (a sweep gives intervals)", ""]
    rows_text = [(r, _kind(r.outcome)) for r in head.itertuples()]
    width = max([len(r.label) for r, _ in rows_text] or [20])
    col = max([22] + [len(_fmt(v, kind)) for r, kind in rows_text for v in (r.a, r.b)])
    lines.append(f"{'country':8} {'outcome':{width}} {'A':>{col}} {'B':>{col}} {'B - A':>{col}}")
    lines.append("-" * len(lines[-1]))
    quiet, last = [], None
    for r, kind in rows_text:
        if _quiet(a, b, r.country):
            quiet += [] if r.country in quiet else [r.country]
            continue
        name = r.country + ("*" if r.country == a.info.target else "") if r.country != last else ""
        last = r.country
        delta = "" if kind == "name" else _fmt(r.b_minus_a, kind, signed=True)
        lines.append(f"{name:8} {r.label:{width}} {_fmt(r.a, kind):>{col}} {_fmt(r.b, kind):>{col}} {delta:>{col}}")
    if quiet:
        lines.append(f"no loss, shortage or jobs lost in either run: {', '.join(quiet)}")
    if len(com):
        lines += ["", "cumulative output loss by the commodity that caused it, % of GDP (A / B / B - A):"]
        for c, rows in com.groupby("country", sort=False):
            parts = [f"{r.name} {r.a:.3f} / {r.b:.3f} / {r.b_minus_a:+.3f}" for r in rows.itertuples()]
            lines.append(f"  {c}: " + "; ".join(parts))
    if others:
        lines.append(f"(also in comparison.md: {', '.join(others)})")
    return lines


def markdown(a: RunData, b: RunData, figures: list[str]) -> str:
    """``comparison.md``: the runs, the verdict, the headline table, the loss by commodity, the figures."""
    head, com = headline(a, b), by_commodity(a, b)
    notes = differences(a, b)
    out = ["# Comparison of two runs", "",
           "| run | directory | scenario | strategy | seed | weeks |", "|---|---|---|---|---|---|"]
    for name, r in (("A", a), ("B", b)):
        out.append(f"| {name} | `{r.path}` | {r.info.scenario} | {r.info.strategy} | {r.info.seed} | "
                   f"{r.summary.get('steps')} |")
    out += ["", f"**{verdict(notes).split(':')[0].capitalize()}**" + (":" if notes else "."), ""]
    out += [f"- {n}" for n in notes] if notes else ["Same scenario, world, ladder, seed and weeks: only the "
                                                    "strategy differs (common random numbers)."]
    out += ["", "One run each: every difference is one draw and carries no interval; a sweep over seeds "
            "(`simulation sweep`) gives intervals.", "", "## Headline outcomes", "",
            "Target marked *. B - A: negative is less loss, fewer jobs lost, less shortage.", "",
            "| country | outcome | A | B | B - A |", "|---|---|---:|---:|---:|"]
    quiet = []
    for c, rows in head.groupby("country", sort=False):
        if _quiet(a, b, c):
            quiet.append(c)
            continue
        mark = "*" if c == a.info.target else ""
        for r in rows.itertuples():
            kind = _kind(r.outcome)
            delta = "" if kind == "name" else _fmt(r.b_minus_a, kind, signed=True)
            out.append(f"| {c}{mark} | {r.label} | {_fmt(r.a, kind)} | {_fmt(r.b, kind)} | {delta} |")
    if quiet:
        out += ["", f"No loss, shortage or jobs lost in either run: {', '.join(quiet)}."]
    out += ["", "## Output loss by the commodity that caused it (% of GDP)", ""]
    if len(com):
        out += ["| country | cause | A | B | B - A |", "|---|---|---:|---:|---:|"]
        out += [f"| {r.country} | {r.name} | {r.a:.3f} | {r.b:.3f} | {r.b_minus_a:+.3f} |" for r in com.itertuples()]
    else:
        out.append("No country lost output in either run.")
    if figures:
        out += ["", "## Figures", ""] + [f"![{Path(f).stem}]({f})" for f in figures]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------ writing


def comparison_figures(a: RunData, b: RunData) -> dict:
    """The comparison's figures by file name (matplotlib figures, not yet saved)."""
    from simulation.figures import compare_commodity_figure, compare_loss_figure, compare_shortage_figure

    return {
        "output_loss.png": compare_loss_figure(a.tables["country"], b.tables["country"], a.info, b.info),
        "loss_by_commodity.png": compare_commodity_figure(a.summary, b.summary, a.info, b.info),
        "shortages.png": compare_shortage_figure(a.tables["country_commodity"], b.tables["country_commodity"],
                                                 a.tables["model"], b.tables["model"], a.info, b.info),
    }


def write_comparison(a: RunData, b: RunData, out: str | Path, figures: bool = True) -> Path:
    """Write ``comparison.md``, ``comparison.csv`` and ``figures/*.png`` into the new folder ``out``,
    atomically (a temporary sibling renamed at the end: nothing half-written).

    Returns:
        The folder.
    """
    out = Path(out)

    def files(tmp: Path) -> None:
        names = []
        if figures:
            from simulation.figures import save_all

            names = [f"figures/{p.name}" for p in save_all(comparison_figures(a, b), tmp / "figures")]
        tidy(a, b).to_csv(tmp / "comparison.csv", index=False, float_format="%.10g")
        (tmp / "comparison.md").write_text(markdown(a, b, names), encoding="utf-8")

    commit_dir(out, files)
    return out


def default_name(a: RunData, b: RunData) -> str:
    """``compare-<A's folder>-vs-<B's folder>`` (each cut to 60 characters)."""
    return f"compare-{a.path.resolve().name[:60]}-vs-{b.path.resolve().name[:60]}"

