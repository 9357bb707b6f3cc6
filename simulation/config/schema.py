"""The config's tables: pydantic models, every default of the model in exactly one place.

A :class:`Config` is scenario + world + escalation ladder + strategy + run settings. Units
are in the key names (``_t_per_year``, ``_usd_per_t``, ``_days``, ``_weeks``, ``_share``);
``source`` keys beside the numbers say where they come from. Reading files is in
:mod:`simulation.config.loading`, checks across tables in :mod:`simulation.config.checks`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, create_model

MAX_FIRMS = 1_000_000  # the most firms a world may draw (firms.scale x the counts; the shipped worlds: ~2,700)


def _a_number(value: Any) -> Any:
    """Refuse a bool or a string where a number is meant (pydantic would read ``true`` as 1)."""
    if isinstance(value, bool | str):
        raise ValueError("Input should be a valid number")
    return value


def _a_date(value: Any) -> Any:
    """Refuse a number where a date is meant (pydantic would read 0 as 1970-01-01)."""
    if isinstance(value, bool | int | float):
        raise ValueError("Input should be a valid date (YYYY-MM-DD)")
    return value


def _a_file_name(value: str) -> str:
    """A name that becomes part of a file name: no path separators, no leading dot."""
    if not value or len(value) > 100 or value.startswith(".") or any(ch in value for ch in "/\\\0"):
        raise ValueError("must be a plain name (1-100 characters, no '/' or '\\', not starting with '.'): "
                         "it names a folder under runs/")
    return value


Number = Annotated[float, BeforeValidator(_a_number)]  # finite: Strict sets allow_inf_nan=False
Whole = Annotated[int, BeforeValidator(_a_number)]
Flag = Annotated[bool, Field(strict=True)]
Day = Annotated[date, BeforeValidator(_a_date)]
FileName = Annotated[str, AfterValidator(_a_file_name)]
NonNeg = Annotated[Number, Field(ge=0)]
Positive = Annotated[Number, Field(gt=0)]
Share = Annotated[Number, Field(ge=0, le=1)]


class Strict(BaseModel):
    """Base for all config tables: unknown keys are errors, assignment is validated, and
    numbers are finite (no inf, no NaN) and never a bool or a string."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


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
        2.0, description="Price elasticity of the tightness ratio: p/p0 = (R/R0)**flex. Assumption, range 1-3, "
        "anchored on the 2021 magnesium squeeze: China ordered about 35 of its 50 smelters shut (Reuters via "
        "markettradingessentials.com, October 2021; 25 shut and 5 halved in Shaanxi and Shanxi, NZ Herald) and the "
        "price went from about USD 2,000 to 10,000-14,000/t (ACEA and eleven associations, 22 October 2021): with "
        "demand held, tightness rose 2.2-3.3x, so flex = ln(5 to 7) / ln(2.2 to 3.3) = 1.4-2.5."
    )
    price_adjustment_share_per_week: Share = Field(
        0.5, description="Share of the gap to the market-clearing price closed each week. Assumption, range 0.2-0.8: "
        "in 2021 the magnesium price reached 5-7x within about five weeks of the cuts of 20 September (ACEA, 22 "
        "October 2021), which a share of 0.2 a week would not reach (1 - 0.8**5 = 67% of the gap)."
    )
    demand_elasticity: NonNeg = Field(
        0.1, description="Assumption (range 0.05-0.3): short-run price elasticity of use (thrift, yield, "
        "scrap in the plant), apart from substitution over time: use x (p/p0)**-elasticity."
    )
    qualification_weeks: Annotated[Whole, Field(ge=0, le=104)] = Field(
        0, description="Weeks before spot material from producers outside China can be used (qualification "
        "of a new supplier: magnet-grade rare earths, semiconductor-grade gallium)."
    )
    price_cap_multiple: Positive = Field(
        20.0, description="Price ceiling as a multiple of the calm price (demand destruction)."
    )
    investment_lead_weeks: Annotated[Whole, Field(ge=1)] | None = Field(
        None, description="Weeks from a price-driven investment decision to output for this commodity (a "
        "by-product circuit at an existing refinery is faster than a new mine); None: world.investment.lead_weeks."
    )
    product_life_weeks: Annotated[Whole, Field(ge=1, le=1040)] = Field(
        1, description="Weeks from a manufacturer's use of the material to the scrap it yields (the life of the "
        "products that carry it): recycling draws on scrap from products sold this long ago; before the run the "
        "use is the calm use. 1: last week's use."
    )
    rare_earth: Flag = Field(False, description="A rare earth (information; export controls list their "
                             "commodities explicitly).")
    substitutability_share: Share = Field(
        0.3, description="Largest long-run cut in material per unit of output (thrift, alternatives)."
    )
    substitution_share_per_year: Share = Field(
        0.10, description="Fastest cut per year under price pressure (Sprecher et al. 2017: ~10%/yr)."
    )
    recyclability_share: Share = Field(
        0.3, description="Share of a country's use that becomes recoverable scrap."
    )
    recycling_capex_usd_per_t_per_year: NonNeg | None = Field(
        None, description="Capital cost of 1 t/yr of recovery capacity for this commodity, USD, where a plant's "
        "cost is published (cite it in ``source``); None: the state's ``recycling_capex_price_multiple`` years "
        "of output value at the calm price."
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
    stockpile_target_date: Day | None = Field(
        None, description="Date by which the target is reached (linear build); None: refill at "
        "the refill rate."
    )
    stockpile_refill_share_per_week: Share = Field(
        0.02, description="Share of the gap to target bought per week in calm."
    )
    stockpile_refill_max_price_multiple: Positive = Field(
        1.5, description="No refill while the outside price exceeds this multiple of calm (a state whose agency "
        "decides, see stockpile_release_priority, logs each refill and deferral). Assumption (range 1.1-2.0): "
        "no agency publishes its buying rule; JOGMEC buys when markets allow and keeps its stock levels secret "
        "(METI proposal, Argus, 3 July 2020), and a state buying into a price spike would feed it."
    )
    stockpile_release_trigger_days: NonNeg = Field(
        20.0, description="Release when firms' inventory cover falls below this many days."
    )
    stockpile_max_release_share_per_week: Share = Field(
        0.10, description="At most this share of the stockpile is released per week."
    )
    stockpile_release_priority: list[str] = Field(
        default_factory=list, description="The state's stockpile agency decides its releases and refills (a "
        "logged decision of the state, simulation/agency.py) and gives released stock to these manufacturers "
        "first, highest first: names of world.sectors, or 'military' for military end users; the others come "
        "after them, pro rata to their need. Empty: no agency decides; the inventories mechanism releases "
        "wherever firms' cover is short, pro rata. An assumed order (its uncertainty is "
        "stockpile_priority_share): no agency publishes an order by sector; JOGMEC sells its rare metals to "
        "Japanese firms in emergencies and tight markets (JOGMEC, stockpiling page); Korea's PPS gives small "
        "and medium firms priority in its releases (PPS, Commodity Stockpile Division) and KOMIR's emergency "
        "release reaches firms in need within eight days (IEA policy 17940, 2024)."
    )
    stockpile_priority_share: Share = Field(
        1.0, description="Share of a release given by stockpile_release_priority (highest sector's need first); "
        "the rest goes to every manufacturer short of cover, pro rata to its need. Assumption (range 0.5-1.0): "
        "1 is a strict order; agencies sell to the firms that apply, so the order binds only in part."
    )
    stockpile_storage_usd_per_t_per_year: NonNeg = Field(
        200.0, description="Storage of a tonne in the stockpile for a year, USD (warehouse rent and handling). "
        "Source: LME-approved warehouse rent, 1 April 2024 - 31 March 2025 (Singapore, GKE Metal Logistics rent "
        "card): 51-58 US cents per tonne per day, about USD 190-210 per tonne-year. Range 35-210: rent for metal "
        "off LME warrant is typically 10 cents a day or less (Reuters via minelistings.com, 2017), and the LME "
        "rate is a commercial ceiling for a state's own warehouse."
    )
    stockpile_capital_cost_share_per_year: NonNeg = Field(
        0.025, description="The cost of the money tied up in the stock, per year, as a share of its value at calm "
        "prices. Source: Korea's 3-year treasury bond yield in 2025, 2.41-2.56% (Asiae: 2.408% on 2025-04-14, "
        "2.460% on 2025-06-25, 2.562% on 2025-09-26); the 10-year yield was 2.69-2.94%. Range 0.01-0.045 (other "
        "states' borrowing costs; the 2023-24 level, ~3.3%)."
    )
    stockpile_insurance_share_per_year: NonNeg = Field(
        0.002, description="Insurance and losses (shrinkage, quality checks) per year, as a share of the stock's "
        "value at calm prices. Assumption, range 0.001-0.005: no published premium for state metal stockpiles "
        "was found; cargo-in-warehouse cover is quoted in tenths of a percent of value."
    )
    recycling_target_share: Share | None = Field(
        None, description="Recycling capacity target, share of use, every commodity (None: keep)."
    )
    recycling_target_date: Day | None = Field(None, description="Date the recycling target is reached.")
    recycling_capex_price_multiple: NonNeg = Field(
        1.0, description="Cost of 1 t/yr of recycling capacity, in years of output value at calm prices, for a "
        "commodity without its own ``recycling_capex_usd_per_t_per_year``. Assumption, range 0.5-7: a battery "
        "recycling 'spoke' (shredding to black mass) costs about USD 5,700 per t/yr of scrap (Neometals/Primobius "
        "engineering cost study, 2022: USD 103.9 m for 50 t a day), about a year of the value of the black mass "
        "it yields (NCM811 black mass USD 10,653/t, Argus, January 2024; black mass is part of the scrap's "
        "weight), before the refinery; a rare-earth magnet recycling hub costs about 7 years of the model's Nd/Pr "
        "basket price (see that commodity)."
    )
    dependence_ceiling_share: Share | None = Field(
        None, description="Ceiling on the Chinese-origin share of firms' receipts, every commodity (None: none)."
    )
    dependence_ceiling_by_commodity: dict[str, Share] = Field(
        default_factory=dict, description="Ceilings for named commodities (override the one above)."
    )
    dependence_ceiling_date: Day | None = Field(
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
    crisis_stockpile_add_days: NonNeg = Field(
        0.0, description="After a crisis (the first week China's export controls are in force on this state as "
        "the target), its stockpile agency raises every stockpile target by this many days of use, decided "
        "crisis_response_lag_weeks later (0: no response). Assumption (range 0-90): Japan built its rare-earth "
        "strategy after 2010 (JOGMEC's 60-day target).")
    crisis_response_lag_weeks: NonNeg = Field(
        26.0, description="Weeks from the crisis to the agency's decision to raise its targets. Assumption "
        "(range 13-104).")
    crisis_dependence_ceiling_share: Share = Field(
        1.0, description="After a crisis, the state adopts this ceiling on the Chinese-origin share of its firms' "
        "sourcing of every commodity then under China's export controls toward it (a diversification target "
        "the diversification mechanism moves sourcing toward; it does not cap receipts), decided "
        "crisis_diversification_lag_weeks after the crisis (1: no response; a strategy lever). Assumption "
        "(range 0.4-1.0): after 2010 Japan cut its rare-earth dependence on China from ~90% to ~60% (paper).")
    crisis_diversification_lag_weeks: NonNeg = Field(
        13.0, description="Weeks from the crisis to that decision. Assumption (range 2-52): China's informal "
        "rare-earth halt to Japan began about 2010-09-21 (FACTS); the Diet approved about 100 bn yen of FY2010 "
        "budget for rare-earth supply measures by early December 2010 (~11 weeks; Japan Metal Bulletin, Dec "
        "2010); the FY2011 budget gave 19.7 bn yen to rare-earth development abroad (Reuters, 5 Jan 2011) and "
        "the Lynas investment followed in 2011 (paper); in 2026 Japan set 39 bn yen for JOGMEC's "
        "diversification on 2026-01-20, two weeks after MOFCOM's No. 1 (Jiji Press).")
    source: str = ""


class Country(Strict):
    """A state (or a group of states) with its economy, its firms and its policy."""

    label: str
    currency: str
    gdp_lcu_per_year: Positive
    lcu_per_usd: Positive
    employment: Positive
    forge_member: Flag = False
    transit_hub: Flag = False
    n_manufacturers: Annotated[Whole, Field(ge=0)] = 0
    n_traders_per_commodity: Annotated[Whole, Field(ge=0)] = 0
    military_share: Share | None = Field(
        None, description="Share of the country's manufacturers (of every sector) that are military end users, "
        "drawn at random: its arms industry's output over its manufacturing output (the world data give each "
        "figure's source). Unset: ``world.firms.military_share``."
    )
    sector_va_share_gdp: dict[str, Share] = Field(
        default_factory=dict,
        description="Value added exposed to critical inputs, by sector, share of GDP.",
    )
    commodities: dict[str, CountryCommodity] = Field(default_factory=dict)
    policy: Policy = Field(default_factory=Policy)
    source: str = ""


class Firms(Strict):
    """How the firm population is drawn."""

    scale: Positive = Field(
        1.0, description="Multiplies every firm count. Every country that uses a commodity keeps at least one "
        f"manufacturer, and the world at most {MAX_FIRMS:,} firms (checked when the config is loaded)."
    )
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
        0.05, description="Assumption (range 0.01-0.05): share of the manufacturers of every sector that are "
        "military end users, drawn at random, in a country whose data give no ``military_share`` of its own "
        "(the shipped world gives every country's)."
    )
    trader_suppliers: Annotated[Whole, Field(ge=1, le=10)] = Field(
        2, description="Assumption (range 1-5): Chinese producers each hub trader buys from, in equal shares."
    )


class Market(Strict):
    """Orders, shipping and spot-market settings."""

    lead_weeks: Annotated[Whole, Field(ge=1, le=26)] = Field(3, description="Direct shipping time.")
    hub_extra_lead_weeks: Annotated[Whole, Field(ge=0, le=26)] = Field(
        2, description="Extra shipping time through a transit hub."
    )
    spot_lead_weeks: Annotated[Whole, Field(ge=1, le=26)] = Field(
        4, description="Shipping time of spot purchases."
    )
    order_adjust_weeks: Positive = Field(
        4.0, description="Weeks over which firms close their inventory gap."
    )
    china_price_management_share: Share = Field(
        0.8, description="Assumption (range 0.5-1.0): how far China's own policy (output management, state "
        "reserve purchases) holds its domestic price at calm: the inside price follows Chinese utilization with "
        "flexibility x (1 - this). In 2023-25 domestic prices of the controlled metals held roughly flat while "
        "outside prices rose (FACTS.md); 1 holds them exactly, 0 is a free market."
    )
    price_floor_multiple: Annotated[Number, Field(gt=0, le=1)] = Field(
        0.2, description="Assumption (range 0.1-0.5): prices inside and outside China never fall below this "
        "multiple of calm (producers' cash costs)."
    )
    price_stock_weeks: NonNeg = Field(
        4.0, description="Assumption (range 2-13): weeks of flow over which the outside market counts its buyers' "
        "stocks (on hand and arriving within the normal lead; state stockpiles are off the market) as supply, and "
        "their targets as demand, when it prices tightness: "
        "R = (orders + targets / h) / (capacity + China's shipments + stocks / h). "
        "A spot price reads the coming month's balance: buyers whose stocks cover it do not bid. "
        "Default: as order_adjust_weeks. 0: flows only."
    )
    precautionary_days: NonNeg = Field(
        14.0, description="Assumption (range 0-45): days of use that manufacturers outside China add to their "
        "inventory target for a commodity while an export control on it is announced or in force toward any "
        "destination (precautionary buying, e.g. before the 2023 gallium licensing took effect)."
    )
    calm_utilization_max_share: Annotated[Number, Field(gt=0, le=1)] = Field(
        0.95, description="Assumption (range 0.85-1.0): the highest share of an origin's capacity its calm "
        "contracts may take; above it the build applies ``calm_balance``."
    )
    calm_balance: Literal["rescale", "error"] = Field(
        "rescale", description="When the import shares contract more from an origin than its capacity allows: "
        "'rescale' moves the excess to Chinese producers (the world's residual supplier; the data's non-Chinese "
        "origins partly re-export Chinese material), 'error' stops naming the origin."
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
    calm_weeks: Annotated[Whole, Field(ge=0)] = Field(12, description="Weeks without disruption before drifting.")
    calm_signal_share: Share = Field(
        0.01, description="Assumption (range 0.005-0.05): a week counts as disrupted for a position when the "
        "share of its orders blocked or not shipped exceeds this."
    )
    memory_weeks: Positive = Field(8.0, description="Time constant of a firm's memory of disruption.")
    ceiling_share_per_week: Share = Field(
        0.05, description="Share of the excess over a dependence ceiling moved per week."
    )


class Transshipment(Strict):
    """Rerouting through transit-hub traders and China's detection of it."""

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
    anomaly_cap: Positive = Field(
        10.0, description="Assumption (range 5-20): the export anomaly (exports over history, less 1) counts at "
        "most this much toward detection; a trader with no history counts as this."
    )


class Project(Strict):
    """A dated new-supply project (capacity outside China)."""

    name: str
    commodity: str
    country: str
    capacity_t_per_year: Positive
    online_date: Day
    ramp_weeks: Annotated[Whole, Field(ge=0)] = 52
    capex_usd: NonNeg = 0.0
    source: str = ""


class Investment(Strict):
    """Price-driven investment in non-Chinese capacity."""

    price_threshold_multiple: Positive = Field(1.3, description="Invest while price / calm price exceeds this.")
    response_share_per_year: NonNeg = Field(
        0.04, description="Capacity started per year, share of world capacity, at twice the threshold "
        "(Sprecher et al. 2017: non-Chinese output grew ~4% of market volume a year)."
    )
    lead_weeks: Annotated[Whole, Field(ge=1)] = Field(
        260, description="Decision to output (new mines up to ~7 years, Argonne 2021)."
    )
    max_share: Share = Field(0.5, description="Cap on price-driven capacity, share of world capacity.")
    price_smoothing_weeks: Positive = Field(
        26.0, description="Assumption (range 13-52): time constant, weeks, of the smoothed price that investors "
        "and exiting producers see (a commitment is not made on one week's price)."
    )
    exit_price_multiple: Positive = Field(
        0.8, description="Assumption (range 0.6-0.9): below this multiple of the calm smoothed price, producers "
        "outside China and unprotected by a FORGE floor idle capacity (China undercutting)."
    )
    exit_share_per_week: Share = Field(
        0.02, description="Assumption (range 0.01-0.05): share of its capacity such a producer idles a week."
    )
    exit_floor_share: Share = Field(
        0.5, description="Assumption (range 0.3-0.8): the share of its capacity a producer keeps however long "
        "prices stay low."
    )


class Substitution(Strict):
    """How material intensity responds to price pressure (beside the commodities' own reach and pace)."""

    price_lag_weeks: Positive = Field(
        13.0, description="Assumption (range 8-26): time constant, weeks, of the smoothed price that drives "
        "substitution (engineering responds to a lasting price, not to one week's)."
    )
    reach_cap_share: Share = Field(
        0.9, description="Assumption (range 0.8-1.0): the largest cut in material per unit of output, even with "
        "R&D (substitutability x (1 + boost) is capped here)."
    )


class Recycling(Strict):
    """The scrap pool that recycling draws on."""

    initial_scrap_weeks: NonNeg = Field(
        26.0, description="Assumption (range 0-104): weeks of recoverable scrap (recyclability x use) in the pool "
        "at the start."
    )


class Licensing(Strict):
    """How the licensing authority handles refusals."""

    reapply_min_weeks: Annotated[Whole, Field(ge=1)] = Field(
        4, description="Assumption (range 2-13): a refused end user reapplies after max(this, delay) weeks."
    )
    first_decision_share: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.67, description="Share of a regime's mean licence delay before which no application is decided (the "
        "review of the dossier), rounded down to whole weeks; the rest of the wait is geometric. From the first "
        "licences after each regime took effect: gallium 2023 about 7 weeks of 9 (0.78; Fastmarkets 2023-09-21), "
        "graphite 2023 2-3 weeks of 6 (0.33-0.5; MOFCOM mid-December 2023), Dy/Tb 2025 some weeks before 10 June, "
        "9 weeks after effect (Caixin 2025-06-12); 0.67 between them, range 0.33-0.78 (assumption)."
    )


class Forge(Strict):
    """FORGE: price floors for members, tariffs on non-member minerals."""

    price_floor_multiple: NonNeg = Field(
        0.9, description="Members' producers are paid at least this multiple of the calm price: their "
        "investment decisions see max(price, floor) (only the coalition's, responders.forge.price_floor_multiple, "
        "enters members' landed prices). Assumption, range 0.7-1.75: the paper names 'guaranteed price "
        "floors among member states' without a level; the one public precedent, the US Department of Defense's "
        "10-year floor of USD 110/kg for MP Materials' NdPr (July 2025), was 'roughly double the current China-set "
        "price of USD 63/kg' (Reuters via econotimes.com), i.e. ~1.75x."
    )
    tariff_share: NonNeg = Field(
        0.1, description="Tariff members put on non-member minerals: cuts China's price edge in calm (it slows "
        "members' drift back to China; only the coalition's, responders.forge.tariff_share, enters landed prices). "
        "Assumption, range 0-0.25: the paper names 'tariffs on low-cost minerals from outside the group' without a "
        "level; the US Section 301 review (USTR, final 13 September 2024) set 25% on Chinese critical minerals "
        "from 2024 and on natural graphite and permanent magnets from 2026, an upper bound for a bloc-wide rate."
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
    substitution: Substitution = Field(default_factory=Substitution)
    recycling: Recycling = Field(default_factory=Recycling)
    licensing: Licensing = Field(default_factory=Licensing)
    forge: Forge = Field(default_factory=Forge)
    projects: list[Project] = Field(
        default_factory=list, description="Capacity outside China that exists or is being built with its finance "
        "in place: part of every run."
    )
    project_options: dict[str, Project] = Field(
        default_factory=dict, description="Dated projects not yet built (announced, planned or speculative), by "
        "key: part of a run only when its scenario's or strategy's project_options names them."
    )
    source: str = ""


# ---------------------------------------------------------------------- escalation

MeasureKind = Literal["export_control", "secondary_boycott", "trade_ban"]


class Measure(Strict):
    """One measure of a ladder level.

    ``export_control``: Chinese-origin exports of ``commodities`` (listed explicitly) from
    producers in the coercer to buyers in ``destinations`` (``"target"``: the scenario's
    target; a list of country codes; or ``"all"``: every country but the coercer) are
    controlled. ``instrument = "licensing"``: each covered edge needs a licence; military end
    users get ``military_approval_probability``; other end users get ``approval_probability``
    when ``end_use = "all"`` and are not controlled when ``end_use = "military"``: the share of
    applications granted. A refused end user applies again and is assessed anew
    (``refusals = "reassessed"``, an administrative regime: the 2023-25 all-destination ones, whose
    flows recovered as applications were approved), or stays refused while the terms stand
    (``refusals = "standing"``: a regime aimed at denying the destination). A decision
    takes ``delay_weeks`` on average; a licence is valid ``license_validity_weeks`` and its
    renewal is applied for ``delay_weeks`` before it expires (the edge stays open while the
    renewal is pending). ``instrument = "ban"``: no licence is granted and the licences in
    force on the covered edges are revoked. ``instrument = "quota"``: China's exports of each
    listed commodity to all destinations (``destinations = "all"``) are capped at
    ``quota_t_per_year`` of it; the quota goes to contracts, pro rata, and buyers outside
    China get no Chinese spot material (as the 2010 rare-earth quotas were allocated to
    established exporters).
    ``secondary_boycott``: third-country re-exporters of Chinese-origin ``commodities`` to the
    target become liable (see the transshipment mechanism); traders of other commodities are
    never inspected.
    ``trade_ban``: a non-mineral measure (tourism, culture, seafood) costing the target
    ``target_loss_share_gdp_per_year`` of GDP a year while in force.
    """

    kind: MeasureKind
    commodities: list[str] | None = Field(
        None, description="Commodity ids covered (export_control, secondary_boycott: required, not empty).")
    destinations: Literal["target", "all"] | list[str] = Field(
        "target", description="Destination countries of an export control: the target, a list, or all "
        "but the coercer.")
    instrument: Literal["licensing", "ban", "quota"] = "licensing"
    end_use: Literal["military", "all"] = "all"
    approval_probability: Share = 1.0
    military_approval_probability: Share = 0.0
    delay_weeks: NonNeg = 0.0
    license_validity_weeks: Positive = 26.0
    refusals: Literal["reassessed", "standing"] = Field(
        "reassessed", description="Licensing: a refused end user is assessed anew when it reapplies "
        "(reassessed), or refused again while the terms stand (standing).")
    quota_t_per_year: dict[str, NonNeg] = Field(
        default_factory=dict, description="A quota: China's yearly export ceiling per commodity listed, t/yr.")
    enforcement: Share = Field(0.0, description="Secondary-boycott enforcement intensity.")
    target_loss_share_gdp_per_year: NonNeg = 0.0
    label: str = ""
    source: str = ""


class Level(Strict):
    """A rung of the ladder: its measures add to those of the rungs below."""

    name: str
    label: str = ""
    measures: list[Measure] = Field(default_factory=list)


class RecordMeasure(Measure):
    """A measure of the dated record (``escalation.record``): announced on ``announced``, in
    force from ``effective`` until ``lifted`` (for good if not given), whatever the ladder
    level. The record's measures add to those of the ladder."""

    name: str
    announced: Day
    effective: Day
    lifted: Day | None = None


class ScriptEvent(Strict):
    """A dated move on the ladder: announced on ``date``, in force from ``effective_date``
    (the same day if not given). Between the two, buyers outside China know what is coming."""

    date: Day
    effective_date: Day | None = None
    level: Annotated[Whole, Field(ge=0)]
    note: str = ""
    source: str = ""


class Escalation(Strict):
    """China's ladder and how it moves on it."""

    mode: Literal["scripted", "endogenous"] = "scripted"
    after_script: Literal["hold", "endogenous"] = Field(
        "hold", description="What follows the last scripted move: hold the level, or the states decide "
        "(China's calculus, the target's concession; see simulation/states.py). Without a script there is "
        "no campaign to continue: calm (mode = \"endogenous\" lets China decide from the start)."
    )
    levels: list[Level]
    script: list[ScriptEvent] = Field(default_factory=list)
    record: list[RecordMeasure] = Field(
        default_factory=list, description="Dated measures in force between their dates, beside the ladder "
        "(China's record: configs/record/).")
    min_weeks_per_level: Annotated[Whole, Field(ge=1)] = Field(
        4, description="China holds a level at least this many weeks before it moves again, weeks. Assumption "
        "(range 2-8): the 2025-26 campaign moved within days at first, then held for weeks.")
    max_level: Annotated[Whole, Field(ge=0)] | None = Field(None, description="Highest level (None: top).")
    target_resolve_pct_gdp: NonNeg = Field(
        3.0, description="The target's resolve: it concedes when its loss rate (annualized, % of GDP) exceeds "
        "its resolve, drawn once per run around this median, %/yr of GDP. Assumption (range 0.1-10): Japan "
        "2010 conceded within days (resolve near 0 for the captain's release); Japan 2025-26 refused at a loss "
        "the paper puts near 2% of GDP.")
    resolve_noise_share: NonNeg = Field(
        0.3, description="Log-normal sigma of the target's resolve, drawn once per run (not weekly). "
        "Assumption (range 0-0.8).")
    resolve_rally_share: NonNeg = Field(
        0.05, description="Each step up the ladder raises the target's resolve by this share (rally round the "
        "flag). Assumption (range 0-0.2): Japanese public support for the government rose after the 2025-11 "
        "measures (paper).")
    pain_window_weeks: Annotated[Whole, Field(ge=1)] = Field(
        8, description="Weeks of output loss the target and China average to gauge pain, weeks. Assumption "
        "(range 4-13).")
    china_cost_tolerance_share: NonNeg = Field(
        0.25, description="China accepts a cost index up to this without any pressure in return, and climbs "
        "only while its projected cost index is below it. Assumption (range 0.1-0.5).")
    market_share_weight: NonNeg = Field(
        2.0, description="Weight of world market share lost to non-Chinese supply (the most lost so far: "
        "capacity persists once built) in China's cost index, per share point. Assumption (range 0.5-4): "
        "dominance is China's lasting asset, a share point outweighs a point of one year's revenue.")
    revenue_weight: NonNeg = Field(
        1.0, description="Weight of the share of calm export revenue (outside buyers, inside prices) lost in "
        "China's cost index (the unit of the index). Assumption (range 0.5-2).")
    producer_loss_weight: NonNeg = Field(
        0.5, description="Weight of its producers' margin lost (the fall of inside prices below calm, weighted "
        "by Chinese capacity at calm inside prices) in China's cost index. Assumption (range 0-1): part of the "
        "producers' loss is the export revenue already counted.")
    diversification_weight: NonNeg = Field(
        1.0, description="Weight of the diversification its pressure triggers abroad (share of the Chinese "
        "origin share of outside buyers' sourcing lost since calm) in China's cost index. Assumption "
        "(range 0.5-3).")
    china_horizon_weeks: NonNeg = Field(
        13.0, description="China projects its cost index this many weeks ahead along its trend over the pain "
        "window, weeks. Assumption (range 4-26): a quarter of planning.")
    concession_value: NonNeg = Field(
        0.5, description="What a concession is worth to China, in cost-index units: China holds while its "
        "projected cost is below its tolerance plus this times its estimated chance of a concession. "
        "Assumption (range 0.1-1.5).")
    china_resolve_estimate_pct_gdp: NonNeg = Field(
        1.0, description="China's prior estimate of the target's resolve, %/yr of GDP (raised to the pain the "
        "target has endured without conceding). Assumption (range 0.3-3): China expected Japan to yield as in "
        "2010.")
    china_resolve_uncertainty: Positive = Field(
        0.5, description="China's uncertainty about the target's resolve, log-normal sigma: its chance of a "
        "concession is Phi(ln(pain / estimate) / sigma), and its prior estimate is drawn once per run with "
        "it. Assumption (range 0.2-1).")
    min_pain_gain_pct_gdp: NonNeg = Field(
        0.05, description="China climbs again only if the target's pain rose at least this much since its last "
        "move, %/yr of GDP: a step that hurts no one is not repeated (a target that cannot be hurt does not "
        "see the whole ladder). Assumption (range 0-0.3).")


# ---------------------------------------------------------------------- responders


class ChipControl(Strict):
    """A dated round of US export controls on advanced chips and chip tools to China."""

    date: Day
    severity: Share = Field(
        1.0, description="How hard the round hits China, 0-1 (1: the sweeping October 2022 rule). Assumption "
        "(range 0.3-1): a later round that extends an earlier one weighs less.")
    label: str = ""
    source: str = ""


class PriceFloor(Strict):
    """A state's guaranteed price to its own producers of one commodity, from a date."""

    commodity: str
    floor_multiple: Positive = Field(description="The floor, multiple of the calm price outside China.")
    date: Day
    source: str = ""


class USResponder(Strict):
    """The US as a responder: its chip controls on China, its price floors, the projects it decides."""

    country: str = Field("US", description="The US's country code in the world.")

    chip_controls: list[ChipControl] = Field(
        default_factory=list, description="Dated rounds of US chip controls (empty: none). The record: BIS "
        "interim final rules of 2022-10-07 (87 FR 62186), 2023-10-17 (88 FR 73458) and 2024-12-02 (89 FR 96790).")
    price_floors: list[PriceFloor] = Field(
        default_factory=list, description="Price floors for US producers (empty: none). The record: the "
        "Department of Defense's 10-year floor of USD 110/kg for MP Materials' NdPr from 2025-07-10, ~1.75x the "
        "China-set price of USD 63/kg (Reuters).")
    invest_options: list[str] = Field(
        default_factory=list, description="Keys of world.project_options the US decides to finance: it switches "
        "one on when its commodity is under a Chinese export control toward the US, and the project comes "
        "online invest_lead_weeks later (empty: none).")
    invest_lead_weeks: Annotated[Whole, Field(ge=0, le=520)] = Field(
        156, description="Weeks from the US decision to a project's first output. Assumption (range 52-260): "
        "MP Materials' Fort Worth magnet plant took about 3 years from its announcement (2021-22) to first "
        "output; restarting idle capacity is faster, a new mine slower (up to ~7 years, Argonne 2021).")


class ForgeCoalition(Strict):
    """FORGE as a coalition deciding together (the chair decides for it). Nothing happens before ``from_date``
    or without it."""

    from_date: Day | None = Field(
        None, description="The coalition acts from this date (None: it does not act). The record: FORGE was "
        "launched at the US State Department's critical-minerals ministerial of February 2026 (paper).")
    chair: str | None = Field(
        None, description="The member whose agent decides for the coalition (None: the first member that is "
        "neither the coercer nor the target). The record: Korea chairs to June 2026 (paper).")
    price_floor_multiple: NonNeg = Field(
        0.0, description="A lever: members' producers are paid at least this multiple of the calm price "
        "outside China while the coalition acts (0: no floor): it keeps them producing when China undercuts; "
        "members' firms pay it for members' material (their landed prices) and the member states the rest "
        "of the gap. A scenario that sets it gives its source; the reference points are "
        "those of world.forge.price_floor_multiple (0.7-1.75, the DoD's NdPr floor of July 2025 at the top).")
    tariff_share: NonNeg | None = Field(
        None, description="The tariff members put on non-member minerals while the coalition acts, in place of "
        "world.forge.tariff_share (None: that one stays): it eats into China's price edge in the landed price "
        "of members' firms (their demand, and their bids for China's spare capacity, answer it), and so slows "
        "their drift back to Chinese supply in calm. A lever; reference "
        "points: world.forge.tariff_share (0-0.25, US Section 301 at the top).")
    offtake_share: Share = Field(
        0.0, description="A lever: the share of each member producer's spare capacity that members' buyers "
        "claim through offtake contracts while the coalition acts; in the market their claims are served "
        "before any spot buyer (0: none). Reference point: the Department of Defense took 100% of the output "
        "of MP Materials' planned magnet plant (July 2025).")
    release_trigger_days: NonNeg = Field(
        0.0, description="A lever: when a member's firms hold fewer than this many days of cover of a commodity "
        "(or less than their own target, if lower), every member releases from its stockpile of it together, "
        "pro rata to what it may release a week (its stockpile_max_release_share_per_week), to the short "
        "members' firms (0: no coordinated release). Reference point: the members' own release trigger, "
        "policy.stockpile_release_trigger_days (20 days); the IEA's collective actions on oil stocks are the "
        "model.")


class HubState(Strict):
    """A transit hub's stakes: its trade with China, and what cooperating with China's boycott costs it."""

    china_trade_share_gdp: NonNeg = Field(
        description="Its trade (exports + imports) with China, share of its GDP.")
    target_trade_share_gdp: NonNeg = Field(
        description="Its trade with the target and the target's allies that cooperation puts at risk, share "
        "of its GDP.")
    source: str = ""


class Hubs(Strict):
    """Transit hubs decide whether to cooperate with China's secondary boycott."""

    countries: dict[str, HubState] = Field(
        default_factory=dict, description="The hubs that decide (empty: every hub cooperates fully, as China "
        "enforces alone at its full intensity).")
    china_own_enforcement_share: Share = Field(
        0.5, description="The part of the boycott's enforcement China carries out itself (inspections, its "
        "customs data); the rest needs the hub's customs. A hub that does not cooperate cuts the detection "
        "of its traders to this share. Assumption (range 0.2-0.8).")
    china_penalty_share: Share = Field(
        0.05, description="The share of its trade with China a hub expects to lose if it does not cooperate, "
        "per unit of boycott enforcement. Assumption (range 0.01-0.2).")
    backlash_share: Share = Field(
        0.05, description="The share of its trade with the target and its allies a hub expects to lose if it "
        "cooperates. Assumption (range 0.01-0.2).")


class Retaliation(Strict):
    """China's answer to US chip controls: export controls toward the US."""

    measures: list[Measure] = Field(
        default_factory=list, description="China's retaliatory measures, in the order it uses them (each "
        "answer puts the next in force). The record: gallium and germanium (July 2023), graphite (October "
        "2023), the ban on Ga, Ge and Sb to the US (2024-12-03).")
    threshold: NonNeg = Field(
        1.0, description="China retaliates when its grievance, the summed severity of the US rounds not yet "
        "answered less cost_weight x the revenue its answer puts at stake, reaches this (severity units: 1 is "
        "a round like October 2022's). Assumption (range 0.5-2): China answered the 2022 rule only in July "
        "2023 (gallium, germanium), after the 2023 Dutch and Japanese alignment, and the December 2024 round "
        "the next day (No. 46).")
    cost_weight: NonNeg = Field(
        1.0, description="Weight of China's export revenue at stake in its answer (the share of its calm export "
        "revenue from outside buyers on the measure's commodities and destinations), in severity units per "
        "unit share, subtracted from its grievance. Assumption (range 0-5): its answers so far hit minor "
        "metals of small revenue (gallium, germanium, antimony), which suggests it weighs revenue.")


class Responders(Strict):
    """The responders of issue 15: the US, FORGE as a coalition, transit hubs, and China's retaliation.
    Everything is off by default: a responder a scenario does not switch on changes nothing."""

    us: USResponder = Field(default_factory=USResponder)
    forge: ForgeCoalition = Field(default_factory=ForgeCoalition)
    hubs: Hubs = Field(default_factory=Hubs)
    retaliation: Retaliation = Field(default_factory=Retaliation)


# ------------------------------------------------------------------ scenario & run


class Scenario(Strict):
    """What the scenario is called (its run folders are named after it), when it starts and how long it runs."""

    name: FileName
    description: str = ""
    start_date: Day = date(2025, 11, 7)
    history_from: Day | None = Field(
        None, description="Run the world from this date to start_date first (the dated record's measures come "
        "into force as they did), unrecorded: the analysis starts from the world the history leaves. None: the "
        "analysis starts from the calm.")
    horizon_weeks: Annotated[Whole, Field(ge=1, le=2600)] = 156
    coercer: str = "CN"
    target: str = "JP"
    project_options: list[str] = Field(
        default_factory=list, description="Keys of world.project_options (projects not yet built) this scenario "
        "assumes will come online as dated."
    )
    source: str = ""


PolicyLevers = create_model(
    "PolicyLevers",
    __base__=Strict,
    # the field's constraints (ranges, no bools) are kept: they sit in its metadata, not its annotation
    **{name: ((Annotated[f.annotation, *f.metadata] if f.metadata else f.annotation) | None, None)
       for name, f in Policy.model_fields.items()},
)


class Strategy(Strict):
    """Levers per state on top of the world's current policy; baseline changes nothing."""

    name: FileName = "baseline"
    description: str = ""
    levers: dict[str, PolicyLevers] = Field(default_factory=dict)  # type: ignore[valid-type]
    projects: list[Project] = Field(default_factory=list, description="New supply the strategy finances.")
    project_options: list[str] = Field(
        default_factory=list, description="Keys of world.project_options the strategy brings online (for "
        "instance by financing them); their cost is the option's capex_usd."
    )
    source: str = ""


class RunSettings(Strict):
    """The run's seed and length."""

    seed: Annotated[Whole, Field(ge=0, lt=2**63)] = 0
    steps: Annotated[Whole, Field(ge=1)] | None = Field(
        None, description="Weeks to run; None runs the scenario's horizon."
    )


class Config(Strict):
    """The one validated object a model is built from."""

    scenario: Scenario
    world: World
    escalation: Escalation
    strategy: Strategy = Field(default_factory=Strategy)
    run: RunSettings = Field(default_factory=RunSettings)
    responders: Responders = Field(default_factory=Responders)

    # ---- derived, read-only helpers
    @property
    def n_steps(self) -> int:
        return self.run.steps if self.run.steps is not None else self.scenario.horizon_weeks

    @property
    def history_steps(self) -> int:
        """Weeks of history the mechanisms run before the analysis starts (0 without ``history_from``)."""
        h = self.scenario.history_from
        return 0 if h is None else (self.scenario.start_date - h).days // 7

    @property
    def clock_steps(self) -> int:
        """Weeks the mechanisms run: the history, then the analysis's ``n_steps``."""
        return self.history_steps + self.n_steps

    def date_of(self, step: int) -> date:
        """Calendar date of the first day of week ``step`` of the analysis (step 0 starts on start_date)."""
        return self.scenario.start_date + timedelta(weeks=step)

    def step_of(self, day: date) -> int:
        """The mechanisms' week that contains ``day``: weeks since the first week of the history (of the
        analysis, without history; a date before it gives a negative week)."""
        return (day - self.scenario.start_date).days // 7 + self.history_steps

    @property
    def options(self) -> list[str]:
        """The keys of the project options switched on, scenario's then strategy's, each once."""
        return list(dict.fromkeys([*self.scenario.project_options, *self.strategy.project_options]))

    @property
    def decided_options(self) -> list[str]:
        """The keys of the project options the US may decide to finance (``responders.us.invest_options``)
        that are not switched on already: dormant until it does."""
        return [k for k in dict.fromkeys(self.responders.us.invest_options) if k not in self.options]

    @property
    def projects(self) -> list[Project]:
        """The world's dated projects, the project options switched on, the strategy's projects, and the
        options the US may decide to finance (their dates are the US's decision's, not theirs)."""
        return ([*self.world.projects, *(self.world.project_options[k] for k in self.options),
                 *self.strategy.projects, *(self.world.project_options[k] for k in self.decided_options)])

    @property
    def strategy_projects(self) -> list[Project]:
        """What the strategy finances: its projects and the options only it switches on."""
        own = [k for k in self.strategy.project_options if k not in self.scenario.project_options]
        return [*(self.world.project_options[k] for k in own), *self.strategy.projects]

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

