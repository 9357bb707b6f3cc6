"""Mesa agents: states and firms.

Firms are a vectorized population: the mechanisms act on all of them at once, on the
arrays of :mod:`simulation.population` and :mod:`simulation.state`. A firm can still be
reached as a Mesa agent (for inspection, the view, Mesa's tools): ``model.firms[i]`` is a
thin view on row ``i`` of those arrays, created the first time it is asked for, so a run
that never looks at one firm builds none. States own their policy levers and their
stockpile agency (:mod:`simulation.agency`, where their policy sets a release priority).

Agents take the model as a ``mesa.Model``: this module does not import the model's module.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import mesa
import numpy as np

from simulation.agency import StockpileAgency
from simulation.population import MANUFACTURER, POS_MANUFACTURER, POS_STOCKPILE, PRODUCER, TRADER


class StateAgent(mesa.Agent):
    """A state (or group): its economy, policy levers and stockpile agency.

    Args:
        model: the model.
        code: country code in the config (``"JP"``).
    """

    def __init__(self, model: mesa.Model, code: str):
        super().__init__(model)
        cfg = model.config
        self.code = code
        self.spec = cfg.world.countries[code]
        self.policy = cfg.policy_of(code)
        self.index = model.eco.countries.index(code)
        self.is_coercer = code == cfg.scenario.coercer
        self.is_target = code == cfg.scenario.target
        self.role = None  # its decision rule (simulation.states): the target's, China's, or none yet
        # its stockpile agency decides releases and refills where its policy sets a release priority
        self.agency = StockpileAgency(self) if self.policy.stockpile_release_priority else None

    def decide(self, week: int) -> None:
        """Choose this week's levers from what the state observes (clock week ``week``): its
        stockpile agency's releases and refills (:mod:`simulation.agency`), if it has one, then
        its ``role`` (:mod:`simulation.states`); a state with neither does nothing."""
        if self.agency is not None:
            self.agency.decide(week)
        if self.role is not None:
            self.role.decide(week)

    @property
    def forge_member(self) -> bool:
        return self.spec.forge_member

    def stockpile_t(self, commodity: str) -> float:
        """Tonnes in the state stockpile of ``commodity``."""
        e = self.model.eco
        sel = ((e.pos_kind == POS_STOCKPILE) & (e.pos_country == self.index)
               & (e.pos_commodity == e.commodities.index(commodity)))
        return float(self.model.state.inventory[sel].sum())

    def stockpile_days(self, commodity: str) -> float:
        """State stockpile in days of the country's use at full output."""
        e = self.model.eco
        sel = ((e.pos_kind == POS_MANUFACTURER) & (e.pos_country == self.index)
               & (e.pos_commodity == e.commodities.index(commodity)))
        daily = e.pos_base_use_t[sel].sum() / 7.0
        return self.stockpile_t(commodity) / daily if daily > 0 else 0.0

    @property
    def loss_pct_gdp(self) -> float:
        """Value added lost in the week just simulated, % of annual GDP (as the country table;
        0 before the first week)."""
        loss = self.model.state.output_loss
        return 0.0 if loss is None else float(loss[self.index] / self.model.eco.gdp_lcu[self.index] * 100.0)

    @property
    def cum_loss_pct_gdp(self) -> float:
        """Value added lost since the start, % of annual GDP (as the country table)."""
        return float(self.model.readout.cum_loss_pct_gdp()[self.index])

    def _tightest(self) -> tuple[int, float]:
        com, days = self.model.readout.tightest()
        return int(com[self.index]), float(days[self.index])

    @property
    def tightest_commodity(self) -> str | None:
        """The commodity the country uses with the fewest state-stockpile days (None if it uses none)."""
        com = self._tightest()[0]
        return self.model.eco.commodities[com] if com >= 0 else None

    @property
    def tightest_stockpile_days(self) -> float:
        """State-stockpile days of :attr:`tightest_commodity` (NaN if the country uses none)."""
        return self._tightest()[1]


