"""Diversification and re-dependence: firms re-source after disruption, drift back in calm.

For every buyer position, ``cn`` is the China-origin share of its sourcing (direct and via
traders). Each week:

1. **Memory of disruption** ``mem`` (time constant ``memory_weeks``) follows the week's
   disruption signal: the share of its orders on closed Chinese edges, or the share of its
   order that was not shipped, whichever is larger.
2. **Shift away**: a disrupted position moves ``shift_share_per_week * mem * cn`` of its
   sourcing from Chinese to non-Chinese suppliers.
3. **Policy**: where a ceiling applies (the state's dependence ceiling on that commodity,
   tightening linearly to its level by ``dependence_ceiling_date``; or
   ``1 - forge_offtake_share`` held with FORGE-member origins; or the diversification target a
   state adopted after a crisis, ``signals.diversification_ceiling``), ``ceiling_share_per_week``
   of the excess over it is moved too.
4. **Capacity limit**: moves toward non-Chinese suppliers are scaled down, per commodity,
   to the non-Chinese capacity left unordered (contracts and lead times bind).
5. **Drift back in calm**: a position undisrupted (signal at most ``calm_signal_share``) for ``calm_weeks`` closes
   ``drift_share_per_week`` of its gap back to its calm (cheapest) Chinese share, slowed by
   a tax incentive (``diversification_subsidy_share``) and, for FORGE members, by the FORGE
   tariff eating into China's price edge (``world.forge.tariff_share``, or the coalition's
   ``signals.forge_tariff_share`` once it decides one); never above its ceiling.

The strategy's cost (USD) is the premium of non-Chinese over Chinese prices on the
sourcing moved away from China: the state's subsidized share under a tax incentive, all
of it (paid by firms) under a dependence ceiling. For FORGE members' manufacturers the
Chinese price is landed: times (1 + the coalition's tariff, ``signals.forge_tariff_share``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from simulation.kernels import implementation, kernel, maximum, minimum
from simulation.mechanisms.base import Context, Mechanism, SettledPath, ceiling_path, position_ceilings
from simulation.population import POS_MANUFACTURER, POS_TRADER, PRODUCER


class DiversificationFixed(NamedTuple):
    """What the diversification kernel reads that never changes."""

    buyer: np.ndarray  # per position: not a trader
    key: np.ndarray  # per edge: its index into the sums (see :func:`_rescale_kernel`)
    alt_edges: np.ndarray  # the buyers' non-Chinese edges, grouped by position
    alt_start: np.ndarray  # each position's first place in ``alt_edges`` (n_pos + 1)
    com: np.ndarray  # per position: its commodity
    n_com: int
    noncn: np.ndarray  # producers outside China
    noncn_com: np.ndarray  # their commodity
    firm_capacity_t: np.ndarray  # per firm, t/week
    base_cn: np.ndarray  # per position: the calm Chinese share
    drift_rate: np.ndarray  # per position: the share of the gap closed a week in calm
    paying: np.ndarray  # positions whose premium costs the state something
    payer: np.ndarray  # the state's share of their premium
    country: np.ndarray  # per position
    memory_weeks: float
    shift_rate: float  # shift_share_per_week
    ceiling_rate: float  # ceiling_share_per_week
    calm_weeks: int
    calm_signal: float  # a disruption signal above this resets the calm counter
    cn_markup: np.ndarray  # per position: its landed Chinese price over China's (1 + FORGE's tariff for members' firms)


class DiversificationMemory(NamedTuple):
    """Per position, carried from week to week."""

    mem: np.ndarray  # memory of disruption
    calm_for: np.ndarray  # weeks without disruption
    sums: np.ndarray  # per position, the sums of its edge shares: non-Chinese, then Chinese (and a spare slot)
    summed: np.ndarray  # [whether ``sums`` holds them]: diversification alone writes the edge shares, so the
    # sums its rescaling leaves one week are the next week's, to the last bit


class SourcingWeek(NamedTuple):
    """The week's state the diversification kernel reads (and the arrays it updates)."""

    desired: np.ndarray
    shipped: np.ndarray
    blocked_share: np.ndarray
    edge_share: np.ndarray  # updated: the new sourcing shares
    ceiling: np.ndarray  # per position, the ceiling in force (1 where none)
    capacity_factor: np.ndarray
    price: np.ndarray
    price_cn: np.ndarray
    policy_cost: np.ndarray  # updated: the premium cost added, USD


