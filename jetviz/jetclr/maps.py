"""The 2-D map of a JetCLR representation: held-out jets of every class, PCA and UMAP.

Arrays of a map (one row per jet): index (into the jet set), labels, pt and mass [GeV],
pca (N, 2) and umap (N, 2) of the standardised representation, and class_names.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.decomposition import PCA

from jetviz.jetclr.model import JetEncoder, represent
from jetviz.jets import JetSet


def map_of(model: JetEncoder, jets: JetSet, per_class: int, exclude: np.ndarray, seed: int,
           with_umap: bool = True) -> dict[str, np.ndarray]:
    """Representations of ``per_class`` jets of every class on 2-D: PCA and UMAP.

    Jets in ``exclude`` (the encoder's training jets) are not used.
    """
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
        with warnings.catch_warnings():
            # umap's __init__ warns that TensorFlow (for ParametricUMAP, unused here) is missing
            warnings.simplefilter("ignore", ImportWarning)
            import umap  # slow import (numba): only when a map is built

        reducer = umap.UMAP(n_neighbors=30, min_dist=0.2, random_state=seed, n_jobs=1)
        out["umap"] = reducer.fit_transform(h_std).astype(np.float32)
    return out
