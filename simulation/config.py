"""The validated configuration: scenario + world + escalation ladder + strategy + run settings.

Every default of the model lives in this module, once. A config file is TOML; it may pull
in other files with a top-level ``include = "path"`` (or a list of paths: deep-merged, the
including file wins) and may name its strategy by name (``strategy = "baseline"``, looked
up in ``configs/strategies/``). :func:`load_config` resolves all of that into one
:class:`Config`; :func:`dump_config` writes the fully resolved form, which loads back to an
identical config (``simulation run runs/X/config.toml`` reproduces run X).

Units are in the key names (``_t_per_year``, ``_usd_per_t``, ``_days``, ``_weeks``,
``_share``); ``source`` keys beside the numbers say where they come from.
"""

from __future__ import annotations

import difflib
import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

SHARE_TOLERANCE = 1e-6
PACKAGE_ROOT = Path(__file__).resolve().parent
PROJECT_CONFIGS = PACKAGE_ROOT.parent / "configs"
DEFAULT_SCENARIO = "configs/scenarios/japan_2026.toml"

NonNeg = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]


class ConfigError(Exception):
    """A bad config: one line naming the file, the key path and the problem."""

    def __init__(self, file: str | Path | None, key: str, problem: str):
        self.file = str(file) if file is not None else "<config>"
        self.key = key
        self.problem = problem
        super().__init__(f"{self.file}: {key}: {problem}" if key else f"{self.file}: {problem}")


class Strict(BaseModel):
    """Base for all config tables: unknown keys are errors, assignment is validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# --------------------------------------------------------------------------- world


class Commodity(Strict):
    """A critical mineral or dual-use material, traded in tonnes."""

    label: str
    price_usd_per_t: Positive
    capacity_t_per_year: dict[str, NonNeg] = Field(
        description="Refined (processing) capacity by producing country, t/yr."
    )
    mining_share: dict[str, Share] = Field(
        default_factory=dict, description="Share of world mine output by country (information)."
    )
    china_price_discount_share: Share = Field(
        0.0, description="Price inside China below the world price in calm."
    )
    price_flexibility: NonNeg = Field(
        2.0, description="Price elasticity of the tightness ratio: p/p0 = (R/R0)**flex."
    )
    price_adjustment_share_per_week: Share = Field(
        0.5, description="Share of the gap to the market-clearing price closed each week."
    )
    price_cap_multiple: Positive = Field(
        20.0, description="Price ceiling as a multiple of the calm price (demand destruction)."
    )
    dual_use: bool = Field(True, description="In the scope of dual-use export controls.")
    rare_earth: bool = False
    substitutability_share: Share = Field(
        0.3, description="Largest long-run cut in material per unit of output (thrift, alternatives)."
    )
    substitution_share_per_year: Share = Field(
        0.10, description="Fastest cut per year under price pressure (Sprecher et al. 2017: ~10%/yr)."
    )
    recyclability_share: Share = Field(
        0.3, description="Share of a country's use that becomes recoverable scrap."
    )
    source: str = ""


class Sector(Strict):
    """A manufacturing sector and how critical each input is to its output."""

    label: str
    criticality: dict[str, Share] = Field(
        description="Per commodity used: share of output lost per unit share of the input "
        "missing (1 = binding Leontief input, 0 = fully substitutable)."
    )
    source: str = ""


class CountryCommodity(Strict):
    """A consuming country's use of one commodity."""

    demand_t_per_year: NonNeg
    import_shares: dict[str, Share] = Field(
        description="Origin of supply by producing country (own country = domestic); sums to 1."
    )
    via_hub_share: Share = Field(
        0.0, description="Share of Chinese-origin supply bought through transit-hub traders."
    )
    inventory_days: NonNeg = Field(30.0, description="Firms' private inventory target, days of use.")
    stockpile_days: NonNeg = Field(0.0, description="State stockpile at the start, days of use.")
    recycled_share: Share = Field(0.0, description="Recycling capacity at the start, share of use.")
    source: str = ""


