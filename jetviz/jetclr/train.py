"""JetCLR on jetviz jets: contrastive training, the linear probe, the ablation, the ceiling.

JetCLR (Dillon, Kasieczka, Olischläger, Plehn, Sorrenson, Vogel, arXiv:2108.04253) learns a
representation of jets without labels: two augmentations of the same jet (jetviz.jetclr.augment)
should map to nearby points on the unit sphere, different jets far apart (NT-Xent loss,
jetviz.jetclr.model). The representation is then judged by a *linear* classifier (logistic
regression) for top vs QCD (g + q) jets on held-out jets: AUC and the background rejection
1/ε_B at signal efficiency ε_S = 0.5. The ablation retrains with fewer augmentations; a
supervised classifier of the same architecture gives the ceiling.

Data split (``TopQcdSplit``): per class t, g, q a seeded permutation; the first
``test_fraction`` of each class is held out (probe and ceiling are evaluated there), the rest
trains the encoder (without labels), the probe and the ceiling.

Checkpoint layout (a directory, e.g. checkpoints/jetclr/):
  encoder.safetensors  weights of the all-augmentations encoder
  encoder.json         encoder and training config, training record, data split, and the
                       fitted linear probe (standardisation + logistic-regression weights)
  map.npz              representation of held-out jets of all classes on 2-D (PCA, UMAP)
  ablation.json        AUC, 1/ε_B(ε_S = 0.5) and ROC curves per augmentation set and for the
                       supervised ceiling, with the commands that made them
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from jetviz.errors import JetvizInputError
from jetviz.files import atomic_path
from jetviz.jetclr.augment import ABLATION_SETS, augment, augmentation_set, pad_particles
from jetviz.jetclr.model import EncoderConfig, JetClassifier, JetEncoder, nt_xent
from jetviz.jets import JetSet

# The talk's linear-classifier table (talk 002; arXiv:2108.04253), name -> (1/ε_B, AUC).
REFERENCE: dict[str, tuple[float, float]] = {
    "none": (15.0, 0.905),
    "translations": (19.0, 0.916),
    "rotations": (21.0, 0.930),
    "soft + collinear": (89.0, 0.970),
    "all": (181.0, 0.980),
}
SIGNAL = ("t",)  # top jets are the signal
BACKGROUND = ("g", "q")  # QCD jets
ROC_POINTS = 200  # ε_S grid points stored per ROC curve


# ── metrics ───────────────────────────────────────────────────────────────────────────────────
def roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signal and background efficiencies (ε_S, ε_B) over all score thresholds.

    Args:
        scores: (N,) higher means more signal-like.
        labels: (N,) 1 for signal, 0 for background.

    Returns:
        (ε_S, ε_B), each (K,) non-decreasing, from (0, 0) to (1, 1).
    """
    from sklearn.metrics import roc_curve as sk_roc

    labels = np.asarray(labels)
    if labels.shape != np.shape(scores) or len(np.unique(labels)) != 2:
        raise JetvizInputError(
            f"roc_curve: expected scores and 0/1 labels of one shape with both classes, got "
            f"{np.shape(scores)} and {labels.shape} with classes {np.unique(labels).tolist()}")
    eff_b, eff_s, _ = sk_roc(labels, scores)
    return eff_s, eff_b


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (probability a signal jet outscores a background jet)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def inverse_background_at(eff_s: np.ndarray, eff_b: np.ndarray, target: float = 0.5) -> float:
    """Background rejection 1/ε_B at signal efficiency ``target``, interpolated linearly.

    Returns ``inf`` if no background passes at that efficiency.
    """
    eb = float(np.interp(target, eff_s, eff_b))
    return math.inf if eb <= 0 else 1.0 / eb


@dataclass(frozen=True)
class RocSummary:
    """A classifier's held-out performance: AUC, 1/ε_B at ε_S = 0.5, and its ROC curve."""

    auc: float
    inv_eb: float  # 1/ε_B at ε_S = 0.5
    eff_s: list[float]  # ε_S grid (ROC_POINTS values)
    eff_b: list[float]  # ε_B on that grid

    def to_dict(self) -> dict:
        return asdict(self)


