"""Serve the browser view on this machine, with no internet.

Solara reads its settings when first imported, so :func:`serve` sets :data:`OFFLINE_ENV`
before anything imports solara (this module does not). The front-end files come from the
``solara-assets`` package (installed into ``<sys.prefix>/share/solara/cdn``) and are served
by the Solara server itself under ``/_solara/cdn/``.
"""

from __future__ import annotations

import os
import warnings
from importlib import metadata
from pathlib import Path

APP = "simulation.viz.app"  # the module solara serves (its ``Page`` component)
CONFIG_ENV = "COERCION_VIEW_CONFIG"  # the config the page starts with (``simulation view CONFIG``)
STEPS_ENV = "COERCION_VIEW_STEPS"  # weeks to run (``simulation view --steps N``); default: the horizon

OFFLINE_ENV = {
    # serve /_solara/cdn/... from the local solara-assets copy, not cdn.jsdelivr.net
    "SOLARA_ASSETS_PROXY": "True",
    # a file missing from that copy would be fetched from here: a dead local port, so it
    # fails at once ("Could not load URL: http://127.0.0.1:9/...") instead of going out
    "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/",
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",  # no usage telemetry to api.mixpanel.com
    "SOLARA_MODE": "production",  # no dev-mode checks, no hot reload
    "SOLARA_THEME_SHOW_BANNER": "False",  # no "This website runs on Solara" link
}


def apply_offline_env(env: dict | None = None) -> dict:
    """Set :data:`OFFLINE_ENV` in ``env`` (default ``os.environ``) where not already set."""
    env = os.environ if env is None else env
    for key, value in OFFLINE_ENV.items():
        env.setdefault(key, value)
    return env


def check_assets() -> None:
    """Fail early, in words, when Solara's front-end files are not installed locally."""
    try:
        metadata.version("solara-assets")
    except metadata.PackageNotFoundError:
        raise RuntimeError("the package solara-assets is not installed: the view serves Solara's "
                           "front-end files from it (pip install -e .)") from None


def serve(config: str | Path | None = None, *, host: str = "127.0.0.1", port: int = 8765,
          steps: int | None = None) -> None:
    """Serve the view until interrupted.

    Args:
        config: the scenario or config the page starts with (default: the default scenario).
        host: the address to listen on (default ``127.0.0.1``: this machine only).
        port: the port (default 8765).
        steps: weeks to run (default: the scenario's horizon).
    """
    check_assets()
    apply_offline_env()
    if config is not None:
        os.environ[CONFIG_ENV] = str(Path(config).resolve())
    if steps is not None:
        os.environ[STEPS_ENV] = str(steps)
    os.environ["SOLARA_APP"] = APP  # read when solara.server.app is imported
    import uvicorn  # solara and the app are imported by the server, after the env is set

    # solara warns on each new session that cookies on http://127.0.0.1 cannot be samesite=none
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    print(f"coercion-sim view on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    uvicorn.run("solara.server.starlette:app", host=host, port=port, log_level="warning", access_log=False)