class Policy(Strict):
    """A state's policy levers. Strategies override these, per state."""

    stockpile_target_days: NonNeg | None = Field(
        None, description="State stockpile target in days of use, all commodities; None keeps "
        "the starting stock as the target."
    )
    stockpile_target_days_by_commodity: dict[str, NonNeg] = Field(default_factory=dict)
    stockpile_target_date: date | None = Field(
        None, description="Date by which the target is reached (linear build); None: refill at "
        "the refill rate."
    )
    stockpile_refill_share_per_week: Share = Field(
        0.02, description="Share of the gap to target bought per week in calm."
    )
    stockpile_refill_max_price_multiple: Positive = Field(
        1.5, description="No refill while the outside price exceeds this multiple of calm."
    )
    stockpile_release_trigger_days: NonNeg = Field(
        20.0, description="Release when firms' inventory cover falls below this many days."
    )
    stockpile_max_release_share_per_week: Share = Field(
        0.10, description="At most this share of the stockpile is released per week."
    )
    stockpile_holding_cost_share_per_year: NonNeg = Field(
        0.03, description="Holding cost per year as a share of the stock's value."
    )
    recycling_target_share: Share | None = Field(
        None, description="Recycling capacity target, share of use, every commodity (None: keep)."
    )
    recycling_target_date: date | None = Field(None, description="Date the recycling target is reached.")
    recycling_capex_price_multiple: NonNeg = Field(
        1.0, description="Cost of 1 t/yr of recycling capacity, in years of output value at calm prices."
    )
    dependence_ceiling_share: Share | None = Field(
        None, description="Ceiling on the Chinese-origin share of firms' receipts, every commodity (None: none)."
    )
    dependence_ceiling_by_commodity: dict[str, Share] = Field(
        default_factory=dict, description="Ceilings for named commodities (override the one above)."
    )
    dependence_ceiling_date: date | None = Field(
        None, description="The ceiling tightens linearly from 100% at the start to its level on this date."
    )
    diversification_subsidy_share: Share = Field(
        0.0, description="Tax incentive: share of the premium for non-Chinese supply paid by the state; "
        "slows the drift back to China in calm by the same share."
    )
    forge_offtake_share: Share = Field(
        0.0, description="Share of sourcing held with FORGE-member origins (offtake), no drift back."
    )
    substitution_boost: NonNeg = Field(
        0.0, description="R&D for alternatives: substitution pace and reach times (1 + boost)."
    )
    substitution_rd_usd_per_year: NonNeg = Field(0.0, description="Yearly cost of that R&D programme.")
    source: str = ""


class Country(Strict):
    """A state (or a group of states) with its economy, its firms and its policy."""

    label: str
    currency: str
    gdp_lcu_per_year: Positive
    lcu_per_usd: Positive
    employment: Positive
    forge_member: bool = False
    transit_hub: bool = False
    n_manufacturers: Annotated[int, Field(ge=0)] = 0
    n_traders_per_commodity: Annotated[int, Field(ge=0)] = 0
    sector_va_share_gdp: dict[str, Share] = Field(
        default_factory=dict,
        description="Value added exposed to critical inputs, by sector, share of GDP.",
    )
    commodities: dict[str, CountryCommodity] = Field(default_factory=dict)
    policy: Policy = Field(default_factory=Policy)
    source: str = ""


class Firms(Strict):
    """How the firm population is drawn."""

    scale: Positive = Field(1.0, description="Multiplies every firm count.")
    producers_per_commodity: Positive = Field(
        40.0, description="Producers of a commodity worldwide, split by capacity share."
    )
    size_sigma: NonNeg = Field(1.0, description="Log-normal dispersion of firm sizes.")
    sourcing_concentration: Positive = Field(
        20.0, description="Dirichlet concentration of a firm's origin mix around its country's."
    )
    min_edge_share: Share = Field(0.02, description="Smaller supplier shares are dropped.")
    inventory_days_sigma: NonNeg = Field(0.3, description="Log-normal dispersion of inventory days.")
    inventory_days_scale: Positive = Field(
        1.0, description="Multiplies every firm's inventory target days (a calibration parameter: firms' "
        "inventories are the least documented input)."
    )
    military_share: Share = Field(
        0.05, description="Share of manufacturers that are military end users."
    )


