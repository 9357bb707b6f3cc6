"""Market: orders, allocation, shipment and price, per commodity, on arrays.

1. **Orders.** Each buyer position orders up to its targets (order-up-to rule):
   ``desired = expected_use + adjust_rate * (stock_target + pipeline_target - stock - in_transit)``,
   clipped at zero, split across its supply edges by share. Orders on closed edges
   (unlicensed, refused, blacklisted) are not placed.
2. **Traders** add up the orders placed with them and order the same from their own
   suppliers (pass-through, no stock).
3. **Allocation.** A producer short of capacity fills every order pro rata. Traders pass
   on what they receive pro rata.
4. **Spot market.** What a position still lacks goes to the spot market: first to
   China's spare capacity (the cheaper source; buyers not under an export control only),
   then to the spare capacity outside China (every buyer), each pro rata. Spot shipments
   take ``spot_lead_weeks``.
5. **Shipment.** Deliveries enter the buyer's pipeline and arrive after the edge's lead
   time. Origin travels with them (Chinese-origin tonnes are tracked separately).
6. **Price.** Outside China: ``p* = p0 * (R / R0) ** flexibility`` with
   ``R = outside demand / (non-Chinese capacity + Chinese shipments to outside buyers)``;
   inside China: ``p* = p0 * (1 - discount) * (U / U0) ** flexibility`` with ``U`` the
   utilization of Chinese capacity. ``R0``, ``U0`` are the calm values, so prices start at
   their calm level; each price closes a share of its gap to ``p*`` each week.
   Controls cut Chinese shipments to outside buyers (the outside price jumps) and leave
   Chinese capacity idle (the inside price falls or holds).
"""

from __future__ import annotations

import numpy as np

from simulation.kernels import kernel, maximum, minimum, span
from simulation.mechanisms.base import Context, Mechanism, ceiling_path, position_ceilings
from simulation.population import POS_TRADER, PRODUCER


