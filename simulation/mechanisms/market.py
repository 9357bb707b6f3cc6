"""Market: orders, allocation, shipment and price, per commodity, on arrays.

1. **Orders.** A manufacturer's need at full output is its base use times its material
   intensity (substitution) times ``(p / p0) ** -demand_elasticity`` at the price it pays
   (inside or outside China): the short-run response of use to price (thrift, yield, scrap
   in the plant), which costs no output. Each buyer position orders up to its targets
   (order-up-to rule):
   ``desired = expected_use - recycled + adjust_rate * (stock_target + pipeline_target - stock - near)``,
   clipped at zero, split across its supply edges by share, where ``near`` is what its
   pipeline delivers within the longest normal lead (contract or spot, ``near_weeks``): spot
   material from a new supplier outside China that waits for its qualification counts only
   once it is that close (a dual-index rule: the orders a buyer can use soon are set on the
   material it can use soon). Orders on closed edges (unlicensed, refused, blacklisted) are
   not placed.
2. **Traders** add up the orders placed with them and order the same from their own
   suppliers (pass-through, no stock).
3. **Allocation.** A producer short of capacity fills every order pro rata. Traders pass
   on what they receive pro rata.
4. **Spot market.** What a position still lacks goes to the spot market: first to
   China's spare capacity (the cheaper source; buyers not under an export control only),
   then to the spare capacity outside China (every buyer), each pool to the highest bids
   first. While FORGE's offtake contracts are in force (``signals.offtake_share``), the
   members' buyers claim that share of the members' producers' spare capacity before any
   spot buyer, pro rata. While FORGE's tariff is in force, members' firms bid for China's
   spare capacity their willingness to pay over (1 + tariff) (see 7). Spot shipments
   take ``spot_lead_weeks``.
5. **Shipment.** Deliveries enter the buyer's pipeline and arrive after the edge's lead
   time. Origin travels with them (Chinese-origin tonnes are tracked separately).
6. **Price.** Outside China: ``p* = p0 * (R / R0) ** flexibility`` with the outside market's
   tightness over the coming weeks
   ``R = (outside orders + targets / h) / (non-Chinese capacity + Chinese shipments to outside buyers + stocks / h)``:
   the outside buyers' stocks on hand and arriving within the normal lead (``near``) count as supply and their stock and
   pipeline targets as demand, spread over ``h = world.market.price_stock_weeks`` (state
   stockpiles are off the market: their orders count, their stocks do not; ``h = 0``: flows only);
   inside China: ``p* = p0 * (1 - discount) * (U / U0) ** flexibility`` with ``U`` the
   utilization of Chinese capacity. ``R0``, ``U0`` are the calm values, so prices start at
   their calm level; each price closes a share of its gap to ``p*`` each week.
   Controls cut Chinese shipments to outside buyers (the outside price jumps) and leave
   Chinese capacity idle (the inside price falls or holds).
7. **Landed prices** (FORGE's measures, off unless the coalition decides them: ``signals.forge_tariff_share``,
   ``signals.forge_floor``). A manufacturer in a member state pays, per tonne, the outside price ``p``
   times (1 + tariff) for non-member material (Chinese and other non-member origins) and
   ``max(p, floor * p0)`` for members' material: its landed price is
   ``p * (nm * (1 + tariff) + (1 - nm) * max(1, floor * p0 / p))``, with ``nm`` its non-member share:
   this week's Chinese-origin share of its shipments ``cn`` plus ``(1 - cn) * q``, ``q`` the non-member
   share of its non-Chinese sourcing (read when the measures change: diversification rescales the
   non-Chinese edges together, so ``q`` holds). Its demand factor for next week is taken at its
   landed price. What members' firms pay above ``p`` for members' material goes to
   ``signals.floor_paid_usd`` (by their country): the states' floor payments are reduced by it (new
   supply) and it is part of the firms' input premium (recorder). The tariff is a transfer from
   members' firms to their own state, counted on neither side (the input premium is at the outside
   price; no revenue enters the policy cost), so a country's costs add up as before. The state
   stockpiles buy at the outside price (a tariff or floor a state pays itself nets out).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from simulation.kernels import implementation, kernel, maximum, minimum, np_sum
from simulation.mechanisms.base import Context, Mechanism, SettledPath, ceiling_path, position_ceilings
from simulation.population import POS_MANUFACTURER, POS_STOCKPILE, POS_TRADER, PRODUCER, calm_edge_flows

# Fixed bundles: one per kernel, each with only what that kernel reads (numba types every array of
# a bundle at every call, so a bundle carries no more than its kernel needs). Index arrays are
# unsigned, 16-bit when they fit; keys past the end of a range are spare bins for the edges they
# do not apply to. The arrays are gathered once by ``Market._index``.


class OrderFixed(NamedTuple):
    """What the orders kernel reads that never changes."""

    base_use: np.ndarray  # per position, t/week at full output
    firm_cap: np.ndarray  # per firm, nominal capacity t/week
    buyer: np.ndarray  # per position: not a trader
    edge_pos: np.ndarray  # per edge, the position ordering on it
    hub_buyers: np.ndarray  # positions with hub (trader) suppliers
    via: np.ndarray  # buyer <- trader edges
    via_local: np.ndarray  # each via edge's buyer, as a place in ``hub_buyers``
    via_trader: np.ndarray  # each via edge's trader, numbered 0..n_traders-1
    n_traders: int
    up: np.ndarray  # trader <- producer edges
    up_trader: np.ndarray  # their trader, numbered 0..n_traders-1
    near_weeks: int  # the longest lead of a contract or spot purchase: the pipeline the order rule counts


class CeilingFixed(NamedTuple):
    """What the dependence-ceiling kernel reads that never changes."""

    capped: np.ndarray  # per position: under a dependence ceiling
    alt: np.ndarray  # producer edges of non-Chinese origin
    alt_sup: np.ndarray  # their producer
    alt_pos: np.ndarray  # their position
    dcn: np.ndarray  # buyer <- Chinese producer edges
    dcn_pos: np.ndarray
    vcn: np.ndarray  # buyer <- trader edges of Chinese origin
    vcn_pos: np.ndarray
    cut: np.ndarray  # the edges a ceiling cuts (dcn and vcn)
    cut_pos: np.ndarray
    via: np.ndarray  # as in :class:`OrderFixed`
    via_trader: np.ndarray
    up: np.ndarray
    up_trader: np.ndarray


class ClearFixed(NamedTuple):
    """What the clearing kernel reads that never changes."""

    com: np.ndarray  # per position, its commodity
    buyer: np.ndarray  # per position: not a trader
    outside: np.ndarray  # per position: a buyer outside China
    capped: np.ndarray  # per position: under a dependence ceiling
    up: np.ndarray  # trader <- producer edges
    up_trader: np.ndarray  # their trader, numbered 0..n_traders-1
    up_sup: np.ndarray  # their producer
    order_key: np.ndarray  # per edge, the producer whose orders it adds to (n_firms: none)
    fill_key: np.ndarray  # per edge, its fill: a producer's, n_firms + a trader's, or none (0)
    made_key: np.ndarray  # per edge, the commodity a producer makes (n_com: none)
    via_cn: np.ndarray  # per edge: buyer <- trader of Chinese origin (transshipped)
    be_key: np.ndarray  # per edge, the buyer position it delivers to (n_pos: trader <- producer)
    lead_key: np.ndarray  # per edge, its (lead, position) pipeline bin (n_leads * n_pos: none)
    be_cn: np.ndarray  # buyer edges of Chinese origin
    leads: np.ndarray  # the distinct lead times of buyer edges, weeks
    spot_lead: int  # weeks
    n_com: int  # commodities
    cn_pool: np.ndarray  # Chinese producers (the first spot pool)
    cn_pool_com: np.ndarray  # their commodities
    other_pool: np.ndarray  # the other producers (the second spot pool)
    other_pool_com: np.ndarray
    pos_group: np.ndarray  # per position, its bid group (equal bids of one commodity); n_groups: none
    group_com: np.ndarray  # per group, its commodity (groups by commodity, then by bid, highest first)
    qualification: np.ndarray  # per commodity: weeks before spot material from outside China can be used
    r0: np.ndarray  # per commodity, the calm tightness of the outside market
    u0: np.ndarray  # per commodity, the calm utilization of Chinese capacity
    market_stock: np.ndarray  # per position: a buyer outside China whose stocks are on the market (no state stockpile)
    stock_weeks: float  # world.market.price_stock_weeks: the horizon over which stocks count (0: flows only)


class MarketCalm(NamedTuple):
    """The market's calm prices and price bounds per commodity, and China's calm world share."""

    p0: np.ndarray  # calm price outside China
    p0_cn: np.ndarray  # calm price inside China
    flex: np.ndarray  # price flexibility
    adjust: np.ndarray  # share of the gap to the target price closed per week
    lo: np.ndarray  # price bounds outside China
    hi: np.ndarray
    lo_cn: np.ndarray  # price bounds inside China
    hi_cn: np.ndarray
    cn_world_share0: float  # China's calm share of world shipments by value
    manage: float  # how far China's policy holds its domestic price at calm (0-1)


class DemandFactors(NamedTuple):
    """Short-run demand: use x (p / p0) ** -elasticity, at the price each buyer pays."""

    eps: np.ndarray  # per commodity, the short-run price elasticity of demand
    factors: np.ndarray  # per commodity outside China, then inside: the factors in force (updated)
    key: np.ndarray  # per position, its factor's index
    out: np.ndarray  # per position, the demand factor (the state's; updated when the factors move)


class MarketFixed(NamedTuple):
    """Everything fixed the market's step reads: the kernels' bundles, the calm references, and
    the dependence ceilings (whether any, and their path over the weeks)."""

    orders: OrderFixed
    ceiling: CeilingFixed
    clear: ClearFixed
    calm: MarketCalm
    capped_any: bool
    ceiling_path: SettledPath


class OrderWeek(NamedTuple):
    """This week's state arrays the orders kernel reads (and ``required``, which it writes)."""

    intensity: np.ndarray
    demand_factor: np.ndarray  # the short-run price response of use (1 at calm prices)
    required: np.ndarray  # written: this week's need at full output
    stock_target: np.ndarray
    pipe_target: np.ndarray
    inventory: np.ndarray
    adjust_rate: np.ndarray
    expected_use: np.ndarray
    recycled: np.ndarray  # secondary supply this week: orders cover the rest
    share: np.ndarray  # per edge
    edge_open: np.ndarray
    reroute: np.ndarray
    blocked_share: np.ndarray
    capacity_factor: np.ndarray
    ring: np.ndarray  # the pipelines by arrival slot (read)
    slot: int  # this week's slot in ``ring``