class Market(Strict):
    """Orders, shipping and spot-market settings."""

    lead_weeks: Annotated[int, Field(ge=1, le=26)] = Field(3, description="Direct shipping time.")
    hub_extra_lead_weeks: Annotated[int, Field(ge=0, le=26)] = Field(
        2, description="Extra shipping time through a transit hub."
    )
    spot_lead_weeks: Annotated[int, Field(ge=1, le=26)] = Field(
        4, description="Shipping time of spot purchases."
    )
    order_adjust_weeks: Positive = Field(
        4.0, description="Weeks over which firms close their inventory gap."
    )


class Output(Strict):
    """How shortages turn into lost output and jobs."""

    induced_multiplier: Positive = Field(
        1.0, description="Lost value added per unit of directly lost value added (I-O links)."
    )
    employment_elasticity: NonNeg = Field(
        1.0, description="% jobs lost per % output lost, over the weeks of loss."
    )
    leontief_share: Share = Field(
        0.0, description="Moves every input's criticality toward 1 (1 = fixed coefficients, no substitution "
        "in production)."
    )
    shortage_threshold_share: Share = Field(
        0.01, description="A country-week counts as 'in shortage' above this shortage share."
    )


class Diversification(Strict):
    """How firms re-source after disruption and drift back in calm."""

    shift_share_per_week: Share = Field(
        0.04, description="Share of a disrupted position's Chinese sourcing moved per week at full disruption."
    )
    drift_share_per_week: Share = Field(
        0.01, description="Share of the gap back to the cheapest (calm) sourcing closed per week in calm."
    )
    calm_weeks: Annotated[int, Field(ge=0)] = Field(12, description="Weeks without disruption before drifting.")
    memory_weeks: Positive = Field(8.0, description="Time constant of a firm's memory of disruption.")
    ceiling_share_per_week: Share = Field(
        0.05, description="Share of the excess over a dependence ceiling moved per week."
    )


class Transshipment(Strict):
    """Rerouting through transit-hub traders and China's detection of it."""

    markup_share: NonNeg = Field(0.15, description="Premium over the outside price paid via a hub.")
    adoption_share_per_week: Share = Field(
        0.15, description="Share of the gap to full rerouting closed per week by a blocked buyer."
    )
    max_reroute_share: Share = Field(
        0.6, description="Most of a blocked buyer's Chinese orders it tries to send through hubs."
    )
    detection_base_per_week: Share = Field(
        0.02, description="Weekly detection probability of a trader at full enforcement, normal exports."
    )
    detection_anomaly_weight: NonNeg = Field(
        0.05, description="Added detection probability per unit of export anomaly (x history - 1)."
    )
    history_weeks: Positive = Field(26.0, description="Time constant of a trader's export history.")


class Project(Strict):
    """A dated new-supply project (capacity outside China)."""

    name: str
    commodity: str
    country: str
    capacity_t_per_year: Positive
    online_date: date
    ramp_weeks: Annotated[int, Field(ge=0)] = 52
    capex_usd: NonNeg = 0.0
    source: str = ""


class Investment(Strict):
    """Price-driven investment in non-Chinese capacity."""

    price_threshold_multiple: Positive = Field(1.3, description="Invest while price / calm price exceeds this.")
    response_share_per_year: NonNeg = Field(
        0.04, description="Capacity started per year, share of world capacity, at twice the threshold "
        "(Sprecher et al. 2017: non-Chinese output grew ~4% of market volume a year)."
    )
    lead_weeks: Annotated[int, Field(ge=1)] = Field(
        260, description="Decision to output (new mines up to ~7 years, Argonne 2021)."
    )
    max_share: Share = Field(0.5, description="Cap on price-driven capacity, share of world capacity.")


class Forge(Strict):
    """FORGE: price floors for members, tariffs on non-member minerals."""

    price_floor_multiple: NonNeg = Field(
        0.9, description="Members' producers are paid at least this multiple of the calm price: their "
        "investment decisions see max(price, floor)."
    )
    tariff_share: NonNeg = Field(
        0.1, description="Tariff members put on non-member minerals: cuts China's price edge in calm."
    )


