"""States that decide: China (the coercer), the target and the responders, as Mesa agents, and their log.

Every week, before the mechanisms, the model steps its states through one AgentSet
(``model.state_agents``) in this order: the target, China, then the other states in the world's
order (the responders a scenario switches on among them; the rest do nothing). A state reads
only what it can observe -- its own economy, the target's output loss of past weeks, prices,
what others did last week (the signals) -- and acts only through its fields of
:class:`~simulation.signals.Signals` (``target_concedes``, ``china_choice``, ``retaliation``,
and the responders' below); the mechanisms carry the choices out. Each state draws from its
own random stream (``state:<code>``), once per run.

**The target** (:class:`TargetRole`, the ``role`` of its state agent) draws its resolve once per run,
``target_resolve_pct_gdp * exp(resolve_noise_share * z)``; each step China climbs raises
it by ``resolve_rally_share`` (an event, not a weekly redraw). In an endogenous week it
concedes when its pain -- output loss over the last ``pain_window_weeks``, annualized, % of
GDP -- exceeds its resolve.

After a crisis (the first week of the analysis with the ladder's export controls on it) it can
raise its targets, each response with its own lag, each a logged decision:

- its stockpile targets, if its policy sets ``crisis_stockpile_add_days``: by that many days of
  use, ``crisis_response_lag_weeks`` after the crisis, through ``signals.stockpile_add_days``
  (the inventories mechanism adds them to its targets);
- its diversification target, if its policy sets ``crisis_dependence_ceiling_share`` below 1:
  a ceiling on the Chinese-origin share of its firms' sourcing of every commodity then under
  China's controls toward it, ``crisis_diversification_lag_weeks`` after the crisis, through
  ``signals.diversification_ceiling`` (the diversification mechanism moves sourcing toward it
  and holds the drift back below it). Japan's rare-earth strategy after the 2010 halt (from
  about 2010-09-21): a budget for supply measures within about 11 weeks, the Lynas investment in
  2011; in 2026, 39 bn yen for JOGMEC's diversification two weeks after MOFCOM's No. 1.

A state whose policy sets ``stockpile_release_priority`` (the target or any other) also has a
stockpile agency that decides its releases and refills each week, before its role
(:mod:`simulation.agency`; ``StateAgent.agency``).

**China** (:class:`CoercerRole`) weighs, each endogenous week:

- the pressure on the target: its pain ``P`` against China's estimate of its resolve ``R``
  (a prior ``china_resolve_estimate_pct_gdp`` drawn once per run with sigma
  ``china_resolve_uncertainty``, raised to the highest pain the target has endured without
  conceding); the chance of a concession is ``p = Phi(ln(P / R) / sigma)``, worth
  ``concession_value * p``;
- the cost of its campaign ``C``: its cost index above its value in the last week before the
  ladder first left calm (what the dated record's measures cost it is not the campaign's),
  the index being ``revenue_weight`` x the share of calm export revenue lost (outside
  buyers, inside prices) + ``market_share_weight`` x the most world market share (by value)
  lost so far (capacity built abroad persists) + ``producer_loss_weight`` x its producers'
  margin lost (the fall of inside prices, weighted by Chinese capacity at calm prices) +
  ``diversification_weight`` x the share of the Chinese-origin share of outside buyers'
  sourcing lost since calm; projected ``china_horizon_weeks`` ahead along its rise over the
  pain window: ``C_h = C + horizon * max(0, slope)``.

It then, having held its level ``min_weeks_per_level`` weeks:

1. **steps down** a level when ``C_h > china_cost_tolerance_share + concession_value * p``
   (and does not climb back to the level it left: it learned what it costs);
2. **climbs** a level when ``C_h < china_cost_tolerance_share`` and its last move raised the
   target's pain by at least ``min_pain_gain_pct_gdp`` (the first move needs no proof), up
   to ``max_level``;
3. otherwise **holds**.

In scripted weeks it follows the script (each scripted move is logged). After a concession
it stays calm. Every decision goes to :class:`DecisionLog` with the figures it weighed.

**China answers US chip controls** (whatever the mode, if ``responders.retaliation.measures``
lists its answers): when the US's severity in force moves, its grievance ``G`` is the
severity not yet answered; its next measure puts at stake the share
``S`` of its calm export revenue (outside buyers, calm inside prices) on that measure's
commodities and destinations; it retaliates (``retaliate``: ``signals.retaliation``) when
``G - cost_weight * S >= threshold``, else logs ``no_retaliation``.

**The responders** (``config.responders``; a responder not switched on gets no role and costs
nothing):

- **The US** (:class:`USRole`): its dated chip-control rounds (``chip_controls``:
  ``signals.us_chip_severity``), price floors for its producers (``price_floor``:
  ``signals.producer_floor``), and the projects of ``invest_options`` it finances once China
  controls their commodity toward it (``invest``: ``signals.project_online``).
- **FORGE** (:class:`ForgeRole`, on its chair's agent, logged as ``FORGE``): from its
  ``from_date``, members' price floors (``forge_floor``: ``signals.producer_floor`` for their producers,
  ``signals.forge_floor`` in their firms' landed prices), offtake claims on members' spare capacity
  (``forge_offtake``: ``signals.offtake_share``), a tariff on non-member minerals (``forge_tariff``:
  ``signals.forge_tariff_share``), and the coordinated stockpile release (``coordinated_release``,
  ``end_release``: ``signals.release_pool``) when a member's firms run short.
- **Transit hubs** (:class:`HubRole`): under the secondary boycott, ``cooperate`` or
  ``refuse_cooperation`` (``signals.hub_cooperation``), weighing the trade with China a refusal
  puts at risk against the trade with the target and its allies that cooperation puts at risk.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import mesa
import numpy as np
import pandas as pd
from mesa.agent import AgentSet

from simulation.agents import StateAgent
from simulation.config import Measure
from simulation.kernels import implementation, kernel, maximum, np_sum
from simulation.mechanisms.escalation import pain_pct_gdp, scripted_levels
from simulation.population import POS_MANUFACTURER, POS_TRADER, PRODUCER

_PHI = NormalDist().cdf

#: The columns of ``decisions.csv``: the figures a decision weighed (NaN where a state does not weigh one).
DECISION_COLUMNS = (
    "step", "date", "state", "decision", "level", "reason", "pain_pct_gdp", "resolve_pct_gdp",
    "concession_chance", "cost_before_campaign", "cost_index", "cost_projected", "lost_revenue_share",
    "lost_market_share", "producer_loss_share", "diversification_share", "shortage_t", "stockpile_days",
    "price_multiple",
)
_FIGURES = DECISION_COLUMNS[6:]


class DecisionLog:
    """Every state decision of the analysis weeks, with its reason and the figures it weighed.

    Args:
        model: the model (its config gives the dates; ``history`` the weeks before the analysis).
    """

    def __init__(self, model: mesa.Model):
        self._model = model
        self.rows: list[tuple] = []  # (step, state, decision, level, reason, figures)
        self._latest: dict[str, int] = {}

    def add(self, week: int, state: str, decision: str, level: int, reason: str, **figures: float) -> None:
        """Log a decision of clock week ``week`` (weeks of the history are not logged)."""
        step = week - self._model.history
        if step < 0:
            return
        self._latest[state] = len(self.rows)
        self.rows.append((step, state, decision, level, reason, figures))

    def _row(self, i: int) -> tuple:
        step, state, decision, level, reason, figures = self.rows[i]
        return (step, self._model.config.date_of(step).isoformat(), state, decision, level, reason,
                *(float(figures.get(k, math.nan)) for k in _FIGURES))

    def latest(self) -> dict[str, dict]:
        """Per state, its latest logged decision as a dict of :data:`DECISION_COLUMNS`."""
        return {s: dict(zip(DECISION_COLUMNS, self._row(i), strict=True)) for s, i in self._latest.items()}

    def frame(self) -> pd.DataFrame:
        """The log as a table of :data:`DECISION_COLUMNS`, one row per decision."""
        return pd.DataFrame([self._row(i) for i in range(len(self.rows))], columns=list(DECISION_COLUMNS))


class Role:
    """A state's decision rule: the ``decide()`` of its :class:`~simulation.agents.StateAgent`
    (``agent.role``). One Mesa agent type for every state keeps Mesa's tools (the collector's
    per-type reporters) seeing them all.

    Args:
        agent: the state agent it decides for.
    """

    def __init__(self, agent: StateAgent):
        self.agent, self.model, self.code, self.index = agent, agent.model, agent.code, agent.index

    def decide(self, week: int) -> None:  # pragma: no cover - each role defines it
        raise NotImplementedError


class TargetRole(Role):
    """The target: draws its resolve once, raises it when China climbs, concedes when its pain
    exceeds it (in endogenous weeks).

    Args:
        agent: the target's state agent.
    """

    def __init__(self, agent: StateAgent):
        super().__init__(agent)
        model, code = agent.model, agent.code
        esc = model.config.escalation
        rng = model.streams[f"state:{code}"]
        self.resolve_pct_gdp = esc.target_resolve_pct_gdp * math.exp(esc.resolve_noise_share * rng.standard_normal())
        self.resolve0_pct_gdp = self.resolve_pct_gdp  # as drawn, before events
        self._levels, self._first_free, self._endogenous = scripted_levels(model.config)
        self._level_seen = 0
        pol = model.config.policy_of(code)
        self._add_days, self._lag = pol.crisis_stockpile_add_days, pol.crisis_response_lag_weeks
        self._ceiling, self._div_lag = pol.crisis_dependence_ceiling_share, pol.crisis_diversification_lag_weeks
        self.crisis_week: int | None = None  # the first week of the analysis with the ladder's controls on it
        self.raised = self._add_days <= 0  # the stockpile targets raised (or nothing to raise)
        self.diversified = self._ceiling >= 1.0  # the diversification target raised (or none to raise)

    def _agency(self, week: int) -> None:
        """After a crisis: raises the stockpile targets ``crisis_stockpile_add_days``,
        ``crisis_response_lag_weeks`` after the crisis began, and the diversification target to
        ``crisis_dependence_ceiling_share``, ``crisis_diversification_lag_weeks`` after it."""
        m = self.model
        sig = m.signals
        if self.crisis_week is None:
            if week >= m.history and sig.level > 0 and any(d == self.code for d, _ in sig.controls):
                self.crisis_week = week
            return
        if not self.diversified and week - self.crisis_week >= self._div_lag:
            self._diversify(week)
        if not self.raised and week - self.crisis_week >= self._lag:
            self.raised = True
            add = np.zeros(len(m.eco.countries)) if len(sig.stockpile_add_days) == 0 else sig.stockpile_add_days.copy()
            add[self.index] += self._add_days
            sig.stockpile_add_days = add
            m.decisions.add(week, self.code, "raise_stockpile_target", sig.level,
                            f"{self._add_days:g} days of use added to every stockpile target, "
                            f"{week - self.crisis_week} weeks after the crisis began (week "
                            f"{self.crisis_week - m.history})")

    def _diversify(self, week: int) -> None:
        """Adopt the ceiling on the Chinese-origin share of every commodity under China's controls
        toward this state now (the diversification mechanism reads ``signals.diversification_ceiling``)."""
        m = self.model
        sig, e = m.signals, m.eco
        self.diversified = True
        hit = sorted({c for d, c in sig.controls if d == self.code}, key=e.commodities.index)
        if not hit:  # the controls were lifted before the decision: nothing to diversify from
            m.decisions.add(week, self.code, "keep_diversification_target", sig.level,
                            "China's controls on it were lifted before the decision was due")
            return
        n_com = len(e.commodities)
        ceiling = np.ones(e.n_cc) if len(sig.diversification_ceiling) == 0 else sig.diversification_ceiling.copy()
        for c in hit:
            k = self.index * n_com + e.commodities.index(c)
            ceiling[k] = min(ceiling[k], self._ceiling)
        sig.diversification_ceiling = ceiling
        m.decisions.add(week, self.code, "raise_diversification_target", sig.level,
                        f"Chinese-origin share of {', '.join(hit)} held at most {self._ceiling:.0%}, "
                        f"{week - self.crisis_week} weeks after the crisis began (week {self.crisis_week - m.history})")

    def decide(self, week: int) -> None:
        m = self.model
        sig, esc = m.signals, m.config.escalation
        if not (self.raised and self.diversified):
            self._agency(week)
        if sig.level > self._level_seen:  # China climbed: the public rallies
            self.resolve_pct_gdp *= (1.0 + esc.resolve_rally_share) ** (sig.level - self._level_seen)
        self._level_seen = sig.level
        if sig.conceded or not self._endogenous or week < self._first_free:
            return
        pain = pain_pct_gdp(sig.output_loss, m.eco.gdp_lcu[self.index], self.index, week, esc.pain_window_weeks)
        concede = pain > self.resolve_pct_gdp
        sig.target_concedes = concede
        m.decisions.add(week, self.code, "concede" if concede else "refuse", sig.level,
                        f"pain {pain:.3g} {'above' if concede else 'within'} resolve {self.resolve_pct_gdp:.3g} "
                        "(%/yr of GDP)", pain_pct_gdp=pain, resolve_pct_gdp=self.resolve_pct_gdp)


class CoercerRole(Role):
    """China: follows the script, then weighs the pressure on the target against its own costs
    each week (see the module docstring).

    Args:
        agent: China's state agent.
    """

    def __init__(self, agent: StateAgent):
        super().__init__(agent)
        model, code = agent.model, agent.code
        cfg, e = model.config, model.eco
        esc = cfg.escalation
        rng = model.streams[f"state:{code}"]
        self.resolve_estimate_pct_gdp = esc.china_resolve_estimate_pct_gdp * math.exp(
            esc.china_resolve_uncertainty * rng.standard_normal())
        self._levels, self._first_free, self._endogenous = scripted_levels(cfg)
        n_levels = len(cfg.escalation.levels)
        self.ladder_top = n_levels - 1 if esc.max_level is None else min(esc.max_level, n_levels - 1)
        self.top = self.ladder_top  # the highest level China still considers
        self.target = e.countries.index(cfg.scenario.target)
        # its producers' capacity at calm inside prices, per commodity (weights of the margin lost)
        cn_prod = (e.firm_kind == PRODUCER) & (e.firm_country == e.coercer) & (e.firm_commodity >= 0)
        cap = np.bincount(e.firm_commodity[cn_prod], e.firm_capacity_t[cn_prod], minlength=len(e.commodities))
        value = cap * e.price0_cn
        self._prod_w = value / value.sum() if value.sum() > 0 else value
        # outside buyers' sourcing edges of Chinese origin, weighted by the buyer's calm use
        self._cn_edge = outside_chinese_edges(e)
        self._cn_w = e.pos_base_use_t[e.edge_pos[self._cn_edge]]
        self._cn_share0 = float((self._cn_w * e.edge_share[self._cn_edge]).sum())
        self._reading = implementation(_cost_reading, cost_reading_reference)
        self.lost_share_max = 0.0
        w = esc.pain_window_weeks
        self._costs = np.zeros(w + 1)  # the cost index of the last w + 1 weeks, a ring
        self._n_costs = 0
        self._level_seen = 0
        self._since = -esc.min_weeks_per_level  # week of the last move (the first may come at once)
        self._pain_at_move: float | None = None  # the target's pain when China last moved
        self._stood_down = False
        self._calm_index = 0.0
        self._before: float | None = None  # the cost index in the last week before the ladder left calm
        self.figures: dict[str, float] = {}
        # its answers to US chip controls (None: no retaliatory measures configured, nothing to weigh)
        self._retaliation = cfg.responders.retaliation if cfg.responders.retaliation.measures else None
        self._us_seen = 0.0  # the US severity it last weighed
        self._answered = 0.0  # the US severity its retaliation answered
        self._next = 0  # its next retaliatory measure

    def costs(self) -> dict[str, float]:
        """China's cost components as observed now (shares), and the weighted index."""
        m = self.model
        s, sig, esc = m.state, m.signals, m.config.escalation
        lost_rev = 0.0 if s.cn_export_usd is None or sig.cn_export0_usd <= 0 else max(
            0.0, 1.0 - s.cn_export_usd / sig.cn_export0_usd)
        if s.cn_world_share is not None:
            self.lost_share_max = max(self.lost_share_max, sig.cn_world_share0 - s.cn_world_share)
        margin, share = self._reading(self._prod_w, s.price_cn, m.eco.price0_cn, self._cn_w, s.edge_share,
                                      self._cn_edge)
        margin = float(margin)
        div = 0.0 if self._cn_share0 <= 0 else max(0.0, 1.0 - float(share) / self._cn_share0)
        index = (esc.revenue_weight * lost_rev + esc.market_share_weight * self.lost_share_max
                 + esc.producer_loss_weight * margin + esc.diversification_weight * div)
        if self._before is None and sig.level == 0:
            self._calm_index = index  # the costs China bears before the campaign (the record's measures)
        elif self._before is None:
            self._before = self._calm_index
        before = self._calm_index if self._before is None else self._before
        return dict(cost_before_campaign=before, cost_index=max(0.0, index - before), lost_revenue_share=lost_rev,
                    lost_market_share=self.lost_share_max, producer_loss_share=margin, diversification_share=div)

    def _answer_us(self, week: int) -> None:
        """US chip controls moved (observed the week after): China retaliates with its next measure when its
        grievance, the US severity not yet answered, less ``cost_weight`` x the share of its calm export
        revenue the measure puts at stake, reaches ``threshold``."""
        m = self.model
        sig, p = m.signals, self._retaliation
        self._us_seen = sig.us_chip_severity
        grievance = sig.us_chip_severity - self._answered
        if self._next >= len(p.measures):
            m.decisions.add(week, self.code, "no_retaliation", sig.level,
                            f"US chip controls: grievance {grievance:.3g}, no retaliatory measure left")
            return
        measure = p.measures[self._next]
        stake = china_stake(m.eco, measure)
        net = grievance - p.cost_weight * stake
        what = measure.label or f"{measure.instrument} of {', '.join(measure.commodities or [])}"
        weighed = (f"grievance {grievance:.3g} less revenue at stake {stake:.3g} x {p.cost_weight:g} = {net:.3g} "
                   f"{'>=' if net >= p.threshold else '<'} threshold {p.threshold:g}")
        if net < p.threshold:
            m.decisions.add(week, self.code, "no_retaliation", sig.level, f"US chip controls: {weighed}")
            return
        self._next += 1
        self._answered = sig.us_chip_severity
        sig.retaliation = [*sig.retaliation, measure]  # a new list: escalation puts it in force
        m.decisions.add(week, self.code, "retaliate", sig.level, f"US chip controls answered by {what}: {weighed}")

    def decide(self, week: int) -> None:
        m = self.model
        sig, esc = m.signals, m.config.escalation
        sig.china_choice = None
        if self._retaliation is not None and sig.us_chip_severity != self._us_seen:
            self._answer_us(week)
        if not self._endogenous:  # the script alone moves China: it weighs nothing, its moves are the script's
            lvl = self._levels[week]
            if lvl is not None and lvl != sig.level:
                m.decisions.add(week, self.code, "script", lvl, f"scripted move to level {lvl}")
            return
        figures = self.costs()
        w = esc.pain_window_weeks
        ring = self._costs
        ring[week % (w + 1)] = figures["cost_index"]
        self._n_costs += 1
        back = ring[(week - w) % (w + 1)] if self._n_costs > w else ring[(week - self._n_costs + 1) % (w + 1)]
        slope = (figures["cost_index"] - back) / min(w, max(self._n_costs - 1, 1))
        figures["cost_projected"] = figures["cost_index"] + esc.china_horizon_weeks * max(0.0, slope)
        pain = pain_pct_gdp(sig.output_loss, m.eco.gdp_lcu[self.target], self.target, week, w)
        if sig.level != self._level_seen:  # the script (or last week's choice) moved the level
            self._level_seen, self._since, self._pain_at_move = sig.level, week - 1, pain
        if not sig.conceded:
            self.resolve_estimate_pct_gdp = max(self.resolve_estimate_pct_gdp, pain)
        rho = pain / self.resolve_estimate_pct_gdp if self.resolve_estimate_pct_gdp > 0 else math.inf
        chance = 0.0 if rho <= 0 else (1.0 if math.isinf(rho) else _PHI(math.log(rho) / esc.china_resolve_uncertainty))
        figures.update(pain_pct_gdp=pain, resolve_pct_gdp=self.resolve_estimate_pct_gdp, concession_chance=chance)
        self.figures = figures
        if not self._endogenous or week < self._first_free:
            lvl = self._levels[week]
            if lvl is not None and lvl != sig.level:
                m.decisions.add(week, self.code, "script", lvl, f"scripted move to level {lvl}", **figures)
            return
        if sig.conceded:
            if not self._stood_down:  # log the stand-down once
                self._stood_down = True
                m.decisions.add(week, self.code, "calm", 0, "the target conceded", **figures)
            return
        tolerance = esc.china_cost_tolerance_share
        worth = tolerance + esc.concession_value * chance
        held = week - self._since
        gain = pain - (self._pain_at_move if self._pain_at_move is not None else 0.0)
        cost = figures["cost_projected"]
        level = sig.level
        if held < esc.min_weeks_per_level:
            decision, reason = "hold", f"held level {level} {held} of {esc.min_weeks_per_level} weeks"
        elif level > 0 and cost > worth:
            decision, reason = "step_down", (f"projected cost {cost:.3g} above tolerance {tolerance:.3g} + "
                                             f"concession worth {worth - tolerance:.3g}")
        elif level < self.top and cost < tolerance and (self._pain_at_move is None
                                                        or gain >= esc.min_pain_gain_pct_gdp):
            decision, reason = "escalate", (f"projected cost {cost:.3g} below tolerance {tolerance:.3g}; "
                                            f"pain {pain:.3g} short of resolve estimate "
                                            f"{self.resolve_estimate_pct_gdp:.3g}, up {gain:.3g} since the last move")
        else:
            why = ("top of the ladder" if level >= self.ladder_top else
                   f"level {level + 1} proved too costly" if level >= self.top else
                   f"projected cost {cost:.3g} not below tolerance {tolerance:.3g}" if cost >= tolerance else
                   f"the last move raised pain by {gain:.3g} only (< {esc.min_pain_gain_pct_gdp:.3g})")
            decision, reason = "hold", f"{why}; concession chance {chance:.2f}"
        if decision != "hold":
            if decision == "step_down":
                self.top = min(self.top, level - 1)  # a level left for its costs is not climbed again
            level += 1 if decision == "escalate" else -1
            sig.china_choice = level
            self._level_seen, self._since, self._pain_at_move = level, week, pain
        m.decisions.add(week, self.code, decision, level, reason, **figures)


