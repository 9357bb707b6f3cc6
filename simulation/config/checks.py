"""Checks that span tables: names that must exist, shares, dates, the horizon.

Run by :func:`~simulation.config.loading.load_config` after pydantic has validated each
table; the first problem found stops with one line naming the file and the key.
"""

from __future__ import annotations

from datetime import date, timedelta

from simulation.config.errors import ConfigError, did_you_mean, rel_path, source_of
from simulation.config.schema import MAX_FIRMS, Config

SHARE_TOLERANCE = 1e-6


class _Checker:
    """The config under check, its known names, and how a problem is reported."""

    def __init__(self, cfg: Config, file: str, prov: dict):
        self.cfg, self.file, self.prov = cfg, file, prov
        w = cfg.world
        self.countries, self.commodities, self.sectors = set(w.countries), set(w.commodities), set(w.sectors)

    def fail(self, key: str, problem: str) -> None:
        src = source_of(tuple(key.replace("[", ".[").split(".")), self.prov)
        raise ConfigError(rel_path(src) if src is not None else self.file, key, problem)

    def known(self, kind: str, names: set, value: str, key: str) -> None:
        if value not in names:
            self.fail(key, f"unknown {kind} '{value}'{did_you_mean(value, sorted(names))}")


def check_config(cfg: Config, file: str, prov: dict | None = None) -> None:
    """Checks that span tables: names that must exist, shares, dates, horizon."""
    ck = _Checker(cfg, file, prov or {})
    _check_commodities_and_sectors(ck)
    for name in cfg.world.countries:
        _check_country(ck, name)
    _check_scenario_and_strategy(ck)
    _check_projects_and_ladder(ck)
    _check_responders(ck)
    _check_dates(ck)
    _check_firms(ck)
    _check_calm_balance(ck)


def _check_commodities_and_sectors(ck: _Checker) -> None:
    w = ck.cfg.world
    for c, com in w.commodities.items():
        for k in com.capacity_t_per_year:
            ck.known("country", ck.countries, k, f"world.commodities.{c}.capacity_t_per_year.{k}")
        if sum(com.capacity_t_per_year.values()) <= 0:
            ck.fail(f"world.commodities.{c}.capacity_t_per_year", "world capacity must be positive")
        for k in com.mining_share:
            ck.known("country", ck.countries, k, f"world.commodities.{c}.mining_share.{k}")
    for s, sec in w.sectors.items():
        for k in sec.criticality:
            ck.known("commodity", ck.commodities, k, f"world.sectors.{s}.criticality.{k}")


def _check_country(ck: _Checker, name: str) -> None:
    w = ck.cfg.world
    ctry = w.countries[name]
    base = f"world.countries.{name}"
    for s in ctry.sector_va_share_gdp:
        ck.known("sector", ck.sectors, s, f"{base}.sector_va_share_gdp.{s}")
    for c, cc in ctry.commodities.items():
        ck.known("commodity", ck.commodities, c, f"{base}.commodities.{c}")
        key = f"{base}.commodities.{c}.import_shares"
        for origin, share in cc.import_shares.items():
            ck.known("country", ck.countries, origin, f"{key}.{origin}")
            if share > 0 and w.commodities[c].capacity_t_per_year.get(origin, 0) <= 0:
                ck.fail(f"{key}.{origin}", f"{origin} has no {c} capacity to supply from")
        total = sum(cc.import_shares.values())
        if cc.demand_t_per_year > 0 and abs(total - 1) > SHARE_TOLERANCE:
            ck.fail(key, f"shares sum to {total:.6g}, not 1")
        if cc.demand_t_per_year > 0 and not any(
            s in ctry.sector_va_share_gdp
            and c in w.sectors[s].criticality
            for s in ctry.sector_va_share_gdp
        ):
            ck.fail(f"{base}.commodities.{c}", f"no sector of {name} uses {c}")
    if ctry.n_manufacturers > 0 and not ctry.sector_va_share_gdp:
        ck.fail(f"{base}.sector_va_share_gdp", "a country with manufacturers needs sectors")
    pol = ck.cfg.policy_of(name)
    for c in pol.stockpile_target_days_by_commodity:
        ck.known("commodity", ck.commodities, c, f"{base}.policy.stockpile_target_days_by_commodity.{c}")
    _check_priority(ck, ctry.policy.stockpile_release_priority, f"{base}.policy.stockpile_release_priority")


