"""Transshipment and the secondary boycott.

Buyers cut off from direct Chinese supply (their direct Chinese edges closed) reroute:
each week a blocked position closes ``adoption_share_per_week`` of the gap between its
rerouted share and ``max_reroute_share``; that share of its blocked Chinese orders goes to
its transit-hub traders. The material stays Chinese-origin. Once unblocked, the rerouted share decays at the same rate.

While the secondary-boycott clause is in force, China inspects each week every trader of a
commodity the boycott covers (``signals.boycott_commodities``; traders of other commodities
are never inspected nor blacklisted): a trader that shipped Chinese-origin material to the
target is detected with probability
``enforcement * (detection_base_per_week + detection_anomaly_weight * anomaly)``, where
``anomaly = shipments / history - 1`` (at least 0, at most ``anomaly_cap``, 10) compares last week's
shipments to the target with the trader's own exponentially weighted history (time
constant ``history_weeks``). A detected trader is blacklisted: its Chinese supply edges
close for good.

Part of the enforcement is the hubs': where a transit hub does not cooperate with the boycott
(``signals.hub_cooperation``, its ``decide()`` in ``simulation/states.py``), its traders face only
China's own share of the enforcement (``responders.hubs.china_own_enforcement_share``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from simulation.kernels import implementation, kernel
from simulation.mechanisms.base import Context, Mechanism
from simulation.population import POS_TRADER, TRADER


class TransshipmentFixed(NamedTuple):
    """What the transshipment kernel reads that never changes."""

    cn_direct: np.ndarray  # direct Chinese edges to buyer positions, sorted by position
    cn_direct_pos: np.ndarray  # their positions
    has_via: np.ndarray  # per position: it has hub (trader) suppliers
    max_reroute_share: float
    adoption: float  # adoption share per week
    via_target: np.ndarray  # edges from hub traders to positions in the target
    via_target_sup: np.ndarray  # their suppliers
    shippers: np.ndarray  # those suppliers, once each
    history_weeks: float
    traders: np.ndarray
    base: float  # detection base per week
    weight: float  # detection anomaly weight
    anomaly_cap: float  # the largest anomaly counted; a trader with no history shows this ratio
    up_edges: np.ndarray  # the traders' (Chinese) supply edges
    up_trader: np.ndarray  # the trader of each


class TransshipmentMemory(NamedTuple):
    """What transshipment carries from week to week, updated in place."""

    closed_pos: np.ndarray  # positions with a closed direct Chinese edge last week, in order
    n_closed: np.ndarray  # [their number]
    rerouting: np.ndarray  # positions with hub suppliers ever blocked, in the order first blocked
    n_rerouting: np.ndarray  # [their number]
    is_rerouting: np.ndarray  # per position
    shipped: np.ndarray  # per firm: shipments to the target last week (scratch)
    history: np.ndarray  # per firm: exponentially weighted shipments to the target
    blacklisted: np.ndarray  # per firm


class TransshipmentWeek(NamedTuple):
    """The state's arrays transshipment reads and writes."""

    edge_open: np.ndarray
    edge_share: np.ndarray
    blocked_share: np.ndarray  # written
    reroute: np.ndarray  # written
    transshipped: np.ndarray
    edge_blacklisted: np.ndarray  # written


@kernel
def _transshipment_kernel(fx, mem, wk, draws, inspected, detect, enforcement):
    """One week of transshipment, in place (:func:`transshipment_reference` in numpy): the
    rerouting (:func:`_reroute`), then detection and blacklisting (:func:`_detect`) of the
    ``inspected`` traders (per trader: it trades a commodity the boycott covers).
    Returns the new detections and the number of blacklisted traders."""
    _reroute(fx, mem, wk)
    return _detect(fx, mem, wk, draws, inspected, detect, enforcement)


@kernel
def _reroute(fx, mem, wk):
    """The blocked share is the sum, in edge order, of the shares of a position's closed
    direct Chinese edges (``cn_direct``, sorted by position): 0 wherever none is closed, so
    only the positions with one closed last week (``closed_pos``, the first ``n_closed``) are
    cleared, and the list is refilled. The rerouted share moves toward its goal at the
    positions with hub suppliers ever blocked (``rerouting``, the first ``n_rerouting``, in
    the order first blocked): at the others the goal and the share stay 0."""
    cn_direct, cn_direct_pos, edge_open, edge_share = fx.cn_direct, fx.cn_direct_pos, wk.edge_open, wk.edge_share
    closed_pos, rerouting, is_rerouting = mem.closed_pos, mem.rerouting, mem.is_rerouting
    blocked_share, reroute = wk.blocked_share, wk.reroute
    n_closed, n_rerouting = mem.n_closed[0], mem.n_rerouting[0]
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
        if fx.has_via[pos] and not is_rerouting[pos]:
            is_rerouting[pos] = True
            rerouting[n_rerouting] = pos
            n_rerouting += 1
    for k in range(n_rerouting):
        j = rerouting[k]
        goal = fx.max_reroute_share if blocked_share[j] > 0 else 0.0
        reroute[j] += (goal - reroute[j]) * fx.adoption
    mem.n_closed[0], mem.n_rerouting[0] = n_closed, n_rerouting


