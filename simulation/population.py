"""Initialization: draw the firm population and the firm-level trade graph as arrays.

The model's state lives in flat numpy arrays (struct of arrays) so that every mechanism
works on all firms, buyer positions and supply edges at once. Three index spaces:

- **firms** (``n_firms``): producers (one commodity, a capacity), traders (one commodity,
  in a transit hub, re-exporting material of one origin) and manufacturers (a sector, a
  size, value added).
- **positions** (``n_pos``): a buyer's holding of one commodity: a manufacturer's input
  (with inventory and criticality), a state stockpile agency's stock, or a trader's
  pass-through account. Positions of one manufacturer are contiguous.
- **edges** (``n_edges``): supply relationships position <- supplier firm, with a share of
  the position's orders, a lead time and the origin of the material carried. Material
  keeps its origin: a trader's edges carry its supplier's origin.

Every draw here uses the ``init`` stream only, which no strategy changes, so two runs that
differ only in strategy start from the same population (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulation.config import Config

PRODUCER, TRADER, MANUFACTURER = 0, 1, 2  # firm kinds (``firm_kind``)
FIRM_KINDS = ("producer", "trader", "manufacturer")
POS_MANUFACTURER, POS_STOCKPILE, POS_TRADER = 0, 1, 2  # position kinds (``pos_kind``)


@dataclass
class Economy:
    """Names, index maps and the arrays of firms, positions and edges."""

    countries: list[str]
    commodities: list[str]
    sectors: list[str]
    coercer: int
    target: int
    # constants of the calm
    price0: np.ndarray = field(repr=False)  # USD/t outside China, per commodity
    price0_cn: np.ndarray = field(repr=False)  # USD/t inside China
    gdp_lcu: np.ndarray = field(repr=False)  # per country, LCU/year
    employment: np.ndarray = field(repr=False)  # per country, jobs
    # firms
    firm_kind: np.ndarray = field(repr=False)
    firm_country: np.ndarray = field(repr=False)
    firm_commodity: np.ndarray = field(repr=False)  # -1 for manufacturers
    firm_sector: np.ndarray = field(repr=False)  # -1 unless manufacturer
    firm_size: np.ndarray = field(repr=False)  # share within its group
    firm_military: np.ndarray = field(repr=False)
    firm_capacity_t: np.ndarray = field(repr=False)  # t/week, producers
    firm_va_week: np.ndarray = field(repr=False)  # LCU/week, manufacturers
    firm_origin: np.ndarray = field(repr=False)  # producers: own country; traders: upstream
    firm_pos_start: np.ndarray = field(repr=False)  # manufacturers: first position, else -1
    firm_pos_end: np.ndarray = field(repr=False)
    firm_project: np.ndarray = field(repr=False)  # index into config.projects, else -1
    firm_invest: np.ndarray = field(repr=False)  # dormant producer for price-driven investment
    # positions
    pos_kind: np.ndarray = field(repr=False)
    pos_firm: np.ndarray = field(repr=False)  # -1 for stockpiles
    pos_country: np.ndarray = field(repr=False)
    pos_commodity: np.ndarray = field(repr=False)
    pos_base_use_t: np.ndarray = field(repr=False)  # t/week at full output
    pos_criticality: np.ndarray = field(repr=False)
    pos_target_days: np.ndarray = field(repr=False)  # inventory target (manufacturers)
    pos_lead_weeks: np.ndarray = field(repr=False)  # share-weighted lead of its edges
    pos_inventory_t: np.ndarray = field(repr=False)  # initial stock
    pos_recycled_t: np.ndarray = field(repr=False)  # calm recycled supply, t/week (contracts cover the rest)
    pos_military: np.ndarray = field(repr=False)
    # edges
    edge_pos: np.ndarray = field(repr=False)
    edge_supplier: np.ndarray = field(repr=False)  # firm index
    edge_share: np.ndarray = field(repr=False)
    edge_lead: np.ndarray = field(repr=False)
    edge_origin: np.ndarray = field(repr=False)
    edge_via_trader: np.ndarray = field(repr=False)
    calm_balance: list[str] = field(default_factory=list)  # what balancing the calm changed (one line each)

    @property
    def n_firms(self) -> int:
        return len(self.firm_kind)

    @property
    def n_pos(self) -> int:
        return len(self.pos_kind)

    @property
    def n_edges(self) -> int:
        return len(self.edge_pos)

    @property
    def n_cc(self) -> int:
        return len(self.countries) * len(self.commodities)

    @property
    def pos_cc(self) -> np.ndarray:
        """Country-commodity group index of each position (country * n_com + commodity)."""
        return self.pos_country * len(self.commodities) + self.pos_commodity


def _sizes(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    s = rng.lognormal(0.0, sigma, n) if sigma > 0 else np.ones(n)
    return s / s.sum()


def _counts(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``total`` by weights (largest remainder), at least one per positive weight."""
    keys = [k for k, w in weights.items() if w > 0]
    if not keys:
        return {}
    total = max(total, len(keys))
    w = np.array([weights[k] for k in keys], dtype=float)
    raw = w / w.sum() * (total - len(keys))
    base = np.floor(raw).astype(int)
    rem = total - len(keys) - base.sum()
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:rem]] += 1
    return {k: int(b) + 1 for k, b in zip(keys, base, strict=True)}


