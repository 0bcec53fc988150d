"""Load: 1, 4 and 8 concurrent Chromium sessions on the β, theory-map and generation pages.

Starts the app (`streamlit run app.py`) on a free loopback port with the shipped checkpoints,
then for each session count N runs N browser sessions at once (one Chromium, one context per
session, Playwright's async API). Every session, in a bounded number of steps:

  open_beta         open /beta until its KL bars and the reconstructions are drawn
  beta_step         one β-slider key press until both the KL bars (the fragment's first
                    chart) and the reconstructed jets (its last picture) show the new β
                    (``--presses``)
  open_theory_map   go to the theory map until the map is drawn
  theory_map_switch switch the 2-D map UMAP ↔ PCA until the map changes (``--switches``)
  open_generation   go to the generated-jets page until its charts are drawn
  generation_seed   one step of the seed (0 → 1 → 0, so later sessions hit the cache)

A session goes from page to page as a student does, by the sidebar's links (Streamlit switches
the page in the open tab); ``--navigate reload`` loads each page's URL afresh instead, so the
browser starts Streamlit's whole frontend again at every page (compare the open_* rows).
It prints, per N and action, the median and p95 seconds, the count and the errors, with the
server's resident memory (VmRSS of the streamlit process) before the first session, after
each N, and 10 s after the last browser closed. Every wait has a timeout (``--timeout``).

    python benchmarks/load.py                  # 1, 4 and 8 sessions
    python benchmarks/load.py --sessions 1 4   # fewer
    python benchmarks/load.py --app ../main    # another checkout's app, same measurement

The β-slider goal of issue 11: with 8 sessions, median ≤ 0.8 s and p95 ≤ 1.5 s; server
memory after the run ≤ 1.2 GB. The browsers run on the same machine as the server, so their
CPU use is part of what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support_browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    IDLE_APP,
    MAIN,
    free_port,
    wait_until_serving,
)

SLIDER = '[data-testid="stSlider"] input[type="range"]'
# The β the page marks: the "current β" marker of the reconstruction-distance histogram
# (the right panel of the figure titled "KL per dimension and reconstruction EMD at β = …")
# (the KL-curves and dimensionality charts draw no marker: they stay the same at every step).
BETA_MARKER = """() => {
  for (const div of document.querySelectorAll('.js-plotly-plot')) {
    const text = (div.layout && div.layout.title && div.layout.title.text) || '';
    if (!text.startsWith('KL per dimension')) continue;
    const marker = (div.data || []).find(t => t.name === 'current β');
    if (marker) return marker.x[0];
  }
  return null;
}"""
# A β step is done when the first and the last picture of the fragment show the new β: the
# KL bars (their title names β) and the reconstructed jets (an image whose alt text names β,
# set with its picture once the model has run).
BETA_DRAWN = """() => {
  let bars = null;
  for (const div of document.querySelectorAll('.js-plotly-plot')) {
    const text = (div.layout && div.layout.title && div.layout.title.text) || '';
    if (text.startsWith('KL per dimension')) bars = text;
  }
  const rebuilt = document.querySelector('img[alt^="Their reconstructions at β"]');
  return bars === null || rebuilt === null ? null : [bars, rebuilt.alt];
}"""
NEW_BETA = f"""(old) => {{
  const now = ({BETA_DRAWN})();
  return now !== null && now[0] !== old[0] && now[1] !== old[1];
}}"""
# Every chart's traces as (name, first x, number of x, sum of y), from plotly's full data
# (arrays sent as base64 ``bdata`` are decoded there, not in ``div.data``).
CHARTS = """() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')].filter(d => d._fullData);
  if (!plots.length) return null;
  const sum = (a) => a && a.length ? Array.from(a).reduce((s, v) => s + (Number(v) || 0), 0) : null;
  return JSON.stringify(plots.map(d => d._fullData.map(
    t => [t.name, t.x && t.x.length ? Number(t.x[0]) : null, t.x ? t.x.length : 0, sum(t.y)])));
}"""


SERVE_ENV = {"MALLOC_ARENA_MAX": "2"}  # as `make app` starts the server (README)


def loopback_port(first: int, last: int) -> int:
    """The first port in [first, last] free on 127.0.0.1, else any free port."""
    import socket

    for port in range(first, last + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (VmRSS from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def server(port: int, extra_env: dict[str, str], root: Path = ROOT):
    """``streamlit run app.py`` of the checkout ``root`` on 127.0.0.1:port; yields
    (url, process)."""
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    env = {**os.environ, "PYTHONPATH": str(root), **extra_env}
    process = subprocess.Popen(cmd, cwd=root, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_serving(url, process, 120)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def idle(page, timeout_ms: float) -> None:
    """The app has connected and finished its script run (twice, 300 ms apart)."""
    await page.wait_for_selector(MAIN, timeout=timeout_ms)
    quiet = 0
    while quiet < 2:
        await page.wait_for_selector(IDLE_APP, timeout=timeout_ms)
        await page.wait_for_timeout(300)
        quiet = quiet + 1 if await page.locator(IDLE_APP).count() else 0


async def timed(times: dict, errors: dict, action: str, coro) -> bool:
    t0 = time.perf_counter()
    try:
        await coro
    except Exception as err:  # a timeout or a page error is counted, not fatal
        errors.setdefault(action, []).append(f"{type(err).__name__}: {str(err)[:120]}")
        return False
    times.setdefault(action, []).append(time.perf_counter() - t0)
    return True


async def session(browser, url: str, index: int, args, times: dict, errors: dict) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    ms = args.timeout * 1000
    try:
        async def open_beta():
            await page.goto(f"{url}/beta")
            await page.wait_for_function(f"() => ({BETA_DRAWN})() !== null", timeout=ms)

        if await timed(times, errors, "open_beta", open_beta()):
            thumb = page.locator(SLIDER).first
            for press in range(args.presses):
                key = "ArrowLeft" if (press // 5) % 2 == 0 else "ArrowRight"

                async def step(key=key):
                    await idle(page, ms)
                    old = await page.evaluate(BETA_DRAWN)
                    await thumb.focus()
                    t0 = time.perf_counter()
                    await thumb.press(key)
                    await page.wait_for_function(NEW_BETA, arg=old, timeout=ms)
                    return time.perf_counter() - t0

                try:
                    times.setdefault("beta_step", []).append(await step())
                except Exception as err:
                    errors.setdefault("beta_step", []).append(f"{type(err).__name__}")

        async def go_to(path: str, title: str) -> None:
            if args.navigate == "reload":
                await page.goto(f"{url}/{path}")
            else:
                await page.locator('[data-testid="stSidebarNav"] a').filter(
                    has_text=title).first.click()
                await page.wait_for_url(f"**/{path}", timeout=ms)

        async def open_map():
            await go_to("theory_map", "Theory map")
            await idle(page, ms)
            await page.wait_for_function(f"() => ({CHARTS})() !== null", timeout=ms)

        if await timed(times, errors, "open_theory_map", open_map()):
            for switch in range(args.switches):
                label = "PCA" if switch % 2 == 0 else "UMAP"

                async def flip(label=label):
                    old = await page.evaluate(CHARTS)
                    await page.locator('[data-testid="stRadio"] label').filter(
                        has_text=label).first.click()
                    await page.wait_for_function(f"(old) => ({CHARTS})() !== old", arg=old,
                                                 timeout=ms)
                    await idle(page, ms)

                await timed(times, errors, "theory_map_switch", flip())

        async def open_generation():
            await go_to("generation", "Generated jets")
            await idle(page, ms)
            await page.wait_for_function(f"() => ({CHARTS})() !== null", timeout=ms)

        if await timed(times, errors, "open_generation", open_generation()):
            for step_i in range(args.seed_steps):
                button = ('[data-testid="stNumberInputStepUp"]' if step_i % 2 == 0
                          else '[data-testid="stNumberInputStepDown"]')

                async def reseed(button=button):
                    old = await page.evaluate(CHARTS)
                    seed = page.locator('[data-testid="stNumberInput"]').filter(
                        has_text="Seed").first
                    await seed.locator(button).click()
                    await page.wait_for_function(f"(old) => ({CHARTS})() !== old", arg=old,
                                                 timeout=ms)
                    await idle(page, ms)

                await timed(times, errors, "generation_seed", reseed())
    finally:
        await context.close()


async def round_of(n: int, url: str, args) -> tuple[dict, dict, float]:
    from playwright.async_api import async_playwright

    times: dict[str, list[float]] = {}
    errors: dict[str, list[str]] = {}
    t0 = time.perf_counter()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            await asyncio.gather(*(session(browser, url, i, args, times, errors)
                                   for i in range(n)))
        finally:
            await browser.close()
    return times, errors, time.perf_counter() - t0


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--presses", type=int, default=10, help="β-slider presses per session")
    parser.add_argument("--switches", type=int, default=2, help="UMAP/PCA switches per session")
    parser.add_argument("--seed-steps", type=int, default=2, help="seed steps per session")
    parser.add_argument("--navigate", choices=["sidebar", "reload"], default="sidebar",
                        help="go to the next page by its sidebar link, or load its URL")
    parser.add_argument("--timeout", type=float, default=180, help="seconds per wait")
    parser.add_argument("--ports", type=int, nargs=2, default=[8620, 8629],
                        help="try these loopback ports first (then any free one)")
    parser.add_argument("--app", type=Path, default=ROOT,
                        help="serve the app of this checkout (default: this one), e.g. an "
                             "older commit's worktree, to compare in the same conditions")
    parser.add_argument("--default-malloc", action="store_true",
                        help="start the server without MALLOC_ARENA_MAX=2 (glibc's default)")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"needs Chromium at {CHROMIUM} (make test installs it)")
    env = {} if args.default_malloc else SERVE_ENV
    with server(loopback_port(*args.ports), env, args.app.resolve()) as (url, process):
        print(f"app {args.app.resolve()}; server {url}, pid {process.pid}, "
              f"env {env or 'glibc malloc defaults'}; "
              f"{os.cpu_count()} CPUs (shared with the browsers and any other job on this "
              f"machine; load average {os.getloadavg()[0]:.1f} at start)")
        memory = [("before any session", rss_mb(process.pid))]
        goal = None
        for n in args.sessions:
            times, errors, seconds = asyncio.run(round_of(n, url, args))
            memory.append((f"after {n} session(s)", rss_mb(process.pid)))
            print(f"\n{n} concurrent session(s), {seconds:.0f} s wall:")
            print(f"  {'action':18s} {'median s':>9s} {'p95 s':>7s} {'count':>6s} {'errors':>7s}")
            for action in ("open_beta", "beta_step", "open_theory_map", "theory_map_switch",
                           "open_generation", "generation_seed"):
                values = times.get(action, [])
                bad = len(errors.get(action, []))
                if values:
                    print(f"  {action:18s} {statistics.median(values):9.2f} {p95(values):7.2f} "
                          f"{len(values):6d} {bad:7d}")
                else:
                    print(f"  {action:18s} {'-':>9s} {'-':>7s} {0:6d} {bad:7d}")
            for action, messages in errors.items():
                print(f"  errors in {action}: {messages[:2]}")
            if n == 8 and times.get("beta_step"):
                goal = (statistics.median(times["beta_step"]), p95(times["beta_step"]))
        time.sleep(10)
        memory.append(("10 s after the last session", rss_mb(process.pid)))
    print("\nserver memory (VmRSS): " + "; ".join(f"{w} {mb:.0f} MB" for w, mb in memory))
    if goal is not None:
        print(f"8 sessions, β-slider step: median {goal[0]:.2f} s (goal ≤ 0.8, ratio "
              f"{goal[0] / 0.8:.2f}), p95 {goal[1]:.2f} s (goal ≤ 1.5, ratio {goal[1] / 1.5:.2f}); "
              f"memory after {memory[-1][1]:.0f} MB (goal ≤ 1200, ratio "
              f"{memory[-1][1] / 1200:.2f})")


if __name__ == "__main__":
    main()
