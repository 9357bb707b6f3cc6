"""Mesa's conventions on the model: keyword parameters and a ``mesa.DataCollector``.

A Mesa user builds the model from keywords (what ``mesa.batch_run`` passes)::

    CoercionModel(scenario="korea_coerced", strategy="stockpile_100", seed=3, steps=52,
                  escalation__after_script="endogenous", world__firms__scale=0.5)

Every keyword beyond ``scenario``, ``strategy``, ``seed`` and ``steps`` is a lever: a dotted
config path with ``__`` for each dot (``**{"world.firms.scale": 0.5}`` is the same lever).
Defaults stay in one place, the config: a keyword left out (or None) keeps the config's value.

The collector (:func:`datacollector`) reads what the step has already computed: the
recorder's series and the live state, so its values are the run tables' values. Its agent
reporters touch only the state agents (``agenttype_reporters`` keyed by
:class:`~simulation.agents.StateAgent`): the firms stay lazy. It costs about 10% of a week,
so a model given a Config (the runner, sweeps, the view) collects only with ``collect=True``;
a model built from keywords collects by default, as ``mesa.batch_run`` expects.

SolaraViz's Reset passes Mesa's own ``Scenario`` object as ``scenario``: under SolaraViz use
``simulation.viz.app.ViewModel`` (``scenario_name``), which is what ``simulation view`` runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mesa

from simulation.agents import StateAgent
from simulation.config import Config, configs_root, load_config

#: The keywords that are not levers.
RUN_KEYWORDS = ("scenario", "strategy", "seed", "steps")


def scenario_file(scenario: str | Path | None) -> Path | None:
    """A scenario name of ``configs/scenarios/`` (``"korea_coerced"``) or a config path.

    Args:
        scenario: the name or path; None: the default scenario (``load_config``'s).

    Returns:
        The file to load, or None for the default.

    Raises:
        TypeError: anything else (Mesa's own ``Scenario`` object, say).
    """
    if scenario is None:
        return None
    if not isinstance(scenario, str | Path):
        raise TypeError(f"scenario: a name or a path, not {type(scenario).__name__} "
                        "(under SolaraViz, use simulation.viz.app.ViewModel: Mesa's Reset passes its own Scenario)")
    named = configs_root() / "scenarios" / f"{scenario}.toml"
    return named if isinstance(scenario, str) and named.is_file() else Path(scenario)


def lever_path(keyword: str) -> str:
    """The dotted config path of a lever keyword: ``world__firms__scale`` -> ``world.firms.scale``."""
    return keyword.replace("__", ".")


def config_from_keywords(scenario: str | Path | None = None, strategy: str | None = None,
                         seed: int | None = None, steps: int | None = None, **levers: Any) -> Config:
    """Load and validate the config a keyword-built model runs.

    Args:
        scenario: a name under ``configs/scenarios/`` or a config path; None: the default.
        strategy: a strategy name of ``configs/strategies/`` or a file; None: the config's.
        seed: the root seed; None: the config's.
        steps: weeks to run; None: the config's horizon.
        **levers: dotted config paths with ``__`` for dots, and their values.

    Returns:
        The validated :class:`~simulation.config.Config`.

    Raises:
        ConfigError: an unknown scenario, strategy or key, or a bad value (one line).
    """
    params = {lever_path(k): v for k, v in levers.items()}
    return load_config(scenario_file(scenario), seed=None if seed is None else int(seed),
                       steps=None if steps is None else int(steps), strategy=strategy, params=params or None)


# ----------------------------------------------------------------------------- reporters
# Model reporters take the model; the recorder's row t-1 is the week just simulated.


def _last(model: mesa.Model, name: str, default: float = 0.0):
    n = model.recorder.n_recorded
    return model.recorder.series[name][n - 1] if n else default


def escalation_level(model: mesa.Model) -> int:
    """China's level on the escalation ladder (0 = calm)."""
    return int(model.signals.level)


def secondary_boycott(model: mesa.Model) -> bool:
    """Whether the secondary-boycott clause is in force."""
    return bool(model.signals.secondary_boycott)


def transshipped_t(model: mesa.Model) -> float:
    """Chinese-origin tonnes delivered to the target through hub traders last week."""
    return float(_last(model, "transshipped_t"))


def target_loss_pct_gdp(model: mesa.Model) -> float:
    """The target's value added lost last week, % of its annual GDP."""
    return model.states[model.config.scenario.target].loss_pct_gdp


def target_cum_loss_pct_gdp(model: mesa.Model) -> float:
    """The target's cumulative loss, % of its annual GDP (as ``cum_output_loss_pct_gdp``)."""
    return model.states[model.config.scenario.target].cum_loss_pct_gdp


def china_export_revenue_usd(model: mesa.Model) -> float:
    """China's export revenue last week at inside prices, USD (NaN before the first week)."""
    value = model.state.cn_export_usd
    return float("nan") if value is None else float(value)


MODEL_REPORTERS = {
    "escalation_level": escalation_level,
    "secondary_boycott": secondary_boycott,
    "transshipped_t": transshipped_t,
    "target_loss_pct_gdp": target_loss_pct_gdp,
    "target_cum_loss_pct_gdp": target_cum_loss_pct_gdp,
    "china_export_revenue_usd": china_export_revenue_usd,
}

#: State-agent reporters: attributes of :class:`~simulation.agents.StateAgent`.
STATE_REPORTERS = {
    "country": "code",
    "loss_pct_gdp": "loss_pct_gdp",
    "cum_loss_pct_gdp": "cum_loss_pct_gdp",
    "tightest_commodity": "tightest_commodity",
    "tightest_stockpile_days": "tightest_stockpile_days",
}


def datacollector() -> mesa.DataCollector:
    """A collector of :data:`MODEL_REPORTERS` and, per state agent, :data:`STATE_REPORTERS`.

    Returns:
        A ``mesa.DataCollector``; ``get_model_vars_dataframe()`` for the model reporters,
        ``get_agenttype_vars_dataframe(StateAgent)`` for the states.
    """
    return mesa.DataCollector(model_reporters=dict(MODEL_REPORTERS),
                              agenttype_reporters={StateAgent: dict(STATE_REPORTERS)})
