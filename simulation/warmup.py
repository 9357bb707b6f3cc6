"""Loads the compiled kernels into this process: imported by the sweep's fork server.

The mechanisms' kernels (numba, cached on disk) are loaded on first call, about 0.3 s per
process. The fork server of the local worker pool imports this module once (see
``simulation.sweep.executors.WORKER_PRELOAD``); each worker forked from it then starts with the kernels in
memory. A failure here only means the workers load them themselves: it is not raised.
"""

from __future__ import annotations


def warm_kernels(steps: int = 4) -> bool:
    """Run the default scenario for ``steps`` weeks; True when it ran."""
    try:
        from simulation.config import load_config
        from simulation.model import CoercionModel

        CoercionModel(load_config(steps=steps)).run_model()
    except Exception:  # noqa: BLE001 - an optimization only; workers load the kernels on first call
        return False
    return True


warm_kernels()