class World(Strict):
    """Everything that exists: commodities, countries, sectors, firms, market rules."""

    commodities: dict[str, Commodity]
    countries: dict[str, Country]
    sectors: dict[str, Sector]
    firms: Firms = Field(default_factory=Firms)
    market: Market = Field(default_factory=Market)
    output: Output = Field(default_factory=Output)
    diversification: Diversification = Field(default_factory=Diversification)
    transshipment: Transshipment = Field(default_factory=Transshipment)
    investment: Investment = Field(default_factory=Investment)
    forge: Forge = Field(default_factory=Forge)
    projects: list[Project] = Field(default_factory=list)
    source: str = ""


# ---------------------------------------------------------------------- escalation

MeasureKind = Literal["export_control", "secondary_boycott", "trade_ban"]
Scope = Literal["all", "dual_use", "rare_earths"]


class Measure(Strict):
    """One measure of a ladder level.

    ``export_control``: Chinese-origin exports of ``commodities`` to the target need a
    licence. Military end users get ``military_approval_probability``; other end users get
    ``approval_probability`` when ``end_use = "all"`` and are not controlled when
    ``end_use = "military"``. A decision takes ``delay_weeks`` on average.
    ``secondary_boycott``: third-country re-exporters of Chinese-origin items to the target
    become liable (see the transshipment mechanism).
    ``trade_ban``: a non-mineral measure (tourism, culture, seafood) costing the target
    ``target_loss_share_gdp_per_year`` of GDP a year while in force.
    """

    kind: MeasureKind
    commodities: Scope | list[str] = "dual_use"
    end_use: Literal["military", "all"] = "all"
    approval_probability: Share = 1.0
    military_approval_probability: Share = 0.0
    delay_weeks: NonNeg = 0.0
    license_validity_weeks: Positive = 26.0
    enforcement: Share = Field(0.0, description="Secondary-boycott enforcement intensity.")
    target_loss_share_gdp_per_year: NonNeg = 0.0
    label: str = ""
    source: str = ""


class Level(Strict):
    """A rung of the ladder: its measures add to those of the rungs below."""

    name: str
    label: str = ""
    measures: list[Measure] = Field(default_factory=list)


class ScriptEvent(Strict):
    """A dated move on the ladder."""

    date: date
    level: Annotated[int, Field(ge=0)]
    note: str = ""
    source: str = ""


class Escalation(Strict):
    """China's ladder and how it moves on it."""

    mode: Literal["scripted", "endogenous"] = "scripted"
    after_script: Literal["hold", "endogenous"] = Field(
        "hold", description="What follows the last scripted move."
    )
    levels: list[Level]
    script: list[ScriptEvent] = Field(default_factory=list)
    escalation_hazard_per_week: Share = Field(
        0.08, description="Chance per week that China climbs a level while the target refuses."
    )
    min_weeks_per_level: Annotated[int, Field(ge=1)] = 4
    max_level: Annotated[int, Field(ge=0)] | None = Field(None, description="Highest level (None: top).")
    target_resolve_pct_gdp: NonNeg = Field(
        3.0, description="The target concedes when its loss rate (annualized, % of GDP) exceeds this."
    )
    resolve_noise_share: NonNeg = Field(0.3, description="Weekly noise on resolve (log-normal sigma).")
    pain_window_weeks: Annotated[int, Field(ge=1)] = 8
    china_cost_tolerance_share: Share = Field(
        0.25, description="China steps down when its cost index exceeds this (see escalation)."
    )
    deescalation_hazard_per_week: Share = Field(0.15, description="Chance per week of stepping down then.")
    market_share_weight: NonNeg = Field(
        2.0, description="Weight of world market share lost to non-Chinese supply in China's cost index."
    )


# ------------------------------------------------------------------ scenario & run


class Scenario(Strict):
    name: str
    description: str = ""
    start_date: date = date(2025, 11, 7)
    horizon_weeks: Annotated[int, Field(ge=1, le=2600)] = 156
    coercer: str = "CN"
    target: str = "JP"
    source: str = ""


PolicyLevers = create_model(
    "PolicyLevers",
    __base__=Strict,
    **{name: (f.annotation | None, None) for name, f in Policy.model_fields.items()},
)


