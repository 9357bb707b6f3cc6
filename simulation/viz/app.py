"""The browser view: watch an escalation unfold, and ask "what if" on one page.

Open it with ``simulation view [SCENARIO] [--strategy S] [--compare C]`` (served offline by
:mod:`simulation.viz.server`). The left column holds Mesa's ModelController (Reset, Play, Step),
the commodity shown and the run settings; the main area the charts of
:mod:`simulation.viz.charts` (vega-lite: each step sends their data, the browser redraws)
and cards: the Run card (the clock, the end-of-run message, the target's loss, and in compare
mode the difference), the binding commodity per country, and a glossary.

Compare mode runs the same scenario and seed under a second strategy (the baseline by
default) beside the chosen one, stepped together (:class:`ViewModel`). Settings take effect
at Reset. Their starting values are read from the config (never written here): choosing a
scenario or strategy moves the sliders to its values; a blank seed follows the scenario's.
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import os
import threading
import time
import weakref
from dataclasses import dataclass, replace
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import solara
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import update_counter
from solara.server import kernel_context

from simulation.config import DEFAULT_SCENARIO, Config, configs_root, load_config
from simulation.display import GLOSSARY, full_name
from simulation.model import CoercionModel
from simulation.viz import charts
from simulation.viz.server import COMPARE_ENV, CONFIG_ENV, SEED_ENV, STEPS_ENV, STRATEGY_ENV
from simulation.viz.widget import VegaChart, to_json

TITLE = "coercion-sim: export controls, escalation and responses"


# ----------------------------------------------------------------------------- controls


def scenario_files() -> dict[str, Path]:
    """Scenario name -> file, for the files in ``configs/scenarios/``."""
    return {p.stem: p for p in sorted((configs_root() / "scenarios").glob("*.toml"))}


def strategy_names() -> list[str]:
    """Names of the strategies in ``configs/strategies/``."""
    return sorted(p.stem for p in (configs_root() / "strategies").glob("*.toml"))


def scenario_path(scenario: str | None) -> Path | None:
    """A scenario name from ``configs/scenarios/`` or a config path (None: the default)."""
    if scenario is None:
        return None
    return scenario_files().get(scenario, Path(scenario))


@dataclass(frozen=True)
class Lever:
    """A number of the config shown as a slider.

    ``kind`` None: the target state's ``Policy`` field ``field`` (set through the strategy's
    levers, so it wins over the strategy; 0 leaves it as configured). Otherwise: field
    ``field`` of the first ladder measure of that kind whose attributes equal ``match``.
    """

    name: str  # ViewModel keyword
    label: str  # on the slider
    what: str  # in the summary card
    field: str
    kind: str | None = None
    match: tuple[tuple[str, Any], ...] = ()
    min: float = 0.0
    max: float = 1.0
    step: float = 0.05


LEVERS = (
    Lever("approval_probability", "Licence approval", "probability that a dual-use export licence is granted",
          "approval_probability", "export_control", (("instrument", "licensing"), ("end_use", "all"))),
    Lever("boycott_enforcement", "Boycott enforcement", "secondary-boycott enforcement intensity",
          "enforcement", "secondary_boycott"),
    Lever("stockpile_target_days", "Target stockpile days", "state stockpile target, days of use, all commodities",
          "stockpile_target_days", min=0, max=360, step=10),
)  # slider labels are short (the controls column is narrow); the Run card says what each one is


def find_measure(config: Config, lever: Lever) -> tuple[int, int] | None:
    """(level, measure) indices of the lever's measure in the ladder, or None."""
    for i, level in enumerate(config.escalation.levels):
        for j, m in enumerate(level.measures):
            if m.kind == lever.kind and all(getattr(m, k) == v for k, v in lever.match):
                return i, j
    return None


def lever_value(config: Config, lever: Lever) -> float | None:
    """The lever's value in ``config`` (None: the ladder has no such measure)."""
    if lever.kind is None:
        return getattr(config.policy_of(config.scenario.target), lever.field) or 0.0
    at = find_measure(config, lever)
    return None if at is None else getattr(config.escalation.levels[at[0]].measures[at[1]], lever.field)