class BidGroups(NamedTuple):
    """Buyers grouped by equal bids (:meth:`Market._bids`), what :func:`_by_bid` reads."""

    pos_group: np.ndarray  # per position, its bid group; n_groups: none
    group_com: np.ndarray  # per group, its commodity (groups by commodity, then by bid, highest first)


_NO_BIDS = BidGroups(pos_group=np.zeros(0, np.intp), group_com=np.zeros(0, np.intp))


class ShipWeek(NamedTuple):
    """This week's state arrays the clearing kernel reads or updates."""

    pos_controlled: np.ndarray
    ring: np.ndarray  # updated: deliveries enter their lead's slot
    ring_cn: np.ndarray
    in_transit: np.ndarray  # updated: shipments are added
    inventory: np.ndarray  # read: stocks on hand (the outside market's stocks, for the price)
    stock_target: np.ndarray  # read: stock and pipeline targets (the same)
    pipe_target: np.ndarray
    offtake: bool = False  # FORGE's offtake claims are in force (signals.offtake_share)
    claim: np.ndarray = np.zeros(0)  # per firm: the share of its spare capacity the offtakers claim first
    offtaker: np.ndarray = np.zeros(0, bool)  # per position: a buyer holding offtake claims
    tariff: bool = False  # FORGE's tariff is in force: China's spare capacity goes by ``cn_bids``
    cn_bids: BidGroups = _NO_BIDS  # the bids for China's spare capacity, members' firms' net of the tariff


class LandedFixed(NamedTuple):
    """What the landed-price kernel reads: FORGE's measures in force and the members' firms they
    apply to (rebuilt when the measures change)."""

    firms: np.ndarray  # the manufacturers of FORGE members (positions)
    com: np.ndarray  # their commodity
    country: np.ndarray  # their country
    q: np.ndarray  # the non-member share of their non-Chinese sourcing
    cn0: np.ndarray  # their Chinese share of sourcing when read (for a week without shipments)
    tariff: float  # on non-member material, share of the price
    floor: float  # on members' material, multiple of the calm price outside China (0: none)
    p0: np.ndarray  # per commodity, the calm price outside China
    eps: np.ndarray  # per commodity, the short-run price elasticity of demand
    n_countries: int


class MarketOrders(NamedTuple):
    """This week's orders (:func:`_orders_kernel`); the ceilings cut ``placed`` and ``trader_orders``."""

    desired: np.ndarray  # per position
    placed: np.ndarray  # per edge
    trader_orders: np.ndarray  # per trader
    cap: np.ndarray  # per firm, capacity this week
    near: np.ndarray  # per position, what its pipeline delivers within ``near_weeks`` (the order rule's)


class MarketCleared(NamedTuple):
    """This week's clearing (:func:`_clear_kernel`)."""

    shipped: np.ndarray  # per position
    shipped_cn: np.ndarray  # its Chinese-origin part
    spot: np.ndarray  # per position
    production: np.ndarray  # per commodity
    transshipped: np.ndarray  # per edge
    cn_out: np.ndarray  # per commodity, China's shipments to outside buyers
    ship_all: np.ndarray  # per commodity, shipments to buyers
    cn_ship: np.ndarray  # their Chinese-origin part
    ratio: np.ndarray  # the outside market's tightness over its calm value
    ratio_cn: np.ndarray  # Chinese utilization over its calm value


def market_week(s, t: int) -> tuple[OrderWeek, ShipWeek]:
    """The market kernels' weekly bundles in week ``t`` from the state ``s`` (or anything with its attributes)."""
    return (OrderWeek(intensity=s.intensity, demand_factor=s.demand_factor, required=s.required,
                      stock_target=s.stock_target, pipe_target=s.pipe_target, inventory=s.inventory,
                      adjust_rate=s.adjust_rate, expected_use=s.expected_use,
                      recycled=s.recycled, share=s.edge_share, edge_open=s.edge_open, reroute=s.reroute,
                      blocked_share=s.blocked_share, capacity_factor=s.capacity_factor, ring=s.ring,
                      slot=t % s.ring.shape[0]),
            ShipWeek(pos_controlled=s.pos_controlled, ring=s.ring, ring_cn=s.ring_cn, in_transit=s.in_transit,
                     inventory=s.inventory, stock_target=s.stock_target, pipe_target=s.pipe_target))


def china_sales(calm: MarketCalm, c: MarketCleared, price: np.ndarray, price_cn: np.ndarray) -> tuple[float, float]:
    """China's export revenue at inside prices and its world market share by value (for its
    escalation calculus; the calm share when nothing is shipped)."""
    cn_export_usd, value_all, value_cn = _china_sales_kernel(c.cn_out, c.ship_all, c.cn_ship, price, price_cn)
    return float(cn_export_usd), float(value_cn / value_all) if value_all > 0 else calm.cn_world_share0


@kernel
def _china_sales_kernel(cn_out, ship_all, cn_ship, price, price_cn):
    """The sums of :func:`china_sales` (China's exports at inside prices, all shipments and the
    Chinese-origin ones at outside prices), each as numpy's ``(x * p).sum()`` to the last bit."""
    n = len(price)
    export, value_all, value_cn = np.empty(n), np.empty(n), np.empty(n)
    for c in range(n):
        export[c] = cn_out[c] * price_cn[c]
        value_all[c] = ship_all[c] * price[c]
        value_cn[c] = cn_ship[c] * price[c]
    return np_sum(export), np_sum(value_all), np_sum(value_cn)


def _pick(bundle: type, arrays: dict):
    """The fields of ``bundle`` from ``arrays`` (a name -> value dict)."""
    return bundle(**{name: arrays[name] for name in bundle._fields})


