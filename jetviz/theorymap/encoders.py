"""The theory map: one low-dimensional space for events of many theories (talk 003).

Vocabulary
----------
An **event** is the 18 numbers of ``jetviz.events.EVENT_FEATURES`` (four leading R = 0.4 jets
(pT, η, φ, m) and MET, φ_MET; GeV). Before a network sees it, it becomes the 18
**standardised features** of ``STANDARDISED_FEATURES``: log(1 + pT/GeV) and log(1 + m/GeV)
for jets and MET, η as is, and every φ as Δφ to the leading jet (the physics does not change
under a global rotation in φ, so absolute φ carries no information), then shifted and scaled
by a ``Scaler`` fitted on the training events and stored in every checkpoint.

A **theory** is a row of the theory table: a SUSY point (m_g̃, m_χ̃), a Standard-Model
background, or the **unphysical** sample — real events whose 18 columns are shuffled
independently across events, so every marginal is real but every correlation is gone.

A **set** is N events of one theory, (N, 18); a batch of sets is (B, N, 18). Sets are drawn
without replacement inside a set. The encoders (``jetviz.theorymap.model``) map a set to a
latent vector (D = 8); a **map** is the 2-D UMAP (and PCA) image of the latent vectors of
training sets, computed once and stored (``jetviz.theorymap.maps``, which also projects new
events onto a stored map and reads and writes checkpoints).

Accuracy (as in the talk): a Gaussian kernel density estimate per theory on the training
embeddings assigns each held-out set to the theory of highest density (equal priors). The
bandwidth of each theory's KDE is Scott's rule in D dimensions, ``h = σ̄ n^(−1/(D+4))`` with
σ̄² the mean per-dimension variance of that theory's training embeddings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.neighbors import KernelDensity

from jetviz.errors import JetvizInputError
from jetviz.events import EVENT_FEATURES, EventSet, Theory
from jetviz.files import atomic_path
from jetviz.theorymap.model import (
    METHODS,
    EncoderConfig,
    SetEncoder,
    contrastive_loss,
    neural_embedding_loss,
    reconstruction_loss,
)

STANDARDISED_FEATURES: tuple[str, ...] = (
    *(f"j{j}_{v}" for j in range(1, 5) for v in ("log1p_pt", "eta", "dphi", "log1p_m")),
    "log1p_met",
    "met_dphi",
)
UNPHYSICAL = Theory("unphysical", "unphysical")
_MET, _J1PT = EVENT_FEATURES.index("met"), EVENT_FEATURES.index("j1_pt")


# --------------------------------------------------------------------------- features


def _wrap(phi: np.ndarray) -> np.ndarray:
    """Angles wrapped into (−π, π]."""
    return np.pi - np.mod(np.pi - phi, 2 * np.pi)


def physics_features(features: np.ndarray) -> np.ndarray:
    """(…, 18) raw event features → (…, 18) features in the order of STANDARDISED_FEATURES.

    Jets that are absent (pT = 0) get Δφ = 0, so padding stays a fixed point.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.shape[-1] != len(EVENT_FEATURES):
        raise JetvizInputError(f"expected events (…, {len(EVENT_FEATURES)}), got {f.shape}")
    out = np.empty_like(f)
    phi1 = f[..., 2]
    for j in range(4):
        pt, eta, phi, m = (f[..., 4 * j + k] for k in range(4))
        out[..., 4 * j] = np.log1p(np.maximum(pt, 0))
        out[..., 4 * j + 1] = eta
        out[..., 4 * j + 2] = np.where(pt > 0, _wrap(phi - phi1), 0.0)
        out[..., 4 * j + 3] = np.log1p(np.maximum(m, 0))
    out[..., 16] = np.log1p(np.maximum(f[..., 16], 0))
    out[..., 17] = _wrap(f[..., 17] - phi1)
    return out