def outside_chinese_edges(eco) -> np.ndarray:
    """The sourcing edges of buyers outside China (not traders) on which the material is of Chinese origin,
    direct or through hubs: what China sells abroad, by edge."""
    e = eco
    buyer = (e.pos_kind[e.edge_pos] != POS_TRADER) & (e.pos_country[e.edge_pos] != e.coercer)
    return np.flatnonzero(buyer & (e.edge_origin == e.coercer))


@kernel
def _cost_reading(prod_w, price_cn, price0_cn, w, x, idx):
    """China's weekly cost reading as numpy computes it, to the last bit (the products in order, then
    numpy's pairwise sum, :func:`~simulation.kernels.np_sum`), in one call: its producers' margin lost,
    ``(prod_w * np.maximum(0.0, 1.0 - price_cn / price0_cn)).sum()``, and the Chinese-origin share of
    outside buyers' sourcing (some 15,000 edges), ``(w * x[idx]).sum()``."""
    margin = np.empty(len(prod_w))
    for g in range(len(prod_w)):
        margin[g] = prod_w[g] * maximum(0.0, 1.0 - price_cn[g] / price0_cn[g])
    products = np.empty(len(idx))
    for i in range(len(idx)):
        products[i] = w[i] * x[idx[i]]
    return np_sum(margin), np_sum(products)


