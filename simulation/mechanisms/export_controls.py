"""Export controls: which Chinese-origin flows to the target are licensed, delayed, refused.

An export control on a commodity covers direct edges from producers in the coercer to
buyer positions in the target. Each covered edge needs a licence: an application is
decided after a delay (geometric, mean ``delay_weeks``), granted with the approval
probability (military end users: ``military_approval_probability``), valid for
``license_validity_weeks``, then renewed the same way. A refused edge reapplies after
``max(4, delay_weeks)`` weeks. Orders flow only on open edges (uncontrolled or licensed).
Controlled buyer positions cannot buy Chinese material on the spot market either.
Lifting a control clears its licences.
"""

from __future__ import annotations

import numpy as np

from simulation.mechanisms.base import Mechanism

NONE, PENDING, GRANTED, REFUSED = 0, 1, 2, 3


class ExportControls(Mechanism):
    """Licensing state per edge; publishes ``state.edge_open`` and ``state.pos_controlled``."""

    name = "export_controls"

    def __init__(self, model):
        super().__init__(model)
        e = model.eco
        n = e.n_edges
        self.status = np.zeros(n, np.int8)
        self.next_step = np.zeros(n, np.int64)
        supplier_country = e.firm_country[e.edge_supplier]
        buyer_country = e.pos_country[e.edge_pos]
        # direct exports from the coercer's producers to positions in the target
        self.candidate = (
            (supplier_country == e.coercer)
            & (buyer_country == e.target)
            & ~e.edge_via_trader
        )
        self.edge_commodity = e.pos_commodity[e.edge_pos]
        self.edge_military = e.pos_military[e.edge_pos]
        self.n_granted = 0
        self.n_refused = 0

    def controlled_edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Covered edges and their approval probability, delay and validity."""
        m, e = self.model, self.model.eco
        cover = np.zeros(e.n_edges, bool)
        p = np.ones(e.n_edges)
        delay = np.zeros(e.n_edges)
        valid = np.ones(e.n_edges)
        for c, spec in m.controls.items():
            ci = e.commodities.index(c)
            sel = self.candidate & (self.edge_commodity == ci)
            if not spec.all_end_uses:
                sel &= self.edge_military
            cover |= sel
            p[sel] = np.where(self.edge_military[sel], spec.military_approval_probability,
                              spec.approval_probability)
            delay[sel] = spec.delay_weeks
            valid[sel] = spec.license_validity_weeks
        return cover, p, delay, valid

    def _schedule(self, idx: np.ndarray, delay: np.ndarray, t: int) -> None:
        """Set decision dates: geometric waiting time with mean ``delay`` weeks."""
        wait = np.zeros(len(idx), np.int64)
        pos = delay[idx] > 0
        if pos.any():
            wait[pos] = self.rng.geometric(1.0 / (1.0 + delay[idx][pos])) - 1
        self.next_step[idx] = t + wait

    def step(self) -> None:
        m, e, s = self.model, self.model.eco, self.model.state
        t = m.t
        cover, p, delay, valid = self.controlled_edges()
        # lifted controls: licences no longer needed
        self.status[~cover] = NONE
        new = np.flatnonzero(cover & (self.status == NONE))
        self.status[new] = PENDING
        self._schedule(new, delay, t)
        # expired grants and refusals apply again
        again = np.flatnonzero(cover & np.isin(self.status, (GRANTED, REFUSED)) & (self.next_step <= t))
        self.status[again] = PENDING
        self._schedule(again, delay, t)
        due = np.flatnonzero(cover & (self.status == PENDING) & (self.next_step <= t))
        if len(due):
            ok = self.rng.random(len(due)) < p[due]
            g, r = due[ok], due[~ok]
            self.status[g] = GRANTED
            self.next_step[g] = t + np.maximum(1, np.round(valid[g])).astype(np.int64)
            self.status[r] = REFUSED
            self.next_step[r] = t + np.maximum(4, np.round(delay[r])).astype(np.int64)
            self.n_granted += len(g)
            self.n_refused += len(r)
        open_ = (~cover) | (self.status == GRANTED)
        s.edge_open[:] = open_ & ~s.edge_blacklisted
        controlled = np.zeros(e.n_pos, bool)
        for c, spec in m.controls.items():
            sel = (e.pos_country == e.target) & (e.pos_commodity == e.commodities.index(c))
            controlled |= sel if spec.all_end_uses else sel & e.pos_military
        s.pos_controlled[:] = controlled
        s.edge_licensed[:] = cover & (self.status == GRANTED)
        s.edge_controlled[:] = cover
