"""The bare compiled arithmetic of one week's market clearing and output: the limit of the design.

:func:`prepare` gathers, once, the fixed inputs of the compiled kernels from a built model: the
index arrays and constants the market and output mechanisms precompute (edge subsets, per-edge
keys into suppliers' orders, fill rates and pipeline bins, traders and hub buyers numbered
locally, pools of spare capacity, price references, each firm's positions). :func:`clear` then
calls the same kernels as ``mechanisms/market.py`` and ``mechanisms/output.py`` (orders and
trader pass-through, pro-rata allocation, deliveries into the pipelines, the two spot pools,
shipment, output lost by firm and country), and the same few numpy lines for China's sales and
the prices, on flat arrays, so the results agree to the last bit. No mechanism objects, no
model, no attribute lookups on agents: what remains of the model's step beyond this is the
cost of everything else it does.

The benchmark times :func:`clear` on the same arrays the model sees at the market's turn in
a week, and :func:`compare` checks that it reproduces the model's own results; if the
mechanisms change and the two part ways, the benchmark says so.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from simulation.mechanisms.market import _cap_chinese_kernel, _clear_kernel, _orders_kernel, _price_kernel
from simulation.mechanisms.output import _output_kernel

# the state arrays the market reads (copied at the market's turn, untimed)
INPUTS = ("inventory", "in_transit", "stock_target", "pipe_target", "expected_use", "adjust_rate",
          "edge_open", "edge_share", "reroute", "blocked_share", "pos_controlled", "capacity_factor",
          "intensity", "price", "price_cn", "ring", "ring_cn")
# the results compared with the model's, and where the model keeps them
MARKET_OUTPUTS = ("desired", "shipped", "shipped_cn", "spot", "production_t", "transshipped", "price",
                  "price_cn", "ring", "ring_cn", "cn_export_usd", "cn_world_share")
OUTPUTS = MARKET_OUTPUTS + ("firm_output_loss_share", "output_loss", "jobs_lost")

# the market's fixed kernel inputs (its attributes, without the leading underscore of private ones)
_MARKET = ("_base_use", "buyer", "_edge_pos", "_hub_buyers", "_via", "_via_local", "_via_trader", "_n_traders",
           "_up", "_up_trader", "_up_sup", "_firm_cap", "_capped_any", "_ceiling", "capped", "_alt", "_alt_sup",
           "_alt_pos", "_dcn", "_dcn_pos", "_vcn", "_vcn_pos", "_cut", "_cut_pos", "_order_key", "_fill_key",
           "via_cn_target", "_made_key", "_be_key", "_lead_key", "_be_cn", "_leads", "spot_lead", "_com", "_cn_pool",
           "_cn_pool_com", "_other_pool", "_other_pool_com", "outside_pos", "r0", "u0", "cn_world_share0", "p0",
           "p0_cn", "flex", "adjust", "_lo", "_hi", "_lo_cn", "_hi_cn")
_OUTPUT = ("_pos", "criticality", "_firms", "_starts", "multiplier", "_firm_country", "gdp", "employment",
           "elasticity")


def prepare(model) -> SimpleNamespace:
    """The kernels' fixed inputs, from ``model``'s market and output (gathered once, not timed)."""
    mk, out, e = model.market, model.output, model.eco
    p = SimpleNamespace(**{name.lstrip("_"): getattr(mk, name) for name in _MARKET})
    p.out = SimpleNamespace(**{name.lstrip("_"): getattr(out, name) for name in _OUTPUT})
    p.n_pos, p.va, p.target = e.n_pos, e.firm_va_week, e.target
    return p


def clear(p: SimpleNamespace, x: dict, t: int, use: np.ndarray, trade_ban_share: float) -> dict:
    """One week of market clearing and output on the arrays ``x`` (``ring``, ``ring_cn``,
    ``in_transit``, ``price`` and ``price_cn`` are updated in place, as the model does).

    Args:
        p: from :func:`prepare`.
        x: the :data:`INPUTS` arrays at the market's turn in week ``t``.
        t: the week.
        use: what manufacturers used this week (the inventories' result the output reads).
        trade_ban_share: the target's GDP share lost to a trade ban (per year).

    Returns:
        The :data:`OUTPUTS` arrays.
    """
    required = np.empty(p.n_pos)
    share, edge_open = x["edge_share"], x["edge_open"]
    desired, placed, trader_orders, cap = _orders_kernel(
        p.base_use, x["intensity"], required, x["stock_target"], x["pipe_target"], x["inventory"], x["in_transit"],
        x["adjust_rate"], x["expected_use"], p.buyer, p.edge_pos, share, edge_open, p.hub_buyers, x["reroute"],
        x["blocked_share"], p.via, p.via_local, p.via_trader, p.n_traders, p.up, p.up_trader, p.firm_cap,
        x["capacity_factor"])
    if p.capped_any:
        _cap_chinese_kernel(placed, trader_orders, cap, p.ceiling.at(t), p.capped, p.alt, p.alt_sup, p.alt_pos,
                            p.dcn, p.dcn_pos, p.vcn, p.vcn_pos, p.cut, p.cut_pos, p.via, p.via_trader, p.up,
                            p.up_trader, share, edge_open)
    shipped, shipped_cn, spot, production, transshipped, cn_out, ship_all, cn_ship, ratio, ratio_cn = _clear_kernel(
        placed, trader_orders, cap, desired, p.order_key, p.up, p.up_trader, p.up_sup, p.fill_key, p.via_cn_target,
        p.made_key, p.be_key, p.lead_key, p.be_cn, p.leads, t, x["ring"], x["ring_cn"], p.spot_lead, x["in_transit"],
        p.com, x["pos_controlled"], p.capped, p.cn_pool, p.cn_pool_com, p.other_pool, p.other_pool_com, p.buyer,
        p.outside_pos, p.r0, p.u0)

    # China's export revenue and world share; prices
    price, price_cn = x["price"], x["price_cn"]
    cn_export = float((cn_out * price_cn).sum())
    value_all = (ship_all * price).sum()
    value_cn = (cn_ship * price).sum()
    cn_world = float(value_cn / value_all) if value_all > 0 else p.cn_world_share0
    target = p.p0 * np.power(ratio, p.flex)
    target_cn = p.p0_cn * np.power(ratio_cn, p.flex)
    _price_kernel(price, target, p.lo, p.hi, p.adjust)
    _price_kernel(price_cn, target_cn, p.lo_cn, p.hi_cn, p.adjust)

    o = p.out
    firm_loss, loss, jobs = _output_kernel(required, use, o.pos, o.criticality, o.firms, o.starts, p.va, o.multiplier,
                                           o.firm_country, p.target, trade_ban_share, o.gdp, o.employment,
                                           o.elasticity)
    return {"desired": desired, "shipped": shipped, "shipped_cn": shipped_cn, "spot": spot,
            "production_t": production, "transshipped": transshipped, "price": price, "price_cn": price_cn,
            "ring": x["ring"], "ring_cn": x["ring_cn"], "cn_export_usd": cn_export, "cn_world_share": cn_world,
            "firm_output_loss_share": firm_loss, "output_loss": loss, "jobs_lost": jobs}


def compare(got: dict, want: dict) -> float:
    """Largest relative difference between the bare results and the model's (0 = identical)."""
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