class _FirmTable:
    """Firm rows as they are drawn, group by group (concatenated by :meth:`arrays`)."""

    COLUMNS = ("kind", "country", "commodity", "sector", "size", "military", "capacity_t", "va_week", "origin",
               "project", "invest")

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {c: [] for c in self.COLUMNS}
        self.n = 0

    def add(self, n: int, kind: int, country: int, com: int, sector: int, size: np.ndarray, mil: np.ndarray,
            cap: np.ndarray, va: np.ndarray, origin: int, project: int = -1, invest: bool = False) -> np.ndarray:
        """Append ``n`` firms; returns their ids."""
        p = self.parts
        p["kind"].append(np.full(n, kind, np.int8))
        p["country"].append(np.full(n, country, np.int16))
        p["commodity"].append(np.full(n, com, np.int16))
        p["sector"].append(np.full(n, sector, np.int16))
        p["size"].append(size)
        p["military"].append(mil)
        p["capacity_t"].append(cap)
        p["va_week"].append(va)
        p["origin"].append(np.full(n, origin, np.int16))
        p["project"].append(np.full(n, project, np.int64))
        p["invest"].append(np.full(n, invest, bool))
        ids = np.arange(self.n, self.n + n)
        self.n += n
        return ids

    def arrays(self) -> dict[str, np.ndarray]:
        return {c: np.concatenate(v) for c, v in self.parts.items()}


@dataclass
class _Drawn:
    """The firm population with the groups that positions and edges are drawn from."""

    index: dict[str, dict[str, int]]  # "country" | "commodity" | "sector" -> name -> index
    coercer: int
    firms: dict[str, np.ndarray] = field(default_factory=dict)
    producers: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # (commodity, country) -> ids
    producer_cap: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    traders: dict[int, np.ndarray] = field(default_factory=dict)  # commodity -> Chinese-origin trader ids
    manuf_of: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # (country, sector) -> ids


