"""The coercion model: China escalates, states and firms respond, over a trade graph."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import mesa
import networkx as nx
import numpy as np

from simulation.agents import make_agents
from simulation.config import Config
from simulation.mechanisms.diversification import Diversification
from simulation.mechanisms.escalation import Escalation
from simulation.mechanisms.export_controls import ExportControls
from simulation.mechanisms.inventories import Inventories
from simulation.mechanisms.market import Market
from simulation.mechanisms.new_supply import NewSupply
from simulation.mechanisms.output import Output
from simulation.mechanisms.recycling import Recycling
from simulation.mechanisms.substitution import Substitution
from simulation.mechanisms.transshipment import Transshipment
from simulation.metrics import Recorder
from simulation.population import FIRM_KINDS, Economy, build_economy


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
    edge_share: np.ndarray  # share of a position's orders on each edge (diversification moves it)
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


def initial_state(eco: Economy, config: Config) -> State:
    """Steady state: inventories at target, pipelines full of contracted flows."""
    n_pos, n_edges = eco.n_pos, eco.n_edges
    market = config.world.market
    L = max(int(eco.edge_lead.max(initial=1)), market.spot_lead_weeks) + 1
    ring = np.zeros((L, n_pos))
    ring_cn = np.zeros((L, n_pos))
    use = eco.pos_base_use_t
    buyer_edge = eco.pos_kind[eco.edge_pos] != 2
    flow = use[eco.edge_pos] * eco.edge_share * buyer_edge
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
    manuf = eco.pos_kind == 0
    adjust = np.where(manuf, 1.0 / market.order_adjust_weeks, 0.0)
    coms = [config.world.commodities[c] for c in eco.commodities]
    price = np.array([c.price_usd_per_t for c in coms])
    return State(
        inventory=eco.pos_inventory_t.copy(),
        ring=ring,
        ring_cn=ring_cn,
        in_transit=ring.sum(axis=0),
        required=use.copy(),
        intensity=np.ones(n_pos),
        expected_use=np.where(manuf, use, 0.0),
        stock_target=np.where(manuf, use * eco.pos_target_days / 7.0, eco.pos_inventory_t),
        pipe_target=np.where(manuf, use * eco.pos_lead_weeks, 0.0),
        adjust_rate=adjust,
        edge_open=np.ones(n_edges, bool),
        edge_blacklisted=np.zeros(n_edges, bool),
        edge_licensed=np.zeros(n_edges, bool),
        edge_controlled=np.zeros(n_edges, bool),
        pos_controlled=np.zeros(n_pos, bool),
        capacity_factor=np.ones(eco.n_firms),
        price=price.copy(),
        price_cn=price * (1 - np.array([c.china_price_discount_share for c in coms])),
        recycled=np.zeros(n_pos),
        losses_t=np.zeros(len(coms)),
        edge_share=eco.edge_share.copy(),
        reroute=np.zeros(n_pos),
        blocked_share=np.zeros(n_pos),
        policy_cost_usd=np.zeros(len(eco.countries)),
        transshipped=np.zeros(n_edges),
    )


class CoercionModel(mesa.Model):
    """China's export-control campaign and the responses of states and firms.

    Args:
        config: a validated :class:`~simulation.config.Config` (see ``load_config``).

    Attributes:
        eco: the firm population and trade graph as arrays (:class:`Economy`).
        state: the mutable arrays (:class:`State`).
        level, stage: China's position on the escalation ladder.
        recorder: the per-step outputs (:class:`~simulation.metrics.Recorder`).
    """

    def __init__(self, config: Config):
        super().__init__(rng=config.run.seed)
        self.config = config
        self.streams = Streams(config.run.seed)
        self.t = 0  # the week being simulated (0-based); model.steps counts completed weeks
        self.eco = build_economy(config, self.streams["init"])
        self.state = initial_state(self.eco, config)
        self.level, self.stage = 0, config.escalation.levels[0].name
        self.new_detections, self.n_blacklisted = 0, 0
        self.conceded, self.concession_step = False, None
        self.new_supply = NewSupply(self)  # first: dormant capacity is off before prices are calibrated
        self.escalation = Escalation(self)
        self.export_controls = ExportControls(self)
        self.transshipment = Transshipment(self)
        self.market = Market(self)
        self.recycling = Recycling(self)
        self.inventories = Inventories(self)
        self.output = Output(self)
        self.substitution = Substitution(self)
        self.diversification = Diversification(self)
        self.states, self.firms = make_agents(self)
        self.recorder = Recorder(self)
        self.running = True
        self._trade_graph: nx.DiGraph | None = None

    def step(self) -> None:
        """Advance one week. The order of the mechanisms each week:

        1. ``escalation`` -- the target may concede; China moves on the ladder (script,
           then rules); the measures in force are published.
        2. ``export_controls`` -- licences are applied for, decided, renewed; which supply
           edges are open.
        3. ``transshipment`` -- blocked buyers reroute through hub traders; under the
           secondary boycott China detects and blacklists traders.
        4. ``new_supply`` -- projects come online, investment is decided and arrives,
           unprotected capacity exits when prices collapse.
        5. ``market`` -- demand, orders, trader pass-through, dependence ceilings,
           pro-rata allocation, spot market, shipment into pipelines, prices inside and
           outside China.
        6. ``recycling`` -- recovery capacity grows; recycled supply from the scrap pool.
        7. ``inventories`` -- arrivals, stockpile releases, use, next week's targets,
           holding costs.
        8. ``output`` -- lost value added and jobs from unmet critical inputs.
        9. ``substitution`` -- material intensity falls under price pressure.
        10. ``diversification`` -- sourcing shifts away from China after disruption and
            drifts back in calm unless policy holds it.
        11. record the week.
        """
        if self.t >= self.config.n_steps:
            self.running = False
            return
        self.state.policy_cost_usd[:] = 0.0
        self.escalation.step()
        self.export_controls.step()
        self.transshipment.step()
        self.new_supply.step()
        self.market.step()
        self.recycling.step()
        self.inventories.step()
        self.output.step()
        self.substitution.step()
        self.diversification.step()
        self.recorder.record()
        self.t += 1
        self._trade_graph = None
        if self.t >= self.config.n_steps:
            self.running = False

    def run_model(self) -> None:
        """Run to the end of the configured steps."""
        while self.running:
            self.step()

    # ----------------------------------------------------------------- graphs
    @property
    def trade_graph(self) -> nx.DiGraph:
        """The firm-level trade graph (networkx), built from the arrays on request.

        Nodes are firm ids with ``kind``, ``country`` (and ``commodity`` or ``sector``);
        an edge supplier -> buyer firm carries ``commodity``, ``share`` of the buyer's
        orders, ``lead_weeks``, ``origin`` and ``via_trader``. State stockpile agencies
        appear as nodes ``"stockpile:<country>"``.
        """
        if self._trade_graph is None:
            self._trade_graph = self._build_trade_graph()
        return self._trade_graph

    def _build_trade_graph(self) -> nx.DiGraph:
        e = self.eco
        g = nx.DiGraph()
        for i in range(e.n_firms):
            attrs = {"kind": FIRM_KINDS[e.firm_kind[i]], "country": e.countries[e.firm_country[i]]}
            if e.firm_commodity[i] >= 0:
                attrs["commodity"] = e.commodities[e.firm_commodity[i]]
            if e.firm_sector[i] >= 0:
                attrs["sector"] = e.sectors[e.firm_sector[i]]
            g.add_node(i, **attrs)
        buyer = np.where(e.pos_firm[e.edge_pos] >= 0, e.pos_firm[e.edge_pos], -1)
        for j in range(e.n_edges):
            b = int(buyer[j])
            if b < 0:
                b = f"stockpile:{e.countries[e.pos_country[e.edge_pos[j]]]}"
                g.add_node(b, kind="stockpile", country=b.split(":")[1])
            g.add_edge(int(e.edge_supplier[j]), b,
                       commodity=e.commodities[e.pos_commodity[e.edge_pos[j]]],
                       share=float(e.edge_share[j]), lead_weeks=int(e.edge_lead[j]),
                       origin=e.countries[e.edge_origin[j]],
                       via_trader=bool(e.edge_via_trader[j]))
        return g

    def country_graph(self) -> nx.DiGraph:
        """Country-level flows of the last week (what the browser view draws).

        Edges supplier country -> buyer country carry ``flow_usd`` (value shipped last
        week at outside prices) and ``status``: ``blocked`` (orders stopped by controls),
        ``licensed``, ``transshipped`` (Chinese origin via a hub trader) or ``normal``.
        Nodes carry ``gdp_usd`` and ``label``.
        """
        e, s = self.eco, self.state
        g = nx.DiGraph()
        for c in e.countries:
            ctry = self.config.world.countries[c]
            g.add_node(c, label=ctry.label, gdp_usd=ctry.gdp_lcu_per_year / ctry.lcu_per_usd)
        buyer = e.pos_kind[e.edge_pos] != 2
        if s.desired is None:
            return g
        com = e.pos_commodity[e.edge_pos]
        value = s.desired[e.edge_pos] * e.edge_share * s.price[com]
        src = e.firm_country[e.edge_supplier]
        dst = e.pos_country[e.edge_pos]
        status = np.select(
            [s.edge_controlled & ~s.edge_open, s.edge_licensed, e.edge_via_trader & (e.edge_origin == e.coercer)],
            [3, 1, 2], default=0)
        names = ("normal", "licensed", "transshipped", "blocked")
        key = (src.astype(np.int64) * len(e.countries) + dst) * 4 + status
        sel = buyer & (src != dst)
        totals = np.bincount(key[sel], value[sel], minlength=len(e.countries) ** 2 * 4)
        for idx in np.flatnonzero(totals):
            st = idx % 4
            pair = idx // 4
            a, b = e.countries[pair // len(e.countries)], e.countries[pair % len(e.countries)]
            prev = g.get_edge_data(a, b)
            # one edge per pair: the most restrictive status with flow wins the colour
            flow = float(totals[idx]) + (prev["flow_usd"] if prev else 0.0)
            worst = max(st, names.index(prev["status"])) if prev else st
            g.add_edge(a, b, flow_usd=flow, status=names[worst])
        return g
