"""The model's mutable state and its random streams.

:class:`State` holds every array that changes during a run (stocks, pipelines, edge status,
prices, this week's flows); :func:`initial_state` builds the calm from the economy.
:class:`Streams` hands each mechanism its own random stream.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from simulation.config import Config
from simulation.population import POS_MANUFACTURER, POS_TRADER, Economy


class Streams:
    """Independent random streams by name, all derived from one seed.

    Each stream is ``SeedSequence(seed, spawn_key=(crc32(name),))``: it depends only on the
    seed and its own name, so adding a mechanism or changing a strategy never shifts the
    draws of another mechanism (common random numbers).
    """

    def __init__(self, seed: int):
        self.seed = seed
        self._gens: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in self._gens:
            ss = np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(name.encode()),))
            self._gens[name] = np.random.default_rng(ss)
        return self._gens[name]


@dataclass
class State:
    """Mutable arrays over positions, edges and commodities (see :mod:`population`)."""

    inventory: np.ndarray
    ring: np.ndarray  # (lead slots, n_pos): tonnes arriving at step t in slot t % L
    ring_cn: np.ndarray  # the Chinese-origin part of ring
    in_transit: np.ndarray
    required: np.ndarray  # t/week needed at full output
    intensity: np.ndarray  # material per unit output (1 = initial)
    demand_factor: np.ndarray  # short-run price response of use (1 at calm prices)
    expected_use: np.ndarray
    stock_target: np.ndarray
    pipe_target: np.ndarray
    adjust_rate: np.ndarray  # share of the stock gap ordered per week
    edge_open: np.ndarray
    edge_blacklisted: np.ndarray
    edge_licensed: np.ndarray
    edge_controlled: np.ndarray
    pos_controlled: np.ndarray
    capacity_factor: np.ndarray  # per firm: share of nominal capacity available
    price: np.ndarray  # USD/t outside China, per commodity
    price_cn: np.ndarray  # USD/t inside China
    recycled: np.ndarray  # t/week of secondary supply into each position
    losses_t: np.ndarray  # t/week lost per commodity (seized shipments)
    edge_share: np.ndarray  # share of a position's orders on each edge (diversification alone writes it: its kept
    # per-position sums rely on that; a new writer must update them, see mechanisms/diversification.py)
    reroute: np.ndarray  # share of blocked Chinese orders a position sends through hubs
    blocked_share: np.ndarray  # share of a position's sourcing on closed Chinese edges
    policy_cost_usd: np.ndarray  # this week's policy spending by country (recycling, subsidies, R&D, projects)
    cn_export_usd: float | None = None
    cn_world_share: float | None = None
    # flows of the current week, set by the mechanisms
    desired: np.ndarray = field(default=None)
    shipped: np.ndarray = field(default=None)
    shipped_cn: np.ndarray = field(default=None)
    spot: np.ndarray = field(default=None)
    arrived: np.ndarray = field(default=None)
    arrived_cn: np.ndarray = field(default=None)
    use: np.ndarray = field(default=None)
    production_t: np.ndarray = field(default=None)
    transshipped: np.ndarray = field(default=None)
    output_loss: np.ndarray = field(default=None)
    jobs_lost: np.ndarray = field(default=None)
    holding_cost_usd: np.ndarray = field(default=None)
    firm_output_loss_share: np.ndarray = field(default=None)
    output_loss_by_commodity: np.ndarray = field(default=None)  # (country, commodity + trade ban), LCU/week


def initial_state(eco: Economy, config: Config) -> State:
    """Steady state: inventories at target, pipelines full of contracted flows."""
    n_pos, n_edges = eco.n_pos, eco.n_edges
    market = config.world.market
    qualification = max((c.qualification_weeks for c in config.world.commodities.values()), default=0)
    L = max(int(eco.edge_lead.max(initial=1)), market.spot_lead_weeks + qualification) + 1
    ring = np.zeros((L, n_pos))
    ring_cn = np.zeros((L, n_pos))
    use = eco.pos_base_use_t
    net = use - eco.pos_recycled_t  # contracted: use net of recycled supply
    buyer_edge = eco.pos_kind[eco.edge_pos] != POS_TRADER
    flow = net[eco.edge_pos] * eco.edge_share * buyer_edge
    cn = eco.edge_origin == eco.coercer
    # contracted flows by (lead, position): one bincount per origin, in edge order within each bin
    leads = np.flatnonzero(np.bincount(eco.edge_lead)) if n_edges else np.zeros(0, np.int64)
    lead_no = np.zeros(int(leads.max(initial=0)) + 1, np.intp)
    lead_no[leads] = np.arange(len(leads))
    key = lead_no[eco.edge_lead] * n_pos + eco.edge_pos
    per_week = np.bincount(key, flow, minlength=len(leads) * n_pos).reshape(len(leads), n_pos)
    per_week_cn = np.bincount(key[cn], flow[cn], minlength=len(leads) * n_pos).reshape(len(leads), n_pos)
    for i, lead in enumerate(leads):
        for k in range(int(lead)):
            ring[k] += per_week[i]
            ring_cn[k] += per_week_cn[i]
    manuf = eco.pos_kind == POS_MANUFACTURER
    adjust = np.where(manuf, 1.0 / market.order_adjust_weeks, 0.0)
    capacity_factor = np.ones(eco.n_firms)
    capacity_factor[eco.firm_project >= 0] = 0.0  # dormant until their projects come online
    capacity_factor[eco.firm_invest] = 0.0  # dormant until investment brings them online
    return State(
        inventory=eco.pos_inventory_t.copy(),
        ring=ring,
        ring_cn=ring_cn,
        in_transit=ring.sum(axis=0),
        required=use.copy(),
        intensity=np.ones(n_pos),
        demand_factor=np.ones(n_pos),
        expected_use=np.where(manuf, use, 0.0),
        stock_target=np.where(manuf, use * eco.pos_target_days / 7.0, eco.pos_inventory_t),
        pipe_target=np.where(manuf, net * eco.pos_lead_weeks, 0.0),
        adjust_rate=adjust,
        edge_open=np.ones(n_edges, bool),
        edge_blacklisted=np.zeros(n_edges, bool),
        edge_licensed=np.zeros(n_edges, bool),
        edge_controlled=np.zeros(n_edges, bool),
        pos_controlled=np.zeros(n_pos, bool),
        capacity_factor=capacity_factor,
        price=eco.price0.copy(),
        price_cn=eco.price0_cn.copy(),
        recycled=eco.pos_recycled_t.copy(),
        losses_t=np.zeros(len(eco.commodities)),
        edge_share=eco.edge_share.copy(),
        reroute=np.zeros(n_pos),
        blocked_share=np.zeros(n_pos),
        policy_cost_usd=np.zeros(len(eco.countries)),
        transshipped=np.zeros(n_edges),
    )
