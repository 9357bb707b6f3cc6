"""Mesa agents: states and firms.

Firms are a vectorized population: the mechanisms act on all of them at once, on the
arrays of :mod:`simulation.population` and :mod:`simulation.state`. A firm can still be
reached as a Mesa agent (for inspection, the view, Mesa's tools): ``model.firms[i]`` is a
thin view on row ``i`` of those arrays, created the first time it is asked for, so a run
that never looks at one firm builds none. States own their policy levers and their
stockpile agency.

Agents take the model as a ``mesa.Model``: this module does not import the model's module.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import mesa
import numpy as np

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

