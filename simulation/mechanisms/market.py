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

from simulation.mechanisms.base import CeilingPath, Mechanism, position_ceilings, span
from simulation.population import POS_TRADER, PRODUCER


class Market(Mechanism):
    """Clears every commodity market for one week."""

    name = "market"

    def __init__(self, model):
        super().__init__(model)
        e, cfg = model.eco, model.config
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
        self.p0 = np.array([c.price_usd_per_t for c in coms])
        self.p0_cn = self.p0 * (1 - np.array([c.china_price_discount_share for c in coms]))
        self.flex = np.array([c.price_flexibility for c in coms])
        self.adjust = np.array([c.price_adjustment_share_per_week for c in coms])
        self.cap_multiple = np.array([c.price_cap_multiple for c in coms])
        # hard dependence ceilings (the state caps Chinese-origin receipts of its firms)
        self.ceiling_final, self.ceiling_end = position_ceilings(model)
        self.capped = ~np.isnan(self.ceiling_final)
        self.direct_cn = self.prod_edge & self.edge_cn & ~self.up_edge
        self.via_cn_target = self.via_edge & self.edge_cn
        self._index()
        self._calm_reference()

    def _index(self) -> None:
        """Every fixed subset as an integer index (or a slice when contiguous), gathered once:
        the weekly arithmetic then neither rebuilds masks nor casts small integer types."""
        e = self.model.eco
        ip = np.intp
        pos = np.asarray(e.edge_pos, dtype=ip)  # no copy when already intp
        sup = np.asarray(e.edge_supplier, dtype=ip)
        firm_com = e.firm_commodity.astype(ip)
        self._com = e.pos_commodity.astype(ip)
        self._base_use = e.pos_base_use_t
        self._firm_cap = e.firm_capacity_t
        self._not_buyer = span(~self.buyer)
        self._via = np.flatnonzero(self.via_edge)
        self._via_pos = pos[self._via]
        # positions with hub suppliers, and each via edge's place among them
        self._hub_buyers = np.flatnonzero(np.bincount(self._via_pos, minlength=e.n_pos))
        self._via_local = np.searchsorted(self._hub_buyers, self._via_pos)
        self._up = span(self.up_edge)
        # traders' pass-through positions, numbered 0..n_traders-1
        traders = np.flatnonzero(e.pos_kind == POS_TRADER)
        local = np.full(e.n_pos, -1, ip)
        local[traders] = np.arange(len(traders))
        self._n_traders = len(traders)
        self._via_trader = local[self.via_trader_pos]
        self._up_trader = local[pos[self._up]]
        # per edge: its supplier's orders (producers; a spare bin for the rest), its fill (a
        # producer's, or the trader's for via edges; 0 for none) and the commodity produced
        n_firms, n_com = e.n_firms, self.n_com
        pe = np.flatnonzero(self.prod_edge)
        self._order_key = np.full(e.n_edges, n_firms, ip)
        self._order_key[pe] = sup[pe]
        self._fill_key = np.full(e.n_edges, n_firms + self._n_traders, ip)
        self._fill_key[pe] = sup[pe]
        self._fill_key[self._via] = n_firms + self._via_trader
        self._made_key = np.full(e.n_edges, n_com, ip)
        self._made_key[pe] = firm_com[sup[pe]]
        self._up_sup = sup[self._up]
        self._be = span(~self.up_edge)
        self._be_pos = pos[self._be]
        becn = ~self.up_edge & self.edge_cn
        self._becn = np.flatnonzero(becn)
        self._becn_pos = pos[self._becn]
        # buyer edges keyed by (lead, position): one bincount fills the pipeline slot of every lead
        lead_no = np.zeros(int(self.leads.max(initial=0)) + 1, ip)
        lead_no[self.leads] = np.arange(len(self.leads))
        self._be_key = lead_no[e.edge_lead[self._be]] * e.n_pos + self._be_pos
        self._lead_list = [int(x) for x in self.leads]
        self._becn_key = lead_no[e.edge_lead[self._becn]] * e.n_pos + self._becn_pos
        self._via_cn = (self.via_edge & self.edge_cn).astype(float)
        self._cn_pool = np.flatnonzero(self.cn_producer)
        self._cn_pool_com = firm_com[self._cn_pool]
        self._other_pool = np.flatnonzero(self.noncn_producer)
        self._other_pool_com = firm_com[self._other_pool]
        self._buy = span(self.buyer)
        self._buy_com = self._com[self._buy]
        # buyers outside China by commodity (the rest of the buyers in a spare bin)
        self._out_key = np.where(self.outside_pos[self._buy], self._buy_com, n_com)
        self._lo, self._hi = 0.2 * self.p0, self.cap_multiple * self.p0
        self._lo_cn, self._hi_cn = 0.2 * self.p0_cn, self.cap_multiple * self.p0_cn
        # dependence ceilings
        self._capped_any = bool(self.capped.any())
        alt = self.prod_edge & ~self.edge_cn
        self._alt = np.flatnonzero(alt)
        self._alt_sup, self._alt_pos = sup[self._alt], pos[self._alt]
        self._dcn = np.flatnonzero(self.direct_cn)
        self._dcn_pos = pos[self._dcn]
        self._vcn = np.flatnonzero(self.via_cn_target)
        self._vcn_pos = pos[self._vcn]
        self._cut = np.flatnonzero(self.direct_cn | self.via_cn_target)
        self._cut_pos = pos[self._cut]
        self._ceiling = CeilingPath(self.ceiling_final, self.ceiling_end)

    def _calm_reference(self) -> None:
        """Calm reference ratios from the initial sourcing (steady state: desired = use)."""
        e = self.model.eco
        n_com = self.n_com
        cap = e.firm_capacity_t * self.model.state.capacity_factor
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
        self.cn_export0_usd = float((cn_out0 * self.p0_cn).sum())
        buyer_e = ~self.up_edge
        all0 = np.bincount(com_e[buyer_e], flow[buyer_e], minlength=n_com)
        self.cn_world_share0 = float((cn_all0 * self.p0).sum() / max((all0 * self.p0).sum(), 1e-12))

    def desired(self) -> np.ndarray:
        """Order-up-to purchases of every buyer position this week (t)."""
        s = self.model.state
        want = s.stock_target + s.pipe_target
        want -= s.inventory
        want -= s.in_transit
        want *= s.adjust_rate
        want += s.expected_use
        want[self._not_buyer] = 0.0
        return np.maximum(want, 0.0, out=want)

    def step(self) -> None:
        m, e, s = self.model, self.model.eco, self.model.state
        n_pos, n_com, n_firms = e.n_pos, self.n_com, e.n_firms
        np.multiply(self._base_use, s.intensity, out=s.required)  # this week's need at full output
        desired = self.desired()

        # orders on edges; blocked buyers reroute part of their blocked Chinese orders via hubs
        share, edge_open = s.edge_share, s.edge_open
        via, up, n_tr = self._via, self._up, self._n_traders
        placed = desired.take(e.edge_pos)
        placed *= share
        placed *= edge_open
        hub = self._hub_buyers
        rerouted = s.reroute.take(hub) * s.blocked_share.take(hub)
        rerouted *= desired.take(hub)
        via_share_e = share[via]
        via_share = np.bincount(self._via_local, via_share_e, minlength=len(hub))
        extra = _div(rerouted, via_share, 0.0, via_share > 1e-12)
        placed[via] += extra.take(self._via_local) * via_share_e
        # traders pass their orders upstream
        trader_orders = np.bincount(self._via_trader, placed[via], minlength=n_tr)
        placed[up] = trader_orders.take(self._up_trader) * share[up] * edge_open[up]

        # producers allocate pro rata when short of capacity
        cap = self._firm_cap * s.capacity_factor
        if self._capped_any:
            placed = self._cap_chinese(placed, cap, n_pos)
        orders = np.bincount(self._order_key, placed, minlength=n_firms + 1)[:n_firms]
        fill = _div(cap, orders, 1.0, orders > cap)
        trader_got = np.bincount(self._up_trader, placed[up] * fill.take(self._up_sup), minlength=n_tr)
        trader_fill = _div(trader_got, trader_orders, 0.0)
        deliv = placed * np.concatenate((fill, trader_fill, [0.0])).take(self._fill_key)

        # what buyers got under contract, and what they still lack
        deliv_be, deliv_becn = deliv[self._be], deliv[self._becn]
        got = np.bincount(self._be_pos, deliv_be, minlength=n_pos)
        got_cn = np.bincount(self._becn_pos, deliv_becn, minlength=n_pos)
        unmet = desired - got
        np.maximum(unmet, 0.0, out=unmet)

        # spot market: spare capacity outside China, then China's for uncontrolled buyers
        spare = cap - orders * fill
        np.maximum(spare, 0.0, out=spare)
        com = self._com
        free = unmet * ~(s.pos_controlled | self.capped)
        spot_cn, used1 = _pool_idx(free, com, spare, self._cn_pool, self._cn_pool_com, n_com)
        spot_other, used2 = _pool_idx(unmet - spot_cn, com, spare, self._other_pool, self._other_pool_com, n_com)
        spot = spot_cn + spot_other

        # ship into the pipelines: one bincount per origin fills the slot of every lead
        t, L, k = m.t, s.ring.shape[0], len(self.leads)
        by_lead = np.bincount(self._be_key, deliv_be, minlength=k * n_pos).reshape(k, n_pos)
        by_lead_cn = np.bincount(self._becn_key, deliv_becn, minlength=k * n_pos).reshape(k, n_pos)
        for i, lead in enumerate(self._lead_list):
            slot = (t + lead) % L
            s.ring[slot] += by_lead[i]
            s.ring_cn[slot] += by_lead_cn[i]
        slot = (t + self.spot_lead) % L
        s.ring[slot] += spot
        s.ring_cn[slot] += spot_cn
        shipped = got + spot
        s.in_transit += shipped
        shipped_cn = got_cn + spot_cn

        # flows published for the other mechanisms and the record
        s.desired = desired
        s.shipped = shipped
        s.shipped_cn = shipped_cn
        s.spot = spot
        s.production_t = np.bincount(self._made_key, deliv, minlength=n_com + 1)[:n_com] + used1 + used2
        s.transshipped = deliv * self._via_cn

        # China's export revenue and world market share (for its escalation calculus)
        out_key, buy, buy_com = self._out_key, self._buy, self._buy_com
        cn_out = np.bincount(out_key, shipped_cn[buy], minlength=n_com + 1)[:n_com]
        s.cn_export_usd = float((cn_out * s.price_cn).sum())
        value_all = (np.bincount(buy_com, shipped[buy], minlength=n_com) * s.price).sum()
        cn_ship = np.bincount(buy_com, shipped_cn[buy], minlength=n_com)
        value_cn = (cn_ship * s.price).sum()
        s.cn_world_share = float(value_cn / value_all) if value_all > 0 else self.cn_world_share0

        # prices
        d_out = np.bincount(out_key, desired[buy], minlength=n_com + 1)[:n_com]
        cap_noncn = np.bincount(self._other_pool_com, cap[self._other_pool], minlength=n_com)
        cap_cn = np.bincount(self._cn_pool_com, cap[self._cn_pool], minlength=n_com)
        r = _div(d_out, cap_noncn + cn_out, 0.0)
        target = self.p0 * np.power(_div(r, self.r0, 1.0), self.flex)
        u = _div(cn_ship, cap_cn, 0.0)
        target_cn = self.p0_cn * np.power(_div(u, self.u0, 1.0), self.flex)
        target = np.clip(target, self._lo, self._hi)
        target_cn = np.clip(target_cn, self._lo_cn, self._hi_cn)
        s.price += self.adjust * (target - s.price)
        s.price_cn += self.adjust * (target_cn - s.price_cn)

    def _cap_chinese(self, placed: np.ndarray, cap: np.ndarray, n_pos: int) -> np.ndarray:
        """Under a dependence ceiling c, Chinese-origin orders of a position may not exceed
        c / (1 - c) times what its non-Chinese suppliers deliver this week (their
        allocation does not depend on Chinese orders, so it is computed first)."""
        s = self.model.state
        n_firms = len(cap)
        placed_alt = placed[self._alt]
        orders = np.bincount(self._alt_sup, placed_alt, minlength=n_firms)
        fill = _div(cap, orders, 1.0, orders > cap)
        got_alt = np.bincount(self._alt_pos, placed_alt * fill[self._alt_sup], minlength=n_pos)
        c = self._ceiling.at(self.model.t)
        allowed = np.where(c < 1.0, c / np.maximum(1.0 - c, 1e-12) * got_alt, np.inf)
        cn_orders = (np.bincount(self._dcn_pos, placed[self._dcn], minlength=n_pos)
                     + np.bincount(self._vcn_pos, placed[self._vcn], minlength=n_pos))
        keep = np.where(self.capped & (cn_orders > allowed), _div(allowed, cn_orders, 0.0), 1.0)
        placed = placed.copy()
        placed[self._cut] *= keep[self._cut_pos]
        trader_orders = np.bincount(self._via_trader, placed[self._via], minlength=self._n_traders)
        up = self._up
        placed[up] = trader_orders.take(self._up_trader) * s.edge_share[up] * s.edge_open[up]
        return placed


