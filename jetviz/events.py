"""The event set: events from several theories for the theory map (talk 003).

Vocabulary
----------
An **event** is 18 numbers: for each of the four leading anti-kT R = 0.4 jets
(pT [GeV], η, φ, m [GeV]) — zeros where the event has fewer jets — then MET [GeV] and φ_MET.
A **theory** is one row of the theory table: a name, its kind ("susy", "background" or
"unphysical"), and for SUSY points the gluino and neutralino masses in GeV (NaN otherwise).
``theory`` (N,) indexes the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from jetviz.errors import JetvizInputError

EVENT_FEATURES: tuple[str, ...] = (
    *(f"j{j}_{v}" for j in range(1, 5) for v in ("pt", "eta", "phi", "m")),
    "met",
    "met_phi",
)


@dataclass(frozen=True)
class Theory:
    """One theory: a SUSY mass point, a Standard-Model background or an unphysical sample."""

    name: str
    kind: str  # "susy", "background" or "unphysical"
    m_gluino: float = float("nan")  # GeV
    m_neutralino: float = float("nan")  # GeV


@dataclass(frozen=True)
class EventSet:
    """N events of 18 features with the index of the theory each came from.

    Attributes:
        features: (N, 18) float32 in the order of EVENT_FEATURES.
        theory: (N,) int64 index into ``theories``.
        theories: the theory table.
        source: file path or description.
        attrs: provenance (generator, versions, settings, seed, command).
    """

    features: np.ndarray
    theory: np.ndarray
    theories: tuple[Theory, ...]
    source: str = "memory"
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        f, t = self.features, self.theory
        if f.ndim != 2 or f.shape[1] != len(EVENT_FEATURES):
            raise JetvizInputError(
                f"{self.source}: expected events of shape (N, {len(EVENT_FEATURES)}) "
                f"= {EVENT_FEATURES}, got {f.shape}"
            )
        if f.shape[0] == 0:
            raise JetvizInputError(f"{self.source}: the file holds no events")
        if t.shape != (f.shape[0],):
            raise JetvizInputError(
                f"{self.source}: expected {f.shape[0]} theory indices, got {t.shape}")
        if not np.isfinite(f).all():
            bad = np.argwhere(~np.isfinite(f))[0].tolist()
            raise JetvizInputError(f"{self.source}: NaN/inf in event features (first at {bad})")
        if t.min() < 0 or t.max() >= len(self.theories):
            raise JetvizInputError(
                f"{self.source}: theory indices must lie in [0, {len(self.theories)}), "
                f"found {int(t.min())}..{int(t.max())}"
            )

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def subset(self, index: np.ndarray | slice) -> EventSet:
        """The events selected by ``index``."""
        return EventSet(self.features[index], self.theory[index], self.theories,
                        self.source, self.attrs)

    def counts(self) -> dict[str, int]:
        """Number of events per theory name."""
        return {th.name: int(np.sum(self.theory == i)) for i, th in enumerate(self.theories)}
