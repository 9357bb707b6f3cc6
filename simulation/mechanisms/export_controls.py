"""Export controls: which Chinese-origin flows to which destinations are licensed, delayed,
refused or banned.

The controls in force (``signals.controls``) are per (destination country, commodity). The
candidate edges are the direct edges from producers in the coercer to buyer positions in any
other country; a candidate is covered when a control is in force for its destination and
commodity (and, for a military-only control, its buyer is a military end user).

*Licensing.* Each covered edge needs a licence. An application is decided after a delay of
mean ``delay_weeks`` (none before ``floor(first_decision_share * delay_weeks)`` weeks, the
review of the dossier, ``world.licensing``; geometric after that) and granted with the
approval probability (military end users: ``military_approval_probability``). An end user's standing with the licensing
authority is a uniform number ``u`` (each candidate edge draws its first when the model is
built), and its application is granted when ``u`` is below the approval probability in force.
A granted end user keeps its standing: its licence is renewed, unless the terms have
tightened. A refused one applies again after the wait below and is assessed anew: its
standing is redrawn at each refusal, from a counter-based stream of its own (so the draws of
one end user do not depend on how many others were refused). So the approval probability is
the share of applications granted: ``p`` of end users are licensed after the first decisions,
``1 - (1 - p)^n`` after ``n`` rounds, and only ``p = 0`` (a military end user under a
prohibition, say) is refused for good. (The 2025 rare-earth regime: ~25% of applications
approved in its first weeks, ~60% after June 2025, and magnet exports back above their
year-earlier level in July 2025; configs/record/.) A regime aimed at denying its destination
(``refusals = "standing"`` on the measure: the ladder's licensing toward the target) keeps its
refusals instead: a refused end user is refused again, unless the terms loosen, and ``p`` is
then the share of end users licensed once the delays have passed. A grant
is valid ``license_validity_weeks``; its renewal is applied for ``delay_weeks`` before it
expires (at least a week after the grant), and the edge stays open while the renewal is
pending (status ``RENEWING``): an approved renewal never closes the edge, a refused one
closes it when refused. A refused edge reapplies after ``max(reapply_min_weeks, delay_weeks)``
weeks (``world.licensing``; 4 by default).

*Ban.* No licence is granted: the licences in force and the applications pending on the
covered edges are revoked in the week the ban starts (the edges close), and no application
is made while it lasts. If the ban is lifted while licensing remains, the edges apply again
at once.

Orders flow only on open edges (uncontrolled or licensed). Controlled buyer positions (in a
controlled destination, for a controlled commodity and end use) cannot buy Chinese material
on the spot market either. Lifting a control clears its licences.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from simulation.kernels import implementation, kernel, maximum
from simulation.mechanisms.base import Context, Mechanism

NONE, PENDING, GRANTED, REFUSED, RENEWING = 0, 1, 2, 3, 4


class Licences(NamedTuple):
    """The licensing state of the candidate edges (the only ones that ever need a licence):
    compact copies of their status and decision dates (``_c``, per candidate), each end user's
    standing, and the public per-edge arrays, kept in step."""

    cand: np.ndarray  # the candidate edges
    status_c: np.ndarray  # NONE, PENDING, GRANTED, REFUSED or RENEWING (granted, renewal pending)
    next_c: np.ndarray  # the week of the next decision or expiry
    status: np.ndarray  # per edge
    next_step: np.ndarray  # per edge
    standing_c: np.ndarray  # the end user's standing: granted while below the approval probability
    key_c: np.ndarray  # uint64: the seed of its stream of standings (see :func:`_restanding`)
    refusals_c: np.ndarray  # how many times it was refused (the position in that stream)


class Applications(NamedTuple):
    """This week's licence applications, as candidate numbers in order: the new ones, those
    made again (a renewal of a grant, or after a refusal: ``again``), and those decided
    (``due``)."""

    new: np.ndarray
    again: np.ndarray
    due: np.ndarray


class EdgeAccess(NamedTuple):
    """The state's per-edge flags the licences publish (``blacklisted`` is read only)."""

    blacklisted: np.ndarray
    open: np.ndarray
    licensed: np.ndarray


