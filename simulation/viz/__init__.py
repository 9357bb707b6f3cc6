"""The browser view (``simulation view``): ``app`` the page, ``charts`` its figures, ``server`` the launcher.

The model never imports this package; importing ``app`` imports solara and Mesa's SolaraViz.
"""