class Market(Mechanism):
    """Clears every commodity market for one week."""

    name = "market"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        e, cfg = self.eco, self.config
        self.buyer = e.pos_kind != POS_TRADER
        sup_kind = e.firm_kind[e.edge_supplier]
        self.prod_edge = sup_kind == PRODUCER
        self.up_edge = e.pos_kind[e.edge_pos] == POS_TRADER  # trader <- producer
        self.via_edge = e.edge_via_trader  # buyer <- trader
        trader_pos = np.full(e.n_firms, -1, np.int64)
        tp = np.flatnonzero(e.pos_kind == POS_TRADER)
        trader_pos[e.pos_firm[tp]] = tp
        self.via_trader_pos = trader_pos[e.edge_supplier[self.via_edge]]
        producer = e.firm_kind == PRODUCER
        self.cn_producer = producer & (e.firm_country == e.coercer)
        self.noncn_producer = producer & (e.firm_country != e.coercer)
        self.edge_cn = e.edge_origin == e.coercer
        self.outside_pos = self.buyer & (e.pos_country != e.coercer)
        self.market_stock = self.outside_pos & (e.pos_kind != POS_STOCKPILE)  # state stockpiles are off the market
        # hard dependence ceilings (the state caps Chinese-origin receipts of its firms)
        final, end = position_ceilings(e, cfg)
        self.capped = ~np.isnan(final)
        arrays = self._index()
        calm, arrays["r0"], arrays["u0"] = self._calm()
        self.fixed = MarketFixed(orders=_pick(OrderFixed, arrays), ceiling=_pick(CeilingFixed, arrays),
                                 clear=_pick(ClearFixed, arrays), calm=calm, capped_any=bool(self.capped.any()),
                                 ceiling_path=ceiling_path(final, end))
        self._cn_buyer = e.pos_country == e.coercer
        # each position's demand factor: its commodity's, outside or (after the n_com outside ones) inside China
        self._demand = DemandFactors(
            eps=np.array([cfg.world.commodities[c].demand_elasticity for c in e.commodities]),
            factors=np.ones(2 * len(e.commodities)),
            key=(e.pos_commodity + len(e.commodities) * self._cn_buyer).astype(np.intp), out=self.state.demand_factor)
        # China's exports per commodity (producer edges to positions outside China, traders' included)
        export = self.prod_edge & self.edge_cn & ~self._cn_buyer[e.edge_pos]
        edge_com = e.pos_commodity[e.edge_pos]
        self._export_edges = [np.flatnonzero(export & (edge_com == c)) for c in range(len(e.commodities))]
        self._quotas_seen: dict | None = None
        self._offtake_seen: np.ndarray | None = None  # FORGE's offtake shares the claims were built from
        # FORGE's measures in members' landed prices (signals.forge_tariff_share, signals.forge_floor) as read,
        # and what they apply to (None: none in force)
        self._forge_seen: tuple[float | None, float] = (None, 0.0)
        self._landed_fixed: LandedFixed | None = None
        self._cn_bids: BidGroups | None = None
        self.landed = np.ones(e.n_pos)  # per position, its landed price over the outside price (1: the market's)
        self._orders = implementation(_orders_kernel, orders_reference)
        self._cap_chinese = implementation(_cap_chinese_kernel, cap_chinese_reference)
        self._clear = implementation(_clear_kernel, clear_reference)
        self._prices = implementation(_prices_kernel, prices_reference)
        self._landed = implementation(_landed_kernel, landed_reference)

    def _index(self) -> dict:
        """Every fixed subset and per-edge key the kernels read, by bundle field name, gathered once
        as unsigned integers, 16-bit when they fit (numba indexes with unsigned integers without
        testing for negative indices, and small ones halve the memory the weekly loops sweep)."""
        e, cfg = self.eco, self.config
        pos = e.edge_pos.astype(np.intp)
        sup = e.edge_supplier.astype(np.intp)
        firm_com = e.firm_commodity.astype(np.intp)
        n_pos, n_firms, n_com = e.n_pos, e.n_firms, len(e.commodities)
        leads = _distinct(e.edge_lead[~self.up_edge])
        bound = max(e.n_edges, (len(leads) + 1) * n_pos, n_firms + n_pos + 1)  # above every index and key
        ix = np.uint16 if bound < 2**16 else np.uint32
        via = np.flatnonzero(self.via_edge)
        # positions with hub suppliers, and each via edge's place among them
        hub = np.flatnonzero(np.bincount(pos[via], minlength=n_pos))
        # traders' pass-through positions, numbered 0..n_traders-1
        traders = np.flatnonzero(e.pos_kind == POS_TRADER)
        local = np.zeros(n_pos, np.intp)
        local[traders] = np.arange(len(traders))
        via_trader = local[self.via_trader_pos]
        up = np.flatnonzero(self.up_edge)
        # per edge: its supplier's orders (producers; a spare bin for the rest), its fill (a
        # producer's, or the trader's for via edges; 0 for none), the commodity produced (a
        # spare bin for none)
        pe = np.flatnonzero(self.prod_edge)
        order_key = np.full(e.n_edges, n_firms, ix)
        order_key[pe] = sup[pe]
        fill_key = np.full(e.n_edges, n_firms + len(traders), ix)
        fill_key[pe] = sup[pe]
        fill_key[via] = n_firms + via_trader
        made_key = np.full(e.n_edges, n_com, ix)
        made_key[pe] = firm_com[sup[pe]]
        # per edge: the buyer position it delivers to and its (lead, position) pipeline bin (past
        # the end: none, for trader <- producer edges); the buyer edges of Chinese origin
        be = ~self.up_edge
        lead_no = np.zeros(int(leads.max(initial=0)) + 1, np.intp)
        lead_no[leads] = np.arange(len(leads))
        lead_key = np.full(e.n_edges, len(leads) * n_pos, ix)
        lead_key[be] = lead_no[e.edge_lead[be]] * n_pos + pos[be]
        cn_pool, other_pool = np.flatnonzero(self.cn_producer), np.flatnonzero(self.noncn_producer)
        # dependence ceilings: non-Chinese producer edges; Chinese-origin orders, direct and via traders
        alt = np.flatnonzero(self.prod_edge & ~self.edge_cn)
        direct_cn, via_cn = self.prod_edge & self.edge_cn & ~self.up_edge, self.via_edge & self.edge_cn
        dcn, vcn, cut = np.flatnonzero(direct_cn), np.flatnonzero(via_cn), np.flatnonzero(direct_cn | via_cn)
        return dict(
            base_use=e.pos_base_use_t, firm_cap=e.firm_capacity_t, buyer=self.buyer, outside=self.outside_pos,
            capped=self.capped, com=e.pos_commodity.astype(ix), edge_pos=pos.astype(ix), hub_buyers=hub.astype(ix),
            via=via.astype(ix), via_local=np.searchsorted(hub, pos[via]).astype(ix), via_trader=via_trader.astype(ix),
            n_traders=len(traders), up=up.astype(ix), up_trader=local[pos[up]].astype(ix), up_sup=sup[up].astype(ix),
            near_weeks=int(max(leads.max(initial=0), cfg.world.market.spot_lead_weeks)),
            order_key=order_key, fill_key=fill_key, made_key=made_key, via_cn=via_cn,
            be_key=np.where(be, pos, n_pos).astype(ix), lead_key=lead_key,
            be_cn=np.flatnonzero(be & self.edge_cn).astype(ix), leads=leads.astype(ix),
            spot_lead=int(cfg.world.market.spot_lead_weeks), n_com=n_com, cn_pool=cn_pool.astype(ix),
            cn_pool_com=firm_com[cn_pool].astype(ix), other_pool=other_pool.astype(ix),
            other_pool_com=firm_com[other_pool].astype(ix), **self._bids(ix),
            qualification=np.array([cfg.world.commodities[c].qualification_weeks for c in e.commodities], np.intp),
            alt=alt.astype(ix), alt_sup=sup[alt].astype(ix), alt_pos=pos[alt].astype(ix),
            dcn=dcn.astype(ix), dcn_pos=pos[dcn].astype(ix), vcn=vcn.astype(ix), vcn_pos=pos[vcn].astype(ix),
            cut=cut.astype(ix), cut_pos=pos[cut].astype(ix), market_stock=self.market_stock,
            stock_weeks=float(cfg.world.market.price_stock_weeks))

    def _bids(self, ix) -> dict:
        """Willingness to pay on the spot market, fixed per buyer position: the value added its
        firm loses per tonne short (criticality x value added per tonne of the input at full
        output, USD/t); a stockpile bids 0 (it buys last). Returns the buyers ordered by commodity
        and bid (highest first) and their groups of equal bids (rounded to 10 digits), which
        share what reaches them pro rata: each position's group, and each group's commodity."""
        e, cfg = self.eco, self.config
        lcu = np.array([cfg.world.countries[c].lcu_per_usd for c in e.countries])
        bid = np.zeros(e.n_pos)
        mf = np.flatnonzero((e.pos_firm >= 0) & self.buyer & (e.pos_base_use_t > 0))
        bid[mf] = (e.pos_criticality[mf] * e.firm_va_week[e.pos_firm[mf]] / lcu[e.pos_country[mf]]
                   / e.pos_base_use_t[mf])
        self._bid = bid
        return self._bid_groups(bid)._asdict()

    def _bid_groups(self, bid: np.ndarray) -> BidGroups:
        """The buyers' groups of equal bids (``bid`` per position, USD/t, rounded to 10 digits)."""
        e = self.eco
        bid = np.array([float(f"{b:.10g}") for b in bid])
        buyers = np.flatnonzero(self.buyer)
        order = buyers[np.lexsort((-bid[buyers], e.pos_commodity[buyers]))]
        com, b = e.pos_commodity[order], bid[order]
        new = np.r_[True, (com[1:] != com[:-1]) | (b[1:] != b[:-1])] if len(order) else np.zeros(0, bool)
        group_com = com[new].astype(np.intp)
        pos_group = np.full(e.n_pos, len(group_com), np.intp)  # traders: no group
        pos_group[order] = np.cumsum(new) - 1
        return BidGroups(pos_group=pos_group, group_com=group_com)

    def _calm(self) -> tuple[MarketCalm, np.ndarray, np.ndarray]:
        """Calm prices and their bounds, and the calm reference ratios ``r0``, ``u0`` from the initial
        sourcing (steady state: desired = use); China's calm export revenue and world share are
        published in the signals."""
        e, cfg = self.eco, self.config
        n_com = len(e.commodities)
        cap = e.firm_capacity_t * self.state.capacity_factor
        cap_noncn = np.bincount(e.firm_commodity[self.noncn_producer], cap[self.noncn_producer], minlength=n_com)
        cap_cn = np.bincount(e.firm_commodity[self.cn_producer], cap[self.cn_producer], minlength=n_com)
        use = e.pos_base_use_t - e.pos_recycled_t  # contracted: net of recycled supply
        flow = calm_edge_flows(use, e.pos_kind, e.pos_firm, e.edge_pos, e.edge_supplier, e.edge_share,
                               e.edge_via_trader, e.n_firms)
        com_e = e.pos_commodity[e.edge_pos]
        out_e = self.outside_pos[e.edge_pos] & self.edge_cn & (self.prod_edge | self.via_edge)
        out_e &= ~self.up_edge
        d_out0 = np.bincount(e.pos_commodity[self.outside_pos], use[self.outside_pos], minlength=n_com)
        cn_out0 = np.bincount(com_e[out_e], flow[out_e], minlength=n_com)
        cn_all0 = np.bincount(com_e[self.prod_edge & self.edge_cn], flow[self.prod_edge & self.edge_cn],
                              minlength=n_com)
        p0, p0_cn = e.price0, e.price0_cn
        self.signals.cn_export0_usd = float((cn_out0 * p0_cn).sum())
        buyer_e = ~self.up_edge
        all0 = np.bincount(com_e[buyer_e], flow[buyer_e], minlength=n_com)
        self.signals.cn_world_share0 = float((cn_all0 * p0).sum() / max((all0 * p0).sum(), 1e-12))
        coms = [cfg.world.commodities[c] for c in e.commodities]
        cap_multiple = np.array([c.price_cap_multiple for c in coms])
        floor = cfg.world.market.price_floor_multiple
        calm = MarketCalm(
            p0=p0, p0_cn=p0_cn, flex=np.array([c.price_flexibility for c in coms]),
            adjust=np.array([c.price_adjustment_share_per_week for c in coms]),
            lo=floor * p0, hi=cap_multiple * p0, lo_cn=floor * p0_cn, hi_cn=cap_multiple * p0_cn,
            cn_world_share0=self.signals.cn_world_share0, manage=cfg.world.market.china_price_management_share)
        supply0, need0 = cap_noncn + cn_out0, d_out0
        h = float(cfg.world.market.price_stock_weeks)
        if h > 0:  # the outside market's stocks and their targets, as the clearing kernel sums them
            st, ms = self.state, self.market_stock
            held0 = np.bincount(e.pos_commodity[ms], (st.inventory + st.in_transit)[ms], minlength=n_com)  # all near
            target0 = np.bincount(e.pos_commodity[ms], (st.stock_target + st.pipe_target)[ms], minlength=n_com)
            supply0, need0 = supply0 + held0 / h, d_out0 + target0 / h
        return calm, _safe_div(need0, supply0, 1.0), _safe_div(cn_all0, cap_cn, 1.0)

    def step(self, t: int) -> None:
        s, fx = self.state, self.fixed
        calm = fx.calm
        if (self.signals.forge_tariff_share, self.signals.forge_floor) != self._forge_seen:
            self._read_forge()
        demand, ship = market_week(s, t)
        # orders, rerouting through hubs, traders' pass-through; the dependence ceilings cut them
        orders = MarketOrders(*self._orders(fx.orders, demand))
        if fx.capped_any:
            self._cap_chinese(fx.ceiling, orders, fx.ceiling_path.at(t), s.edge_share, s.edge_open)
        # allocation, deliveries, spot market, shipment into the pipelines
        if self.signals.quotas:
            ship = self._quota(orders, ship)
        if self.signals.offtake_share.size:
            ship = self._offtake(ship)
        if self._cn_bids is not None:  # FORGE's tariff: members' firms bid less for Chinese material
            ship = ship._replace(tariff=True, cn_bids=self._cn_bids)
        c = MarketCleared(*self._clear(fx.clear, ship, orders, t))
        s.desired, s.shipped, s.shipped_cn, s.spot = orders.desired, c.shipped, c.shipped_cn, c.spot
        s.production_t, s.transshipped = c.production, c.transshipped
        # China's export revenue and world market share (for its escalation calculus); prices
        s.cn_export_usd, s.cn_world_share = china_sales(calm, c, s.price, s.price_cn)
        # prices, and next week's short-run demand at them
        self._prices(calm, c.ratio, c.ratio_cn, s.price, s.price_cn, self._demand)
        if self._landed_fixed is not None:  # FORGE's measures: members' firms' landed prices and demand
            paid = self._landed(self._landed_fixed, c.shipped, c.shipped_cn, s.price, self.landed, self._demand.out)
            if self._landed_fixed.floor > 0:
                self.signals.floor_paid_usd = paid

    def _read_forge(self) -> None:
        """FORGE's tariff or floor changed (``signals.forge_tariff_share``, ``signals.forge_floor``): the
        members' manufacturers they apply to, the non-member share ``q`` of their non-Chinese sourcing
        (diversification rescales the non-Chinese edges together, so it holds; a position with no
        non-Chinese share yet: the non-member share of the commodity's capacity outside China), and,
        under a tariff, the bids for China's spare capacity with members' firms' bids over
        (1 + tariff) (they pay it on top of the price). Without measures, landed prices are the market's."""
        e, s, sig, d = self.eco, self.state, self.signals, self._demand
        self._forge_seen = (sig.forge_tariff_share, sig.forge_floor)
        tariff, floor = sig.forge_tariff_share or 0.0, sig.forge_floor
        member = np.array([self.config.world.countries[c].forge_member for c in e.countries])
        firms = np.flatnonzero((e.pos_kind == POS_MANUFACTURER) & member[e.pos_country])
        self.landed[:] = 1.0
        d.out[firms] = d.factors[d.key[firms]]  # the market's demand factors, until the kernel's
        self._landed_fixed = self._cn_bids = None
        sig.floor_paid_usd = np.zeros((0, 0))
        if not (tariff > 0 or floor > 0) or not len(firms):
            return
        n, pos, share = e.n_pos, e.edge_pos, s.edge_share
        buyer_edge = self.buyer[pos]
        cn, alt = buyer_edge & self.edge_cn, buyer_edge & ~self.edge_cn
        nm = alt & ~member[e.edge_origin]
        alt_all, alt_nm = np.bincount(pos[alt], share[alt], minlength=n), np.bincount(pos[nm], share[nm], minlength=n)
        cap = e.firm_capacity_t * self.noncn_producer
        n_com = len(e.commodities)
        cap_all = np.bincount(e.firm_commodity[self.noncn_producer], cap[self.noncn_producer], minlength=n_com)
        nm_firm = self.noncn_producer & ~member[e.firm_country]
        cap_nm = np.bincount(e.firm_commodity[nm_firm], cap[nm_firm], minlength=n_com)
        q = _safe_div(cap_nm, cap_all, 0.0)[e.pos_commodity]
        np.divide(alt_nm, alt_all, out=q, where=alt_all > 0)
        self._landed_fixed = LandedFixed(
            firms=firms, com=e.pos_commodity[firms].astype(np.intp), country=e.pos_country[firms].astype(np.intp),
            q=q[firms], cn0=np.bincount(pos[cn], share[cn], minlength=n)[firms], tariff=float(tariff),
            floor=float(floor), p0=self.fixed.calm.p0, eps=d.eps, n_countries=len(e.countries))
        if tariff > 0:
            bid = self._bid.copy()
            bid[firms] /= 1.0 + tariff
            self._cn_bids = self._bid_groups(bid)

    def _offtake(self, ship: ShipWeek) -> ShipWeek:
        """FORGE's offtake contracts (``signals.offtake_share``, per country): members' buyers claim that
        share of the spare capacity of members' producers before the spot buyers (returned: the week's
        bundle with the claims)."""
        share = self.signals.offtake_share
        if share is not self._offtake_seen:
            e = self.eco
            self._offtake_seen = share
            self._claim = np.where(e.firm_kind == PRODUCER, share[e.firm_country], 0.0)
            self._offtaker = self.buyer & (share[e.pos_country] > 0)
        return ship._replace(offtake=True, claim=self._claim, offtaker=self._offtaker)

    def _quota(self, orders: MarketOrders, ship: ShipWeek) -> ShipWeek:
        """China's export quotas: the contracted orders on Chinese producers from outside China
        (direct, and traders' upstream orders) are cut pro rata to the quota, in place; the buyers
        outside China get no Chinese spot material (returned: the week's bundle with them marked
        as controlled)."""
        quotas = self.signals.quotas
        if quotas is not self._quotas_seen:
            e = self.eco
            self._quotas_seen = quotas
            com = np.array([c in quotas for c in e.commodities], bool)
            self._quota_pos = ~self._cn_buyer & com[e.pos_commodity]
            self._quota_t = [(self._export_edges[e.commodities.index(c)], q) for c, q in quotas.items()]
        placed = orders.placed
        for edges, q in self._quota_t:
            asked = placed[edges].sum()
            if asked > q:
                placed[edges] *= q / asked
        return ship._replace(pos_controlled=ship.pos_controlled | self._quota_pos)