def lever_params(config: Config, values: dict[str, float | None]) -> dict[str, Any]:
    """Dotted-path overrides (``load_config(params=...)``) that set the levers on ``config``."""
    params: dict[str, Any] = {}
    for lever in LEVERS:
        value = values.get(lever.name)
        if value is None:
            continue
        if lever.kind is None:
            if value > 0:
                params[f"strategy.levers.{config.scenario.target}.{lever.field}"] = float(value)
            continue
        at = find_measure(config, lever)
        if at is None:
            raise ValueError(f"{lever.name}: the ladder has no {lever.kind} measure matching {dict(lever.match)}")
        params[f"escalation.levels.{at[0]}.measures.{at[1]}.{lever.field}"] = float(value)
    return params


def view_config(scenario: str | None = None, strategy: str | None = None, seed: int | str | None = None,
                steps: int | None = None, **levers: float | None) -> Config:
    """The config of a :class:`ViewModel` (arguments as there)."""
    path = scenario_path(scenario)
    seed = parse_seed(seed)
    base = load_config(path, seed=seed, steps=steps, strategy=strategy)
    params = lever_params(base, levers)
    return load_config(path, seed=seed, steps=steps, strategy=strategy, params=params) if params else base


def parse_seed(seed: int | str | None) -> int | None:
    """A seed from the page: None or blank text follow the scenario's seed.

    Raises:
        ValueError: text that is not a whole number.
    """
    if seed is None or str(seed).strip() == "":
        return None
    try:
        return int(str(seed).strip())
    except ValueError:
        raise ValueError(f"seed {seed!r}: not a whole number (leave it blank for the scenario's seed)") from None


_SERIALS = itertools.count()


class ViewModel(CoercionModel):
    """A :class:`CoercionModel` built from the page's controls (what Reset calls), with a compared run.

    Args:
        scenario_name: a scenario of ``configs/scenarios/`` or a config path; None: the
            default scenario (not ``scenario``: Mesa's Model owns that name).
        strategy: a strategy of ``configs/strategies/``; None: the config's own.
        seed: the run's seed (text from the page is accepted); None or blank: the scenario's.
        approval_probability: licence approval probability of the first dual-use export
            control for all end uses; None: as configured. Applies to both runs.
        boycott_enforcement: enforcement of the first secondary-boycott measure; None: as
            configured. Applies to both runs.
        stockpile_target_days: the target state's stockpile target, days of use, all
            commodities; None or 0: as configured. Applies to the chosen strategy only (it is
            one of its levers).
        steps: weeks to run; None: the scenario's horizon.
        compare: a second strategy run beside the chosen one on the same scenario and seed
            (stepped together, drawn dashed); None, "" or the chosen strategy itself: none.

    Attributes:
        other: the compared run (a :class:`CoercionModel`), or None.
        firm_loss_sum: per firm, the weekly output-loss shares summed (the firms chart);
            ``other.firm_loss_sum`` likewise.
    """

    def __init__(self, scenario_name: str | None = None, strategy: str | None = None, seed: int | str | None = None,
                 approval_probability: float | None = None, boycott_enforcement: float | None = None,
                 stockpile_target_days: float | None = None, steps: int | None = None,
                 compare: str | None = None):
        self.scenario_name = scenario_name if scenario_name is not None else Path(DEFAULT_SCENARIO).stem
        seed = parse_seed(seed)
        self.seed_text = "" if seed is None else str(seed)  # the page's Seed box
        config = view_config(scenario_name, strategy, seed, steps, approval_probability=approval_probability,
                             boycott_enforcement=boycott_enforcement, stockpile_target_days=stockpile_target_days)
        super().__init__(config)
        self.closed = False
        self.serial = next(_SERIALS)  # tells the page's charts one model from the next
        # held while stepping and while the page reads the runs: Play steps in a thread of its own,
        # while the page may also read them in the server's (a chart asking for its whole data)
        self.lock = threading.RLock()
        self.firm_loss_sum = np.zeros(self.eco.n_firms)
        self.other: CoercionModel | None = None
        if compare and compare != config.strategy.name:
            other = view_config(scenario_name, compare, config.run.seed, steps,
                                approval_probability=approval_probability, boycott_enforcement=boycott_enforcement)
            self.other = CoercionModel(other)
            self.other.firm_loss_sum = np.zeros(self.other.eco.n_firms)

    def runs(self) -> list[tuple[str, CoercionModel]]:
        """(strategy name, model): the chosen run, then the compared one if any."""
        runs: list[tuple[str, CoercionModel]] = [(self.config.strategy.name, self)]
        if self.other is not None:
            runs.append((self.other.config.strategy.name, self.other))
        return runs

    def step(self) -> None:
        """One week of both runs, as :meth:`CoercionModel.step`; nothing once :meth:`close` has been called."""
        if self.closed:
            self.running = False
            return
        with self.lock:
            for _, model in self.runs():
                was = model.t
                CoercionModel.step(model)
                if model.t > was:
                    model.firm_loss_sum += model.state.firm_output_loss_share

    def close(self) -> None:
        """Its page's session has ended: step no more (a Play loop still running stops at its next step)."""
        self.closed = True
        self.running = False