@kernel
def _rescale_kernel(share, fx, sums, new_cn):
    """Rescale the Chinese and non-Chinese edges of each position from their sums (``sums``:
    non-Chinese by position, then Chinese; ``fx.key`` is an edge's index into it, ``2 * n_pos``
    for an edge left as it is) to the new split ``new_cn``; a position with latent
    alternatives only (no share yet) shares its non-Chinese part equally among them. ``sums``
    is updated to the new shares' sums (in edge order, as :func:`_sum_edges` adds) in the same
    pass."""
    key, alt_edges, alt_start = fx.key, fx.alt_edges, fx.alt_start
    n_pos = len(new_cn)
    factor = np.empty(2 * n_pos + 1)
    # no non-Chinese share yet, but latent alternatives; where the new Chinese share is 1 their even share
    # is 0, as the rescaling leaves them (0 times 0: shares are never negative, nor -0.0), and so is their sum
    latent = np.empty(n_pos, np.bool_)
    for i in range(n_pos):
        cn, alt, nc = sums[n_pos + i], sums[i], new_cn[i]
        factor[n_pos + i] = nc / cn if cn > 0.0 else 0.0
        factor[i] = (1.0 - nc) / alt if alt > 0.0 else 0.0
        latent[i] = alt <= 0.0 and alt_start[i + 1] > alt_start[i] and nc != 1.0
    factor[2 * n_pos] = 1.0
    sums[:] = 0.0
    for k in range(len(share)):
        j = key[k]
        v = share[k] * factor[j]
        share[k] = v
        sums[j] += v
    for i in range(n_pos):
        if latent[i]:
            even = (1.0 - new_cn[i]) / (alt_start[i + 1] - alt_start[i])
            total = 0.0
            for j in range(alt_start[i], alt_start[i + 1]):
                share[alt_edges[j]] = even
                total += even
            sums[i] = total


@kernel
def _sum_edges(share, key, sums):
    """Each position's non-Chinese and Chinese sums, keyed as in :func:`_rescale_kernel`, in edge order."""
    sums[:] = 0.0
    for k in range(len(share)):
        sums[key[k]] += share[k]


@kernel
def _remember_kernel(fx, memory, wk):
    """The week's disruption signal per position, into the memory and the calm counter, in place."""
    desired, shipped, blocked_share, buyer = wk.desired, wk.shipped, wk.blocked_share, fx.buyer
    mem, calm_for = memory.mem, memory.calm_for
    n_pos = len(desired)
    signal = np.empty(n_pos)
    for i in range(n_pos):
        d = desired[i]
        shortfall = maximum(d - shipped[i], 0.0) / d if d > 1e-12 else 0.0
        signal[i] = maximum(blocked_share[i], shortfall) if buyer[i] else 0.0
    for i in range(n_pos):
        mem[i] += (signal[i] - mem[i]) / fx.memory_weeks
    for i in range(n_pos):
        calm_for[i] = 0 if signal[i] > fx.calm_signal else calm_for[i] + 1


@kernel
def _moves_kernel(fx, memory, wk, cn):
    """The shares moved away from China (shift and ceiling excess) and back (drift in calm)."""
    ceiling, mem, calm_for, base_cn, drift_rate = wk.ceiling, memory.mem, memory.calm_for, fx.base_cn, fx.drift_rate
    n_pos = len(cn)
    away = np.empty(n_pos)
    back = np.empty(n_pos)
    for i in range(n_pos):
        excess = cn[i] - ceiling[i]
        a = fx.shift_rate * mem[i] * cn[i]
        a = a + excess * fx.ceiling_rate if excess > 0.0 else a
        away[i] = minimum(a, cn[i])
        # drift back toward the calm (cheapest) share, never above the ceiling (no room left)
        room = 0.0 if excess > 0.0 else ceiling[i] - cn[i]
        b = maximum(base_cn[i] - cn[i], 0.0) * drift_rate[i] * (1.0 if calm_for[i] >= fx.calm_weeks else 0.0)
        back[i] = minimum(b, room)
    return away, back


