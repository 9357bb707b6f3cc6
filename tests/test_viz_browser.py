"""The browser view in a real headless browser: ``simulation view`` served offline, driven by Playwright.

Needs Debian's ``chromium`` (``apt-get install -y chromium``; never ``playwright install``)
and the ``playwright`` package (test extra). Without them the test is skipped, except when
``CI=true``: there a missing browser is a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from simulation.viz.charts import CHARTS
from simulation.viz.server import apply_offline_env

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
N_STEPS = 5
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def sync_api():
    """Playwright's sync API, or skip (fail under CI=true) when it or the browser is missing."""
    problem = None
    try:
        from playwright import sync_api as api
    except ImportError:
        problem, api = "the playwright package is not installed (pip install -e '.[test]')", None
    if problem is None and not os.path.exists(CHROMIUM):
        problem = f"{CHROMIUM} not found (apt-get install -y chromium)"
    if problem is not None:
        if IN_CI:
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)
    return api


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"simulation view exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@pytest.fixture
def view_server(sync_api, tmp_path):
    """``simulation view`` in a subprocess on a free port: (url, server log)."""
    port = _free_port()
    env = apply_offline_env(dict(os.environ))
    env.pop("PYTEST_CURRENT_TEST", None)  # solara changes behaviour under pytest
    log = tmp_path / "server.log"
    cmd = [sys.executable, "-m", "simulation", "view", "--port", str(port), "--steps", "30"]
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_http(url, proc, log)
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


ALL_IMAGES_LOADED = """n => { const im = [...document.querySelectorAll('img')];
    return im.length >= n && im.every(i => i.complete && i.naturalWidth > 0); }"""
# true once the same <img> elements, all decoded, were seen on three polls in a row (about a
# second after the first images appear, the grid re-creates its items once)
IMAGES_SETTLED = """n => { const im = [...document.querySelectorAll('img')];
    im.forEach(i => { i.dataset.seen = String(Number(i.dataset.seen || 0) + 1); });
    return im.length === n && im.every(i => Number(i.dataset.seen) >= 3 && i.complete && i.naturalWidth > 0); }"""
# polled at every animation frame: the step's time shown and every chart image replaced
STEP_SHOWN = """([time, before]) => { const im = [...document.querySelectorAll('img')];
    return document.body.innerText.includes(time) && im.length >= before.length
        && im.every(i => i.complete && i.naturalWidth > 0 && !before.includes(i.src)); }"""


def _chart_shots(page, tries: int = 3) -> list[bytes]:
    """Screenshots of the chart images once the page has settled."""
    for attempt in range(tries):
        page.wait_for_function(IMAGES_SETTLED, arg=len(CHARTS), polling=500, timeout=30_000)
        images = page.locator("img")
        try:
            return [images.nth(i).screenshot(timeout=5_000) for i in range(len(CHARTS))]
        except Exception:  # an image was replaced meanwhile: settle again
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def test_view_loads_offline_and_step_redraws_the_charts(sync_api, view_server, tmp_path):
    url, server_log = view_server
    requests, bad = [], []

    def on_request(req):
        requests.append(req.url)
        u = urlparse(req.url)
        if u.scheme not in ("blob", "data") and u.hostname not in LOCAL_HOSTS:
            bad.append(("non-local request", req.url))

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 1500})
            # never let the page itself reach another host
            context.route(lambda u: urlparse(u).hostname not in LOCAL_HOSTS,
                          lambda route: (bad.append(("blocked", route.request.url)), route.abort()))
            page = context.new_page()
            page.on("request", on_request)
            page.on("websocket", lambda ws: None if urlparse(ws.url).hostname in LOCAL_HOSTS
                    else bad.append(("non-local websocket", ws.url)))
            page.on("requestfailed", lambda r: bad.append(("failed", r.url, r.failure)))
            page.on("response", lambda r: r.status >= 400 and bad.append(("http", r.status, r.url)))
            page.on("pageerror", lambda e: bad.append(("pageerror", str(e))))

            t0 = time.perf_counter()
            page.goto(url)
            step = page.get_by_role("button", name="Step", exact=True)
            step.wait_for(state="visible", timeout=60_000)
            page.get_by_text("Time: 0.0", exact=True).wait_for(timeout=30_000)
            page.wait_for_function(ALL_IMAGES_LOADED, arg=len(CHARTS), timeout=30_000)
            load_s = time.perf_counter() - t0
            assert page.get_by_text("Licence approval", exact=True).is_visible()
            assert page.locator(".v-slider").count() >= 3
            assert page.get_by_text("Scenario japan_2026, strategy baseline", exact=False).is_visible()

            shots_before = _chart_shots(page)
            srcs_before = page.eval_on_selector_all("img", "els => els.map(e => e.src)")

            step_s = []
            for i in range(1, N_STEPS + 1):
                t = time.perf_counter()
                step.click()
                page.wait_for_function(STEP_SHOWN, arg=[f"Time: {float(i)}", srcs_before], timeout=30_000)
                step_s.append(time.perf_counter() - t)
                assert page.get_by_text(f"Time: {float(i)}", exact=True).is_visible()
                srcs_before = page.eval_on_selector_all("img", "els => els.map(e => e.src)")
            assert page.get_by_text(f"Week {N_STEPS} of 30", exact=False).is_visible()
            shots_after = _chart_shots(page)
            page.screenshot(path=str(tmp_path / "view.png"), full_page=True)
        finally:
            browser.close()

    changed = [a != b for a, b in zip(shots_before, shots_after, strict=True)]
    assert all(changed), f"charts unchanged after {N_STEPS} steps: {changed}"
    assert not bad, bad
    assert requests and all(urlparse(u).scheme in ("blob", "data") or urlparse(u).hostname in LOCAL_HOSTS
                            for u in requests)
    log = server_log.read_text(errors="replace")
    assert "Could not load URL" not in log, log  # every front-end file came from the local copy
    assert "Traceback" not in log, log
    assert (tmp_path / "view.png").stat().st_size > 50_000
    print(f"\npage ready in {load_s:.2f} s; Step click until time and all charts updated: "
          + ", ".join(f"{s * 1000:.0f} ms" for s in step_s) + f"; {len(requests)} requests, all local")
