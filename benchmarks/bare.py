"""The bare array arithmetic of one week's market clearing and output: the limit of the design.

:func:`prepare` gathers, once, every fixed index array the arithmetic needs from a built
model (edge subsets as integer indices, buyer edges keyed by lead time, pools of spare
capacity). :func:`clear` is then nothing but numpy calls on flat arrays: orders, trader
pass-through, pro-rata allocation, the two spot pools, shipment into the pipelines, prices,
and output lost by firm and country (as in ``mechanisms/market.py`` and
``mechanisms/output.py``). No mechanism objects, no model, no attribute lookups on agents.

The benchmark times :func:`clear` on the same arrays the model sees at the market's turn in
a week, and :func:`compare` checks that it reproduces the model's own results; if the
mechanisms change and the two part ways, the benchmark says so.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from simulation.population import MANUFACTURER, POS_MANUFACTURER, POS_TRADER, PRODUCER

# the state arrays the market reads (copied at the market's turn, untimed)
INPUTS = ("inventory", "in_transit", "stock_target", "pipe_target", "expected_use", "adjust_rate",
          "edge_open", "edge_share", "reroute", "blocked_share", "pos_controlled", "capacity_factor",
          "intensity", "price", "price_cn", "ring", "ring_cn")
# the results compared with the model's, and where the model keeps them
MARKET_OUTPUTS = ("desired", "shipped", "shipped_cn", "spot", "production_t", "transshipped", "price",
                  "price_cn", "ring", "ring_cn", "cn_export_usd", "cn_world_share")
OUTPUTS = MARKET_OUTPUTS + ("firm_output_loss_share", "output_loss", "jobs_lost")


def _span(mask: np.ndarray) -> slice | np.ndarray:
    idx = np.flatnonzero(mask)
    if len(idx) and idx[-1] - idx[0] + 1 == len(idx):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


def prepare(model) -> SimpleNamespace:
    """Fixed index arrays and constants of ``model`` (built once, not timed)."""
    e, mk, out = model.eco, model.market, model.output
    ip = np.intp
    p = SimpleNamespace()
    p.n_pos, p.n_firms, p.n_edges, p.n_com = e.n_pos, e.n_firms, e.n_edges, len(e.commodities)
    p.n_countries = len(e.countries)
    p.not_buyer = np.flatnonzero(e.pos_kind == POS_TRADER)
    p.base_use = e.pos_base_use_t
    p.edge_pos, p.edge_share = e.edge_pos.astype(ip), e.edge_share
    up = e.pos_kind[e.edge_pos] == POS_TRADER
    via = e.edge_via_trader
    prod = e.firm_kind[e.edge_supplier] == PRODUCER
    cn = e.edge_origin == e.coercer
    p.up_idx = np.flatnonzero(up)
    p.up_pos = e.edge_pos[p.up_idx].astype(ip)
    p.via_idx = np.flatnonzero(via)
    p.via_pos = e.edge_pos[p.via_idx].astype(ip)
    trader_pos = np.full(e.n_firms, -1, ip)
    tp = np.flatnonzero(e.pos_kind == POS_TRADER)
    trader_pos[e.pos_firm[tp]] = tp
    p.via_trader_pos = trader_pos[e.edge_supplier[p.via_idx]]
    p.pe_idx = np.flatnonzero(prod)
    p.pe_sup = e.edge_supplier[p.pe_idx].astype(ip)
    p.pe_com = e.firm_commodity[p.pe_sup].astype(ip)
    be = ~up
    p.be_idx = np.flatnonzero(be)
    p.be_pos = e.edge_pos[p.be_idx].astype(ip)
    p.becn_idx = np.flatnonzero(be & cn)
    p.becn_pos = e.edge_pos[p.becn_idx].astype(ip)
    p.via_cn = via & cn
    # dependence ceilings
    p.capped_any = bool(mk.capped.any())
    p.capped, p.ceiling = mk.capped, mk.ceiling
    p.alt_idx = np.flatnonzero(prod & ~cn)
    p.alt_sup, p.alt_pos = e.edge_supplier[p.alt_idx].astype(ip), e.edge_pos[p.alt_idx].astype(ip)
    p.dcn_idx = np.flatnonzero(mk.direct_cn)
    p.dcn_pos = e.edge_pos[p.dcn_idx].astype(ip)
    p.vcn_idx = np.flatnonzero(mk.via_cn_target)
    p.vcn_pos = e.edge_pos[p.vcn_idx].astype(ip)
    p.sel_idx = np.flatnonzero(mk.direct_cn | mk.via_cn_target)
    p.sel_pos = e.edge_pos[p.sel_idx].astype(ip)
    p.cn_world_share0 = mk.cn_world_share0
    # buyer edges keyed by (lead, position): one bincount fills every pipeline slot
    p.leads = np.unique(e.edge_lead[be])
    lead_no = np.searchsorted(p.leads, e.edge_lead)
    p.be_key = lead_no[p.be_idx] * e.n_pos + p.be_pos
    p.becn_key = lead_no[p.becn_idx] * e.n_pos + p.becn_pos
    p.spot_lead = mk.spot_lead
    p.firm_cap = e.firm_capacity_t
    p.pos_com = e.pos_commodity.astype(ip)
    for name, pool in (("cn", mk.cn_producer), ("other", mk.noncn_producer)):
        idx = np.flatnonzero(pool)
        setattr(p, f"pool_{name}", idx)
        setattr(p, f"pool_{name}_com", e.firm_commodity[idx].astype(ip))
    p.out_pos = np.flatnonzero(mk.outside_pos)
    p.out_com = p.pos_com[p.out_pos]
    p.buyer_pos = np.flatnonzero(mk.buyer)
    p.buyer_com = p.pos_com[p.buyer_pos]
    for name in ("r0", "u0", "p0", "p0_cn", "flex", "adjust", "cap_multiple"):
        setattr(p, name, getattr(mk, name))
    # output
    p.manuf_pos = _span(e.pos_kind == POS_MANUFACTURER)
    first = p.manuf_pos.start if isinstance(p.manuf_pos, slice) else int(p.manuf_pos[0])
    p.crit = e.pos_criticality[p.manuf_pos]
    firms = np.flatnonzero((e.firm_kind == MANUFACTURER) & (e.firm_pos_start >= 0))
    p.loss_firms, p.loss_starts = firms, e.firm_pos_start[firms] - first
    p.va, p.multiplier = e.firm_va_week, out.multiplier
    p.firm_country = e.firm_country.astype(ip)
    p.target = e.target
    p.gdp, p.employment, p.elasticity = out.gdp, out.employment, out.elasticity
    return p


def _div(a, b, default: float) -> np.ndarray:
    out = np.full(len(a), default)
    np.divide(a, b, out=out, where=b > 0)
    return out


def _pool(request, req_com, spare, idx, com, n_com):
    supply = np.bincount(com, spare[idx], minlength=n_com)
    demand = np.bincount(req_com, request, minlength=n_com)
    got = request * np.minimum(1.0, _div(supply, demand, 0.0))[req_com]
    used = np.minimum(supply, demand)
    sp = spare[idx]
    spare[idx] = sp - sp * _div(used, supply, 0.0)[com]
    return got, used


def _cap_chinese(p, placed, cap, share, edge_open):
    """Dependence ceilings: Chinese-origin orders cut to c / (1 - c) of non-Chinese receipts."""
    orders = np.bincount(p.alt_sup, placed[p.alt_idx], minlength=p.n_firms)
    fill = np.ones(p.n_firms)
    np.divide(cap, orders, out=fill, where=orders > cap)
    got_alt = np.bincount(p.alt_pos, placed[p.alt_idx] * fill[p.alt_sup], minlength=p.n_pos)
    c = np.where(p.capped, p.ceiling, 1.0)
    allowed = np.where(c < 1.0, c / np.maximum(1.0 - c, 1e-12) * got_alt, np.inf)
    cn_orders = (np.bincount(p.dcn_pos, placed[p.dcn_idx], minlength=p.n_pos)
                 + np.bincount(p.vcn_pos, placed[p.vcn_idx], minlength=p.n_pos))
    keep = np.ones(p.n_pos)
    cut = p.capped & (cn_orders > allowed)
    keep[cut] = _div(allowed, cn_orders, 0.0)[cut]
    placed = placed.copy()
    placed[p.sel_idx] *= keep[p.sel_pos]
    trader_orders = np.bincount(p.via_trader_pos, placed[p.via_idx], minlength=p.n_pos)
    placed[p.up_idx] = trader_orders[p.up_pos] * share[p.up_idx] * edge_open[p.up_idx]
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
    n_pos, n_com = p.n_pos, p.n_com
    required = p.base_use * x["intensity"]
    want = x["expected_use"] + x["adjust_rate"] * (
        x["stock_target"] + x["pipe_target"] - x["inventory"] - x["in_transit"])
    want[p.not_buyer] = 0.0
    desired = np.maximum(want, 0.0)
    edge_open, share = x["edge_open"], x["edge_share"]

    # orders, rerouting through hubs, trader pass-through
    placed = desired[p.edge_pos] * share * edge_open
    via_share = share[p.via_idx]
    extra = _div(x["reroute"] * x["blocked_share"] * desired,
                 np.bincount(p.via_pos, via_share, minlength=n_pos), 0.0)
    placed[p.via_idx] += extra[p.via_pos] * via_share
    trader_orders = np.bincount(p.via_trader_pos, placed[p.via_idx], minlength=n_pos)
    placed[p.up_idx] = trader_orders[p.up_pos] * share[p.up_idx] * edge_open[p.up_idx]

    # pro-rata allocation by producers, then by traders
    cap = p.firm_cap * x["capacity_factor"]
    if p.capped_any:
        placed = _cap_chinese(p, placed, cap, share, edge_open)
    orders = np.bincount(p.pe_sup, placed[p.pe_idx], minlength=p.n_firms)
    fill = np.ones(p.n_firms)
    np.divide(cap, orders, out=fill, where=orders > cap)
    deliv = np.zeros(p.n_edges)
    deliv[p.pe_idx] = placed[p.pe_idx] * fill[p.pe_sup]
    trader_got = np.bincount(p.up_pos, deliv[p.up_idx], minlength=n_pos)
    deliv[p.via_idx] = placed[p.via_idx] * _div(trader_got, trader_orders, 0.0)[p.via_trader_pos]

    # contracts, then the two spot pools
    got = np.bincount(p.be_pos, deliv[p.be_idx], minlength=n_pos)
    got_cn = np.bincount(p.becn_pos, deliv[p.becn_idx], minlength=n_pos)
    unmet = np.maximum(desired - got, 0.0)
    spare = np.maximum(cap - orders * fill, 0.0)
    free = unmet * ~(x["pos_controlled"] | p.capped)
    spot_cn, used1 = _pool(free, p.pos_com, spare, p.pool_cn, p.pool_cn_com, n_com)
    spot_other, used2 = _pool(unmet - spot_cn, p.pos_com, spare, p.pool_other, p.pool_other_com, n_com)
    spot = spot_cn + spot_other

    # shipment into the pipelines: one bincount per origin fills every lead's slot
    ring, ring_cn = x["ring"], x["ring_cn"]
    L, k = ring.shape[0], len(p.leads)
    slots = (t + p.leads) % L
    ring[slots] += np.bincount(p.be_key, deliv[p.be_idx], minlength=k * n_pos).reshape(k, n_pos)
    ring_cn[slots] += np.bincount(p.becn_key, deliv[p.becn_idx], minlength=k * n_pos).reshape(k, n_pos)
    slot = (t + p.spot_lead) % L
    ring[slot] += spot
    ring_cn[slot] += spot_cn
    shipped = got + spot
    shipped_cn = got_cn + spot_cn
    production = np.bincount(p.pe_com, deliv[p.pe_idx], minlength=n_com) + used1 + used2

    # China's export revenue and world share; prices
    price, price_cn = x["price"], x["price_cn"]
    cn_out = np.bincount(p.out_com, shipped_cn[p.out_pos], minlength=n_com)
    cn_export = float((cn_out * price_cn).sum())
    value_all = (np.bincount(p.buyer_com, shipped[p.buyer_pos], minlength=n_com) * price).sum()
    cn_ship = np.bincount(p.buyer_com, shipped_cn[p.buyer_pos], minlength=n_com)
    value_cn = (cn_ship * price).sum()
    cn_world = float(value_cn / value_all) if value_all > 0 else p.cn_world_share0
    d_out = np.bincount(p.out_com, desired[p.out_pos], minlength=n_com)
    cap_noncn = np.bincount(p.pool_other_com, cap[p.pool_other], minlength=n_com)
    cap_cn = np.bincount(p.pool_cn_com, cap[p.pool_cn], minlength=n_com)
    r = _div(d_out, cap_noncn + cn_out, 0.0)
    target = p.p0 * np.power(_div(r, p.r0, 1.0), p.flex)
    u = _div(cn_ship, cap_cn, 0.0)
    target_cn = p.p0_cn * np.power(_div(u, p.u0, 1.0), p.flex)
    target = np.clip(target, 0.2 * p.p0, p.cap_multiple * p.p0)
    target_cn = np.clip(target_cn, 0.2 * p.p0_cn, p.cap_multiple * p.p0_cn)
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