def cost_reading_reference(prod_w, price_cn, price0_cn, w, x, idx) -> tuple[float, float]:
    """:func:`_cost_reading` in numpy."""
    return (prod_w * np.maximum(0.0, 1.0 - price_cn / price0_cn)).sum(), (w * x[idx]).sum()


def _floors(sig, eco) -> np.ndarray:
    """A copy of the producers' price floors (countries x commodities; zeros where none yet)."""
    if sig.producer_floor.size:
        return sig.producer_floor.copy()
    return np.zeros((len(eco.countries), len(eco.commodities)))


def china_stake(eco, m: Measure) -> float:
    """The share of China's calm export revenue (outside buyers, calm inside prices, direct and through
    hubs) that an export control ``m`` toward its destinations on its commodities puts at stake."""
    e = eco
    cn = outside_chinese_edges(e)
    pos = e.edge_pos[cn]
    value = e.pos_base_use_t[pos] * e.edge_share[cn] * e.price0_cn[e.pos_commodity[pos]]
    total = value.sum()
    if total <= 0 or m.kind != "export_control":
        return 0.0
    dest = set(e.countries) - {e.countries[e.coercer]} if m.destinations == "all" else set(m.destinations)
    hit = (np.isin(e.pos_country[pos], [e.countries.index(c) for c in dest if c in e.countries])
           & np.isin(e.pos_commodity[pos], [e.commodities.index(c) for c in m.commodities or []]))
    return float(value[hit].sum() / total)