# ------------------------------------------------------------------------------ controls


@dataclass
class Controls:
    """What the left column holds: the next Reset's model arguments (the :class:`ViewModel` keywords)."""

    scenario_name: str
    strategy: str
    seed: str  # blank: the scenario's
    compare: str  # NO_COMPARE: none
    levers: dict[str, float]
    steps: int | None

    def kwargs(self) -> dict[str, Any]:
        """The :class:`ViewModel` keywords."""
        return {"scenario_name": self.scenario_name, "strategy": self.strategy, "seed": self.seed,
                "compare": None if self.compare == NO_COMPARE else self.compare, "steps": self.steps,
                **self.levers}


NO_COMPARE = "none"
DEFAULT_COMPARE = "baseline"  # the do-nothing strategy: compare mode's default partner


def default_compare(strategy: str) -> str:
    """Compare with the baseline, unless the chosen strategy is the baseline itself."""
    return NO_COMPARE if strategy == DEFAULT_COMPARE else DEFAULT_COMPARE


def lever_defaults(scenario_name: str, strategy: str, steps: int | None) -> dict[str, float]:
    """The levers' values in the config of this scenario and strategy (what the sliders start at)."""
    cfg = view_config(scenario_name, strategy, None, steps)
    values = {lever.name: lever_value(cfg, lever) for lever in LEVERS}
    return {k: float(v) for k, v in values.items() if v is not None}


def initial_controls(model: ViewModel) -> Controls:
    """The controls that rebuild ``model`` (Reset with nothing touched)."""
    cfg = model.config
    levers = {lever.name: float(v) for lever in LEVERS if (v := lever_value(cfg, lever)) is not None}
    compare = model.other.config.strategy.name if model.other is not None else NO_COMPARE
    return Controls(model.scenario_name, cfg.strategy.name, model.seed_text, compare, levers, cfg.run.steps)


def controls_after(controls: Controls, **changes: Any) -> Controls:
    """``controls`` with ``changes``; a new scenario or strategy moves the sliders to its values
    (a new strategy also its default partner in compare mode, unless that was set); the seed is kept."""
    new = replace(controls, **changes)
    if "scenario_name" in changes or "strategy" in changes:
        new = replace(new, levers=lever_defaults(new.scenario_name, new.strategy, new.steps))
    if "strategy" in changes and "compare" not in changes and controls.compare == default_compare(controls.strategy):
        new = replace(new, compare=default_compare(new.strategy))
    return new


def scenario_seed(scenario_name: str) -> int:
    """The seed the scenario's file sets."""
    return load_config(scenario_path(scenario_name)).run.seed


@solara.component
def ControlsCard(controls: solara.Reactive[Controls]):
    """Scenario, strategy, compare, seed and the levers; they take effect at Reset."""
    c = controls.value
    scenarios = list(scenario_files())
    if c.scenario_name not in scenarios:
        scenarios.append(c.scenario_name)
    strategies = strategy_names()
    for name in (c.strategy, c.compare):
        if name not in strategies and name != NO_COMPARE:
            strategies.append(name)
    seed_hint = solara.use_memo(lambda: scenario_seed(c.scenario_name), dependencies=[c.scenario_name])

    def change(**kw):
        controls.value = controls_after(controls.value, **kw)

    with solara.Column(style={"gap": "2px"}):
        line("Run settings (applied at Reset)", **{"font-weight": "bold", "margin-top": "6px"})
        solara.Select("Scenario", values=scenarios, value=c.scenario_name,
                      on_value=lambda v: change(scenario_name=v))
        solara.Select("Strategy", values=strategies, value=c.strategy, on_value=lambda v: change(strategy=v))
        solara.Select("Compare with", values=[NO_COMPARE, *strategies], value=c.compare,
                      on_value=lambda v: change(compare=v))
        solara.InputText("Seed", value=c.seed, message=f"blank: the scenario's ({seed_hint})",
                         on_value=lambda v: change(seed=(v or "").strip()))
        for lever in LEVERS:
            if lever.name not in c.levers:
                continue
            value = c.levers[lever.name]
            shown = f"{value:.0f}" if lever.step >= 1 else f"{value:.2f}"
            line(f"{lever.label}: {shown}", **{"font-size": "13px", "margin-top": "6px"})
            solara.SliderFloat("", value=value, min=lever.min, max=max(lever.max, value), step=lever.step,
                               on_value=lambda v, n=lever.name: change(levers={**controls.value.levers, n: v}))