class Strategy(Strict):
    """Levers per state on top of the world's current policy; baseline changes nothing."""

    name: str = "baseline"
    description: str = ""
    levers: dict[str, PolicyLevers] = Field(default_factory=dict)  # type: ignore[valid-type]
    projects: list[Project] = Field(default_factory=list, description="New supply the strategy finances.")
    source: str = ""


class RunSettings(Strict):
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    steps: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Weeks to run; None runs the scenario's horizon."
    )


class Config(Strict):
    """The one validated object a model is built from."""

    scenario: Scenario
    world: World
    escalation: Escalation
    strategy: Strategy = Field(default_factory=Strategy)
    run: RunSettings = Field(default_factory=RunSettings)

    # ---- derived, read-only helpers
    @property
    def n_steps(self) -> int:
        return self.run.steps if self.run.steps is not None else self.scenario.horizon_weeks

    def date_of(self, step: int) -> date:
        """Calendar date of the first day of week ``step`` (step 0 starts on start_date)."""
        return self.scenario.start_date + timedelta(weeks=step)

    def step_of(self, day: date) -> int:
        """The step whose week contains ``day``."""
        return (day - self.scenario.start_date).days // 7

    @property
    def projects(self) -> list[Project]:
        """The world's dated projects plus those the strategy finances."""
        return list(self.world.projects) + list(self.strategy.projects)

    def ceiling_of(self, country: str, commodity: str) -> float | None:
        """The dependence ceiling on a commodity in a country, or None."""
        pol = self.policy_of(country)
        return pol.dependence_ceiling_by_commodity.get(commodity, pol.dependence_ceiling_share)

    def policy_of(self, country: str) -> Policy:
        """The world's policy for a country with the strategy's levers applied."""
        base = self.world.countries[country].policy
        levers = self.strategy.levers.get(country)
        if levers is None:
            return base
        changes = levers.model_dump(exclude_none=True)
        return base.model_copy(update=changes)


# --------------------------------------------------------------------- loading


def _deep_merge(base: dict, top: dict, prov: dict, top_file: str, path: tuple = ()) -> dict:
    out = dict(base)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v, prov, top_file, path + (k,))
        else:
            out[k] = v
            prov[path + (k,)] = top_file
    return out


def _record(data: Any, prov: dict, file: str, path: tuple = ()) -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            prov[path + (k,)] = file
            _record(v, prov, file, path + (k,))


def _read_toml(path: Path, referrer: str | None, key: str) -> dict:
    if not path.is_file():
        where = referrer or str(path)
        raise ConfigError(where, key, f"file not found: {path}")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"malformed TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read: {exc.strerror}") from None


def _load_with_includes(path: Path, prov: dict, seen: tuple = ()) -> dict:
    data = _read_toml(path, seen[-1] if seen else None, "include" if seen else "")
    includes = data.pop("include", [])
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ConfigError(path, "include", "must be a path or a list of paths")
    merged: dict = {}
    for inc in includes:
        inc_path = (path.parent / inc).resolve()
        if inc_path in seen:
            raise ConfigError(path, "include", f"circular include of {inc}")
        if not inc_path.is_file():
            raise ConfigError(path, "include", f"file not found: {inc}")
        sub = _load_with_includes(inc_path, prov, seen + (str(path),))
        merged = _deep_merge(merged, sub, prov, str(inc_path))
    _record(data, prov, str(path))
    return _deep_merge(merged, data, prov, str(path))


def configs_root(config_file: Path | None = None) -> Path:
    """The ``configs/`` folder a config file lives under, else the project's."""
    if config_file is not None:
        for parent in Path(config_file).resolve().parents:
            if parent.name == "configs":
                return parent
    cwd_configs = Path.cwd() / "configs"
    return cwd_configs if cwd_configs.is_dir() else PROJECT_CONFIGS


def find_strategy(name: str, config_file: Path | None = None) -> Path | None:
    """Locate a strategy file from a name (``stockpile_100``) or a path."""
    candidates = [Path(name)]
    if config_file is not None:
        candidates.append(Path(config_file).parent / name)
    stem = name if name.endswith(".toml") else f"{name}.toml"
    candidates += [configs_root(config_file) / "strategies" / stem, PROJECT_CONFIGS / "strategies" / stem]
    return next((c for c in candidates if c.is_file()), None)


