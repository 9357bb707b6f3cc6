"""Serve the browser view on this machine, with no internet.

Solara reads its settings when first imported, so :func:`serve` sets :data:`OFFLINE_ENV`
before anything imports solara (this module does not). The front-end files come from the
``solara-assets`` package (installed into ``<sys.prefix>/share/solara/cdn``) and are served
by the Solara server itself under ``/_solara/cdn/``.

The page has no login: whoever reaches the port can run models on this machine. So
:func:`serve` listens on a loopback address unless told ``allow_remote``, and binds its
socket before starting the server, so that a busy or forbidden port is one line, not a
traceback from inside the server.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sys
import warnings
from importlib import metadata
from pathlib import Path

APP = "simulation.viz.app"  # the module solara serves (its ``Page`` component)
CONFIG_ENV = "COERCION_VIEW_CONFIG"  # the config the page starts with (``simulation view CONFIG``)
STEPS_ENV = "COERCION_VIEW_STEPS"  # weeks to run (``simulation view --steps N``); default: the horizon
STRATEGY_ENV = "COERCION_VIEW_STRATEGY"  # the strategy the page starts with (``--strategy``); default: the config's
SEED_ENV = "COERCION_VIEW_SEED"  # the seed the page starts with (``--seed``); default: the scenario's
COMPARE_ENV = "COERCION_VIEW_COMPARE"  # the compared strategy (``--compare``; "none": none); default: baseline

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

SESSION_ENV = {
    # A closed tab ends its session at once (the page tells the server). A page that only lost
    # its connection (browser killed, network gone, laptop asleep) keeps its session this long
    # for a reconnect, then the session and its model are freed (Solara's default: 24 hours).
    "SOLARA_KERNEL_CULL_TIMEOUT": "60s",
}


class ViewError(Exception):
    """The view cannot start: a refused host, a busy or forbidden port (one line, exit code 2)."""


def apply_offline_env(env: dict | None = None) -> dict:
    """Set :data:`OFFLINE_ENV` and :data:`SESSION_ENV` in ``env`` (default ``os.environ``) where not already set."""
    env = os.environ if env is None else env
    for key, value in {**OFFLINE_ENV, **SESSION_ENV}.items():
        env.setdefault(key, value)
    return env


def check_assets() -> None:
    """Fail early, in words, when Solara's front-end files (or the charts' vega files) are not installed locally."""
    try:
        metadata.version("solara-assets")
    except metadata.PackageNotFoundError:
        raise RuntimeError("the package solara-assets is not installed: the view serves Solara's "
                           "front-end files from it (pip install -e .)") from None
    from simulation.viz.widget import vega_libs  # imports ipyvuetify, not solara

    vega_libs()


# ------------------------------------------------------------------------------ listening


def resolve(host: str, port: int) -> list[tuple[socket.AddressFamily, tuple]]:
    """``(family, socket address)`` of each address ``host`` names, in the resolver's order."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise ViewError(f"--host {host!r}: cannot resolve this name ({exc})") from None
    return list(dict.fromkeys((family, sockaddr[:2]) for family, _, _, _, sockaddr in infos))


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback address (reachable from this machine only)."""
    try:
        return all(ipaddress.ip_address(addr[0].split("%")[0]).is_loopback for _, addr in resolve(host, 0))
    except ViewError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (the first address ``host`` names, as uvicorn would bind).

    Raises:
        ViewError: the host names no address of this machine, or the port is in use or forbidden.
    """
    family, addr = resolve(host, port)[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a port in TIME_WAIT is free
        sock.bind(addr)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        where = f"{url_host(addr[0])}:{port}"
        if exc.errno == errno.EADDRINUSE:
            raise ViewError(f"port {port} is in use on {where} (another `simulation view`?): "
                            "choose another with --port") from None
        if exc.errno == errno.EACCES:
            raise ViewError(f"port {port}: permission denied on {where} (ports below 1024 need privileges): "
                            "choose another with --port") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ViewError(f"--host {host!r}: {addr[0]} is not an address of this machine") from None
        raise ViewError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    return sock


def url_host(address: str) -> str:
    """An address as written in a URL (IPv6 in brackets)."""
    return f"[{address}]" if ":" in address else address


def interface_addresses(families: set[socket.AddressFamily]) -> list[str]:
    """This machine's non-loopback addresses of the given families (empty if they cannot be listed)."""
    try:
        import psutil  # installed with solara (through ipykernel); listing is best effort
    except ImportError:
        return []
    found = []
    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family in families:
                ip = ipaddress.ip_address(a.address.split("%")[0])
                if not ip.is_loopback and not ip.is_link_local:
                    found.append(str(ip))
    return sorted(set(found), key=lambda s: (":" in s, s))


def local_url(sock: socket.socket) -> str:
    """The URL of the server listening on ``sock`` from this machine."""
    address, port = sock.getsockname()[:2]
    if ipaddress.ip_address(address.split("%")[0]).is_unspecified:
        address = "::1" if sock.family == socket.AF_INET6 else "127.0.0.1"
    return f"http://{url_host(address)}:{port}/"


def reachable_at(sock: socket.socket) -> list[str]:
    """The URLs at which others may reach the server listening on ``sock``."""
    address, port = sock.getsockname()[:2]
    ip = ipaddress.ip_address(address.split("%")[0])
    if not ip.is_unspecified:
        return [f"http://{url_host(address)}:{port}/"]
    families = {socket.AF_INET} if sock.family == socket.AF_INET else {socket.AF_INET, socket.AF_INET6}
    if sock.family == socket.AF_INET6 and sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY):
        families = {socket.AF_INET6}
    return [f"http://{url_host(a)}:{port}/" for a in interface_addresses(families)]


