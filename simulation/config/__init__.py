"""The validated configuration: scenario + world + escalation ladder + strategy + run settings.

``schema`` holds the tables (every default of the model, once), ``loading`` reads and
writes config files (includes, strategies, overrides), ``checks`` the checks across tables,
``dotted`` dotted-path overrides and ``errors`` the one-line :class:`ConfigError`. The
names below are those the rest of the code imports from ``simulation.config``.
"""

from simulation.config.checks import SHARE_TOLERANCE, check_config
from simulation.config.dotted import get_dotted, set_dotted
from simulation.config.errors import ConfigError, validation_error
from simulation.config.loading import (
    DEFAULT_SCENARIO,
    PACKAGE_ROOT,
    PROJECT_CONFIGS,
    config_from_dict,
    config_to_dict,
    configs_root,
    dump_config,
    find_strategy,
    load_config,
)
from simulation.config.schema import (
    Commodity,
    Config,
    Country,
    CountryCommodity,
    Diversification,
    Escalation,
    Firms,
    Forge,
    Investment,
    Level,
    Market,
    Measure,
    MeasureKind,
    NonNeg,
    Output,
    Policy,
    PolicyLevers,
    Positive,
    Project,
    RunSettings,
    Scenario,
    ScriptEvent,
    Sector,
    Share,
    Strategy,
    Strict,
    Transshipment,
    World,
)

__all__ = [
    "DEFAULT_SCENARIO", "PACKAGE_ROOT", "PROJECT_CONFIGS", "SHARE_TOLERANCE",
    "Commodity", "Config", "ConfigError", "Country", "CountryCommodity", "Diversification", "Escalation", "Firms",
    "Forge", "Investment", "Level", "Market", "Measure", "MeasureKind", "NonNeg", "Output", "Policy",
    "PolicyLevers", "Positive", "Project", "RunSettings", "Scenario", "ScriptEvent", "Sector", "Share",
    "Strategy", "Strict", "Transshipment", "World",
    "check_config", "config_from_dict", "config_to_dict", "configs_root", "dump_config", "find_strategy",
    "get_dotted", "load_config", "set_dotted", "validation_error",
]
