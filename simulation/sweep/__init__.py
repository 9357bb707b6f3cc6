"""Sweeps: many runs of an experiment (scenarios x strategies x sampled uncertainties x seeds).

``experiment`` reads experiment files, ``design`` makes the table of runs and their seeds,
``executors`` the executors that run them, ``loop`` runs a sweep (:func:`~simulation.sweep.loop.run_sweep`),
``worker`` makes and writes each run, ``store`` keeps the sweep directory, ``stats`` compares
the strategies, ``plots`` and ``report`` draw the figures and write ``report.md``.
"""
