"""Compiled kernels: the decorator and the helpers every kernel shares.

A kernel is a loop over flat arrays compiled to machine code with numba (:func:`kernel`).
Mechanisms (``simulation/mechanisms``) and the recorder (``simulation/metrics``) use them;
both import from here, the lowest layer of the model's code.
"""

from __future__ import annotations

import numba
import numpy as np


def kernel(fn):
    """Compile ``fn`` (a loop over flat arrays) to machine code with numba.

    Kernels keep numpy's float semantics, so that they give the same results, bit for bit,
    as their plain-numpy references: no fast-math (no reordered sums, no fused
    multiply-adds), and a division by zero gives inf or nan (``error_model="numpy"``)
    instead of raising. Sums run in index order, as ``np.bincount`` adds. Compiled code is
    cached on disk (``__pycache__`` beside the source, else numba's user cache directory, or
    ``NUMBA_CACHE_DIR``), so only the first run after a change compiles; where no directory
    is writable, each process compiles for itself. numba refreshes a kernel's cache when the
    kernel's own file changes, not when a kernel it calls from another file does: after
    changing :func:`maximum` or :func:`minimum` here, delete the ``__pycache__`` folders of
    ``simulation/`` and ``simulation/mechanisms/``.
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