# --------------------------------------------------------------------------- components

ALL_COMMODITIES = "All commodities (worst of each country)"


TAIL_WEEKS = 2  # a step re-sends a time series' rows from this many weeks back (see VegaChart)


@solara.component
def ChartView(model: ViewModel, chart: charts.Chart, commodity: str | None, week: int):
    """One chart: its spec embedded once per model (and commodity), its data sent at every week.

    A time series sends its whole data when its model or commodity is new, else only the rows
    of the last weeks (from ``week - TAIL_WEEKS``), which the browser swaps in; a browser that
    lacks the weeks before asks for the whole data (``on_request_full``).
    """
    com = commodity if chart.uses_commodity else None
    key = f"{model.serial}:{com}"
    spec = solara.use_memo(lambda: to_json(chart.spec(model.runs(), com)), dependencies=[model, com])
    last = solara.use_ref(None)  # the key of the data last sent

    def payload(since: int) -> str:
        with model.lock:
            sets = chart.data(model.runs(), com, since) if chart.timeseries else chart.data(model.runs(), com)
            return to_json({"version": model.t, "key": key, "since": since, "sets": sets})

    def tail() -> str:
        whole = not chart.timeseries or last.current != key
        last.current = key
        return payload(0 if whole else max(week - TAIL_WEEKS, 0))

    data = solara.use_memo(tail, dependencies=[model, com, week])
    with solara.Div(style={"grid-column": "1 / -1"} if chart.wide else {}) as main:
        VegaChart.element(name=chart.name, spec=spec, chart_data=data, on_request_full=lambda: payload(0))
    return main


def line(text: str, **style: str):
    """A line of text (a block: one per line)."""
    return solara.Div(children=[text], style=style)


def loss_of(model: CoercionModel) -> float:
    """The target's cumulative output loss so far, % of its annual GDP."""
    e = model.eco
    loss = charts.loss_pct_gdp(model, e.target)
    return float(loss[-1]) if len(loss) else 0.0


def describe_levers(config: Config) -> list[str]:
    """The levers' values in ``config``, in words."""
    lines = []
    for lever in LEVERS:
        value = lever_value(config, lever)
        if value is None:
            continue
        if lever.kind is None:
            label = f"{lever.label} ({config.scenario.target})"
            if getattr(config.policy_of(config.scenario.target), lever.field) is None:
                lines.append(f"{label}: none set (the starting stock is the target)")
                continue
            where = ""
        else:
            label = lever.label
            where = f" (from level '{config.escalation.levels[find_measure(config, lever)[0]].name}')"
        lines.append(f"{label} = {value:g}: {lever.what}{where}")
    return lines


def clock(model: CoercionModel) -> str:
    """The page's one clock: the week done and its date."""
    cfg = model.config
    return f"Week {model.t} of {cfg.n_steps} ({cfg.date_of(model.t).isoformat()})"


@solara.component
def RunCard(model: ViewModel, week: int):
    """What is running and where it stands: the clock, the end-of-run message, the target's loss."""
    cfg, e = model.config, model.eco
    target = charts.country_label(model, e.target)
    with model.lock:
        now, done, level, stage, loss = clock(model), model.t >= cfg.n_steps, model.level, model.stage, loss_of(model)
    with solara.Column(style={**BOX, "gap": "2px"}):
        line(now, **{"font-weight": "bold", "font-size": "15px"})
        if done:
            solara.Success(f"Run complete: all {cfg.n_steps} weeks done, to {cfg.date_of(cfg.n_steps).isoformat()}. "
                           "Change the settings and press Reset for another run.", dense=True, text=True,
                           style_="font-size: 13px; margin: 4px 0")
        line(f"Scenario {cfg.scenario.name}, strategy {cfg.strategy.name}, seed {cfg.run.seed}")
        line(f"China's level {level}: {stage}")
        solara.HTML(tag="div", unsafe_innerHTML=f"{escape(target)}'s output loss so far: "
                    f"<b>{loss:.3f}% of annual GDP</b>")
        if model.other is not None:
            DifferenceCard(model, week)
        with solara.Details(summary="Levers of this run", expand=False):
            for text in describe_levers(cfg):
                line(text, **{"font-size": "12px"})


@solara.component
def DifferenceCard(model: ViewModel, week: int):
    """The target's loss under the chosen and the compared strategy, and the difference."""
    other = model.other
    with model.lock:
        a, b = loss_of(model), loss_of(other)
    name_a, name_b = model.config.strategy.name, other.config.strategy.name
    diff = a - b
    rel = f" ({diff / b * 100:+.0f}%)" if b > 0 else ""
    with solara.Column(style={**BOX, "gap": "0", "background": "#f5f7fb", "margin-top": "6px"}):
        line("Difference", **{"font-weight": "bold"})
        line(f"{name_a} (solid): {a:.3f}% of GDP")
        line(f"{name_b} (dashed): {b:.3f}% of GDP")
        solara.HTML(tag="div", unsafe_innerHTML=f"{escape(name_a)} minus {escape(name_b)}: "
                    f"<b>{diff:+.3f} points</b>{rel}")


