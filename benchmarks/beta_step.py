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

    python benchmarks/beta_step.py [--steps 10]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="slider steps timed")
    args = parser.parse_args()

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