@kernel
def _capacity_kernel(fx, wk, cn, away):
    """Scale ``away`` down, per commodity, to the non-Chinese capacity left unordered, in place.

    The tonnes wanted away and the buyers' non-Chinese orders are summed in one pass (two
    independent sums, each in position order); the orders count only where some are wanted.
    Where every scale is 1, ``away`` is left as it is (a product by 1.0 changes no bit)."""
    com, n_com, buyer, desired = fx.com, fx.n_com, fx.buyer, wk.desired
    noncn, noncn_com, firm_capacity_t, capacity_factor = fx.noncn, fx.noncn_com, fx.firm_capacity_t, wk.capacity_factor
    n_pos = len(cn)
    wanted = np.zeros(n_com)
    ordered = np.zeros(n_com)  # non-Chinese orders
    for i in range(n_pos):
        c, d = com[i], desired[i]
        wanted[c] += away[i] * d
        if buyer[i]:
            ordered[c] += d * (1 - cn[i])
    if np.any(wanted > 1e-12):
        capacity = np.zeros(n_com)
        for j in range(len(noncn)):
            capacity[noncn_com[j]] += firm_capacity_t[noncn[j]] * capacity_factor[noncn[j]]
        scale = np.ones(n_com)
        scaled = False
        for c in range(n_com):
            if wanted[c] > 1e-12:
                scale[c] = minimum(1.0, maximum(capacity[c] - ordered[c], 0.0) / wanted[c])
                scaled = scaled or scale[c] != 1.0
        if scaled:
            for i in range(n_pos):
                away[i] *= scale[com[i]]


@kernel
def _premium_kernel(fx, wk, new_cn):
    """The state's share of the premium on sourcing moved away from China, added to ``policy_cost``."""
    paying, payer, base_cn, com, country = fx.paying, fx.payer, fx.base_cn, fx.com, fx.country
    shipped, price, price_cn, policy_cost = wk.shipped, wk.price, wk.price_cn, wk.policy_cost
    cost = np.zeros(len(policy_cost))
    for j in range(len(paying)):
        i = paying[j]
        moved = maximum(base_cn[i] - new_cn[i], 0.0) * shipped[i]
        cost[country[i]] += payer[j] * moved * maximum(price[com[i]] - price_cn[com[i]] * fx.cn_markup[i], 0.0)
    for c in range(len(policy_cost)):
        policy_cost[c] += cost[c]


@kernel
def _diversification_kernel(fx, memory, wk):
    """One week: memory and calm counter, moves away (shift and ceiling excess, scaled to the
    non-Chinese capacity left per commodity), drift back, the new Chinese share, the edge shares
    rescaled to it from the non-Chinese and Chinese sums of each position (``memory.sums``, keyed
    as in :func:`_rescale_kernel`: summed in the first week, then kept by the rescaling), and the
    premium cost of the ``paying`` positions added to ``policy_cost``
    (:func:`diversification_reference` in numpy).

    Short loops, each simple enough for the compiler to vectorize."""
    share, sums = wk.edge_share, memory.sums
    n_pos = len(wk.desired)
    if not memory.summed[0]:
        _sum_edges(share, fx.key, sums)
        memory.summed[0] = True
    cn = sums[n_pos:2 * n_pos]
    _remember_kernel(fx, memory, wk)
    away, back = _moves_kernel(fx, memory, wk, cn)
    _capacity_kernel(fx, wk, cn, away)
    new_cn = np.empty(n_pos)
    for i in range(n_pos):
        new_cn[i] = minimum(maximum(cn[i] - away[i] + back[i], 0.0), 1.0)
    _premium_kernel(fx, wk, new_cn)
    _rescale_kernel(share, fx, sums, new_cn)


