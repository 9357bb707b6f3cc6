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

from simulation.kernels import kernel, maximum, minimum
from simulation.mechanisms.base import Context, Mechanism
from simulation.population import MANUFACTURER, POS_MANUFACTURER


class Output(Mechanism):
    """Value added and jobs lost, by firm and country."""

    name = "output"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        e, cfg = self.eco, self.config
        self.manuf_pos = np.flatnonzero(e.pos_kind == POS_MANUFACTURER)
        firms = np.flatnonzero((e.firm_kind == MANUFACTURER) & (e.firm_pos_start >= 0))
        self.firms = firms
        self.starts = e.firm_pos_start[firms]
        self.gdp, self.employment = e.gdp_lcu, e.employment
        self.multiplier = cfg.world.output.induced_multiplier
        lam = cfg.world.output.leontief_share
        crit = e.pos_criticality[self.manuf_pos]
        self.criticality = crit if lam == 0 else crit + lam * (1.0 - crit)
        self.elasticity = cfg.world.output.employment_elasticity
        # each firm's positions, as places among the manufacturers' positions
        self._pos = self.manuf_pos.astype(np.uint32)
        self._firms = firms.astype(np.uint32)
        self._starts = np.searchsorted(self.manuf_pos, self.starts).astype(np.uint32)
        self._firm_country = e.firm_country.astype(np.uint32)

    def step(self, t: int) -> None:
        e, s = self.eco, self.state
        s.firm_output_loss_share, s.output_loss, s.jobs_lost = _output_kernel(
            s.required, s.use, self._pos, self.criticality, self._firms, self._starts, e.firm_va_week,
            self.multiplier, self._firm_country, e.target, self.signals.trade_ban_loss_share, self.gdp, self.employment,
            self.elasticity)
        self.signals.output_loss[t] = s.output_loss


@kernel
def _output_kernel(required, use, pos, criticality, firms, starts, va, multiplier, firm_country, target,
                   trade_ban_loss_share, gdp, employment, elasticity):
    """Each firm's output loss share (the worst criticality-weighted shortfall over its
    positions ``starts[k]`` up to the next firm's, as ``np.maximum.reduceat``), value added
    lost by country, and jobs lost.

    Returns:
        (loss share per firm, loss per country, jobs lost per country)
    """
    n_firms, n = len(va), len(pos)
    firm_loss = np.zeros(n_firms)
    for k in range(len(firms)):
        lo = starts[k]
        hi = starts[k + 1] if k + 1 < len(firms) else n
        worst = 0.0
        for j in range(lo, max(hi, lo + 1)):
            req = required[pos[j]]
            met = use[pos[j]] / req if req > 0 else 1.0
            met = minimum(maximum(met, 0.0), 1.0)
            short = criticality[j] * (1.0 - met)
            worst = short if j == lo else maximum(worst, short)
        firm_loss[firms[k]] = worst
    loss = np.zeros(len(gdp))
    for f in range(n_firms):
        loss[firm_country[f]] += va[f] * firm_loss[f] * multiplier
    loss[target] += trade_ban_loss_share * gdp[target] / 52.0
    jobs = np.empty(len(gdp))
    for c in range(len(gdp)):
        jobs[c] = employment[c] * elasticity * loss[c] * 52.0 / gdp[c]
    return firm_loss, loss, jobs