class Coverage(NamedTuple):
    """What a set of controls covers: edges and positions, and per candidate edge (``_c``) the
    licence terms."""

    cover: np.ndarray  # per edge (read-only)
    controlled: np.ndarray  # per position (read-only)
    cover_c: np.ndarray
    ban_c: np.ndarray  # covered by a ban
    p_c: np.ndarray  # approval probability
    keep_c: np.ndarray  # a refusal stands (not assessed anew): ControlSpec.standing_refusals
    delay_c: np.ndarray  # mean decision delay, weeks
    valid_c: np.ndarray  # licence validity, weeks
    grant_weeks_c: np.ndarray  # weeks from a grant to its renewal application (validity less delay, >= 1)
    refuse_weeks_c: np.ndarray  # weeks until a refused edge applies again
    wait_scale_c: np.ndarray  # 1 / log(1 - q), q = 1 / (1 + delay - floor): see _schedule_kernel
    floor_c: np.ndarray  # weeks before which no application is decided: see _schedule_kernel


@kernel
def _requests_kernel(lic, cov, t, apps):
    """Licence applications of the candidate edges (:func:`requests_reference` in numpy).

    A lifted control clears the licence; a ban revokes a licence or application (``REFUSED``,
    dated ``t``, so that the edge applies again if the ban gives way to licensing); a newly
    covered edge applies (``apps.new``), and so does one whose grant is due for renewal
    (``RENEWING``: it stays open) or whose refusal has expired (``apps.again``); ``apps.due``
    lists the other pending applications decided this week. The lists (scratch, long enough
    for every candidate) are filled from their start, in order; returns their lengths.
    """
    cand, status_c, next_c, status, next_step = lic.cand, lic.status_c, lic.next_c, lic.status, lic.next_step
    cover_c, ban_c = cov.cover_c, cov.ban_c
    new, again, due = apps.new, apps.again, apps.due
    n_new, n_again, n_due = 0, 0, 0
    for k in range(len(cand)):
        if not cover_c[k]:
            if status_c[k] != NONE:
                status_c[k] = NONE
                status[cand[k]] = NONE
        elif ban_c[k]:
            if status_c[k] != REFUSED:
                status_c[k] = REFUSED
                status[cand[k]] = REFUSED
                next_c[k] = t
                next_step[cand[k]] = t
        elif status_c[k] == NONE:
            status_c[k] = PENDING
            status[cand[k]] = PENDING
            new[n_new] = k
            n_new += 1
        elif next_c[k] <= t:
            if status_c[k] == GRANTED or status_c[k] == REFUSED:
                status_c[k] = RENEWING if status_c[k] == GRANTED else PENDING
                status[cand[k]] = status_c[k]
                again[n_again] = k
                n_again += 1
            else:
                due[n_due] = k
                n_due += 1
    return n_new, n_again, n_due


def requests_reference(lic: Licences, cov: Coverage, t: int, apps: Applications):
    """:func:`_requests_kernel` in numpy."""
    status_c, cover_c = lic.status_c, cov.cover_c
    lifted = ~cover_c & (status_c != NONE)
    revoked = cover_c & cov.ban_c & (status_c != REFUSED)
    licensing = cover_c & ~cov.ban_c
    new = licensing & (status_c == NONE)
    reached = licensing & (status_c != NONE) & (lic.next_c <= t)
    renewed = reached & (status_c == GRANTED)
    again = renewed | (reached & (status_c == REFUSED))
    due = reached & ((status_c == PENDING) | (status_c == RENEWING))
    status_c[lifted] = NONE
    status_c[revoked] = REFUSED
    lic.next_c[revoked] = t
    lic.next_step[lic.cand[revoked]] = t
    status_c[new | (again & ~renewed)] = PENDING
    status_c[renewed] = RENEWING
    changed = lifted | revoked | new | again
    lic.status[lic.cand[changed]] = status_c[changed]
    lengths = []
    for mask, out in ((new, apps.new), (again, apps.again), (due, apps.due)):
        idx = np.flatnonzero(mask)
        out[:len(idx)] = idx
        lengths.append(len(idx))
    return tuple(lengths)


