"""coercion-sim: an agent-based model of economic coercion through export controls.

Public API: ``CoercionModel``, ``load_config``, ``run``, ``run_sweep``.

They are loaded on first use (PEP 562: the module ``__getattr__`` below imports the module
that defines the name, then keeps it here), so that ``import simulation`` -- which
``python -m simulation`` and the ``simulation`` command do first -- stays light and
``simulation --help`` does not import numpy, pandas, Mesa or numba.
``from simulation import CoercionModel`` works as usual.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for type checkers and IDEs; at run time, __getattr__ below
    from simulation.config import load_config
    from simulation.model import CoercionModel
    from simulation.runner import run
    from simulation.sweep.loop import run_sweep

__version__ = "0.1.0"
__all__ = ["CoercionModel", "load_config", "run", "run_sweep", "__version__"]

_LAZY = {  # public name -> the module that defines it
    "CoercionModel": "simulation.model",
    "load_config": "simulation.config",
    "run": "simulation.runner",
    "run_sweep": "simulation.sweep.loop",
}


def __getattr__(name: str):
    """Import a public name on first use (called only for names not yet in this module)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
