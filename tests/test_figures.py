"""Figures for a report (issue 16, item 2): titles name the run, commodities have full names, date
ticks do not overlap, no label is cut off, no line hides another, the binding commodity is named
in a figure and on the console."""

from __future__ import annotations

import json
import re
from itertools import combinations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from simulation.cli import main  # noqa: E402
from simulation.config import config_to_dict, load_config  # noqa: E402
from simulation.display import commodity_name, stage_name  # noqa: E402
from simulation.figures import (  # noqa: E402
    RunInfo,
    binding_figure,
    draw_distinct,
    escalation_figure,
    output_loss_figure,
    price_figure,
    shortage_figure,
)
from simulation.runner import run  # noqa: E402

from .conftest import JAPAN, KOREA  # noqa: E402

STEPS = 60  # past the secondary boycott (week 52); Korea's stockpiles hold, its loss is the trade measures'


# ----------------------------------------------------------------- layout checks


def undrawn_ticks(fig) -> set[int]:
    """The tick labels of ticks outside their axis' view (matplotlib keeps them but does not draw them)."""
    out = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            span = (hi - lo) * 1e-9
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - span <= tick.get_loc() <= hi + span:
                    out |= {id(tick.label1), id(tick.label2)}
    return out


def texts(fig) -> list:
    """Every drawn, non-empty text artist of a figure (titles, labels, ticks, legends)."""
    fig.canvas.draw()
    undrawn = undrawn_ticks(fig)
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()
            and id(t) not in undrawn and (t.axes is None or t.axes.get_visible())]


def cut_off(fig) -> list[str]:
    """The texts that reach outside the figure (1 px tolerance)."""
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    bad = []
    for t in texts(fig):
        e = t.get_window_extent(renderer)
        if e.x0 < box.x0 - 1 or e.y0 < box.y0 - 1 or e.x1 > box.x1 + 1 or e.y1 > box.y1 + 1:
            bad.append(t.get_text())
    return bad


def overlapping_ticks(fig) -> list[tuple[str, str]]:
    """Pairs of tick labels of one axis whose boxes overlap."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bad = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        undrawn = undrawn_ticks(fig)
        for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            shown = [(t.get_text(), t.get_window_extent(renderer)) for t in labels
                     if t.get_visible() and t.get_text() and id(t) not in undrawn]
            bad += [(a, b) for (a, ea), (b, eb) in combinations(shown, 2) if ea.overlaps(eb)]
    return bad


def hidden_lines(fig) -> list[str]:
    """Lines drawn exactly over another line of the same axes (same x and y data)."""
    bad = []
    for ax in fig.axes:
        lines = [ln for ln in ax.get_lines() if len(ln.get_ydata()) > 1]
        for a, b in combinations(lines, 2):
            if len(a.get_ydata()) == len(b.get_ydata()) and np.array_equal(
                    np.asarray(a.get_ydata(), float), np.asarray(b.get_ydata(), float)):
                bad.append(f"{a.get_label()} / {b.get_label()}")
    return bad


def all_text(fig) -> str:
    return "\n".join(t.get_text() for t in texts(fig))


def legend_text(fig) -> str:
    return "\n".join(t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts())


def test_the_layout_checks_can_fail():
    """Negative controls: a crowded date axis, a label outside the figure and two lines drawn over
    each other are caught."""
    fig, ax = plt.subplots(figsize=(3, 2))
    dates = pd.date_range("2026-01-05", periods=157, freq="7D")
    ax.plot(dates, np.zeros(157), label="KR")
    ax.plot(dates, np.zeros(157), label="US")
    ax.set_xticks(dates[::8])
    ax.set_ylabel("a label far too long to fit beside a small axes, so it is cut off at the edge")
    assert overlapping_ticks(fig) and cut_off(fig) and hidden_lines(fig) == ["KR / US"]
    plt.close(fig)


# ----------------------------------------------------------------- a short Korea run


@pytest.fixture(scope="module")
def korea():
    """korea_coerced, baseline, 60 weeks: tables, summary and the figures' RunInfo."""
    config = load_config(KOREA, steps=STEPS)
    results = run(config)
    return results.tables(), results.summary, RunInfo.from_config(config_to_dict(config))