def _draw_firms(cfg: Config, rng: np.random.Generator, d: _Drawn) -> None:
    """Producers by capacity share, traders in transit hubs, manufacturers by sector, then the
    dormant producers of projects and investment (appended without random draws, so that
    strategies that add projects leave every other draw unchanged: common random numbers)."""
    w, ci, mi, si = cfg.world, d.index["country"], d.index["commodity"], d.index["sector"]
    scale, table = w.firms.scale, _FirmTable()
    for c, com in w.commodities.items():
        caps = {k: v for k, v in com.capacity_t_per_year.items() if v > 0}
        world_cap = sum(caps.values())
        for k, cap in caps.items():
            n = max(1, round(scale * w.firms.producers_per_commodity * cap / world_cap))
            size = _sizes(rng, n, w.firms.size_sigma)
            ids = table.add(n, PRODUCER, ci[k], mi[c], -1, size, np.zeros(n, bool), cap / 52.0 * size,
                            np.zeros(n), ci[k])
            d.producers[(mi[c], ci[k])] = ids
            d.producer_cap[(mi[c], ci[k])] = cap * size
    for k, ctry in w.countries.items():
        if not ctry.transit_hub or ctry.n_traders_per_commodity == 0:
            continue
        for c in w.commodities:
            if (mi[c], d.coercer) not in d.producers:
                continue
            n = max(1, round(scale * ctry.n_traders_per_commodity))
            ids = table.add(n, TRADER, ci[k], mi[c], -1, _sizes(rng, n, w.firms.size_sigma),
                            np.zeros(n, bool), np.zeros(n), np.zeros(n), d.coercer)
            d.traders[mi[c]] = np.concatenate([d.traders.get(mi[c], np.zeros(0, int)), ids])
    for k, ctry in w.countries.items():
        m = round(scale * ctry.n_manufacturers)
        if m == 0 or not ctry.sector_va_share_gdp:
            continue
        for s, n in _counts(m, ctry.sector_va_share_gdp).items():
            size = _sizes(rng, n, w.firms.size_sigma)
            va = ctry.gdp_lcu_per_year * ctry.sector_va_share_gdp[s] / 52.0 * size
            mil = rng.random(n) < (w.firms.military_share if ctry.military_share is None else ctry.military_share)
            d.manuf_of[(ci[k], si[s])] = table.add(n, MANUFACTURER, ci[k], -1, si[s], size, mil, np.zeros(n), va, -1)
    _add_dormant(cfg, d, table)
    d.firms = table.arrays()


def _add_dormant(cfg: Config, d: _Drawn, table: _FirmTable) -> None:
    """One dormant producer per project, and per (commodity, host) of price-driven investment
    (FORGE members if any produce the commodity, else every non-Chinese producer country)."""
    w, ci, mi = cfg.world, d.index["country"], d.index["commodity"]
    one = np.ones(1)
    for j, pr in enumerate(cfg.projects):
        table.add(1, PRODUCER, ci[pr.country], mi[pr.commodity], -1, one, np.zeros(1, bool),
                  np.array([pr.capacity_t_per_year / 52.0]), np.zeros(1), ci[pr.country], project=j)
    for c, com in w.commodities.items():
        others = {k: v for k, v in com.capacity_t_per_year.items() if v > 0 and ci[k] != d.coercer}
        members = {k: v for k, v in others.items() if w.countries[k].forge_member}
        hosts = members or others
        world_cap = sum(com.capacity_t_per_year.values())
        for k, cap in hosts.items():
            share = cap / sum(hosts.values())
            table.add(1, PRODUCER, ci[k], mi[c], -1, one, np.zeros(1, bool),
                      np.array([w.investment.max_share * world_cap * share / 52.0]), np.zeros(1), ci[k],
                      invest=True)


