"""The bare array arithmetic of one week's market clearing and output: the limit of the design.

:func:`prepare` gathers, once, every fixed index array the arithmetic needs from a built
model (edge subsets as integer indices or slices, per-edge keys into the suppliers' orders
and fill rates, buyer edges keyed by (lead time, position), traders and hub buyers numbered
locally, pools of spare capacity). :func:`clear` is then nothing but numpy calls on flat
arrays: orders, trader pass-through, pro-rata allocation, the two spot pools, shipment into
the pipelines, prices, and output lost by firm and country -- the same operations, in the
same order, as ``mechanisms/market.py`` and ``mechanisms/output.py``, so the results agree
to the last bit. No mechanism objects, no model, no attribute lookups on agents.

The benchmark times :func:`clear` on the same arrays the model sees at the market's turn in
a week, and :func:`compare` checks that it reproduces the model's own results; if the
mechanisms change and the two part ways, the benchmark says so.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from simulation.mechanisms.base import CeilingPath, span
from simulation.population import MANUFACTURER, POS_MANUFACTURER, POS_TRADER, PRODUCER

# the state arrays the market reads (copied at the market's turn, untimed)
INPUTS = ("inventory", "in_transit", "stock_target", "pipe_target", "expected_use", "adjust_rate",
          "edge_open", "edge_share", "reroute", "blocked_share", "pos_controlled", "capacity_factor",
          "intensity", "price", "price_cn", "ring", "ring_cn")
# the results compared with the model's, and where the model keeps them
MARKET_OUTPUTS = ("desired", "shipped", "shipped_cn", "spot", "production_t", "transshipped", "price",
                  "price_cn", "ring", "ring_cn", "cn_export_usd", "cn_world_share")
OUTPUTS = MARKET_OUTPUTS + ("firm_output_loss_share", "output_loss", "jobs_lost")


def prepare(model) -> SimpleNamespace:
    """Fixed index arrays and constants of ``model`` (built once, not timed)."""
    e, mk, out = model.eco, model.market, model.output
    ip = np.intp
    p = SimpleNamespace()
    p.n_pos, p.n_firms, p.n_edges, p.n_com = e.n_pos, e.n_firms, e.n_edges, len(e.commodities)
    p.n_countries = len(e.countries)
    p.not_buyer = span(e.pos_kind == POS_TRADER)
    p.base_use = e.pos_base_use_t
    pos = e.edge_pos.astype(ip)
    sup = e.edge_supplier.astype(ip)
    firm_com = e.firm_commodity.astype(ip)
    p.edge_pos = pos
    up = e.pos_kind[e.edge_pos] == POS_TRADER
    via = e.edge_via_trader
    prod = e.firm_kind[e.edge_supplier] == PRODUCER
    cn = e.edge_origin == e.coercer
    # rerouting: the positions with hub suppliers, each via edge's place among them
    p.via_idx = np.flatnonzero(via)
    via_pos = pos[p.via_idx]
    p.hub = np.unique(via_pos)
    p.via_local = np.searchsorted(p.hub, via_pos)
    # traders' pass-through positions numbered 0..n_traders-1
    traders = np.flatnonzero(e.pos_kind == POS_TRADER)
    local = np.full(e.n_pos, -1, ip)
    local[traders] = np.arange(len(traders))
    p.n_traders = len(traders)
    trader_pos = np.full(e.n_firms, -1, ip)
    trader_pos[e.pos_firm[traders]] = traders
    p.via_trader = local[trader_pos[sup[p.via_idx]]]
    p.up_idx = span(up)
    p.up_trader = local[pos[p.up_idx]]
    p.up_sup = sup[p.up_idx]
    # per edge: the supplier's order bin, its fill (producer, or trader for via edges) and the commodity made
    trader_of_edge = np.zeros(e.n_edges, ip)
    trader_of_edge[p.via_idx] = p.via_trader
    p.order_key = np.where(prod, sup, e.n_firms)
    p.fill_key = np.where(prod, sup, np.where(via, e.n_firms + trader_of_edge, e.n_firms + p.n_traders))
    p.made_key = np.where(prod, firm_com[sup], p.n_com)
    be = ~up
    p.be_idx = span(be)
    p.be_pos = pos[p.be_idx]
    p.becn_idx = np.flatnonzero(be & cn)
    p.becn_pos = pos[p.becn_idx]
    p.via_cn = (via & cn).astype(float)
    # dependence ceilings
    p.capped_any = bool(mk.capped.any())
    p.capped, p.ceiling_final, p.ceiling_end = mk.capped, mk.ceiling_final, mk.ceiling_end
    p.ceiling = CeilingPath(mk.ceiling_final, mk.ceiling_end)
    p.alt_idx = np.flatnonzero(prod & ~cn)
    p.alt_sup, p.alt_pos = sup[p.alt_idx], pos[p.alt_idx]
    p.dcn_idx = np.flatnonzero(prod & cn & ~up)
    p.dcn_pos = pos[p.dcn_idx]
    p.vcn_idx = np.flatnonzero(via & cn)
    p.vcn_pos = pos[p.vcn_idx]
    p.sel_idx = np.flatnonzero((prod & cn & ~up) | (via & cn))
    p.sel_pos = pos[p.sel_idx]
    p.cn_world_share0 = mk.cn_world_share0
    # buyer edges keyed by (lead, position): one bincount fills the pipeline slot of every lead
    p.leads = np.unique(e.edge_lead[be])
    lead_no = np.searchsorted(p.leads, e.edge_lead).astype(ip)
    p.be_key = lead_no[p.be_idx] * e.n_pos + p.be_pos
    p.becn_key = lead_no[p.becn_idx] * e.n_pos + p.becn_pos
    p.lead_list = [int(x) for x in p.leads]
    p.spot_lead = mk.spot_lead
    p.firm_cap = e.firm_capacity_t
    p.pos_com = e.pos_commodity.astype(ip)
    for name, pool in (("cn", mk.cn_producer), ("other", mk.noncn_producer)):
        idx = np.flatnonzero(pool)
        setattr(p, f"pool_{name}", idx)
        setattr(p, f"pool_{name}_com", firm_com[idx])
    p.buyer_pos = span(mk.buyer)
    p.buyer_com = p.pos_com[p.buyer_pos]
    p.out_key = np.where(mk.outside_pos[p.buyer_pos], p.buyer_com, p.n_com)
    for name in ("r0", "u0", "p0", "p0_cn", "flex", "adjust", "cap_multiple"):
        setattr(p, name, getattr(mk, name))
    p.lo, p.hi = 0.2 * p.p0, p.cap_multiple * p.p0
    p.lo_cn, p.hi_cn = 0.2 * p.p0_cn, p.cap_multiple * p.p0_cn
    # output
    p.manuf_pos = span(e.pos_kind == POS_MANUFACTURER)
    first = p.manuf_pos.start if isinstance(p.manuf_pos, slice) else int(p.manuf_pos[0])
    p.crit = out.criticality if hasattr(out, "criticality") else e.pos_criticality[p.manuf_pos]
    firms = np.flatnonzero((e.firm_kind == MANUFACTURER) & (e.firm_pos_start >= 0))
    p.loss_firms, p.loss_starts = firms, e.firm_pos_start[firms] - first
    p.va, p.multiplier = e.firm_va_week, out.multiplier
    p.firm_country = e.firm_country.astype(ip)
    p.target = e.target
    p.gdp, p.employment, p.elasticity = out.gdp, out.employment, out.elasticity
    return p


def _div(a, b, default: float, where=None) -> np.ndarray:
    n = len(b)
    out = np.zeros(n) if default == 0.0 else np.ones(n) if default == 1.0 else np.full(n, default)
    np.divide(a, b, out=out, where=b > 0 if where is None else where)
    return out


def _pool(request, req_com, spare, idx, com, n_com):
    sp = spare[idx]
    supply = np.bincount(com, sp, minlength=n_com)
    demand = np.bincount(req_com, request, minlength=n_com)
    got = request * np.minimum(1.0, _div(supply, demand, 0.0)).take(req_com)
    used = np.minimum(supply, demand)
    spare[idx] = sp - sp * _div(used, supply, 0.0).take(com)
    return got, used


def _cap_chinese(p, placed, cap, share, edge_open, t):
    """Dependence ceilings: Chinese-origin orders cut to c / (1 - c) of non-Chinese receipts."""
    placed_alt = placed[p.alt_idx]
    orders = np.bincount(p.alt_sup, placed_alt, minlength=p.n_firms)
    fill = _div(cap, orders, 1.0, orders > cap)
    got_alt = np.bincount(p.alt_pos, placed_alt * fill[p.alt_sup], minlength=p.n_pos)
    c = p.ceiling.at(t)
    allowed = np.where(c < 1.0, c / np.maximum(1.0 - c, 1e-12) * got_alt, np.inf)
    cn_orders = (np.bincount(p.dcn_pos, placed[p.dcn_idx], minlength=p.n_pos)
                 + np.bincount(p.vcn_pos, placed[p.vcn_idx], minlength=p.n_pos))
    keep = np.where(p.capped & (cn_orders > allowed), _div(allowed, cn_orders, 0.0), 1.0)
    placed = placed.copy()
    placed[p.sel_idx] *= keep[p.sel_pos]
    trader_orders = np.bincount(p.via_trader, placed[p.via_idx], minlength=p.n_traders)
    placed[p.up_idx] = trader_orders.take(p.up_trader) * share[p.up_idx] * edge_open[p.up_idx]
    return placed


def clear(p: SimpleNamespace, x: dict, t: int, use: np.ndarray, trade_ban_share: float) -> dict:
    """One week of market clearing and output on the arrays ``x`` (``ring`` and ``ring_cn``
    are updated in place, as the model does).

    Args:
        p: from :func:`prepare`.
        x: the :data:`INPUTS` arrays at the market's turn in week ``t``.
        t: the week.
        use: what manufacturers used this week (the inventories' result the output reads).
        trade_ban_share: the target's GDP share lost to a trade ban (per year).

    Returns:
        The :data:`OUTPUTS` arrays.
    """
    n_pos, n_com, n_firms, n_tr = p.n_pos, p.n_com, p.n_firms, p.n_traders
    required = p.base_use * x["intensity"]
    want = x["stock_target"] + x["pipe_target"]
    want -= x["inventory"]
    want -= x["in_transit"]
    want *= x["adjust_rate"]
    want += x["expected_use"]
    want[p.not_buyer] = 0.0
    desired = np.maximum(want, 0.0, out=want)
    edge_open, share = x["edge_open"], x["edge_share"]

    # orders, rerouting through hubs, trader pass-through
    via, up, hub = p.via_idx, p.up_idx, p.hub
    placed = desired.take(p.edge_pos)
    placed *= share
    placed *= edge_open
    rerouted = x["reroute"].take(hub) * x["blocked_share"].take(hub)
    rerouted *= desired.take(hub)
    via_share_e = share[via]
    via_share = np.bincount(p.via_local, via_share_e, minlength=len(hub))
    placed[via] += _div(rerouted, via_share, 0.0, via_share > 1e-12).take(p.via_local) * via_share_e
    trader_orders = np.bincount(p.via_trader, placed[via], minlength=n_tr)
    placed[up] = trader_orders.take(p.up_trader) * share[up] * edge_open[up]

    # pro-rata allocation by producers, then by traders
    cap = p.firm_cap * x["capacity_factor"]
    if p.capped_any:
        placed = _cap_chinese(p, placed, cap, share, edge_open, t)
    orders = np.bincount(p.order_key, placed, minlength=n_firms + 1)[:n_firms]
    fill = _div(cap, orders, 1.0, orders > cap)
    trader_got = np.bincount(p.up_trader, placed[up] * fill.take(p.up_sup), minlength=n_tr)
    trader_fill = _div(trader_got, trader_orders, 0.0)
    deliv = placed * np.concatenate((fill, trader_fill, [0.0])).take(p.fill_key)

    # contracts, then the two spot pools
    deliv_be, deliv_becn = deliv[p.be_idx], deliv[p.becn_idx]
    got = np.bincount(p.be_pos, deliv_be, minlength=n_pos)
    got_cn = np.bincount(p.becn_pos, deliv_becn, minlength=n_pos)
    unmet = desired - got
    np.maximum(unmet, 0.0, out=unmet)
    spare = cap - orders * fill
    np.maximum(spare, 0.0, out=spare)
    free = unmet * ~(x["pos_controlled"] | p.capped)
    spot_cn, used1 = _pool(free, p.pos_com, spare, p.pool_cn, p.pool_cn_com, n_com)
    spot_other, used2 = _pool(unmet - spot_cn, p.pos_com, spare, p.pool_other, p.pool_other_com, n_com)
    spot = spot_cn + spot_other

    # shipment into the pipelines: one bincount per origin fills every lead's slot
    ring, ring_cn = x["ring"], x["ring_cn"]
    L, k = ring.shape[0], len(p.leads)
    by_lead = np.bincount(p.be_key, deliv_be, minlength=k * n_pos).reshape(k, n_pos)
    by_lead_cn = np.bincount(p.becn_key, deliv_becn, minlength=k * n_pos).reshape(k, n_pos)
    for i, lead in enumerate(p.lead_list):
        slot = (t + lead) % L
        ring[slot] += by_lead[i]
        ring_cn[slot] += by_lead_cn[i]
    slot = (t + p.spot_lead) % L
    ring[slot] += spot
    ring_cn[slot] += spot_cn
    shipped = got + spot
    shipped_cn = got_cn + spot_cn
    production = np.bincount(p.made_key, deliv, minlength=n_com + 1)[:n_com] + used1 + used2

    # China's export revenue and world share; prices
    price, price_cn = x["price"], x["price_cn"]
    buy, buy_com, out_key = p.buyer_pos, p.buyer_com, p.out_key
    cn_out = np.bincount(out_key, shipped_cn[buy], minlength=n_com + 1)[:n_com]
    cn_export = float((cn_out * price_cn).sum())
    value_all = (np.bincount(buy_com, shipped[buy], minlength=n_com) * price).sum()
    cn_ship = np.bincount(buy_com, shipped_cn[buy], minlength=n_com)
    value_cn = (cn_ship * price).sum()
    cn_world = float(value_cn / value_all) if value_all > 0 else p.cn_world_share0
    d_out = np.bincount(out_key, desired[buy], minlength=n_com + 1)[:n_com]
    cap_noncn = np.bincount(p.pool_other_com, cap[p.pool_other], minlength=n_com)
    cap_cn = np.bincount(p.pool_cn_com, cap[p.pool_cn], minlength=n_com)
    r = _div(d_out, cap_noncn + cn_out, 0.0)
    target = p.p0 * np.power(_div(r, p.r0, 1.0), p.flex)
    u = _div(cn_ship, cap_cn, 0.0)
    target_cn = p.p0_cn * np.power(_div(u, p.u0, 1.0), p.flex)
    target = np.clip(target, p.lo, p.hi)
    target_cn = np.clip(target_cn, p.lo_cn, p.hi_cn)
    price = price + p.adjust * (target - price)
    price_cn = price_cn + p.adjust * (target_cn - price_cn)

    # output lost: the worst critical input of each manufacturer
    req = required[p.manuf_pos]
    met = np.divide(use[p.manuf_pos], req, out=np.ones(len(req)), where=req > 0)
    short = p.crit * (1.0 - np.clip(met, 0.0, 1.0))
    firm_loss = np.zeros(p.n_firms)
    firm_loss[p.loss_firms] = np.maximum.reduceat(short, p.loss_starts)
    loss = np.bincount(p.firm_country, p.va * firm_loss * p.multiplier, minlength=p.n_countries)
    loss[p.target] += trade_ban_share * p.gdp[p.target] / 52.0
    jobs = p.employment * p.elasticity * loss * 52.0 / p.gdp
    return {"desired": desired, "shipped": shipped, "shipped_cn": shipped_cn, "spot": spot,
            "production_t": production, "transshipped": deliv * p.via_cn, "price": price,
            "price_cn": price_cn, "ring": ring, "ring_cn": ring_cn, "cn_export_usd": cn_export,
            "cn_world_share": cn_world, "firm_output_loss_share": firm_loss, "output_loss": loss,
            "jobs_lost": jobs}


def compare(got: dict, want: dict) -> float:
    """Largest relative difference between the kernel's results and the model's (0 = identical)."""
    worst = 0.0
    for name in OUTPUTS:
        a, b = np.asarray(got[name], float), np.asarray(want[name], float)
        if a.shape != b.shape:
            return float("inf")
        differ = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        if differ.any():
            a, b = a[differ], b[differ]
            rel = np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))
            worst = max(worst, float(np.max(np.nan_to_num(rel, nan=np.inf))))
    return worst