def _format_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _field_names_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Known keys of the table that holds ``loc[-1]`` (for 'did you mean')."""
    ann: Any = model
    for part in loc[:-1]:
        ann = _unwrap(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            field = ann.model_fields.get(part)
            if field is None:
                return []
            ann = field.annotation
        elif get_origin(ann) in (dict, list):
            ann = get_args(ann)[-1]  # a dict key or a list index: step into the value type
        else:
            return []
    ann = _unwrap(ann)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return list(ann.model_fields)
    return []


def _unwrap(ann: Any) -> Any:
    """Strip Optional/Annotated/unions down to a model, dict or list type."""
    while True:
        origin = get_origin(ann)
        if origin in (dict, list):
            return ann
        args = [a for a in get_args(ann) if a is not type(None)]
        if origin is None or not args:
            return ann
        candidates = [a for a in args if (isinstance(a, type) and issubclass(a, BaseModel))
                      or get_origin(a) in (dict, list)]
        ann = candidates[0] if candidates else args[0]


def validation_error(exc: ValidationError, prov: dict, default_file: str,
                     model: type[BaseModel] | None = None) -> ConfigError:
    """The first error of a validation as one line: the file that set the key (``prov``:
    key path -> file; else ``default_file``), the key, the problem; unknown keys get a
    'did you mean' among the keys of ``model`` (default :class:`Config`) at that place."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    # drop pydantic's union-branch tags (e.g. 'list[str]', 'literal[...]')
    loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in ("str",))))
    key = _format_loc(loc)
    file = default_file
    for n in range(len(loc), 0, -1):
        if loc[:n] in prov:
            file = prov[loc[:n]]
            break
    kind = err["type"]
    if kind == "extra_forbidden":
        known = _field_names_at(model or Config, loc)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        problem = "unknown key" + (f" (did you mean '{close[0]}'?)" if close else "")
    elif kind == "missing":
        problem = "missing required key"
    else:
        value = err.get("input")
        problem = err["msg"].removeprefix("Value error, ")  # a validator's own words
        if not (kind == "value_error" and isinstance(value, dict | list)):  # not about a whole table
            problem += f" (got {repr(value) if not isinstance(value, dict | list) else type(value).__name__})"
    more = len(exc.errors()) - 1
    if more:
        problem += f" (and {more} more error{'s' if more > 1 else ''})"
    return ConfigError(_rel(file), key, problem)