def _distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of small non-negative integers (lead times), in linear time."""
    return np.flatnonzero(np.bincount(values)) if len(values) else np.unique(values)


def _safe_div(a, b, default: float):
    """``a / b`` where ``b > 0``, else ``default``, as floats."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    out = np.full(np.broadcast(a, b).shape, default, dtype=float)
    np.divide(a, b, out=out, where=b > 0)
    return out


# ------------------------------------------------------------------ orders
@kernel
def _orders_kernel(fx, wk):
    """This week's need at full output (into ``wk.required``), the order-up-to purchases of every
    position, the orders placed on every edge (a hub buyer's rerouted orders added to its
    via edges, split by share), the orders traders pass upstream, and producers' capacity
    (:func:`orders_reference` in numpy).

    Returns:
        (desired per position, placed per edge, orders per trader, capacity per firm): a
        :class:`MarketOrders`
    """
    base_use, buyer, edge_pos, hub, via = fx.base_use, fx.buyer, fx.edge_pos, fx.hub_buyers, fx.via
    via_local, via_trader, up, up_trader, firm_cap = fx.via_local, fx.via_trader, fx.up, fx.up_trader, fx.firm_cap
    required, intensity, inventory = wk.required, wk.intensity, wk.inventory
    stock_target, pipe_target, adjust_rate = wk.stock_target, wk.pipe_target, wk.adjust_rate
    expected_use, recycled = wk.expected_use, wk.recycled
    share, edge_open, reroute, blocked_share = wk.share, wk.edge_open, wk.reroute, wk.blocked_share
    n_pos = len(base_use)
    # the pipeline arriving within the longest normal lead (this week's slot first): material
    # further out, spot from a new supplier waiting for its qualification, is not counted yet
    ring, L = wk.ring, wk.ring.shape[0]
    near = np.zeros(n_pos)
    for k in range(min(fx.near_weeks, L)):
        row = ring[(wk.slot + k) % L]
        for p in range(n_pos):
            near[p] += row[p]
    desired = np.empty(n_pos)
    for p in range(n_pos):
        required[p] = base_use[p] * intensity[p] * wk.demand_factor[p]
        want = (((stock_target[p] + pipe_target[p]) - inventory[p]) - near[p]) * adjust_rate[p]
        desired[p] = maximum(want + expected_use[p] - recycled[p], 0.0) if buyer[p] else 0.0
    placed = np.empty(len(share))
    for i in range(len(share)):
        placed[i] = desired[edge_pos[i]] * share[i] * edge_open[i]
    # blocked Chinese orders rerouted through hubs, split over the buyer's via edges by share
    via_share = np.zeros(len(hub))
    for j in range(len(via)):
        via_share[via_local[j]] += share[via[j]]
    extra = np.empty(len(hub))
    for h in range(len(hub)):
        p = hub[h]
        rerouted = reroute[p] * blocked_share[p] * desired[p]
        extra[h] = rerouted / via_share[h] if via_share[h] > 1e-12 else 0.0
    trader_orders = np.zeros(fx.n_traders)
    for j in range(len(via)):
        i = via[j]
        placed[i] += extra[via_local[j]] * share[i]
        trader_orders[via_trader[j]] += placed[i]
    for j in range(len(up)):
        i = up[j]
        placed[i] = trader_orders[up_trader[j]] * share[i] * edge_open[i]
    cap = np.empty(len(firm_cap))
    for f in range(len(firm_cap)):
        cap[f] = firm_cap[f] * wk.capacity_factor[f]
    return desired, placed, trader_orders, cap, near


