"""Speed of the β-VAE pages: a β-slider move, a latent-walk step, training, and the browser.

Run: ``python benchmarks/betavae.py [--model checkpoints/vae_w] [--quick]``

Prints, in one run, medians and their ratios to the goals of issue 3:
  1. everything a β-slider move recomputes for 1,000 jets (encode, decode at z = μ, the
     reconstruction EMD per jet, and building every figure the slider drives): goal ≤ 50 ms.
     The EMD is looked up in the model's stored grid (``jetviz slider-emd``) when it has one,
     as the page does, and otherwise computed exactly on every core; both paths are timed.
     As the reference measured in the same run, the exact EMD (POT, one pair at a time) of
     the same jet/reconstruction pairs, and the slider EMD's relative difference from it
     (0 when exact);
  2. one latent-walk step (decode one latent point + its observables + the two figures),
     and the whole 61-step path the page decodes once: goal ≤ 10 ms per step;
  3. training throughput on the CPU (jets/s per epoch) of the model's architecture at P = 30
     with the exact EMD loss (``jetviz train``'s default) on 2 threads (goal ≥ 8,000) and on 1,
     beside the Sinkhorn loss on 2 threads (the reference, in the same run); the machine is
     shared, so the load average is printed, and CPU seconds per 1,000 jets beside;
  4. in Chromium (Playwright), the time from a β-slider key press to the updated chart on the
     page: goal ≤ 1 s (first visits of a β, i.e. uncached; and revisits, i.e. cached).

The model is a shipped checkpoint (default ``checkpoints/vae_w``) on the embedded jets; with
``--quick`` (or when neither exists) a tiny model is trained here first on synthetic jets.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# as `jetviz train` does (jetviz/cli/train.py): OpenMP threads sleep while they wait
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jetviz.emd import emd_pot  # noqa: E402
from jetviz.figures import beta as fl  # noqa: E402
from jetviz.figures import beta_step, jet_display  # noqa: E402
from jetviz.figures import walk as walk_figures  # noqa: E402
from jetviz.paths import CHECKPOINTS, DEFAULT_JETS  # noqa: E402
from jetviz.vae.checkpoint import load_checkpoint  # noqa: E402
from jetviz.vae.explore import kl_at_beta  # noqa: E402
from jetviz.vae.scan import (  # noqa: E402
    BetaScan,
    encode_decode,
    jet_observables,
    prepare,
    reconstruct,
    walk,
)
from jetviz.vae.slider_emd import fingerprint, load_grid  # noqa: E402

GOAL_SLIDER_MS = 50.0
GOAL_WALK_MS = 10.0
GOAL_BROWSER_S = 1.0
GOAL_TRAIN_JETS_S = 8000
N_TRAIN = 5000  # W jets of the training-speed part
N_JETS = 1000


def _cores() -> int:
    return len(os.sched_getaffinity(0))


def _median_ms(fn, repeats: int) -> tuple[float, list[float]]:
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        fn(i)
        times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times), times


def _jets_for(config, record, n: int, seed: int = 0):
    from jetviz.readers import load_jets

    jets = load_jets(str(DEFAULT_JETS), n_particles=config.n_particles_in)
    classes = record.get("classes")
    if classes and len(classes) < len(jets.class_names):
        keep = np.isin(jets.labels, [jets.class_names.index(c) for c in classes])
        jets = jets.subset(keep)
    index = np.sort(np.random.default_rng(seed).permutation(len(jets))[:n])
    return jets.subset(index)


def slider_distances(model, inputs, beta: float, grid, sample_fp: str | None):
    """(recon, distance, source) as the page gets them: stored lookup, else exact on demand."""
    looked_up = None if grid is None else grid.lookup(beta, sample_fp)
    if looked_up is None:
        recon, _, _, distance = reconstruct(model, inputs, beta)
        return recon, distance, "computed"
    x_hat, _, _, _ = encode_decode(model, inputs, beta)
    return x_hat.numpy(), looked_up, "stored"


def slider_move(model, config, scan: BetaScan, inputs, grid, sample_fp) -> dict:
    """Median time of a β-slider move (new β each time: nothing cached)."""
    betas = scan.betas
    picks = np.linspace(2, len(betas) - 3, 15).round().astype(int)
    parts = {"reconstruct": [], "figures": []}
    sources = set()

    def move(i: int) -> None:
        beta = float(betas[picks[i % len(picks)]])
        t0 = time.perf_counter()
        recon, distance, source = slider_distances(model, inputs, beta, grid, sample_fp)
        sources.add(source)
        t1 = time.perf_counter()
        beta_step.kl_bar_figure(kl_at_beta(betas, scan.kl_per_dim, beta), beta)
        fl.kl_curves_figure(betas, scan.kl_per_dim, beta)
        fl.dimensionality_figure(betas, scan.d1, scan.d2, beta, max_dim=config.latent_dim)
        beta_step.emd_histogram_figure(distance, beta)
        x = inputs.x[:4].numpy()
        jet_display.jet_row_figure(recon[:4], None, f"β = {beta:.3g}", role="reconstructed",
                                   extent=jet_display.jet_extent(x))
        t2 = time.perf_counter()
        parts["reconstruct"].append(1000 * (t1 - t0))
        parts["figures"].append(1000 * (t2 - t1))

    move(0)  # warm-up
    parts = {"reconstruct": [], "figures": []}
    total, _ = _median_ms(move, len(picks))
    return {"total": total, **{k: statistics.median(v) for k, v in parts.items()},
            "beta": float(betas[picks[len(picks) // 2]]), "source": "/".join(sorted(sources))}


def exact_reference(model, inputs, beta: float, n: int, grid, sample_fp) -> tuple[float, float]:
    """(ms for n exact POT EMDs one pair at a time, median |slider EMD / exact − 1|)."""
    recon, shown, _ = slider_distances(model, inputs, beta, grid, sample_fp)
    recon = recon.astype(np.float64)  # weights ptrel × pT formed in float64, as the page does
    x, mask = inputs.x.numpy().astype(np.float64), inputs.mask.numpy()
    pt = inputs.jet_pt.numpy().astype(np.float64)
    t0 = time.perf_counter()
    exact = np.array([
        emd_pot(np.column_stack([x[j, mask[j], 0] * pt[j], x[j, mask[j], 1:]]),
                np.column_stack([recon[j, :, 0] * pt[j], recon[j, :, 1:]]), model.config.radius)
        for j in range(n)])
    ms = 1000 * (time.perf_counter() - t0)
    rel = np.abs(shown[:n] / np.maximum(exact, 1e-9) - 1)
    return ms, float(np.median(rel))


def walk_step(model, config, inputs, beta: float) -> dict:
    """Decode one latent point + observables + figures; and the page's whole path."""
    _, mu, _, _ = reconstruct(model, inputs, beta)
    z0 = mu[0]
    direction = np.eye(config.latent_dim)[0]
    pt = float(inputs.jet_pt[0])
    positions = np.linspace(-3, 3, 61)

    def step(i: int) -> None:
        t = positions[i % len(positions)]
        path = walk(model, z0, np.array([t]), beta, direction=direction)  # (1, P, 3)
        obs = jet_observables(path, np.array([pt]), config.radius)
        jet_display.event_display(path[0], jet_pt=pt, radius=config.radius, title="decoded")
        values = {"mass": np.full(61, obs["mass"][0]), "pT": np.full(61, obs["pt"][0]),
                  "τ21": np.full(61, obs["tau21"][0])}
        walk_figures.walk_observables_figure(positions, values, t, "position")

    step(0)
    one, _ = _median_ms(step, 41)

    def decode_only(i: int) -> None:
        path = walk(model, z0, positions[i % 61:i % 61 + 1], beta, direction=direction)
        jet_observables(path, np.array([pt]), config.radius)

    decode, _ = _median_ms(decode_only, 41)

    def whole(i: int) -> None:
        path = walk(model, z0, positions, beta, direction=direction)
        jet_observables(path, np.full(61, pt), config.radius)

    path_ms, _ = _median_ms(whole, 7)
    return {"step": one, "decode": decode, "path": path_ms}


