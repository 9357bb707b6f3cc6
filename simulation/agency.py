"""A state's stockpile agency (JOGMEC, KOMIR-like) that decides its releases and refills.

A state whose policy sets ``stockpile_release_priority`` has one (``StateAgent.agency``); it
decides in the state's ``decide()``, before the mechanisms, each week of the run. Per commodity
it observes last week's shortage in its country -- use its manufacturers lacked, and cover they
lacked: stock below ``stockpile_release_trigger_days`` of use (or their own target, if lower),
what firms short of material ask the agency for -- its stock and the outside price, and decides:

- **release** the week after it observes a shortage, while it holds stock (``end_release``
  the week after a week without one). The inventories mechanism then releases up to
  ``stockpile_max_release_share_per_week`` of the stock to the manufacturers short of cover,
  by the priority order (``stockpile_release_priority``, ``stockpile_priority_share``).
- **refill** when last week saw no use lacked and the outside price at most
  ``stockpile_refill_max_price_multiple`` of calm: it buys toward its target (the purchases
  are costed as every stockpile purchase is); **defer_refill** otherwise: a gap to its target
  waits for the price to fall. (A release to firms short of cover and purchases toward the
  target can go on together, as in the fixed rule: the cover a firm lacks is not yet a
  shortage.)

It acts only through ``signals.release_open`` and ``signals.refill_open`` (its country's
entries), and logs each change of a decision on a commodity it stockpiles (stock or target
above zero; a refill or deferral while the stock is below its target) to ``model.decisions``
with the figures it weighed (the use lacked, its stock in days of use, the price as a
multiple of calm). A state without an agency releases (the same week its
firms' cover falls short) and refills by the inventories mechanism's own rule, unlogged.
"""

from __future__ import annotations

import numpy as np

from simulation.kernels import span
from simulation.population import POS_MANUFACTURER, POS_STOCKPILE

RELEASE, END_RELEASE, REFILL, DEFER = "release", "end_release", "refill", "defer_refill"