def roc_summary(scores: np.ndarray, labels: np.ndarray) -> RocSummary:
    """AUC, 1/ε_B(ε_S = 0.5) and the ROC curve on a fixed ε_S grid, for storing."""
    eff_s, eff_b = roc_curve(scores, labels)
    grid = np.linspace(0.0, 1.0, ROC_POINTS + 1)[1:]
    return RocSummary(auc(scores, labels), inverse_background_at(eff_s, eff_b, 0.5),
                      [round(float(v), 5) for v in grid],
                      [float(f"{v:.6g}") for v in np.interp(grid, eff_s, eff_b)])


# ── data ──────────────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class TopQcdSplit:
    """Which jets of a set train and which test, for top (t) vs QCD (g + q).

    Attributes:
        train: indices into the jet set of the training jets (encoder, probe, ceiling).
        test: indices of the held-out jets.
        y_train, y_test: 1 for top, 0 for QCD.
    """

    train: np.ndarray
    test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def top_qcd_split(jets: JetSet, seed: int = 0, test_fraction: float = 0.2,
                  max_per_class: int | None = None) -> TopQcdSplit:
    """Split the t, g and q jets of ``jets`` into training and held-out parts, per class.

    Args:
        jets: a jet set with classes t, g and q among its class names.
        seed: seed of the per-class permutations.
        test_fraction: fraction of each class held out.
        max_per_class: use at most this many jets of each class (None: all).
    """
    missing = [c for c in SIGNAL + BACKGROUND if c not in jets.class_names
               or jets.counts()[c] < 10]
    if missing:
        raise JetvizInputError(
            f"{jets.source}: top-vs-QCD needs at least 10 jets of each of t, g, q; missing or "
            f"too few: {missing} (classes here: {jets.counts()}); load a set with those classes")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for name in SIGNAL + BACKGROUND:
        idx = np.flatnonzero(jets.labels == jets.class_names.index(name))
        idx = rng.permutation(idx)[:max_per_class]
        n_test = max(1, round(test_fraction * len(idx)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    tr, te = np.concatenate(train), np.concatenate(test)
    top = jets.class_names.index("t")
    return TopQcdSplit(tr, te, (jets.labels[tr] == top).astype(np.int64),
                       (jets.labels[te] == top).astype(np.int64))


# ── training ──────────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class TrainConfig:
    """One JetCLR (or supervised) training run; saved in the checkpoint."""

    augmentations: str = "all"  # name in augment.ABLATION_SETS ("supervised" for ceiling)
    steps: int = 600  # optimizer steps
    batch_size: int = 256  # jets per step (two views each for NT-Xent)
    lr: float = 1e-3  # Adam learning rate (cosine decay to 0)
    weight_decay: float = 1e-5  # AdamW weight decay
    temperature: float = 0.1  # NT-Xent τ
    seed: int = 0  # weights, batches and augmentations
    encoder: EncoderConfig = field(default_factory=EncoderConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> TrainConfig:
        return TrainConfig(**{**d, "encoder": EncoderConfig(**d["encoder"])})


def _batches(n: int, batch_size: int, steps: int, rng: np.random.Generator):
    """Indices of ``steps`` batches, epoch after epoch of fresh permutations."""
    order = rng.permutation(n)
    pos = 0
    for _ in range(steps):
        if pos + batch_size > n:
            order, pos = rng.permutation(n), 0
        yield order[pos:pos + batch_size]
        pos += batch_size


def _loss_record(losses: list[float]) -> dict[str, float]:
    """Mean loss over the first and the last tenth of training (at most 50 steps each)."""
    k = max(1, min(50, len(losses) // 10))
    return {"loss_start": float(np.mean(losses[:k])), "loss_end": float(np.mean(losses[-k:]))}


def _optimizer(model: torch.nn.Module, config: TrainConfig):
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, config.steps) / config.steps)))
    return opt, sched


def train_contrastive(particles: np.ndarray, mask: np.ndarray, jet_pt: np.ndarray,
                      config: TrainConfig,
                      progress: Callable[[int, float], None] | None = None
                      ) -> tuple[JetEncoder, dict]:
    """Train a JetCLR encoder with NT-Xent on two augmented views of each jet.

    Args:
        particles: (N, P, 3) training jets (no labels are used).
        mask: (N, P) True for real particles.
        jet_pt: (N,) jet pT [GeV] (GeV scales of the soft augmentations).
        config: the run; ``config.augmentations`` names the augmentation set.
        progress: called as progress(step, loss) every 50 steps.

    Returns:
        The trained encoder (eval mode) and its training record (losses, seconds).
    """
    aug = augmentation_set(config.augmentations)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = JetEncoder(config.encoder)
    opt, sched = _optimizer(model, config)
    x_all, m_all = pad_particles(particles, mask, particles.shape[1] + aug.extra_slots)
    losses, start = [], time.perf_counter()
    model.train()
    for step, idx in enumerate(_batches(len(x_all), config.batch_size, config.steps, rng)):
        x1, m1 = augment(x_all[idx], m_all[idx], rng, aug, jet_pt[idx])
        x2, m2 = augment(x_all[idx], m_all[idx], rng, aug, jet_pt[idx])
        xs = torch.from_numpy(np.concatenate([x1, x2]).astype(np.float32))
        ms = torch.from_numpy(np.concatenate([m1, m2]))
        _, z = model(xs, ms)
        loss = nt_xent(z[: len(idx)], z[len(idx):], config.temperature)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if progress is not None and (step % 50 == 0 or step == config.steps - 1):
            progress(step, float(np.mean(losses[-50:])))
    model.eval()
    record = {"seconds": round(time.perf_counter() - start, 1), "n_train_jets": len(x_all),
              **_loss_record(losses),
              "loss_curve": [float(np.mean(losses[i:i + 25])) for i in range(0, len(losses), 25)]}
    return model, record


def train_supervised(particles: np.ndarray, mask: np.ndarray, labels: np.ndarray,
                     config: TrainConfig,
                     progress: Callable[[int, float], None] | None = None
                     ) -> tuple[JetClassifier, dict]:
    """Train the same architecture as a top-vs-QCD classifier (binary cross-entropy).

    This is the ceiling a linear probe on a frozen representation is compared with.
    """
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = JetClassifier(config.encoder)
    opt, sched = _optimizer(model, config)
    y_all = labels.astype(np.float32)
    losses, start = [], time.perf_counter()
    model.train()
    for step, idx in enumerate(_batches(len(particles), config.batch_size, config.steps, rng)):
        logits = model(torch.from_numpy(particles[idx].astype(np.float32)),
                       torch.from_numpy(mask[idx]))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, torch.from_numpy(y_all[idx]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if progress is not None and (step % 50 == 0 or step == config.steps - 1):
            progress(step, float(np.mean(losses[-50:])))
    model.eval()
    record = {"seconds": round(time.perf_counter() - start, 1), "n_train_jets": len(particles),
              **_loss_record(losses)}
    return model, record


@torch.no_grad()
def represent(model: JetEncoder, particles: np.ndarray, mask: np.ndarray,
              batch_size: int = 1024) -> np.ndarray:
    """The representation h (N, D) of jets (N, P, 3), computed in batches."""
    model.eval()
    out = [model.represent(torch.from_numpy(particles[i:i + batch_size].astype(np.float32)),
                           torch.from_numpy(mask[i:i + batch_size])).numpy()
           for i in range(0, len(particles), batch_size)]
    return np.concatenate(out).astype(np.float64)


@torch.no_grad()
def classifier_scores(model: JetClassifier, particles: np.ndarray, mask: np.ndarray,
                      batch_size: int = 1024) -> np.ndarray:
    """Logits (N,) of the supervised classifier."""
    model.eval()
    out = [model(torch.from_numpy(particles[i:i + batch_size].astype(np.float32)),
                 torch.from_numpy(mask[i:i + batch_size])).numpy()
           for i in range(0, len(particles), batch_size)]
    return np.concatenate(out).astype(np.float64)


# ───────────────────────────────────────── linear probe ─────────────────────────────────────────
@dataclass(frozen=True)
class LinearProbe:
    """Logistic regression on the standardised representation: score = w·(h − μ)/σ + b."""

    mean: np.ndarray  # (D,)
    scale: np.ndarray  # (D,)
    coef: np.ndarray  # (D,)
    intercept: float
    c: float = 1.0  # the inverse regularisation strength it was fitted with

    def scores(self, h: np.ndarray) -> np.ndarray:
        """Logits (N,) for top, from representations h (N, D)."""
        return ((h - self.mean) / self.scale) @ self.coef + self.intercept

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept, "c": self.c}

    @staticmethod
    def from_dict(d: dict) -> LinearProbe:
        return LinearProbe(np.asarray(d["mean"]), np.asarray(d["scale"]),
                           np.asarray(d["coef"]), float(d["intercept"]), float(d.get("c", 1.0)))


PROBE_C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)  # candidate inverse regularisations
PROBE_VALIDATION = 0.2  # fraction of the training jets that picks C


