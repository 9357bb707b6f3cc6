"""Display settings shared by the run figures (:mod:`simulation.figures`) and the browser view
(:mod:`simulation.viz`); plain constants and string helpers, importing nothing of the simulation."""

FOCUS = ("JP", "KR", "US", "EU")  # countries the line charts show (besides the target)

#: How the loss that no commodity caused (``trade_ban`` in ``cum_output_loss_pct_gdp_by_commodity``)
#: is named: the ladder's non-mineral measures (travel advisories, cultural and seafood bans).
NON_MINERAL = "non-mineral measures (bans, advisories)"


def commodity_name(label: str) -> str:
    """A commodity's full name from its world-config label, without the unit after the last comma.

    ``"Light rare earths (Nd/Pr), t REO"`` -> ``"Light rare earths (Nd/Pr)"``; a label without a
    unit is returned as it is.
    """
    head, sep, tail = label.rpartition(", ")
    unit = tail.split()[0] if tail.split() else ""
    return head if sep and unit in ("t", "kt", "Mt") else label


def stage_name(name: str) -> str:
    """A ladder level's name for an axis: ``"secondary_boycott"`` -> ``"Secondary boycott"``."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]
