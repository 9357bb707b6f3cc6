"""The browser view: a Mesa SolaraViz page to watch an escalation unfold and ask "what if".

Open it with ``simulation view [CONFIG]`` (served offline by :mod:`simulation.viz.server`).
The page shows five charts (:mod:`simulation.viz.charts`) and a summary; the sidebar holds
SolaraViz's Step, Play and Reset buttons and the controls below. Reset builds a new
:class:`ViewModel` from the controls.

Controls: scenario, strategy, seed, and the levers in :data:`LEVERS`. Every default shown
is read from the config the page starts with (never written here), so Reset with untouched
controls rebuilds exactly that config. Changing the scenario or strategy keeps the lever
values shown; a stockpile target of 0 days leaves the scenario's and strategy's own target.
"""

from __future__ import annotations

import ctypes
import gc
import os
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets
import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter
from solara.server import kernel_context

from simulation.config import DEFAULT_SCENARIO, Config, configs_root, load_config
from simulation.model import CoercionModel
from simulation.viz import charts
from simulation.viz.server import CONFIG_ENV, STEPS_ENV

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
)  # slider labels are short (the sidebar is narrow); the summary card says what each one is


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
    seed = None if seed is None or str(seed).strip() == "" else int(str(seed).strip())
    base = load_config(path, seed=seed, steps=steps, strategy=strategy)
    params = lever_params(base, levers)
    return load_config(path, seed=seed, steps=steps, strategy=strategy, params=params) if params else base


class ViewModel(CoercionModel):
    """A :class:`CoercionModel` built from the page's controls (what Reset calls).

    Args:
        scenario_name: a scenario of ``configs/scenarios/`` or a config path; None: the
            default scenario (not ``scenario``: Mesa's Model owns that name).
        strategy: a strategy of ``configs/strategies/``; None: the config's own.
        seed: the run's seed (text from the page is accepted); None: the config's.
        approval_probability: licence approval probability of the first dual-use export
            control for all end uses; None: as configured.
        boycott_enforcement: enforcement of the first secondary-boycott measure; None: as
            configured.
        stockpile_target_days: the target state's stockpile target, days of use, all
            commodities; None or 0: as configured.
        steps: weeks to run; None: the scenario's horizon.
    """

    def __init__(self, scenario_name: str | None = None, strategy: str | None = None, seed: int | str | None = None,
                 approval_probability: float | None = None, boycott_enforcement: float | None = None,
                 stockpile_target_days: float | None = None, steps: int | None = None):
        self.scenario_name = scenario_name if scenario_name is not None else Path(DEFAULT_SCENARIO).stem
        config = view_config(scenario_name, strategy, seed, steps, approval_probability=approval_probability,
                             boycott_enforcement=boycott_enforcement, stockpile_target_days=stockpile_target_days)
        super().__init__(config)
        self.closed = False

    def step(self) -> None:
        """One week, as :meth:`CoercionModel.step`; nothing once :meth:`close` has been called."""
        if self.closed:
            self.running = False
            return
        super().step()

    def close(self) -> None:
        """Its page's session has ended: step no more (a Play loop still running stops at its next step)."""
        self.closed = True
        self.running = False


def model_params(model: ViewModel) -> dict[str, Any]:
    """SolaraViz's ``model_params``: the controls, with defaults read from ``model.config``."""
    cfg = model.config
    scenarios = list(scenario_files())
    if model.scenario_name not in scenarios:
        scenarios.append(model.scenario_name)
    strategies = strategy_names()
    if cfg.strategy.name not in strategies:
        strategies.append(cfg.strategy.name)
    params: dict[str, Any] = {
        "scenario_name": {"type": "Select", "label": "Scenario", "value": model.scenario_name, "values": scenarios},
        "strategy": {"type": "Select", "label": "Strategy", "value": cfg.strategy.name, "values": strategies},
        "seed": {"type": "InputText", "label": "Seed", "value": str(cfg.run.seed)},
    }
    for lever in LEVERS:
        value = lever_value(cfg, lever)
        if value is None:  # this ladder has no such measure
            continue
        params[lever.name] = {"type": "SliderFloat", "label": lever.label, "value": float(value),
                              "min": lever.min, "max": max(lever.max, value), "step": lever.step}
    if cfg.run.steps is not None:
        params["steps"] = cfg.run.steps  # fixed: not a control
    return params


# --------------------------------------------------------------------------- components


@solara.component
def Chart(model: CoercionModel, draw):
    """One chart as a PNG image, redrawn when the model steps or is replaced."""
    update_counter.get()  # SolaraViz bumps it after Step, Play and Reset
    data = solara.use_memo(lambda: charts.png(draw(model)), dependencies=[model, model.t])
    return ipywidgets.Image.element(value=data, format="png",
                                    layout=ipywidgets.Layout(max_height="380px", width="auto"))


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
                lines.append(f"{label} = 0: as configured (none set: the starting stock is the target)")
                continue
            where = ""
        else:
            label = lever.label
            where = f" (from level '{config.escalation.levels[find_measure(config, lever)[0]].name}')"
        lines.append(f"{label} = {value:g}: {lever.what}{where}")
    return lines


def chart_component(draw):
    """A SolaraViz component (a function of the model) for one chart of :mod:`charts`."""

    def component(model):
        return Chart(model, draw)

    component.__name__ = draw.__name__
    return component


@solara.component
def Summary(model: CoercionModel):
    """What is running and where it stands, in words."""
    update_counter.get()
    cfg, e, rec, t = model.config, model.eco, model.recorder, model.t
    target = e.target
    gdp = cfg.world.countries[e.countries[target]].gdp_lcu_per_year
    loss = rec.series["output_loss"][:t, target].sum() / gdp * 100.0
    lines = [
        f"Scenario {cfg.scenario.name}, strategy {cfg.strategy.name}, seed {cfg.run.seed}",
        f"Week {t} of {cfg.n_steps} ({cfg.date_of(t).isoformat()})",
        f"China's level {model.level}: {model.stage}",
        f"Target {e.countries[target]}: cumulative output loss {loss:.3f}% of GDP",
        *describe_levers(cfg),
    ]
    with solara.Column(style={"padding": "12px"}):
        solara.Text("Run", style={"font-weight": "bold"})
        for line in lines:
            solara.Text(line)


COMPONENTS = [(chart_component(draw), 0) for draw in charts.CHARTS] + [(Summary, 0)]


@solara.component
def View(model: ViewModel | solara.Reactive[ViewModel]):
    """The SolaraViz page around ``model``, or around the model a reactive value holds (Reset replaces it).

    The controls' defaults are read from the first model's config.
    """
    first = model.peek() if isinstance(model, solara.Reactive) else model
    params = solara.use_memo(lambda: model_params(first), dependencies=[model])
    return SolaraViz(model, components=COMPONENTS, model_params=params, name=TITLE)


def initial_kwargs() -> dict[str, Any]:
    """The first model's arguments: the config named by ``CONFIG_ENV`` (else the default)."""
    kwargs: dict[str, Any] = {}
    config = os.environ.get(CONFIG_ENV)
    if config:
        path = Path(config).resolve()
        names = {p.resolve(): name for name, p in scenario_files().items()}
        kwargs["scenario_name"] = names.get(path, str(path))
    if os.environ.get(STEPS_ENV):
        kwargs["steps"] = int(os.environ[STEPS_ENV])
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
