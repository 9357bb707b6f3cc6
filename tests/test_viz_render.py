"""The browser view without a browser: ``solara.render`` builds the page's widget tree in-process."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import threading
from pathlib import Path

import ipyvuetify as v
import ipywidgets
import numpy as np
import pytest
import solara

from simulation.cli import main
from simulation.config import ConfigError, load_config
from simulation.display import full_name
from simulation.model import CoercionModel
from simulation.population import POS_TRADER
from simulation.viz import app, charts
from simulation.viz.server import COMPARE_ENV, CONFIG_ENV, STEPS_ENV, STRATEGY_ENV
from simulation.viz.widget import VegaChart, assets_dir, vega_libs
from tests.conftest import KOREA, ROOT, TINY, refused

STEPS = 20  # a short run keeps the tests fast; the page behaves the same at any horizon


def _render(model):
    # the server puts every page inside an AppLayout (it holds the AppBar)
    return solara.render(solara.AppLayout(children=[app.View(model)]), handle_error=False)


def _charts(rc) -> dict[str, VegaChart]:
    return {w.name: w for w in rc.find(VegaChart).widgets}


def _data(widget: VegaChart) -> dict:
    return json.loads(widget.chart_data)


def _widgets(rc) -> list:
    """Every widget of the page, depth first."""
    out, todo, seen = [], [rc.container], set()
    while todo:
        w = todo.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        out.append(w)
        todo.extend(c for c in reversed(getattr(w, "children", None) or []) if isinstance(c, ipywidgets.Widget))
    return out


def _texts(rc) -> list[str]:
    """Every string child of the page's elements (what the page says in words)."""
    return [c for w in _widgets(rc) for c in (getattr(w, "children", None) or []) if isinstance(c, str)]


def _html(rc) -> str:
    """The markup of the page's raw-HTML elements (tables, lists), joined."""
    return " ".join(w.unsafe_innerHTML for w in _widgets(rc) if isinstance(w, solara.widgets.HTML))


def _slider(rc, name: str):
    lever = next(lv for lv in app.LEVERS if lv.name == name)
    names = [lv.name for lv in app.LEVERS]
    sliders = rc.find(v.Slider).widgets
    assert len(sliders) == len(names)
    return sliders[names.index(lever.name)]


def _select(rc, label: str):
    return rc.find(v.Select, label=label).widget


@pytest.fixture
def created(monkeypatch) -> list[app.ViewModel]:
    """Every ViewModel built, in order (Reset builds one through ``__init__``)."""
    models = []
    init = app.ViewModel.__init__

    @functools.wraps(init)  # Mesa's Reset reads the signature of __init__
    def spy(self, *args, **kwargs):
        init(self, *args, **kwargs)
        models.append(self)

    monkeypatch.setattr(app.ViewModel, "__init__", spy)
    return models


def test_step_advances_both_runs_and_sends_every_chart_its_new_data():
    model = app.ViewModel(strategy="stockpile_100", compare="baseline", steps=STEPS)
    _, rc = _render(model)
    widgets = _charts(rc)
    assert set(widgets) == {c.name for c in charts.CHARTS}
    before = {name: w.chart_data for name, w in widgets.items()}
    assert all(_data(w)["version"] == 0 for w in widgets.values())
    specs = {name: w.spec for name, w in widgets.items()}

    step = rc.find(v.Btn, children=["Step"]).widget
    for _ in range(5):
        step.click()

    assert (model.t, model.other.t) == (5, 5)
    assert model.recorder.series["escalation_level"][:5].max() > 0  # japan_2026 escalates in week 1
    widgets = _charts(rc)
    for name, w in widgets.items():
        assert _data(w)["version"] == 5 and w.chart_data != before[name], name
        assert w.spec == specs[name], f"{name}: a step re-sent the spec"
    loss = _data(widgets["loss"])["sets"]["loss"]
    assert set(loss["strategy"]) == {"stockpile_100", "baseline"}  # compare mode: both drawn
    assert "Week 5 of 20 (2025-12-12)" in _texts(rc)  # the one clock
    texts = " ".join(_texts(rc))
    for stray in ("Time:", "Use Threads", "Page 0", "Render Interval"):  # Mesa's own labels are not shown
        assert stray not in texts
    assert not rc.find(v.Tabs).widgets and not rc.find(v.Checkbox).widgets


