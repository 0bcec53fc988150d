"""What one β-slider step costs the server, and what it sends the browser to redraw.

Runs the β page (app.py + views/beta.py, the shipped models and jets) in Streamlit's AppTest,
moves the slider over ``--steps`` grid points (after one warm-up pass, so the reconstructions
are cached as on a server in use) and prints per step:

  - the script thread's CPU time of the rerun (AppTest reruns the whole page; the server
    reruns only the fragment, so this is an upper bound);
  - what a post-script ``gc.collect()`` costs in this process (Streamlit's default
    ``runner.postScriptGC``, which .streamlit/config.toml turns off), measured in the same
    run, with its ratio to the rerun;
  - the charts sent, those whose figure changed (the browser redraws only these: an
    unchanged figure keeps its element and is not redrawn), their bytes of figure JSON and
    their traces.

Then, in a real browser (``--browser-steps``, 0 to skip): the app served by ``streamlit run``
(as benchmarks/load.py starts it), one Chromium session on /beta, the slider's arrow key
pressed over the same grid points after a warm-up pass, and per step the CPU time of

  - the page's renderer main thread, from the Chrome DevTools Protocol
    (``Performance.getMetrics`` with thread-time ticks: TaskDuration, and its Script,
    Layout and RecalcStyle parts): CPU time, so it holds on a machine shared with other jobs;
  - every Chromium process (browser, renderer, GPU/compositor; /proc utime + stime);
  - the server process (/proc utime + stime of ``streamlit run``, all its threads);
  - and which charts Plotly drew again (a new chart element, or a ``plotly_afterplot`` event;
    a ``Plotly.react`` that finds nothing changed sends one too without drawing, so a chart
    mounted and then re-themed by Streamlit counts 2 either way: the CPU times tell).

``--app DIR`` (repeatable) measures the browser part for other checkouts' apps in the same run
(e.g. ``git archive <commit> | tar -x -C /tmp/before`` for a before/after): each app gets its
server and its page, and the pages take their steps in turn, so that a load from other jobs
on the machine falls on all of them alike.

    python benchmarks/beta_step.py [--steps 10] [--browser-steps 6] [--app /tmp/before --app .]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# Count every chart's draws (plotly_afterplot events), from the moment its element appears;
# REDRAWN returns, per chart title (β values cut off), the draws since its last call.
COUNT_DRAWS = """() => {
  window.__draws = [];
  const watch = (div) => {
    if (div.__watched || !div.on) return;
    div.__watched = true;
    div.on('plotly_afterplot', () => window.__draws.push(
      ((div.layout && div.layout.title && div.layout.title.text) || '(untitled)')
        .split(' at β')[0].split(' = ')[0]));
  };
  new MutationObserver(() => document.querySelectorAll('.js-plotly-plot').forEach(watch))
    .observe(document.body, {childList: true, subtree: true});
  document.querySelectorAll('.js-plotly-plot').forEach(watch);
}"""
REDRAWN = "() => window.__draws.splice(0)"
# The KL bars' title, which names the slider's β (the fragment's first chart; since the
# bars share a figure with the EMD histogram: "KL per dimension and reconstruction EMD at β").
BARS_TITLE = """() => {
  for (const div of document.querySelectorAll('.js-plotly-plot')) {
    const text = (div.layout && div.layout.title && div.layout.title.text) || '';
    if (text.startsWith('KL per dimension')) return text;
  }
  return null;
}"""
METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def process_tree_cpu(root: int, name: str = "chromium") -> float:
    """CPU seconds (utime + stime) of the living descendants of process ``root`` called
    ``name`` (the browser's processes; not the app servers or Playwright's driver, which
    are descendants too)."""
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().split("(", 1)[1].rsplit(")", 1)
        except OSError:
            continue
        fields, pid = tail.split(), int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(pid)
        ticks[pid] = int(fields[11]) + int(fields[12]) if head == name else 0
    total, todo = 0, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (utime + stime, all threads) of process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Session:
    """One Chromium page on /beta of one app's server, with its DevTools session."""

    def __init__(self, browser, url: str, server_pid: int, timeout_ms: float) -> None:
        from benchmarks.load import SLIDER
        from tests.support_browser import wait_for_app

        self.page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        self.cdp = self.page.context.new_cdp_session(self.page)
        self.cdp.send("Performance.enable", {"timeDomain": "threadTicks"})  # CPU, not wall
        self.server_pid, self.timeout_ms, self.wait = server_pid, timeout_ms, wait_for_app
        self.page.goto(f"{url}/beta")
        self.page.wait_for_function(f"() => ({BARS_TITLE})() !== null", timeout=timeout_ms)
        wait_for_app(self.page, timeout_ms)
        self.page.evaluate(COUNT_DRAWS)
        self.thumb = self.page.locator(SLIDER).first
        self.out: dict[str, list] = {"renderer " + m: [] for m in METRICS}
        self.out.update({"chromium": [], "server": [], "redrawn": []})

    def press(self, key: str) -> None:
        """One arrow-key press on the slider, until the rerun ended and the charts are drawn."""
        old = self.page.evaluate(BARS_TITLE)
        self.thumb.focus()
        self.thumb.press(key)
        self.page.wait_for_function(f"(old) => ({BARS_TITLE})() !== old", arg=old,
                                    polling=50, timeout=self.timeout_ms)  # not every frame
        self.wait(self.page, self.timeout_ms)  # the rerun has ended
        self.page.wait_for_timeout(500)  # and the last charts are drawn

    def snapshot(self) -> dict[str, float]:
        metrics = {m["name"]: m["value"]
                   for m in self.cdp.send("Performance.getMetrics")["metrics"]}
        return {**{"renderer " + m: metrics[m] for m in METRICS},
                "chromium": process_tree_cpu(os.getpid()),
                "server": process_cpu(self.server_pid)}

    def timed_press(self, key: str) -> None:
        before = self.snapshot()
        self.press(key)
        after = self.snapshot()
        for name, value in after.items():
            self.out[name].append(value - before[name])
        self.out["redrawn"].append(self.page.evaluate(REDRAWN))