def orders_reference(fx: OrderFixed, wk: OrderWeek):
    """:func:`_orders_kernel` in numpy."""
    wk.required[:] = fx.base_use * wk.intensity * wk.demand_factor
    L = wk.ring.shape[0]
    near = np.zeros(len(fx.base_use))
    for k in range(min(fx.near_weeks, L)):
        near += wk.ring[(wk.slot + k) % L]
    want = (((wk.stock_target + wk.pipe_target) - wk.inventory) - near) * wk.adjust_rate
    desired = np.where(fx.buyer, np.maximum(want + wk.expected_use - wk.recycled, 0.0), 0.0)
    share, edge_open, via, up = wk.share, wk.edge_open, fx.via, fx.up
    placed = desired[fx.edge_pos] * share * edge_open
    # a hub buyer's rerouted orders over its via edges, by share
    via_share = np.bincount(fx.via_local, share[via], minlength=len(fx.hub_buyers))
    hub = fx.hub_buyers
    rerouted = wk.reroute[hub] * wk.blocked_share[hub] * desired[hub]
    extra = np.zeros(len(hub))
    np.divide(rerouted, via_share, out=extra, where=via_share > 1e-12)
    placed[via] += extra[fx.via_local] * share[via]
    trader_orders = np.bincount(fx.via_trader, placed[via], minlength=fx.n_traders)
    placed[up] = trader_orders[fx.up_trader] * share[up] * edge_open[up]
    return desired, placed, trader_orders, fx.firm_cap * wk.capacity_factor, near


# ------------------------------------------------------------------ dependence ceilings
@kernel
def _cap_chinese_kernel(fx, orders, ceiling, share, edge_open):
    """Under a dependence ceiling c, Chinese-origin orders of a position may not exceed
    c / (1 - c) times what its non-Chinese suppliers deliver this week (their allocation
    does not depend on Chinese orders, so it is computed first). Cuts ``orders.placed`` in
    place, and with it the orders traders pass upstream (``orders.trader_orders``, also in
    place: their fill rate is what they receive over what they ordered after the cut)
    (:func:`cap_chinese_reference` in numpy)."""
    placed, trader_orders, cap = orders.placed, orders.trader_orders, orders.cap
    capped, alt, alt_sup, alt_pos, dcn, dcn_pos = fx.capped, fx.alt, fx.alt_sup, fx.alt_pos, fx.dcn, fx.dcn_pos
    vcn, vcn_pos, cut, cut_pos, via, via_trader = fx.vcn, fx.vcn_pos, fx.cut, fx.cut_pos, fx.via, fx.via_trader
    up, up_trader = fx.up, fx.up_trader
    n_pos = len(capped)
    firm_orders = np.zeros(len(cap))
    for j in range(len(alt)):
        firm_orders[alt_sup[j]] += placed[alt[j]]
    got_alt = np.zeros(n_pos)
    for j in range(len(alt)):
        f = alt_sup[j]
        fill = cap[f] / firm_orders[f] if firm_orders[f] > cap[f] else 1.0
        got_alt[alt_pos[j]] += placed[alt[j]] * fill
    direct = np.zeros(n_pos)
    for j in range(len(dcn)):
        direct[dcn_pos[j]] += placed[dcn[j]]
    via_cn = np.zeros(n_pos)
    for j in range(len(vcn)):
        via_cn[vcn_pos[j]] += placed[vcn[j]]
    keep = np.ones(n_pos)
    for p in range(n_pos):
        c = ceiling[p]
        allowed = c / maximum(1.0 - c, 1e-12) * got_alt[p] if c < 1.0 else np.inf
        cn_orders = direct[p] + via_cn[p]
        if capped[p] and cn_orders > allowed:
            keep[p] = allowed / cn_orders if cn_orders > 0 else 0.0
    for j in range(len(cut)):
        placed[cut[j]] *= keep[cut_pos[j]]
    trader_orders[:] = 0.0
    for j in range(len(via)):
        trader_orders[via_trader[j]] += placed[via[j]]
    for j in range(len(up)):
        i = up[j]
        placed[i] = trader_orders[up_trader[j]] * share[i] * edge_open[i]