@pytest.fixture(scope="module")
def figures(korea):
    tables, summary, info = korea
    cc = tables["country_commodity"]
    figs = {"escalation": escalation_figure(tables["model"], info),
            "shortages": shortage_figure(cc, summary, info),
            "binding": binding_figure(summary, info),
            "prices": price_figure(cc, info),
            "output_loss": output_loss_figure(tables["country"], summary, info)}
    yield figs
    for fig in figs.values():
        plt.close(fig)


FIGURES = ("escalation", "shortages", "binding", "prices", "output_loss")


@pytest.mark.parametrize("name", FIGURES)
def test_titles_name_scenario_strategy_and_seed(figures, korea, name):
    info = korea[2]
    titles = [ax.get_title() for ax in figures[name].axes] + [figures[name].get_suptitle()]
    assert any(f"korea_coerced, strategy baseline, seed {info.seed}" in t for t in titles), titles


@pytest.mark.parametrize("name", FIGURES)
def test_commodities_have_full_names(figures, korea, name):
    info = korea[2]
    raw = [cid for cid, full in info.commodities.items() if cid not in full]  # nd_pr, dy_tb, hpmsm, ...
    assert {"nd_pr", "dy_tb", "hpmsm"} <= set(raw)
    text = all_text(figures[name])
    assert not [cid for cid in raw if re.search(rf"\b{cid}\b", text)], text
    assert "calm" not in text and "secondary_boycott" not in text  # stage ids neither


def test_the_price_figure_titles_every_commodity_in_full(figures, korea):
    info = korea[2]
    titles = {ax.get_title().replace("\n", " ") for ax in figures["prices"].axes if ax.get_visible()}
    assert titles == set(info.commodities.values())
    assert "High-purity manganese sulphate" in titles and "Heavy rare earths (Dy/Tb)" in titles


@pytest.mark.parametrize("name", FIGURES)
def test_no_overlapping_ticks_and_nothing_cut_off(figures, name):
    fig = figures[name]
    assert overlapping_ticks(fig) == []
    assert cut_off(fig) == []


@pytest.mark.parametrize("name", FIGURES)
def test_no_line_hides_another(figures, name):
    assert hidden_lines(figures[name]) == []


def test_every_country_is_drawn_or_named(figures, korea):
    """Each country the loss chart shows is a line, or named in a note when zero throughout."""
    tables, summary, info = korea
    legend = legend_text(figures["output_loss"])
    for c in ("KR", "JP", "US", "EU"):
        zero = summary["countries"][c]["cum_output_loss_pct_gdp"] == 0
        drawn = re.search(rf"(^|\n){c}\b", legend)
        assert drawn or (zero and re.search(rf"zero throughout: .*\b{c}\b", legend)), legend
    assert summary["countries"]["JP"]["cum_output_loss_pct_gdp"] == 0 and "zero throughout: JP" in legend


@pytest.fixture(scope="module")
def japan_figures():
    """japan_2026, 156 weeks (Japan short of gallium, its stockpile drawn; the EU of heavy rare earths,
    with no stockpile): the summary, the tables, RunInfo and the figures that name a binding commodity."""
    config = load_config(JAPAN, steps=156)
    results = run(config)
    tables, summary, info = results.tables(), results.summary, RunInfo.from_config(config_to_dict(config))
    figs = {"binding": binding_figure(summary, info),
            "shortages": shortage_figure(tables["country_commodity"], summary, info),
            "output_loss": output_loss_figure(tables["country"], summary, info)}
    yield tables, summary, info, figs
    for fig in figs.values():
        plt.close(fig)


def test_the_binding_commodity_is_named_per_country(japan_figures):
    _tables, summary, info, figures = japan_figures
    ticks = [t.get_text() for t in figures["binding"].axes[0].get_yticklabels()]
    legend = legend_text(figures["output_loss"]) + legend_text(figures["shortages"])
    named = 0
    for c in ("JP", "KR", "US", "EU"):
        binding = summary["countries"][c]["binding_commodity"]
        tick = next(t for t in ticks if t.startswith(f"{c}:"))
        if binding is None:
            assert "binding:" not in tick
            continue
        named += 1
        assert f"binding: {info.commodity(binding)}" in tick
        assert f"{c} (binding: {info.commodity(binding)})" in legend
        assert f"{c}: {info.commodity(binding)}" in legend  # its stockpile is the one drawn
    assert named >= 2  # Japan (gallium) and the EU (heavy rare earths)