def _manufacturer_positions(cfg: Config, rng: np.random.Generator, d: _Drawn) -> list[np.ndarray]:
    """Manufacturers' inputs, grouped by firm: firm, country, commodity, use, criticality,
    inventory days, kind."""
    w, ci, mi, si = cfg.world, d.index["country"], d.index["commodity"], d.index["sector"]
    cols: list[list[np.ndarray]] = [[] for _ in range(7)]
    for k, ctry in w.countries.items():
        for c, cc in ctry.commodities.items():
            if cc.demand_t_per_year <= 0:
                continue
            users = [s for s in ctry.sector_va_share_gdp
                     if c in w.sectors[s].criticality and (ci[k], si[s]) in d.manuf_of]
            va = np.array([ctry.sector_va_share_gdp[s] for s in users])
            if not users or va.sum() <= 0:
                continue
            for s, wt in zip(users, va / va.sum(), strict=True):
                ids = d.manuf_of[(ci[k], si[s])]
                n = len(ids)
                noise = rng.lognormal(0.0, w.firms.inventory_days_sigma, n) if n else np.zeros(0)
                for col, value in zip(cols, (
                        ids, np.full(n, ci[k]), np.full(n, mi[c]),
                        cc.demand_t_per_year / 52.0 * wt * d.firms["size"][ids],
                        np.full(n, w.sectors[s].criticality[c]),
                        cc.inventory_days * w.firms.inventory_days_scale * noise,
                        np.full(n, POS_MANUFACTURER)), strict=True):
                    col.append(value)
    if not cols[0]:
        return [np.zeros(0) for _ in range(7)]
    order = np.argsort(np.concatenate(cols[0]), kind="stable")  # group each manufacturer's inputs
    return [np.concatenate(col)[order] for col in cols]


def _positions(cfg: Config, rng: np.random.Generator, d: _Drawn) -> dict[str, np.ndarray]:
    """Buyer positions: manufacturers' inputs (grouped by firm), then state stockpiles (every
    country but the coercer, per commodity it uses), then traders' pass-through accounts."""
    w, ci, mi = cfg.world, d.index["country"], d.index["commodity"]
    f = d.firms
    pm = _manufacturer_positions(cfg, rng, d)
    stock_rows = [(ci[k], mi[c], cc.stockpile_days * cc.demand_t_per_year / 365.0)
                  for k, ctry in w.countries.items() if ci[k] != d.coercer
                  for c, cc in ctry.commodities.items() if cc.demand_t_per_year > 0]
    trader_ids = np.flatnonzero(f["kind"] == TRADER)
    n_st, n_tr, n_mf = len(stock_rows), len(trader_ids), len(pm[0])
    cat = np.concatenate
    return {
        "kind": cat([pm[6].astype(np.int8), np.full(n_st, POS_STOCKPILE, np.int8), np.full(n_tr, POS_TRADER, np.int8)]),
        "firm": cat([pm[0].astype(np.int64), np.full(n_st, -1), trader_ids]).astype(np.int64),
        "country": cat([pm[1], [r[0] for r in stock_rows], f["country"][trader_ids]]).astype(np.int16),
        "commodity": cat([pm[2], [r[1] for r in stock_rows], f["commodity"][trader_ids]]).astype(np.int16),
        "base_use_t": cat([pm[3], np.zeros(n_st + n_tr)]).astype(float),
        "criticality": cat([pm[4], np.zeros(n_st + n_tr)]).astype(float),
        "target_days": cat([pm[5], np.zeros(n_st + n_tr)]).astype(float),
        "inventory_t": cat([pm[3] * pm[5] / 7.0, [r[2] for r in stock_rows], np.zeros(n_tr)]).astype(float),
        "military": cat([f["military"][pm[0].astype(np.int64)] if n_mf else np.zeros(0, bool),
                         np.zeros(n_st + n_tr, bool)]),
    }


