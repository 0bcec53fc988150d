"""The jet set: jetviz's one in-memory form for jets, whatever file they came from.

Vocabulary
----------
A **particle** is (ptrel, etarel, phirel):
  ptrel  = pT / pT_jet                 (dimensionless, ≥ 0)
  etarel = η − η_jet
  phirel = φ − φ_jet wrapped into (−π, π]
A **jet** is an array (P, 3) of particles sorted by descending ptrel, zero-padded to P rows;
a **batch** is (N, P, 3) with a boolean mask (N, P) that is True for real particles.
Padded rows are all zero. Jet-level truth is (N, 5) = (pT [GeV], η, φ, mass [GeV],
multiplicity), where multiplicity counts all constituents before truncation to P.
Labels index ``class_names`` (the default classes are g, q, t, w, z).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from jetviz.errors import JetvizInputError

CLASS_NAMES: tuple[str, ...] = ("g", "q", "t", "w", "z")
CLASS_LABELS: dict[str, str] = {
    "g": "gluon",
    "q": "light quark",
    "t": "top quark",
    "w": "W boson",
    "z": "Z boson",
}
PARTICLE_FEATURES: tuple[str, ...] = ("ptrel", "etarel", "phirel")
JET_FEATURES: tuple[str, ...] = ("pt", "eta", "phi", "mass", "multiplicity")


@dataclass(frozen=True)
class JetSet:
    """N jets of up to P particles, with their jet-level truth and class labels.

    Attributes:
        particles: (N, P, 3) float32 (ptrel, etarel, phirel), padded rows zero.
        mask: (N, P) bool, True for a real particle.
        jets: (N, 5) float32 (pT [GeV], η, φ, mass [GeV], multiplicity).
        labels: (N,) int64 index into ``class_names``.
        class_names: names of the classes the labels index.
        source: where the jets came from (a file path or a description).
        attrs: provenance (generator, versions, settings, seed, command).
        radius: the jet radius R used to cluster the jets (sets the (η, φ) scale).
    """

    particles: np.ndarray
    mask: np.ndarray
    jets: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...] = CLASS_NAMES
    source: str = "memory"
    attrs: dict = field(default_factory=dict)
    radius: float = 0.8

    def __post_init__(self) -> None:
        validate_jet_arrays(self.particles, self.mask, self.jets, self.labels, self.source)
        if len(self.class_names) <= int(self.labels.max(initial=-1)):
            raise JetvizInputError(
                f"{self.source}: labels go up to {int(self.labels.max())} but only "
                f"{len(self.class_names)} class names were given ({self.class_names})"
            )

    def __len__(self) -> int:
        return int(self.particles.shape[0])

    @property
    def n_particles(self) -> int:
        """P, the number of particle slots per jet."""
        return int(self.particles.shape[1])

    def subset(self, index: np.ndarray | slice) -> JetSet:
        """The jets selected by ``index`` (a slice, an integer array or a boolean mask)."""
        return JetSet(
            particles=self.particles[index],
            mask=self.mask[index],
            jets=self.jets[index],
            labels=self.labels[index],
            class_names=self.class_names,
            source=self.source,
            attrs=self.attrs,
            radius=self.radius,
        )

    def of_class(self, name: str) -> JetSet:
        """The jets of class ``name``; raises if the class is not in this set."""
        if name not in self.class_names:
            raise JetvizInputError(
                f"{self.source}: no class {name!r}; the classes are {self.class_names}"
            )
        return self.subset(self.labels == self.class_names.index(name))

    def counts(self) -> dict[str, int]:
        """Number of jets per class name."""
        return {
            name: int(np.sum(self.labels == i)) for i, name in enumerate(self.class_names)
        }

    def present_classes(self) -> list[str]:
        """The names of the classes that have at least one jet, in ``class_names`` order."""
        return [name for name, n in self.counts().items() if n > 0]

    def truncated(self, n_particles: int) -> JetSet:
        """The same jets keeping only the ``n_particles`` hardest particles."""
        if n_particles > self.n_particles:
            raise JetvizInputError(
                f"{self.source}: cannot keep {n_particles} particles, jets have {self.n_particles}"
            )
        return JetSet(
            particles=self.particles[:, :n_particles],
            mask=self.mask[:, :n_particles],
            jets=self.jets,
            labels=self.labels,
            class_names=self.class_names,
            source=self.source,
            attrs=self.attrs,
            radius=self.radius,
        )


def validate_jet_arrays(
    particles: np.ndarray,
    mask: np.ndarray,
    jets: np.ndarray,
    labels: np.ndarray,
    where: str = "jets",
) -> None:
    """Raise JetvizInputError naming ``where`` if the arrays do not form a jet set."""
    if particles.ndim != 3 or particles.shape[-1] != 3:
        raise JetvizInputError(
            f"{where}: expected particles of shape (N, P, 3) = (ptrel, etarel, phirel), "
            f"got {particles.shape}"
        )
    n, p, _ = particles.shape
    if n == 0 or p == 0:
        raise JetvizInputError(f"{where}: the file holds no jets (shape {particles.shape})")
    if mask.shape != (n, p) or mask.dtype != np.bool_:
        raise JetvizInputError(
            f"{where}: expected a boolean mask of shape {(n, p)}, got {mask.dtype} {mask.shape}"
        )
    if jets.shape != (n, len(JET_FEATURES)):
        raise JetvizInputError(
            f"{where}: expected jet features of shape {(n, len(JET_FEATURES))} "
            f"= {JET_FEATURES}, got {jets.shape}"
        )
    if labels.shape != (n,):
        raise JetvizInputError(f"{where}: expected {n} labels, got shape {labels.shape}")
    for name, arr in (("particles", particles), ("jet features", jets)):
        bad = ~np.isfinite(arr)
        if bad.any():
            first = np.argwhere(bad)[0].tolist()
            raise JetvizInputError(
                f"{where}: {int(bad.sum())} NaN/inf values in {name} (first at index {first}); "
                "remove or repair those jets"
            )
    if not mask[:, 0].all():
        empty = np.flatnonzero(~mask[:, 0])
        raise JetvizInputError(
            f"{where}: {empty.size} empty jets (no particles), first at index {int(empty[0])}; "
            "drop empty jets before loading"
        )
    if (particles[..., 0] < 0).any():
        raise JetvizInputError(f"{where}: negative ptrel found; ptrel = pT/pT_jet must be ≥ 0")
