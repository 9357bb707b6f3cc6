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


@kernel
def np_sum(a):
    """``np.sum`` of a contiguous 1-d float array, bit for bit: numpy's pairwise summation (up to
    128 values in one block, :func:`_block`; longer runs split in halves, each a multiple of 8,
    summed separately and added; done here with a stack, as numba caches no recursive function).
    ``tests/test_kernels.py`` checks it against numpy."""
    n = len(a)
    if n <= 128:  # numpy adds the pairwise sum to its identity, 0.0 (so -0.0 values sum to 0.0)
        return 0.0 + _block(a, 0, n)
    # the split tree, depth first: each frame's start, length, whether its left half is done, and its sum
    start, length = np.empty(64, np.int64), np.empty(64, np.int64)
    left_done, left = np.zeros(64, np.bool_), np.empty(64)
    top = 0
    start[0], length[0], left_done[0] = 0, n, False
    while True:
        if length[top] > 128:  # a fresh frame to split: its left half first
            half = length[top] // 2
            half -= half % 8
            start[top + 1], length[top + 1], left_done[top + 1] = start[top], half, False
            top += 1
            continue
        v = _block(a, start[top], length[top])
        while True:  # hand the sum up: a left half waits for its right half, a right half completes its parent
            top -= 1
            if top < 0:
                return 0.0 + v
            if not left_done[top]:
                left[top], left_done[top] = v, True
                half = length[top] // 2
                half -= half % 8
                start[top + 1], length[top + 1], left_done[top + 1] = start[top] + half, length[top] - half, False
                top += 1
                break
            v = left[top] + v


@kernel
def _block(a, lo, n):
    """numpy's pairwise sum of ``n <= 128`` values from ``lo``: fewer than 8 in order, else eight
    interleaved partial sums, combined in pairs, then the rest in order."""
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = lo + 8
    end = lo + n - n % 8
    while i < end:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < lo + n:
        res += a[i]
        i += 1
    return res


def span(mask: np.ndarray) -> slice | np.ndarray:
    """The indices where ``mask`` holds: a slice when they are contiguous (a view, no gather)."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return slice(0, 0)
    if idx[-1] - idx[0] + 1 == len(idx):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


# ------------------------------------------------------------------ references
# Every kernel has a plain-numpy reference beside it: the same inputs (named bundles of
# arrays), the same outputs and in-place updates. The reference documents the logic; a check
# mode runs both at every call and compares them (tests/test_references.py).

_checking = False


class KernelMismatch(AssertionError):
    """A kernel and its reference disagreed on one call."""


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple bundle
        return type(value)(*(_copy(v) for v in value))
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    return value


def _leaves(value, name: str):
    """(name, array or scalar) of every array and number in a value, bundles unpacked."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        for field, v in zip(value._fields, value, strict=True):
            yield from _leaves(v, f"{name}.{field}")
    elif isinstance(value, tuple):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{name}[{i}]")
    elif value is not None:
        yield name, value


def _close(a, b, rtol: float, atol: float) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))
    return bool(np.array_equal(a, b))


def compare_calls(name: str, compiled, reference, args: tuple, rtol: float = 1e-9, atol: float = 1e-9):
    """Call ``compiled`` on ``args`` and ``reference`` on a copy; raise :class:`KernelMismatch`
    naming the first output or updated argument that differs. Returns the compiled result
    (its in-place updates are those that stand)."""
    ref_args = _copy(args)
    got = compiled(*args)
    want = reference(*ref_args)
    got_leaves, want_leaves = list(_leaves(got, "returned")), list(_leaves(want, "returned"))
    if len(got_leaves) != len(want_leaves):
        raise KernelMismatch(f"{name}: the kernel returns {len(got_leaves)} values, the reference {len(want_leaves)}")
    for (label, a), (_, b) in zip(got_leaves, want_leaves, strict=True):
        if not _close(a, b, rtol, atol):
            raise KernelMismatch(f"{name}: {label} differs between kernel and reference")
    for i, (a, b) in enumerate(zip(args, ref_args, strict=True)):
        for (label, x), (_, y) in zip(_leaves(a, f"argument {i}"), _leaves(b, f"argument {i}"), strict=True):
            if isinstance(x, np.ndarray) and not _close(x, y, rtol, atol):
                raise KernelMismatch(f"{name}: {label} is updated differently by kernel and reference")
    return got


def implementation(compiled, reference):
    """What a mechanism calls for one kernel: ``compiled``, or, for models built inside
    :func:`checking`, a call that runs both the kernel and its plain-numpy ``reference`` and
    compares them."""
    if not _checking:
        return compiled
    name = getattr(compiled, "__name__", "kernel")
    return lambda *args: compare_calls(name, compiled, reference, args)


class checking:  # noqa: N801 - used as a context manager, like a function
    """Models built inside ``with checking():`` compare every kernel call with its reference."""

    def __enter__(self):
        global _checking
        self._before, _checking = _checking, True
        return self

    def __exit__(self, *exc):
        global _checking
        _checking = self._before
        return False
