"""Transshipment and the secondary boycott.

Buyers cut off from direct Chinese supply (their direct Chinese edges closed) reroute:
each week a blocked position closes ``adoption_share_per_week`` of the gap between its
rerouted share and ``max_reroute_share``; that share of its blocked Chinese orders goes to
its transit-hub traders (at ``markup_share`` over the outside price). The material stays
Chinese-origin. Once unblocked, the rerouted share decays at the same rate.

While the secondary-boycott clause is in force, China inspects every trader each week: a
trader that shipped Chinese-origin material to the target is detected with probability
``enforcement * (detection_base_per_week + detection_anomaly_weight * anomaly)``, where
``anomaly = shipments / history - 1`` (at least 0, at most 10) compares last week's
shipments to the target with the trader's own exponentially weighted history (time
constant ``history_weeks``). A detected trader is blacklisted: its Chinese supply edges
close for good.
"""

from __future__ import annotations

import numpy as np

from simulation.mechanisms.base import Mechanism
from simulation.population import POS_TRADER, TRADER


class Transshipment(Mechanism):
    """Rerouting through hubs, detection and blacklisting."""

    name = "transshipment"

    def __init__(self, model):
        super().__init__(model)
        e, cfg = model.eco, model.config
        self.p = cfg.world.transshipment
        self.traders = np.flatnonzero(e.firm_kind == TRADER)
        self.cn_direct = (e.edge_origin == e.coercer) & ~e.edge_via_trader & (e.pos_kind[e.edge_pos] != POS_TRADER)
        self.via = e.edge_via_trader
        self.via_share = np.bincount(e.edge_pos[self.via], e.edge_share[self.via], minlength=e.n_pos)
        self.has_via = self.via_share > 1e-12
        self.to_target = e.pos_country[e.edge_pos] == e.target
        # each trader's upstream (Chinese supply) edges
        up = e.pos_kind[e.edge_pos] == POS_TRADER
        self.up_edges = np.flatnonzero(up)
        self.up_trader = e.pos_firm[e.edge_pos[self.up_edges]]
        self.history = np.zeros(e.n_firms)
        self.blacklisted = np.zeros(e.n_firms, bool)
        # fixed subsets as integer indices, gathered once
        ip = np.intp
        self._cn_direct = np.flatnonzero(self.cn_direct)
        self._cn_direct_pos = e.edge_pos[self._cn_direct].astype(ip)
        self._via_target = np.flatnonzero(self.via & self.to_target)
        self._hub_buyers = np.flatnonzero(self.has_via)
        self._via_target_sup = e.edge_supplier[self._via_target].astype(ip)

    def step(self) -> None:
        m, e, s = self.model, self.model.eco, self.model.state
        p = self.p
        # 1. rerouting by blocked buyers
        closed = ~s.edge_open[self._cn_direct]
        s.blocked_share = np.bincount(self._cn_direct_pos[closed], s.edge_share[self._cn_direct[closed]],
                                      minlength=e.n_pos)
        # only positions with hub suppliers reroute (elsewhere the goal and the share stay 0)
        hub = self._hub_buyers
        goal = np.where(s.blocked_share.take(hub) > 0, p.max_reroute_share, 0.0)
        reroute = s.reroute.take(hub)
        goal -= reroute
        goal *= p.adoption_share_per_week
        reroute += goal
        s.reroute[hub] = reroute
        # 2. detection under the secondary boycott (last week's shipments to the target)
        shipped = np.bincount(self._via_target_sup, s.transshipped[self._via_target], minlength=e.n_firms)
        draws = self.rng.random(len(self.traders))  # one draw per trader per week (CRN)
        m.new_detections = 0
        if m.secondary_boycott and m.enforcement > 0:
            tr = self.traders
            x, h = shipped[tr], self.history[tr]
            anomaly = np.clip(np.divide(x, h, out=np.full(len(tr), 10.0), where=h > 1e-12) - 1.0, 0.0, 10.0)
            prob = np.clip(m.enforcement * (p.detection_base_per_week + p.detection_anomaly_weight * anomaly), 0, 1)
            hit = (x > 0) & ~self.blacklisted[tr] & (draws < prob)
            caught = tr[hit]
            if len(caught):
                self.blacklisted[caught] = True
                newly = np.zeros(len(self.blacklisted), bool)
                newly[caught] = True
                s.edge_blacklisted[self.up_edges[newly[self.up_trader]]] = True
            m.new_detections = int(np.count_nonzero(hit))
        m.n_blacklisted = int(np.count_nonzero(self.blacklisted))
        self.history += (shipped - self.history) / p.history_weeks