class USRole(Role):
    """The US: its dated chip controls on China (``signals.us_chip_severity``, which China answers or
    not), price floors for its producers (``signals.producer_floor``), and the projects of
    ``responders.us.invest_options`` it decides to finance once China controls their commodity toward
    it (``signals.project_online``).

    Args:
        agent: the US's state agent.
    """

    def __init__(self, agent: StateAgent):
        super().__init__(agent)
        cfg = agent.model.config
        us = cfg.responders.us
        self._chips: dict[int, list] = {}
        for c in us.chip_controls:  # a round dated before the clock starts is in force from week 0
            self._chips.setdefault(max(cfg.step_of(c.date), 0), []).append(c)
        self._floors: dict[int, list] = {}
        for f in us.price_floors:
            self._floors.setdefault(max(cfg.step_of(f.date), 0), []).append(f)
        self._options = list(us.invest_options)  # not decided yet
        self._lead = us.invest_lead_weeks

    def decide(self, week: int) -> None:
        m = self.model
        sig = m.signals
        for c in self._chips.get(week, ()):
            sig.us_chip_severity += c.severity
            m.decisions.add(week, self.code, "chip_controls", sig.level,
                            f"export controls on chips to China{' (' + c.label + ')' if c.label else ''}, severity "
                            f"{c.severity:g} (in force: {sig.us_chip_severity:g})")
        floors = self._floors.get(week)
        if floors:
            floor = _floors(sig, m.eco)
            for f in floors:
                j = m.eco.commodities.index(f.commodity)
                floor[self.index, j] = max(floor[self.index, j], f.floor_multiple)
                m.decisions.add(week, self.code, "price_floor", sig.level,
                                f"{f.commodity} producers guaranteed {f.floor_multiple:g}x the calm price")
            sig.producer_floor = floor
        if self._options:
            self._invest(week)

    def _invest(self, week: int) -> None:
        """Finance each option whose commodity China controls toward the US."""
        m = self.model
        sig, options = m.signals, m.config.world.project_options
        for key in list(self._options):
            com = options[key].commodity
            if (self.code, com) in sig.controls:
                self._options.remove(key)
                sig.project_online = {**sig.project_online, key: week + self._lead}
                m.decisions.add(week, self.code, "invest", sig.level,
                                f"finances {options[key].name}: China controls {com} toward the US; online in "
                                f"{self._lead} weeks")