def _rel(file: str | Path) -> str:
    p = Path(file)
    try:
        return str(p.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def _list_index(items: list, part: str, dotted: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise ConfigError(None, dotted, f"'{part}' is not an index of a list of {len(items)}")
    return int(part)


def set_dotted(data: dict, dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in nested dicts (creating tables), for parameter overrides.

    A whole-number part indexes an existing list item, e.g.
    ``escalation.levels.5.measures.0.approval_probability``.
    """
    parts = dotted.split(".")
    cur: Any = data
    for p in parts[:-1]:
        if isinstance(cur, list):
            nxt = cur[_list_index(cur, p, dotted)]
        else:
            nxt = cur.get(p)
            if nxt is None:
                nxt = cur[p] = {}
        if not isinstance(nxt, dict | list):
            raise ConfigError(None, dotted, f"'{p}' is not a table")
        cur = nxt
    if isinstance(cur, list):
        cur[_list_index(cur, parts[-1], dotted)] = value
    else:
        cur[parts[-1]] = value


def get_dotted(config: Config | dict, dotted: str) -> Any:
    """Read ``a.b.c`` from a config or its dict: fields, dict keys, list items by index
    (as :func:`set_dotted` writes them). Raises ``KeyError(part)`` at the first part not found."""
    cur: Any = config
    for p in dotted.split("."):
        if isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        elif isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, BaseModel) and p in type(cur).model_fields:
            cur = getattr(cur, p)
        else:
            raise KeyError(p)
    return cur


def load_config(
    path: str | Path | None = None,
    *,
    seed: int | None = None,
    steps: int | None = None,
    strategy: str | Path | None = None,
    params: dict[str, Any] | None = None,
) -> Config:
    """Load, resolve and validate a config file.

    Args:
        path: a scenario or resolved config (TOML). Defaults to
            ``configs/scenarios/japan_2026.toml``.
        seed: overrides ``run.seed``.
        steps: overrides ``run.steps`` (weeks).
        strategy: a strategy name or file, replacing the config's strategy.
        params: dotted-path overrides, e.g. ``{"world.output.induced_multiplier": 1.5}``.

    Returns:
        The validated :class:`Config`.

    Raises:
        ConfigError: one line naming the file, the key path and the problem.
    """
    if path is None:
        path = Path(DEFAULT_SCENARIO)
        if not path.is_file():
            path = PROJECT_CONFIGS / "scenarios" / "japan_2026.toml"
    path = Path(path)
    if not path.is_file():
        raise ConfigError(path, "", "file not found")
    prov: dict = {}
    data = _load_with_includes(path.resolve(), prov)
    file = _rel(path)

    strat_ref = strategy if strategy is not None else data.get("strategy", "baseline")
    if isinstance(strat_ref, str | Path):
        found = find_strategy(str(strat_ref), path)
        if found is None:
            key = "--strategy" if strategy is not None else "strategy"
            raise ConfigError(file, key, f"unknown strategy '{strat_ref}' (no file in configs/strategies/)")
        sdata = _read_toml(found, file, "strategy")
        data["strategy"] = sdata
        _record(sdata, prov, str(found), ("strategy",))
        prov[("strategy",)] = str(found)
    run = data.setdefault("run", {})
    if not isinstance(run, dict):
        raise ConfigError(file, "run", "must be a table")
    if seed is not None:
        run["seed"] = seed
    if steps is not None:
        run["steps"] = steps
    for dotted, value in (params or {}).items():
        set_dotted(data, dotted, value)
        prov[tuple(int(p) if p.isdigit() else p for p in dotted.split("."))] = "<override>"
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, prov, str(path)) from None
    check_config(config, file, prov)
    return config


def config_from_dict(data: dict, file: str = "<config>") -> Config:
    """Validate an already-resolved config dict (as written by :func:`dump_config`)."""
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, {}, file) from None
    check_config(config, file, {})
    return config


def config_to_dict(config: Config) -> dict:
    return config.model_dump(mode="python", exclude_none=True)


def dump_config(config: Config, path: str | Path) -> None:
    """Write the fully resolved config as TOML (loads back to an identical config)."""
    with Path(path).open("wb") as fh:
        tomli_w.dump(config_to_dict(config), fh)


# ----------------------------------------------------------------- cross checks


def check_config(cfg: Config, file: str, prov: dict | None = None) -> None:
    """Checks that span tables: names that must exist, shares, dates, horizon."""
    prov = prov or {}

    def fail(key: str, problem: str) -> None:
        loc = tuple(key.replace("[", ".[").split("."))
        src = file
        for n in range(len(loc), 0, -1):
            if loc[:n] in prov:
                src = _rel(prov[loc[:n]])
                break
        raise ConfigError(src, key, problem)

    w = cfg.world
    countries, commodities, sectors = set(w.countries), set(w.commodities), set(w.sectors)

    def known(kind: str, names: set, value: str, key: str) -> None:
        if value not in names:
            close = difflib.get_close_matches(value, sorted(names), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            fail(key, f"unknown {kind} '{value}'{hint}")

    for c, com in w.commodities.items():
        for k in com.capacity_t_per_year:
            known("country", countries, k, f"world.commodities.{c}.capacity_t_per_year.{k}")
        if sum(com.capacity_t_per_year.values()) <= 0:
            fail(f"world.commodities.{c}.capacity_t_per_year", "world capacity must be positive")
        for k in com.mining_share:
            known("country", countries, k, f"world.commodities.{c}.mining_share.{k}")
    for s, sec in w.sectors.items():
        for k in sec.criticality:
            known("commodity", commodities, k, f"world.sectors.{s}.criticality.{k}")
    for name, ctry in w.countries.items():
        base = f"world.countries.{name}"
        for s in ctry.sector_va_share_gdp:
            known("sector", sectors, s, f"{base}.sector_va_share_gdp.{s}")
        for c, cc in ctry.commodities.items():
            known("commodity", commodities, c, f"{base}.commodities.{c}")
            key = f"{base}.commodities.{c}.import_shares"
            for origin, share in cc.import_shares.items():
                known("country", countries, origin, f"{key}.{origin}")
                if share > 0 and w.commodities[c].capacity_t_per_year.get(origin, 0) <= 0:
                    fail(f"{key}.{origin}", f"{origin} has no {c} capacity to supply from")
            total = sum(cc.import_shares.values())
            if cc.demand_t_per_year > 0 and abs(total - 1) > SHARE_TOLERANCE:
                fail(key, f"shares sum to {total:.6g}, not 1")
            if cc.demand_t_per_year > 0 and not any(
                s in ctry.sector_va_share_gdp
                and c in w.sectors[s].criticality
                for s in ctry.sector_va_share_gdp
            ):
                fail(f"{base}.commodities.{c}", f"no sector of {name} uses {c}")
        if ctry.n_manufacturers > 0 and not ctry.sector_va_share_gdp:
            fail(f"{base}.sector_va_share_gdp", "a country with manufacturers needs sectors")
        pol = cfg.policy_of(name)
        for c in pol.stockpile_target_days_by_commodity:
            known("commodity", commodities, c, f"{base}.policy.stockpile_target_days_by_commodity.{c}")
    known("country", countries, cfg.scenario.target, "scenario.target")
    known("country", countries, cfg.scenario.coercer, "scenario.coercer")
    if cfg.scenario.target == cfg.scenario.coercer:
        fail("scenario.target", "the target cannot be the coercer")
    for country, lev in cfg.strategy.levers.items():
        known("country", countries, country, f"strategy.levers.{country}")
        for c in lev.stockpile_target_days_by_commodity or {}:
            known("commodity", commodities, c, f"strategy.levers.{country}.stockpile_target_days_by_commodity.{c}")
        for c in lev.dependence_ceiling_by_commodity or {}:
            known("commodity", commodities, c, f"strategy.levers.{country}.dependence_ceiling_by_commodity.{c}")

    for i, pr in enumerate(cfg.projects):
        where = f"world.projects[{i}]" if i < len(w.projects) else f"strategy.projects[{i - len(w.projects)}]"
        known("commodity", commodities, pr.commodity, f"{where}.commodity")
        known("country", countries, pr.country, f"{where}.country")
        if pr.country == cfg.scenario.coercer:
            fail(f"{where}.country", "new-supply projects are outside the coercer")
    esc = cfg.escalation
    if esc.max_level is not None and esc.max_level >= len(esc.levels):
        fail("escalation.max_level", f"level {esc.max_level} does not exist")
    if not esc.levels:
        fail("escalation.levels", "the ladder needs at least one level (level 0 = calm)")
    for i, lvl in enumerate(esc.levels):
        for j, m in enumerate(lvl.measures):
            if isinstance(m.commodities, list):
                for c in m.commodities:
                    known("commodity", commodities, c, f"escalation.levels[{i}].measures[{j}].commodities")
    start = cfg.scenario.start_date
    end = cfg.date_of(cfg.scenario.horizon_weeks) - timedelta(days=1)
    last = None
    for i, ev in enumerate(esc.script):
        if not start <= ev.date <= end:
            fail(f"escalation.script[{i}].date", f"{ev.date} is outside the horizon ({start} to {end})")
        if ev.level >= len(esc.levels):
            top = len(esc.levels) - 1
            fail(f"escalation.script[{i}].level", f"level {ev.level} does not exist (ladder has 0-{top})")
        if last is not None and ev.date < last:
            fail(f"escalation.script[{i}].date", "script dates must be in order")
        last = ev.date
    for name in cfg.world.countries:
        d = cfg.policy_of(name).stockpile_target_date
        if d is not None and d < start:
            fail(f"world.countries.{name}.policy.stockpile_target_date", f"{d} is before the start {start}")
    if cfg.run.steps is not None and cfg.run.steps > cfg.scenario.horizon_weeks:
        fail("run.steps", f"{cfg.run.steps} weeks exceed the horizon of {cfg.scenario.horizon_weeks}")