def cap_chinese_reference(fx: CeilingFixed, orders: MarketOrders, ceiling: np.ndarray, share: np.ndarray,
                          edge_open: np.ndarray):
    """:func:`_cap_chinese_kernel` in numpy."""
    placed, cap, alt, up = orders.placed, orders.cap, fx.alt, fx.up
    n_pos = len(fx.capped)
    firm_orders = np.bincount(fx.alt_sup, placed[alt], minlength=len(cap))
    fill = np.ones(len(cap))
    np.divide(cap, firm_orders, out=fill, where=firm_orders > cap)
    got_alt = np.bincount(fx.alt_pos, placed[alt] * fill[fx.alt_sup], minlength=n_pos)
    cn_orders = (np.bincount(fx.dcn_pos, placed[fx.dcn], minlength=n_pos)
                 + np.bincount(fx.vcn_pos, placed[fx.vcn], minlength=n_pos))
    below = ceiling < 1.0
    allowed = np.full(n_pos, np.inf)
    allowed[below] = ceiling[below] / np.maximum(1.0 - ceiling[below], 1e-12) * got_alt[below]
    over = fx.capped & (cn_orders > allowed)
    keep = np.ones(n_pos)
    keep[over] = 0.0
    np.divide(allowed, cn_orders, out=keep, where=over & (cn_orders > 0))
    placed[fx.cut] *= keep[fx.cut_pos]
    orders.trader_orders[:] = np.bincount(fx.via_trader, placed[fx.via], minlength=len(orders.trader_orders))
    placed[up] = orders.trader_orders[fx.up_trader] * share[up] * edge_open[up]


# ------------------------------------------------------------------ clearing
@kernel
def _pool_supply(spare, idx, idx_com, n_com):
    """The spare capacity of firms ``idx`` (commodities ``idx_com``) per commodity."""
    supply = np.zeros(n_com)
    for j in range(len(idx)):
        supply[idx_com[j]] += spare[idx[j]]
    return supply


@kernel
def _by_bid(fx, supply, request):
    """A pool of spare capacity per commodity against the buyers' ``request`` (t), by willingness
    to pay: the groups of equal bids are served from the highest down, each in full while the
    pool lasts; the group where it runs out shares the rest pro rata. Returns the share of each
    position's request filled and the tonnes supplied per commodity."""
    pos_group, group_com = fx.pos_group, fx.group_com
    n_groups = len(group_com)
    total = np.zeros(n_groups + 1)  # the last: positions in no group
    for p in range(len(request)):
        total[pos_group[p]] += request[p]
    ahead = np.zeros(len(supply))  # requests of the higher bids, per commodity
    gfill = np.zeros(n_groups + 1)
    for g in range(n_groups):
        c = group_com[g]
        left = supply[c] - ahead[c]
        gfill[g] = minimum(1.0, maximum(left, 0.0) / total[g]) if total[g] > 0 else 0.0
        ahead[c] += total[g]
    fill = np.empty(len(request))
    for p in range(len(request)):
        fill[p] = gfill[pos_group[p]]
    used = np.empty(len(supply))
    for c in range(len(supply)):
        used[c] = minimum(supply[c], ahead[c])
    return fill, used


@kernel
def _allocate(fx, orders):
    """Pro-rata allocation by producers, then by traders: the fill of every producer, every
    trader and none (0, last), and producers' spare capacity."""
    placed, trader_orders, cap, order_key = orders.placed, orders.trader_orders, orders.cap, fx.order_key
    up, up_trader, up_sup = fx.up, fx.up_trader, fx.up_sup
    n_firms, n_tr = len(cap), len(trader_orders)
    firm_orders = np.zeros(n_firms + 1)
    for i in range(len(placed)):
        firm_orders[order_key[i]] += placed[i]
    fills = np.empty(n_firms + n_tr + 1)  # producers', traders', none (0)
    spare = np.empty(n_firms)
    for f in range(n_firms):
        fill = cap[f] / firm_orders[f] if firm_orders[f] > cap[f] else 1.0
        fills[f] = fill
        spare[f] = maximum(cap[f] - firm_orders[f] * fill, 0.0)
    trader_got = np.zeros(n_tr)
    for j in range(len(up)):
        trader_got[up_trader[j]] += placed[up[j]] * fills[up_sup[j]]
    for k in range(n_tr):
        fills[n_firms + k] = trader_got[k] / trader_orders[k] if trader_orders[k] > 0 else 0.0
    fills[n_firms + n_tr] = 0.0
    return fills, spare


@kernel
def _deliver(fx, wk, placed, fills, t):
    """Deliveries under contract: to buyers (all, and by lead into the pipelines ``wk.ring``,
    ``wk.ring_cn``; the keys past the end are spare bins for the rest), production,
    transshipment; then the Chinese-origin part.

    Returns:
        (transshipped per edge, made per commodity and a spare bin, delivered per position
        and a spare bin, its Chinese-origin part per position)
    """
    fill_key, via_cn, made_key, be_key, lead_key = fx.fill_key, fx.via_cn, fx.made_key, fx.be_key, fx.lead_key
    be_cn, leads, ring, ring_cn = fx.be_cn, fx.leads, wk.ring, wk.ring_cn
    n_pos, n_leads = len(fx.com), len(leads)
    transshipped = np.empty(len(placed))
    made = np.zeros(fx.n_com + 1)
    no_lead = n_leads * n_pos
    got, by_lead = np.zeros(n_pos + 1), np.zeros(no_lead + 1)
    for i in range(len(placed)):
        d = placed[i] * fills[fill_key[i]]
        transshipped[i] = d * via_cn[i]
        made[made_key[i]] += d
        got[be_key[i]] += d
        by_lead[lead_key[i]] += d
    got_cn, by_lead_cn = np.zeros(n_pos), np.zeros(no_lead)
    for j in range(len(be_cn)):
        i = be_cn[j]
        d = placed[i] * fills[fill_key[i]]
        got_cn[be_key[i]] += d
        by_lead_cn[lead_key[i]] += d
    L = ring.shape[0]
    for k in range(n_leads):
        slot = (t + leads[k]) % L
        for p in range(n_pos):
            ring[slot, p] += by_lead[k * n_pos + p]
            ring_cn[slot, p] += by_lead_cn[k * n_pos + p]
    return transshipped, made, got, got_cn


@kernel
def _spot(fx, wk, desired, got, spare):
    """The spot market: China's spare capacity for uncontrolled buyers, then the rest for all (the
    two pools are disjoint: the first leaves the spare capacity of the second as it is).

    Each pool serves the highest bids first (:func:`_by_bid`); under FORGE's tariff, China's pool
    by ``wk.cn_bids`` (members' firms' bids over 1 + tariff).

    Returns:
        (spot bought from China's pool and from the other pool per position, tonnes supplied by
        each pool per commodity)
    """
    capped, pos_controlled, n_com = fx.capped, wk.pos_controlled, fx.n_com
    n_pos = len(desired)
    supply_cn = _pool_supply(spare, fx.cn_pool, fx.cn_pool_com, n_com)
    supply_other = _pool_supply(spare, fx.other_pool, fx.other_pool_com, n_com)
    unmet = np.empty(n_pos)
    request = np.empty(n_pos)
    for p in range(n_pos):
        unmet[p] = maximum(desired[p] - got[p], 0.0)
        request[p] = unmet[p] * (not (pos_controlled[p] or capped[p]))
    if wk.tariff:  # members' firms bid net of FORGE's tariff for Chinese material
        fill_cn, used_cn = _by_bid(wk.cn_bids, supply_cn, request)
    else:
        fill_cn, used_cn = _by_bid(fx, supply_cn, request)
    spot_cn = np.empty(n_pos)
    for p in range(n_pos):
        spot_cn[p] = request[p] * fill_cn[p]
        request[p] = unmet[p] - spot_cn[p]
    spot_off = np.zeros(n_pos)
    used_off = np.zeros(n_com)
    if wk.offtake:  # the offtakers' claims on member output are served before the spot buyers
        used_off = _offtake(fx, wk, spare, request, spot_off)
        for c in range(n_com):
            supply_other[c] -= used_off[c]
    fill_other, used_other = _by_bid(fx, supply_other, request)
    spot_other = np.empty(n_pos)
    for p in range(n_pos):
        spot_other[p] = request[p] * fill_other[p] + spot_off[p]
    for c in range(n_com):
        used_other[c] += used_off[c]
    return spot_cn, spot_other, used_cn, used_other