def fit_probe(h: np.ndarray, y: np.ndarray, c: float | None = None, seed: int = 0
              ) -> LinearProbe:
    """Fit scikit-learn's LogisticRegression on standardised representations h (N, D).

    Args:
        h: (N, D) representations of training jets; y: (N,) 0/1 labels.
        c: inverse regularisation strength; None picks it from ``PROBE_C_GRID`` by the AUC
            on a seeded ``PROBE_VALIDATION`` part of these (training) jets, then refits on
            all of them. The held-out test jets never enter the choice.
        seed: seed of that validation split.
    """
    from sklearn.linear_model import LogisticRegression

    mean, scale = h.mean(0), h.std(0)
    scale = np.where(scale > 1e-8, scale, 1.0)  # a dead dimension: leave it unscaled
    u = (h - mean) / scale
    if c is None:
        order = np.random.default_rng(seed).permutation(len(u))
        n_val = max(2, round(PROBE_VALIDATION * len(u)))
        val, fit = order[:n_val], order[n_val:]
        if len(np.unique(y[val])) < 2 or len(np.unique(y[fit])) < 2:
            c = 1.0  # too few jets to choose: the scikit-learn default
        else:
            scores = {cand: auc(LogisticRegression(C=cand, max_iter=5000).fit(u[fit], y[fit])
                                .decision_function(u[val]), y[val]) for cand in PROBE_C_GRID}
            c = max(scores, key=scores.get)
    clf = LogisticRegression(C=c, max_iter=5000).fit(u, y)
    return LinearProbe(mean, scale, clf.coef_[0].astype(np.float64), float(clf.intercept_[0]),
                       float(c))


