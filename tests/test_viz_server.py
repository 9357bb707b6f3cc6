"""``simulation view``: who may connect, which ports, and sessions that free their model when they end.

No server is started on a non-loopback address: the remote cases bind a socket without
listening, and the server itself (``uvicorn.Server.run``) is replaced by a stub.
"""

from __future__ import annotations

import gc
import importlib
import inspect
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
import weakref

import ipyvuetify as v
import pytest
import solara
import uvicorn

from simulation.cli import main
from simulation.model import CoercionModel
from simulation.viz import app, server
from simulation.viz.server import COMPARE_ENV, CONFIG_ENV, SEED_ENV, STEPS_ENV, STRATEGY_ENV
from tests.conftest import ROOT, TINY

VIEW_ENV = [CONFIG_ENV, STEPS_ENV, STRATEGY_ENV, COMPARE_ENV, SEED_ENV, "SOLARA_APP", *server.OFFLINE_ENV,
            *server.SESSION_ENV]


@pytest.fixture
def no_server(monkeypatch) -> list[list[socket.socket]]:
    """``uvicorn.Server.run`` replaced: records the sockets it is given and returns at once.

    The environment ``serve`` sets is restored afterwards.
    """
    for key in VIEW_ENV:  # set, then deleted: monkeypatch restores each one as it was, also when unset
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    runs: list[list[socket.socket]] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: runs.append(sockets))
    return runs


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("port", ["99999", "65536", "-1", "eighty", "1.5"])
def test_a_bad_port_is_one_line_and_exit_2(port, capsys, no_server):
    assert main(["view", "--port", port]) == 2
    assert "--port" in _error_line(capsys)
    assert not no_server


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.0.2.1"])
def test_a_non_loopback_host_is_refused_without_allow_remote(host, capsys, no_server):
    assert main(["view", "--host", host, "--port", "0"]) == 2
    err = _error_line(capsys)
    assert "not a loopback address" in err and "--allow-remote" in err and "no login" in err
    assert not no_server


def test_an_unknown_host_is_one_line(capsys, no_server):
    assert main(["view", "--host", "no-such-host.invalid", "--port", "0"]) == 2
    assert "cannot resolve" in _error_line(capsys)
    assert not no_server


def test_a_busy_port_is_one_line_and_exit_2(capsys, no_server):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["view", "--port", str(port)]) == 2
    err = _error_line(capsys)
    assert f"port {port} is in use" in err and "--port" in err
    assert not no_server


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_a_loopback_host_is_served_on_the_socket_bound_before_the_server_starts(host, capsys, no_server):
    if host == "::1":
        try:
            with socket.socket(socket.AF_INET6) as probe:
                probe.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback here")
    assert main(["view", "--host", host, "--port", "0", "--steps", "3"]) == 0
    (sockets,) = no_server
    (sock,) = sockets
    assert sock.fileno() == -1  # closed when the server returned
    out, err = capsys.readouterr()
    assert out.startswith("coercion-sim view on http://") and err == ""


def test_the_strategy_and_the_compared_one_reach_the_page(capsys, no_server):
    assert main(["view", "korea_coerced", "--strategy", "stockpile_100", "--compare", "none", "--port", "0"]) == 0
    assert (os.environ[STRATEGY_ENV], os.environ[COMPARE_ENV]) == ("stockpile_100", "none")
    assert os.environ[CONFIG_ENV].endswith("korea_coerced.toml")
    assert app.initial_kwargs()["strategy"] == "stockpile_100" and app.initial_kwargs()["compare"] is None


def test_the_seed_reaches_the_page_and_stays_for_reset(capsys, no_server):
    argv = ["view", "korea_coerced", "--strategy", "stockpile_100", "--seed", "7", "--steps", "2", "--port", "0"]
    assert main(argv) == 0
    assert os.environ[SEED_ENV] == "7" and app.initial_kwargs()["seed"] == 7
    model = app.ViewModel(**app.initial_kwargs())
    assert model.config.run.seed == 7 and model.other.config.run.seed == 7
    assert app.initial_controls(model).seed == "7"  # the Seed box: Reset rebuilds the same runs
    assert app.initial_controls(app.ViewModel(scenario_name="korea_coerced", steps=2)).seed == ""


