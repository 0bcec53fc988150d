"""Run the app in a real browser for tests: `streamlit run app.py` on a free local port,
driven by Playwright in Debian's Chromium.

    from tests.support_browser import CHROMIUM, browser_page, running_app

    with running_app(env={"JETVIZ_DEFAULT_JETS": str(path)}) as url, browser_page() as page:
        page.goto(url)
        wait_for_app(page)

Tests that use it should be marked ``@pytest.mark.browser`` and skipped with
``pytest.mark.skipif(not CHROMIUM.exists(), reason=...)`` (CI installs chromium).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NO_CHROMIUM = f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
EXCEPTION = '[data-testid="stException"]'
PLOTLY_CHART = '.js-plotly-plot, [data-testid="stPlotlyChart"]'
MAIN = '[data-testid="stMain"]'
IDLE_APP = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def free_port() -> int:
    """A TCP port that is free on localhost right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 60.0) -> float:
    """Poll the server's health endpoint until it answers; return the seconds waited.

    Raises:
        RuntimeError: the server exited, or did not answer within ``timeout`` seconds.
    """
    start = time.perf_counter()
    health = url.rstrip("/") + "/_stcore/health"
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode} before serving")
        try:
            with urllib.request.urlopen(health, timeout=1.0) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"streamlit did not serve {url} within {timeout:.0f} s")
        time.sleep(0.05)


@contextlib.contextmanager
def running_app(
    env: Mapping[str, str] | None = None,
    script: str = "app.py",
    timeout: float = 60.0,
    wait: bool = True,
    file_watcher: str = "none",
) -> Iterator[str]:
    """Start ``streamlit run <script>`` on a free port; yield its URL; stop it afterwards.

    Args:
        env: extra environment variables for the server (e.g. JETVIZ_DEFAULT_JETS).
        script: the entry point, relative to the repository root.
        timeout: seconds to wait for the server to answer.
        wait: wait until the server answers before yielding.
        file_watcher: Streamlit's server.fileWatcherType ("none" in tests: nothing is
            edited while they run; "auto" is what `streamlit run` uses by default).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", file_watcher,
    ]
    process = subprocess.Popen(
        cmd, cwd=APP_DIR, env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        if wait:
            try:
                wait_until_serving(url, process, timeout)
            except RuntimeError as err:
                process.terminate()
                log = process.communicate(timeout=10)[1].decode(errors="replace")[-3000:]
                raise RuntimeError(f"{err}\n--- streamlit stderr ---\n{log}") from err
        yield url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()


@contextlib.contextmanager
def browser_page(width: int = 1600, height: int = 1000) -> Iterator:
    """A Playwright page in Debian's Chromium (headless), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            yield context.new_page()
        finally:
            browser.close()


def wait_for_app(page, timeout_ms: float = 60_000) -> None:
    """Wait until the Streamlit page has connected, run its script and finished it.

    The app root carries ``data-test-script-state``; it must read "notRunning" twice in a
    row, 300 ms apart, so a rerun that starts right after the first run is awaited too.
    """
    page.wait_for_selector(MAIN, timeout=timeout_ms)
    deadline = time.perf_counter() + timeout_ms / 1000
    quiet = 0
    while quiet < 2:
        page.wait_for_selector(IDLE_APP, timeout=max(1.0, deadline - time.perf_counter()) * 1000)
        page.wait_for_timeout(300)
        quiet = quiet + 1 if page.locator(IDLE_APP).count() else 0


def open_page(page, url: str, title: str, timeout_ms: float = 60_000) -> None:
    """Open the app at ``url`` and go to the page called ``title`` through the sidebar."""
    page.goto(url)
    wait_for_app(page, timeout_ms)
    link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first
    link.click()
    wait_for_app(page, timeout_ms)