TRAIN_VARIANTS = (  # (name, loss, torch threads = EMD threads)
    ("exact EMD loss, 2 threads", "exact", 2),
    ("exact EMD loss, 1 thread", "exact", 1),
    ("Sinkhorn loss (shipped models'), 2 threads", "sinkhorn", 2),
)


def training_throughput(config, data, rounds: int = 3, epochs: int = 2) -> dict:
    """Training speed on the CPU of the model's architecture at P = 30, per variant.

    Each variant of :data:`TRAIN_VARIANTS` trains ``epochs`` epochs on ``data``; the variants
    take turns, ``rounds`` times, so that each sees the same share of the shared machine's
    load. Returns per variant the medians over its epochs of the wall-clock jets/s and of the
    CPU seconds per 1,000 jets (the process's time on all its threads: what the work costs,
    whatever the load).
    """
    import dataclasses

    from jetviz.vae.train import TrainConfig, train

    before = torch.get_num_threads()
    tc = TrainConfig(epochs=epochs, batch_size=256, scan_points=0, kl_warmup_epochs=1.0)
    rates = {name: [] for name, _, _ in TRAIN_VARIANTS}
    cpu = {name: [] for name, _, _ in TRAIN_VARIANTS}
    n_train = 0
    for _ in range(rounds):
        for name, loss, threads in TRAIN_VARIANTS:
            torch.set_num_threads(threads)
            _, record = train(dataclasses.replace(config, loss=loss), data, tc, device="cpu")
            n_train = record["n_train"]
            for h in record["history"]:
                rates[name].append(h["jets_per_s"])
                cpu[name].append(1000 * h["cpu_seconds"] / (h["jets_per_s"] * h["seconds"]))
    torch.set_num_threads(before)
    return {"n_train": n_train, "epochs": epochs, "rounds": rounds,
            "jets_per_s": {k: statistics.median(v) for k, v in rates.items()},
            "cpu_s_per_1000": {k: statistics.median(v) for k, v in cpu.items()}}