def test_allow_remote_says_where_it_listens_and_that_there_is_no_login(monkeypatch, capsys, no_server):
    bound = []

    def bind_without_listening(host, port):  # nothing can connect to it
        family, addr = server.resolve(host, port)[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind(addr)
        bound.append(sock.getsockname())
        return sock

    monkeypatch.setattr(server, "bind", bind_without_listening)
    assert main(["view", "--host", "0.0.0.0", "--port", "0", "--allow-remote"]) == 0
    assert len(no_server) == 1
    out, err = capsys.readouterr()
    port = bound[0][1]
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"listening on 0.0.0.0:{port} (every interface)" in err and "there is no login" in err
    for url in server.interface_addresses({socket.AF_INET}):  # each address others may use is named
        assert f"http://{url}:{port}/" in err
    assert f"http://127.0.0.1:{port}/" in out


def test_remote_notice_names_a_specific_address():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # the words depend only on the address bound
        port = sock.getsockname()[1]
        notice = server.remote_notice(sock)
    assert f"listening on 127.0.0.1:{port} (127.0.0.1)" in notice and f"http://127.0.0.1:{port}/" in notice


def test_is_loopback():
    assert server.is_loopback("127.0.0.1") and server.is_loopback("localhost") and server.is_loopback("127.0.0.2")
    assert not server.is_loopback("0.0.0.0") and not server.is_loopback("") and not server.is_loopback("::")
    assert not server.is_loopback("192.0.2.1") and not server.is_loopback("no-such-host.invalid")


# ------------------------------------------------------------------------------- sessions


def play_then_close_a_session() -> None:
    """Run in a fresh interpreter (importing ``solara.server.app`` patches ipywidgets and threads
    process-wide): the page in a Solara virtual kernel, as the server makes one per browser tab;
    Step, Reset (a second model), Play (a thread steps it); then the kernel is closed, as when
    the tab closes. Prints what happened as one JSON line.
    """
    os.environ[CONFIG_ENV], os.environ[STEPS_ENV] = str(TINY), "52"
    importlib.import_module("solara.server.app")  # applies Solara's server patches, as `simulation view` does
    from solara.server import kernel, kernel_context

    models: list[weakref.ref] = []
    weeks = [0]  # weeks computed by any model
    init, step = app.ViewModel.__init__, CoercionModel.step

    def spy_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        models.append(weakref.ref(self))

    def counting_step(self):
        weeks[0] += 1
        step(self)

    spy_init.__signature__ = inspect.signature(init)  # Mesa's ModelController reads it for Reset
    app.ViewModel.__init__, CoercionModel.step = spy_init, counting_step
    context = kernel_context.VirtualKernelContext(id=f"test-{uuid.uuid4()}", kernel=kernel.Kernel(),
                                                  session_id="test")
    with context:
        box, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
        context.app_object = rc
        rc.find(v.Btn, children=["Step"]).widget.click()
        rc.find(v.Btn, children=["Reset"]).widget.click()
        rc.find(v.Btn, children=["\u25b6"]).widget.click()  # Play
    played = _wait(lambda: models[-1]() is not None and models[-1]().t >= 2)
    del box, rc  # the page's widgets: only the kernel holds them now
    t_at_close = max(ref().t for ref in models if ref() is not None)
    context.close()  # what the server does when the tab closes (or its page stays away too long)
    weeks_at_close = weeks[0]
    freed = _wait(lambda: all(ref() is None for ref in models))  # `context` is still referenced here
    released = _wait(lambda: not any(t.name == "coercion-view-release" for t in threading.enumerate()))
    print(json.dumps({"models": len(models), "played": played, "t_at_close": t_at_close, "freed": freed,
                      "weeks_at_close": weeks_at_close, "weeks_after": weeks[0], "released": released}))


def _wait(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        gc.collect()
        time.sleep(0.1)
    return True


def test_closing_a_session_stops_its_playing_model_and_frees_every_model_it_built():
    code = "from tests.test_viz_server import play_then_close_a_session as f; f()"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["models"] == 2 and got["played"], got  # the first model and Reset's; Play stepped the second
    assert got["t_at_close"] < 40, got  # far from the horizon (52): Play was still running
    assert got["freed"], f"a closed session's models are still reachable: {got}"
    assert got["weeks_after"] <= got["weeks_at_close"] + 1, got  # at most the week in progress: Play stopped
    assert got["released"], got
    assert "Traceback" not in proc.stderr, proc.stderr


def test_a_closed_model_steps_no_more():
    model = app.ViewModel(scenario_name=str(TINY), steps=10)
    model.step()
    model.close()
    model.step()
    assert (model.t, model.running, model.closed) == (1, False, True)