def _firm_ranges(n_firms: int, pos_firm: np.ndarray, pos_kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each manufacturer's first and past-the-last position (-1 for other firms)."""
    start, end = np.full(n_firms, -1, np.int64), np.full(n_firms, -1, np.int64)
    n_mf = int(np.count_nonzero(pos_kind == POS_MANUFACTURER))
    if n_mf:
        owners = pos_firm[:n_mf]
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        start[owners[starts]] = starts
        end[owners[starts]] = np.r_[starts[1:], n_mf]
    return start, end


class _EdgeTable:
    """Edge rows as they are drawn (concatenated and sorted by position by :meth:`arrays`)."""

    def __init__(self) -> None:
        self.pos, self.sup, self.share, self.lead, self.origin, self.via = ([] for _ in range(6))

    def add(self, rows: np.ndarray, sup: np.ndarray, share: np.ndarray, lead, origin: int, via: bool) -> None:
        n = len(rows)
        self.pos.append(rows)
        self.sup.append(sup)
        self.share.append(share)
        self.lead.append(lead if isinstance(lead, np.ndarray) else np.full(n, lead))
        self.origin.append(np.full(n, origin))
        self.via.append(np.full(n, via, bool))

    def arrays(self) -> dict[str, np.ndarray]:
        cat = np.concatenate
        pos = cat(self.pos).astype(np.int64)
        order = np.argsort(pos, kind="stable")
        return {"pos": pos[order], "supplier": cat(self.sup).astype(np.int64)[order],
                "share": cat(self.share).astype(float)[order], "lead": cat(self.lead).astype(np.int64)[order],
                "origin": cat(self.origin).astype(np.int16)[order], "via_trader": cat(self.via)[order]}


def _pick(d: _Drawn, rng: np.random.Generator, key: tuple[int, int], n: int) -> np.ndarray:
    """``n`` producers of (commodity, country) ``key``, drawn in proportion to capacity."""
    ids, cap = d.producers[key], d.producer_cap[key]
    cum = np.cumsum(cap) / cap.sum()
    return ids[np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(ids) - 1)]


def _sourcing_edges(cfg: Config, rng: np.random.Generator, d: _Drawn, pos: dict, edges: _EdgeTable) -> None:
    """Each buyer's suppliers: an origin mix drawn around its country's import shares (state
    stockpiles take the shares as they are), a producer per origin, and through hub traders
    the country's ``via_hub_share`` of its Chinese supply."""
    w, ci, mi = cfg.world, d.index["country"], d.index["commodity"]
    n_com = len(mi)
    lead, hub_extra = w.market.lead_weeks, w.market.hub_extra_lead_weeks
    # buyer positions grouped by (country, commodity), ascending within each group
    group = pos["country"].astype(np.int64) * n_com + pos["commodity"]
    buyers = np.flatnonzero(pos["kind"] != POS_TRADER)
    by_group = buyers[np.argsort(group[buyers], kind="stable")]
    bounds = np.searchsorted(group[by_group], np.arange(len(ci) * n_com + 1))
    for k, ctry in w.countries.items():
        for c, cc in ctry.commodities.items():
            g = ci[k] * n_com + mi[c]
            sel = by_group[bounds[g]:bounds[g + 1]]
            if len(sel) == 0:
                continue
            origins = [o for o, s in cc.import_shares.items() if s > 0]
            base = np.array([cc.import_shares[o] for o in origins])
            draws = rng.gamma(w.firms.sourcing_concentration * base, size=(len(sel), len(origins)))
            draws[pos["kind"][sel] == POS_STOCKPILE] = base
            shares = draws / draws.sum(axis=1, keepdims=True)
            shares[shares < w.firms.min_edge_share] = 0.0
            shares[shares.sum(axis=1) == 0, int(np.argmax(base))] = 1.0
            shares /= shares.sum(axis=1, keepdims=True)
            for j, o in enumerate(origins):
                has = shares[:, j] > 0
                rows, sh, org = sel[has], shares[has, j], ci[o]
                n = len(rows)
                if n == 0:
                    continue
                hub = cc.via_hub_share if (org == d.coercer and mi[c] in d.traders) else 0.0
                if hub > 0:
                    tr = d.traders[mi[c]]
                    tr = tr[d.firms["country"][tr] != ci[k]]
                    hub = hub if len(tr) else 0.0
                if hub > 0:
                    edges.add(rows, tr[rng.integers(0, len(tr), n)], sh * hub, lead + hub_extra, org, True)
                edges.add(rows, _pick(d, rng, (mi[c], org), n), sh * (1 - hub), 1 if org == ci[k] else lead, org,
                          False)