@kernel
def _offtake(fx, wk, spare, request, spot_off):
    """FORGE's offtake: the claimed share (``wk.claim``) of the spare capacity of the producers outside
    China goes first to the offtakers' requests (``wk.offtaker``), pro rata per commodity. Fills
    ``spot_off``, takes it off ``request``, and returns the tonnes used per commodity."""
    n_com = fx.n_com
    pool = np.zeros(n_com)
    for j in range(len(fx.other_pool)):
        pool[fx.other_pool_com[j]] += spare[fx.other_pool[j]] * wk.claim[fx.other_pool[j]]
    asked = np.zeros(n_com)
    for p in range(len(request)):
        if wk.offtaker[p]:
            asked[fx.com[p]] += request[p]
    fill = np.zeros(n_com)
    used = np.zeros(n_com)
    for c in range(n_com):
        if asked[c] > 0:
            fill[c] = minimum(1.0, pool[c] / asked[c])
            used[c] = minimum(pool[c], asked[c])
    for p in range(len(request)):
        if wk.offtaker[p]:
            spot_off[p] = request[p] * fill[fx.com[p]]
            request[p] -= spot_off[p]
    return used


@kernel
def _clear_kernel(fx, wk, orders, t):
    """Pro-rata allocation by producers, then by traders; deliveries under contract into the
    pipelines (``wk.ring``, ``wk.ring_cn``: the slot of each edge's lead); the two spot pools;
    shipments (added to ``wk.in_transit``); production, transshipment, and the sums the prices
    read (:func:`clear_reference` in numpy).

    Returns:
        (shipped, shipped_cn, spot per position, production per commodity, transshipped
        per edge, China's shipments to outside buyers, all and Chinese-origin shipments per
        commodity, the ratios to their calm values of the outside market's tightness and of
        Chinese utilization): a :class:`MarketCleared`
    """
    com, buyer, outside, n_com, r0, u0 = fx.com, fx.buyer, fx.outside, fx.n_com, fx.r0, fx.u0
    ring, ring_cn, in_transit, desired, cap = wk.ring, wk.ring_cn, wk.in_transit, orders.desired, orders.cap
    n_pos = len(desired)
    # the outside market's stocks on hand and arriving within the normal lead (the order rule's),
    # and their targets, before this week's shipments
    held, held_target = np.zeros(n_com), np.zeros(n_com)
    near = orders.near
    for p in range(n_pos):
        if fx.market_stock[p]:
            held[com[p]] += wk.inventory[p] + near[p]
            held_target[com[p]] += wk.stock_target[p] + wk.pipe_target[p]
    fills, spare = _allocate(fx, orders)
    transshipped, made, got, got_cn = _deliver(fx, wk, orders.placed, fills, t)
    spot_cn, spot_other, used_cn, used_other = _spot(fx, wk, desired, got, spare)

    # shipment (spot from outside China waits for qualification); China's shipments and outside
    # demand per commodity
    L = ring.shape[0]
    slot = (t + fx.spot_lead) % L
    qualified = np.empty(n_com, np.int64)  # the slot of spot material from outside China, per commodity
    for c in range(n_com):
        qualified[c] = (slot + fx.qualification[c]) % L
    spot, shipped, shipped_cn = np.empty(n_pos), np.empty(n_pos), np.empty(n_pos)
    for p in range(n_pos):
        spot[p] = spot_cn[p] + spot_other[p]
        ring[slot, p] += spot_cn[p]
        ring[qualified[com[p]], p] += spot_other[p]
        ring_cn[slot, p] += spot_cn[p]
        shipped[p] = got[p] + spot[p]
        in_transit[p] += shipped[p]
        shipped_cn[p] = got_cn[p] + spot_cn[p]
    cn_out, d_out = np.zeros(n_com + 1), np.zeros(n_com + 1)
    ship_all, cn_ship = np.zeros(n_com), np.zeros(n_com)
    for p in range(n_pos):
        if buyer[p]:
            c = com[p]
            key = c if outside[p] else n_com
            cn_out[key] += shipped_cn[p]
            d_out[key] += desired[p]
            ship_all[c] += shipped[p]
            cn_ship[c] += shipped_cn[p]
    production = np.empty(n_com)
    for c in range(n_com):
        production[c] = made[c] + used_cn[c] + used_other[c]
    cap_other = _pool_supply(cap, fx.other_pool, fx.other_pool_com, n_com)
    cap_cn = _pool_supply(cap, fx.cn_pool, fx.cn_pool_com, n_com)
    ratio, ratio_cn = np.empty(n_com), np.empty(n_com)
    h = fx.stock_weeks
    for c in range(n_com):
        supply = cap_other[c] + cn_out[c]
        need = d_out[c]
        if h > 0:
            supply += held[c] / h
            need += held_target[c] / h
        r = need / supply if supply > 0 else 0.0
        ratio[c] = r / r0[c] if r0[c] > 0 else 1.0
        u = cn_ship[c] / cap_cn[c] if cap_cn[c] > 0 else 0.0
        ratio_cn[c] = u / u0[c] if u0[c] > 0 else 1.0
    return (shipped, shipped_cn, spot, production, transshipped, cn_out[:n_com], ship_all, cn_ship, ratio,
            ratio_cn)


def _by_bid_reference(fx: ClearFixed | BidGroups, supply: np.ndarray, request: np.ndarray):
    """:func:`_by_bid` in numpy: each group gets what its commodity's pool has left after the
    groups that bid more."""
    n_groups = len(fx.group_com)
    total = np.bincount(fx.pos_group, request, minlength=n_groups + 1)[:n_groups]
    ahead = np.zeros(len(supply))
    before = np.empty(n_groups)
    for c in range(len(supply)):  # the groups of a commodity are contiguous, highest bid first
        g = np.flatnonzero(fx.group_com == c)
        before[g] = np.cumsum(np.r_[0.0, total[g]])[:-1]
        ahead[c] = total[g].sum()
    gfill = np.zeros(n_groups + 1)
    np.divide(np.maximum(supply[fx.group_com] - before, 0.0), total, out=gfill[:n_groups], where=total > 0)
    return np.minimum(gfill, 1.0)[fx.pos_group], np.minimum(supply, ahead)


def clear_reference(fx: ClearFixed, wk: ShipWeek, orders: MarketOrders, t: int):
    """:func:`_clear_kernel` in numpy."""
    placed, trader_orders, cap, desired = orders.placed, orders.trader_orders, orders.cap, orders.desired
    n_firms, n_pos, n_com, com = len(cap), len(desired), fx.n_com, fx.com
    # allocation: producers pro rata, then traders pass on what they receive (fill 0: no supplier)
    firm_orders = np.bincount(fx.order_key, placed, minlength=n_firms + 1)[:n_firms]
    fill = np.ones(n_firms)
    np.divide(cap, firm_orders, out=fill, where=firm_orders > cap)
    spare = np.maximum(cap - firm_orders * fill, 0.0)
    trader_got = np.bincount(fx.up_trader, placed[fx.up] * fill[fx.up_sup], minlength=len(trader_orders))
    trader_fill = np.zeros(len(trader_orders))
    np.divide(trader_got, trader_orders, out=trader_fill, where=trader_orders > 0)
    # deliveries under contract, into the pipelines by lead
    d = placed * np.concatenate([fill, trader_fill, [0.0]])[fx.fill_key]
    transshipped = d * fx.via_cn
    made = np.bincount(fx.made_key, d, minlength=n_com + 1)[:n_com]
    got = np.bincount(fx.be_key, d, minlength=n_pos + 1)[:n_pos]
    cn = fx.be_cn
    got_cn = np.bincount(fx.be_key[cn], d[cn], minlength=n_pos)
    ms = fx.market_stock
    held = np.bincount(com[ms], (wk.inventory + orders.near)[ms], minlength=n_com)
    held_target = np.bincount(com[ms], (wk.stock_target + wk.pipe_target)[ms], minlength=n_com)
    n_bins = len(fx.leads) * n_pos
    by_lead = np.bincount(fx.lead_key, d, minlength=n_bins + 1)[:n_bins].reshape(-1, n_pos)
    by_lead_cn = np.bincount(fx.lead_key[cn], d[cn], minlength=n_bins).reshape(-1, n_pos)
    L = wk.ring.shape[0]
    for k, lead in enumerate(fx.leads):
        wk.ring[(t + int(lead)) % L] += by_lead[k]
        wk.ring_cn[(t + int(lead)) % L] += by_lead_cn[k]
    # spot market: China's spare capacity for uncontrolled buyers, then the other pool for all
    unmet = np.maximum(desired - got, 0.0)
    request = unmet * ~(wk.pos_controlled | fx.capped)
    fill_cn, used_cn = _by_bid_reference(wk.cn_bids if wk.tariff else fx,
                                         np.bincount(fx.cn_pool_com, spare[fx.cn_pool], minlength=n_com), request)
    spot_cn = request * fill_cn
    request = unmet - spot_cn
    supply_other = np.bincount(fx.other_pool_com, spare[fx.other_pool], minlength=n_com)
    spot_off, used_off = np.zeros(n_pos), np.zeros(n_com)
    if wk.offtake:  # the offtakers' claims on member output first
        pool = np.bincount(fx.other_pool_com, spare[fx.other_pool] * wk.claim[fx.other_pool], minlength=n_com)
        asked = np.bincount(com, np.where(wk.offtaker, request, 0.0), minlength=n_com)
        fill = np.minimum(1.0, np.divide(pool, asked, out=np.zeros(n_com), where=asked > 0))
        used_off = np.where(asked > 0, np.minimum(pool, asked), 0.0)
        spot_off = np.where(wk.offtaker, request * fill[com], 0.0)
        request = request - spot_off
        supply_other = supply_other - used_off
    fill_other, used_other = _by_bid_reference(fx, supply_other, request)
    spot_other = request * fill_other + spot_off
    used_other = used_other + used_off
    # shipment (spot from outside China waits for qualification)
    spot = spot_cn + spot_other
    slot = (t + fx.spot_lead) % L
    wk.ring[slot] += spot_cn
    np.add.at(wk.ring, ((slot + fx.qualification[com]) % L, np.arange(n_pos)), spot_other)
    wk.ring_cn[slot] += spot_cn
    shipped, shipped_cn = got + spot, got_cn + spot_cn
    wk.in_transit[:] += shipped
    # sums over buyers: China's shipments to outside buyers and their demand, all shipments
    b = fx.buyer
    key = np.where(fx.outside, com, n_com)[b]
    cn_out = np.bincount(key, shipped_cn[b], minlength=n_com + 1)[:n_com]
    d_out = np.bincount(key, desired[b], minlength=n_com + 1)[:n_com]
    ship_all = np.bincount(com[b], shipped[b], minlength=n_com)
    cn_ship = np.bincount(com[b], shipped_cn[b], minlength=n_com)
    supply = np.bincount(fx.other_pool_com, cap[fx.other_pool], minlength=n_com) + cn_out
    need = d_out
    if fx.stock_weeks > 0:
        supply, need = supply + held / fx.stock_weeks, d_out + held_target / fx.stock_weeks
    cap_cn = np.bincount(fx.cn_pool_com, cap[fx.cn_pool], minlength=n_com)
    tight, util = np.zeros(n_com), np.zeros(n_com)
    np.divide(need, supply, out=tight, where=supply > 0)
    np.divide(cn_ship, cap_cn, out=util, where=cap_cn > 0)
    return (shipped, shipped_cn, spot, made + used_cn + used_other, transshipped, cn_out, ship_all, cn_ship,
            _safe_div(tight, fx.r0, 1.0), _safe_div(util, fx.u0, 1.0))


# ------------------------------------------------------------------ prices
@kernel
def _price_kernel(price, target, lo, hi, adjust):
    """Each price closes the share ``adjust`` of its gap to ``target`` clipped to [lo, hi] (in
    place; :func:`price_reference` in numpy)."""
    for c in range(len(price)):
        clipped = minimum(maximum(target[c], lo[c]), hi[c])
        price[c] += adjust[c] * (clipped - price[c])


@kernel
def _prices_kernel(calm, ratio, ratio_cn, price, price_cn, demand):
    """The week's prices, outside and inside China, toward their targets (the calm prices times
    the ratios to the power of the price flexibility; inside China damped by China's price
    management), by :func:`_price_kernel`; then next week's demand factors at the new prices,
    per commodity (``demand.factors``), and per position (``demand.out``) when they moved
    (:func:`prices_reference` in numpy)."""
    n_com = len(price)
    target, target_cn = np.empty(n_com), np.empty(n_com)
    for c in range(n_com):
        target[c] = calm.p0[c] * ratio[c] ** calm.flex[c]
        target_cn[c] = calm.p0_cn[c] * ratio_cn[c] ** (calm.flex[c] * (1.0 - calm.manage))
    _price_kernel(price, target, calm.lo, calm.hi, calm.adjust)
    _price_kernel(price_cn, target_cn, calm.lo_cn, calm.hi_cn, calm.adjust)
    eps, factors = demand.eps, demand.factors
    elastic = False
    for c in range(n_com):
        if eps[c] != 0.0:
            elastic = True
    if not elastic:
        return
    moved = False
    for c in range(n_com):
        for f, p in ((c, price[c] / calm.p0[c]), (n_com + c, price_cn[c] / calm.p0_cn[c])):
            new = p ** -eps[c]
            if not new == factors[f]:  # NaN moves too
                moved = True
            factors[f] = new
    if moved:
        key, out = demand.key, demand.out
        for i in range(len(out)):
            out[i] = factors[key[i]]


def price_reference(price: np.ndarray, target: np.ndarray, lo: np.ndarray, hi: np.ndarray, adjust: np.ndarray):
    """:func:`_price_kernel` in numpy."""
    price += adjust * (np.minimum(np.maximum(target, lo), hi) - price)


def prices_reference(calm: MarketCalm, ratio: np.ndarray, ratio_cn: np.ndarray, price: np.ndarray,
                     price_cn: np.ndarray, demand: DemandFactors):
    """:func:`_prices_kernel` in numpy."""
    price_reference(price, calm.p0 * np.power(ratio, calm.flex), calm.lo, calm.hi, calm.adjust)
    price_reference(price_cn, calm.p0_cn * np.power(ratio_cn, calm.flex * (1.0 - calm.manage)), calm.lo_cn,
                    calm.hi_cn, calm.adjust)
    if not demand.eps.any():
        return
    factors = np.concatenate(((price / calm.p0) ** -demand.eps, (price_cn / calm.p0_cn) ** -demand.eps))
    if not np.array_equal(factors, demand.factors):
        demand.factors[:] = factors
        demand.out[:] = factors[demand.key]


# ------------------------------------------------------------------ landed prices
@kernel
def _landed_kernel(fx, shipped, shipped_cn, price, landed, demand_out):
    """FORGE's measures in the landed prices of members' manufacturers (``fx.firms``), after the week's
    prices: each one's landed price over the outside price (into ``landed``), its demand factor for
    next week at its landed price (into ``demand_out``, where the commodity's demand is elastic), and
    what they paid above the outside price for members' material under the floor, per country and
    commodity (returned) (:func:`landed_reference` in numpy).

    Its non-member share is this week's Chinese-origin share of its shipments (of its sourcing when it
    got none) plus the rest times ``fx.q``; non-member material costs the price times (1 + tariff),
    members' material at least the floor."""
    paid = np.zeros((fx.n_countries, len(price)))
    for j in range(len(fx.firms)):
        p, c = fx.firms[j], fx.com[j]
        ship = shipped[p]
        cn = shipped_cn[p] / ship if ship > 0.0 else fx.cn0[j]
        nm = cn + (1.0 - cn) * fx.q[j]
        gap = maximum(fx.floor * fx.p0[c] - price[c], 0.0)
        factor = nm * (1.0 + fx.tariff) + (1.0 - nm) * (1.0 + gap / price[c])
        landed[p] = factor
        if fx.eps[c] != 0.0:
            demand_out[p] = (price[c] * factor / fx.p0[c]) ** -fx.eps[c]
        paid[fx.country[j], c] += maximum(ship - shipped_cn[p], 0.0) * (1.0 - fx.q[j]) * gap
    return paid


def landed_reference(fx: LandedFixed, shipped: np.ndarray, shipped_cn: np.ndarray, price: np.ndarray,
                     landed: np.ndarray, demand_out: np.ndarray) -> np.ndarray:
    """:func:`_landed_kernel` in numpy."""
    f, c = fx.firms, fx.com
    ship = shipped[f]
    cn = fx.cn0.copy()
    np.divide(shipped_cn[f], ship, out=cn, where=ship > 0.0)
    nm = cn + (1.0 - cn) * fx.q
    gap = np.maximum(fx.floor * fx.p0[c] - price[c], 0.0)
    factor = nm * (1.0 + fx.tariff) + (1.0 - nm) * (1.0 + gap / price[c])
    landed[f] = factor
    elastic = fx.eps[c] != 0.0
    demand_out[f[elastic]] = ((price[c] * factor / fx.p0[c]) ** -fx.eps[c])[elastic]
    paid = np.zeros((fx.n_countries, len(price)))
    np.add.at(paid, (fx.country, c), np.maximum(ship - shipped_cn[f], 0.0) * (1.0 - fx.q) * gap)
    return paid