class ForgeRole(Role):
    """FORGE as a coalition, decided by its chair's agent (logged as ``FORGE``): from
    ``responders.forge.from_date``, its members' producers are guaranteed ``price_floor_multiple`` of the
    calm price (``signals.producer_floor``; members' firms pay at least the floor for members' material,
    ``signals.forge_floor``), its members' buyers claim ``offtake_share`` of the members'
    spare capacity before the spot buyers (``signals.offtake_share``), its tariff on non-member minerals
    is ``tariff_share`` (``signals.forge_tariff_share``); and each week, when firms of a member hold fewer than
    ``release_trigger_days`` of cover of a commodity (or less than their own target, if lower: a firm that
    keeps a thin stock in calm is not short), every member's stockpile of it releases together
    (``signals.release_pool``, read by the inventories mechanism).

    Args:
        agent: the chair's state agent.
    """

    name = "FORGE"

    @staticmethod
    def acts(cfg) -> bool:
        """Whether the coalition has anything to do (else it gets no role and costs nothing)."""
        f = cfg.responders.forge
        return (f.price_floor_multiple > 0 or f.release_trigger_days > 0 or f.offtake_share > 0
                or f.tariff_share is not None)

    def __init__(self, agent: StateAgent):
        super().__init__(agent)
        m = agent.model
        cfg, e = m.config, m.eco
        self.p = cfg.responders.forge
        self._from = max(cfg.step_of(self.p.from_date), 0)
        self.members = np.array([cfg.world.countries[c].forge_member for c in e.countries])
        self._floored = False
        n_com = len(e.commodities)
        mf = np.flatnonzero((e.pos_kind == POS_MANUFACTURER) & self.members[e.pos_country])
        self._mf, self._mf_cc = mf, e.pos_cc[mf]
        self._days = np.minimum(self.p.release_trigger_days, e.pos_target_days[mf]) / 7.0  # weeks of use
        self._member_cc = np.repeat(self.members, n_com)  # country-commodity groups of the members
        self._cc_com = np.tile(np.arange(n_com), len(e.countries))
        self._pooled = np.zeros(n_com, bool)  # the commodities released together now

    def decide(self, week: int) -> None:
        if week < self._from:
            return
        m = self.model
        sig = m.signals
        if not self._floored:
            self._floored = True
            if self.p.price_floor_multiple > 0:
                floor = _floors(sig, m.eco)
                floor[self.members] = np.maximum(floor[self.members], self.p.price_floor_multiple)
                sig.producer_floor = floor
                sig.forge_floor = self.p.price_floor_multiple  # members' firms pay it for members' material
                names = ", ".join(c for c, k in zip(m.eco.countries, self.members, strict=True) if k)
                m.decisions.add(week, self.name, "forge_floor", sig.level,
                                f"members' producers ({names}) guaranteed {self.p.price_floor_multiple:g}x the "
                                "calm price")
            if self.p.offtake_share > 0:
                sig.offtake_share = np.where(self.members, self.p.offtake_share, 0.0)
                m.decisions.add(week, self.name, "forge_offtake", sig.level,
                                f"members' buyers claim {self.p.offtake_share:g} of members' spare capacity "
                                "before the spot buyers")
            if self.p.tariff_share is not None:
                sig.forge_tariff_share = self.p.tariff_share
                m.decisions.add(week, self.name, "forge_tariff", sig.level,
                                f"tariff of {self.p.tariff_share:g} on non-member minerals in members' landed "
                                "prices")
        if self.p.release_trigger_days > 0:
            self._release(week)

    def _release(self, week: int) -> None:
        """Pool the commodities of which a member's firms are short of cover (last week's)."""
        m = self.model
        s, e, sig = m.state, m.eco, m.signals
        n_cc = e.n_cc
        req, inv = s.required[self._mf], s.inventory[self._mf]
        # a firm is short below the trigger, or below its own target if that is lower (as the agencies see it)
        need = np.maximum(req * self._days - inv, 0.0)
        use = np.bincount(self._mf_cc, req, minlength=n_cc)
        short = np.bincount(self._mf_cc, need, minlength=n_cc) > 1e-9 * use  # not a rounding error's worth
        cover = np.divide(np.bincount(self._mf_cc, inv, minlength=n_cc) * 7.0, use, out=np.full(n_cc, np.inf),
                          where=use > 0)
        pooled = np.zeros(len(self._pooled), bool)
        pooled[self._cc_com[short]] = True
        if np.array_equal(pooled, self._pooled):
            return
        started, ended = pooled & ~self._pooled, self._pooled & ~pooled
        self._pooled = pooled
        sig.release_pool = self._member_cc & pooled[self._cc_com] if pooled.any() else np.zeros(0, bool)
        n_com = len(e.commodities)
        for j in np.flatnonzero(started):
            who = [f"{e.countries[c // n_com]} ({cover[c]:.3g} days)" for c in np.flatnonzero(short)
                   if c % n_com == j]
            m.decisions.add(week, self.name, "coordinated_release", sig.level,
                            f"{e.commodities[j]}: members short of cover ({', '.join(who)}, below "
                            f"{self.p.release_trigger_days:g} days): every member releases")
        for j in np.flatnonzero(ended):
            m.decisions.add(week, self.name, "end_release", sig.level,
                            f"{e.commodities[j]}: no member below {self.p.release_trigger_days:g} days of cover")


