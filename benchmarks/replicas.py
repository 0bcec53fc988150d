"""Two app replicas behind a real nginx on loopback, driven by Chromium sessions.

Needs Debian's nginx (``apt-get install -y nginx``; bookworm's ``nginx-light`` is the same
nginx 1.22 plus the echo module) and Chromium at /usr/bin/chromium (``make test`` installs
it); without either it prints why and exits (status 0: it is a benchmark, not part of the
test suite, and CI needs neither for it). It:

1. starts two replicas (``streamlit run app.py``, ``MALLOC_ARENA_MAX=2`` as ``make app``)
   on loopback ports, both reading the one ``checkpoints/`` through a model root of
   symbolic links whose ``user/`` points at one shared writable folder (README, "Serving a
   class from several processes": the same layout), and nginx with the configuration of
   ``deploy/nginx_config.py`` (cookie-sticky, websocket proxying, failover), its access log
   recording each request's replica and the benchmark's session label;
2. times opening the β-slider page until its EMD chart marks the current β, directly on
   replica r0 and through nginx, interleaved (``--opens`` each), after one warm-up open per
   replica; prints both medians and their ratio, and the same for a GET of Streamlit's
   health endpoint (``--round-trips`` each: nginx's own cost, without the page's work);
3. holds ``--sessions`` sessions open through nginx, moves each one's β slider
   (``--presses`` reruns, each must redraw the chart), closes them, and reads nginx's log:
   every request of a session (page, static files, websocket) must have gone to one replica;
   prints the sessions per replica;
4. trains a tiny model (100 jets, 1 epoch) on the Train page of a session on one replica
   and checks that a session on the other replica lists it in the β page's model picker;
5. opens one session on each replica, moves the first one's β, kills (SIGKILL) its replica,
   and checks that the other session still reruns, that the orphaned session reconnects
   by itself to the survivor (a page switch draws; is its β kept?), and that a new session
   opens;
6. checks that no file under ``checkpoints/`` changed (replicas only read it).

    python benchmarks/replicas.py
    python benchmarks/replicas.py --opens 3 --sessions 4 --presses 2 --no-train
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load import BETA_MARKER, SERVE_ENV, SLIDER, loopback_port, server  # noqa: E402
from deploy.nginx_config import render, standalone  # noqa: E402
from jetviz.paths import CHECKPOINTS  # noqa: E402
from jetviz.vae.saving import ROOT_ENV  # noqa: E402
from tests.support_browser import CHROMIUM, CHROMIUM_ARGS, EXCEPTION, wait_for_app  # noqa: E402

NGINX_INSTALL = ("`sudo apt-get install -y nginx` (Debian bookworm: nginx 1.22; nginx-light "
                 "is the same nginx plus the echo module)")
SESSION_COOKIE = "bench_session"  # the benchmark's label of a browser session, in nginx's log
LOG_FORMAT = ("'$status \"$request_uri\" replica=$jetviz_replica "
              f"session=$cookie_{SESSION_COOKIE}'")
LOG_LINE = re.compile(r'(?P<status>\d{3}) "(?P<uri>[^"]*)" replica=(?P<replica>\S*) '
                      r"session=(?P<session>\S*)")


def nginx_binary() -> str | None:
    """nginx on PATH or in /usr/sbin (Debian's place, often not on a user's PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")


def nginx_origin(nginx: str) -> str:
    """nginx's version and, where dpkg knows it, the Debian package that installed it."""
    version = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip()
    package = subprocess.run(["dpkg", "-S", os.path.realpath(nginx)], capture_output=True,
                             text=True) if shutil.which("dpkg") else None
    if package is None or package.returncode:
        return f"{version} at {nginx} (not from a Debian package)"
    name = package.stdout.split(":")[0]
    deb = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", name], capture_output=True,
                         text=True).stdout
    return f"{version} at {nginx}, Debian package {name} {deb} (apt-get install -y nginx)"