# ── checkpoints ───────────────────────────────────────────────────────────────────────────────
def save_encoder(directory: str | os.PathLike, model: JetEncoder, config: TrainConfig,
                 info: dict, stem: str = "encoder") -> Path:
    """Write ``<stem>.safetensors`` (weights) and ``<stem>.json`` (config + info) atomically."""
    from safetensors.torch import save_file

    directory = Path(directory)
    with atomic_path(directory / f"{stem}.safetensors") as tmp:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    with atomic_path(directory / f"{stem}.json") as tmp:
        tmp.write_text(json.dumps({"config": config.to_dict(), **info}, indent=1))
    return directory / f"{stem}.json"


def load_encoder(directory: str | os.PathLike, stem: str = "encoder"
                 ) -> tuple[JetEncoder, TrainConfig, dict]:
    """Rebuild an encoder from its directory: (model in eval mode, config, info dict)."""
    from safetensors.torch import load_file

    directory = Path(directory)
    meta_path, weights = directory / f"{stem}.json", directory / f"{stem}.safetensors"
    if not meta_path.is_file() or not weights.is_file():
        raise JetvizInputError(
            f"{directory}: expected a JetCLR checkpoint ({stem}.json + {stem}.safetensors), "
            "found none; make one with `jetviz jetclr ablation` (see README)")
    try:
        info = json.loads(meta_path.read_text())
        config = TrainConfig.from_dict(info.pop("config"))
    except (ValueError, KeyError, TypeError) as err:
        raise JetvizInputError(f"{meta_path}: not a JetCLR checkpoint description ({err})") from err
    model = JetEncoder(config.encoder)
    model.load_state_dict(load_file(str(weights)))
    model.eval()
    return model, config, info