def remote_notice(sock: socket.socket) -> str:
    """What ``--allow-remote`` exposes, in words: where the server listens and that there is no login."""
    address, port = sock.getsockname()[:2]
    urls = reachable_at(sock)
    where = ", ".join(urls) if urls else f"every address of this machine, port {port}"
    scope = "every interface" if ipaddress.ip_address(address.split("%")[0]).is_unspecified else address
    return (f"warning: --allow-remote: listening on {url_host(address)}:{port} ({scope}); anyone who can reach "
            f"{where} can open the view and run models on this machine: there is no login")


def listen(host: str, port: int, allow_remote: bool = False) -> socket.socket:
    """The server's listening socket, after refusing a non-loopback host without ``allow_remote``.

    Raises:
        ViewError: a non-loopback host without ``allow_remote``, or :func:`bind`'s errors.
    """
    if not is_loopback(host):
        resolve(host, port)  # an unknown name is said as such, not as a remote host
        if not allow_remote:
            raise ViewError(f"--host {host!r} is not a loopback address: the view has no login, so anyone who "
                            "can reach it could run models here; pass --allow-remote to serve it anyway")
    return bind(host, port)


def serve(config: str | Path | None = None, *, host: str = "127.0.0.1", port: int = 8765,
          steps: int | None = None, allow_remote: bool = False, strategy: str | None = None,
          compare: str | None = None, seed: int | None = None) -> None:
    """Serve the view until interrupted.

    Args:
        config: the scenario or config the page starts with (default: the default scenario).
        host: the address to listen on (default ``127.0.0.1``: this machine only).
        port: the port (default 8765; 0: any free port).
        steps: weeks to run (default: the scenario's horizon).
        allow_remote: listen on a non-loopback ``host`` (else refused); says who can reach it.
        strategy: the strategy the page starts with (default: the config's).
        compare: the strategy drawn beside it ("none": none; default: the baseline, or none
            when the strategy is the baseline).
        seed: the seed the page starts with (default: the scenario's).

    Raises:
        ViewError: before anything starts, as :func:`listen`.
    """
    check_assets()
    sock = listen(host, port, allow_remote)
    try:
        apply_offline_env()
        if config is not None:
            os.environ[CONFIG_ENV] = str(Path(config).resolve())
        if steps is not None:
            os.environ[STEPS_ENV] = str(steps)
        if strategy is not None:
            os.environ[STRATEGY_ENV] = strategy
        if compare is not None:
            os.environ[COMPARE_ENV] = compare
        if seed is not None:
            os.environ[SEED_ENV] = str(seed)
        os.environ["SOLARA_APP"] = APP  # read when solara.server.app is imported
        import uvicorn  # solara and the app are imported by the server, after the env is set

        # solara warns on each new session that cookies on http://127.0.0.1 cannot be samesite=none
        warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
        if not is_loopback(sock.getsockname()[0]):
            print(remote_notice(sock), file=sys.stderr, flush=True)
        print(f"coercion-sim view on {local_url(sock)} (Ctrl-C to stop)", flush=True)
        config_ = uvicorn.Config("solara.server.starlette:app", log_level="warning", access_log=False)
        uvicorn.Server(config_).run(sockets=[sock])
    finally:
        sock.close()
