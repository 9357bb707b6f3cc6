"""The browser view without a browser: ``solara.render`` builds the page's widget tree in-process."""

from __future__ import annotations

import functools
import subprocess
import sys
import time

import ipyvuetify as v
import ipywidgets
import pytest
import solara

from simulation.cli import main
from simulation.config import ConfigError
from simulation.viz import app, charts
from simulation.viz.charts import CHARTS
from simulation.viz.server import CONFIG_ENV, STEPS_ENV
from tests.conftest import KOREA, ROOT, TINY

STEPS = 20  # a short run keeps the tests fast; the page behaves the same at any horizon


def _render(model):
    # SolaraViz puts its controls in solara.Sidebar/AppBar, which only appear inside an
    # AppLayout (the server adds one around Page)
    return solara.render(solara.AppLayout(children=[app.View(model)]), handle_error=False)


def _images(rc) -> list[bytes]:
    return [bytes(w.value) for w in rc.find(ipywidgets.Image).widgets]


def _slider(rc, name: str):
    lever = next(lv for lv in app.LEVERS if lv.name == name)
    hits = [w for w in rc.find(v.Slider).widgets if lever.label in w.label]
    assert len(hits) == 1, [w.label for w in rc.find(v.Slider).widgets]
    return hits[0]


@pytest.fixture
def created(monkeypatch) -> list[app.ViewModel]:
    """Every ViewModel built, in order (Reset builds one through ``__init__``)."""
    models = []
    init = app.ViewModel.__init__

    @functools.wraps(init)  # SolaraViz reads the signature of __init__
    def spy(self, *args, **kwargs):
        init(self, *args, **kwargs)
        models.append(self)

    monkeypatch.setattr(app.ViewModel, "__init__", spy)
    return models


def test_step_advances_the_model_and_redraws_every_chart():
    model = app.ViewModel(steps=STEPS)
    _, rc = _render(model)
    rc.find(children=["Time: 0.0"]).assert_single()
    before = _images(rc)
    assert len(before) == len(CHARTS) and all(b[:4] == b"\x89PNG" for b in before)

    step = rc.find(v.Btn, children=["Step"]).widget
    timings = []
    for _ in range(5):
        t0 = time.perf_counter()
        step.click()
        timings.append(time.perf_counter() - t0)

    assert model.t == 5 and model.steps == 5
    assert model.recorder.series["escalation_level"][:5].max() > 0  # japan_2026 escalates in week 1
    rc.find(children=["Time: 5.0"]).assert_single()
    after = _images(rc)
    assert [a != b for a, b in zip(after, before, strict=True)] == [True] * len(CHARTS)
    print("\nStep click (model.step + all charts drawn), solara.render: "
          + ", ".join(f"{s * 1000:.0f} ms" for s in timings))


def test_sliders_start_at_the_config_values_and_reset_applies_the_controls(created):
    model = app.ViewModel(steps=STEPS)
    _, rc = _render(model)
    cfg = model.config
    approval = _slider(rc, "approval_probability")
    enforcement = _slider(rc, "boycott_enforcement")
    stockpile = _slider(rc, "stockpile_target_days")
    for lever, slider in zip(app.LEVERS, (approval, enforcement, stockpile), strict=True):
        assert slider.v_model == app.lever_value(cfg, lever)
    assert rc.find(v.Select, label="Scenario").widget.v_model == "japan_2026"
    assert rc.find(v.Select, label="Strategy").widget.v_model == cfg.strategy.name
    assert rc.find(v.TextField, label="Seed").widget.v_model == str(cfg.run.seed)
    rc.find(v.Btn, children=["Step"]).widget.click()

    # what the browser does when the controls are moved
    approval.v_model = 0.1
    stockpile.v_model = 150
    rc.find(v.Select, label="Scenario").widget.v_model = "korea_coerced"
    rc.find(v.Select, label="Strategy").widget.v_model = "stockpile_100"
    seed = rc.find(v.TextField, label="Seed").widget
    seed.v_model = "7"
    seed.fire_event("keyup.enter")
    rc.find(v.Btn, children=["Reset"]).widget.click()

    new = created[-1]
    assert new is not model
    ncfg = new.config
    assert (ncfg.scenario.name, ncfg.strategy.name, ncfg.run.seed, ncfg.n_steps) == (
        "korea_coerced", "stockpile_100", 7, STEPS)
    assert app.lever_value(ncfg, app.LEVERS[0]) == 0.1
    assert ncfg.policy_of("KR").stockpile_target_days == 150  # the slider wins over the strategy's 100
    assert app.lever_value(ncfg, app.LEVERS[1]) == app.lever_value(cfg, app.LEVERS[1])  # untouched
    rc.find(children=["Time: 0.0"]).assert_single()
    rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(children=["Time: 1.0"]).assert_single()
    assert new.t == 1 and model.t == 1


def test_reset_with_untouched_controls_rebuilds_the_same_config(created):
    model = app.ViewModel(steps=STEPS)
    _, rc = _render(model)
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert created[-1] is not model
    assert created[-1].config == model.config


def test_levers_change_only_what_they_name():
    base = app.view_config(steps=STEPS)
    assert app.view_config(steps=STEPS, approval_probability=None, stockpile_target_days=0) == base
    cfg = app.view_config(steps=STEPS, approval_probability=0.9, boycott_enforcement=0.05,
                          stockpile_target_days=120)
    approval, enforcement, stockpile = app.LEVERS
    i, j = app.find_measure(base, approval)
    assert cfg.escalation.levels[i].measures[j].approval_probability == 0.9
    k, m = app.find_measure(base, enforcement)
    assert cfg.escalation.levels[k].measures[m].enforcement == 0.05
    changed = {(i, j), (k, m)}
    for a, (la, lb) in enumerate(zip(base.escalation.levels, cfg.escalation.levels, strict=True)):
        for b, (ma, mb) in enumerate(zip(la.measures, lb.measures, strict=True)):
            assert (ma == mb) != ((a, b) in changed)
    assert cfg.policy_of(base.scenario.target).stockpile_target_days == 120
    assert cfg.world == base.world  # set through the strategy's levers, the world is untouched


def test_view_config_reports_bad_input():
    with pytest.raises(ValueError):
        app.view_config(seed="seven")
    with pytest.raises(ConfigError, match="no_such_strategy"):
        app.view_config(strategy="no_such_strategy")


def test_every_chart_draws_before_the_first_step_and_at_the_end():
    model = app.ViewModel(steps=3)
    for _ in range(2):
        for draw in CHARTS:
            assert charts.png(draw(model))[:4] == b"\x89PNG", draw.__name__
        model.run_model()
    assert model.t == 3


def test_page_builds_its_model_from_the_config_given_to_simulation_view(monkeypatch):
    monkeypatch.setenv(CONFIG_ENV, str(KOREA))
    monkeypatch.setenv(STEPS_ENV, "12")
    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    assert rc.find(v.Select, label="Scenario").widget.v_model == "korea_coerced"
    rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(children=["Time: 1.0"]).assert_single()
    assert rc.find(v.Html, children=["Week 1 of 12 (2026-03-09)"]).widgets


def test_the_cli_checks_the_config_and_keeps_solara_out_of_simulation_run(capsys, tmp_path):
    assert main(["view", "no/such/config.toml"]) == 2
    assert "file not found" in capsys.readouterr().err
    argv = ["run", str(TINY), "--steps", "2", "--no-figures", "--out", str(tmp_path / "run")]
    code = (f"import sys; from simulation.cli import main\nassert main({argv!r}) == 0\n"
            "assert 'solara' not in sys.modules, 'simulation run imported solara'")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
