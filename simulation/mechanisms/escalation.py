"""Escalation: China's position on the ladder, the measures in force, the target's choice.

Scripted weeks follow the dated moves of ``escalation.script`` (a move applies from the
week containing its ``effective_date``, or its ``date`` if none). Between a move's ``date``
(the announcement) and its effective date, the commodities of the export controls it will
bring are published as announced. Measures are cumulative: level L puts in force the
measures of levels 1..L. The dated record (``escalation.record``) adds its measures between
their effective and lifted dates, whatever the level (announced from their announcement).

Endogenous weeks (``mode = "endogenous"``, or after the script with
``after_script = "endogenous"``):

1. **The target decides.** Its pain is its output loss over the last
   ``pain_window_weeks``, annualized, in % of GDP. It concedes when the pain exceeds its
   resolve ``target_resolve_pct_gdp`` times a weekly log-normal draw (sigma
   ``resolve_noise_share``). On a concession China returns to calm and stays there.
2. **China weighs its costs.** Its cost index is the share of its calm export revenue
   (outside buyers, inside prices) it lost plus ``market_share_weight`` times the world
   market share (by value) it lost to non-Chinese supply. Above
   ``china_cost_tolerance_share`` it steps down a level with probability
   ``deescalation_hazard_per_week``.
3. **Otherwise it climbs** a level with probability ``escalation_hazard_per_week`` per
   week once it has held its level ``min_weeks_per_level`` weeks, up to ``max_level``.

Every week draws the same three numbers from the escalation stream (common random
numbers), whatever is decided.
"""

from __future__ import annotations

import numpy as np

from simulation.config import Measure
from simulation.mechanisms.base import Context, Mechanism
from simulation.signals import ControlSpec


def _normal(u: float) -> float:
    """Standard normal quantile of a uniform draw (keeps one draw per decision)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(min(max(u, 1e-12), 1 - 1e-12))


def measures_in_force(levels, level: int) -> list[Measure]:
    """All measures of levels 1..level (level 0 is calm)."""
    return [m for lvl in levels[1 : level + 1] for m in lvl.measures]


def destinations(m: Measure, countries, coercer: str, target: str) -> list[str]:
    """The destination countries of export control ``m``."""
    if m.destinations == "target":
        return [target]
    if m.destinations == "all":
        return [c for c in countries if c != coercer]
    return list(m.destinations)


def quotas(measures: list[Measure]) -> dict[str, float]:
    """China's export quota per commodity among ``measures``, t/week (the tightest if several)."""
    out: dict[str, float] = {}
    for m in measures:
        if m.kind == "export_control" and m.instrument == "quota":
            for c, q in m.quota_t_per_year.items():
                out[c] = min(out.get(c, np.inf), q / 52.0)
    return out


def control_specs(measures: list[Measure], countries, coercer: str, target: str) -> dict[tuple[str, str], ControlSpec]:
    """The most restrictive export control per (destination country, commodity) among the
    measures: a ban wins over licensing (for the end uses it covers); otherwise the lowest approval probabilities, the
    longest delay, the shortest validity, and all end uses if any measure covers them."""
    specs: dict[tuple[str, str], ControlSpec] = {}
    for m in measures:
        if m.kind != "export_control" or m.instrument == "quota":
            continue
        new = ControlSpec(
            m.approval_probability if m.end_use == "all" else 1.0,
            m.military_approval_probability,
            m.delay_weeks,
            m.license_validity_weeks,
            m.end_use == "all",
            m.instrument == "ban" and m.end_use == "all",
            m.instrument == "ban",
        )
        for key in ((d, c) for d in destinations(m, countries, coercer, target) for c in m.commodities):
            old = specs.get(key)
            specs[key] = new if old is None else ControlSpec(
                min(old.approval_probability, new.approval_probability),
                min(old.military_approval_probability, new.military_approval_probability),
                max(old.delay_weeks, new.delay_weeks),
                min(old.license_validity_weeks, new.license_validity_weeks),
                old.all_end_uses or new.all_end_uses,
                old.ban or new.ban,
                old.military_ban or new.military_ban,
            )
    return specs


