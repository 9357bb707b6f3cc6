"""Figures of one run: pure functions from tables to PNG files."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from simulation.display import FOCUS  # noqa: E402


def _dates(df: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(df["date"])


def escalation_figure(model_df: pd.DataFrame, stage_names: list[str]):
    """China's level over time, with the stage names on the axis."""
    fig, ax = plt.subplots(figsize=(9, 3.8))
    ax.step(_dates(model_df), model_df["escalation_level"], where="post", color="firebrick")
    ax.set_yticks(range(len(stage_names)), stage_names, fontsize=8)
    ax.set_ylim(-0.3, len(stage_names) - 0.7)
    ax.set_title("Escalation path")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def shortage_figure(cc: pd.DataFrame, countries=FOCUS):
    """Each country's worst commodity shortage share, and its stockpile days."""
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for c in countries:
        rows = cc[cc["country"] == c]
        if rows.empty:
            continue
        worst = rows.groupby("date")["shortage_share"].max()
        a1.plot(pd.to_datetime(worst.index), worst.values, label=c)
        days = rows.groupby("date")["stockpile_days"].mean()
        a2.plot(pd.to_datetime(days.index), days.values, label=c)
    a1.set_ylabel("worst shortage share")
    a1.set_title("Shortages (worst commodity) by country")
    a2.set_ylabel("state stockpile, days (mean over commodities)")
    for a in (a1, a2):
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    fig.tight_layout()
    return fig


def price_figure(cc: pd.DataFrame):
    """Price outside and inside China, relative to the first week, per commodity."""
    prices = cc.drop_duplicates(["step", "commodity"])
    coms = list(dict.fromkeys(prices["commodity"]))
    fig, axes = plt.subplots(3, 4, figsize=(12, 7), sharex=True)
    for ax, com in zip(axes.ravel(), coms, strict=False):
        rows = prices[prices["commodity"] == com]
        d = _dates(rows)
        base = rows["price"].iloc[0]
        ax.plot(d, rows["price"] / base, label="outside China")
        ax.plot(d, rows["price_china"] / base, label="inside China")
        ax.set_title(com, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes.ravel()[0].legend(fontsize=7)
    fig.suptitle("Prices relative to the outside price in week 0")
    fig.tight_layout()
    return fig


def output_loss_figure(country: pd.DataFrame, countries=FOCUS):
    """Cumulative output loss, % of annual GDP."""
    fig, ax = plt.subplots(figsize=(9, 3.8))
    for c in countries:
        rows = country[country["country"] == c]
        if not rows.empty:
            ax.plot(_dates(rows), rows["cum_output_loss_pct_gdp"], label=c)
    ax.set_ylabel("% of annual GDP")
    ax.set_title("Cumulative output loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def run_figures(tables: dict[str, pd.DataFrame], stage_names: list[str], directory: Path) -> list[Path]:
    """Draw the four run figures into ``directory``.

    Args:
        tables: a run's ``model``, ``country`` and ``country_commodity`` tables.
        stage_names: the escalation ladder's level names, level 0 first.
        directory: where the PNG files go (created).
    """
    directory.mkdir(parents=True, exist_ok=True)
    figs = {
        "escalation.png": escalation_figure(tables["model"], stage_names),
        "shortages.png": shortage_figure(tables["country_commodity"]),
        "prices.png": price_figure(tables["country_commodity"]),
        "output_loss.png": output_loss_figure(tables["country"]),
    }
    paths = []
    for name, fig in figs.items():
        path = directory / name
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths
