"""Jet images for the autoencoders and the train / held-out split of a jet set.

Vocabulary: see :mod:`jetviz.anomaly`. An image batch is (N, 1, n, n) float32, each image
summing to 1 (a jet with no particle inside ±R gives an all-zero image). The split is by
file order inside each class: the first ``n_train`` jets of a class may be trained on, the
rest are held out for scoring, so a model's record says exactly which jets it saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.physics.frame import preprocess
from jetviz.physics.images import jet_images

BACKGROUNDS: dict[str, tuple[str, ...]] = {"qcd": ("g", "q"), "top": ("t",)}
BACKGROUND_LABELS: dict[str, str] = {"qcd": "QCD (g + q)", "top": "top"}
CHUNK = 4096  # jets per image chunk: bounds the float64 scratch of jet_images to 50 MB


def images_from_particles(particles: np.ndarray, mask: np.ndarray | None, n_pixels: int = 40,
                          radius: float = 0.8, flip: str = "half-plane", smooth: float = 0.0
                          ) -> np.ndarray:
    """Preprocessed, pT-normalised jet images (N, 1, n, n) float32.

    Centre, rotate and flip each jet (:func:`jetviz.physics.frame.preprocess` with the flip
    rule ``flip``, the model's ``AEConfig.flip``), histogram its
    ptrel over [−R, R]² (:func:`jetviz.physics.images.jet_images`), optionally blur it with a
    Gaussian of ``smooth`` pixels (pT blurred past the edge is dropped), divide by the sum.

    Args:
        particles: (N, P, 3) (ptrel, etarel, phirel).
        mask: (N, P) True for real particles, or None (ptrel > 0 is real).
        n_pixels: pixels per side (the paper uses 40).
        radius: half-width R of the image in η and φ.
        flip: the frame's flip rule (``jetviz.physics.frame.FLIPS``).
        smooth: Gaussian σ in pixels (0: none; the model's ``AEConfig.smooth``).
    """
    particles = np.asarray(particles)
    if particles.ndim != 3 or particles.shape[-1] != 3:
        raise JetvizInputError(f"jet images: expected particles (N, P, 3), got {particles.shape}")
    out = np.zeros((len(particles), 1, n_pixels, n_pixels), dtype=np.float32)
    for start in range(0, len(particles), CHUNK):
        part = slice(start, start + CHUNK)
        m = None if mask is None else mask[part]
        moved, _ = preprocess(particles[part], m, flip=flip)
        img = jet_images(moved, m, n_pixels=n_pixels, R=radius)
        if smooth > 0:
            img = gaussian_filter(img, sigma=(0, smooth, smooth), mode="constant")
        total = img.sum(axis=(1, 2), keepdims=True)
        out[part, 0] = img / np.where(total > 0, total, 1.0)  # empty image stays zero
    return out


def model_images(particles: np.ndarray, mask: np.ndarray | None, config, radius: float = 0.8
                 ) -> np.ndarray:
    """The images a model with ``config`` (an ``AEConfig``) reads: its size, flip, smoothing."""
    return images_from_particles(particles, mask, config.n_pixels, radius, config.flip,
                                 config.smooth)


@dataclass(frozen=True)
class Split:
    """Indices into a jet set: what a model trains on and what it is scored on.

    Attributes:
        train: indices of the background jets trained on (the first ``n_train`` per class).
        held_out: indices of every other jet of every class (never trained on).
    """

    train: np.ndarray
    held_out: np.ndarray


def background_classes(background: str) -> tuple[str, ...]:
    """The class names of a background ('qcd' → g, q; 'top' → t)."""
    if background not in BACKGROUNDS:
        raise JetvizInputError(f"background must be one of {sorted(BACKGROUNDS)}, "
                               f"got {background!r}")
    return BACKGROUNDS[background]


def split_jets(jets: JetSet, background: str, n_train: int) -> Split:
    """The first ``n_train`` jets of each background class for training, the rest held out.

    Held-out jets are the jets past ``n_train`` in *every* class present (signals too), so
    background and signals are scored on equally unseen jets.
    """
    classes = background_classes(background)
    missing = [c for c in classes if c not in jets.class_names or jets.counts()[c] == 0]
    if missing:
        raise JetvizInputError(f"{jets.source}: no jets of class {missing} for background "
                               f"{background!r}; load a file with {classes} jets")
    train, held = [], []
    for k, name in enumerate(jets.class_names):
        idx = np.flatnonzero(jets.labels == k)
        if name in classes:
            if len(idx) <= n_train:
                raise JetvizInputError(
                    f"{jets.source}: class {name} has {len(idx)} jets, not more than "
                    f"n_train = {n_train}; lower --n-train so some are held out")
            train.append(idx[:n_train])
        held.append(idx[n_train:])
    return Split(np.sort(np.concatenate(train)), np.sort(np.concatenate(held)))


def held_out_indices(jets: JetSet, start: int, stop: int | None = None) -> np.ndarray:
    """Indices of the jets from the ``start``-th to before the ``stop``-th of every class.

    With ``start`` = n_train these are jets no model trained on; the page and the tables use
    the jets past n_train + n_select (the *test* jets), the NAE's step selection the jets in
    between (the *selection* jets).
    """
    idx = [np.flatnonzero(jets.labels == k)[start:stop] for k in range(len(jets.class_names))]
    return np.sort(np.concatenate(idx))


def test_start(train_config: dict) -> int:
    """Where the test jets of each class begin for a model's stored train config."""
    return int(train_config["n_train"]) + int(train_config.get("n_select", 0))