@dataclass(frozen=True)
class Scaler:
    """Per-feature shift and scale of the physics features (stored in the checkpoint)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, features: np.ndarray) -> Scaler:
        """Fit on raw (N, 18) events; constant columns (Δφ of the leading jet) get scale 1."""
        x = physics_features(features)
        std = x.std(axis=0)
        std[std < 1e-6] = 1.0  # constant column: keep it at 0 instead of dividing by 0
        return cls(tuple(map(float, x.mean(axis=0))), tuple(map(float, std)))

    @classmethod
    def from_dict(cls, d: dict) -> Scaler:
        """Inverse of ``dataclasses.asdict`` (as stored in a checkpoint's JSON)."""
        return cls(tuple(map(float, d["mean"])), tuple(map(float, d["std"])))

    def transform(self, features: np.ndarray) -> np.ndarray:
        """Raw (…, 18) events → standardised (…, 18) float32."""
        x = (physics_features(features) - np.asarray(self.mean)) / np.asarray(self.std)
        return x.astype(np.float32)


ETA_COLUMNS = (1, 5, 9, 13)  # η of the four jets in STANDARDISED_FEATURES
DPHI_COLUMNS = (2, 6, 10, 14, 17)  # Δφ of jets 1-4 and of MET to the leading jet


def mirror_events(x: torch.Tensor, scaler: Scaler, generator: torch.Generator) -> torch.Tensor:
    """Reflect each event at random in η (η → −η) and, independently, in φ (Δφ → −Δφ).

    Both reflections are symmetries of a pp collision, so a mirrored event is as likely as
    the event itself in every theory: a free data augmentation. Works on standardised
    features: a reflected column c becomes ``−x − 2·mean_c/std_c``.

    Args:
        x: (B, N, 18) standardised events.
        scaler: the scaler that standardised them.
        generator: torch random generator.

    Returns:
        (B, N, 18) mirrored events.
    """
    shift = torch.as_tensor(np.asarray(scaler.mean) / np.asarray(scaler.std), dtype=x.dtype)
    sign = torch.ones_like(x)
    for cols in (ETA_COLUMNS, DPHI_COLUMNS):
        flip = torch.rand(*x.shape[:-1], 1, generator=generator) < 0.5  # (B, N, 1)
        sign[..., list(cols)] = torch.where(flip, -1.0, 1.0).to(x.dtype)
    return sign * x + (sign - 1) * shift


def unphysical_sample(features: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """An unphysical sample: each column of real events permuted independently.

    Args:
        features: (M, 18) raw events (any mix of theories).
        n: number of events to return (≤ M; every column is a permutation of the same n
            source events, so each marginal is exactly that of the n source events).
        rng: the random generator.

    Returns:
        (n, 18) events with real marginals and no correlations between columns.
    """
    if not 0 < n <= len(features):
        raise ValueError(f"need 0 < n ≤ {len(features)} source events, got n = {n}")
    source = features[rng.choice(len(features), size=n, replace=False)]
    return np.stack([source[rng.permutation(n), c] for c in range(source.shape[1])], axis=1)


def label_distances(theories: Sequence[Theory]) -> np.ndarray:
    """Distances d_X between theory labels for the Neural Embedding loss, in TeV.

    SUSY points sit at (m_g̃, m_χ̃) in the mass plane, with Euclidean distance. Backgrounds
    and the unphysical sample have no place in that plane: each is put at the same distance
    d_out from every other theory, with d_out the largest SUSY–SUSY distance (the grid's
    diameter, 1 TeV if there are fewer than two SUSY points) — as different from everything
    as the two most different SUSY points are from each other.

    Returns:
        (T, T) symmetric, zero diagonal.
    """
    masses = np.array([[t.m_gluino, t.m_neutralino] for t in theories]) / 1000.0  # TeV
    susy = np.array([t.kind == "susy" and np.isfinite(masses[i]).all()
                     for i, t in enumerate(theories)])
    d = np.linalg.norm(masses[:, None] - masses[None], axis=-1)
    d_out = float(np.nanmax(d[np.ix_(susy, susy)])) if susy.sum() >= 2 else 1.0
    d[~(susy[:, None] & susy[None])] = d_out
    np.fill_diagonal(d, 0.0)
    return d


# --------------------------------------------------------------------------- data and sets


@dataclass(frozen=True)
class TheoryData:
    """Train and test events per theory, the unphysical sample appended as the last theory.

    Attributes:
        theories: the theory table (the event file's, then UNPHYSICAL).
        train_raw, test_raw: per theory, (n_t, 18) raw events.
        train_index: per theory, (n_t,) row of each training event in the event file
            (−1 for the unphysical sample, which is not in the file).
        scaler: fitted on the real (not unphysical) training events.
        seed, test_fraction: how the split and the unphysical sample were drawn.
    """

    theories: tuple[Theory, ...]
    train_raw: tuple[np.ndarray, ...]
    test_raw: tuple[np.ndarray, ...]
    train_index: tuple[np.ndarray, ...]
    scaler: Scaler
    seed: int
    test_fraction: float

    def standardised(self, split: str) -> list[np.ndarray]:
        """Per theory, (n_t, 18) standardised events of the "train" or "test" split."""
        raw = self.train_raw if split == "train" else self.test_raw
        return [self.scaler.transform(r) for r in raw]


def prepare_data(events: EventSet, seed: int = 0, test_fraction: float = 0.3) -> TheoryData:
    """Split each theory's events into train/test and add the unphysical sample.

    The unphysical training (test) events are drawn from the pooled real training (test)
    events, as many as the median theory has, so no test event leaks into training.
    Deterministic for a given ``seed``.
    """
    rng = np.random.default_rng(seed)
    train, test, train_index, theories = [], [], [], []
    for t, theory in enumerate(events.theories):
        idx = np.flatnonzero(events.theory == t)
        if len(idx) < 10:
            continue  # a theory without events (or with a handful) has nothing to learn from
        idx = rng.permutation(idx)
        n_test = round(test_fraction * len(idx))
        test.append(events.features[idx[:n_test]].astype(np.float64))
        train.append(events.features[idx[n_test:]].astype(np.float64))
        train_index.append(idx[n_test:])
        theories.append(theory)
    if len(theories) < 2:
        raise JetvizInputError(
            f"{events.source}: the theory map needs at least two theories with ≥ 10 events, "
            f"found {events.counts()}")
    pool_train, pool_test = np.concatenate(train), np.concatenate(test)
    n_train = int(np.median([len(a) for a in train]))
    n_test = int(np.median([len(a) for a in test]))
    train.append(unphysical_sample(pool_train, n_train, rng))
    test.append(unphysical_sample(pool_test, n_test, rng))
    train_index.append(np.full(n_train, -1))
    return TheoryData((*theories, UNPHYSICAL), tuple(train), tuple(test), tuple(train_index),
                      Scaler.fit(pool_train), seed, test_fraction)


def random_sets(n_events: int, n_sets: int, set_size: int,
                rng: np.random.Generator) -> np.ndarray:
    """(n_sets, N) indices of random sets; no event twice inside one set."""
    if set_size > n_events:
        raise ValueError(f"a set of {set_size} needs at least {set_size} events, got {n_events}")
    if set_size == 1:
        return rng.integers(0, n_events, size=(n_sets, 1))
    keys = rng.random((n_sets, n_events))
    return np.argpartition(keys, set_size - 1, axis=1)[:, :set_size]


def disjoint_sets(n_events: int, set_size: int, rng: np.random.Generator,
                  max_sets: int | None = None) -> np.ndarray:
    """(n_events // N, N) indices: the events shuffled and cut into sets (rest dropped)."""
    n_sets = n_events // set_size
    if max_sets is not None:
        n_sets = min(n_sets, max_sets)
    return rng.permutation(n_events)[: n_sets * set_size].reshape(n_sets, set_size)


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainConfig:
    """How one theory-map encoder is trained; saved with its checkpoint."""

    method: str = "contrastive"  # one of METHODS
    steps: int = 1500  # optimiser steps (fresh random sets every step)
    sets_per_theory: int | None = None  # sets of each theory per batch; None: clip(256/N, 4, 32)
    lr: float = 2e-3  # AdamW learning rate, cosine-decayed to 0
    margin: float = 1.0  # contrastive margin m (latent units)
    recon_weight: float = 0.0  # MSE term added to the NE / contrastive loss (talk: optional)
    mirror: bool = True  # reflect events in η and φ at random (see mirror_events)
    weight_decay: float = 0.0  # AdamW weight decay
    seed: int = 0  # torch and numpy seed of this training


def train_encoder(data: TheoryData, encoder: EncoderConfig, config: TrainConfig,
                  progress: bool = False) -> tuple[SetEncoder, dict]:
    """Train one encoder on the training split of ``data``.

    Returns:
        The trained model (eval mode) and a record: the mean loss every ``loss_every_steps``
        steps, and the seconds taken.
    """
    if config.method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {config.method!r}")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    train = [torch.from_numpy(x) for x in data.standardised("train")]
    n_theories, n = len(train), encoder.set_size
    label_d = torch.as_tensor(label_distances(data.theories), dtype=torch.float32)
    per_theory = config.sets_per_theory or int(np.clip(256 // n, 4, 32))
    labels = torch.arange(n_theories).repeat_interleave(per_theory)
    model = SetEncoder(encoder)
    gen = torch.Generator().manual_seed(config.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.steps)
    every = max(1, min(100, config.steps // 10))  # log the mean loss every `every` steps
    history, running, start = [], 0.0, time.perf_counter()
    for step in range(1, config.steps + 1):
        x = torch.cat([t[torch.from_numpy(random_sets(len(t), per_theory, n, rng))]
                       for t in train])  # (B, N, F), B = per_theory × T
        if config.mirror:
            x = mirror_events(x, data.scaler, gen)
        z = model(x)  # (B, D)
        if config.method == "autoencoder":
            loss = reconstruction_loss(model, x, z)
        else:
            pair = (contrastive_loss(z, labels, config.margin) if config.method == "contrastive"
                    else neural_embedding_loss(z, labels, label_d))
            loss = pair + (config.recon_weight * reconstruction_loss(model, x, z)
                           if config.recon_weight > 0 else 0.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running += float(loss.detach())
        if step % every == 0:
            history.append(round(running / every, 6))
            running = 0.0
            if progress:
                print(f"  {config.method} N={n} step {step}/{config.steps} loss {history[-1]:.4f}",
                      flush=True)
    model.eval()
    return model, {"loss_history": history, "loss_every_steps": every,
                   "seconds": round(time.perf_counter() - start, 1)}


@torch.no_grad()
def encode(model: SetEncoder, sets: np.ndarray, batch: int = 4096) -> np.ndarray:
    """(S, N, 18) standardised sets → (S, D) float32 latent vectors."""
    x = torch.as_tensor(sets, dtype=torch.float32)
    return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)]).numpy()


# --------------------------------------------------------------------------- KDE accuracy


def scott_bandwidth(z: np.ndarray) -> float:
    """Scott's rule for an isotropic Gaussian kernel: σ̄ n^(−1/(D+4))."""
    n, d = z.shape
    sigma = math.sqrt(float(z.var(axis=0).mean()))
    return max(sigma, 1e-6) * n ** (-1.0 / (d + 4))


def kde_log_densities(train_z: Sequence[np.ndarray], points: np.ndarray) -> np.ndarray:
    """(P, T) log density of each point under each theory's KDE (Scott bandwidth)."""
    out = np.empty((len(points), len(train_z)))
    for t, z in enumerate(train_z):
        kde = KernelDensity(kernel="gaussian", bandwidth=scott_bandwidth(z)).fit(z)
        out[:, t] = kde.score_samples(points)
    return out


def kde_assign(train_z: Sequence[np.ndarray], points: np.ndarray) -> np.ndarray:
    """(P,) index of the densest theory for each point (equal priors)."""
    return kde_log_densities(train_z, points).argmax(axis=1)


def kde_accuracy(train_z: Sequence[np.ndarray], points: np.ndarray,
                 labels: np.ndarray) -> float:
    """Fraction of points assigned to their own theory by the per-theory KDEs."""
    return float(np.mean(kde_assign(train_z, points) == labels))


def evaluate(model: SetEncoder, data: TheoryData, set_size: int, seed: int = 0,
             kde_sets: int = 1000) -> dict:
    """KDE accuracy of one encoder on held-out sets.

    The KDEs are fitted on ``kde_sets`` random training sets per theory; the test points are
    disjoint sets of the held-out events (each held-out event in at most one set).

    Returns:
        accuracy, per-theory accuracy, confusion matrix (true × assigned), the number of test
        sets, the unphysical sample's self-assignment, and the Spearman correlation between
        SUSY-centroid distances in the latent space and in the mass plane.
    """
    rng = np.random.default_rng(seed)
    train, test = data.standardised("train"), data.standardised("test")
    train_z = [encode(model, x[random_sets(len(x), kde_sets, set_size, rng)]) for x in train]
    test_sets = [disjoint_sets(len(x), set_size, rng) for x in test]
    test_z = np.concatenate([encode(model, x[s]) for x, s in zip(test, test_sets, strict=True)])
    labels = np.concatenate([np.full(len(s), t) for t, s in enumerate(test_sets)])
    pred = kde_assign(train_z, test_z)
    n_t = len(data.theories)
    confusion = np.zeros((n_t, n_t), dtype=int)
    np.add.at(confusion, (labels, pred), 1)
    per_theory = (np.diag(confusion) / np.maximum(confusion.sum(1), 1)).tolist()
    unphys = [i for i, t in enumerate(data.theories) if t.kind == "unphysical"]
    centroids = np.stack([z.mean(0) for z in train_z])
    return {
        "accuracy": float(np.mean(pred == labels)),
        "per_theory": dict(zip([t.name for t in data.theories], per_theory, strict=True)),
        "confusion": confusion.tolist(),
        "n_test_sets": len(labels),
        "unphysical_self": float(per_theory[unphys[0]]) if unphys else float("nan"),
        "mass_plane_spearman": mass_plane_correlation(centroids, data.theories),
    }


def mass_plane_correlation(centroids: np.ndarray, theories: Sequence[Theory]) -> float:
    """Spearman ρ between pairwise SUSY centroid distances and their mass-plane distances.

    ρ → 1 when the clusters are laid out like the (m_g̃, m_χ̃) plane (up to a monotone
    distortion); NaN with fewer than three SUSY points.
    """
    susy = [i for i, t in enumerate(theories) if t.kind == "susy"]
    if len(susy) < 3:
        return float("nan")
    m = np.array([[theories[i].m_gluino, theories[i].m_neutralino] for i in susy])
    iu = np.triu_indices(len(susy), 1)
    d_lat = np.linalg.norm(centroids[susy][:, None] - centroids[susy][None], axis=-1)[iu]
    d_mass = np.linalg.norm(m[:, None] - m[None], axis=-1)[iu]
    return float(spearmanr(d_lat, d_mass).statistic)


# --------------------------------------------------------------------------- command line


def run_training(events: EventSet, out: str | Path, set_sizes: Sequence[int] = (1, 16, 64),
                 methods: Sequence[str] = METHODS, encoder: EncoderConfig | None = None,
                 train: TrainConfig | None = None, command: str = "",
                 progress: bool = True,
                 reduce: Callable[[np.ndarray], np.ndarray] | None = None) -> dict:
    """Train every (method, set size), evaluate its KDE accuracy, store model and map.

    ``reduce`` replaces UMAP for the stored 2-D coordinates (see ``build_map``).

    Returns:
        The summary written to ``out/summary.json``.
    """
    from jetviz.theorymap.maps import build_map, save_map, save_model, theory_to_dict

    encoder, train = encoder or EncoderConfig(), train or TrainConfig()
    data = prepare_data(events, seed=train.seed)
    start = time.perf_counter()
    for n in set_sizes:
        for method in methods:
            enc = dataclasses.replace(encoder, set_size=n)
            cfg = dataclasses.replace(train, method=method)
            model, record = train_encoder(data, enc, cfg, progress=progress)
            t0 = time.perf_counter()
            record.update(evaluate(model, data, n, seed=train.seed))
            record["evaluate_seconds"] = round(time.perf_counter() - t0, 1)
            t0 = time.perf_counter()
            save_map(out, build_map(model, method, data, seed=train.seed, reduce=reduce))
            record["map_seconds"] = round(time.perf_counter() - t0, 1)
            save_model(out, model, cfg, data, record)
            if progress:
                print(f"{method:>16} N={n:<3} accuracy {record['accuracy']:.3f}  unphysical→self "
                      f"{record['unphysical_self']:.3f}  mass-plane ρ "
                      f"{record['mass_plane_spearman']:.2f}  ({record['seconds']} s)", flush=True)
    # the table covers every model in ``out`` trained on the same theories with the same seed,
    # so set sizes can be trained in separate runs (each run's command is kept)
    table, sizes = collect_table(out, [t.name for t in data.theories], train.seed)
    old = Path(out) / "summary.json"
    commands = json.loads(old.read_text()).get("commands", []) if old.exists() else []
    summary = {
        "command": command,
        "commands": [*commands, command],
        "events": events.source,
        "events_command": events.attrs.get("command", ""),
        "seed": train.seed,
        "test_fraction": data.test_fraction,
        "theories": [theory_to_dict(t) for t in data.theories],
        "train_events": [len(a) for a in data.train_raw],
        "test_events": [len(a) for a in data.test_raw],
        "methods": [m for m in METHODS if m in table],
        "set_sizes": sizes,
        "encoder": dataclasses.asdict(encoder),
        "train": dataclasses.asdict(train),
        "table": table,
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    with atomic_path(Path(out) / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    return summary


def collect_table(out: str | Path, theory_names: Sequence[str],
                  seed: int) -> tuple[dict[str, dict[str, dict]], list[int]]:
    """The accuracy table from every model JSON in ``out`` with these theories and seed.

    Returns:
        {method: {str(N): record fields}} and the sorted set sizes present.
    """
    table: dict[str, dict[str, dict]] = {}
    for path in sorted(Path(out).glob("*_n*.json")):
        meta = json.loads(path.read_text())
        if ("record" not in meta or meta["train"]["seed"] != seed
                or [t["name"] for t in meta["theories"]] != list(theory_names)):
            continue
        rec = meta["record"]
        table.setdefault(meta["train"]["method"], {})[str(meta["encoder"]["set_size"])] = {
            k: rec[k] for k in ("accuracy", "unphysical_self", "mass_plane_spearman",
                                "n_test_sets", "seconds")}
    sizes = sorted({int(n) for row in table.values() for n in row})
    return {m: table[m] for m in METHODS if m in table}, sizes


def format_table(table: dict[str, dict[str, dict]], set_sizes: Sequence[int]) -> str:
    """The accuracy table as text: method × set size, then the unphysical self-assignment."""
    sizes = [str(n) for n in set_sizes]
    lines = ["KDE accuracy (held-out sets)",
             f"{'method':>18} " + " ".join(f"{'N=' + n:>8}" for n in sizes)]
    for key, title in (("accuracy", "all theories"), ("unphysical_self", "unphysical → self")):
        lines.append(f"  {title}")
        for method, row in table.items():
            lines.append(f"{method:>18} " + " ".join(
                f"{row[n][key]:8.3f}" if n in row else f"{'—':>8}" for n in sizes))
    return "\n".join(lines)


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``jetviz theorymap``."""
    from jetviz.paths import CHECKPOINTS, DEFAULT_EVENTS

    sub = parser.add_subparsers(dest="action", required=True)
    tr = sub.add_parser("train", help="train the encoders, evaluate them, store models and maps")
    tr.add_argument("--events", default=str(DEFAULT_EVENTS), help="jetviz events file")
    tr.add_argument("--set-sizes", type=int, nargs="+", default=[1, 16, 64],
                    help="events per set N, one model per method and N")
    tr.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    tr.add_argument("--out", default=str(CHECKPOINTS / "theorymap"), help="output directory")
    tr.add_argument("--steps", type=int, default=TrainConfig.steps, help="optimiser steps")
    tr.add_argument("--latent", type=int, default=EncoderConfig.latent, help="latent dimension")
    tr.add_argument("--margin", type=float, default=TrainConfig.margin,
                    help="contrastive margin m")
    tr.add_argument("--seed", type=int, default=0, help="split, unphysical sample and training")
    tr.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 leaves the other core to the rest of the machine)")
    rep = sub.add_parser("report", help="print the accuracy table of a trained directory")
    rep.add_argument("--dir", default=str(CHECKPOINTS / "theorymap"))


def run(args: argparse.Namespace) -> int:
    """Run ``jetviz theorymap train`` or ``jetviz theorymap report``."""
    from jetviz.readers.store import read_events
    from jetviz.theorymap.maps import load_summary

    if args.action == "report":
        summary = load_summary(args.dir)
        print(format_table(summary["table"], summary["set_sizes"]))
        return 0
    torch.set_num_threads(args.threads)
    events = read_events(args.events)
    command = shlex.join(["jetviz", "theorymap", "train", "--events", args.events,
                          "--set-sizes", *map(str, args.set_sizes), "--methods", *args.methods,
                          "--out", args.out, "--steps", str(args.steps), "--latent",
                          str(args.latent), "--margin", f"{args.margin:g}", "--seed",
                          str(args.seed)])
    summary = run_training(events, args.out, args.set_sizes, args.methods,
                           EncoderConfig(latent=args.latent),
                           TrainConfig(steps=args.steps, margin=args.margin, seed=args.seed),
                           command=command)
    print(format_table(summary["table"], summary["set_sizes"]))
    print(f"total {summary['total_seconds']} s; wrote {args.out}")
    return 0