@kernel
def _detect(fx, mem, wk, draws, inspected, detect, enforcement):
    """Shipments to the target last week per shipper (the suppliers of ``via_target`` edges:
    elsewhere shipments and history stay 0), detection and blacklisting of the ``inspected``
    traders (when ``detect``), then the history update. Returns the new detections and the number of
    blacklisted traders."""
    shippers, traders = fx.shippers, fx.traders
    shipped, history, blacklisted = mem.shipped, mem.history, mem.blacklisted
    via_target, via_target_sup, transshipped = fx.via_target, fx.via_target_sup, wk.transshipped
    base, weight = fx.base, fx.weight
    for f in shippers:
        shipped[f] = 0.0
    for k in range(len(via_target)):
        shipped[via_target_sup[k]] += transshipped[via_target[k]]
    hits = 0
    if detect:
        for k in range(len(traders)):
            f = traders[k]
            x, h = shipped[f], history[f]
            anomaly = (x / h if h > 1e-12 else fx.anomaly_cap) - 1.0  # clipped to [0, cap] (NaN stays NaN)
            if anomaly < 0.0:
                anomaly = 0.0
            if anomaly > fx.anomaly_cap:
                anomaly = fx.anomaly_cap
            prob = enforcement[k] * (base + weight * anomaly)
            if prob < 0.0:
                prob = 0.0
            if prob > 1.0:
                prob = 1.0
            if inspected[k] and x > 0 and not blacklisted[f] and draws[k] < prob:
                blacklisted[f] = True
                hits += 1
        if hits:  # blacklisted traders' supply edges close (again, for those caught before)
            up_edges, up_trader, edge_blacklisted = fx.up_edges, fx.up_trader, wk.edge_blacklisted
            for k in range(len(up_edges)):
                if blacklisted[up_trader[k]]:
                    edge_blacklisted[up_edges[k]] = True
    n_blacklisted = 0
    for f in traders:
        n_blacklisted += blacklisted[f]
    for f in shippers:
        history[f] += (shipped[f] - history[f]) / fx.history_weeks
    return hits, n_blacklisted


def transshipment_reference(fx: TransshipmentFixed, mem: TransshipmentMemory, wk: TransshipmentWeek,
                            draws: np.ndarray, inspected: np.ndarray, detect: bool, enforcement: np.ndarray):
    """:func:`_transshipment_kernel` in numpy."""
    # 1. rerouting: the blocked share of the positions with a closed direct Chinese edge, the
    # rerouting list extended by those of them with hub suppliers, the rerouted share moved
    blocked_share, reroute = wk.blocked_share, wk.reroute
    blocked_share[mem.closed_pos[:mem.n_closed[0]]] = 0.0
    closed = ~wk.edge_open[fx.cn_direct]
    closed_pos = np.unique(fx.cn_direct_pos[closed])  # sorted: the order of the edges
    sums = np.bincount(fx.cn_direct_pos[closed], wk.edge_share[fx.cn_direct[closed]], minlength=len(blocked_share))
    blocked_share[closed_pos] = sums[closed_pos]
    mem.closed_pos[:len(closed_pos)] = closed_pos
    mem.n_closed[0] = len(closed_pos)
    start = mem.n_rerouting[0]
    joining = closed_pos[fx.has_via[closed_pos] & ~mem.is_rerouting[closed_pos]]
    mem.is_rerouting[joining] = True
    mem.rerouting[start:start + len(joining)] = joining
    mem.n_rerouting[0] = start + len(joining)
    j = mem.rerouting[:mem.n_rerouting[0]]
    goal = np.where(blocked_share[j] > 0, fx.max_reroute_share, 0.0)
    reroute[j] += (goal - reroute[j]) * fx.adoption
    # 2. shipments to the target last week, detection and blacklisting, the history
    shipped, history, blacklisted = mem.shipped, mem.history, mem.blacklisted
    shipped[fx.shippers] = np.bincount(fx.via_target_sup, wk.transshipped[fx.via_target],
                                       minlength=len(shipped))[fx.shippers]
    hits = 0
    if detect:
        x, h = shipped[fx.traders], history[fx.traders]
        ratio = np.divide(x, h, out=np.full(len(x), fx.anomaly_cap), where=h > 1e-12)
        anomaly = np.minimum(np.maximum(ratio - 1.0, 0.0), fx.anomaly_cap)
        prob = np.minimum(np.maximum(enforcement * (fx.base + fx.weight * anomaly), 0.0), 1.0)
        caught = inspected & (x > 0) & ~blacklisted[fx.traders] & (draws < prob)
        blacklisted[fx.traders[caught]] = True
        hits = int(np.count_nonzero(caught))
        if hits:
            wk.edge_blacklisted[fx.up_edges[blacklisted[fx.up_trader]]] = True
    n_blacklisted = int(np.count_nonzero(blacklisted[fx.traders]))
    history[fx.shippers] += (shipped[fx.shippers] - history[fx.shippers]) / fx.history_weeks
    return hits, n_blacklisted