def _rows(sets: dict) -> dict[str, list[tuple]]:
    return {name: sorted(zip(*cols.values(), strict=True)) for name, cols in sets.items()}


def test_a_step_sends_the_last_weeks_and_the_browser_side_merge_gives_the_whole_data():
    model = app.ViewModel(scenario_name="korea_coerced", strategy="stockpile_100", compare="baseline", steps=STEPS)
    _, rc = _render(model)
    held = {name: _rows(_data(w)["sets"]) for name, w in _charts(rc).items()}  # what a browser holds
    assert all(_data(w)["since"] == 0 for w in _charts(rc).values())
    step = rc.find(v.Btn, children=["Step"]).widget
    for week in range(1, 8):
        step.click()
        for chart in charts.CHARTS:
            sent = _data(_charts(rc)[chart.name])
            assert sent["version"] == week
            if not chart.timeseries:
                assert sent["since"] == 0
                held[chart.name] = _rows(sent["sets"])
                continue
            assert sent["since"] == max(week - app.TAIL_WEEKS, 0), chart.name
            for name, cols in sent["sets"].items():  # as vega's changeset: remove i >= since, insert
                i_at = list(cols).index("i")
                kept = [r for r in held[chart.name][name] if r[i_at] < sent["since"]]
                held[chart.name][name] = sorted(kept + _rows({name: cols})[name])
    for chart in charts.CHARTS:
        whole = chart.data(model.runs(), None, 0) if chart.timeseries else chart.data(model.runs(), None)
        assert held[chart.name] == _rows(whole), chart.name
        assert len(_charts(rc)[chart.name].chart_data) <= len(json.dumps(whole)) or not chart.timeseries
    # a browser that lacks the earlier weeks asks for the whole data
    widget = _charts(rc)["loss"]
    widget.vue_request_full()
    assert _data(widget)["since"] == 0 and _rows(_data(widget)["sets"]) == _rows(charts.loss_data(model.runs(), None))


def test_a_step_waits_while_the_page_reads_the_runs():
    model = app.ViewModel(strategy="stockpile_100", compare="baseline", steps=3)
    reading, done_reading = threading.Event(), threading.Event()

    def page_reads():  # as a chart computing its data in the server's thread while Play steps
        with model.lock:
            reading.set()
            done_reading.wait(30)

    reader = threading.Thread(target=page_reads)
    reader.start()
    assert reading.wait(30)
    stepper = threading.Thread(target=model.step)
    stepper.start()
    stepper.join(0.5)
    assert stepper.is_alive() and (model.t, model.other.t) == (0, 0)  # it cannot step mid-read
    done_reading.set()
    stepper.join(30)
    reader.join(30)
    assert (model.t, model.other.t) == (1, 1)


def test_the_run_card_says_when_the_run_is_over():
    model = app.ViewModel(steps=3)
    _, rc = _render(model)
    assert not any("Run complete" in t for t in _texts(rc))
    step = rc.find(v.Btn, children=["Step"]).widget
    for _ in range(3):
        step.click()
    assert any(t.startswith("Run complete: all 3 weeks done") for t in _texts(rc))
    assert rc.find(v.Btn, children=["Step"]).widget.disabled  # Mesa's controller: nothing left to run