def diversification_reference(fx: DiversificationFixed, memory: DiversificationMemory, wk: SourcingWeek) -> None:
    """:func:`_diversification_kernel` in numpy."""
    n_pos, n_com, com, buyer, d = len(wk.desired), fx.n_com, fx.com, fx.buyer, wk.desired
    mem, calm_for, share, policy_cost = memory.mem, memory.calm_for, wk.edge_share, wk.policy_cost
    sums = np.bincount(fx.key, share, minlength=2 * n_pos + 1)
    cn = sums[n_pos:2 * n_pos]
    # memory of disruption and calm counter
    shortfall = np.divide(np.maximum(d - wk.shipped, 0.0), d, out=np.zeros(n_pos), where=d > 1e-12)
    signal = np.where(buyer, np.maximum(wk.blocked_share, shortfall), 0.0)
    mem += (signal - mem) / fx.memory_weeks
    calm_for[:] = np.where(signal > fx.calm_signal, 0, calm_for + 1)
    # moves away (shift, ceiling excess) and back (drift in calm, never above the ceiling)
    excess = cn - wk.ceiling
    a = fx.shift_rate * mem * cn
    away = np.minimum(np.where(excess > 0.0, a + excess * fx.ceiling_rate, a), cn)
    room = np.where(excess > 0.0, 0.0, wk.ceiling - cn)
    calm = np.where(calm_for >= fx.calm_weeks, 1.0, 0.0)
    back = np.minimum(np.maximum(fx.base_cn - cn, 0.0) * fx.drift_rate * calm, room)
    # moves away scaled to the non-Chinese capacity left unordered, per commodity
    wanted = np.bincount(com, away * d, minlength=n_com)
    if np.any(wanted > 1e-12):
        capacity = np.bincount(fx.noncn_com, fx.firm_capacity_t[fx.noncn] * wk.capacity_factor[fx.noncn],
                               minlength=n_com)
        ordered = np.bincount(com[buyer], d[buyer] * (1 - cn[buyer]), minlength=n_com)
        w = wanted > 1e-12
        scale = np.ones(n_com)
        scale[w] = np.minimum(1.0, np.maximum(capacity[w] - ordered[w], 0.0) / wanted[w])
        away = away * scale[com]
    new_cn = np.minimum(np.maximum(cn - away + back, 0.0), 1.0)
    # the premium cost
    i, c = fx.paying, com[fx.paying]
    moved = np.maximum(fx.base_cn[i] - new_cn[i], 0.0) * wk.shipped[i]
    premium = np.maximum(wk.price[c] - wk.price_cn[c] * fx.cn_markup[i], 0.0)
    policy_cost += np.bincount(fx.country[i], fx.payer * moved * premium, minlength=len(policy_cost))
    # the edge shares rescaled to the new split; latent alternatives only: equal shares
    alt = sums[:n_pos]
    factor = np.concatenate([np.divide(1.0 - new_cn, alt, out=np.zeros(n_pos), where=alt > 0.0),
                             np.divide(new_cn, cn, out=np.zeros(n_pos), where=cn > 0.0), [1.0]])
    share *= factor[fx.key]
    n_alt = np.diff(fx.alt_start)
    alt_pos = np.repeat(np.arange(n_pos), n_alt)
    latent = ((alt <= 0.0) & (n_alt > 0))[alt_pos]
    share[fx.alt_edges[latent]] = ((1.0 - new_cn) / np.maximum(n_alt, 1))[alt_pos[latent]]
    memory.sums[:] = np.bincount(fx.key, share, minlength=2 * n_pos + 1)
    memory.summed[0] = True


