"""Output: shortages of critical inputs cut value added, jobs follow.

A manufacturer's input ``i`` is met to the fraction ``f_i = use_i / required_i``. Its
output falls by the worst of its inputs, weighted by criticality (partially binding
Leontief): ``loss = max_i criticality_i * (1 - f_i)``; a criticality of 1 is a binding
Leontief input, 0 a fully substitutable one. ``leontief_share`` moves every criticality
toward 1 (``c + share * (1 - c)``): 1 is the fixed-coefficient view. Lost value added is
``value_added * loss * induced_multiplier``; the target of a ``trade_ban`` loses its share
of GDP too. A country's loss in a week is capped at its weekly GDP (it cannot lose more
than it produces; no shipped scenario comes near). Jobs lost in a week are
``employment * employment_elasticity * (weekly loss * 52 / GDP)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from simulation.kernels import implementation, kernel, maximum, minimum
from simulation.mechanisms.base import Context, Mechanism
from simulation.population import MANUFACTURER, POS_MANUFACTURER


class OutputFixed(NamedTuple):
    """What the output kernel reads that never changes."""

    pos: np.ndarray  # the manufacturers' positions, grouped by firm
    criticality: np.ndarray  # per manufacturers' position, after ``leontief_share``
    firms: np.ndarray  # manufacturers with inputs
    starts: np.ndarray  # each of those firms' first place in ``pos``
    va: np.ndarray  # value added per firm, LCU/week
    firm_country: np.ndarray
    gdp: np.ndarray  # per country, LCU/year
    employment: np.ndarray  # per country
    multiplier: float  # induced multiplier
    elasticity: float  # employment elasticity
    target: int
    com: np.ndarray  # per manufacturers' position, its commodity
    n_com: int


class Output(Mechanism):
    """Value added and jobs lost, by firm and country."""

    name = "output"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        e, cfg = self.eco, self.config
        manuf_pos = np.flatnonzero(e.pos_kind == POS_MANUFACTURER)
        firms = np.flatnonzero((e.firm_kind == MANUFACTURER) & (e.firm_pos_start >= 0))
        lam = cfg.world.output.leontief_share
        crit = e.pos_criticality[manuf_pos]
        # each firm's positions, as places among the manufacturers' positions
        self.fixed = OutputFixed(
            pos=manuf_pos.astype(np.uint32), criticality=crit if lam == 0 else crit + lam * (1.0 - crit),
            firms=firms.astype(np.uint32),
            starts=np.searchsorted(manuf_pos, e.firm_pos_start[firms]).astype(np.uint32),
            va=e.firm_va_week, firm_country=e.firm_country.astype(np.uint32), gdp=e.gdp_lcu,
            employment=e.employment, multiplier=float(cfg.world.output.induced_multiplier),
            elasticity=float(cfg.world.output.employment_elasticity), target=int(e.target),
            com=e.pos_commodity[manuf_pos].astype(np.intp), n_com=len(e.commodities))
        self._kernel = implementation(_output_kernel, output_reference)

    def step(self, t: int) -> None:
        s = self.state
        s.firm_output_loss_share, s.output_loss, s.jobs_lost, s.output_loss_by_commodity = self._kernel(
            self.fixed, s.required, s.use, float(self.signals.trade_ban_loss_share))
        self.signals.output_loss[t] = s.output_loss


@kernel
def _output_kernel(fx, required, use, trade_ban_loss_share):
    """Each firm's output loss share (the worst criticality-weighted shortfall over its
    positions ``starts[k]`` up to the next firm's, as ``np.maximum.reduceat``), value added
    lost by country (at most the week's GDP), jobs lost, and the loss by the commodity that
    binds (:func:`output_reference` in numpy).

    A firm's loss is its binding input's: the first of its inputs with the worst shortfall.
    The loss by commodity adds each firm's loss to its binding commodity, and the target's
    trade-ban loss to a last column; where the cap at the week's output binds, a country's
    row is scaled to the capped total.

    Returns:
        (loss share per firm, loss per country, jobs lost per country, loss per country and
        commodity with the trade-ban loss last)
    """
    pos, criticality, firms, starts, va, gdp = fx.pos, fx.criticality, fx.firms, fx.starts, fx.va, fx.gdp
    n_firms, n = len(va), len(pos)
    firm_loss = np.zeros(n_firms)
    binding = np.full(n_firms, -1, np.intp)
    for k in range(len(firms)):
        lo = starts[k]
        hi = starts[k + 1] if k + 1 < len(firms) else n
        worst = 0.0
        for j in range(lo, max(hi, lo + 1)):
            req = required[pos[j]]
            met = use[pos[j]] / req if req > 0 else 1.0
            met = minimum(maximum(met, 0.0), 1.0)
            short = criticality[j] * (1.0 - met)
            if short > 0.0 and (binding[firms[k]] < 0 or short > worst):
                binding[firms[k]] = fx.com[j]
            worst = short if j == lo else maximum(worst, short)
        firm_loss[firms[k]] = worst
    loss = np.zeros(len(gdp))
    by_com = np.zeros((len(gdp), fx.n_com + 1))
    for f in range(n_firms):
        lost = va[f] * firm_loss[f] * fx.multiplier
        loss[fx.firm_country[f]] += lost
        if binding[f] >= 0:
            by_com[fx.firm_country[f], binding[f]] += lost
    loss[fx.target] += trade_ban_loss_share * gdp[fx.target] / 52.0
    by_com[fx.target, fx.n_com] += trade_ban_loss_share * gdp[fx.target] / 52.0
    jobs = np.empty(len(gdp))
    for c in range(len(gdp)):
        capped = minimum(loss[c], gdp[c] / 52.0)  # never more than the week's output
        if capped < loss[c]:
            for m in range(fx.n_com + 1):
                by_com[c, m] *= capped / loss[c]
        loss[c] = capped
        jobs[c] = fx.employment[c] * fx.elasticity * loss[c] * 52.0 / gdp[c]
    return firm_loss, loss, jobs, by_com


def output_reference(fx: OutputFixed, required: np.ndarray, use: np.ndarray, trade_ban_loss_share: float):
    """:func:`_output_kernel` in numpy."""
    req, got = required[fx.pos], use[fx.pos]
    met = np.clip(np.divide(got, req, out=np.ones_like(req), where=req > 0), 0.0, 1.0)
    short = fx.criticality * (1.0 - met)
    firm_loss = np.zeros(len(fx.va))
    if len(fx.firms):
        firm_loss[fx.firms] = np.maximum.reduceat(short, fx.starts.astype(np.intp))
    lost = fx.va * firm_loss * fx.multiplier
    loss = np.bincount(fx.firm_country, lost, minlength=len(fx.gdp))
    loss[fx.target] += trade_ban_loss_share * fx.gdp[fx.target] / 52.0
    # each firm's binding input: the first of its inputs with the worst (positive) shortfall
    n_pos, n_ctry = len(fx.pos), len(fx.gdp)
    binding = np.full(len(fx.va), -1, np.intp)
    if len(fx.firms):
        owner = np.repeat(np.arange(len(fx.firms)), np.diff(np.append(fx.starts.astype(np.intp), n_pos)))
        hit = np.flatnonzero((short > 0) & (short == firm_loss[fx.firms][owner]))
        first_owner, first = np.unique(owner[hit], return_index=True)
        binding[fx.firms[first_owner]] = fx.com[hit[first]]
    has = binding >= 0
    by_com = np.bincount(fx.firm_country[has].astype(np.intp) * (fx.n_com + 1) + binding[has], lost[has],
                         minlength=n_ctry * (fx.n_com + 1)).reshape(n_ctry, fx.n_com + 1)
    by_com[fx.target, fx.n_com] += trade_ban_loss_share * fx.gdp[fx.target] / 52.0
    capped = np.minimum(loss, fx.gdp / 52.0)  # never more than the week's output
    scale = np.divide(capped, loss, out=np.ones_like(loss), where=capped < loss)
    loss = capped
    jobs = fx.employment * fx.elasticity * loss * 52.0 / fx.gdp
    return firm_loss, loss, jobs, by_com * scale[:, None]
