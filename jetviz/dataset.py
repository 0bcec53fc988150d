"""The jet data set in use, described for the pages: what it holds and where it came from,
whether the file was cut short, per-jet observables, and per-class views (the average jet
image, a jet's nearest neighbours).

Vocabulary
----------
Jets are a :class:`~jetviz.jets.JetSet`: particles (N, P, 3) = (ptrel, etarel, phirel),
mask (N, P), jet truth (N, 5) = (pT [GeV], η, φ, mass [GeV], multiplicity), labels (N,)
indexing ``class_names``. A jet is named on the pages by its **class** and its **index
within the class** (file order). **Observables** are name → (N,) float64 arrays in the
set's jet order. Everything here is plain numpy and Python (no streamlit): ``ui.data`` caches
these calls per data set.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from jetviz.jets import CLASS_LABELS, JET_FEATURES, JetSet

NEIGHBOUR_POOL = 2_000  # jets of the class searched for neighbours (exact EMD, ≈ 0.3 ms each)
_HIDDEN_ATTRS = frozenset({"kind", "schema_version", "command"})


def class_count_text(jets: JetSet) -> str:
    """"3 classes" counting only the classes that have jets ("1 class: w" for one)."""
    present = jets.present_classes()
    if len(present) == 1:
        return f"1 class: {present[0]}"
    return f"{len(present)} classes"


@dataclass(frozen=True)
class DataSetSummary:
    """What the home page shows about a data set.

    Attributes:
        classes: one row per class: class, name, jets, share.
        provenance: one row per short attribute recorded in the file (generator, versions,
            seed…); a flat dictionary is written as "key value, …".
        details: nested attributes (settings, statistics) for a JSON view.
        command: the command that made the file, if it records one.
    """

    classes: list[dict]
    provenance: list[dict]
    details: dict
    command: str | None


def data_set_summary(jets: JetSet) -> DataSetSummary:
    """Class counts and provenance of ``jets`` as rows for a table."""
    counts = jets.counts()
    total = max(len(jets), 1)
    classes = [
        {"class": name, "name": CLASS_LABELS.get(name, name), "jets": n,
         "share": f"{100 * n / total:.1f} %"}
        for name, n in counts.items() if n > 0  # a one-class file lists only its class
    ]
    provenance, details = [], {}
    for key, value in sorted(jets.attrs.items()):
        if key in _HIDDEN_ATTRS:
            continue
        parsed = _json_or_none(value)
        if isinstance(parsed, dict) and all(not isinstance(v, dict | list)
                                            for v in parsed.values()):
            provenance.append({"field": key,
                               "value": ", ".join(f"{k} {v}" for k, v in parsed.items())})
        elif isinstance(parsed, dict | list):
            details[key] = parsed
        else:
            provenance.append({"field": key, "value": _short(value)})
    command = jets.attrs.get("command")
    return DataSetSummary(classes, provenance, details, str(command) if command else None)


def _json_or_none(value: object) -> object:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return None
    return None


def _short(value: object, limit: int = 240) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def truncation_text(jets: JetSet, cap: int,
                    count_in_file: Callable[[], int | None] | None) -> str | None:
    """A sentence for the page when the file holds more jets than were read, else None.

    Args:
        jets: the jets read.
        cap: the most jets read from one file (``MAX_JETS_DEFAULT``).
        count_in_file: how many jets the file holds (None: unknown), asked only when the
            readers did not record it and exactly ``cap`` jets or more were read; None for an
            upload, which is never cut short silently.
    """
    if "capped_at" in jets.attrs:
        return (f"Only the first {jets.attrs['capped_at']:,} jets of the "
                f"{jets.attrs['n_rows_in_file']:,} in the file were read (jetviz's size limit "
                "per file, which keeps every page responsive).")
    if count_in_file is None or len(jets) < cap:
        return None
    total = count_in_file()
    if total is not None and total <= len(jets):
        return None
    of_total = f" of the {total:,} in the file" if total else ""
    return (f"Only the first {cap:,} jets{of_total} were read (jetviz's size "
            "limit per file, which keeps every page responsive).")


def jet_observables(jets: JetSet) -> dict[str, np.ndarray]:
    """Per-jet observables for the data page.

    pT, η, φ, mass and multiplicity are the whole jet's, as stored in the file (all
    constituents); the N-subjettiness τ1, τ2, τ3, τ21, τ32 and ``mass_p`` (the mass of the
    P stored particles) come from ``jetviz.physics.observables`` on the stored particles.

    Returns:
        name -> (N,) float64 array.
    """
    from jetviz.physics import observables

    from_particles = observables(jets.particles, jets.mask, jets.jets[:, 0], jets.radius)
    values = {name: jets.jets[:, i].astype(np.float64) for i, name in enumerate(JET_FEATURES)}
    values.update({k: from_particles[k] for k in ("tau1", "tau2", "tau3", "tau21", "tau32")})
    values["mass_p"] = from_particles["mass"]
    return values


def observables_of_jet(values: dict[str, np.ndarray], jets: JetSet, class_name: str,
                       index: int) -> dict[str, float]:
    """The observables of jet ``index`` of class ``class_name`` (its number on the page),
    plus ``stored``, the number of its particles kept in the file."""
    rows = np.flatnonzero(jets.labels == jets.class_names.index(class_name))
    row = int(rows[index])
    return {**{k: float(v[row]) for k, v in values.items()},
            "stored": float(jets.mask[row].sum())}


def class_average_image(jets: JetSet, class_name: str, n_pixels: int,
                        aligned: bool = False) -> np.ndarray:
    """The average jet image of one class, (n_pixels, n_pixels) over [−R, R]².

    Args:
        jets: the jets.
        class_name: the class averaged over.
        n_pixels: pixels per side.
        aligned: centre, rotate and flip each jet first (``jetviz.physics.frame``), so the
            prongs of W, Z and top jets line up and show in the average.
    """
    from jetviz.physics.frame import preprocess
    from jetviz.physics.images import average_jet_image

    sub = jets.of_class(class_name)
    particles = preprocess(sub.particles, sub.mask)[0] if aligned else sub.particles
    return average_jet_image(particles, sub.mask, n_pixels=n_pixels, R=jets.radius)


def class_neighbours(jets: JetSet, class_name: str, index: int, k: int = 5,
                     pool: int = NEIGHBOUR_POOL) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` jets of ``class_name`` nearest to its jet ``index`` by exact EMD.

    Searches the first ``pool`` jets of the class. Returns (indices within the class, as the
    page numbers its jets; EMDs in GeV), nearest first.
    """
    from jetviz.emd.neighbours import nearest_by_emd

    sub = jets.of_class(class_name)
    return nearest_by_emd(sub, index, np.arange(min(len(sub), pool)), k)
