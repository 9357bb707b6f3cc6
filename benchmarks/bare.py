"""The bare compiled arithmetic of one week's market clearing and output: the limit of the design.

:func:`prepare` takes, once, the fixed bundles of the compiled kernels from a built model: the
market's ``fixed`` (edge subsets, per-edge keys into suppliers' orders, fill rates and pipeline
bins, traders and hub buyers numbered locally, pools of spare capacity, price references and
bounds, the dependence-ceiling path) and the output's ``fixed`` (each firm's positions).
:func:`clear` then builds the weekly bundles with the market's own
:func:`~simulation.mechanisms.market.market_week` and calls the same kernels as
``mechanisms/market.py`` and ``mechanisms/output.py`` (orders and trader pass-through, pro-rata
allocation, deliveries into the pipelines, the two spot pools by willingness to pay, shipment, output lost by firm and
country), and the market's own numpy functions for China's sales and the target prices, on flat
arrays, so the results agree to the last bit. No mechanism objects, no model, no attribute
lookups on agents: what remains of the model's step beyond this is the cost of everything else
it does.

The benchmark times :func:`clear` on the same arrays the model sees at the market's turn in
a week, and :func:`compare` checks that it reproduces the model's own results; if the
mechanisms change and the two part ways, the benchmark says so. (An export quota, which the
benchmarked scenario does not use, cuts orders in Python between the kernels: :func:`clear`
leaves it out. The short-run demand factor is the model's, computed after last week's prices.)
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np

from simulation.mechanisms.market import (
    MarketCleared,
    MarketOrders,
    _cap_chinese_kernel,
    _clear_kernel,
    _orders_kernel,
    _prices_kernel,
    china_sales,
    market_week,
)
from simulation.mechanisms.output import _output_kernel

# the state arrays the market reads (copied at the market's turn, untimed)
INPUTS = ("inventory", "in_transit", "stock_target", "pipe_target", "expected_use", "recycled", "adjust_rate",
          "edge_open", "edge_share", "reroute", "blocked_share", "pos_controlled", "capacity_factor",
          "intensity", "demand_factor", "price", "price_cn", "ring", "ring_cn")
# the results compared with the model's, and where the model keeps them
MARKET_OUTPUTS = ("desired", "shipped", "shipped_cn", "spot", "production_t", "transshipped", "price",
                  "price_cn", "ring", "ring_cn", "cn_export_usd", "cn_world_share")
OUTPUTS = MARKET_OUTPUTS + ("firm_output_loss_share", "output_loss", "jobs_lost", "output_loss_by_commodity")


def prepare(model) -> SimpleNamespace:
    """The kernels' fixed bundles, from ``model``'s market and output (built once, not timed)."""
    market = model.mechanisms["market"]
    return SimpleNamespace(market=market.fixed, output=model.mechanisms["output"].fixed, n_pos=model.eco.n_pos,
                           demand=market._demand)


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
    fx, calm = p.market, p.market.calm
    demand, ship = market_week(SimpleNamespace(required=np.empty(p.n_pos), **x), t)
    orders = MarketOrders(*_orders_kernel(fx.orders, demand))
    if fx.capped_any:
        _cap_chinese_kernel(fx.ceiling, orders, fx.ceiling_path.at(t), demand.share, demand.edge_open)
    c = MarketCleared(*_clear_kernel(fx.clear, ship, orders, t))
    price, price_cn = x["price"], x["price_cn"]
    cn_export, cn_world = china_sales(calm, c, price, price_cn)
    # next week's demand factors are computed in full (as the model does whenever a price moves)
    factors = p.demand._replace(factors=np.full(len(p.demand.factors), np.nan), out=x["demand_factor"])
    _prices_kernel(calm, c.ratio, c.ratio_cn, price, price_cn, factors)

    firm_loss, loss, jobs, by_com = _output_kernel(p.output, demand.required, use, float(trade_ban_share))
    return {"desired": orders.desired, "shipped": c.shipped, "shipped_cn": c.shipped_cn, "spot": c.spot,
            "production_t": c.production, "transshipped": c.transshipped, "price": price, "price_cn": price_cn,
            "ring": x["ring"], "ring_cn": x["ring_cn"], "cn_export_usd": cn_export, "cn_world_share": cn_world,
            "firm_output_loss_share": firm_loss, "output_loss": loss, "jobs_lost": jobs,
            "output_loss_by_commodity": by_com}


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


def replay(model, n_steps: int, clock=time.perf_counter, reps: int = 1) -> tuple[float, float]:
    """Step ``model`` ``n_steps`` weeks; at each week's market turn capture the inputs, then run
    :func:`clear` on a copy of them (``reps`` times, the fastest timed with ``clock``) and compare
    it with what the model computed.

    Returns:
        (seconds in :func:`clear`, summed over the weeks; the largest relative difference)
    """
    plan = prepare(model)
    s, seen = model.state, {}
    market = model.mechanisms["market"]
    market_step = market.step

    def hooked(t):  # t: the mechanisms' week (after the history, if any)
        seen["t"] = t
        seen["x"] = {name: np.array(getattr(s, name), copy=True) for name in INPUTS}
        market_step(t)
        seen["out"] = {name: np.array(getattr(s, name), copy=True) for name in MARKET_OUTPUTS}

    market.step = hooked
    kernel_s, worst = 0.0, 0.0
    for _ in range(n_steps):
        model.step()
        t = seen["t"]
        want = {name: getattr(s, name) for name in OUTPUTS} | seen["out"]
        best = np.inf
        for _ in range(max(reps, 1)):
            x = {k: v.copy() for k, v in seen["x"].items()}
            t0 = clock()
            got = clear(plan, x, t, s.use, model.signals.trade_ban_loss_share)
            best = min(best, clock() - t0)
        kernel_s += best
        worst = max(worst, compare(got, want))
    return kernel_s, worst