def wait_http(url: str, timeout: float) -> None:
    """Poll ``url`` until it answers 200; raise RuntimeError after ``timeout`` s."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1.0) as response:
            if response.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@contextlib.contextmanager
def balancer(nginx: str, port: int, replicas: list[str], work: Path):
    """nginx on 127.0.0.1:port in front of ``replicas``; yields its URL."""
    (work / "jetviz.conf").write_text(render(f"127.0.0.1:{port}", replicas))
    (work / "nginx.conf").write_text(standalone(work, work / "jetviz.conf", (
        f"log_format jetviz_bench {LOG_FORMAT};\n"
        f"access_log {work}/access.log jetviz_bench;")))
    base = [nginx, "-p", str(work), "-e", str(work / "error.log"), "-c", str(work / "nginx.conf")]
    check = subprocess.run([*base, "-t"], capture_output=True, text=True)
    if check.returncode:
        raise RuntimeError(f"nginx rejected the configuration:\n{check.stderr}")
    process = subprocess.Popen([*base, "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/_stcore/health", 30)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def round_trip_ms(url: str) -> float:
    """Milliseconds of one GET of Streamlit's health endpoint (a new connection each)."""
    t0 = time.perf_counter()
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
        response.read()
    return (time.perf_counter() - t0) * 1000


def shared_model_root(work: Path) -> tuple[Path, Path]:
    """A model root of symlinks to every entry of checkpoints/ plus ``user/`` → a shared
    writable folder; returns (root, shared user folder)."""
    root, user = work / "models", work / "shared-user"
    root.mkdir()
    user.mkdir()
    for entry in CHECKPOINTS.iterdir():
        if entry.name != "user":
            (root / entry.name).symlink_to(entry)
    (root / "user").symlink_to(user)
    return root, user


def checkpoints_state() -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every file under checkpoints/."""
    return {str(p.relative_to(CHECKPOINTS)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in CHECKPOINTS.rglob("*") if p.is_file()}


def open_beta(browser, url: str, label: str, timeout_ms: float):
    """A new browser session on ``url``/beta; returns (context, page, replica, seconds).

    The seconds run from the navigation until the EMD chart marks the current β. Raises
    RuntimeError if the page shows an exception.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_cookies([{"name": SESSION_COOKIE, "value": label, "url": url}])
    page = context.new_page()
    t0 = time.perf_counter()
    response = page.goto(f"{url}/beta", timeout=timeout_ms)
    page.wait_for_function(f"() => ({BETA_MARKER})() !== null", timeout=timeout_ms)
    seconds = time.perf_counter() - t0
    wait_for_app(page, timeout_ms)
    if page.locator(EXCEPTION).count():
        raise RuntimeError(f"session {label}: the page shows an exception")
    return context, page, response.headers.get("x-jetviz-replica"), seconds


def move_beta(page, key: str, timeout_ms: float) -> None:
    """Press ``key`` on the β slider and wait until the chart marks the new β (a rerun)."""
    wait_for_app(page, timeout_ms)
    old = page.evaluate(BETA_MARKER)
    thumb = page.locator(SLIDER).first
    thumb.focus()
    thumb.press(key)
    page.wait_for_function(f"(old) => ({BETA_MARKER})() !== old", arg=old, timeout=timeout_ms)


def replicas_by_session(log: Path) -> dict[str, set[str]]:
    """From nginx's access log: session label → the replicas that answered its requests."""
    seen: dict[str, set[str]] = {}
    for line in log.read_text().splitlines():
        match = LOG_LINE.fullmatch(line.strip())
        if match and match["session"] not in ("", "-") and match["replica"]:
            seen.setdefault(match["session"], set()).add(match["replica"])
    return seen


def train_on_one_see_on_other(browser, url: str, timeout_ms: float) -> str:
    """Train a tiny model in a session on one replica; look for it from the other."""
    context, page, trained_on, _ = open_beta(browser, url, "train", timeout_ms)
    name = f"bench_{uuid.uuid4().hex[:6]}"
    try:
        page.goto(f"{url}/train", timeout=timeout_ms)
        wait_for_app(page, timeout_ms)
        for label, value in (("Jets (at most)", "100"), ("Epochs", "1")):
            box = page.locator('[data-testid="stNumberInput"]').filter(has_text=label).first
            box.locator("input").fill(value)
            box.locator("input").press("Enter")
            wait_for_app(page, timeout_ms)
        field = page.locator('[data-testid="stTextInput"]').filter(has_text="Model name")
        field.locator("input").fill(name)
        field.locator("input").press("Enter")
        wait_for_app(page, timeout_ms)
        t0 = time.perf_counter()
        page.locator('[data-testid="stButton"] button').filter(has_text="Train").first.click()
        page.get_by_text("Saved to").wait_for(timeout=timeout_ms * 3)
        trained = time.perf_counter() - t0
    finally:
        context.close()
    for attempt in range(6):  # new sessions alternate replicas; find one on the other
        context, page, replica, _ = open_beta(browser, url, f"look{attempt}", timeout_ms)
        try:
            if replica == trained_on:
                continue
            page.locator('[data-testid="stSelectbox"]').filter(has_text="Model").first.click()
            options = page.locator('[role="option"]').all_inner_texts()
            listed = any(name in text for text in options)
            return (f"trained {name} on {trained_on} in {trained:.0f} s; a session on "
                    f"{replica} lists it in the β page's picker: {'yes' if listed else 'NO'}")
        finally:
            context.close()
    return f"trained {name} on {trained_on}; no session landed on another replica"