def test_the_compared_run_is_the_same_scenario_and_seed_stepped_as_if_alone():
    model = app.ViewModel(scenario_name="korea_coerced", strategy="stockpile_100", compare="baseline", seed=11,
                          steps=12, approval_probability=0.2, stockpile_target_days=150)
    other = model.other
    assert other.config.scenario == model.config.scenario and other.config.run.seed == 11
    assert other.config.strategy.name == "baseline"
    assert model.config.policy_of("KR").stockpile_target_days == 150
    # the ladder's levers apply to both runs, the strategy's lever only to the chosen one
    assert app.lever_value(other.config, app.LEVERS[0]) == 0.2
    assert other.config == app.view_config("korea_coerced", "baseline", 11, 12, approval_probability=0.2)
    alone = CoercionModel(other.config)
    model.run_model()
    alone.run_model()
    for name, series in alone.recorder.series.items():  # stepping beside another run changes nothing
        np.testing.assert_array_equal(other.recorder.series[name], series, err_msg=name)
    assert app.ViewModel(strategy="baseline", compare="baseline", steps=3).other is None
    assert app.ViewModel(strategy="baseline", compare=None, steps=3).other is None


def test_the_difference_card_gives_both_losses_and_their_difference():
    weeks = 150  # Korea's losses start with the trade measures; on seed 7 China climbs past the secondary
    # boycott and Korea's minerals run short under the baseline, not with its stockpile (on the scenario's
    # own seed China holds at the boycott, which Korea's buffers carry: both runs lose the same)
    model = app.ViewModel(scenario_name="korea_coerced", strategy="stockpile_100", compare="baseline", steps=weeks,
                          seed=7)
    for _ in range(weeks):
        model.step()
    _, rc = _render(model)
    a, b = app.loss_of(model), app.loss_of(model.other)
    assert a > 0 and b > 0 and a != b
    gdp = model.config.world.countries["KR"].gdp_lcu_per_year
    assert a == pytest.approx(model.recorder.series["output_loss"][:weeks, model.eco.target].sum() / gdp * 100)
    texts = _texts(rc)
    assert f"stockpile_100 (solid): {a:.3f}% of GDP" in texts and f"baseline (dashed): {b:.3f}% of GDP" in texts
    html = _html(rc)
    assert f"<b>{a - b:+.3f} points</b>" in html


def test_sliders_start_at_the_strategy_values_and_follow_a_new_strategy(created):
    model = app.ViewModel(scenario_name="korea_coerced", steps=STEPS)
    _, rc = _render(model)
    cfg = model.config
    for lever in app.LEVERS:
        assert _slider(rc, lever.name).v_model == app.lever_value(cfg, lever)
        shown = f"{lever.label}: {app.lever_value(cfg, lever):{'.0f' if lever.step >= 1 else '.2f'}}"
        assert shown in _texts(rc)  # each slider shows its value
    assert _select(rc, "Compare with").v_model == app.NO_COMPARE  # the baseline: nothing to compare with

    _select(rc, "Strategy").v_model = "stockpile_100"
    assert _slider(rc, "stockpile_target_days").v_model == 100  # the strategy's own target
    assert "Target stockpile days: 100" in _texts(rc)
    assert _select(rc, "Compare with").v_model == "baseline"  # compare mode's default partner
    rc.find(v.Btn, children=["Reset"]).widget.click()
    new = created[-1]
    assert new.config.strategy.name == "stockpile_100" and new.config.policy_of("KR").stockpile_target_days == 100
    assert new.other is not None and new.other.config.strategy.name == "baseline"

    _slider(rc, "approval_probability").v_model = 0.1
    _slider(rc, "stockpile_target_days").v_model = 150
    assert "Licence approval: 0.10" in _texts(rc)
    rc.find(v.Btn, children=["Reset"]).widget.click()
    ncfg = created[-1].config
    assert app.lever_value(ncfg, app.LEVERS[0]) == 0.1 and ncfg.policy_of("KR").stockpile_target_days == 150
    assert app.lever_value(ncfg, app.LEVERS[1]) == app.lever_value(cfg, app.LEVERS[1])  # untouched
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert created[-1].t == 1 and created[-1].other.t == 1