def _distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of small non-negative integers (lead times), in linear time."""
    return np.flatnonzero(np.bincount(values)) if len(values) else np.unique(values)


def _div(a: np.ndarray, b: np.ndarray, default: float, where: np.ndarray | None = None) -> np.ndarray:
    """``a / b`` where ``where`` (default ``b > 0``) holds, else ``default`` (1-d arrays)."""
    n = len(b)
    out = np.zeros(n) if default == 0.0 else np.ones(n) if default == 1.0 else np.full(n, default)
    np.divide(a, b, out=out, where=b > 0 if where is None else where)
    return out


def _safe_div(a, b, default: float):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    out = np.full(np.broadcast(a, b).shape, default, dtype=float)
    np.divide(a, b, out=out, where=b > 0)
    return out


def _pool(request, req_com, spare, firm_com, in_pool, n_com):
    """Allocate a pool of spare capacity pro rata to requests, per commodity.

    Returns:
        (tonnes allocated per request, tonnes supplied per commodity)
    """
    idx = np.flatnonzero(in_pool)
    return _pool_idx(request, req_com, spare, idx, firm_com[idx], n_com)


def _pool_idx(request, req_com, spare, idx, idx_com, n_com):
    """:func:`_pool` on the pool's firm indices ``idx`` and their commodities ``idx_com``."""
    sp = spare[idx]
    supply = np.bincount(idx_com, sp, minlength=n_com)
    demand = np.bincount(req_com, request, minlength=n_com)
    fill = np.minimum(1.0, _div(supply, demand, 0.0))
    got = request * fill.take(req_com)
    used = np.minimum(supply, demand)
    take = _div(used, supply, 0.0)
    spare[idx] = sp - sp * take.take(idx_com)
    return got, used