def browser_latency(root: Path, jets_file: Path | None, moves: int = 6) -> dict:
    """Seconds from a slider key press to the updated KL-curves marker in Chromium."""
    from tests.browser.test_browser_vae import MARKER_X, SLIDER, marker_x
    from tests.support_browser import CHROMIUM, browser_page, open_page, running_app, wait_for_app

    if not CHROMIUM.exists():
        return {}
    env = {"JETVIZ_VAE_ROOT": str(root)}
    if jets_file is not None:
        env["JETVIZ_DEFAULT_JETS"] = str(jets_file)
    first, again = [], []
    with running_app(env=env) as url, browser_page() as page:
        open_page(page, url, "β slider", timeout_ms=300_000)
        page.wait_for_function(f"() => ({MARKER_X})('KL of each') !== null", timeout=120_000)
        thumb = page.locator(SLIDER).first
        steps = min(moves, int(thumb.get_attribute("value")))  # room to the grid's low end
        for key, times in (("ArrowLeft", first), ("ArrowRight", again)):
            for _ in range(steps):
                wait_for_app(page)
                old = marker_x(page)
                thumb.focus()
                t0 = time.perf_counter()
                thumb.press(key)
                page.wait_for_function(f"(old) => ({MARKER_X})('KL of each') !== old",
                                       arg=old, timeout=60_000)
                times.append(time.perf_counter() - t0)
    return {"uncached": statistics.median(first), "cached": statistics.median(again),
            "all": first + again}