def test_the_seed_follows_the_scenario_unless_the_user_sets_it(created):
    model = app.ViewModel(steps=STEPS)
    _, rc = _render(model)
    japan, korea = app.scenario_seed("japan_2026"), app.scenario_seed("korea_coerced")
    assert japan != korea and model.config.run.seed == japan
    seed = rc.find(v.TextField, label="Seed").widget
    assert seed.v_model == "" and seed.messages == [f"blank: the scenario's ({japan})"]
    _select(rc, "Scenario").v_model = "korea_coerced"
    assert rc.find(v.TextField, label="Seed").widget.messages == [f"blank: the scenario's ({korea})"]
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert created[-1].config.run.seed == korea

    seed = rc.find(v.TextField, label="Seed").widget
    seed.v_model = "7"
    seed.fire_event("keyup.enter")
    _select(rc, "Scenario").v_model = "japan_2026"
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert (created[-1].config.scenario.name, created[-1].config.run.seed) == ("japan_2026", 7)


def test_reset_with_untouched_controls_rebuilds_the_same_runs(created):
    model = app.ViewModel(strategy="stockpile_100", compare="baseline", steps=STEPS)
    _, rc = _render(model)
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert created[-1] is not model
    assert created[-1].config == model.config and created[-1].other.config == model.other.config


def test_the_commodity_selector_redraws_the_commodity_charts_for_that_commodity():
    model = app.ViewModel(scenario_name="korea_coerced", steps=STEPS)
    _, rc = _render(model)
    for _ in range(6):
        rc.find(v.Btn, children=["Step"]).widget.click()
    before = {name: w.spec for name, w in _charts(rc).items()}
    assert "High-purity manganese sulphate" in _select(rc, "Commodity shown").items
    _select(rc, "Commodity shown").v_model = "High-purity manganese sulphate"
    widgets = _charts(rc)
    for chart in charts.CHARTS:
        assert (widgets[chart.name].spec != before[chart.name]) == chart.uses_commodity, chart.name
    assert "High-purity manganese sulphate" in json.loads(widgets["shortage"].spec)["title"]
    # Korea's line is its hpmsm pair's shortage share, week by week
    rec, e = model.recorder, model.eco
    k, c = e.countries.index("KR"), e.commodities.index("hpmsm")
    j = charts.pair_index(model)[(k, c)]
    demand, supplied = rec.series["demand_t"][:6, j], rec.series["supplied_t"][:6, j]
    expected = np.where(demand > 0, np.maximum(demand - supplied, 0) / np.where(demand > 0, demand, 1), 0)
    rows = _data(widgets["shortage"])["sets"]["shortage"]
    got = [val for val, country in zip(rows["value"], rows["country"], strict=True) if country == "Korea"]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    price = _data(widgets["price"])["sets"]["price"]
    assert set(price["series"]) == {"outside China", "inside China"}


def test_the_binding_commodity_is_the_one_losing_most_output_else_the_most_short(tiny):
    model = CoercionModel(tiny)
    model.step()
    model.step()
    rec, e = model.recorder, model.eco
    k = e.target
    rec.loss_by_commodity[:] = 0.0
    rec.series["supplied_t"][:] = rec.series["demand_t"]
    assert charts.binding_commodity(model, k) is None  # nothing short
    assert charts.binding_text(model, k) == "none short yet"
    rec.loss_by_commodity[0, k, -1] = 1.0  # a loss from trade measures only (the last column)
    assert charts.binding_commodity(model, k) is None
    assert charts.binding_text(model, k) == "no commodity short (its loss: China's trade measures)"
    rec.loss_by_commodity[:] = 0.0
    pairs = [(c, j) for (country, c), j in charts.pair_index(model).items() if country == k]
    (c1, j1), (c2, j2) = pairs[:2]
    rec.series["supplied_t"][:2, j1] = 0.9 * rec.series["demand_t"][:2, j1]  # 10% short
    rec.series["supplied_t"][:2, j2] = 0.5 * rec.series["demand_t"][:2, j2]  # 50% short
    assert charts.binding_commodity(model, k) == c2  # no loss yet: the largest shortage share
    rec.loss_by_commodity[1, k, c1] = 5.0  # the loss is attributed to the other one
    assert charts.binding_commodity(model, k) == c1
    rec.loss_by_commodity[0, k, c2] = 4.0
    rec.loss_by_commodity[1, k, c2] = 2.0  # summed over the weeks: 6 > 5
    assert charts.binding_commodity(model, k) == c2


