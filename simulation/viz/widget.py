"""A vega-lite chart widget that updates its data in place, with its JavaScript served locally.

:class:`VegaChart` embeds a vega-lite spec once; each step sends only the chart's data sets
(columns of numbers and strings), which the browser swaps into the running vega view. Nothing
is drawn on the server. vega, vega-lite and vega-embed come from the ``solara-assets`` copy
that the view's server serves under ``/_solara/cdn/`` (:func:`vega_libs` finds their exact
versions there: Solara's own vega-lite component asks for ``vega@5``, a path that copy does
not have, so it would go to the internet).
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

import ipyvuetify as v
import traitlets

LIBS = {  # module -> file inside its package directory of the local front-end files
    "vega": "build/vega.min.js",
    "vega-lite": "build/vega-lite.min.js",
    "vega-embed": "build/vega-embed.min.js",
    "requirejs": "require.js",
}


def assets_dir() -> Path:
    """Where ``solara-assets`` installs Solara's front-end files (what the server serves offline)."""
    return Path(sys.prefix) / "share" / "solara" / "cdn"


@cache
def vega_libs() -> dict[str, str]:
    """Module -> path under the local front-end files, e.g. ``vega@5.21.0/build/vega.min.js``.

    Raises:
        RuntimeError: a module is missing from the local copy (the chart could not load offline).
    """
    root = assets_dir()
    found = {}
    for name, file in LIBS.items():
        hits = sorted(p for p in root.glob(f"{name}@*") if (p / file).is_file())
        if not hits:
            raise RuntimeError(f"{root}: no local copy of {name} ({name}@VERSION/{file}); "
                               "the view's charts need it offline (pip install -e .)")
        found[name] = f"{hits[-1].name}/{file}"
    return found


class VegaChart(v.VuetifyTemplate):
    """A vega-lite chart: ``spec`` is embedded when it changes; ``chart_data`` updates its named data sets.

    Both are JSON text (:func:`to_json`), not dicts: a page re-renders at every step, and its
    renderer would otherwise walk every value of every data set. ``chart_data`` is
    ``{"version": week, "key": str, "since": int, "sets": {name: {column: [values, ...]}}}``:
    with ``since`` 0, the whole data; else the rows whose week index ``i`` is ``since`` or
    later, which replace those rows of the data the browser holds for the same ``key`` (if it
    holds that key at version ``since`` or later; else it asks for the whole data, which
    ``on_request_full`` returns). The element shows the version last drawn as ``data-week``.
    """

    template_file = str(Path(__file__).with_name("vega_chart.vue"))
    name = traitlets.Unicode("").tag(sync=True)
    spec = traitlets.Unicode("{}").tag(sync=True)
    chart_data = traitlets.Unicode("{}").tag(sync=True)
    libs = traitlets.Dict().tag(sync=True)
    on_request_full = traitlets.Callable(None, allow_none=True)  # () -> the whole data (JSON text)

    def vue_request_full(self, *_args) -> None:
        """The browser lacks the weeks before the data sent: send it the whole data."""
        if self.on_request_full is not None:
            self.chart_data = self.on_request_full()

    @traitlets.default("libs")
    def _libs(self) -> dict[str, str]:
        return vega_libs()


def to_json(value) -> str:
    """Compact JSON text for :class:`VegaChart` (no NaN: vega reads JSON)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