class HubRole(Role):
    """A transit hub under China's secondary boycott: it cooperates (its customs enforce the boycott on
    its traders) when what it expects to lose in trade with China by refusing,
    ``china_trade_share_gdp * china_penalty_share * enforcement``, is at least what cooperating costs it
    with the target and its allies, ``target_trade_share_gdp * backlash_share``
    (``signals.hub_cooperation``). It decides when the boycott or its enforcement changes.

    Args:
        agent: the hub's state agent.
    """

    def __init__(self, agent: StateAgent):
        super().__init__(agent)
        cfg = agent.model.config
        self.p = cfg.responders.hubs
        self.spec = self.p.countries[self.code]
        self._seen: float | None = None  # the enforcement it decided on

    def decide(self, week: int) -> None:
        m = self.model
        sig = m.signals
        if not sig.secondary_boycott or sig.enforcement == self._seen:
            return
        self._seen = sig.enforcement
        refuse_cost = self.spec.china_trade_share_gdp * self.p.china_penalty_share * sig.enforcement
        coop_cost = self.spec.target_trade_share_gdp * self.p.backlash_share
        coop = refuse_cost >= coop_cost
        c = sig.hub_cooperation.copy() if sig.hub_cooperation.size else np.ones(len(m.eco.countries))
        c[self.index] = 1.0 if coop else 0.0
        sig.hub_cooperation = c
        m.decisions.add(week, self.code, "cooperate" if coop else "refuse_cooperation", sig.level,
                        f"trade with China at risk if it refuses {refuse_cost:.3g} of GDP "
                        f"{'>=' if coop else '<'} trade at risk if it cooperates {coop_cost:.3g} (enforcement "
                        f"{sig.enforcement:g})")