class Escalation(Mechanism):
    """Moves China on the ladder and publishes the measures in force.

    Publishes in the signals: ``level``, ``stage`` (level name), ``measures`` (list),
    ``controls`` ((destination, commodity) -> :class:`ControlSpec`), ``secondary_boycott`` (bool),
    ``boycott_commodities``,
    ``enforcement`` (0-1), ``trade_ban_loss_share`` (share of the target's GDP a year), and
    ``conceded``/``concession_step``. Reads the pain series ``signals.output_loss``, China's
    revenue and world share in the state, and their calm references in the signals.
    """

    name = "escalation"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        cfg = self.config
        esc = cfg.escalation
        self.levels = esc.levels
        self.script_steps = np.array([cfg.step_of(ev.effective_date or ev.date) for ev in esc.script], dtype=int)
        self.script_levels = np.array([ev.level for ev in esc.script], dtype=int)
        self.script_end = int(self.script_steps.max()) if len(self.script_steps) else -1
        self.endogenous = esc.mode == "endogenous" or esc.after_script == "endogenous"
        # the scripted level of each week (None before the first move), looked up by step
        move = np.full(cfg.clock_steps, -1)
        for i, s in enumerate(self.script_steps):
            move[max(s, 0):] = i  # a later move in the script overrides the earlier ones
        self._scripted = [None if i < 0 else int(self.script_levels[i]) for i in move]
        # commodities announced and not yet in force, by week; the record's measures in force
        self._announced: list[frozenset[str]] = [frozenset()] * cfg.clock_steps
        for ev, eff in zip(esc.script, self.script_steps, strict=True):
            self._announce(measures_in_force(self.levels, ev.level), cfg.step_of(ev.date), eff)
        self._record_at: list[tuple[int, ...]] = [()] * cfg.clock_steps
        for i, m in enumerate(esc.record):
            eff = cfg.step_of(m.effective)
            end = cfg.clock_steps if m.lifted is None else min(cfg.step_of(m.lifted), cfg.clock_steps)
            self._announce([m], cfg.step_of(m.announced), eff)
            for t in range(max(eff, 0), end):
                self._record_at[t] = self._record_at[t] + (i,)
        self._record_now = self._record_at[0]
        self._apply(0, 0)

    def _announce(self, measures: list[Measure], announced: int, effective: int) -> None:
        """Publish the export controls' commodities of ``measures`` as announced from week
        ``announced`` until ``effective``."""
        coming = frozenset(c for m in measures if m.kind == "export_control" for c in m.commodities)
        for t in range(max(announced, 0), min(effective, len(self._announced))):
            self._announced[t] = self._announced[t] | coming

    def scripted_level(self, step: int) -> int | None:
        """Level set by the script for ``step`` (a week of the horizon), or None before the first move."""
        return self._scripted[step]

    def step(self, t: int) -> None:
        sig = self.signals
        draws = self.rng.random(3)
        if self._record_at[t] != self._record_now:
            self._record_now = self._record_at[t]
            self._publish(t)
        if self._announced[t] is not self._announced[t - 1]:  # the announcements change (rarely)
            sig.announced = self._announced[t] - self._controlled()
            sig.alert = self._controlled() | sig.announced
        if not self.endogenous or t <= self.script_end:
            lvl = self.scripted_level(t)
            if lvl is not None and lvl != sig.level:
                self._apply(lvl, t)
            return
        if sig.conceded:
            return
        esc = self.config.escalation
        if self.pain(t) > esc.target_resolve_pct_gdp * np.exp(esc.resolve_noise_share * _normal(draws[0])):
            sig.conceded = True
            sig.concession_step = t
            self._apply(0, t)
            return
        top = len(self.levels) - 1 if esc.max_level is None else esc.max_level
        if self.china_cost() > esc.china_cost_tolerance_share and sig.level > 0:
            if draws[1] < esc.deescalation_hazard_per_week:
                self._apply(sig.level - 1, t)
        elif t - self.since >= esc.min_weeks_per_level and sig.level < top:
            if draws[2] < esc.escalation_hazard_per_week:
                self._apply(sig.level + 1, t)

    def pain(self, t: int) -> float:
        """The target's output loss over the last weeks, annualized, % of GDP."""
        e = self.eco
        w = self.config.escalation.pain_window_weeks
        lost = self.signals.output_loss[max(0, t - w):t, e.target]
        if len(lost) == 0:
            return 0.0
        return float(lost.mean() * 52.0 / e.gdp_lcu[e.target] * 100.0)

    def china_cost(self) -> float:
        """Export revenue lost (share of calm) plus weighted world market share lost."""
        s, sig = self.state, self.signals
        if s.cn_export_usd is None or sig.cn_export0_usd <= 0:
            return 0.0
        lost_revenue = max(0.0, 1.0 - s.cn_export_usd / sig.cn_export0_usd)
        lost_share = max(0.0, sig.cn_world_share0 - s.cn_world_share)
        return lost_revenue + self.config.escalation.market_share_weight * lost_share

    def _controlled(self) -> frozenset[str]:
        """The commodities under an export control (licensing, ban or quota) toward any destination."""
        sig = self.signals
        return frozenset(c for _, c in sig.controls) | frozenset(sig.quotas)

    def _apply(self, level: int, t: int) -> None:
        """Move to ``level`` in week ``t`` and publish what is then in force."""
        self.since = t
        self.signals.level = level
        self.signals.stage = self.levels[level].name
        self._publish(t)

    def _publish(self, t: int) -> None:
        """Publish the measures in force in week ``t``: the ladder's up to the level, the record's."""
        sig = self.signals
        record = self.config.escalation.record
        sig.measures = measures_in_force(self.levels, sig.level) + [record[i] for i in self._record_now]
        sc = self.config.scenario
        sig.controls = control_specs(sig.measures, self.config.world.countries, sc.coercer, sc.target)
        sig.quotas = quotas(sig.measures)
        sig.announced = self._announced[t] - self._controlled()
        sig.alert = self._controlled() | sig.announced
        boycott = [x for x in sig.measures if x.kind == "secondary_boycott"]
        sig.secondary_boycott = bool(boycott)
        sig.boycott_commodities = frozenset(c for x in boycott for c in x.commodities)
        sig.enforcement = max((x.enforcement for x in boycott), default=0.0)
        sig.trade_ban_loss_share = sum(
            x.target_loss_share_gdp_per_year for x in sig.measures if x.kind == "trade_ban"
        )
