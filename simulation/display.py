"""Display settings shared by the run figures (:mod:`simulation.figures`) and the browser view
(:mod:`simulation.viz`); plain constants and string helpers, importing nothing of the simulation."""

FOCUS = ("JP", "KR", "US", "EU")  # countries the line charts show (besides the target)


def full_name(label: str) -> str:
    """A commodity's or sector's name without the unit its config label ends with.

    ``"High-purity manganese sulphate, t"`` -> ``"High-purity manganese sulphate"``;
    ``"Light rare earths (Nd/Pr), t REO"`` -> ``"Light rare earths (Nd/Pr)"``; a label with
    no ``", t"`` unit is returned as it is.
    """
    head, sep, unit = label.rpartition(", ")
    return head if sep and (unit == "t" or unit.startswith("t ")) else label


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