def test_the_stockpile_drawn_is_the_binding_commodity_not_a_mean(japan_figures):
    tables, summary, _info, figures = japan_figures
    cc = tables["country_commodity"]
    binding = summary["countries"]["JP"]["binding_commodity"]
    line = next(ln for ln in figures["shortages"].axes[1].get_lines() if ln.get_label().startswith("JP: "))
    jp = cc[(cc["country"] == "JP") & (cc["commodity"] == binding)].sort_values("date")
    assert jp["stockpile_days"].max() > 0  # a stockpile that is drawn (not a note)
    np.testing.assert_allclose(line.get_ydata(), jp["stockpile_days"].to_numpy())


def test_the_escalation_axis_shows_stage_names(figures, korea):
    info = korea[2]
    ticks = [t.get_text() for t in figures["escalation"].axes[0].get_yticklabels()]
    assert ticks == [stage_name(s) for s in info.stages] and "Secondary boycott" in ticks


# ----------------------------------------------------------------- lines that hide each other


def test_draw_distinct_notes_zeros_merges_twins_and_varies_styles():
    fig, ax = plt.subplots()
    x = np.arange(10)
    zero = draw_distinct(ax, {"JP": (x, np.zeros(10)), "KR": (x, x * 1.0), "US": (x, x * 2.0),
                              "EU": (x, x * 2.0), "CN": (x, x * 3.0)})
    assert zero == ["JP"]
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["KR", "US = EU", "CN"]
    assert len({(ln.get_linestyle(), ln.get_marker()) for ln in lines}) == 3
    plt.close(fig)


def test_zero_lines_are_not_drawn_over_each_other(korea):
    """KR, US and EU at zero throughout (the issue's case): no line, one note naming the three."""
    tables, summary, info = korea
    country = tables["country"].copy()
    country.loc[country["country"].isin(["KR", "US", "EU"]), "cum_output_loss_pct_gdp"] = 0.0
    country.loc[country["country"] == "JP", "cum_output_loss_pct_gdp"] = np.linspace(0, 1, STEPS)
    fig = output_loss_figure(country, summary, info)
    labels = [ln.get_label() for ln in fig.axes[0].get_lines()]
    assert len(labels) == 1 and labels[0].startswith("JP")
    assert "zero throughout: KR, US, EU" in legend_text(fig)
    plt.close(fig)


def test_commodity_name_drops_the_unit():
    assert commodity_name("Light rare earths (Nd/Pr), t REO") == "Light rare earths (Nd/Pr)"
    assert commodity_name("Lithium chemicals, t LCE") == "Lithium chemicals"
    assert commodity_name("Refined cobalt, t") == "Refined cobalt"
    assert commodity_name("Gallium") == "Gallium"
    assert commodity_name("Tin, copper and zinc") == "Tin, copper and zinc"  # no unit: kept whole


# ----------------------------------------------------------------- simulation run


def test_run_writes_the_figures_and_names_the_binding_commodity(tmp_path, capsys):
    out = tmp_path / "kr"
    assert main(["run", str(KOREA), "--steps", str(STEPS), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "binding.png", "escalation.png", "output_loss.png", "prices.png", "shortages.png"]
    summary = json.loads((out / "summary.json").read_text())
    info = RunInfo.from_config(config_to_dict(load_config(out / "config.toml")))
    assert "binding commodity" in printed.splitlines()[2]
    for c in ("KR", "US", "EU"):
        row = next(ln for ln in printed.splitlines() if re.match(rf"{c}\*? ", ln))
        binding = summary["countries"][c]["binding_commodity"]
        assert row.rstrip().endswith(info.commodity(binding) if binding else "-"), row
    assert not re.search(r"\b(dy_tb|nd_pr|hpmsm|trade_ban)\b", printed)