def _slider_parts(model, config, scan, inputs, jets, model_dir: Path) -> None:
    """Parts 1 and 2: a β-slider move and a latent-walk step (printed)."""
    grid = load_grid(model_dir)
    sample_fp = fingerprint(jets) if grid is not None else None
    s = slider_move(model, config, scan, inputs, grid, sample_fp)
    computed = slider_move(model, config, scan, inputs, None, None) if grid is not None else s
    n_ref = min(200, len(jets))
    ref_ms, rel = exact_reference(model, inputs, s["beta"], n_ref, grid, sample_fp)
    ref_1000 = ref_ms * N_JETS / n_ref
    print(f"\n1. β-slider move, {len(jets)} jets, EMD {s['source']}: median {s['total']:.1f} ms "
          f"(decode + EMD {s['reconstruct']:.1f} ms, figures {s['figures']:.1f} ms)"
          f" — goal {GOAL_SLIDER_MS:.0f} ms, ratio {s['total'] / GOAL_SLIDER_MS:.2f}")
    if grid is not None:
        print(f"   without the stored grid (exact EMD computed on {_cores()} threads): median "
              f"{computed['total']:.1f} ms (decode + EMD {computed['reconstruct']:.1f} ms), "
              f"ratio to goal {computed['total'] / GOAL_SLIDER_MS:.2f}")
    print(f"   reference: exact POT EMD one pair at a time, {ref_1000:.0f} ms per 1,000 pairs "
          f"(measured on {n_ref}); slider EMD vs that exact EMD: median relative difference "
          f"{100 * rel:.2g} %")

    w = walk_step(model, config, inputs, s["beta"])
    print(f"\n2. latent-walk step: decode one latent point + its mass, pT, τ21: median "
          f"{w['decode']:.2f} ms — goal {GOAL_WALK_MS:.0f} ms, ratio "
          f"{w['decode'] / GOAL_WALK_MS:.2f}; with the event display and the observables "
          f"figure: {w['step']:.2f} ms (ratio {w['step'] / GOAL_WALK_MS:.2f}). The page decodes "
          f"the whole 61-step path once ({w['path']:.1f} ms), then a step only indexes into it")



def _training_part(config, record, jets, jets_file: Path) -> None:
    """Part 3: training speed (printed)."""
    train_jets = (_jets_for(config, record, N_TRAIN, seed=1) if jets_file == DEFAULT_JETS
                  else jets)
    load0 = os.getloadavg()
    t = training_throughput(config, train_jets)
    load1 = os.getloadavg()
    rate, cpu = t["jets_per_s"], t["cpu_s_per_1000"]
    main_name, one_name, ref_name = (name for name, _, _ in TRAIN_VARIANTS)
    print(f"\n3. training on the CPU, P = {config.n_particles_in}, batch 256 "
          f"({t['n_train']} training jets, {t['epochs']} epochs per run, the variants in turn "
          f"{t['rounds']} times; load average {load0[0]:.1f} before, {load1[0]:.1f} after, on "
          f"{_cores()} cores shared with other jobs; OMP_WAIT_POLICY "
          f"{os.environ.get('OMP_WAIT_POLICY')}):")
    for name in rate:
        print(f"   {name}: median {rate[name]:.0f} jets/s per epoch; "
              f"{cpu[name]:.3f} CPU s per 1,000 jets")
    per_cpu = 1000 / cpu[main_name]
    print(f"   load-independent: {per_cpu:.0f} jets per CPU second on 2 threads, so two free "
          f"cores would train ≈ {2 * per_cpu:.0f} jets/s (ratio to the goal "
          f"{2 * per_cpu / GOAL_TRAIN_JETS_S:.2f}; an upper bound: waits between threads "
          f"cost wall time, not CPU time)")
    print(f"   goal {GOAL_TRAIN_JETS_S:,} jets/s on 2 cores: ratio "
          f"{rate[main_name] / GOAL_TRAIN_JETS_S:.2f}; reference in this run, the Sinkhorn "
          f"loss on 2 threads: ratio {rate[main_name] / rate[ref_name]:.2f}; 2 threads over 1: "
          f"{rate[main_name] / rate[one_name]:.2f}")
    # Two data-parallel processes of one thread each (`torchrun --nproc_per_node=2 -m jetviz
    # train`), the same exact-loss model and batch per process as `jetviz train`.
    from ddp_throughput import measure
    run = measure("vae", 2, 8192, 40)
    two, load2 = run.rate, run.load
    print(f"   exact EMD loss, 2 DDP processes × 1 thread (torchrun): {two:.0f} jets/s (load "
          f"{load2:.1f}); goal ratio {two / GOAL_TRAIN_JETS_S:.2f}; over one process of 1 "
          f"thread above: {two / rate[one_name]:.2f}")



