"""Output: shortages of critical inputs cut value added, jobs follow.

A manufacturer's input ``i`` is met to the fraction ``f_i = use_i / required_i``. Its
output falls by the worst of its inputs, weighted by criticality (partially binding
Leontief): ``loss = max_i criticality_i * (1 - f_i)``; a criticality of 1 is a binding
Leontief input, 0 a fully substitutable one. ``leontief_share`` moves every criticality
toward 1 (``c + share * (1 - c)``): 1 is the fixed-coefficient view. Lost value added is
``value_added * loss * induced_multiplier``; the target of a ``trade_ban`` loses its share
of GDP too. Jobs lost in a week are
``employment * employment_elasticity * (weekly loss * 52 / GDP)``.
"""

from __future__ import annotations

import numpy as np

from simulation.mechanisms.base import Mechanism, span
from simulation.population import MANUFACTURER, POS_MANUFACTURER


class Output(Mechanism):
    """Value added and jobs lost, by firm and country."""

    name = "output"

    def __init__(self, model):
        super().__init__(model)
        e, cfg = model.eco, model.config
        self.manuf_pos = np.flatnonzero(e.pos_kind == POS_MANUFACTURER)
        firms = np.flatnonzero((e.firm_kind == MANUFACTURER) & (e.firm_pos_start >= 0))
        self.firms = firms
        self.starts = e.firm_pos_start[firms]
        ctry = [cfg.world.countries[c] for c in e.countries]
        self.gdp = np.array([c.gdp_lcu_per_year for c in ctry])
        self.employment = np.array([c.employment for c in ctry])
        self.multiplier = cfg.world.output.induced_multiplier
        lam = cfg.world.output.leontief_share
        crit = e.pos_criticality[self.manuf_pos]
        self.criticality = crit if lam == 0 else crit + lam * (1.0 - crit)
        self.elasticity = cfg.world.output.employment_elasticity
        self._pos = span(e.pos_kind == POS_MANUFACTURER)  # a contiguous range: a slice
        self._firm_country = e.firm_country.astype(np.intp)
        self._starts = self.starts - self.manuf_pos[0] if len(self.starts) else self.starts

    def step(self) -> None:
        m, e, s = self.model, self.model.eco, self.model.state
        p = self._pos
        req = s.required[p]
        met = np.divide(s.use[p], req, out=np.ones(len(req)), where=req > 0)
        short = self.criticality * (1.0 - np.clip(met, 0.0, 1.0))
        firm_loss = np.zeros(e.n_firms)
        if len(self.starts):
            firm_loss[self.firms] = np.maximum.reduceat(short, self._starts)
        s.firm_output_loss_share = firm_loss
        lost = e.firm_va_week * firm_loss * self.multiplier
        loss = np.bincount(self._firm_country, lost, minlength=len(e.countries))
        loss[e.target] += m.trade_ban_loss_share * self.gdp[e.target] / 52.0
        s.output_loss = loss
        s.jobs_lost = self.employment * self.elasticity * loss * 52.0 / self.gdp