class Diversification(Mechanism):
    """Sourcing shares of buyer positions."""

    name = "diversification"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        e, cfg = self.eco, self.config
        self.p = cfg.world.diversification
        self.buyer = e.pos_kind != POS_TRADER
        self.buyer_edge = self.buyer[e.edge_pos]
        self.cn_edge = (e.edge_origin == e.coercer) & self.buyer_edge
        self.alt_edge = (e.edge_origin != e.coercer) & self.buyer_edge
        self.base_cn = np.bincount(e.edge_pos[self.cn_edge], e.edge_share[self.cn_edge], minlength=e.n_pos)
        self.mem = np.zeros(e.n_pos)
        self.calm_for = np.zeros(e.n_pos, np.int64)
        self.memory = DiversificationMemory(mem=self.mem, calm_for=self.calm_for, sums=np.zeros(2 * e.n_pos + 1),
                                            summed=np.zeros(1, np.bool_))
        country = e.pos_country
        pols = [cfg.policy_of(c) for c in e.countries]
        self.ceiling_final, self.ceiling_end = position_ceilings(e, cfg)
        self.hard_ceiling = ~np.isnan(self.ceiling_final)
        self.offtake_cap = 1.0 - np.array([p.forge_offtake_share for p in pols])[country]
        self.subsidy = np.array([p.diversification_subsidy_share for p in pols])[country]
        member = np.array([cfg.world.countries[c].forge_member for c in e.countries])[country]
        disc = np.array([cfg.world.commodities[c].china_price_discount_share for c in e.commodities])
        edge = np.where(disc > 0, np.clip(1 - cfg.world.forge.tariff_share / np.maximum(disc, 1e-12), 0, 1), 1.0)
        self.drift_factor = (1 - self.subsidy) * np.where(member, edge[e.pos_commodity], 1.0)
        self._member, self._disc = member, disc  # for a tariff FORGE decides (signals.forge_tariff_share)
        self._tariff: float | None = None
        self.n_countries = len(e.countries)
        self._index()

    def _index(self) -> None:
        """Fixed subsets as integer indices and fixed per-position constants, gathered once."""
        e, p = self.eco, self.p
        ip = np.intp
        pos = np.asarray(e.edge_pos, dtype=ip)  # no copy when already intp
        self._cn = np.flatnonzero(self.cn_edge)
        self._cn_pos = pos[self._cn]
        alt = np.flatnonzero(self.alt_edge).astype(np.int32)
        payer = np.where(self.hard_ceiling, 1.0, self.subsidy)
        paying = np.flatnonzero(payer != 0)  # elsewhere the premium costs the state nothing
        noncn = np.flatnonzero((e.firm_kind == PRODUCER) & (e.firm_country != e.coercer))
        self.fixed = DiversificationFixed(
            buyer=self.buyer,
            # each edge's index into the sums of the kernels: its position's non-Chinese (position) or
            # Chinese (n_pos + position) sum for a buyer edge; a spare slot (2 * n_pos) for the others
            key=np.where(self.buyer_edge, np.where(self.cn_edge, e.n_pos, 0) + pos, 2 * e.n_pos).astype(np.int32),
            # each position's non-Chinese edges (contiguous: edges are sorted by position)
            alt_edges=alt, alt_start=np.searchsorted(pos[alt], np.arange(e.n_pos + 1)).astype(np.int32),
            com=e.pos_commodity, n_com=len(e.commodities),
            noncn=noncn, noncn_com=e.firm_commodity[noncn].astype(ip), firm_capacity_t=e.firm_capacity_t,
            base_cn=self.base_cn,
            # the drift back: a constant rate per position, applied where calm
            drift_rate=p.drift_share_per_week * self.drift_factor,
            paying=paying, payer=payer[paying], country=e.pos_country.astype(ip),
            memory_weeks=float(p.memory_weeks), shift_rate=float(p.shift_share_per_week),
            ceiling_rate=float(p.ceiling_share_per_week), calm_weeks=int(p.calm_weeks),
            calm_signal=float(p.calm_signal_share), cn_markup=np.ones(e.n_pos))
        # the ceiling in force: the state's, or the FORGE offtake cap if lower
        ceiling = ceiling_path(self.ceiling_final, self.ceiling_end)
        self._ceiling = SettledPath(lambda t: np.minimum(ceiling.at(t), self.offtake_cap), self.ceiling_end)
        self._kernel = implementation(_diversification_kernel, diversification_reference)
        self._crisis: np.ndarray | None = None  # the signal's array last seen, and its ceiling per position
        self._crisis_pos = np.ones(e.n_pos)

    def _crisis_ceiling(self) -> np.ndarray | None:
        """Per position, the diversification target states adopted after a crisis (1: none), or None."""
        sig = self.signals.diversification_ceiling
        if len(sig) == 0:
            return None
        if sig is not self._crisis:  # a state adopted one (a new array each time)
            self._crisis = sig
            self._crisis_pos = np.where(self.buyer, sig[self.eco.pos_cc], 1.0)
        return self._crisis_pos

    def _set_tariff(self, tariff: float) -> None:
        """FORGE's tariff on non-member minerals changed: members' drift rates follow China's price edge, and
        their manufacturers' premium is over the landed Chinese price."""
        self._tariff = tariff
        self.fixed.cn_markup[:] = np.where(self._member & (self.eco.pos_kind == POS_MANUFACTURER), 1.0 + tariff, 1.0)
        disc = self._disc
        edge = np.where(disc > 0, np.clip(1 - tariff / np.maximum(disc, 1e-12), 0, 1), 1.0)
        factor = (1 - self.subsidy) * np.where(self._member, edge[self.eco.pos_commodity], 1.0)
        self.fixed.drift_rate[:] = self.p.drift_share_per_week * factor

    def cn_share(self) -> np.ndarray:
        """The Chinese-origin share of each position's sourcing."""
        e, s = self.eco, self.state
        return np.bincount(self._cn_pos, s.edge_share[self._cn], minlength=e.n_pos)

    def step(self, t: int) -> None:
        s = self.state
        if self.signals.forge_tariff_share != self._tariff:
            self._set_tariff(self.signals.forge_tariff_share)
        ceiling = self._ceiling.at(t)
        crisis = self._crisis_ceiling()
        if crisis is not None:
            ceiling = np.minimum(ceiling, crisis)
        self._kernel(self.fixed, self.memory, SourcingWeek(
            desired=s.desired, shipped=s.shipped, blocked_share=s.blocked_share, edge_share=s.edge_share,
            ceiling=ceiling, capacity_factor=s.capacity_factor, price=s.price, price_cn=s.price_cn,
            policy_cost=s.policy_cost_usd))