def _check_priority(ck: _Checker, order: list[str] | None, key: str) -> None:
    """A release priority names sectors of the world (or 'military'), each once."""
    for i, name in enumerate(order or []):
        ck.known("sector", {*ck.cfg.world.sectors, "military"}, name, f"{key}[{i}]")
        if name in order[:i]:
            ck.fail(f"{key}[{i}]", f"{name!r} is listed twice")


def _check_scenario_and_strategy(ck: _Checker) -> None:
    cfg = ck.cfg
    ck.known("country", ck.countries, cfg.scenario.target, "scenario.target")
    ck.known("country", ck.countries, cfg.scenario.coercer, "scenario.coercer")
    if cfg.scenario.target == cfg.scenario.coercer:
        ck.fail("scenario.target", "the target cannot be the coercer")
    for country, lev in cfg.strategy.levers.items():
        ck.known("country", ck.countries, country, f"strategy.levers.{country}")
        for c in lev.stockpile_target_days_by_commodity or {}:
            ck.known("commodity", ck.commodities, c,
                     f"strategy.levers.{country}.stockpile_target_days_by_commodity.{c}")
        for c in lev.dependence_ceiling_by_commodity or {}:
            ck.known("commodity", ck.commodities, c, f"strategy.levers.{country}.dependence_ceiling_by_commodity.{c}")
        _check_priority(ck, lev.stockpile_release_priority, f"strategy.levers.{country}.stockpile_release_priority")


def _check_projects_and_ladder(ck: _Checker) -> None:
    cfg = ck.cfg
    for part, keys in (("scenario", cfg.scenario.project_options), ("strategy", cfg.strategy.project_options)):
        for i, key in enumerate(keys):
            ck.known("project option", list(cfg.world.project_options), key, f"{part}.project_options[{i}]")
    placed = ([(f"world.projects[{i}]", pr) for i, pr in enumerate(cfg.world.projects)]
              + [(f"world.project_options.{k}", pr) for k, pr in cfg.world.project_options.items()]
              + [(f"strategy.projects[{i}]", pr) for i, pr in enumerate(cfg.strategy.projects)])
    for where, pr in placed:
        ck.known("commodity", ck.commodities, pr.commodity, f"{where}.commodity")
        ck.known("country", ck.countries, pr.country, f"{where}.country")
        if pr.country == cfg.scenario.coercer:
            ck.fail(f"{where}.country", "new-supply projects are outside the coercer")
    esc = cfg.escalation
    if esc.max_level is not None and esc.max_level >= len(esc.levels):
        ck.fail("escalation.max_level", f"level {esc.max_level} does not exist")
    if not esc.levels:
        ck.fail("escalation.levels", "the ladder needs at least one level (level 0 = calm)")
    for i, lvl in enumerate(esc.levels):
        for j, m in enumerate(lvl.measures):
            _check_measure(ck, m, f"escalation.levels[{i}].measures[{j}]")
    for i, m in enumerate(esc.record):
        _check_measure(ck, m, f"escalation.record[{i}]")
        if not m.announced <= m.effective:
            ck.fail(f"escalation.record[{i}].effective", f"{m.effective} is before the announcement {m.announced}")
        if m.lifted is not None and not m.effective < m.lifted:
            ck.fail(f"escalation.record[{i}].lifted", f"{m.lifted} is not after the effective date {m.effective}")


def _check_responders(ck: _Checker) -> None:
    """The responders name known countries, commodities and project options; FORGE's chair is a member, a
    hub a transit hub; China's retaliatory measures are export controls toward named countries."""
    cfg = ck.cfg
    r, countries = cfg.responders, cfg.world.countries
    us = r.us
    if us.chip_controls or us.price_floors or us.invest_options:
        ck.known("country", ck.countries, us.country, "responders.us.country")
        if us.country in (cfg.scenario.coercer,):
            ck.fail("responders.us.country", f"'{us.country}' is the coercer")
    for i, f in enumerate(us.price_floors):
        ck.known("commodity", ck.commodities, f.commodity, f"responders.us.price_floors[{i}].commodity")
    for i, key in enumerate(us.invest_options):
        ck.known("project option", list(cfg.world.project_options), key, f"responders.us.invest_options[{i}]")
        if cfg.world.project_options[key].country != us.country:
            ck.fail(f"responders.us.invest_options[{i}]", f"'{key}' is not in {us.country}")
    chair = r.forge.chair
    if chair is not None:
        ck.known("country", ck.countries, chair, "responders.forge.chair")
        if not countries[chair].forge_member:
            ck.fail("responders.forge.chair", f"'{chair}' is not a FORGE member (world.countries.{chair}.forge_member)")
    for code in r.hubs.countries:
        ck.known("country", ck.countries, code, f"responders.hubs.countries.{code}")
        if not countries[code].transit_hub:
            ck.fail(f"responders.hubs.countries.{code}", f"'{code}' is not a transit hub "
                    f"(world.countries.{code}.transit_hub)")
    for i, m in enumerate(r.retaliation.measures):
        where = f"responders.retaliation.measures[{i}]"
        _check_measure(ck, m, where)
        if m.kind != "export_control" or not isinstance(m.destinations, list):
            ck.fail(where, "China retaliates with an export control toward named countries (destinations = [...])")