@kernel
def _merge(a, b):
    """The ascending merge of two ascending arrays of distinct candidate numbers."""
    out = np.empty(len(a) + len(b), np.int64)
    i, j = 0, 0
    for n in range(len(out)):
        if j >= len(b) or (i < len(a) and a[i] < b[j]):
            out[n] = a[i]
            i += 1
        else:
            out[n] = b[j]
            j += 1
    return out


@kernel
def _schedule_kernel(lic, cover_c, wait_scale_c, floor_c, t, apps, n_due, logs):
    """Decision dates of the ``apps.new`` and ``apps.again`` applications: ``t`` plus a wait less
    one week, the wait ``floor_c`` weeks (no decision comes sooner: the dossier's review) plus a
    geometric part with mean ``delay - floor + 1`` weeks by inversion of one uniform draw
    ``u`` per application (``logs``: ``log(1 - u)``, the new applications' first), as
    ``floor_c + max(ceil(log(1 - u) * wait_scale_c), 1)``; then ``apps.due`` (scratch): the pending
    applications (``PENDING`` or ``RENEWING``) with a date reached, in order (those renewed or
    new with no wait among them). Returns their count (:func:`schedule_reference` in numpy).

    The first ``n_due`` of ``apps.due`` are already listed (by :func:`_requests_kernel`: every
    other pending application with a date reached); the new and renewed ones with a wait of one
    week are merged into them, so no pass over all candidates is needed."""
    cand, next_c, next_step = lic.cand, lic.next_c, lic.next_step
    due = apps.due
    now = []
    first = 0  # each list's first draw in ``logs``
    for applied in (apps.new, apps.again):
        listed = np.empty(len(applied), np.int64)
        n = 0
        for j in range(len(applied)):
            k = applied[j]
            wait = np.int64(maximum(np.ceil(logs[first + j] * wait_scale_c[k]), 1.0)) + floor_c[k]
            next_c[k] = t + (wait - 1)
            next_step[cand[k]] = next_c[k]
            if next_c[k] <= t:
                listed[n] = k
                n += 1
        now.append(listed[:n])
        first += len(applied)
    merged = _merge(due[:n_due].astype(np.int64), _merge(now[0], now[1]))
    for j in range(len(merged)):
        due[j] = merged[j]
    return len(merged)


def schedule_reference(lic: Licences, cover_c: np.ndarray, wait_scale_c: np.ndarray, floor_c: np.ndarray, t: int,
                       apps: Applications, n_due: int, logs: np.ndarray):
    """:func:`_schedule_kernel` in numpy (by a pass over all candidates: ``n_due`` is not needed)."""
    applied = np.concatenate((apps.new, apps.again))
    wait = np.maximum(np.ceil(logs * wait_scale_c[applied]), 1.0).astype(np.int64) + floor_c[applied]
    lic.next_c[applied] = t + (wait - 1)
    lic.next_step[lic.cand[applied]] = lic.next_c[applied]
    pending = (lic.status_c == PENDING) | (lic.status_c == RENEWING)
    due = np.flatnonzero(cover_c & pending & (lic.next_c <= t))
    apps.due[:len(due)] = due
    return len(due)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@kernel
