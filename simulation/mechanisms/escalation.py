"""Escalation: China's position on the ladder, the measures in force, the target's choice.

Scripted weeks follow the dated moves of ``escalation.script`` (a move applies from the
week containing its ``effective_date``, or its ``date`` if none). Between a move's ``date``
(the announcement) and its effective date, the commodities of the export controls it will
bring are published as announced. Measures are cumulative: level L puts in force the
measures of levels 1..L. The dated record (``escalation.record``) adds its measures between
their effective and lifted dates, whatever the level (announced from their announcement).

Endogenous weeks (``mode = "endogenous"``, or after a non-empty script with
``after_script = "endogenous"``; never in the history before the analysis): the states
decide before the mechanisms run (:mod:`simulation.states`), and this mechanism carries out
what they chose through the signals:

1. **The target concedes** if it chose to (``signals.target_concedes``): China returns to
   calm and stays there.
2. **Otherwise China moves** to the level it chose (``signals.china_choice``), clamped to
   the ladder and ``max_level``.

China's retaliatory measures toward the US (``signals.retaliation``, chosen by China's
``decide()`` in answer to US chip controls) are in force beside the ladder and the record, whatever
the level and after a concession (they answer the US, not the target).

The mechanism draws no random numbers: the states' choices carry the randomness of the run
(each from its own stream).
"""

from __future__ import annotations

import numpy as np

from simulation.config import Measure
from simulation.kernels import kernel, np_sum
from simulation.mechanisms.base import Context, Mechanism
from simulation.signals import ControlSpec


def scripted_levels(cfg) -> tuple[list[int | None], int, bool]:
    """The script as a schedule: the level it sets for each week of the clock (None before its
    first move), the first week the states decide (after the last scripted move, and not in the
    history: the campaign starts with the analysis), and whether they decide at all.

    Args:
        cfg: the config (its ``escalation`` and clock).
    """
    esc = cfg.escalation
    steps = [cfg.step_of(ev.effective_date or ev.date) for ev in esc.script]
    move = np.full(cfg.clock_steps, -1)
    for i, s in enumerate(steps):
        move[max(s, 0):] = i  # a later move in the script overrides the earlier ones
    levels = [None if i < 0 else int(esc.script[i].level) for i in move]
    # after_script needs a script to come after: without one there is no campaign to continue
    endogenous = esc.mode == "endogenous" or (esc.after_script == "endogenous" and bool(steps))
    return levels, max(max(steps, default=-1) + 1, cfg.history_steps), endogenous


@kernel
def _column_sum(a, start, stop, column):
    """``a[start:stop, column].sum()`` as numpy computes it, to the last bit (its pairwise sum over the
    column, :func:`~simulation.kernels.np_sum`), without numpy's per-call overhead (the states read
    their pain twice a week)."""
    return np_sum(a[start:stop, column])


def pain_pct_gdp(output_loss: np.ndarray, gdp_lcu: float, country: int, t: int, window: int) -> float:
    """A country's output loss over the ``window`` weeks before week ``t``, annualized, % of GDP
    (the mean as ``np.mean``: the sum, then divided by the count)."""
    start = max(0, t - window)
    n = len(output_loss[start:t])
    if n == 0:
        return 0.0
    return float(_column_sum(output_loss, start, t, country) / n * 52.0 / gdp_lcu * 100.0)


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
    longest delay, the shortest validity, all end uses if any measure covers them, and refusals that
    stand if any measure's do."""
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
            m.refusals == "standing",
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
                old.standing_refusals or new.standing_refusals,
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
        self._scripted, self.first_free, self.endogenous = scripted_levels(cfg)
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
        self._retaliation: list[Measure] = self.signals.retaliation  # China's answers to the US, as published
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
        if self._record_at[t] != self._record_now or sig.retaliation is not self._retaliation:
            self._record_now = self._record_at[t]
            self._retaliation = sig.retaliation  # China answered US chip controls (a new list: states.py)
            self._publish(t)
        if self._announced[t] is not self._announced[t - 1]:  # the announcements change (rarely)
            sig.announced = self._announced[t] - self._controlled()
            sig.alert = self._controlled() | sig.announced
        if not self.endogenous or t < self.first_free:
            lvl = self.scripted_level(t)
            if lvl is not None and lvl != sig.level:
                self._apply(lvl, t)
            return
        if sig.conceded:
            return
        if sig.target_concedes:
            sig.conceded = True
            sig.concession_step = t
            self._apply(0, t)
            return
        esc = self.config.escalation
        top = len(self.levels) - 1 if esc.max_level is None else min(esc.max_level, len(self.levels) - 1)
        if sig.china_choice is not None:
            lvl = min(max(int(sig.china_choice), 0), top)
            if lvl != sig.level:
                self._apply(lvl, t)

    def _controlled(self) -> frozenset[str]:
        """The commodities under an export control (licensing, ban or quota) toward any destination."""
        sig = self.signals
        return frozenset(c for _, c in sig.controls) | frozenset(sig.quotas)

    def _apply(self, level: int, t: int) -> None:
        """Move to ``level`` in week ``t`` and publish what is then in force."""
        self.signals.level = level
        self.signals.stage = self.levels[level].name
        self._publish(t)

    def _publish(self, t: int) -> None:
        """Publish the measures in force in week ``t``: the ladder's up to the level, the record's."""
        sig = self.signals
        record = self.config.escalation.record
        sig.measures = (measures_in_force(self.levels, sig.level) + [record[i] for i in self._record_now]
                        + sig.retaliation)
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
