"""The coercion model: China escalates, states and firms respond, over a trade graph."""

from __future__ import annotations

import mesa
import networkx as nx
import numpy as np

from simulation.agents import LazyFirms, StateReadout
from simulation.config import Config
from simulation.mechanisms.base import Context, Mechanism
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
from simulation.mesa_api import config_from_keywords, datacollector
from simulation.metrics import PreStartCosts, Recorder
from simulation.population import FIRM_KINDS, POS_TRADER, build_economy
from simulation.signals import Signals
from simulation.state import Streams, initial_state
from simulation.states import DecisionLog, make_states

#: The mechanisms, in the order they are built and stepped each week.
MECHANISMS: tuple[type[Mechanism], ...] = (
    Escalation,  # the states' choices (concession, China's level) or the script; the measures in force are published
    ExportControls,  # licences are applied for, decided, renewed; which supply edges are open
    Transshipment,  # blocked buyers reroute through hub traders; under the boycott China detects and blacklists
    NewSupply,  # projects come online, investment is decided and arrives, unprotected capacity exits
    Market,  # orders, trader pass-through, dependence ceilings, allocation, spot market, shipment, prices
    Recycling,  # recovery capacity grows; recycled supply from the scrap pool
    Inventories,  # arrivals, stockpile releases, use, next week's targets, holding costs
    Output,  # lost value added and jobs from unmet critical inputs
    Substitution,  # material intensity falls under price pressure
    Diversification,  # sourcing shifts away from China after disruption, drifts back in calm
)


#: Statuses of a country pair's flows in :meth:`CoercionModel.country_graph`, least restrictive first.
EDGE_STATUS = ("normal", "licensed", "transshipped", "blocked")


def schedule() -> list[str]:
    """The weekly order: the states decide, the mechanisms' names, then the recorder."""
    return ["states"] + [m.name for m in MECHANISMS] + ["record"]