def _restanding(key, n):
    """The ``n``-th standing of the end user whose stream is seeded by ``key``: SplitMix64's
    output for the state ``key + n * golden`` (Steele, Lea and Flood 2014), as a uniform number
    in [0, 1) with 53 bits."""
    z = key + np.uint64(n + 1) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def restanding_reference(key: np.ndarray, n: np.ndarray) -> np.ndarray:
    """:func:`_restanding` in numpy, for arrays of keys and counts."""
    with np.errstate(over="ignore"):
        z = key.astype(np.uint64) + (n.astype(np.uint64) + np.uint64(1)) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


@kernel
def _licence(i, covered, status, edges):
    """Publish edge ``i``: open when not blacklisted, and not covered unless licensed (a licence
    granted, or granted and being renewed)."""
    granted = status == GRANTED or status == RENEWING
    edges.open[i] = not edges.blacklisted[i] and (granted or not covered)
    edges.licensed[i] = covered and granted


@kernel
def _decide_publish_kernel(lic, cov, t, apps, everything, edges):
    """Decisions on the ``apps.due`` applications (granted when the end user's standing is below
    the approval probability; a grant dated to its renewal application; a refusal redraws the
    standing, :func:`_restanding`), then which edges are open and
    licensed: all edges when ``everything``, else only the candidates whose licence may have
    changed this week (``apps.due`` and ``apps.again``; a ban's revocations happen only in the
    week the controls change, which publishes everything). Returns the number granted
    (:func:`decide_publish_reference` in numpy)."""
    cand, status_c, next_c = lic.cand, lic.status_c, lic.next_c
    cover_c, p_c = cov.cover_c, cov.p_c
    due = apps.due
    n_granted = 0
    standing_c, refusals_c = lic.standing_c, lic.refusals_c
    for j in range(len(due)):
        k = due[j]
        if standing_c[k] < p_c[k]:
            status_c[k] = GRANTED
            next_c[k] = t + cov.grant_weeks_c[k]
            n_granted += 1
        else:
            status_c[k] = REFUSED
            next_c[k] = t + cov.refuse_weeks_c[k]
            if not cov.keep_c[k]:
                refusals_c[k] += 1
                standing_c[k] = _restanding(lic.key_c[k], refusals_c[k])
        lic.status[cand[k]] = status_c[k]
        lic.next_step[cand[k]] = next_c[k]
    if everything:
        for i in range(len(edges.open)):
            edges.open[i] = not edges.blacklisted[i]
        for k in range(len(cand)):
            _licence(cand[k], cover_c[k], status_c[k], edges)
    else:
        for changed in (due, apps.again):
            for k in changed:
                _licence(cand[k], cover_c[k], status_c[k], edges)
    return n_granted


def decide_publish_reference(lic: Licences, cov: Coverage, t: int, apps: Applications, everything: bool,
                             edges: EdgeAccess):
    """:func:`_decide_publish_kernel` in numpy."""
    due = apps.due
    granted = lic.standing_c[due] < cov.p_c[due]
    refused = due[~granted & ~cov.keep_c[due]]
    lic.refusals_c[refused] += 1
    lic.standing_c[refused] = restanding_reference(lic.key_c[refused], lic.refusals_c[refused])
    lic.status_c[due] = np.where(granted, GRANTED, REFUSED)
    lic.next_c[due] = t + np.where(granted, cov.grant_weeks_c[due], cov.refuse_weeks_c[due])
    lic.status[lic.cand[due]] = lic.status_c[due]
    lic.next_step[lic.cand[due]] = lic.next_c[due]
    if everything:
        edges.open[:] = ~edges.blacklisted
        changed = np.arange(len(lic.cand))
    else:
        changed = np.concatenate((due, apps.again))
    i = lic.cand[changed]
    st = lic.status_c[changed]
    covered, licensed = cov.cover_c[changed], (st == GRANTED) | (st == RENEWING)
    edges.open[i] = ~edges.blacklisted[i] & (licensed | ~covered)
    edges.licensed[i] = covered & licensed
    return int(np.count_nonzero(granted))


