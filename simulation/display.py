"""Display settings shared by the run figures (:mod:`simulation.figures`) and the browser view
(:mod:`simulation.viz`); plain constants, importing nothing of the simulation."""

FOCUS = ("JP", "KR", "US", "EU")  # countries the line charts show (besides the target)