def save_map(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write the 2-D map arrays as an .npz (no pickled objects) atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)


def load_map(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a map written by ``save_map`` (never unpickles)."""
    if not Path(path).is_file():
        raise JetvizInputError(f"{path}: no JetCLR map here; make it with `jetviz jetclr ablation`")
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def load_results(path: str | os.PathLike) -> dict:
    """Read ablation.json."""
    if not Path(path).is_file():
        raise JetvizInputError(
            f"{path}: no JetCLR ablation results here; make them with `jetviz jetclr ablation`")
    return json.loads(Path(path).read_text())


# ── maps ──────────────────────────────────────────────────────────────────────────────────────
def map_of(model: JetEncoder, jets: JetSet, per_class: int, exclude: np.ndarray, seed: int,
           with_umap: bool = True) -> dict[str, np.ndarray]:
    """Representations of ``per_class`` jets of every class on 2-D: PCA and UMAP.

    Jets in ``exclude`` (the encoder's training jets) are not used.
    """
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    keep = np.ones(len(jets), dtype=bool)
    keep[exclude] = False
    index = np.concatenate([
        rng.permutation(np.flatnonzero(keep & (jets.labels == c)))[:per_class]
        for c in range(len(jets.class_names))])
    h = represent(model, jets.particles[index], jets.mask[index])
    h_std = (h - h.mean(0)) / np.where(h.std(0) > 1e-8, h.std(0), 1.0)
    out = {"index": index.astype(np.int64), "labels": jets.labels[index].astype(np.int64),
           "class_names": np.asarray(jets.class_names),
           "pt": jets.jets[index, 0].astype(np.float32),
           "mass": jets.jets[index, 3].astype(np.float32),
           "pca": PCA(2, random_state=seed).fit_transform(h_std).astype(np.float32)}
    if with_umap:
        import umap

        reducer = umap.UMAP(n_neighbors=30, min_dist=0.2, random_state=seed, n_jobs=1)
        out["umap"] = reducer.fit_transform(h_std).astype(np.float32)
    return out


# ── ablation ──────────────────────────────────────────────────────────────────────────────────
def _log(name: str) -> Callable[[int, float], None]:
    def report(step: int, loss: float) -> None:
        print(f"[{name}] step {step:5d}  loss {loss:.4f}", flush=True)
    return report


def _stem(name: str) -> str:
    """File stem of an ablation entry: "soft + collinear" -> "soft_collinear"."""
    return name.replace(" + ", "_").replace(" ", "_")


def run_one(jets_path: str, name: str, config: TrainConfig, split_seed: int,
            max_per_class: int | None, out_dir: str | None = None) -> dict:
    """Train one ablation entry (an augmentation set, or "supervised") and evaluate it.

    Runs in its own process during the ablation (one torch thread each). Returns the
    entry's results; with ``out_dir`` the model is saved there as ``<name>.*``.
    """
    from jetviz.readers import load_jets

    torch.set_num_threads(1)
    jets = load_jets(jets_path)
    split = top_qcd_split(jets, split_seed, max_per_class=max_per_class)
    x_tr, m_tr = jets.particles[split.train], jets.mask[split.train]
    x_te, m_te = jets.particles[split.test], jets.mask[split.test]
    stem = _stem(name)
    if name == "supervised":
        model, record = train_supervised(x_tr, m_tr, split.y_train, config, _log(name))
        summary = roc_summary(classifier_scores(model, x_te, m_te), split.y_test)
        probe = None
    else:
        model, record = train_contrastive(x_tr, m_tr, jets.jets[split.train, 0], config,
                                          _log(name))
        probe = fit_probe(represent(model, x_tr, m_tr), split.y_train)
        summary = roc_summary(probe.scores(represent(model, x_te, m_te)), split.y_test)
        record = {**record, "probe_c": probe.c}
    print(f"[{name}] AUC {summary.auc:.4f}  1/eps_B(0.5) {summary.inv_eb:.1f}  "
          f"({record['seconds']:.0f} s)", flush=True)
    if out_dir is not None and probe is not None:
        save_encoder(out_dir, model, config,
                     {"record": record, "probe": probe.to_dict(),
                      "split": {"seed": split_seed, "max_per_class": max_per_class,
                                "test_fraction": 0.2, "jets": jets_path},
                      "held_out": {"auc": summary.auc, "inv_eb": summary.inv_eb}}, stem)
    return {"config": config.to_dict(), "record": record, **summary.to_dict()}


def run_ablation(jets_path: str, out_dir: str, base: TrainConfig, supervised_steps: int,
                 split_seed: int = 0, max_per_class: int | None = None, parallel: int = 1,
                 names: list[str] | None = None, map_per_class: int = 600,
                 command: str = "", with_umap: bool = True) -> dict:
    """The JetCLR ablation: one encoder per augmentation set plus the supervised ceiling.

    Writes ``ablation.json``, the all-augmentations encoder (``encoder.*``) and its
    ``map.npz`` into ``out_dir``; the other encoders go to ``out_dir/runs``.
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    names = names or [*ABLATION_SETS, "supervised"]
    jobs = {n: replace(base, augmentations=n,
                       steps=supervised_steps if n == "supervised" else base.steps)
            for n in names}
    runs_dir = str(Path(out_dir) / "runs")
    start = time.perf_counter()
    results: dict[str, dict] = {}

    previous = _compatible_table(Path(out_dir) / "ablation.json", base)

    def write_table() -> dict:
        sup = results.get("supervised")
        table = {"jets": jets_path, "split_seed": split_seed, "max_per_class": max_per_class,
                 "command": command, "wall_seconds": round(time.perf_counter() - start, 1),
                 "parallel": parallel,
                 "reference": {k: {"inv_eb": v[0], "auc": v[1]} for k, v in REFERENCE.items()},
                 "runs": {n: r for n, r in results.items() if n != "supervised"},
                 "supervised": sup}
        table = merge_tables(previous, table) if previous else table
        if table["supervised"] is not None and "all" in table["runs"]:
            table["probe_over_ceiling"] = table["runs"]["all"]["auc"] / table["supervised"]["auc"]
        table["complete"] = set(ABLATION_SETS) <= set(table["runs"]) and bool(table["supervised"])
        with atomic_path(Path(out_dir) / "ablation.json") as tmp:
            tmp.write_text(json.dumps(table, indent=1))
        return table

    if parallel <= 1:  # in this process, one after the other; the table grows run by run
        for n, c in jobs.items():
            results[n] = run_one(jets_path, n, c, split_seed, max_per_class, runs_dir)
            table = write_table()
            if n == "all":
                ship_all(jets_path, out_dir, split_seed, map_per_class, with_umap)
    else:
        with ProcessPoolExecutor(parallel, mp_context=get_context("spawn")) as pool:
            futures = {n: pool.submit(run_one, jets_path, n, c, split_seed, max_per_class,
                                      runs_dir) for n, c in jobs.items()}
            results.update({n: f.result() for n, f in futures.items()})
        table = write_table()
        if "all" in results:
            ship_all(jets_path, out_dir, split_seed, map_per_class, with_umap)
    return table


def _same_budget(a: dict, b: dict, drop: tuple[str, ...] = ("augmentations",)) -> bool:
    """Whether two run configs differ at most in ``drop`` (rows of one table)."""
    return ({k: v for k, v in a.items() if k not in drop}
            == {k: v for k, v in b.items() if k not in drop})


def _compatible_table(path: Path, base: TrainConfig) -> dict | None:
    """The ablation.json at ``path`` if its runs used ``base``'s budget and encoder, else None.

    A rerun with other settings starts a new table (the old file is replaced).
    """
    if not path.is_file():
        return None
    try:
        table = json.loads(path.read_text())
        rows = [(r["config"], ("augmentations",)) for r in table["runs"].values()]
        if table.get("supervised"):  # the ceiling may train for another number of steps
            rows.append((table["supervised"]["config"], ("augmentations", "steps")))
    except (ValueError, KeyError, TypeError):
        return None
    wanted = base.to_dict()
    return table if rows and all(_same_budget(c, wanted, d) for c, d in rows) else None


def merge_tables(old: dict, new: dict) -> dict:
    """An ablation table holding the runs of both (``new``'s win); commands listed in order.

    Lets one table be filled by several ``jetviz jetclr ablation --only …`` invocations at the
    same budget (e.g. on different days or machines).
    """
    commands = [*old.get("commands", [old.get("command", "")]), new.get("command", "")]
    return {**old, **new, "runs": {**old["runs"], **new["runs"]},
            "supervised": new.get("supervised") or old.get("supervised"),
            "command": " ; ".join(c for c in commands if c),
            "commands": [c for c in commands if c],
            "wall_seconds": round(old.get("wall_seconds", 0.0) + new.get("wall_seconds", 0.0), 1)}


def reprobe(jets_path: str, out_dir: str, command: str = "") -> dict:
    """Refit the linear probe of every stored encoder of an ablation; update its rows.

    For tables made before the probe chose its regularisation (``fit_probe``): the encoders
    in ``out_dir/runs`` are not retrained, only their probes refitted on the training jets
    and re-evaluated on the held-out ones. Rewrites ``ablation.json``, the runs' JSON files
    and, for "all", the shipped ``encoder.json``.
    """
    from jetviz.readers import load_jets

    path = Path(out_dir) / "ablation.json"
    table = load_results(path)
    jets = load_jets(jets_path)
    runs = Path(out_dir) / "runs"
    for name, row in table["runs"].items():
        model, config, info = load_encoder(runs, _stem(name))
        split = top_qcd_split(jets, info["split"]["seed"], info["split"]["test_fraction"],
                              info["split"]["max_per_class"])
        probe = fit_probe(represent(model, jets.particles[split.train], jets.mask[split.train]),
                          split.y_train)
        summary = roc_summary(probe.scores(represent(model, jets.particles[split.test],
                                                     jets.mask[split.test])), split.y_test)
        print(f"[{name}] probe C = {probe.c:g}: AUC {row['auc']:.4f} -> {summary.auc:.4f}",
              flush=True)
        row.update(summary.to_dict())
        row["record"] = {**row["record"], "probe_c": probe.c}
        info.update({"probe": probe.to_dict(),
                     "held_out": {"auc": summary.auc, "inv_eb": summary.inv_eb}})
        save_encoder(runs, model, config, info, _stem(name))
        if name == "all":
            save_encoder(out_dir, model, config, info)
    if table.get("supervised") and "all" in table["runs"]:
        table["probe_over_ceiling"] = table["runs"]["all"]["auc"] / table["supervised"]["auc"]
    if command:
        table = merge_tables(table, {"command": command, "runs": {}})
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(table, indent=1))
    return table


def ship_all(jets_path: str, out_dir: str, split_seed: int, map_per_class: int = 600,
             with_umap: bool = True) -> None:
    """Copy the all-augmentations encoder to ``out_dir/encoder.*`` and compute its map."""
    from jetviz.readers import load_jets

    runs = Path(out_dir) / "runs"
    model, config, info = load_encoder(runs, "all")
    save_encoder(out_dir, model, config, info)
    jets = load_jets(jets_path)
    split = top_qcd_split(jets, split_seed, max_per_class=info["split"]["max_per_class"])
    save_map(Path(out_dir) / "map.npz", map_of(model, jets, map_per_class, split.train, seed=0,
                                                    with_umap=with_umap))


# ── CLI ───────────────────────────────────────────────────────────────────────────────────────
def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``jetviz jetclr``."""
    sub = parser.add_subparsers(dest="action", required=True)
    ab = sub.add_parser("ablation", help="train one encoder per augmentation set + the "
                        "supervised ceiling; write ablation.json, the shipped encoder and map")
    ab.add_argument("--jets", default=None, help="jet file (default: the embedded default)")
    ab.add_argument("--out", default=None, help="output directory (default: checkpoints/jetclr)")
    ab.add_argument("--steps", type=int, default=600, help="contrastive steps per encoder")
    ab.add_argument("--supervised-steps", type=int, default=600, help="steps of the ceiling")
    ab.add_argument("--batch-size", type=int, default=256, help="jets per step")
    ab.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    ab.add_argument("--temperature", type=float, default=0.1, help="NT-Xent τ")
    ab.add_argument("--kind", choices=["transformer", "deepsets"], default="transformer",
                    help="encoder architecture")
    ab.add_argument("--width", type=int, default=64, help="per-particle width")
    ab.add_argument("--layers", type=int, default=2, help="blocks / per-particle layers")
    ab.add_argument("--rep-dim", type=int, default=128, help="representation size")
    ab.add_argument("--pair-bias", action="store_true",
                    help="transformer: attention bias from pairwise ΔR, kT, z, m²")
    ab.add_argument("--max-per-class", type=int, default=None, help="jets per class t, g, q")
    ab.add_argument("--seed", type=int, default=0, help="training seed")
    ab.add_argument("--split-seed", type=int, default=0, help="train/test split seed")
    ab.add_argument("--parallel", type=int, default=1, help="trainings at once (1 thread each)")
    ab.add_argument("--only", nargs="+", default=None,
                    choices=[*ABLATION_SETS, "supervised"], help="run only these entries")
    ab.add_argument("--map-per-class", type=int, default=600, help="jets per class on the map")
    rp = sub.add_parser("probe", help="refit the linear probes of an ablation's stored encoders "
                        "(no retraining) and update its table")
    rp.add_argument("--jets", default=None, help="jet file (default: the embedded default)")
    rp.add_argument("--out", default=None, help="ablation directory (default: checkpoints/jetclr)")


def run(args: argparse.Namespace) -> int:
    """Run ``jetviz jetclr ablation`` or ``jetviz jetclr probe``."""
    from jetviz.paths import CHECKPOINTS, DEFAULT_JETS

    jets_path = str(args.jets or DEFAULT_JETS)
    out = str(args.out or CHECKPOINTS / "jetclr")
    command = "jetviz " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["jetclr"] else ""
    if args.action == "probe":
        print(format_table(reprobe(jets_path, out, command)))
        return 0
    base = TrainConfig(
        steps=args.steps, batch_size=args.batch_size, lr=args.lr,
        temperature=args.temperature, seed=args.seed,
        encoder=EncoderConfig(kind=args.kind, width=args.width, layers=args.layers,
                              rep_dim=args.rep_dim, pair_bias=args.pair_bias))
    table = run_ablation(jets_path, out, base, args.supervised_steps, args.split_seed,
                         args.max_per_class, args.parallel, args.only, args.map_per_class,
                         command)
    print(format_table(table))
    return 0


def format_table(table: dict) -> str:
    """The ablation as a text table beside the talk's numbers."""
    lines = [f"{'augmentation':<18}{'AUC':>8}{'1/eB(0.5)':>11}   |  talk: {'AUC':>6}{'1/eB':>6}"]
    runs = table["runs"]
    for name in [n for n in REFERENCE if n in runs] + [n for n in runs if n not in REFERENCE]:
        r, ref = runs[name], table["reference"].get(name, {})
        lines.append(f"{name:<18}{r['auc']:>8.4f}{r['inv_eb']:>11.1f}   |        "
                     f"{ref.get('auc', float('nan')):>6.3f}{ref.get('inv_eb', float('nan')):>6.0f}")
    sup = table.get("supervised")
    if sup:
        lines.append(f"{'supervised':<18}{sup['auc']:>8.4f}{sup['inv_eb']:>11.1f}   |  "
                     "(talk: best supervised ≈ 0.986)")
    if "probe_over_ceiling" in table:
        lines.append(f"probe (all) / supervised AUC = {table['probe_over_ceiling']:.4f}")
    return "\n".join(lines)