def _check_measure(ck: _Checker, m, where: str) -> None:
    """An export control or a secondary boycott lists its commodities; an export control's
    destinations are known countries other than the coercer."""
    if m.kind in ("export_control", "secondary_boycott"):
        if not m.commodities:
            ck.fail(f"{where}.commodities", f"a {m.kind} lists the commodities it covers (not empty)")
        for c in m.commodities:
            ck.known("commodity", ck.commodities, c, f"{where}.commodities")
    elif m.commodities is not None:
        ck.fail(f"{where}.commodities", f"a {m.kind} covers no commodities")
    quota = m.kind == "export_control" and m.instrument == "quota"
    if quota and m.destinations != "all":
        ck.fail(f"{where}.destinations", "a quota caps China's exports to all destinations: use \"all\"")
    if quota and sorted(m.quota_t_per_year) != sorted(m.commodities or []):
        ck.fail(f"{where}.quota_t_per_year", "a quota gives a yearly ceiling for each of its commodities, "
                "and for no other")
    if m.quota_t_per_year and not quota:
        ck.fail(f"{where}.quota_t_per_year", "only an export_control with instrument = \"quota\" has quotas")
    if isinstance(m.destinations, list):
        if m.kind != "export_control":
            ck.fail(f"{where}.destinations", "only an export_control names destinations")
        if not m.destinations:
            ck.fail(f"{where}.destinations", "an empty list of destinations (use \"target\", \"all\" or country codes)")
        for d in m.destinations:
            ck.known("country", ck.countries, d, f"{where}.destinations")
            if d == ck.cfg.scenario.coercer:
                ck.fail(f"{where}.destinations", f"'{d}' is the coercer")


def _check_dates(ck: _Checker) -> None:
    cfg = ck.cfg
    esc = cfg.escalation
    start = cfg.scenario.start_date
    if (date.max - start).days < 7 * cfg.scenario.horizon_weeks:
        ck.fail("scenario.start_date", f"{start} + {cfg.scenario.horizon_weeks} weeks runs past the calendar's "
                f"last day ({date.max})")
    end = cfg.date_of(cfg.scenario.horizon_weeks) - timedelta(days=1)
    history = cfg.scenario.history_from
    if history is not None and not cfg.history_steps >= 1:
        ck.fail("scenario.history_from", f"{history} must be at least a week before the start {start}")
    last = None
    for i, ev in enumerate(esc.script):
        if not start <= ev.date <= end:
            ck.fail(f"escalation.script[{i}].date", f"{ev.date} is outside the horizon ({start} to {end})")
        if ev.level >= len(esc.levels):
            top = len(esc.levels) - 1
            ck.fail(f"escalation.script[{i}].level", f"level {ev.level} does not exist (ladder has 0-{top})")
        if last is not None and ev.date < last:
            ck.fail(f"escalation.script[{i}].date", "script dates must be in order")
        if ev.effective_date is not None and not ev.date <= ev.effective_date <= end:
            ck.fail(f"escalation.script[{i}].effective_date", f"{ev.effective_date} must lie between the "
                    f"announcement {ev.date} and the horizon's end {end}")
        nxt = esc.script[i + 1] if i + 1 < len(esc.script) else None
        if nxt is not None and (ev.effective_date or ev.date) > (nxt.effective_date or nxt.date):
            ck.fail(f"escalation.script[{i}].effective_date", "moves must take effect in the order of the script")
        last = ev.date
    for name in cfg.world.countries:
        d = cfg.policy_of(name).stockpile_target_date
        if d is not None and d < start:
            ck.fail(f"world.countries.{name}.policy.stockpile_target_date", f"{d} is before the start {start}")
    if cfg.run.steps is not None and cfg.run.steps > cfg.scenario.horizon_weeks:
        ck.fail("run.steps", f"{cfg.run.steps} weeks exceed the horizon of {cfg.scenario.horizon_weeks}")


