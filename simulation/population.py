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

PRODUCER, TRADER, MANUFACTURER = 0, 1, 2
FIRM_KINDS = ("producer", "trader", "manufacturer")
POS_MANUFACTURER, POS_STOCKPILE, POS_TRADER = 0, 1, 2


@dataclass
class Economy:
    """Names, index maps and the arrays of firms, positions and edges."""

    countries: list[str]
    commodities: list[str]
    sectors: list[str]
    coercer: int
    target: int
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
    pos_military: np.ndarray = field(repr=False)
    # edges
    edge_pos: np.ndarray = field(repr=False)
    edge_supplier: np.ndarray = field(repr=False)  # firm index
    edge_share: np.ndarray = field(repr=False)
    edge_lead: np.ndarray = field(repr=False)
    edge_origin: np.ndarray = field(repr=False)
    edge_via_trader: np.ndarray = field(repr=False)

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


def build_economy(cfg: Config, rng: np.random.Generator) -> Economy:
    """Draw firms, positions and edges from the config's world.

    Args:
        cfg: the validated config.
        rng: the ``init`` random stream.

    Returns:
        The :class:`Economy` arrays.
    """
    w = cfg.world
    countries = list(w.countries)
    commodities = list(w.commodities)
    sectors = list(w.sectors)
    ci = {c: i for i, c in enumerate(countries)}
    mi = {c: i for i, c in enumerate(commodities)}
    si = {s: i for i, s in enumerate(sectors)}
    scale = w.firms.scale

    f_kind, f_country, f_com, f_sector, f_size, f_mil, f_cap, f_va, f_origin = ([] for _ in range(9))

    def add_firms(n, kind, country, com, sector, size, mil, cap, va, origin):
        f_kind.append(np.full(n, kind, np.int8))
        f_country.append(np.full(n, country, np.int16))
        f_com.append(np.full(n, com, np.int16))
        f_sector.append(np.full(n, sector, np.int16))
        f_size.append(size)
        f_mil.append(mil)
        f_cap.append(cap)
        f_va.append(va)
        f_origin.append(np.full(n, origin, np.int16))

    n_so_far = 0
    producers: dict[tuple[int, int], np.ndarray] = {}  # (commodity, country) -> firm ids
    producer_cap: dict[tuple[int, int], np.ndarray] = {}
    for c, com in w.commodities.items():
        caps = {k: v for k, v in com.capacity_t_per_year.items() if v > 0}
        world_cap = sum(caps.values())
        for k, cap in caps.items():
            n = max(1, round(scale * w.firms.producers_per_commodity * cap / world_cap))
            size = _sizes(rng, n, w.firms.size_sigma)
            add_firms(n, PRODUCER, ci[k], mi[c], -1, size, np.zeros(n, bool), cap / 52.0 * size,
                      np.zeros(n), ci[k])
            producers[(mi[c], ci[k])] = np.arange(n_so_far, n_so_far + n)
            producer_cap[(mi[c], ci[k])] = cap * size
            n_so_far += n

    coercer = ci[cfg.scenario.coercer]
    traders: dict[int, np.ndarray] = {}  # commodity -> trader firm ids (Chinese origin)
    for k, ctry in w.countries.items():
        if not ctry.transit_hub or ctry.n_traders_per_commodity == 0:
            continue
        for c in commodities:
            if (mi[c], coercer) not in producers:
                continue
            n = max(1, round(scale * ctry.n_traders_per_commodity))
            add_firms(n, TRADER, ci[k], mi[c], -1, _sizes(rng, n, w.firms.size_sigma),
                      np.zeros(n, bool), np.zeros(n), np.zeros(n), coercer)
            ids = np.arange(n_so_far, n_so_far + n)
            traders[mi[c]] = np.concatenate([traders.get(mi[c], np.zeros(0, int)), ids])
            n_so_far += n

    manuf_of: dict[tuple[int, int], np.ndarray] = {}  # (country, sector) -> firm ids
    for k, ctry in w.countries.items():
        m = round(scale * ctry.n_manufacturers)
        if m == 0 or not ctry.sector_va_share_gdp:
            continue
        for s, n in _counts(m, ctry.sector_va_share_gdp).items():
            size = _sizes(rng, n, w.firms.size_sigma)
            va = ctry.gdp_lcu_per_year * ctry.sector_va_share_gdp[s] / 52.0 * size
            mil = rng.random(n) < w.firms.military_share
            add_firms(n, MANUFACTURER, ci[k], -1, si[s], size, mil, np.zeros(n), va, -1)
            manuf_of[(ci[k], si[s])] = np.arange(n_so_far, n_so_far + n)
            n_so_far += n

    # dormant producers, appended without random draws so that strategies that add
    # projects leave every other draw unchanged (common random numbers)
    f_project = [np.full(n_so_far, -1, np.int64)]
    f_invest = [np.zeros(n_so_far, bool)]
    for j, pr in enumerate(cfg.projects):
        add_firms(1, PRODUCER, ci[pr.country], mi[pr.commodity], -1, np.ones(1), np.zeros(1, bool),
                  np.array([pr.capacity_t_per_year / 52.0]), np.zeros(1), ci[pr.country])
        f_project.append(np.array([j]))
        f_invest.append(np.zeros(1, bool))
    inv = w.investment
    for c, com in w.commodities.items():
        others = {k: v for k, v in com.capacity_t_per_year.items() if v > 0 and ci[k] != coercer}
        members = {k: v for k, v in others.items() if w.countries[k].forge_member}
        hosts = members or others
        world_cap = sum(com.capacity_t_per_year.values())
        for k, cap in hosts.items():
            share = cap / sum(hosts.values())
            add_firms(1, PRODUCER, ci[k], mi[c], -1, np.ones(1), np.zeros(1, bool),
                      np.array([inv.max_share * world_cap * share / 52.0]), np.zeros(1), ci[k])
            f_project.append(np.array([-1]))
            f_invest.append(np.ones(1, bool))

    cat = np.concatenate
    firm_project, firm_invest = cat(f_project), cat(f_invest)
    firm_kind, firm_country, firm_com = cat(f_kind), cat(f_country), cat(f_com)
    firm_sector, firm_size, firm_mil = cat(f_sector), cat(f_size), cat(f_mil)
    firm_cap, firm_va, firm_origin = cat(f_cap), cat(f_va), cat(f_origin)

    # ---- positions: manufacturers' inputs (grouped by firm), then stockpiles, then traders
    p_firm, p_country, p_com, p_use, p_crit, p_days, p_kind = ([] for _ in range(7))
    for k, ctry in w.countries.items():
        for c, cc in ctry.commodities.items():
            if cc.demand_t_per_year <= 0:
                continue
            users = [s for s in ctry.sector_va_share_gdp
                     if c in w.sectors[s].criticality and (ci[k], si[s]) in manuf_of]
            va = np.array([ctry.sector_va_share_gdp[s] for s in users])
            if not users or va.sum() <= 0:
                continue
            for s, wt in zip(users, va / va.sum(), strict=True):
                ids = manuf_of[(ci[k], si[s])]
                n = len(ids)
                p_firm.append(ids)
                p_country.append(np.full(n, ci[k]))
                p_com.append(np.full(n, mi[c]))
                p_use.append(cc.demand_t_per_year / 52.0 * wt * firm_size[ids])
                p_crit.append(np.full(n, w.sectors[s].criticality[c]))
                noise = rng.lognormal(0.0, w.firms.inventory_days_sigma, n) if n else np.zeros(0)
                p_days.append(cc.inventory_days * w.firms.inventory_days_scale * noise)
                p_kind.append(np.full(n, POS_MANUFACTURER))
    if p_firm:
        firm_ids = cat(p_firm)
        order = np.argsort(firm_ids, kind="stable")  # group each manufacturer's inputs
        pm = [cat(a)[order] for a in (p_firm, p_country, p_com, p_use, p_crit, p_days, p_kind)]
    else:
        pm = [np.zeros(0) for _ in range(7)]
    n_manuf_pos = len(pm[0])

    stock_rows = []
    for k, ctry in w.countries.items():
        if ci[k] == coercer:
            continue
        for c, cc in ctry.commodities.items():
            if cc.demand_t_per_year > 0:
                stock_rows.append((ci[k], mi[c], cc.stockpile_days * cc.demand_t_per_year / 365.0))
    trader_ids = np.flatnonzero(firm_kind == TRADER)

    n_st, n_tr = len(stock_rows), len(trader_ids)
    pos_kind = cat([pm[6].astype(np.int8), np.full(n_st, POS_STOCKPILE, np.int8),
                    np.full(n_tr, POS_TRADER, np.int8)])
    pos_firm = cat([pm[0].astype(np.int64), np.full(n_st, -1), trader_ids]).astype(np.int64)
    pos_country = cat([pm[1], [r[0] for r in stock_rows], firm_country[trader_ids]]).astype(np.int16)
    pos_com = cat([pm[2], [r[1] for r in stock_rows], firm_com[trader_ids]]).astype(np.int16)
    pos_use = cat([pm[3], np.zeros(n_st + n_tr)]).astype(float)
    pos_crit = cat([pm[4], np.zeros(n_st + n_tr)]).astype(float)
    pos_days = cat([pm[5], np.zeros(n_st + n_tr)]).astype(float)
    pos_inv = cat([pm[3] * pm[5] / 7.0, [r[2] for r in stock_rows], np.zeros(n_tr)]).astype(float)
    pos_mil = cat([firm_mil[pm[0].astype(np.int64)] if n_manuf_pos else np.zeros(0, bool),
                   np.zeros(n_st + n_tr, bool)])

    firm_pos_start = np.full(len(firm_kind), -1, np.int64)
    firm_pos_end = np.full(len(firm_kind), -1, np.int64)
    if n_manuf_pos:
        owners = pm[0].astype(np.int64)
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        ends = np.r_[starts[1:], n_manuf_pos]
        firm_pos_start[owners[starts]] = starts
        firm_pos_end[owners[starts]] = ends

    # ---- edges
    e_pos, e_sup, e_share, e_lead, e_origin, e_via = ([] for _ in range(6))
    lead, hub_extra = w.market.lead_weeks, w.market.hub_extra_lead_weeks

    def pick(key: tuple[int, int], n: int) -> np.ndarray:
        ids, cap = producers[key], producer_cap[key]
        cum = np.cumsum(cap) / cap.sum()
        return ids[np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(ids) - 1)]

    # buyer positions grouped by (country, commodity), ascending within each group
    group = pos_country.astype(np.int64) * len(commodities) + pos_com
    buyers = np.flatnonzero(pos_kind != POS_TRADER)
    by_group = buyers[np.argsort(group[buyers], kind="stable")]
    bounds = np.searchsorted(group[by_group], np.arange(len(countries) * len(commodities) + 1))
    for k, ctry in w.countries.items():
        for c, cc in ctry.commodities.items():
            g = ci[k] * len(commodities) + mi[c]
            sel = by_group[bounds[g]:bounds[g + 1]]
            if len(sel) == 0:
                continue
            origins = [o for o, s in cc.import_shares.items() if s > 0]
            base = np.array([cc.import_shares[o] for o in origins])
            is_stock = pos_kind[sel] == POS_STOCKPILE
            draws = rng.gamma(w.firms.sourcing_concentration * base, size=(len(sel), len(origins)))
            draws[is_stock] = base
            shares = draws / draws.sum(axis=1, keepdims=True)
            shares[shares < w.firms.min_edge_share] = 0.0
            shares[shares.sum(axis=1) == 0, int(np.argmax(base))] = 1.0
            shares /= shares.sum(axis=1, keepdims=True)
            for j, o in enumerate(origins):
                has = shares[:, j] > 0
                rows = sel[has]
                sh = shares[has, j]
                n = len(rows)
                if n == 0:
                    continue
                org = ci[o]
                hub = cc.via_hub_share if (org == coercer and mi[c] in traders) else 0.0
                e_lead_o = 1 if org == ci[k] else lead
                if hub > 0:
                    tr = traders[mi[c]]
                    tr = tr[firm_country[tr] != ci[k]]
                    hub = hub if len(tr) else 0.0
                if hub > 0:
                    e_pos.append(rows)
                    e_sup.append(tr[rng.integers(0, len(tr), n)])
                    e_share.append(sh * hub)
                    e_lead.append(np.full(n, lead + hub_extra))
                    e_origin.append(np.full(n, org))
                    e_via.append(np.ones(n, bool))
                e_pos.append(rows)
                e_sup.append(pick((mi[c], org), n))
                e_share.append(sh * (1 - hub))
                e_lead.append(np.full(n, e_lead_o))
                e_origin.append(np.full(n, org))
                e_via.append(np.zeros(n, bool))
    # a latent alternative: a buyer with no non-Chinese supplier knows one (share 0), so it
    # can diversify later. Picked by capacity, without random draws.
    has_alt = np.zeros(len(pos_kind), bool)
    for rows, org in zip(e_pos, e_origin, strict=True):
        has_alt[rows[org != coercer]] = True
    need = np.flatnonzero(~has_alt & (pos_kind != POS_TRADER))
    for m in np.unique(pos_com[need]):
        keys = [key for key in producers if key[0] == m and key[1] != coercer]
        if not keys:
            continue
        best = max(keys, key=lambda key: producer_cap[key].sum())
        firm = producers[best][int(np.argmax(producer_cap[best]))]
        rows = need[pos_com[need] == m]
        n = len(rows)
        e_pos.append(rows)
        e_sup.append(np.full(n, firm))
        e_share.append(np.zeros(n))
        e_lead.append(np.where(pos_country[rows] == best[1], 1, lead))
        e_origin.append(np.full(n, best[1]))
        e_via.append(np.zeros(n, bool))

    # traders buy from two producers of their origin
    tr_pos = np.flatnonzero(pos_kind == POS_TRADER)
    for _ in range(2):
        if len(tr_pos) == 0:
            break
        f = pos_firm[tr_pos]
        sup = np.empty(len(tr_pos), np.int64)
        for m in np.unique(firm_com[f]):
            sel = firm_com[f] == m
            sup[sel] = pick((int(m), coercer), int(sel.sum()))
        e_pos.append(tr_pos)
        e_sup.append(sup)
        e_share.append(np.full(len(tr_pos), 0.5))
        e_lead.append(np.full(len(tr_pos), 1))
        e_origin.append(np.full(len(tr_pos), coercer))
        e_via.append(np.zeros(len(tr_pos), bool))

    edge_pos = cat(e_pos).astype(np.int64)
    order = np.argsort(edge_pos, kind="stable")
    edge_pos = edge_pos[order]
    edge_sup = cat(e_sup).astype(np.int64)[order]
    edge_share = cat(e_share).astype(float)[order]
    edge_lead = cat(e_lead).astype(np.int64)[order]
    edge_origin = cat(e_origin).astype(np.int16)[order]
    edge_via = cat(e_via)[order]
    n_pos = len(pos_kind)
    pos_lead = np.bincount(edge_pos, edge_share * edge_lead, minlength=n_pos)

    return Economy(
        countries=countries, commodities=commodities, sectors=sectors,
        coercer=coercer, target=ci[cfg.scenario.target],
        firm_kind=firm_kind, firm_country=firm_country, firm_commodity=firm_com,
        firm_sector=firm_sector, firm_size=firm_size, firm_military=firm_mil,
        firm_capacity_t=firm_cap, firm_va_week=firm_va, firm_origin=firm_origin,
        firm_pos_start=firm_pos_start, firm_pos_end=firm_pos_end,
        firm_project=firm_project, firm_invest=firm_invest,
        pos_kind=pos_kind, pos_firm=pos_firm, pos_country=pos_country, pos_commodity=pos_com,
        pos_base_use_t=pos_use, pos_criticality=pos_crit, pos_target_days=pos_days,
        pos_lead_weeks=pos_lead, pos_inventory_t=pos_inv, pos_military=pos_mil,
        edge_pos=edge_pos, edge_supplier=edge_sup, edge_share=edge_share, edge_lead=edge_lead,
        edge_origin=edge_origin, edge_via_trader=edge_via,
    )
