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

from simulation.mechanisms.base import Mechanism, ceiling_at, position_ceilings
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
        self.leads = np.unique(e.edge_lead[~self.up_edge])
        self.spot_lead = cfg.world.market.spot_lead_weeks
        coms = [cfg.world.commodities[c] for c in e.commodities]
        self.p0 = np.array([c.price_usd_per_t for c in coms])
        self.p0_cn = self.p0 * (1 - np.array([c.china_price_discount_share for c in coms]))
        self.flex = np.array([c.price_flexibility for c in coms])
        self.adjust = np.array([c.price_adjustment_share_per_week for c in coms])
        self.cap_multiple = np.array([c.price_cap_multiple for c in coms])
        cap = e.firm_capacity_t * model.state.capacity_factor
        cap_noncn = np.bincount(e.firm_commodity[self.noncn_producer], cap[self.noncn_producer], minlength=n_com)
        cap_cn = np.bincount(e.firm_commodity[self.cn_producer], cap[self.cn_producer], minlength=n_com)
        # calm reference ratios from the initial sourcing (steady state: desired = use)
        use, share = e.pos_base_use_t, e.edge_share
        flow = use[e.edge_pos] * share
        trader_flow = np.bincount(self.via_trader_pos, flow[self.via_edge], minlength=e.n_pos)
        flow = np.where(self.up_edge, trader_flow[e.edge_pos] * share, flow)
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
        # hard dependence ceilings (the state caps Chinese-origin receipts of its firms)
        self.ceiling_final, self.ceiling_end = position_ceilings(model)
        self.capped = ~np.isnan(self.ceiling_final)
        self.direct_cn = self.prod_edge & self.edge_cn & ~self.up_edge
        self.via_cn_target = self.via_edge & self.edge_cn

    def desired(self) -> np.ndarray:
        """Order-up-to purchases of every buyer position this week (t)."""
        s = self.model.state
        gap = s.stock_target + s.pipe_target - s.inventory - s.in_transit
        want = s.expected_use + s.adjust_rate * gap
        want[~self.buyer] = 0.0
        return np.maximum(want, 0.0)

    def step(self) -> None:
        m, e, s = self.model, self.model.eco, self.model.state
        n_pos, n_com = e.n_pos, self.n_com
        s.required[:] = e.pos_base_use_t * s.intensity  # this week's need at full output
        desired = self.desired()

        # orders on edges; blocked buyers reroute part of their blocked Chinese orders via hubs
        share = s.edge_share
        placed = desired[e.edge_pos] * share * s.edge_open
        rerouted = s.reroute * s.blocked_share * desired
        via_share = np.bincount(e.edge_pos[self.via_edge], share[self.via_edge], minlength=n_pos)
        extra = _safe_div(rerouted, np.where(via_share > 1e-12, via_share, 0.0), 0.0)
        placed[self.via_edge] += extra[e.edge_pos[self.via_edge]] * share[self.via_edge]
        # traders pass their orders upstream
        trader_orders = np.bincount(self.via_trader_pos, placed[self.via_edge], minlength=n_pos)
        placed[self.up_edge] = (trader_orders[e.edge_pos[self.up_edge]]
                                * share[self.up_edge] * s.edge_open[self.up_edge])

        # producers allocate pro rata when short of capacity
        cap = e.firm_capacity_t * s.capacity_factor
        pe = self.prod_edge
        if self.capped.any():
            placed = self._cap_chinese(placed, cap, n_pos)
        orders = np.bincount(e.edge_supplier[pe], placed[pe], minlength=e.n_firms)
        fill = np.where(orders > cap, _safe_div(cap, orders, 1.0), 1.0)
        deliv = np.zeros(e.n_edges)
        deliv[pe] = placed[pe] * fill[e.edge_supplier[pe]]
        trader_got = np.bincount(e.edge_pos[self.up_edge], deliv[self.up_edge], minlength=n_pos)
        trader_fill = _safe_div(trader_got, trader_orders, 0.0)
        deliv[self.via_edge] = placed[self.via_edge] * trader_fill[self.via_trader_pos]

        # what buyers got under contract, and what they still lack
        be = ~self.up_edge
        got = np.bincount(e.edge_pos[be], deliv[be], minlength=n_pos)
        got_cn = np.bincount(e.edge_pos[be & self.edge_cn], deliv[be & self.edge_cn],
                             minlength=n_pos)
        unmet = np.maximum(desired - got, 0.0)

        # spot market: spare capacity outside China, then China's for uncontrolled buyers
        spare = np.maximum(cap - orders * fill, 0.0)
        com = e.pos_commodity
        free = unmet * ~(s.pos_controlled | self.capped)
        spot_cn, used1 = _pool(free, com, spare, e.firm_commodity, self.cn_producer, n_com)
        spot_other, used2 = _pool(unmet - spot_cn, com, spare, e.firm_commodity,
                                  self.noncn_producer, n_com)
        spot = spot_cn + spot_other

        # ship into the pipelines
        t, L = m.t, s.ring.shape[0]
        for lead in self.leads:
            sel = be & (e.edge_lead == lead)
            slot = (t + lead) % L
            s.ring[slot] += np.bincount(e.edge_pos[sel], deliv[sel], minlength=n_pos)
            sel_cn = sel & self.edge_cn
            s.ring_cn[slot] += np.bincount(e.edge_pos[sel_cn], deliv[sel_cn], minlength=n_pos)
        slot = (t + self.spot_lead) % L
        s.ring[slot] += spot
        s.ring_cn[slot] += spot_cn
        shipped = got + spot
        s.in_transit += shipped

        # flows published for the other mechanisms and the record
        s.desired = desired
        s.shipped = shipped
        s.shipped_cn = got_cn + spot_cn
        s.spot = spot
        s.production_t = np.bincount(e.firm_commodity[e.edge_supplier[pe]],
                                     deliv[pe], minlength=n_com) + used1 + used2
        s.transshipped = deliv * (self.via_edge & self.edge_cn)

        # China's export revenue and world market share (for its escalation calculus)
        out = self.outside_pos
        s.cn_export_usd = float((np.bincount(com[out], s.shipped_cn[out], minlength=n_com) * s.price_cn).sum())
        b = self.buyer
        value_all = (np.bincount(com[b], shipped[b], minlength=n_com) * s.price).sum()
        value_cn = (np.bincount(com[b], s.shipped_cn[b], minlength=n_com) * s.price).sum()
        s.cn_world_share = float(value_cn / value_all) if value_all > 0 else self.cn_world_share0

        # prices
        d_out = np.bincount(com[out], desired[out], minlength=n_com)
        cn_out = np.bincount(com[out], s.shipped_cn[out], minlength=n_com)
        cap_noncn = np.bincount(e.firm_commodity[self.noncn_producer], cap[self.noncn_producer], minlength=n_com)
        cap_cn = np.bincount(e.firm_commodity[self.cn_producer], cap[self.cn_producer], minlength=n_com)
        r = _safe_div(d_out, cap_noncn + cn_out, 0.0)
        target = self.p0 * np.power(_safe_div(r, self.r0, 1.0), self.flex)
        cn_ship = np.bincount(com[self.buyer], s.shipped_cn[self.buyer], minlength=n_com)
        u = _safe_div(cn_ship, cap_cn, 0.0)
        target_cn = self.p0_cn * np.power(_safe_div(u, self.u0, 1.0), self.flex)
        target = np.clip(target, 0.2 * self.p0, self.cap_multiple * self.p0)
        target_cn = np.clip(target_cn, 0.2 * self.p0_cn, self.cap_multiple * self.p0_cn)
        s.price += self.adjust * (target - s.price)
        s.price_cn += self.adjust * (target_cn - s.price_cn)

    def _cap_chinese(self, placed: np.ndarray, cap: np.ndarray, n_pos: int) -> np.ndarray:
        """Under a dependence ceiling c, Chinese-origin orders of a position may not exceed
        c / (1 - c) times what its non-Chinese suppliers deliver this week (their
        allocation does not depend on Chinese orders, so it is computed first)."""
        e = self.model.eco
        pe = self.prod_edge
        alt = pe & ~self.edge_cn
        orders = np.bincount(e.edge_supplier[alt], placed[alt], minlength=e.n_firms)
        fill = np.where(orders > cap, _safe_div(cap, orders, 1.0), 1.0)
        got_alt = np.bincount(e.edge_pos[alt], placed[alt] * fill[e.edge_supplier[alt]], minlength=n_pos)
        c = ceiling_at(self.ceiling_final, self.ceiling_end, self.model.t)
        allowed = np.where(c < 1.0, c / np.maximum(1.0 - c, 1e-12) * got_alt, np.inf)
        cn_orders = (np.bincount(e.edge_pos[self.direct_cn], placed[self.direct_cn], minlength=n_pos)
                     + np.bincount(e.edge_pos[self.via_cn_target], placed[self.via_cn_target], minlength=n_pos))
        keep = np.where(self.capped & (cn_orders > allowed), _safe_div(allowed, cn_orders, 0.0), 1.0)
        sel = self.direct_cn | self.via_cn_target
        placed = placed.copy()
        placed[sel] *= keep[e.edge_pos[sel]]
        trader_orders = np.bincount(self.via_trader_pos, placed[self.via_edge], minlength=n_pos)
        placed[self.up_edge] = (trader_orders[e.edge_pos[self.up_edge]]
                                * self.model.state.edge_share[self.up_edge] * self.model.state.edge_open[self.up_edge])
        return placed


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
    supply = np.bincount(firm_com[in_pool], spare[in_pool], minlength=n_com)
    demand = np.bincount(req_com, request, minlength=n_com)
    fill = np.minimum(1.0, _safe_div(supply, demand, 0.0))
    got = request * fill[req_com]
    used = np.minimum(supply, demand)
    take = _safe_div(used, supply, 0.0)
    spare[in_pool] -= spare[in_pool] * take[firm_com[in_pool]]
    return got, used

