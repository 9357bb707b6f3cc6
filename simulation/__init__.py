"""coercion-sim: an agent-based model of economic coercion through export controls.

Public API: ``CoercionModel``, ``load_config``, ``run``, ``run_sweep``.
"""

from simulation.config import load_config
from simulation.model import CoercionModel
from simulation.runner import run
from simulation.sweep.loop import run_sweep

__version__ = "0.1.0"
__all__ = ["CoercionModel", "load_config", "run", "run_sweep", "__version__"]