def switch_page(page, title: str, timeout_ms: float) -> None:
    """Go to the page ``title`` through the sidebar (a rerun) and wait until it is drawn."""
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length > 0",
                           timeout=timeout_ms)
    wait_for_app(page, timeout_ms)
    if page.locator(EXCEPTION).count():
        raise RuntimeError(f"the {title} page shows an exception")


def failover(browser, url: str, processes: dict, timeout_ms: float) -> list[str]:
    """Kill the replica of one session; check the other session and the orphaned one."""
    first = open_beta(browser, url, "failover0", timeout_ms)
    second = open_beta(browser, url, "failover1", timeout_ms)
    victim, survivor = first[2], second[2]
    if victim == survivor:
        return [f"both failover sessions landed on {victim}: not tested"]
    orphan = first[1]
    for _ in range(2):
        move_beta(orphan, "ArrowLeft", timeout_ms)
    chosen = orphan.evaluate(BETA_MARKER)
    time.sleep(1.0)  # the URL (where the page keeps β) is updated after the rerun
    os.kill(processes[victim].pid, signal.SIGKILL)
    processes[victim].wait()
    t0 = time.perf_counter()
    lines = [f"killed replica {victim} (SIGKILL) with one session on it (β moved to "
             f"{chosen:.3g} GeV) and one on {survivor}"]
    try:
        move_beta(second[1], "ArrowLeft", timeout_ms)
        lines.append(f"session on {survivor}: β slider still reruns: yes")
    except Exception as err:
        lines.append(f"session on {survivor}: β slider still reruns: NO ({type(err).__name__})")
    try:  # the orphan's first action: the β slider, as a student would
        move_beta(orphan, "ArrowRight", 30_000)
        first_move, chosen = "redrew the chart", orphan.evaluate(BETA_MARKER)
        time.sleep(1.0)
    except Exception as err:
        first_move = f"did not redraw within 30 s ({type(err).__name__})"
    try:
        switch_page(orphan, "Latent walk", timeout_ms)
        seconds = time.perf_counter() - t0
        switch_page(orphan, "β slider", timeout_ms)
        back = orphan.evaluate(BETA_MARKER)
        move_beta(orphan, "ArrowLeft", timeout_ms)
        cookie = {c["name"]: c["value"] for c in orphan.context.cookies()}["jetviz_replica"]
        lines.append(
            f"orphaned session: its first β move after the kill {first_move}; it reconnected "
            f"by itself, now on {cookie}; a page switch drew "
            f"{seconds:.1f} s after the kill; its β, back on the β page, reads {back:.3g} GeV "
            f"({'kept: the page keeps β in its URL' if back == chosen else 'not kept'}); "
            "the β slider reruns again: yes")
    except Exception as err:
        lines.append(f"orphaned session: did not recover without a reload "
                     f"({type(err).__name__}: {str(err)[:100]})")
    context, _, replica, seconds = open_beta(browser, url, "after_kill", timeout_ms)
    context.close()
    lines.append(f"new session after the kill: served by {replica}, rendered in {seconds:.1f} s")
    for ctx in (first[0], second[0]):
        ctx.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=5,
                        help="timed page opens, each directly and through nginx")
    parser.add_argument("--round-trips", type=int, default=200,
                        help="health-endpoint GETs, each directly and through nginx")
    parser.add_argument("--sessions", type=int, default=6, help="sessions held open at once")
    parser.add_argument("--presses", type=int, default=3, help="β-slider reruns per session")
    parser.add_argument("--no-train", action="store_true", help="skip the shared-model step")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per wait")
    args = parser.parse_args()
    nginx = nginx_binary()
    if nginx is None:
        print(f"SKIPPED: nginx is not installed; install it with {NGINX_INSTALL}.")
        return
    if not CHROMIUM.exists():
        print(f"SKIPPED: needs Chromium at {CHROMIUM} (make test installs it).")
        return
    from playwright.sync_api import sync_playwright

    before = checkpoints_state()
    ms = args.timeout * 1000
    with tempfile.TemporaryDirectory(prefix="jetviz-replicas-") as tmp, \
            contextlib.ExitStack() as stack:
        work = Path(tmp)
        models, shared_user = shared_model_root(work)
        env = {**SERVE_ENV, ROOT_ENV: str(models)}
        servers = [stack.enter_context(server(loopback_port(8640 + 5 * i, 8644 + 5 * i), env))
                   for i in range(2)]
        urls = [u for u, _ in servers]
        processes = {f"r{i}": p for i, (_, p) in enumerate(servers)}
        lb = stack.enter_context(balancer(nginx, loopback_port(8630, 8639),
                                          [u.removeprefix("http://") for u in urls], work))
        print(f"{nginx_origin(nginx)}\nnginx {lb} → r0 {urls[0]}, r1 {urls[1]}; "
              f"{os.cpu_count()} CPUs shared by 2 replicas, nginx and Chromium (load average "
              f"{os.getloadavg()[0]:.1f} at start)")
        pw = stack.enter_context(sync_playwright())
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        for i, u in enumerate(urls):  # warm-up: each replica loads the model once
            open_beta(browser, u, f"warm{i}", ms)[0].close()

        direct, through = [], []
        for i in range(args.opens):
            for times, u in ((direct, urls[0]), (through, lb)):
                context, _, _, seconds = open_beta(browser, u, f"time{i}", ms)
                context.close()
                times.append(seconds)
        trips: dict[str, list[float]] = {"direct": [], "nginx": []}
        for _ in range(args.round_trips):
            trips["direct"].append(round_trip_ms(urls[0]))
            trips["nginx"].append(round_trip_ms(lb))
        hd, hn = statistics.median(trips["direct"]), statistics.median(trips["nginx"])
        print(f"\nhealth-endpoint round trip, {args.round_trips} each: directly on r0 median "
              f"{hd:.2f} ms, through nginx median {hn:.2f} ms; ratio nginx/direct {hn / hd:.2f}")
        d, t = statistics.median(direct), statistics.median(through)
        print(f"β page render (navigation → EMD chart), {args.opens} opens each: directly on "
              f"r0 median {d:.2f} s, through nginx median {t:.2f} s; ratio nginx/direct "
              f"{t / d:.2f}")

        held, failures = [], 0
        for i in range(args.sessions):
            held.append(open_beta(browser, lb, f"held{i}", ms))
        for i, (_, page, _, _) in enumerate(held):
            for press in range(args.presses):
                try:
                    move_beta(page, "ArrowLeft" if press % 2 == 0 else "ArrowRight", ms)
                except Exception as err:
                    failures += 1
                    print(f"  held{i}: rerun {press} failed: {type(err).__name__}")
        for context, *_ in held:
            context.close()
        time.sleep(1.0)  # nginx logs a websocket when it closes
        seen = replicas_by_session(work / "access.log")
        labels = [f"held{i}" for i in range(args.sessions)] + [
            f"time{i}" for i in range(args.opens)]
        sticky = sum(len(seen.get(label, ())) == 1 for label in labels)
        per_replica = {r: sum(seen.get(label) == {r} for label in labels) for r in processes}
        print(f"sessions through nginx: {len(labels)}; per replica {per_replica}; every "
              f"request of the session (page, static files, websocket) on one replica: "
              f"{sticky}/{len(labels)}; β-slider reruns {args.sessions * args.presses - failures}"
              f"/{args.sessions * args.presses} redrew the chart")

        if not args.no_train:
            print(train_on_one_see_on_other(browser, lb, ms))
            print(f"shared user folder now holds: {sorted(p.name for p in shared_user.iterdir())}")
        print("\n".join(failover(browser, lb, processes, ms)))
    after = checkpoints_state()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    print(f"files under checkpoints/ changed by the replicas: {len(changed)} {changed[:5]}")


if __name__ == "__main__":
    main()