class ExportControls(Mechanism):
    """Licensing state per edge; publishes ``state.edge_open`` and ``state.pos_controlled``."""

    name = "export_controls"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        e = self.eco
        n = e.n_edges
        self.status = np.zeros(n, np.int8)
        self.next_step = np.zeros(n, np.int64)
        supplier_country = e.firm_country[e.edge_supplier]
        buyer_country = e.pos_country[e.edge_pos]
        # direct exports from the coercer's producers to positions in any other country
        self.candidate = (
            (supplier_country == e.coercer)
            & (buyer_country != e.coercer)
            & ~e.edge_via_trader
        )
        self.edge_commodity = e.pos_commodity[e.edge_pos]
        self.edge_military = e.pos_military[e.edge_pos]
        self.n_granted = 0
        # only candidate edges ever carry a licence: the weekly work is on them, in compact copies
        # of their status and decision dates (the public per-edge arrays are kept in step)
        self._cand = np.flatnonzero(self.candidate).astype(np.uint32)
        n_cand = len(self._cand)
        # each candidate end user's standing with the licensing authority: its first drawn now, the
        # later ones (after each refusal) from a stream of its own seeded by the bits of the first
        standing = self.rng.random(n_cand)
        self._lic = Licences(cand=self._cand, status_c=np.zeros(n_cand, np.int8),
                             next_c=np.zeros(n_cand, np.int64), status=self.status, next_step=self.next_step,
                             standing_c=standing, key_c=standing.view(np.uint64).copy(),
                             refusals_c=np.zeros(n_cand, np.int64))
        self._scratch = Applications(*(np.zeros(n_cand, np.uint32) for _ in range(3)))
        self._cand_commodity = self.edge_commodity[self._cand]
        self._cand_military = self.edge_military[self._cand]
        self._cand_country = buyer_country[self._cand]
        # each candidate's and each position's (destination country, commodity) cell, as a flat index
        # into the per-country-and-commodity terms (one flat gather each is ~8x faster than a 2-d one)
        n_com = len(e.commodities)
        self._cand_cell = self._cand_country.astype(np.intp) * n_com + self._cand_commodity
        self._pos_cell = e.pos_country.astype(np.intp) * n_com + e.pos_commodity
        self._controls = None  # the controls the cache below was computed for (a copy)
        self._controls_obj = None  # and the mapping it was last checked against
        self._cached = None
        # what the published state was computed from: the cache entry and the blacklisted count
        self._published: Coverage | None = None
        self._published_blacklisted = 0
        self._requests = implementation(_requests_kernel, requests_reference)
        self._schedule = implementation(_schedule_kernel, schedule_reference)
        self._decide_publish = implementation(_decide_publish_kernel, decide_publish_reference)

    def _controlled(self) -> Coverage:
        """What the controls in force cover. They change only when the escalation level moves
        (escalation then publishes a new mapping), so they are computed once per set of
        controls and cached."""
        controls = self.signals.controls
        if controls is self._controls_obj:  # escalation publishes a new mapping when it moves
            return self._cached
        if self._cached is None or controls != self._controls:
            self._controls = dict(controls)
            self._cached = self._compute_controlled(controls)
        self._controls_obj = controls
        return self._cached

    def _compute_controlled(self, controls: dict) -> Coverage:
        """The coverage of ``controls`` ((destination, commodity) -> ControlSpec): the terms
        as arrays per destination country and commodity, gathered per candidate edge and per
        position."""
        e = self.eco
        shape = (len(e.countries), len(e.commodities))
        on, all_uses = np.zeros(shape, bool), np.zeros(shape, bool)
        ban, military_ban, keep = np.zeros(shape, bool), np.zeros(shape, bool), np.zeros(shape, bool)
        p, p_military, delay, valid = np.ones(shape), np.ones(shape), np.zeros(shape), np.ones(shape)
        for (d, c), spec in controls.items():
            ij = e.countries.index(d), e.commodities.index(c)
            on[ij], all_uses[ij], ban[ij], military_ban[ij] = True, spec.all_end_uses, spec.ban, spec.military_ban
            keep[ij] = spec.standing_refusals
            p[ij], p_military[ij] = spec.approval_probability, spec.military_approval_probability
            delay[ij], valid[ij] = spec.delay_weeks, spec.license_validity_weeks
        # only candidate edges are ever covered: the work is on them
        on, all_uses, ban, military_ban = on.ravel(), all_uses.ravel(), ban.ravel(), military_ban.ravel()
        keep = keep.ravel()
        p, p_military, delay, valid = p.ravel(), p_military.ravel(), delay.ravel(), valid.ravel()
        cell, military_c = self._cand_cell, self._cand_military
        cover_c = on[cell] & (all_uses[cell] | military_c)
        ban_c = cover_c & (ban[cell] | (military_c & military_ban[cell]))
        p_c = np.where(cover_c & ~ban_c, np.where(military_c, p_military[cell], p[cell]), np.where(ban_c, 0.0, 1.0))
        delay_c = np.where(cover_c, delay[cell], 0.0)
        valid_c = np.where(cover_c, valid[cell], 1.0)
        controlled = on[self._pos_cell] & (all_uses[self._pos_cell] | e.pos_military)
        cover = np.zeros(e.n_edges, bool)
        cover[self._cand] = cover_c
        cover.flags.writeable = controlled.flags.writeable = False
        licensing = self.config.world.licensing
        floor_c = np.floor(licensing.first_decision_share * delay_c).astype(np.int64)
        return Coverage(cover, controlled, cover_c, ban_c, p_c, cover_c & keep[cell], delay_c, valid_c,
                        grant_weeks_c=np.maximum(1, np.round(valid_c - delay_c)).astype(np.int64),
                        refuse_weeks_c=np.maximum(licensing.reapply_min_weeks, np.round(delay_c)).astype(np.int64),
                        wait_scale_c=_wait_scale(delay_c - floor_c), floor_c=floor_c)

    def step(self, t: int) -> None:
        s, n_blacklisted = self.state, self.signals.n_blacklisted
        cov = self._controlled()
        # applications, decisions, renewals of the candidate edges (no other edge ever needs a licence)
        lic, scratch = self._lic, self._scratch
        n_new, n_again, n_due = self._requests(lic, cov, t, scratch)
        new, again = scratch.new[:n_new], scratch.again[:n_again]
        if n_new or n_again:  # one uniform draw per application decides its wait (see _schedule_kernel)
            logs = np.log1p(-self.rng.random(n_new + n_again))
            n_due = self._schedule(lic, cov.cover_c, cov.wait_scale_c, cov.floor_c, t,
                                   Applications(new, again, scratch.due), n_due, logs)
        # edges are blacklisted (for good) only as traders are (transshipment): when their count
        # and the controls stay, only the licences decided or renewed this week change what is open
        everything = bool(cov is not self._published or n_blacklisted != self._published_blacklisted)
        n_granted = self._decide_publish(lic, cov, t, Applications(new, again, scratch.due[:n_due]), everything,
                                         EdgeAccess(s.edge_blacklisted, s.edge_open, s.edge_licensed))
        self.n_granted += n_granted
        if cov is not self._published:  # the controls moved: publish what they cover
            s.pos_controlled[:] = cov.controlled
            s.edge_controlled[:] = cov.cover
            self._published = cov
        self._published_blacklisted = n_blacklisted


def _wait_scale(delay: np.ndarray) -> np.ndarray:
    """``1 / log(1 - q)`` with ``q = 1 / (1 + delay)`` (``-0.0`` where the delay is 0: a wait of 1)."""
    with np.errstate(divide="ignore"):
        return 1.0 / np.log1p(-1.0 / (1.0 + delay))