class StateReadout:
    """What the state agents report, for all countries at once, computed at most once a week
    from the recorder's series (so the values equal the run tables'), never from firms.

    Args:
        model: the model (its ``eco``, ``state``, ``recorder`` and week ``t``).
    """

    def __init__(self, model: mesa.Model):
        self._model = model
        rec, e = model.recorder, model.eco
        m = len(e.commodities)
        self._k = len(e.countries)
        self._pair_country = rec.pairs // m  # sorted: the recorder's pairs run country by country
        self._pair_com = rec.pairs % m
        self._starts = np.searchsorted(self._pair_country, np.arange(self._k))
        self._has_pairs = np.bincount(self._pair_country, minlength=self._k) > 0
        self._gdp = e.gdp_lcu
        self._cum = (0, np.zeros(self._k))  # (weeks summed, cumulative loss % GDP)
        self._tight: tuple[int, tuple[np.ndarray, np.ndarray]] | None = None

    def cum_loss_pct_gdp(self) -> np.ndarray:
        """Per country, cumulative loss in % of annual GDP over the weeks recorded."""
        rec = self._model.recorder
        n, cum = self._cum
        if n < rec.n_recorded:
            cum = cum.copy()
            for t in range(n, rec.n_recorded):  # week by week, as the table's cumulative sum
                cum += rec.series["output_loss"][t] / self._gdp * 100.0
            self._cum = (rec.n_recorded, cum)
        return self._cum[1]

    def _stockpile_days(self) -> np.ndarray:
        """Per recorded pair, state-stockpile days: the recorder's last row, or before the first
        week the same ratio from the state."""
        rec = self._model.recorder
        if rec.n_recorded:
            return rec.series["stockpile_days"][rec.n_recorded - 1]
        e, inv = self._model.eco, self._model.state.inventory
        held = np.bincount(rec.cc[rec.stock], inv[rec.stock], minlength=int(e.n_cc))
        return held[rec.pairs] / rec.daily_use

    def tightest(self) -> tuple[np.ndarray, np.ndarray]:
        """Per country, the used commodity with the fewest state-stockpile days and those days
        (-1 and NaN for a country that uses none)."""
        t = self._model.t
        if self._tight is None or self._tight[0] != t:
            days = self._stockpile_days()
            com = np.full(self._k, -1)
            low = np.full(self._k, np.nan)
            if len(days):
                order = np.lexsort((days, self._pair_country))  # by country, then days (ties: first)
                first = order[self._starts[self._has_pairs]]
                com[self._has_pairs] = self._pair_com[first]
                low[self._has_pairs] = days[first]
            self._tight = (t, (com, low))
        return self._tight[1]


class Firm(mesa.Agent):
    """A firm: a row ``index`` of the firm arrays."""

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def country(self) -> str:
        e = self.model.eco
        return e.countries[e.firm_country[self.index]]


class Producer(Firm):
    """A miner, refiner or recycler of one commodity."""

    @property
    def commodity(self) -> str:
        return self.model.eco.commodities[self.model.eco.firm_commodity[self.index]]

    @property
    def capacity_t_per_week(self) -> float:
        s = self.model.state
        return float(self.model.eco.firm_capacity_t[self.index] * s.capacity_factor[self.index])


class Trader(Firm):
    """A trader in a transit hub re-exporting material of one origin."""

    @property
    def commodity(self) -> str:
        return self.model.eco.commodities[self.model.eco.firm_commodity[self.index]]

    @property
    def origin(self) -> str:
        return self.model.eco.countries[self.model.eco.firm_origin[self.index]]


class Manufacturer(Firm):
    """A manufacturer: consumes critical inputs, creates value added."""

    @property
    def sector(self) -> str:
        return self.model.eco.sectors[self.model.eco.firm_sector[self.index]]

    @property
    def value_added_per_week(self) -> float:
        return float(self.model.eco.firm_va_week[self.index])

    @property
    def output_loss_share(self) -> float:
        loss = self.model.state.firm_output_loss_share
        return 0.0 if loss is None else float(loss[self.index])

    def inventory_days(self) -> dict[str, float]:
        """Days of use held, per input."""
        e, s = self.model.eco, self.model.state
        a, b = e.firm_pos_start[self.index], e.firm_pos_end[self.index]
        out = {}
        for p in range(a, b):
            use = s.required[p] / 7.0
            out[e.commodities[e.pos_commodity[p]]] = float(s.inventory[p] / use) if use > 0 else np.inf
        return out


FIRM_CLASS = {PRODUCER: Producer, TRADER: Trader, MANUFACTURER: Manufacturer}


class LazyFirms(Sequence):
    """The firms as Mesa agents, each created the first time it is asked for (then kept).

    Args:
        model: the model whose ``eco.firm_kind`` lists the firms.
    """

    def __init__(self, model: mesa.Model):
        self._model = model
        self._kinds = model.eco.firm_kind
        self._agents: dict[int, Firm] = {}

    def __len__(self) -> int:
        return len(self._kinds)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = int(index)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"firm {index} out of range (0-{len(self) - 1})")
        if i not in self._agents:
            self._agents[i] = FIRM_CLASS[int(self._kinds[i])](self._model, i)
        return self._agents[i]

    def __iter__(self) -> Iterator[Firm]:
        return (self[i] for i in range(len(self)))

    @property
    def n_created(self) -> int:
        """How many firm agents exist so far."""
        return len(self._agents)

