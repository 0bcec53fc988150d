"""Generator switch on the Generated jets page, in Chromium: seconds from picking another
generator to its histograms and W1 table on screen.

Two servers are started, one after the other, on the shipped generators and the embedded
default data set:

* **plain**: each generator is computed when it is first picked (cold), and a second visit
  reads the shared caches (warm, the reference);
* **warmed**: ``JETVIZ_WARM_GENERATORS=1`` — a background thread computes every generator's
  default view at start; the benchmark waits until the page says it has finished (at most
  ``--warm-wait`` seconds), then times first visits.

It prints every switch and the median first-visit time of each server, with the ratio.

    python benchmarks/generator_switch.py
    python benchmarks/generator_switch.py --warm-wait 1800   # a slow machine
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support_browser import (  # noqa: E402  (after the path is set)
    CHROMIUM,
    browser_page,
    open_page,
    running_app,
    wait_for_app,
)

GENERATORS = ("t · EMD VAE · flow", "z · EMD VAE · flow", "g · MSE VAE · flow")
# JavaScript: the histogram figure's title (it names the generator shown).
TITLE = """() => { for (const d of document.querySelectorAll('.js-plotly-plot')) {
  const t = (d.layout && d.layout.title && d.layout.title.text) || '';
  if (t.startsWith('True vs generated')) return t; } return null; }"""


def switch(page, label: str) -> float:
    """Pick ``label`` in the generator box; seconds until its chart and table are drawn."""
    start = time.perf_counter()
    page.locator('[data-testid="stSelectbox"]').first.click()
    page.locator('[role="option"]').filter(has_text=label).first.click()
    page.wait_for_function(
        f"() => {{ const t = ({TITLE})(); return t !== null && t.includes({label!r}); }}",
        timeout=600_000)
    wait_for_app(page, 600_000)
    return time.perf_counter() - start


def run(env: dict[str, str], wait: float, labels: tuple[str, ...]) -> dict[str, list[float]]:
    """First and second visits of ``labels`` on one fresh server."""
    with running_app(env=env, timeout=120) as url, browser_page(1440, 900) as page:
        open_page(page, url, "Generated jets", timeout_ms=600_000)
        if wait:  # the page says how far the warm-up is; reload until it is done
            start = time.perf_counter()
            while (page.get_by_text("Precomputing every generator").count()
                   and time.perf_counter() - start < wait):
                time.sleep(15)
                page.reload()
                wait_for_app(page, 600_000)
            print(f"  warm-up finished after ≤ {time.perf_counter() - start:.0f} s", flush=True)
        first = [switch(page, label) for label in labels]
        second = [switch(page, label) for label in labels]
    for label, a, b in zip(labels, first, second, strict=True):
        print(f"  {label:28s} first visit {a:6.1f} s   second visit {b:5.1f} s", flush=True)
    return {"first": first, "second": second}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-wait", type=float, default=1200.0,
                        help="seconds to wait at most for the warm-up thread to finish")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"needs Chromium at {CHROMIUM}")
    print("plain server (computed on first visit):", flush=True)
    plain = run({"JETVIZ_WARM_GENERATORS": "0"}, 0.0, GENERATORS)
    print("warmed server (JETVIZ_WARM_GENERATORS=1):", flush=True)
    warmed = run({"JETVIZ_WARM_GENERATORS": "1"}, args.warm_wait, GENERATORS)
    cold, revisit = statistics.median(plain["first"]), statistics.median(plain["second"])
    warm = statistics.median(warmed["first"])
    print(f"median first visit, plain server : {cold:6.1f} s (reference)")
    print(f"median second visit, plain server: {revisit:6.1f} s "
          f"({revisit / cold:.2f}× the reference)")
    print(f"median first visit, warmed server: {warm:6.1f} s ({warm / cold:.2f}× the reference)")


if __name__ == "__main__":
    main()