def _tiny(root: Path) -> tuple[Path, Path]:
    from tests.support_vae import tiny_vae_root

    tiny_vae_root(root)
    return root / "vae_tiny", root / "jets.h5"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(CHECKPOINTS / "vae_w"),
                        help="checkpoint directory (default checkpoints/vae_w)")
    parser.add_argument("--quick", action="store_true", help="use a tiny model trained here")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium part")
    parser.add_argument("--training-only", action="store_true",
                        help="only part 3, the training speed")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1: fair on a shared 2-core machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    tmp = Path(tempfile.mkdtemp(prefix="jetviz-bench-"))
    model_dir, jets_file = Path(args.model), DEFAULT_JETS
    if args.quick or not (model_dir / "config.json").exists() or not DEFAULT_JETS.exists():
        print(f"(no {model_dir} or no embedded jets, or --quick: training a tiny model)")
        model_dir, jets_file = _tiny(tmp)
    model, config, record = load_checkpoint(model_dir)
    scan = BetaScan.from_dict(record["scan"])
    if jets_file == DEFAULT_JETS:
        # the β page's own sample (so a stored grid applies, as on the page)
        from jetviz.readers import MAX_JETS_DEFAULT, load_jets
        from jetviz.vae.slider_emd import ALL_CLASSES, slider_sample

        classes = record.get("classes") or []
        jets = slider_sample(load_jets(str(DEFAULT_JETS), max_jets=MAX_JETS_DEFAULT),
                             classes[0] if len(classes) == 1 else ALL_CLASSES, N_JETS)
    else:
        from jetviz.readers.store import read_jets

        jets = read_jets(jets_file)
    inputs = prepare(model, jets)
    print(f"model {model_dir} (latent {config.latent_dim}, P {config.n_particles_in}→"
          f"{config.n_particles_out}, loss {config.loss}); {len(jets)} jets from {jets_file}; "
          f"torch threads {torch.get_num_threads()}")

    if not args.training_only:
        _slider_parts(model, config, scan, inputs, jets, model_dir)
    _training_part(config, record, jets, jets_file)
    if not args.no_browser and not args.training_only:
        root = tmp / "browser_root"
        root.mkdir()
        (root / "vae_bench").symlink_to(Path(model_dir).resolve())
        b = browser_latency(root, None if jets_file == DEFAULT_JETS else jets_file)
        if b:
            print(f"\n4. Chromium, slider key press → updated chart: median {b['uncached']:.2f} s "
                  f"for a β not seen before, {b['cached']:.2f} s for a revisited β — goal "
                  f"{GOAL_BROWSER_S:.0f} s, ratio {b['uncached'] / GOAL_BROWSER_S:.2f}; all: "
                  + ", ".join(f"{x:.2f}" for x in b["all"]))
        else:
            print("\n4. Chromium not found: browser latency skipped")
    print(f"\n(one run; temporary files in {tmp})")


if __name__ == "__main__":
    main()
