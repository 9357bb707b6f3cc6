"""Transshipment and the secondary boycott.

Buyers cut off from direct Chinese supply (their direct Chinese edges closed) reroute:
each week a blocked position closes ``adoption_share_per_week`` of the gap between its
rerouted share and ``max_reroute_share``; that share of its blocked Chinese orders goes to
its transit-hub traders. The material stays Chinese-origin. Once unblocked, the rerouted share decays at the same rate.

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

from simulation.kernels import kernel
from simulation.mechanisms.base import Context, Mechanism
from simulation.population import POS_TRADER, TRADER


@kernel
def _transshipment_kernel(cn_direct, cn_direct_pos, edge_open, edge_share, blocked_share, closed_pos, n_closed,
                          has_via, rerouting, n_rerouting, is_rerouting, reroute, max_reroute_share, adoption,
                          via_target, via_target_sup, transshipped, shippers, shipped, history, history_weeks, traders,
                          draws, detect, enforcement, base, weight, blacklisted, up_edges, up_trader, edge_blacklisted):
    """One week of transshipment, in place; returns the lengths of the two position lists,
    the new detections and the number of blacklisted traders.

    1. The blocked share is the sum, in edge order, of the shares of a position's closed
       direct Chinese edges (``cn_direct``, sorted by position): 0 wherever none is closed, so
       only the positions with one closed last week (``closed_pos``, the first ``n_closed``)
       are cleared, and the list is refilled. The rerouted share moves toward its goal at the
       positions with hub suppliers ever blocked (``rerouting``, the first ``n_rerouting``,
       in the order first blocked): at the others the goal and the share stay 0.
    2. Shipments to the target last week per shipper (the suppliers of ``via_target`` edges:
       elsewhere shipments and history stay 0), detection and blacklisting of traders (when
       ``detect``), then the history update.
    """
    for k in range(n_closed):
        blocked_share[closed_pos[k]] = 0.0
    n_closed = 0
    last, acc = -1, 0.0
    for k in range(len(cn_direct)):
        i = cn_direct[k]
        if not edge_open[i]:
            pos = cn_direct_pos[k]
            if pos != last:
                if n_closed:
                    blocked_share[last] = acc
                closed_pos[n_closed] = pos
                n_closed += 1
                last, acc = pos, 0.0
            acc += edge_share[i]
    if n_closed:
        blocked_share[last] = acc
    for k in range(n_closed):
        pos = closed_pos[k]
        if has_via[pos] and not is_rerouting[pos]:
            is_rerouting[pos] = True
            rerouting[n_rerouting] = pos
            n_rerouting += 1
    for k in range(n_rerouting):
        j = rerouting[k]
        goal = max_reroute_share if blocked_share[j] > 0 else 0.0
        reroute[j] += (goal - reroute[j]) * adoption

    for f in shippers:
        shipped[f] = 0.0
    for k in range(len(via_target)):
        shipped[via_target_sup[k]] += transshipped[via_target[k]]
    hits = 0
    if detect:
        for k in range(len(traders)):
            f = traders[k]
            x, h = shipped[f], history[f]
            anomaly = (x / h if h > 1e-12 else 10.0) - 1.0  # clipped to [0, 10] (NaN stays NaN)
            if anomaly < 0.0:
                anomaly = 0.0
            if anomaly > 10.0:
                anomaly = 10.0
            prob = enforcement * (base + weight * anomaly)
            if prob < 0.0:
                prob = 0.0
            if prob > 1.0:
                prob = 1.0
            if x > 0 and not blacklisted[f] and draws[k] < prob:
                blacklisted[f] = True
                hits += 1
        if hits:  # blacklisted traders' supply edges close (again, for those caught before)
            for k in range(len(up_edges)):
                if blacklisted[up_trader[k]]:
                    edge_blacklisted[up_edges[k]] = True
    n_blacklisted = 0
    for f in traders:
        n_blacklisted += blacklisted[f]
    for f in shippers:
        history[f] += (shipped[f] - history[f]) / history_weeks
    return n_closed, n_rerouting, hits, n_blacklisted


class Transshipment(Mechanism):
    """Rerouting through hubs, detection and blacklisting."""

    name = "transshipment"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        e, cfg = self.eco, self.config
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
        # fixed subsets as compact integer indices, gathered once
        ix = np.uint32
        self._cn_direct = np.flatnonzero(self.cn_direct).astype(ix)
        self._cn_direct_pos = e.edge_pos[self._cn_direct].astype(ix)
        assert np.all(np.diff(self._cn_direct_pos.astype(np.int64)) >= 0), "edges must come sorted by position"
        self._via_target = np.flatnonzero(self.via & self.to_target).astype(ix)
        self._via_target_sup = e.edge_supplier[self._via_target].astype(ix)
        self._shippers = np.unique(self._via_target_sup)
        self._shipped = np.zeros(e.n_firms)  # scratch: shipments to the target last week
        # positions with a closed direct Chinese edge last week, and those with hub suppliers ever blocked
        self._closed_pos = np.zeros(len(self._cn_direct), ix)
        self._n_closed = 0
        self._rerouting = np.zeros(np.count_nonzero(self.has_via), ix)
        self._n_rerouting = 0
        self._is_rerouting = np.zeros(e.n_pos, bool)

    def step(self, t: int) -> None:
        s, sig = self.state, self.signals
        p = self.p
        draws = self.rng.random(len(self.traders))  # one draw per trader per week (CRN)
        # 1. rerouting by blocked buyers; 2. detection under the secondary boycott (last week's
        # shipments to the target)
        self._n_closed, self._n_rerouting, sig.new_detections, sig.n_blacklisted = _transshipment_kernel(
            self._cn_direct, self._cn_direct_pos, s.edge_open, s.edge_share, s.blocked_share, self._closed_pos,
            self._n_closed, self.has_via, self._rerouting, self._n_rerouting, self._is_rerouting, s.reroute,
            float(p.max_reroute_share), float(p.adoption_share_per_week),
            self._via_target, self._via_target_sup, s.transshipped, self._shippers, self._shipped, self.history,
            float(p.history_weeks), self.traders, draws, bool(sig.secondary_boycott and sig.enforcement > 0),
            float(sig.enforcement), float(p.detection_base_per_week), float(p.detection_anomaly_weight),
            self.blacklisted, self.up_edges, self.up_trader, s.edge_blacklisted)