def test_the_binding_card_names_full_commodity_names_per_country():
    model = app.ViewModel(scenario_name="korea_coerced", strategy="stockpile_100", compare="baseline", steps=52)
    for _ in range(52):  # Korea's losses start in week 45
        model.step()
    _, rc = _render(model)
    html = _html(rc)
    named = 0
    for _, run in model.runs():
        for k in charts.focus_countries(model):
            com = charts.binding_commodity(run, k)
            if com is not None:
                named += 1
                assert f">{charts.commodity_label(run, run.eco.commodities[com])}<" in html
    assert named and "<th" in html and "stockpile_100" in html and "baseline" in html


def test_full_names_and_the_glossary():
    assert full_name("High-purity manganese sulphate, t") == "High-purity manganese sulphate"
    assert full_name("Light rare earths (Nd/Pr), t REO") == "Light rare earths (Nd/Pr)"
    assert full_name("Automobiles and parts") == "Automobiles and parts"
    assert full_name("Nickel, tonnes, refined") == "Nickel, tonnes, refined"  # no ", t" unit: as it is
    model = app.ViewModel(steps=3)
    _, rc = _render(model)
    html = _html(rc)
    assert "<b>hpmsm</b>: High-purity manganese sulphate" in html
    assert "<b>Binding commodity</b>" in html and "<b>Transshipped</b>" in html
    widgets = _charts(rc)
    price = json.loads(widgets["price"].spec)
    assert "High-purity manganese sulphate" in price["encoding"]["color"]["scale"]["domain"]


def test_hub_reexports_are_normal_until_they_carry_controlled_chinese_material(tiny):
    model = CoercionModel(tiny)
    model.step()
    e, s = model.eco, model.state
    s.edge_controlled[:] = False
    s.edge_licensed[:] = False
    s.pos_controlled[:] = False
    hub_cn = e.edge_via_trader & (e.edge_origin == e.coercer) & (e.pos_kind[e.edge_pos] != POS_TRADER)
    assert hub_cn.any(), "the tiny world has Chinese material re-exported through a hub"
    statuses = {d["status"] for *_, d in model.country_graph().edges(data=True)}
    assert statuses == {"normal"}  # nothing controlled: hub re-exports are ordinary trade
    s.pos_controlled[e.edge_pos[hub_cn]] = True  # the buyers of those re-exports come under controls
    graph = model.country_graph()
    transshipped = {(a, b) for a, b, d in graph.edges(data=True) if d["status"] == "transshipped"}
    hub_pairs = {(e.countries[e.firm_country[e.edge_supplier[j]]], e.countries[e.pos_country[e.edge_pos[j]]])
                 for j in np.flatnonzero(hub_cn)}
    assert transshipped and transshipped <= hub_pairs


def test_the_firms_chart_counts_firms_by_output_lost_in_each_sector(tiny):
    model = app.ViewModel(scenario_name=str(TINY), steps=4)
    model.step()
    model.step()
    e = model.eco
    target_firms = np.flatnonzero((e.firm_sector >= 0) & (e.firm_country == e.target))
    assert len(target_firms) >= 4
    model.firm_loss_sum[:] = 0.0
    a, b, c = target_firms[:3]
    model.firm_loss_sum[a] = 2 * 0.03  # 3% lost on average over the two weeks: class 1-5%
    model.firm_loss_sum[b] = 2 * 0.6  # 60%: class 50% or more
    model.firm_loss_sum[c] = 2 * 0.005  # 0.5%: under 1%
    rows = charts.firms_data(model.runs(), None)["firms"]
    got = {}
    for lost, firms in zip(rows["lost"], rows["firms"], strict=True):
        got[lost] = got.get(lost, 0) + firms
    assert got["1-5%"] == 1 and got["50% or more"] == 1 and got["under 1%"] == 1
    assert got["none"] == len(target_firms) - 3 and sum(got.values()) == len(target_firms)
    for sector in set(rows["row"]):
        shares = [sh for row, sh in zip(rows["row"], rows["share"], strict=True) if row == sector]
        assert sum(shares) == pytest.approx(1.0, abs=1e-4)