def _latent_and_trader_edges(cfg: Config, rng: np.random.Generator, d: _Drawn, pos: dict,
                             edges: _EdgeTable) -> None:
    """A latent alternative (share 0) for every buyer with no non-Chinese supplier, so that it
    can diversify later (picked by capacity, without random draws); then each trader's
    ``world.firms.trader_suppliers`` Chinese producers, in equal shares."""
    lead, n_pos = cfg.world.market.lead_weeks, len(pos["kind"])
    has_alt = np.zeros(n_pos, bool)
    for rows, org in zip(edges.pos, edges.origin, strict=True):
        has_alt[rows[org != d.coercer]] = True
    need = np.flatnonzero(~has_alt & (pos["kind"] != POS_TRADER))
    for m in np.unique(pos["commodity"][need]):
        keys = [key for key in d.producers if key[0] == m and key[1] != d.coercer]
        if not keys:
            continue
        best = max(keys, key=lambda key: d.producer_cap[key].sum())
        firm = d.producers[best][int(np.argmax(d.producer_cap[best]))]
        rows = need[pos["commodity"][need] == m]
        edges.add(rows, np.full(len(rows), firm), np.zeros(len(rows)),
                  np.where(pos["country"][rows] == best[1], 1, lead), best[1], False)
    tr_pos = np.flatnonzero(pos["kind"] == POS_TRADER)
    firm_com = d.firms["commodity"]
    n_suppliers = cfg.world.firms.trader_suppliers
    for _ in range(n_suppliers):
        if len(tr_pos) == 0:
            break
        f = pos["firm"][tr_pos]
        sup = np.empty(len(tr_pos), np.int64)
        for m in np.unique(firm_com[f]):
            sel = firm_com[f] == m
            sup[sel] = _pick(d, rng, (int(m), d.coercer), int(sel.sum()))
        edges.add(tr_pos, sup, np.full(len(tr_pos), 1.0 / n_suppliers), 1, d.coercer, False)


def build_economy(cfg: Config, rng: np.random.Generator) -> Economy:
    """Draw firms, positions and edges from the config's world, in that order.

    Args:
        cfg: the validated config.
        rng: the ``init`` random stream.

    Returns:
        The :class:`Economy` arrays.
    """
    w = cfg.world
    index = {"country": {c: i for i, c in enumerate(w.countries)},
             "commodity": {c: i for i, c in enumerate(w.commodities)},
             "sector": {s: i for i, s in enumerate(w.sectors)}}
    d = _Drawn(index=index, coercer=index["country"][cfg.scenario.coercer])
    _draw_firms(cfg, rng, d)
    pos = _positions(cfg, rng, d)
    edges = _EdgeTable()
    _sourcing_edges(cfg, rng, d, pos, edges)
    _latent_and_trader_edges(cfg, rng, d, pos, edges)
    ed = edges.arrays()
    pos["recycled_t"] = _calm_recycled(cfg, pos)
    notes = _balance(cfg, d, pos, ed)
    f = d.firms
    start, end = _firm_ranges(len(f["kind"]), pos["firm"], pos["kind"])
    coms = [w.commodities[c] for c in w.commodities]
    ctry = [w.countries[c] for c in w.countries]
    price0 = np.array([c.price_usd_per_t for c in coms])
    return Economy(
        countries=list(w.countries), commodities=list(w.commodities), sectors=list(w.sectors),
        coercer=d.coercer, target=index["country"][cfg.scenario.target],
        price0=price0, price0_cn=price0 * (1 - np.array([c.china_price_discount_share for c in coms])),
        gdp_lcu=np.array([c.gdp_lcu_per_year for c in ctry]), employment=np.array([c.employment for c in ctry]),
        firm_kind=f["kind"], firm_country=f["country"], firm_commodity=f["commodity"],
        firm_sector=f["sector"], firm_size=f["size"], firm_military=f["military"],
        firm_capacity_t=f["capacity_t"], firm_va_week=f["va_week"], firm_origin=f["origin"],
        firm_pos_start=start, firm_pos_end=end, firm_project=f["project"], firm_invest=f["invest"],
        pos_kind=pos["kind"], pos_firm=pos["firm"], pos_country=pos["country"], pos_commodity=pos["commodity"],
        pos_base_use_t=pos["base_use_t"], pos_criticality=pos["criticality"], pos_target_days=pos["target_days"],
        pos_lead_weeks=np.bincount(ed["pos"], ed["share"] * ed["lead"], minlength=len(pos["kind"])),
        pos_inventory_t=pos["inventory_t"], pos_recycled_t=pos["recycled_t"], pos_military=pos["military"],
        edge_pos=ed["pos"], edge_supplier=ed["supplier"], edge_share=ed["share"], edge_lead=ed["lead"],
        edge_origin=ed["origin"], edge_via_trader=ed["via_trader"], calm_balance=notes,
    )