def browser_steps(apps: list[Path], steps: int, timeout_ms: float = 180_000
                  ) -> list[dict[str, list]]:
    """Per-step CPU seconds of the β page, one Chromium page per app (each app its own
    server), the apps' steps taken in turn so that all see the same machine load."""
    from playwright.sync_api import sync_playwright

    from benchmarks.load import SERVE_ENV, loopback_port, server
    from tests.support_browser import CHROMIUM, CHROMIUM_ARGS

    keys = ["ArrowLeft"] * steps + ["ArrowRight"] * steps
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(server(loopback_port(8630, 8639), SERVE_ENV, app))
                   for app in apps]
        pw = stack.enter_context(sync_playwright())
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        sessions = [Session(browser, url, process.pid, timeout_ms) for url, process in servers]
        for session in sessions:  # warm-up: each server caches these β's reconstructions
            for key in keys:
                session.press(key)
            session.page.evaluate(REDRAWN)
        for key in keys:
            for session in sessions:
                session.timed_press(key)
        browser.close()
    return [session.out for session in sessions]


def print_browser(app: Path, out: dict[str, list]) -> None:
    print(f"\nβ page in Chromium, app {app}, {len(out['server'])} slider key presses; "
          f"CPU seconds per step, median (max):")
    for name, values in out.items():
        if name != "redrawn":
            print(f"  {name:30s} {statistics.median(values):6.3f} ({max(values):.3f})")
    counts: dict[str, int] = {}
    for titles in out["redrawn"]:
        for title in titles:
            counts[title] = counts.get(title, 0) + 1
    print(f"  charts drawn per step: {statistics.median(len(t) for t in out['redrawn']):.0f}; "
          "times each was drawn: " + "; ".join(f"{t[:48]!r} {n}" for t, n in counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="slider steps timed (AppTest)")
    parser.add_argument("--browser-steps", type=int, default=5,
                        help="slider key presses each way in Chromium (0: skip the browser)")
    parser.add_argument("--app", type=Path, action="append",
                        help="measure this checkout's app in the browser (repeatable; "
                             "default: this checkout)")
    args = parser.parse_args()
    if args.browser_steps:
        apps = [app.resolve() for app in args.app or [ROOT]]
        outs = browser_steps(apps, args.browser_steps)
        for app, out in zip(apps, outs, strict=True):
            print_browser(app, out)
        for app, out in zip(apps[1:], outs[1:], strict=True):
            ratios = [statistics.median(out[name]) / statistics.median(outs[0][name])
                      for name in ("renderer TaskDuration", "chromium")]
            print(f"\n{app} / {apps[0]}, CPU per step: renderer main thread {ratios[0]:.2f}, "
                  f"every Chromium process {ratios[1]:.2f}")
    if not args.steps:
        return

    import streamlit.testing.v1.app_test as app_test_module
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.testing.v1 import AppTest

    from tests.support_apptest import APP, _NavigationPagesManager

    app_test_module.PagesManager = _NavigationPagesManager
    cpu: list[float] = []
    run_script = script_runner.ScriptRunner._run_script

    def timed_run(self, *a, **k):  # the script runs in its own thread: time that thread
        t0 = time.thread_time()
        try:
            return run_script(self, *a, **k)
        finally:
            cpu.append(time.thread_time() - t0)

    script_runner.ScriptRunner._run_script = timed_run
    at = AppTest.from_file(APP, default_timeout=600)
    at.run()
    at.switch_page("views/beta.py").run()
    slider = at.select_slider[0]
    start = slider.value
    indices = [max(start - k, 0) for k in range(args.steps + 1)]

    def specs() -> dict[str, str]:
        return {c.proto.id.rsplit("-", 1)[-1]: c.proto.spec for c in at.get("plotly_chart")}

    for index in indices:  # warm-up: reconstructions cached, as on a server in use
        at.select_slider(key=slider.key).set_value(index).run()
    at.select_slider(key=slider.key).set_value(indices[0]).run()
    before = specs()
    cpu.clear()
    sent, redrawn, redrawn_bytes, traces = [], [], [], []
    ever_changed: set[str] = set()
    for index in indices[1:]:
        at.select_slider(key=slider.key).set_value(index).run()
        now = specs()
        changed = [k for k, v in now.items() if before.get(k) != v]
        ever_changed.update(changed)
        sent.append(sum(len(v) for v in now.values()))
        redrawn.append(len(changed))
        redrawn_bytes.append(sum(len(now[k]) for k in changed))
        traces.append(sum(len(json.loads(now[k])["data"]) for k in changed))
        before = now
    gc_seconds = []
    for _ in range(5):
        t0 = time.process_time()
        gc.collect()
        gc_seconds.append(time.process_time() - t0)

    rerun, collect = statistics.median(cpu), statistics.median(gc_seconds)
    print(f"β page, model {slider.key.split(':')[-1]}, {args.steps} slider steps (AppTest):")
    print(f"  server CPU per rerun (script thread, whole page): {rerun:.3f} s")
    print(f"  a post-script gc.collect() in this process: {collect:.3f} s "
          f"(ratio to the rerun {collect / rerun:.1f}; off: runner.postScriptGC = false)")
    print(f"  charts sent per step: {len(before)}, {statistics.median(sent) / 1e3:.1f} kB of "
          f"figure JSON; redrawn (figure changed): {statistics.median(redrawn):.0f} charts, "
          f"{statistics.median(redrawn_bytes) / 1e3:.1f} kB, "
          f"{statistics.median(traces):.0f} traces")
    print(f"  unchanged at every step: {sorted(set(before) - ever_changed)}")


if __name__ == "__main__":
    main()
