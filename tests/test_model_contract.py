"""The model's contract with its mechanisms: one declared order, a declared context, lazy firms."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np

from simulation.agents import Manufacturer, Producer
from simulation.mechanisms.base import Mechanism
from simulation.model import MECHANISMS, CoercionModel, schedule
from simulation.population import MANUFACTURER, PRODUCER

ROOT = Path(__file__).resolve().parent.parent
MECHANISM_DIR = ROOT / "simulation" / "mechanisms"


def test_the_order_is_one_tuple_and_the_docs_say_the_same(tiny):
    names = [m.name for m in MECHANISMS]
    assert schedule() == ["states"] + names + ["record"]
    model = CoercionModel(tiny)
    assert list(model.mechanisms) == names  # built in that order, and stepped in it
    odd = (ROOT / "docs" / "ODD.md").read_text()
    process = odd[odd.index("## 3. Process overview"):odd.index("## 4. Design concepts")]
    assert re.findall(r"^\d+\. `(\w+)`", process, re.M) == schedule()
    submodels = odd[odd.index("## 7. Submodels"):]
    files = re.findall(r"^- \*\*[^*]+\*\* \(`(\w+)\.py`\)", submodels, re.M)
    assert files == [m.__module__.rsplit(".", 1)[1] for m in MECHANISMS]
    assert re.findall(r"^\s+\d+\. ``(\w+)``", CoercionModel.step.__doc__, re.M) == schedule()


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_mechanisms_import_no_other_mechanism_and_never_the_model():
    for path in sorted(MECHANISM_DIR.glob("*.py")):
        if path.name in ("__init__.py", "base.py"):
            continue
        mods = _imports(path)
        others = {m for m in mods if m.startswith("simulation.mechanisms.") and m != "simulation.mechanisms.base"}
        assert not others, f"{path.name} imports {others}"
        assert "simulation.model" not in mods and "simulation.metrics" not in mods, path.name
        assert "self.model" not in path.read_text(), f"{path.name} reaches the model"


def test_a_mechanism_sees_only_its_context(tiny):
    model = CoercionModel(tiny)
    for mech in model.mechanisms.values():
        assert isinstance(mech, Mechanism)
        assert not hasattr(mech, "model")
        assert mech.state is model.state and mech.signals is model.signals and mech.eco is model.eco
        for value in vars(mech).values():
            assert not isinstance(value, Mechanism | CoercionModel)


def test_firms_are_mesa_agents_created_on_first_access(tiny):
    model = CoercionModel(tiny)
    n_agents = len(model.agents)
    assert n_agents == len(model.states)  # no firm agent built up front
    assert len(model.firms) == model.eco.n_firms and model.firms.n_created == 0
    e = model.eco
    i = int(np.flatnonzero(e.firm_kind == PRODUCER)[0])
    producer = model.firms[i]
    assert isinstance(producer, Producer) and producer.model is model
    assert producer.capacity_t_per_week == e.firm_capacity_t[i] * model.state.capacity_factor[i]
    assert model.firms[i] is producer and len(model.agents) == n_agents + 1
    j = int(np.flatnonzero(e.firm_kind == MANUFACTURER)[-1])
    assert isinstance(model.firms[j - e.n_firms], Manufacturer)  # negative indices count from the end
    model.step()
    assert model.firms[j].output_loss_share == model.state.firm_output_loss_share[j]
