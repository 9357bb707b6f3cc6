"""Signals: what mechanisms publish to one another each week, as one typed record.

Mechanisms share two things only: the mutable arrays of :class:`~simulation.state.State`
(stocks, flows, prices, edge status) and this record of scalar decisions and references.
Each field says who writes it; everyone else only reads it. No mechanism reads another
mechanism's attributes or the recorder. The state agents (:mod:`simulation.states`) act
only through their fields here (``[states: ...]``), set before the mechanisms run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulation.config import Measure


@dataclass(frozen=True)
class ControlSpec:
    """The export-control regime on one commodity towards one destination country: licensing
    terms, or a ban (no licence granted, the licences in force revoked) of every end use
    (``ban``) or of military end uses only (``military_ban``; ``ban`` implies it). A refused end
    user is assessed anew when it reapplies, unless ``standing_refusals`` (a refusal stands while
    the terms do: a regime aimed at denying the destination)."""

    approval_probability: float
    military_approval_probability: float
    delay_weeks: float
    license_validity_weeks: float
    all_end_uses: bool
    ban: bool = False
    military_ban: bool = False
    standing_refusals: bool = False


@dataclass
class Signals:
    """The weekly record mechanisms publish (writer in brackets).

    Attributes:
        level: China's level on the escalation ladder, 0 = calm [escalation].
        stage: the name of that level [escalation].
        measures: the measures in force (levels 1..level, and the record's in force) [escalation].
        controls: (destination country, commodity) -> the most restrictive export control in
            force on Chinese exports of that commodity to that country; a pair not in it is not
            controlled [escalation].
        secondary_boycott: the secondary-boycott clause is in force [escalation].
        boycott_commodities: the commodities the secondary boycott covers (only their traders
            are inspected) [escalation].
        enforcement: its enforcement intensity, 0-1 [escalation].
        quotas: commodity -> China's export quota in force, t/week (the tightest if several) [escalation].
        announced: commodities of export controls announced and not yet in force [escalation].
        alert: commodities under an export control toward any destination, or announced: buyers
            outside China hold precautionary stocks of them [escalation].
        trade_ban_loss_share: the target's GDP share lost a year to non-mineral bans [escalation].
        conceded: the target has conceded [escalation].
        concession_step: the week it conceded, or None [escalation].
        new_detections: transshipments detected this week [transshipment].
        n_blacklisted: traders blacklisted so far [transshipment].
        output_loss: per week and country, value added lost (LCU/week): the pain series the
            target and China observe [output].
        cn_export0_usd: China's calm export revenue at inside prices, USD/week [market, at build].
        cn_world_share0: China's calm share of world shipments by value [market, at build].
        china_choice: the level China chooses for this week after the script, or None (no
            choice: the script, or the level held) [states: China's ``decide()``].
        target_concedes: the target chooses to concede this week [states: the target's ``decide()``].
        stockpile_add_days: per country, days of use added to its stockpile targets after a crisis
            (empty: none) [states: the target's ``decide()``].
        us_chip_severity: the summed severity of the US chip-control rounds in force so far (0: none)
            [states: the US's ``decide()``]; China reads it the week after.
        retaliation: China's retaliatory measures in force (toward the US), beside the ladder and the
            record [states: China's ``decide()``; escalation puts them in force].
        producer_floor: per country and commodity, the price its producers are guaranteed, multiple of
            the calm price outside China (0: none; empty: no floor anywhere) [states: the US's and
            FORGE's ``decide()``; new supply reads it].
        release_pool: per country-commodity (``eco.pos_cc`` numbering), the FORGE members' stockpiles
            that release together this week (empty: none) [states: FORGE's ``decide()``; inventories].
        hub_cooperation: per country, whether a transit hub cooperates with China's secondary boycott,
            1 or 0 (empty: every hub cooperates) [states: the hubs' ``decide()``; transshipment].
        offtake_share: per country, the share of its producers' spare capacity that FORGE members' buyers
            claim before the spot buyers (empty: no offtake) [states: FORGE's ``decide()``; market].
        forge_tariff_share: the FORGE tariff on non-member minerals in force, in place of
            ``world.forge.tariff_share`` (None: that one) [states: FORGE's ``decide()``; diversification,
            and the market: members' firms pay it on non-member material in their landed prices].
        forge_floor: the coalition's price floor in members' landed prices, multiple of the calm price
            outside China: members' firms pay at least this for members' material (0: none) [states:
            FORGE's ``decide()``; market].
        floor_paid_usd: per country and commodity, what its firms paid above the outside price for
            members' material under the coalition's floor this week, USD (empty: none) [market; new
            supply takes it off the members' floor payments, the recorder adds it to the input premium].
        project_online: world.project_options key -> the clock week a project the US decided to finance
            comes online [states: the US's ``decide()``; new supply].
        release_open: per country-commodity, whether the state's stockpile may release this week
            (empty: everywhere; a state with no agency deciding always may) [states: the stockpile
            agencies' ``decide()``].
        refill_open: per country-commodity, whether the state's stockpile may buy toward its target
            this week (empty: everywhere; the inventories mechanism adds its own calm test)
            [states: the stockpile agencies' ``decide()``].
        diversification_ceiling: per country-commodity, the ceiling on the Chinese-origin share of
            firms' sourcing a state adopted after a crisis (1: none; empty: none anywhere)
            [states: the target's ``decide()``].
    """

    level: int = 0
    stage: str = ""
    measures: list[Measure] = field(default_factory=list)
    controls: dict[tuple[str, str], ControlSpec] = field(default_factory=dict)
    secondary_boycott: bool = False
    boycott_commodities: frozenset[str] = frozenset()
    enforcement: float = 0.0
    quotas: dict[str, float] = field(default_factory=dict)
    announced: frozenset[str] = frozenset()
    alert: frozenset[str] = frozenset()
    trade_ban_loss_share: float = 0.0
    conceded: bool = False
    concession_step: int | None = None
    new_detections: int = 0
    n_blacklisted: int = 0
    output_loss: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    cn_export0_usd: float = 0.0
    cn_world_share0: float = 0.0
    china_choice: int | None = None
    target_concedes: bool = False
    stockpile_add_days: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    us_chip_severity: float = 0.0
    retaliation: list[Measure] = field(default_factory=list)
    producer_floor: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    release_pool: np.ndarray = field(default_factory=lambda: np.zeros(0, bool), repr=False)
    hub_cooperation: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    offtake_share: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    forge_tariff_share: float | None = None
    forge_floor: float = 0.0
    floor_paid_usd: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    project_online: dict[str, int] = field(default_factory=dict)
    release_open: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    refill_open: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    diversification_ceiling: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