class Transshipment(Mechanism):
    """Rerouting through hubs, detection and blacklisting."""

    name = "transshipment"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        e, cfg = self.eco, self.config
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
        cn_direct = np.flatnonzero(self.cn_direct).astype(ix)
        cn_direct_pos = e.edge_pos[cn_direct].astype(ix)
        assert np.all(np.diff(cn_direct_pos.astype(np.int64)) >= 0), "edges must come sorted by position"
        via_target = np.flatnonzero(self.via & self.to_target).astype(ix)
        via_target_sup = e.edge_supplier[via_target].astype(ix)
        p = cfg.world.transshipment
        self.fixed = TransshipmentFixed(
            cn_direct=cn_direct, cn_direct_pos=cn_direct_pos, has_via=self.has_via,
            max_reroute_share=float(p.max_reroute_share), adoption=float(p.adoption_share_per_week),
            via_target=via_target, via_target_sup=via_target_sup, shippers=np.unique(via_target_sup),
            history_weeks=float(p.history_weeks), traders=self.traders, base=float(p.detection_base_per_week),
            weight=float(p.detection_anomaly_weight), anomaly_cap=float(p.anomaly_cap), up_edges=self.up_edges,
            up_trader=self.up_trader)
        self.mem = TransshipmentMemory(
            closed_pos=np.zeros(len(cn_direct), ix), n_closed=np.zeros(1, np.int64),
            rerouting=np.zeros(np.count_nonzero(self.has_via), ix), n_rerouting=np.zeros(1, np.int64),
            is_rerouting=np.zeros(e.n_pos, bool), shipped=np.zeros(e.n_firms), history=self.history,
            blacklisted=self.blacklisted)
        self._kernel = implementation(_transshipment_kernel, transshipment_reference)
        self._trader_commodity = e.firm_commodity[self.traders]
        self._inspected_for = None  # the boycott commodities ``_inspected`` was computed for
        self._inspected = np.zeros(len(self.traders), bool)
        # the enforcement each trader faces: China's intensity, cut to its own share where the trader's hub
        # does not cooperate (signals.hub_cooperation); rebuilt when either changes
        self._enforcement = np.zeros(len(self.traders))
        self._enforcement_for: tuple = (0.0, self.signals.hub_cooperation)
        self._trader_country = e.firm_country[self.traders]
        self._own_share = cfg.responders.hubs.china_own_enforcement_share

    def step(self, t: int) -> None:
        s, sig = self.state, self.signals
        draws = self.rng.random(len(self.traders))  # one draw per trader per week (CRN)
        # 1. rerouting by blocked buyers; 2. detection under the secondary boycott (last week's
        # shipments to the target)
        week = TransshipmentWeek(s.edge_open, s.edge_share, s.blocked_share, s.reroute, s.transshipped,
                                 s.edge_blacklisted)
        if sig.boycott_commodities != self._inspected_for:  # the traders of the covered commodities
            self._inspected_for = sig.boycott_commodities
            covered = [self.eco.commodities.index(c) for c in sig.boycott_commodities]
            self._inspected = np.isin(self._trader_commodity, covered)
        if sig.enforcement != self._enforcement_for[0] or sig.hub_cooperation is not self._enforcement_for[1]:
            self._enforcement_for = (sig.enforcement, sig.hub_cooperation)
            self._enforcement[:] = sig.enforcement
            if sig.hub_cooperation.size:
                coop = sig.hub_cooperation[self._trader_country]
                self._enforcement *= self._own_share + (1.0 - self._own_share) * coop
        sig.new_detections, sig.n_blacklisted = self._kernel(
            self.fixed, self.mem, week, draws, self._inspected, bool(sig.secondary_boycott and sig.enforcement > 0),
            self._enforcement)