class Roles(Role):
    """Several roles of one state, decided in the order given (a FORGE chair that is also the US).

    Args:
        agent: the state agent.
        roles: its roles.
    """

    def __init__(self, agent: StateAgent, roles: list[Role]):
        super().__init__(agent)
        self.roles = roles

    def decide(self, week: int) -> None:
        for role in self.roles:
            role.decide(week)


def _give(agent: StateAgent, role: Role) -> None:
    """Add ``role`` to ``agent``'s roles (a :class:`Roles` once it has two)."""
    if agent.role is None:
        agent.role = role
    elif isinstance(agent.role, Roles):
        agent.role.roles.append(role)
    else:
        agent.role = Roles(agent, [agent.role, role])


def forge_chair(cfg) -> str | None:
    """The FORGE member whose agent decides for the coalition: ``responders.forge.chair``, else the first
    member that is neither the coercer nor the target (None: no member)."""
    f = cfg.responders.forge
    if f.chair is not None:
        return f.chair
    sc = cfg.scenario
    members = [c for c, ctry in cfg.world.countries.items() if ctry.forge_member]
    others = [c for c in members if c not in (sc.coercer, sc.target)]
    return (others or members or [None])[0]


def make_states(model: mesa.Model) -> tuple[dict[str, StateAgent], AgentSet]:
    """The model's states by code, and the AgentSet that steps them: the target, China, then the rest
    in the world's order.

    The target gets a :class:`TargetRole`, China a :class:`CoercerRole`; the responders a scenario
    switches on (``responders``) get theirs: the US a :class:`USRole` (chip controls, price floors,
    projects), FORGE's chair a :class:`ForgeRole` (the coalition's floors and coordinated releases), each
    hub of ``responders.hubs.countries`` a :class:`HubRole`. A responder not switched on gets no role
    and costs nothing.

    Args:
        model: the model (its ``eco``, ``config``, ``streams``, ``signals``, ``decisions``).
    """
    cfg = model.config
    sc, r = cfg.scenario, cfg.responders
    states = {code: StateAgent(model, code) for code in model.eco.countries}
    states[sc.target].role = TargetRole(states[sc.target])
    states[sc.coercer].role = CoercerRole(states[sc.coercer])
    if r.us.chip_controls or r.us.price_floors or r.us.invest_options:
        _give(states[r.us.country], USRole(states[r.us.country]))
    chair = forge_chair(cfg)
    if r.forge.from_date is not None and chair is not None and ForgeRole.acts(cfg):
        _give(states[chair], ForgeRole(states[chair]))
    for code in r.hubs.countries:
        _give(states[code], HubRole(states[code]))
    order = [states[sc.target], states[sc.coercer]] + [a for c, a in states.items() if c not in (sc.target, sc.coercer)]
    return states, AgentSet(order, random=model.random)