def _count(x: float) -> float:
    """``round(x)`` as the population draws it, without overflowing on a huge ``x``."""
    return float(round(x)) if x < 1e18 else x


def _check_firms(ck: _Checker) -> None:
    """The firm population ``firms.scale`` draws is neither empty where there is demand nor
    larger than :data:`~simulation.config.schema.MAX_FIRMS` (the counts of ``population``)."""
    w = ck.cfg.world
    scale = w.firms.scale
    for name, ctry in w.countries.items():
        used = [c for c, cc in ctry.commodities.items() if cc.demand_t_per_year > 0]
        if used and _count(scale * ctry.n_manufacturers) == 0:
            key = "world.firms.scale" if ctry.n_manufacturers else f"world.countries.{name}.n_manufacturers"
            ck.fail(key, f"{name} uses {used[0]} but would have no manufacturers "
                    f"(firms.scale {scale:g} x n_manufacturers {ctry.n_manufacturers} rounds to 0)")
    n = sum(_count(scale * ctry.n_manufacturers) for ctry in w.countries.values())
    n += sum(_count(scale * c.n_traders_per_commodity) * len(w.commodities) for c in w.countries.values()
             if c.transit_hub)
    for com in w.commodities.values():
        world_cap = sum(com.capacity_t_per_year.values())
        n += sum(max(1.0, _count(scale * w.firms.producers_per_commodity * (cap / world_cap)))
                 for cap in com.capacity_t_per_year.values() if cap > 0)
    if n > MAX_FIRMS:
        size = f"{n:,.0f}" if n < 1e12 else f"{n:.3g}"
        ck.fail("world.firms.scale", f"the world would draw about {size} firms, more than the {MAX_FIRMS:,} "
                "allowed (lower firms.scale or the firm counts)")


def _check_calm_balance(ck: _Checker) -> None:
    """The calm can be balanced (see ``population._balance``), by the countries' demand net of
    recycling and their import shares: with ``world.market.calm_balance = "error"``, no origin
    outside China is contracted beyond ``calm_utilization_max_share`` of its capacity; with
    ``"rescale"``, China can take the excess over it (it makes the commodity, and its own
    contracts and the excess fit its capacity)."""
    w, coercer = ck.cfg.world, ck.cfg.scenario.coercer
    u_max = w.market.calm_utilization_max_share
    for c, com in w.commodities.items():
        load: dict[str, float] = {}
        for ctry in w.countries.values():
            cc = ctry.commodities.get(c)
            if cc is not None:
                for k, share in cc.import_shares.items():
                    load[k] = load.get(k, 0.0) + cc.demand_t_per_year * (1 - cc.recycled_share) * share
        excess = 0.0
        for k, used in load.items():
            cap = com.capacity_t_per_year.get(k, 0.0)
            if k == coercer or used <= u_max * cap * (1 + 1e-9):
                continue
            if w.market.calm_balance == "error":
                ck.fail(f"world.commodities.{c}.capacity_t_per_year.{k}",
                        f"the import shares contract {used:.4g} t/yr from {k}, more than {u_max:g} x its "
                        f"capacity {cap:.4g} t/yr (world.market.calm_balance = 'error')")
            excess += used - u_max * cap
            if com.capacity_t_per_year.get(coercer, 0.0) <= 0:
                ck.fail(f"world.commodities.{c}.capacity_t_per_year.{k}",
                        f"the import shares contract {used:.4g} t/yr from {k}, more than {u_max:g} x its capacity "
                        f"{cap:.4g} t/yr, and {coercer} makes no {c} to take the excess")
        cn_cap, cn_load = com.capacity_t_per_year.get(coercer, 0.0), load.get(coercer, 0.0) + excess
        if cn_load > cn_cap * (1 + 1e-9) and (cn_cap > 0 or cn_load > 0):
            ck.fail(f"world.commodities.{c}.capacity_t_per_year.{coercer}",
                    f"calm contracts on {coercer} ({cn_load:.4g} t/yr, with the excess other origins cannot make) "
                    f"exceed its capacity {cn_cap:.4g} t/yr")
