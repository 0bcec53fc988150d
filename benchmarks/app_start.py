"""Cold start of the app: seconds from `streamlit run app.py` to the home page on screen.

Each repetition starts a fresh server process on a free port and, with Chromium already
running, loads the page until the home page's title text is visible (HTML served, the
websocket connected, the script run, its elements rendered). It then opens the data page
and waits for its charts (the observables of the whole data set are computed on this first
visit). The reference is a bare Streamlit app (one `st.title`) started the same way in the
same run, so the ratio shows what jetviz adds to Streamlit's own start.

    python benchmarks/app_start.py              # the embedded default data set
    python benchmarks/app_start.py --jets F.h5  # another jet file
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support_browser import (  # noqa: E402  (after the path is set)
    CHROMIUM,
    PLOTLY_CHART,
    browser_page,
    running_app,
    wait_for_app,
)

HOME_TITLE = "jetviz: what do neural networks learn about jets?"
BARE_TITLE = "bare streamlit"
GOAL_S = 10.0


def _first_page_seconds(page, script: str, title: str, env: dict[str, str]) -> tuple[float, float]:
    """Start a fresh server; seconds until it answers HTTP, and until ``title`` is visible."""
    start = time.perf_counter()
    with running_app(env=env, script=script, wait=False, file_watcher="auto") as url:
        health = url + "/_stcore/health"
        while True:
            try:
                with urllib.request.urlopen(health, timeout=1.0):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.perf_counter() - start > 120:
                    raise
                time.sleep(0.02)
        serving = time.perf_counter() - start
        page.goto(url, timeout=120_000)
        page.get_by_text(title, exact=True).wait_for(timeout=120_000)
        return serving, time.perf_counter() - start


def _data_page_seconds(page, env: dict[str, str]) -> tuple[float, float]:
    """Fresh server: seconds from a click on the data page to its charts, first and second
    visit."""
    with running_app(env=env) as url:
        page.goto(url)
        wait_for_app(page, 120_000)
        t0 = time.perf_counter()
        page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Jets by class").click()
        page.wait_for_selector(PLOTLY_CHART, timeout=300_000)
        wait_for_app(page, 300_000)
        first = time.perf_counter() - t0
        page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Home").click()
        wait_for_app(page, 120_000)
        t0 = time.perf_counter()
        page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Jets by class").click()
        page.wait_for_selector(PLOTLY_CHART, timeout=120_000)
        wait_for_app(page, 120_000)
        return first, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=Path, default=None,
                        help="jet file to start on (default: the embedded default set)")
    parser.add_argument("--repeat", type=int, default=3, help="cold starts per app")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
        return 1
    from jetviz.paths import DEFAULT_JETS

    jets = args.jets or DEFAULT_JETS
    if not jets.is_file():
        print(f"no jet file at {jets}: make the default with `jetviz generate` or pass --jets")
        return 1
    env = {"JETVIZ_DEFAULT_JETS": str(jets.resolve())}
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(f"import streamlit as st\n\nst.title({BARE_TITLE!r})\n")
        with browser_page() as page:
            jetviz_s, bare_s, serving_s = [], [], []
            for _ in range(args.repeat):  # interleaved, so both see the same machine load
                serving, shown = _first_page_seconds(page, "app.py", HOME_TITLE, env)
                serving_s.append(serving)
                jetviz_s.append(shown)
                bare_s.append(_first_page_seconds(page, str(bare), BARE_TITLE, {})[1])
            data_first, data_again = _data_page_seconds(page, env)
    jv, ref = statistics.median(jetviz_s), statistics.median(bare_s)
    print(f"jet file: {jets} ({jets.stat().st_size / 1e6:.1f} MB); "
          f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"cold start to the home page, median of {args.repeat}: {jv:.2f} s "
          f"(runs {', '.join(f'{s:.2f}' for s in jetviz_s)}; goal ≤ {GOAL_S:.0f} s)")
    print(f"  of which the server answering HTTP: {statistics.median(serving_s):.2f} s")
    print(f"bare Streamlit app, median of {args.repeat}:      {ref:.2f} s "
          f"(runs {', '.join(f'{s:.2f}' for s in bare_s)})")
    print(f"ratio jetviz / bare Streamlit: {jv / ref:.2f}")
    print(f"data page, first visit (observables computed): {data_first:.2f} s; "
          f"second visit (cached): {data_again:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
