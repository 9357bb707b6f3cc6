"""What every mechanism shares: its model, its own random stream, one ``step()``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulation.model import CoercionModel


class Mechanism:
    """A submodel with its own random stream (common random numbers across strategies).

    Args:
        model: the model it acts on.
    """

    name = "mechanism"

    def __init__(self, model: CoercionModel):
        self.model = model
        self.rng = model.streams[self.name]

    def step(self) -> None:  # pragma: no cover - each mechanism defines it
        raise NotImplementedError