class StockpileAgency:
    """The stockpile agency of one state (see the module docstring).

    Args:
        agent: the state's :class:`~simulation.agents.StateAgent` (its policy sets the priority).
    """

    def __init__(self, agent):
        self.agent, self.model, self.code, self.index = agent, agent.model, agent.code, agent.index
        e, pol = self.model.eco, agent.policy
        n_com = len(e.commodities)
        self.commodities = e.commodities
        self.cc = slice(self.index * n_com, (self.index + 1) * n_com)
        mf = (e.pos_kind == POS_MANUFACTURER) & (e.pos_country == self.index)
        self._mf = span(mf)  # its manufacturers' positions (a slice where contiguous)
        self._mf_com = e.pos_commodity[mf].astype(np.intp)
        # the cover below which a manufacturer is short (as the inventories mechanism's release trigger)
        self._trigger = np.minimum(pol.stockpile_release_trigger_days, e.pos_target_days[mf]) / 7.0
        self._daily = np.bincount(self._mf_com, e.pos_base_use_t[mf], minlength=n_com) / 7.0
        stock = np.flatnonzero((e.pos_kind == POS_STOCKPILE) & (e.pos_country == self.index))
        self._has_stock = np.zeros(n_com, bool)
        self._has_stock[e.pos_commodity[stock]] = True
        self._stock = np.zeros(n_com, np.intp)  # per commodity, its stockpile's position
        self._stock[e.pos_commodity[stock]] = stock
        self._price0 = e.price0
        self.multiple = pol.stockpile_refill_max_price_multiple
        self.order = list(pol.stockpile_release_priority)
        self.release_share = pol.stockpile_max_release_share_per_week
        self.releasing = np.zeros(n_com, bool)  # calm: no release,
        self.refilling = np.ones(n_com, bool)  # and buys toward its target

    def observe(self) -> dict[str, np.ndarray] | None:
        """What it sees of last week, per commodity: use lacked (t), cover lacked (t below the
        trigger), stock (t), target (t), stock in days of use, outside price as a
        multiple of calm; None before the first week."""
        s = self.model.state
        if s.use is None:
            return None
        req = s.required[self._mf]
        n = len(self.commodities)
        short = np.bincount(self._mf_com, np.maximum(req - s.use[self._mf], 0.0), minlength=n)
        gap = np.bincount(self._mf_com, np.maximum(req * self._trigger - s.inventory[self._mf], 0.0), minlength=n)
        stock = np.where(self._has_stock, s.inventory[self._stock], 0.0)
        target = np.where(self._has_stock, s.stock_target[self._stock], 0.0)
        days = np.divide(stock, self._daily, out=np.zeros(n), where=self._daily > 0)
        return dict(short=short, gap=gap, stock=stock, target=target, days=days,
                    price=s.price / self._price0)

    def decide(self, week: int) -> None:
        """Release or not, refill or defer, per commodity, from last week's observations; log the changes."""
        seen = self.observe()
        if seen is None:
            return
        sig = self.model.signals
        short, stock, target, price = seen["short"], seen["stock"], seen["target"], seen["price"]
        release = self._has_stock & (stock > 0) & ((short > 0) | (seen["gap"] > 0))
        refill = (short <= 0) & (price <= self.multiple)
        n_cc = len(self.model.eco.countries) * len(self.commodities)
        if len(sig.release_open) == 0:
            sig.release_open = np.ones(n_cc)
        if len(sig.refill_open) == 0:
            sig.refill_open = np.ones(n_cc)
        sig.release_open[self.cc] = release
        sig.refill_open[self.cc] = refill
        # logged for a commodity it stockpiles; a refill or deferral only while there is a gap to its target
        held = self._has_stock & ((stock > 0) | (target > 0))
        for c in np.flatnonzero(held & (release != self.releasing)):
            self._log(week, c, RELEASE if release[c] else END_RELEASE, seen)
        gap = held & (stock < target * (1 - 1e-3))
        for c in np.flatnonzero(gap & (refill != self.refilling)):
            self._log(week, c, REFILL if refill[c] else DEFER, seen)
        self.releasing = release
        self.refilling = np.where(gap, refill, self.refilling)

    def _log(self, week: int, c: int, decision: str, seen: dict[str, np.ndarray]) -> None:
        com = self.commodities[c]
        short, gap = float(seen["short"][c]), float(seen["gap"][c])
        days, price = float(seen["days"][c]), float(seen["price"][c])
        daily = self._daily[c]
        target_days = float(seen["target"][c] / daily) if daily > 0 else 0.0
        if decision == RELEASE:
            reason = (f"{com}: last week firms lacked {short:.3g} t of use and {gap:.3g} t of cover; releases up to "
                      f"{self.release_share:.0%} of its stock ({days:.0f} days of use) a week, to "
                      f"{', '.join(self.order)} first")
        elif decision == END_RELEASE:
            reason = (f"{com}: no stock left, {short:.3g} t of use lacked last week" if seen["stock"][c] <= 0 else
                      f"{com}: no firm short of use or cover last week; {days:.0f} days of use left in stock")
        elif decision == REFILL:
            reason = (f"{com}: no shortage and the outside price at {price:.2f}x calm, within {self.multiple:g}x: "
                      f"buys toward its target ({days:.0f} of {target_days:.0f} days of use)")
        elif short > 0:
            reason = f"{com}: {short:.3g} t of use lacked last week: no purchase in a shortage"
        else:
            reason = (f"{com}: outside price {price:.2f}x calm, above {self.multiple:g}x: no purchase "
                      f"({days:.0f} of {target_days:.0f} days of use)")
        m = self.model
        m.decisions.add(week, self.code, decision, m.signals.level, reason, shortage_t=short, stockpile_days=days,
                        price_multiple=price)
