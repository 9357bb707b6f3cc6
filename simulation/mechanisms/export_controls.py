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
        # only candidate edges ever carry a licence: the weekly work is on them
        self._cand = np.flatnonzero(self.candidate)
        self._controls = None  # the controls the cache below was computed for (a copy)
        self._controls_obj = None  # and the mapping it was last checked against
        self._cached = None

    def controlled_edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Covered edges and their approval probability, delay and validity.

        They change only when the controls in force change (the escalation level moves), so
        they are computed once per set of controls (with the controlled positions) and cached;
        this returns copies.
        """
        return tuple(a.copy() for a in self._controlled()[:4])

    def _controlled(self) -> tuple:
        controls = self.model.controls
        if controls is self._controls_obj:  # escalation publishes a new mapping when it moves
            return self._cached
        if self._cached is None or controls != self._controls:
            self._controls = dict(controls)
            self._cached = self._compute_controlled(controls)
        self._controls_obj = controls
        return self._cached

    def _compute_controlled(self, controls: dict) -> tuple:
        e = self.model.eco
        cover = np.zeros(e.n_edges, bool)
        p = np.ones(e.n_edges)
        delay = np.zeros(e.n_edges)
        valid = np.ones(e.n_edges)
        for c, spec in controls.items():
            ci = e.commodities.index(c)
            sel = self.candidate & (self.edge_commodity == ci)
            if not spec.all_end_uses:
                sel &= self.edge_military
            cover |= sel
            p[sel] = np.where(self.edge_military[sel], spec.military_approval_probability,
                              spec.approval_probability)
            delay[sel] = spec.delay_weeks
            valid[sel] = spec.license_validity_weeks
        controlled = np.zeros(e.n_pos, bool)
        for c, spec in controls.items():
            sel = (e.pos_country == e.target) & (e.pos_commodity == e.commodities.index(c))
            controlled |= sel if spec.all_end_uses else sel & e.pos_military
        cand = self._cand
        for a in (cover, p, delay, valid, controlled):
            a.flags.writeable = False
        cover_c = cover[cand]
        return cover, p, delay, valid, controlled, cover_c, p[cand], delay[cand], valid[cand], bool(cover_c.any())

    def _schedule(self, idx: np.ndarray, delay: np.ndarray, t: int) -> None:
        """Set decision dates: geometric waiting time with mean ``delay`` weeks."""
        wait = np.zeros(len(idx), np.int64)
        pos = delay[idx] > 0
        if pos.any():
            wait[pos] = self.rng.geometric(1.0 / (1.0 + delay[idx][pos])) - 1
        self.next_step[idx] = t + wait

    def step(self) -> None:
        m, s = self.model, self.model.state
        t = m.t
        cover, _, _, _, controlled, cover_c, p_c, delay_c, valid_c, any_cover = self._controlled()
        # status and decision dates of the candidate edges (no other edge ever needs a licence)
        cand = self._cand
        status = self.status[cand]
        if any_cover or status.any():
            self._decide(t, status, cover_c, p_c, delay_c, valid_c)
        # else: no control and no licence in any state: nothing to decide (and no draws)
        # open: not blacklisted, and not covered unless licensed
        np.logical_not(s.edge_blacklisted, out=s.edge_open)
        s.pos_controlled[:] = controlled
        s.edge_controlled[:] = cover
        s.edge_licensed[:] = False
        if any_cover:
            granted = self.status[cand] == GRANTED
            s.edge_open[cand] &= ~cover_c | granted
            s.edge_licensed[cand] = cover_c & granted

    def _decide(self, t, status, cover_c, p_c, delay_c, valid_c) -> None:
        """Applications, decisions, renewals of the candidate edges (``status`` is theirs)."""
        cand = self._cand
        nxt = self.next_step[cand]
        # lifted controls: licences no longer needed
        status[~cover_c] = NONE
        new = np.flatnonzero(cover_c & (status == NONE))
        status[new] = PENDING
        self._schedule_c(new, nxt, delay_c, t)
        # expired grants and refusals apply again
        again = np.flatnonzero(cover_c & (status >= GRANTED) & (nxt <= t))  # granted or refused
        status[again] = PENDING
        self._schedule_c(again, nxt, delay_c, t)
        due = np.flatnonzero(cover_c & (status == PENDING) & (nxt <= t))
        if len(due):
            ok = self.rng.random(len(due)) < p_c[due]
            g, r = due[ok], due[~ok]
            status[g] = GRANTED
            nxt[g] = t + np.maximum(1, np.round(valid_c[g])).astype(np.int64)
            status[r] = REFUSED
            nxt[r] = t + np.maximum(4, np.round(delay_c[r])).astype(np.int64)
            self.n_granted += len(g)
            self.n_refused += len(r)
        self.status[cand] = status
        self.next_step[cand] = nxt

    def _schedule_c(self, idx: np.ndarray, nxt: np.ndarray, delay: np.ndarray, t: int) -> None:
        """:meth:`_schedule` on candidate-edge arrays (``idx`` into them, dates ``nxt``)."""
        if len(idx) == 0:
            return
        wait = np.zeros(len(idx), np.int64)
        d = delay[idx]
        pos = d > 0
        if pos.any():
            wait[pos] = self.rng.geometric(1.0 / (1.0 + d[pos])) - 1
        nxt[idx] = t + wait