@solara.component
def BindingCard(model: ViewModel, week: int):
    """The binding commodity of each country shown, under each strategy."""
    runs = model.runs()
    cell = 'style="padding: 2px 8px 2px 0; text-align: left; vertical-align: top"'
    rows = []
    for k in charts.focus_countries(model):
        cells = [charts.country_label(model, k)]
        with model.lock:
            cells += [charts.binding_text(run, k) for _, run in runs]
        rows.append("<tr>" + "".join(f"<td {cell}>{escape(c)}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th {cell}>{escape(c)}</th>" for c in ["country", *(name for name, _ in runs)])
    with solara.Column(style={**BOX, "gap": "4px"}):
        line("Binding commodity", **{"font-weight": "bold"})
        solara.HTML(tag="table", unsafe_innerHTML=f"<tr>{head}</tr>{''.join(rows)}",
                    style={"font-size": "13px", "border-collapse": "collapse"})
        line("The commodity each country's lost output comes from most (before any loss: the largest "
             "shortage share).", **{"font-size": "12px", "color": "#555"})


def decision_rows(model: CoercionModel) -> list[tuple[str, str, str, str, str]]:
    """Per state, its latest decision as (code, state, decision, week and date, reason): the target
    and the coercer first (with "no decision yet" before they decide), then every other state
    that has decided (FORGE, which decides as a coalition, under its own name), from
    :meth:`CoercionModel.latest_decisions`."""
    e, latest = model.eco, model.latest_decisions()
    first = [e.countries[e.target], e.countries[e.coercer]]
    rows = []
    for code in [*first, *sorted(c for c in latest if c not in first)]:
        country = model.config.world.countries.get(code)
        label = country.label if country is not None else f"{code} (coalition)"
        d = latest.get(code)
        if d is None:
            rows.append((code, label, "no decision yet", "", ""))
        else:
            rows.append((code, label, d["decision"], f"week {d['step']} ({d['date']})", d["reason"]))
    return rows


@solara.component
def DecisionsCard(model: ViewModel, week: int):
    """Each state's latest decision (of the chosen run): what, when and why."""
    with model.lock:
        rows = decision_rows(model)
    cell = 'style="padding: 2px 8px 2px 0; text-align: left; vertical-align: top"'
    body = "".join(f'<tr data-state="{escape(code)}">' + "".join(f"<td {cell}>{escape(c)}</td>" for c in cells)
                   + "</tr>" for code, *cells in rows)
    head = "".join(f"<th {cell}>{c}</th>" for c in ("state", "latest decision", "when", "why"))
    with solara.Column(style={**BOX, "gap": "4px"}, classes=["coercion-decisions"]):
        line(f"Latest decisions ({model.config.strategy.name})", **{"font-weight": "bold"})
        solara.HTML(tag="table", unsafe_innerHTML=f"<tr>{head}</tr>{body}",
                    style={"font-size": "12px", "border-collapse": "collapse"})
        line("Every decision, with the figures it weighed, goes to decisions.csv of a run.",
             **{"font-size": "12px", "color": "#555"})


@solara.component
def Glossary(model: ViewModel):
    """Commodity names and the terms the charts use."""
    world = model.config.world
    with solara.Column(style={**BOX, "gap": "4px"}):
        line("Glossary", **{"font-weight": "bold"})
        items = [f"<li><b>{escape(com)}</b>: {escape(full_name(world.commodities[com].label))}</li>"
                 for com in model.eco.commodities]
        items += [f"<li><b>{escape(term)}</b>: {escape(meaning)}</li>" for term, meaning in GLOSSARY]
        items.append("<li>The left column's <i>Reset</i> builds a new run from the settings, <i>Step</i> runs one "
                     "week, <i>&#9654;</i> plays to the end.</li>")
        solara.HTML(tag="ul", unsafe_innerHTML="".join(items), style={"font-size": "13px", "padding-left": "18px"})


BOX = {"border": "1px solid #ddd", "border-radius": "6px", "padding": "8px 10px", "font-size": "14px"}
GRID = {"display": "grid", "grid-template-columns": "minmax(0, 1fr) minmax(0, 1fr)", "gap": "10px",
        "align-items": "start", "width": "100%"}
TOP = {**GRID, "grid-template-columns": "minmax(0, 1fr) 270px"}


@solara.component
def Charts(model: ViewModel, commodity: str | None):
    """The page's main area: the loss chart and the Run card first (above the fold at 1024x768).

    The only component that listens to Mesa's ``update_counter`` (bumped after Step, Play
    and Reset): its children get the week as a prop, so one step is one render.
    """
    update_counter.get()
    week = model.t
    chart = charts.CHART
    with solara.Column(style={"padding": "8px", "gap": "10px", "width": "100%"}):
        with solara.Div(style=TOP):
            ChartView(model, chart["loss"], commodity, week)
            RunCard(model, week)
        with solara.Div(style=GRID):
            BindingCard(model, week)
            DecisionsCard(model, week)
            for name in ("escalation", "shortage", "stockpile", "price", "firms", "trade"):
                ChartView(model, chart[name], commodity, week)
            Glossary(model)


@solara.component
def View(model: ViewModel | solara.Reactive[ViewModel]):
    """The page around ``model``, or around the model a reactive value holds (Reset replaces it).

    Left column: Mesa's ModelController (Reset, Play, Step), the commodity shown, the run
    settings. Main area: :func:`Charts`. The settings start from the first model's config.
    """
    if not isinstance(model, solara.Reactive):
        model = solara.use_reactive(model)  # noqa: SH102 (as SolaraViz does)
    first = model.peek()
    controls = solara.use_reactive(solara.use_memo(lambda: initial_controls(first), dependencies=[]))
    commodity = solara.use_reactive(ALL_COMMODITIES)
    # Mesa's ModelController reads these as reactive values (SolaraViz shows them as sliders
    # and a checkbox, which this page does not: one week per Play step, drawn at once)
    play_interval = solara.use_reactive(PLAY_INTERVAL_MS)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)
    current = model.value
    names = {charts.commodity_label(current, c): c for c in current.eco.commodities}
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    # no solara.Sidebar: Solara's is at least 400 px wide, too much at 1024x768
    with solara.Div(style=PAGE):
        solara.Style(CSS)
        with solara.Column(style={"gap": "6px", "padding": "10px 4px 10px 12px"}, classes=["coercion-controls"]):
            ModelController(model, model_parameters=controls.value.kwargs(), play_interval=play_interval,
                            render_interval=render_interval, use_threads=use_threads)
            solara.Select("Commodity shown", values=[ALL_COMMODITIES, *names], value=commodity)
            ControlsCard(controls)
        Charts(current, names.get(commodity.value))


CSS = """
.coercion-controls .v-btn { min-width: 0 !important; padding: 0 14px !important; }
.coercion-controls .v-input__slider { margin-top: 0; }
"""
PAGE = {"display": "grid", "grid-template-columns": "240px minmax(0, 1fr)", "width": "100%", "align-items": "start"}
PLAY_INTERVAL_MS = 20  # pause between weeks while playing


