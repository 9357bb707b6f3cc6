"""What every mechanism shares: its model, its own random stream, one ``step()``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numba
import numpy as np

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


def kernel(fn):
    """Compile ``fn`` (a loop over flat arrays) to machine code with numba.

    Kernels keep numpy's float semantics, so that they give the same results, bit for bit,
    as the array expressions they replace: no fast-math (no reordered sums, no fused
    multiply-adds), and a division by zero gives inf or nan (``error_model="numpy"``)
    instead of raising. Sums run in index order, as ``np.bincount`` adds. Compiled code is
    cached on disk (``__pycache__`` beside the source, else numba's user cache directory, or
    ``NUMBA_CACHE_DIR``), so only the first run after a change compiles; where no directory
    is writable, each process compiles for itself. numba refreshes a kernel's cache when the
    kernel's own file changes, not when a kernel it calls from another file does: after
    changing :func:`maximum` or :func:`minimum` here, delete ``simulation/mechanisms/__pycache__``.
    Set ``NUMBA_DISABLE_JIT=1`` to run kernels as plain Python (slow; for debugging).
    """
    try:
        return numba.njit(cache=True, nogil=True, error_model="numpy")(fn)
    except RuntimeError:  # numba found no writable cache directory
        return numba.njit(cache=False, nogil=True, error_model="numpy")(fn)


@kernel
def maximum(a, b):
    """``np.maximum`` of two floats, for kernels: NaN if either is NaN (``max`` is not)."""
    return a if a >= b or a != a else b


@kernel
def minimum(a, b):
    """``np.minimum`` of two floats, for kernels: NaN if either is NaN (``min`` is not)."""
    return a if a <= b or a != a else b


def span(mask: np.ndarray) -> slice | np.ndarray:
    """The indices where ``mask`` holds: a slice when they are contiguous (a view, no gather)."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return slice(0, 0)
    if idx[-1] - idx[0] + 1 == len(idx):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


def position_ceilings(model: CoercionModel) -> tuple[np.ndarray, np.ndarray]:
    """Dependence ceilings per position: the final level (NaN: none) and the step by which
    it is reached (0: at once). Used by the market (receipts cap) and diversification."""
    e, cfg = model.eco, model.config
    n_com = len(e.commodities)
    final = np.full(e.n_cc, np.nan)
    end = np.zeros(e.n_cc)
    for k, country in enumerate(e.countries):
        pol = cfg.policy_of(country)
        for j, com in enumerate(e.commodities):
            c = cfg.ceiling_of(country, com)
            if c is not None:
                final[k * n_com + j] = c
                end[k * n_com + j] = cfg.step_of(pol.dependence_ceiling_date) if pol.dependence_ceiling_date else 0
    cc = e.pos_cc
    buyer = e.pos_kind != 2
    return np.where(buyer, final[cc], np.nan), end[cc]


def ceiling_at(final: np.ndarray, end: np.ndarray, t: int) -> np.ndarray:
    """Ceilings in force at step ``t`` (1 where none): linear from 1 to the final level."""
    left = np.where(end > 0, np.clip(1.0 - (t + 1) / np.maximum(end, 1), 0.0, 1.0), 0.0)
    return np.where(np.isnan(final), 1.0, final + (1.0 - np.nan_to_num(final)) * left)


class SettledPath:
    """``value(t)`` of a path that stops moving once every phase-in is over (``t + 1 >= settled``,
    with ``settled`` the latest end step): computed each step before, once for all steps after.
    Policy ramps (ceilings, stockpile and recycling targets) are such paths.

    The array returned is shared between calls: read it, do not modify it.
    """

    def __init__(self, value: Callable[[int], np.ndarray], ends: np.ndarray):
        self.value = value
        self.settled = int(np.ceil(np.max(ends, initial=0)))
        self._final: np.ndarray | None = None

    def at(self, t: int) -> np.ndarray:
        if t + 1 < self.settled:
            return self.value(t)
        if self._final is None:
            self._final = self.value(t)
        return self._final


def ceiling_path(final: np.ndarray, end: np.ndarray) -> SettledPath:
    """:func:`ceiling_at` of fixed ``final`` and ``end`` arrays, step by step."""
    return SettledPath(lambda t: ceiling_at(final, end, t), end)