class CoercionModel(mesa.Model):
    """China's export-control campaign and the responses of states and firms.

    Build it from a config, ``CoercionModel(load_config(...))``, or, as Mesa's tools do
    (``mesa.batch_run``), from keywords: ``CoercionModel(scenario="korea_coerced",
    strategy="stockpile_100", seed=3, steps=52, world__firms__scale=0.5)``. A keyword left
    out or None keeps the config's value (:mod:`simulation.mesa_api`).

    Args:
        config: a validated :class:`~simulation.config.Config` (see ``load_config``); None:
            the config is loaded from the keywords. Not combined with them.
        scenario: a scenario name of ``configs/scenarios/`` or a config path; None: the default.
        strategy: a strategy name of ``configs/strategies/``; None: the config's.
        seed: the root seed; None: the config's.
        steps: weeks to run; None: the config's horizon.
        collect: whether ``model.datacollector`` (a ``mesa.DataCollector``) collects at build
            and after each week. None: yes when built from keywords (Mesa's tools), no when
            given a Config (the runner's path: the recorder makes the tables, and collecting
            costs about 10% of a week).
        **levers: any config key as a dotted path with ``__`` for each dot
            (``escalation__after_script="endogenous"``).

    Attributes:
        eco: the firm population and trade graph as arrays (:class:`~simulation.population.Economy`).
        state: the mutable arrays (:class:`~simulation.state.State`).
        signals: what the mechanisms publish to one another (:class:`~simulation.signals.Signals`).
        mechanisms: name -> mechanism, in the order of :data:`MECHANISMS`.
        states: country code -> :class:`~simulation.agents.StateAgent` (the target's and China's
            ``role`` decide: :class:`~simulation.states.TargetRole`, :class:`~simulation.states.CoercerRole`).
        state_agents: the states as a ``mesa.agent.AgentSet`` in their decision order (the target,
            China, the rest), stepped every week before the mechanisms.
        decisions: every state decision with its reason (:class:`~simulation.states.DecisionLog`;
            ``latest_decisions()`` gives each state's latest).
        firms: the firms as Mesa agents, created on first access (a sequence over the firm rows).
        recorder: the per-step outputs (:class:`~simulation.metrics.Recorder`), the source
            of the run tables.
        readout: what the state agents report, all countries at once
            (:class:`~simulation.agents.StateReadout`).
        datacollector: Mesa's collector (:func:`simulation.mesa_api.datacollector`): model
            reporters and the state agents' reporters, once at build and after each week.
    """

    def __init__(self, config: Config | None = None, *, scenario: str | None = None,
                 strategy: str | None = None, seed: int | None = None, steps: int | None = None,
                 collect: bool | None = None, **levers):
        keywords = dict(scenario=scenario, strategy=strategy, seed=seed, steps=steps, **levers)
        if config is None:
            config = config_from_keywords(**keywords)
            collect = True if collect is None else collect
        elif any(v is not None for v in keywords.values()):
            given = sorted(k for k, v in keywords.items() if v is not None)
            raise TypeError(f"CoercionModel: pass a Config or keywords, not both (got {', '.join(given)})")
        super().__init__(rng=config.run.seed)
        self.config = config
        self.streams = Streams(config.run.seed)
        self.t = 0  # the week being simulated (0-based); model.steps counts completed weeks
        self.eco = build_economy(config, self.streams["init"])
        self.state = initial_state(self.eco, config)
        self.signals = Signals(output_loss=np.zeros((config.clock_steps, len(self.eco.countries))))
        ctx = Context(self.eco, self.state, self.signals, config, self.streams)
        self.mechanisms: dict[str, Mechanism] = {cls.name: cls(ctx) for cls in MECHANISMS}
        self.history = config.history_steps  # weeks run before the analysis (scenario.history_from)
        self.decisions = DecisionLog(self)
        self.states, self.state_agents = make_states(self)
        pre_start = PreStartCosts(self.eco)  # the history is not recorded; what it costs the states is
        for week in range(self.history):
            self._advance(week)
            pre_start.add(self.state)
        self.firms = LazyFirms(self)
        self.recorder = Recorder(self.eco, self.state, self.signals, config, pre_start)
        self.readout = StateReadout(self)
        self.running = True
        self._trade_graph: nx.DiGraph | None = None
        self.collecting = bool(collect)
        self.datacollector = datacollector()
        if self.collecting:
            self.datacollector.collect(self)

    @property
    def level(self) -> int:
        """China's level on the escalation ladder (0 = calm)."""
        return self.signals.level

    @property
    def stage(self) -> str:
        """The name of China's level."""
        return self.signals.stage

    @property
    def conceded(self) -> bool:
        """Whether the target has conceded."""
        return self.signals.conceded

    @property
    def concession_step(self) -> int | None:
        """The week of the analysis the target conceded in, or None."""
        step = self.signals.concession_step
        return None if step is None else step - self.history

    def latest_decisions(self) -> dict[str, dict]:
        """Per state code, its latest logged decision (the columns of ``decisions.csv``)."""
        return self.decisions.latest()

    def step(self) -> None:
        """Advance one week: the states decide, every mechanism of :data:`MECHANISMS` in order,
        then the recorder.

        0. ``states`` -- the state agents' ``decide()`` through ``state_agents`` (an AgentSet):
           the target (concede or refuse; raise its targets after a crisis), China (escalate,
           hold or step down; the script before), then the other states; a state with a
           stockpile agency has it release, refill or defer first (``simulation.agency``).
           They act through the signals only.
        1. ``escalation`` -- carries out the states' choices (the target's concession,
           China's level) or the script; the measures in force are published.
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
        11. ``record`` -- the recorder stores the week.

        ``schedule()`` prints this order. Then, if ``collecting``, Mesa's ``datacollector``
        collects (it reads what the week computed and changes nothing).
        """
        if self.t >= self.config.n_steps:
            self.running = False
            return
        t = self.t
        self._advance(self.history + t)
        self.recorder.record(t)
        self.t += 1
        if self.collecting:
            self.datacollector.collect(self)
        self._trade_graph = None
        if self.t >= self.config.n_steps:
            self.running = False

    def _advance(self, week: int) -> None:
        """The states' decisions, then every mechanism of :data:`MECHANISMS`, in order, for the
        clock week ``week`` (the history's weeks first, then the analysis's: ``history + t``)."""
        self.state_agents.do("decide", week)
        self.state.policy_cost_usd[:] = 0.0
        for mechanism in self.mechanisms.values():
            mechanism.step(week)

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
        ``licensed``, ``transshipped`` (Chinese material via a hub trader to a buyer position the
        controls cover: evasion) or ``normal`` (including hub re-exports of uncontrolled material).
        Nodes carry ``gdp_usd`` and ``label``.
        """
        e, s = self.eco, self.state
        g = nx.DiGraph()
        for c in e.countries:
            ctry = self.config.world.countries[c]
            g.add_node(c, label=ctry.label, gdp_usd=ctry.gdp_lcu_per_year / ctry.lcu_per_usd)
        buyer = e.pos_kind[e.edge_pos] != POS_TRADER
        if s.desired is None:
            return g
        com = e.pos_commodity[e.edge_pos]
        value = s.desired[e.edge_pos] * e.edge_share * s.price[com]
        src = e.firm_country[e.edge_supplier]
        dst = e.pos_country[e.edge_pos]
        status = np.select(
            [s.edge_controlled & ~s.edge_open, s.edge_licensed,
             e.edge_via_trader & (e.edge_origin == e.coercer) & s.pos_controlled[e.edge_pos]],
            [EDGE_STATUS.index("blocked"), EDGE_STATUS.index("licensed"), EDGE_STATUS.index("transshipped")],
            default=EDGE_STATUS.index("normal"))
        n_status = len(EDGE_STATUS)
        key = (src.astype(np.int64) * len(e.countries) + dst) * n_status + status
        sel = buyer & (src != dst)
        totals = np.bincount(key[sel], value[sel], minlength=len(e.countries) ** 2 * n_status)
        for idx in np.flatnonzero(totals):
            st = idx % n_status
            pair = idx // n_status
            a, b = e.countries[pair // len(e.countries)], e.countries[pair % len(e.countries)]
            prev = g.get_edge_data(a, b)
            # one edge per pair: the most restrictive status with flow wins the colour
            flow = float(totals[idx]) + (prev["flow_usd"] if prev else 0.0)
            worst = max(st, EDGE_STATUS.index(prev["status"])) if prev else st
            g.add_edge(a, b, flow_usd=flow, status=EDGE_STATUS[worst])
        return g