def _calm_recycled(cfg: Config, pos: dict) -> np.ndarray:
    """Calm recycled supply of each manufacturer's input: its country's ``recycled_share`` of its
    use (recycling hands recovered tonnes out in proportion to need), t/week."""
    w = cfg.world
    share = np.array([[ctry.commodities[c].recycled_share if c in ctry.commodities else 0.0 for c in w.commodities]
                      for ctry in w.countries.values()])
    return pos["base_use_t"] * share[pos["country"], pos["commodity"]] * (pos["kind"] == POS_MANUFACTURER)


def calm_edge_flows(net_use: np.ndarray, pos_kind: np.ndarray, pos_firm: np.ndarray, edge_pos: np.ndarray,
                    edge_supplier: np.ndarray, edge_share: np.ndarray, edge_via_trader: np.ndarray,
                    n_firms: int) -> np.ndarray:
    """Calm flow on every edge, t/week: a buyer's use net of its recycled supply (``net_use``, per
    position) times the edge's share; a trader's upstream edges carry what its buyers order from
    it, by share. (The build balances the calm with it; the market takes its references from it.)"""
    flow = net_use[edge_pos] * edge_share
    is_trader = pos_kind == POS_TRADER
    trader_pos = np.full(n_firms, -1, np.int64)
    trader_pos[pos_firm[is_trader]] = np.flatnonzero(is_trader)
    via = edge_via_trader
    through = np.bincount(trader_pos[edge_supplier[via]], flow[via], minlength=len(pos_kind))
    up = is_trader[edge_pos]
    flow[up] = through[edge_pos[up]] * edge_share[up]
    return flow


def _producer_loads(pos: dict, ed: dict, firms: dict) -> np.ndarray:
    """Calm contracted flow on every firm (producers; 0 for the rest), t/week."""
    n_firms = len(firms["kind"])
    flow = calm_edge_flows(pos["base_use_t"] - pos["recycled_t"], pos["kind"], pos["firm"], ed["pos"],
                           ed["supplier"], ed["share"], ed["via_trader"], n_firms)
    prod = firms["kind"][ed["supplier"]] == PRODUCER
    return np.bincount(ed["supplier"][prod], flow[prod], minlength=n_firms)