def initial_kwargs() -> dict[str, Any]:
    """The first model's arguments: the config named by ``CONFIG_ENV`` (else the default), the
    strategy and compared strategy of ``STRATEGY_ENV`` and ``COMPARE_ENV``, the seed of ``SEED_ENV``."""
    kwargs: dict[str, Any] = {}
    config = os.environ.get(CONFIG_ENV)
    if config:
        path = Path(config).resolve()
        names = {p.resolve(): name for name, p in scenario_files().items()}
        kwargs["scenario_name"] = names.get(path, str(path))
    if os.environ.get(STEPS_ENV):
        kwargs["steps"] = int(os.environ[STEPS_ENV])
    if os.environ.get(SEED_ENV):
        kwargs["seed"] = int(os.environ[SEED_ENV])
    strategy = os.environ.get(STRATEGY_ENV) or None
    kwargs["strategy"] = strategy
    compare = os.environ.get(COMPARE_ENV)
    if compare is None:
        compare = default_compare(strategy or load_config(scenario_path(kwargs.get("scenario_name"))).strategy.name)
    kwargs["compare"] = None if compare in ("", NO_COMPARE) else compare
    return kwargs


# ------------------------------------------------------------------------------ sessions
#
# Each browser tab is a session (a Solara virtual kernel) with its own model. The session ends
# when its tab is closed (the page tells the server), or when its page has stayed disconnected
# for SOLARA_KERNEL_CULL_TIMEOUT (set by the server, see simulation.viz.server). Solara then
# closes the page's widgets and components, which hold the model. A Play loop, though, runs in
# a thread of its own and would step the model to the horizon, holding it meanwhile: so the
# session's end closes the model first, and then waits for it to be collected.

RELEASE_WAIT_S = 120.0  # how long a closed session's model is watched until it is collected
_releasing: list[tuple[weakref.ref, threading.Event, float]] = []  # (model, its kernel closed, watch until)
_release_lock = threading.Lock()
_releaser: threading.Thread | None = None


def open_session(model: solara.Reactive[ViewModel | None], **kwargs: Any) -> None:
    """Put a new session's model in ``model``: the value SolaraViz shows and Reset replaces.

    ``model`` starts empty (``use_reactive(None)``, not ``use_reactive(first_model)``, which
    would keep the first model alive, as the value it syncs from, after every Reset). Inside a
    Solara kernel, :func:`close_session` runs when the kernel closes.
    """
    model.value = ViewModel(**kwargs)
    if kernel_context.has_current_context():
        # held weakly: a closed kernel that something still holds must not hold the model through this
        holder, closed = weakref.ref(model), kernel_context.get_current_context().closed_event
        kernel_context.get_current_context().on_close(lambda: close_session(holder(), closed))


def close_session(model: solara.Reactive[ViewModel | None] | None, kernel_closed: threading.Event) -> None:
    """End a session (its kernel is closing): close its model, and watch it until it is collected."""
    current = None if model is None else model.peek()
    if current is None:
        return
    current.close()
    global _releaser
    with _release_lock:
        _releasing.append((weakref.ref(current), kernel_closed, time.monotonic() + RELEASE_WAIT_S))
        if _releaser is None:
            with kernel_context.without_context():  # else the thread would hold the closing kernel
                _releaser = threading.Thread(target=_release, name="coercion-view-release", daemon=True)
            _releaser.start()


def _release() -> None:
    """Collect closed sessions' models (they hold reference cycles) once their kernels have closed."""
    global _releaser
    while True:
        time.sleep(0.25)
        with _release_lock:
            ready = any(closed.is_set() for _, closed, _ in _releasing)
        if ready:
            gc.collect()
        with _release_lock:
            now = time.monotonic()
            _releasing[:] = [(ref, closed, until) for ref, closed, until in _releasing
                             if ref() is not None and now < until]
            if not _releasing:
                _releaser = None
                break
    trim_memory()


def trim_memory() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``; elsewhere nothing)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


@solara.component
def Page():
    """What ``solara`` serves: one model per browser session (see :func:`open_session`)."""
    model = solara.use_reactive(None)
    solara.use_memo(lambda: open_session(model, **initial_kwargs()), dependencies=[])
    return View(model)
