"""Display settings shared by the run figures (:mod:`simulation.figures`) and the browser view
(:mod:`simulation.viz`); plain constants and string helpers, importing nothing of the simulation."""

FOCUS = ("JP", "KR", "US", "EU")  # countries the line charts show (besides the target)

#: How the loss that no commodity caused (``trade_ban`` in ``cum_output_loss_pct_gdp_by_commodity``)
#: is named: the ladder's non-mineral measures (travel advisories, cultural and seafood bans).
NON_MINERAL = "non-mineral measures (bans, advisories)"


def full_name(label: str) -> str:
    """A commodity's or sector's full name from its config label, without the unit after the last comma.

    ``"Light rare earths (Nd/Pr), t REO"`` -> ``"Light rare earths (Nd/Pr)"``;
    ``"High-purity manganese sulphate, t"`` -> ``"High-purity manganese sulphate"``; a label without a
    unit is returned as it is.
    """
    head, sep, tail = label.rpartition(", ")
    unit = tail.split()[0] if tail.split() else ""
    return head if sep and unit in ("t", "kt", "Mt") else label


commodity_name = full_name  # the name the run figures and the comparison use


def stage_name(name: str) -> str:
    """A ladder level's name for an axis: ``"secondary_boycott"`` -> ``"Secondary boycott"``."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


GLOSSARY = (  # (term, meaning) as the browser view uses them
    ("Output loss", "value added lost because a critical input was short, % of the country's annual GDP, "
                    "summed over the weeks so far"),
    ("Shortage share", "share of the week's demand for a commodity that was not supplied"),
    ("Binding commodity", "for a country, the commodity its firms' lost output is attributed to most (each firm's "
                          "loss goes to its worst-short input); before any loss, the commodity with the largest "
                          "shortage share so far"),
    ("Stockpile days", "state stockpile of a commodity, in days of the country's use"),
    ("Licensed", "a direct export from China under a granted licence"),
    ("Transshipped", "Chinese material re-exported through a hub trader to a buyer China's controls cover "
                     "(evasion); hub re-exports of uncontrolled material are drawn as normal trade"),
    ("Blocked", "orders stopped by the controls"),
    ("Compare", "the same scenario and seed run under a second strategy, drawn dashed beside the chosen one"),
)