class Market(Mechanism):
    """Clears every commodity market for one week."""

    name = "market"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        e, cfg = self.eco, self.config
        n_com = len(e.commodities)
        self.n_com = n_com
        self.buyer = e.pos_kind != POS_TRADER
        sup_kind = e.firm_kind[e.edge_supplier]
        self.prod_edge = sup_kind == PRODUCER
        self.up_edge = e.pos_kind[e.edge_pos] == POS_TRADER  # trader <- producer
        self.via_edge = e.edge_via_trader  # buyer <- trader
        trader_pos = np.full(e.n_firms, -1, np.int64)
        tp = np.flatnonzero(e.pos_kind == POS_TRADER)
        trader_pos[e.pos_firm[tp]] = tp
        self.via_trader_pos = trader_pos[e.edge_supplier[self.via_edge]]
        self.producer = e.firm_kind == PRODUCER
        self.cn_producer = self.producer & (e.firm_country == e.coercer)
        self.noncn_producer = self.producer & (e.firm_country != e.coercer)
        self.edge_cn = e.edge_origin == e.coercer
        self.outside_pos = self.buyer & (e.pos_country != e.coercer)
        self.leads = _distinct(e.edge_lead[~self.up_edge])
        self.spot_lead = cfg.world.market.spot_lead_weeks
        coms = [cfg.world.commodities[c] for c in e.commodities]
        self.p0, self.p0_cn = e.price0, e.price0_cn
        self.flex = np.array([c.price_flexibility for c in coms])
        self.adjust = np.array([c.price_adjustment_share_per_week for c in coms])
        self.cap_multiple = np.array([c.price_cap_multiple for c in coms])
        # hard dependence ceilings (the state caps Chinese-origin receipts of its firms)
        self.ceiling_final, self.ceiling_end = position_ceilings(e, cfg)
        self.capped = ~np.isnan(self.ceiling_final)
        self.direct_cn = self.prod_edge & self.edge_cn & ~self.up_edge
        self.via_cn_target = self.via_edge & self.edge_cn
        self._index()
        self._calm_reference()

    def _index(self) -> None:
        """Every fixed subset and per-edge key the kernels read, gathered once as unsigned
        integers, 16-bit when they fit (numba indexes with unsigned integers without testing
        for negative indices, and small ones halve the memory the weekly loops sweep)."""
        e = self.eco
        pos = e.edge_pos.astype(np.intp)
        sup = e.edge_supplier.astype(np.intp)
        firm_com = e.firm_commodity.astype(np.intp)
        n_pos, n_firms, n_com = e.n_pos, e.n_firms, self.n_com
        bound = max(e.n_edges, (len(self.leads) + 1) * n_pos, n_firms + n_pos + 1)  # above every index and key
        ix = np.uint16 if bound < 2**16 else np.uint32
        self._edge_pos = pos.astype(ix)
        self._com = e.pos_commodity.astype(ix)
        self._base_use = e.pos_base_use_t
        self._firm_cap = e.firm_capacity_t
        via = np.flatnonzero(self.via_edge)
        # positions with hub suppliers, and each via edge's place among them
        hub = np.flatnonzero(np.bincount(pos[via], minlength=n_pos))
        self._via, self._hub_buyers = via.astype(ix), hub.astype(ix)
        self._via_local = np.searchsorted(hub, pos[via]).astype(ix)
        # traders' pass-through positions, numbered 0..n_traders-1
        traders = np.flatnonzero(e.pos_kind == POS_TRADER)
        local = np.zeros(n_pos, np.intp)
        local[traders] = np.arange(len(traders))
        self._n_traders = len(traders)
        via_trader = local[self.via_trader_pos]
        self._via_trader = via_trader.astype(ix)
        up = np.flatnonzero(self.up_edge)
        self._up, self._up_trader, self._up_sup = up.astype(ix), local[pos[up]].astype(ix), sup[up].astype(ix)
        # per edge: its supplier's orders (producers; a spare bin for the rest), its fill (a
        # producer's, or the trader's for via edges; 0 for none), the commodity produced (a
        # spare bin for none)
        pe = np.flatnonzero(self.prod_edge)
        order_key = np.full(e.n_edges, n_firms, ix)
        order_key[pe] = sup[pe]
        fill_key = np.full(e.n_edges, n_firms + self._n_traders, ix)
        fill_key[pe] = sup[pe]
        fill_key[via] = n_firms + via_trader
        made_key = np.full(e.n_edges, n_com, ix)
        made_key[pe] = firm_com[sup[pe]]
        self._order_key, self._fill_key, self._made_key = order_key, fill_key, made_key
        # per edge: the buyer position it delivers to and its (lead, position) pipeline bin (past
        # the end: none, for trader <- producer edges); the buyer edges of Chinese origin
        be = ~self.up_edge
        lead_no = np.zeros(int(self.leads.max(initial=0)) + 1, np.intp)
        lead_no[self.leads] = np.arange(len(self.leads))
        self._be_key = np.where(be, pos, n_pos).astype(ix)
        self._lead_key = np.full(e.n_edges, len(self.leads) * n_pos, ix)
        self._lead_key[be] = lead_no[e.edge_lead[be]] * n_pos + pos[be]
        self._be_cn = np.flatnonzero(be & self.edge_cn).astype(ix)
        self._leads = self.leads.astype(ix)
        cn_pool, other_pool = np.flatnonzero(self.cn_producer), np.flatnonzero(self.noncn_producer)
        self._cn_pool, self._cn_pool_com = cn_pool.astype(ix), firm_com[cn_pool].astype(ix)
        self._other_pool, self._other_pool_com = other_pool.astype(ix), firm_com[other_pool].astype(ix)
        self._lo, self._hi = 0.2 * self.p0, self.cap_multiple * self.p0
        self._lo_cn, self._hi_cn = 0.2 * self.p0_cn, self.cap_multiple * self.p0_cn
        # dependence ceilings
        self._capped_any = bool(self.capped.any())
        alt = np.flatnonzero(self.prod_edge & ~self.edge_cn)
        self._alt, self._alt_sup, self._alt_pos = alt.astype(ix), sup[alt].astype(ix), pos[alt].astype(ix)
        dcn, vcn = np.flatnonzero(self.direct_cn), np.flatnonzero(self.via_cn_target)
        self._dcn, self._dcn_pos = dcn.astype(ix), pos[dcn].astype(ix)
        self._vcn, self._vcn_pos = vcn.astype(ix), pos[vcn].astype(ix)
        cut = np.flatnonzero(self.direct_cn | self.via_cn_target)
        self._cut, self._cut_pos = cut.astype(ix), pos[cut].astype(ix)
        self._ceiling = ceiling_path(self.ceiling_final, self.ceiling_end)

    def _calm_reference(self) -> None:
        """Calm reference ratios from the initial sourcing (steady state: desired = use); China's
        calm export revenue and world share are published in the signals."""
        e = self.eco
        n_com = self.n_com
        cap = e.firm_capacity_t * self.state.capacity_factor
        cap_noncn = np.bincount(e.firm_commodity[self.noncn_producer], cap[self.noncn_producer], minlength=n_com)
        cap_cn = np.bincount(e.firm_commodity[self.cn_producer], cap[self.cn_producer], minlength=n_com)
        use, share = e.pos_base_use_t, e.edge_share
        flow = use[e.edge_pos] * share
        trader_flow = np.bincount(self.via_trader_pos, flow[self.via_edge], minlength=e.n_pos)
        up = span(self.up_edge)
        flow[up] = trader_flow[e.edge_pos[up]] * share[up]
        com_e = e.pos_commodity[e.edge_pos]
        out_e = self.outside_pos[e.edge_pos] & self.edge_cn & (self.prod_edge | self.via_edge)
        out_e &= ~self.up_edge
        d_out0 = np.bincount(e.pos_commodity[self.outside_pos], use[self.outside_pos], minlength=n_com)
        cn_out0 = np.bincount(com_e[out_e], flow[out_e], minlength=n_com)
        self.r0 = _safe_div(d_out0, cap_noncn + cn_out0, 1.0)
        cn_all0 = np.bincount(com_e[self.prod_edge & self.edge_cn], flow[self.prod_edge & self.edge_cn],
                              minlength=n_com)
        self.u0 = _safe_div(cn_all0, cap_cn, 1.0)
        self.signals.cn_export0_usd = float((cn_out0 * self.p0_cn).sum())
        buyer_e = ~self.up_edge
        all0 = np.bincount(com_e[buyer_e], flow[buyer_e], minlength=n_com)
        self.signals.cn_world_share0 = float((cn_all0 * self.p0).sum() / max((all0 * self.p0).sum(), 1e-12))

    def step(self, t: int) -> None:
        s = self.state
        # orders, rerouting through hubs, traders' pass-through; the dependence ceilings cut them
        desired, placed, trader_orders, cap = _orders_kernel(
            self._base_use, s.intensity, s.required, s.stock_target, s.pipe_target, s.inventory, s.in_transit,
            s.adjust_rate, s.expected_use, self.buyer, self._edge_pos, s.edge_share, s.edge_open, self._hub_buyers,
            s.reroute, s.blocked_share, self._via, self._via_local, self._via_trader, self._n_traders, self._up,
            self._up_trader, self._firm_cap, s.capacity_factor)
        if self._capped_any:
            _cap_chinese_kernel(placed, trader_orders, cap, self._ceiling.at(t), self.capped, self._alt,
                                self._alt_sup, self._alt_pos, self._dcn, self._dcn_pos, self._vcn, self._vcn_pos,
                                self._cut, self._cut_pos, self._via, self._via_trader, self._up, self._up_trader,
                                s.edge_share, s.edge_open)
        # allocation, deliveries, spot market, shipment into the pipelines
        (s.shipped, s.shipped_cn, s.spot, s.production_t, s.transshipped,
         cn_out, ship_all, cn_ship, ratio, ratio_cn) = _clear_kernel(
            placed, trader_orders, cap, desired, self._order_key, self._up, self._up_trader, self._up_sup,
            self._fill_key, self.via_cn_target, self._made_key, self._be_key, self._lead_key, self._be_cn,
            self._leads, t, s.ring, s.ring_cn, self.spot_lead, s.in_transit, self._com, s.pos_controlled, self.capped,
            self._cn_pool, self._cn_pool_com, self._other_pool, self._other_pool_com, self.buyer, self.outside_pos,
            self.r0, self.u0)
        s.desired = desired

        # China's export revenue and world market share (for its escalation calculus)
        s.cn_export_usd = float((cn_out * s.price_cn).sum())
        value_all = (ship_all * s.price).sum()
        value_cn = (cn_ship * s.price).sum()
        s.cn_world_share = float(value_cn / value_all) if value_all > 0 else self.signals.cn_world_share0

        # prices
        target = self.p0 * np.power(ratio, self.flex)
        target_cn = self.p0_cn * np.power(ratio_cn, self.flex)
        _price_kernel(s.price, target, self._lo, self._hi, self.adjust)
        _price_kernel(s.price_cn, target_cn, self._lo_cn, self._hi_cn, self.adjust)