def _balance(cfg: Config, d: _Drawn, pos: dict, ed: dict) -> list[str]:
    """Make the calm a steady state: no producer is contracted beyond its capacity.

    1. Where an origin (commodity, country outside China) is contracted beyond
       ``calm_utilization_max_share`` of its capacity, its edges' shares are cut to fit and the
       excess goes to the buyer's Chinese suppliers (a new edge to the largest Chinese producer if
       it has none). The config checks stop first where the data cannot be balanced so (China
       cannot take the excess), or any excess with ``calm_balance = "error"``.
    2. Within every origin, each producer's capacity becomes its contracted load plus its share
       (by drawn size) of the origin's spare capacity: the origin's capacity is the data's, and no
       producer rations its contracts in calm (random picks of producers would overload some).
       Where the firms' random origin mixes still ask more of an origin than it has (the data
       passed the checks), its capacity is raised to fit, and said so.

    Changes ``ed`` (shares, new edges) and ``d.firms["capacity_t"]`` in place, without random draws
    (common random numbers); returns one line per origin rescaled in step 1.
    """
    w, f = cfg.world, d.firms
    u_max, lead = w.market.calm_utilization_max_share, w.market.lead_weeks
    coms, ctrs = list(w.commodities), list(w.countries)
    active = (f["kind"] == PRODUCER) & (f["project"] < 0) & ~f["invest"]
    notes: list[str] = []
    load = _producer_loads(pos, ed, f)
    moved_to = np.zeros(len(ed["pos"]), bool)
    extra_rows: list[tuple[int, int, float, int]] = []  # new edges: position, supplier, share, lead
    for (m, k), ids in sorted(d.producers.items()):
        ids = ids[active[ids]]
        cap, used = f["capacity_t"][ids].sum(), load[ids].sum()
        cn = d.producers.get((m, d.coercer))
        if k == d.coercer or used <= u_max * cap * (1 + 1e-9) or cn is None:  # (no China: raised below)
            continue
        keep = u_max * cap / used
        on = np.isin(ed["supplier"], ids)
        removed = np.bincount(ed["pos"][on], ed["share"][on] * (1 - keep), minlength=len(pos["kind"]))
        ed["share"][on] *= keep
        notes.append(f"{coms[m]} from {ctrs[k]}: calm contracts {used * 52:.4g} t/yr > {u_max:g} x capacity "
                     f"{cap * 52:.4g} t/yr; {1 - keep:.0%} of them moved to Chinese producers")
        for p in np.flatnonzero(removed > 0):
            lo, hi = np.searchsorted(ed["pos"], [p, p + 1])
            mine = np.arange(lo, hi)
            direct = mine[np.isin(ed["supplier"][mine], cn) & ~ed["via_trader"][mine]]
            if len(direct):
                weight = ed["share"][direct] + moved_to[direct]  # all zero-share: equal parts
                ed["share"][direct] += removed[p] * weight / weight.sum()
                moved_to[direct] = True
            else:
                big = cn[int(np.argmax(d.producer_cap[(m, d.coercer)]))]
                extra_rows.append((int(p), int(big), float(removed[p]), 1 if pos["country"][p] == d.coercer else lead))
    if extra_rows:
        rows = np.array(extra_rows, dtype=object)
        new = {"pos": rows[:, 0].astype(np.int64), "supplier": rows[:, 1].astype(np.int64),
               "share": rows[:, 2].astype(float), "lead": rows[:, 3].astype(np.int64),
               "origin": np.full(len(rows), d.coercer, np.int16), "via_trader": np.zeros(len(rows), bool)}
        order = np.argsort(np.concatenate([ed["pos"], new["pos"]]), kind="stable")
        for key in ed:
            ed[key] = np.concatenate([ed[key], new[key]])[order]
    load = _producer_loads(pos, ed, f)
    for (m, k), ids in d.producers.items():
        ids = ids[active[ids]]
        cap, used = f["capacity_t"][ids].sum(), load[ids].sum()
        if used > cap * (1 + 1e-9):  # the config checks passed on the data: the firms' random origin mixes
            notes.append(f"{coms[m]} from {ctrs[k]}: the firms' drawn origin mixes contract {used / cap - 1:.1%} "
                         f"more than its capacity; capacity raised to fit")
            cap = used
        f["capacity_t"][ids] = load[ids] + (cap - used) * f["capacity_t"][ids] / f["capacity_t"][ids].sum()
    return notes