def test_the_firms_chart_sums_each_week_of_every_run():
    model = app.ViewModel(scenario_name="korea_coerced", strategy="stockpile_100", compare="baseline", steps=3)
    sums = [np.zeros(model.eco.n_firms), np.zeros(model.other.eco.n_firms)]
    for _ in range(3):
        model.step()
        for total, (_, run) in zip(sums, model.runs(), strict=True):
            total += run.state.firm_output_loss_share
    for total, (_, run) in zip(sums, model.runs(), strict=True):
        np.testing.assert_allclose(run.firm_loss_sum, total)
        np.testing.assert_allclose(charts.firm_loss_share(run), total / 3)


def test_every_chart_spec_and_data_are_json_before_the_first_step_and_at_the_end():
    model = app.ViewModel(strategy="stockpile_100", compare="baseline", steps=3)
    for _ in range(2):
        for commodity in (None, "hpmsm"):
            for chart in charts.CHARTS:
                spec = json.loads(json.dumps(chart.spec(model.runs(), commodity), allow_nan=False))
                assert spec["width"] == "container", chart.name
                sets = chart.data(model.runs(), commodity)
                json.dumps(sets, allow_nan=False)
                for columns in sets.values():
                    assert len({len(col) for col in columns.values()}) <= 1, chart.name  # a table
        model.run_model()
    assert model.t == 3


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
    with pytest.raises(ValueError, match="not a whole number"):
        app.view_config(seed="seven")
    with pytest.raises(ConfigError, match="no_such_strategy"):
        app.view_config(strategy="no_such_strategy")
    assert app.parse_seed("  ") is None and app.parse_seed(" 12 ") == 12


def test_page_builds_its_models_from_the_command_line(monkeypatch):
    monkeypatch.setenv(CONFIG_ENV, str(KOREA))
    monkeypatch.setenv(STEPS_ENV, "12")
    monkeypatch.setenv(STRATEGY_ENV, "stockpile_100")
    monkeypatch.delenv(COMPARE_ENV, raising=False)
    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    assert _select(rc, "Scenario").v_model == "korea_coerced"
    assert _select(rc, "Strategy").v_model == "stockpile_100"
    assert _select(rc, "Compare with").v_model == "baseline"  # the default partner
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert "Week 1 of 12 (2026-03-09)" in _texts(rc)
    monkeypatch.setenv(COMPARE_ENV, "none")
    assert app.initial_kwargs()["compare"] is None


def test_the_charts_load_vega_from_the_local_front_end_files():
    libs = vega_libs()
    assert set(libs) == {"vega", "vega-lite", "vega-embed", "requirejs"}
    for path in libs.values():
        assert (assets_dir() / path).is_file(), path
    template = Path(app.__file__).with_name("vega_chart.vue").read_text()
    assert "http" not in template.split("-->", 1)[1]  # no URL of its own: only the local ones above


def test_the_cli_checks_the_config_and_keeps_solara_out_of_simulation_run(capsys, tmp_path):
    assert main(["view", "no/such/config.toml"]) == 2
    assert "file not found" in capsys.readouterr().err
    refused(capsys, main(["view", "--strategy", "stockpile100"]), "--strategy", "stockpile_100")
    refused(capsys, main(["view", "--compare", "basline"]), "--compare", "baseline")
    argv = ["run", str(TINY), "--steps", "2", "--no-figures", "--out", str(tmp_path / "run")]
    code = (f"import sys; from simulation.cli import main\nassert main({argv!r}) == 0\n"
            "assert 'solara' not in sys.modules, 'simulation run imported solara'")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_a_strategy_of_the_scenario_file_is_what_the_page_starts_with():
    cfg = load_config(KOREA)
    assert app.initial_controls(app.ViewModel(scenario_name="korea_coerced", steps=2)).strategy == cfg.strategy.name