def _distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of small non-negative integers (lead times), in linear time."""
    return np.flatnonzero(np.bincount(values)) if len(values) else np.unique(values)


def _safe_div(a, b, default: float):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    out = np.full(np.broadcast(a, b).shape, default, dtype=float)
    np.divide(a, b, out=out, where=b > 0)
    return out


@kernel
def _orders_kernel(base_use, intensity, required, stock_target, pipe_target, inventory, in_transit, adjust_rate,
                   expected_use, buyer, edge_pos, share, edge_open, hub, reroute, blocked_share, via, via_local,
                   via_trader, n_traders, up, up_trader, firm_cap, capacity_factor):
    """This week's need at full output (into ``required``), the order-up-to purchases of every
    position, the orders placed on every edge (a hub buyer's rerouted orders added to its
    via edges, split by share), the orders traders pass upstream, and producers' capacity.

    Returns:
        (desired per position, placed per edge, orders per trader, capacity per firm)
    """
    n_pos = len(base_use)
    desired = np.empty(n_pos)
    for p in range(n_pos):
        required[p] = base_use[p] * intensity[p]
        want = (((stock_target[p] + pipe_target[p]) - inventory[p]) - in_transit[p]) * adjust_rate[p]
        desired[p] = maximum(want + expected_use[p], 0.0) if buyer[p] else 0.0
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
    trader_orders = np.zeros(n_traders)
    for j in range(len(via)):
        i = via[j]
        placed[i] += extra[via_local[j]] * share[i]
        trader_orders[via_trader[j]] += placed[i]
    for j in range(len(up)):
        i = up[j]
        placed[i] = trader_orders[up_trader[j]] * share[i] * edge_open[i]
    cap = np.empty(len(firm_cap))
    for f in range(len(firm_cap)):
        cap[f] = firm_cap[f] * capacity_factor[f]
    return desired, placed, trader_orders, cap


@kernel
def _cap_chinese_kernel(placed, trader_orders, cap, ceiling, capped, alt, alt_sup, alt_pos, dcn, dcn_pos, vcn,
                        vcn_pos, cut, cut_pos, via, via_trader, up, up_trader, share, edge_open):
    """Under a dependence ceiling c, Chinese-origin orders of a position may not exceed
    c / (1 - c) times what its non-Chinese suppliers deliver this week (their allocation
    does not depend on Chinese orders, so it is computed first). Cuts ``placed`` in place,
    and with it the orders traders pass upstream (``trader_orders``, also in place: their
    fill rate is what they receive over what they ordered after the cut)."""
    n_pos = len(capped)
    orders = np.zeros(len(cap))
    for j in range(len(alt)):
        orders[alt_sup[j]] += placed[alt[j]]
    got_alt = np.zeros(n_pos)
    for j in range(len(alt)):
        f = alt_sup[j]
        fill = cap[f] / orders[f] if orders[f] > cap[f] else 1.0
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


@kernel
def _pool_supply(spare, idx, idx_com, n_com):
    """The spare capacity of firms ``idx`` (commodities ``idx_com``) per commodity."""
    supply = np.zeros(n_com)
    for j in range(len(idx)):
        supply[idx_com[j]] += spare[idx[j]]
    return supply


@kernel
def _pool_shares(supply, demand):
    """Per commodity, a pool of spare capacity against the requests on it: the share of
    each request filled (pro rata), the tonnes supplied and the share of the capacity used."""
    n_com = len(supply)
    fill, used, take = np.empty(n_com), np.empty(n_com), np.empty(n_com)
    for c in range(n_com):
        fill[c] = minimum(1.0, supply[c] / demand[c] if demand[c] > 0 else 0.0)
        used[c] = minimum(supply[c], demand[c])
        take[c] = used[c] / supply[c] if supply[c] > 0 else 0.0
    return fill, used, take


@kernel
def _clear_kernel(placed, trader_orders, cap, desired, order_key, up, up_trader, up_sup, fill_key, via_cn, made_key,
                  be_key, lead_key, be_cn, leads, t, ring, ring_cn, spot_lead, in_transit, pos_com, pos_controlled,
                  capped, cn_pool, cn_pool_com, other_pool, other_pool_com, buyer, outside, r0, u0):
    """Pro-rata allocation by producers, then by traders; deliveries under contract into the
    pipelines (``ring``, ``ring_cn``: the slot of each edge's lead); the two spot pools;
    shipments (added to ``in_transit``); production, transshipment, and the sums the prices read.

    Returns:
        (shipped, shipped_cn, spot per position, production per commodity, transshipped
        per edge, China's shipments to outside buyers, all and Chinese-origin shipments per
        commodity, the ratios to their calm values of the outside market's tightness and of
        Chinese utilization)
    """
    n_firms, n_tr, n_pos, n_com, n_leads = len(cap), len(trader_orders), len(desired), len(r0), len(leads)
    orders = np.zeros(n_firms + 1)
    for i in range(len(placed)):
        orders[order_key[i]] += placed[i]
    fills = np.empty(n_firms + n_tr + 1)  # producers', traders', none (0)
    spare = np.empty(n_firms)
    for f in range(n_firms):
        fill = cap[f] / orders[f] if orders[f] > cap[f] else 1.0
        fills[f] = fill
        spare[f] = maximum(cap[f] - orders[f] * fill, 0.0)
    trader_got = np.zeros(n_tr)
    for j in range(len(up)):
        trader_got[up_trader[j]] += placed[up[j]] * fills[up_sup[j]]
    for k in range(n_tr):
        fills[n_firms + k] = trader_got[k] / trader_orders[k] if trader_orders[k] > 0 else 0.0
    fills[n_firms + n_tr] = 0.0

    # deliveries: to buyers (all, and by lead for the pipelines; the keys past the end are
    # spare bins for the rest), production, transshipment; then the Chinese-origin part
    transshipped = np.empty(len(placed))
    made = np.zeros(n_com + 1)
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

    # spot market: China's spare capacity for uncontrolled buyers, then the rest for all (the
    # two pools are disjoint: the first leaves the spare capacity of the second as it is)
    supply_cn = _pool_supply(spare, cn_pool, cn_pool_com, n_com)
    supply_other = _pool_supply(spare, other_pool, other_pool_com, n_com)
    unmet = np.empty(n_pos)
    demand = np.zeros(n_com)
    for p in range(n_pos):
        unmet[p] = maximum(desired[p] - got[p], 0.0)
        demand[pos_com[p]] += unmet[p] * (not (pos_controlled[p] or capped[p]))
    fill_cn, used_cn, _ = _pool_shares(supply_cn, demand)
    spot_cn = np.empty(n_pos)
    demand = np.zeros(n_com)
    for p in range(n_pos):
        spot_cn[p] = unmet[p] * (not (pos_controlled[p] or capped[p])) * fill_cn[pos_com[p]]
        demand[pos_com[p]] += unmet[p] - spot_cn[p]
    fill_other, used_other, _ = _pool_shares(supply_other, demand)

    # shipment; China's shipments and outside demand per commodity
    slot = (t + spot_lead) % L
    spot, shipped, shipped_cn = np.empty(n_pos), np.empty(n_pos), np.empty(n_pos)
    for p in range(n_pos):
        spot[p] = spot_cn[p] + (unmet[p] - spot_cn[p]) * fill_other[pos_com[p]]
        ring[slot, p] += spot[p]
        ring_cn[slot, p] += spot_cn[p]
        shipped[p] = got[p] + spot[p]
        in_transit[p] += shipped[p]
        shipped_cn[p] = got_cn[p] + spot_cn[p]
    cn_out, d_out = np.zeros(n_com + 1), np.zeros(n_com + 1)
    ship_all, cn_ship = np.zeros(n_com), np.zeros(n_com)
    for p in range(n_pos):
        if buyer[p]:
            c = pos_com[p]
            key = c if outside[p] else n_com
            cn_out[key] += shipped_cn[p]
            d_out[key] += desired[p]
            ship_all[c] += shipped[p]
            cn_ship[c] += shipped_cn[p]
    production = np.empty(n_com)
    for c in range(n_com):
        production[c] = made[c] + used_cn[c] + used_other[c]
    cap_other = _pool_supply(cap, other_pool, other_pool_com, n_com)
    cap_cn = _pool_supply(cap, cn_pool, cn_pool_com, n_com)
    ratio, ratio_cn = np.empty(n_com), np.empty(n_com)
    for c in range(n_com):
        supply = cap_other[c] + cn_out[c]
        r = d_out[c] / supply if supply > 0 else 0.0
        ratio[c] = r / r0[c] if r0[c] > 0 else 1.0
        u = cn_ship[c] / cap_cn[c] if cap_cn[c] > 0 else 0.0
        ratio_cn[c] = u / u0[c] if u0[c] > 0 else 1.0
    return (shipped, shipped_cn, spot, production, transshipped, cn_out[:n_com], ship_all, cn_ship, ratio,
            ratio_cn)


@kernel
def _price_kernel(price, target, lo, hi, adjust):
    """Each price closes the share ``adjust`` of its gap to ``target`` clipped to [lo, hi] (in place)."""
    for c in range(len(price)):
        clipped = minimum(maximum(target[c], lo[c]), hi[c])
        price[c] += adjust[c] * (clipped - price[c])

