"""Reading published HDF5 jet files lazily: dataset checks, capped chunked reads, and the
finishing every jet reader shares.

Vocabulary
----------
Every jet reader returns jetviz's one in-memory form, a :class:`~jetviz.jets.JetSet`:
particles (N, P, 3) = (ptrel, etarel, phirel) sorted by descending ptrel, padded rows zero,
mask (N, P) True for a real particle, jet truth (N, 5) = (pT [GeV], η, φ, mass [GeV],
multiplicity), R = ``RADIUS``.

Reads are lazy and capped: only the first ``max_jets`` rows are read from disk (the app passes
``MAX_JETS_DEFAULT``; the CLI reads whole files unless told otherwise), chunk by chunk
(:func:`chunks`, 64 MB at a time), never a whole dataset first, so a file that *declares* a
billion rows costs no more than one that holds the cap; ``attrs["n_rows_in_file"]`` and
``attrs["capped_at"]`` then say how many rows the file declares and where reading stopped
(:func:`cap_attrs`). Jets with no particle left after removing padding are dropped and counted
in ``attrs["dropped_empty_jets"]``; a file in which every jet is empty is an error. Anything
else that is not what the format promises (a missing dataset, a wrong shape, NaN/inf, no rows)
raises :class:`~jetviz.errors.JetvizInputError` naming the file, what was expected and what was
found.
"""

from __future__ import annotations

from collections.abc import Iterator

import h5py
import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet
from jetviz.readers.detect import MAX_FEATURES, MAX_NAMES, MAX_PARTICLE_SLOTS

RADIUS = 0.8  # all three published jet data sets use anti-kT R = 0.8
_CHUNK_BYTES = 1 << 26  # read big datasets 64 MB at a time


def dataset(h5: h5py.Group, key: str, label: str, layout: str) -> h5py.Dataset:
    """The dataset ``key`` that a ``layout`` file must have, holding numbers or names."""
    if key not in h5 or not isinstance(h5[key], h5py.Dataset):
        raise JetvizInputError(
            f"{label}: dataset {key!r} is missing, which a {layout} file must have; "
            f"found {sorted(h5.keys())[:12]}")
    ds = h5[key]
    if not (np.issubdtype(ds.dtype, np.number) or ds.dtype.kind in "SOU"):
        raise JetvizInputError(f"{label}: dataset {key!r} holds {ds.dtype}, expected numbers")
    return ds


def check_numeric(ds: h5py.Dataset, key: str, label: str) -> None:
    """Refuse a dataset of strings or objects where numbers are expected."""
    if not np.issubdtype(ds.dtype, np.number):
        raise JetvizInputError(
            f"{label}: dataset {key!r} holds {ds.dtype} values, expected numbers")


def shape_error(label: str, key: str, expected: str, found: tuple, layout: str) -> None:
    """Raise the message for a dataset of the wrong shape."""
    raise JetvizInputError(
        f"{label}: dataset {key!r} has shape {found}, expected {expected} as in the "
        f"published {layout} files; is this really a {layout} file?")


def rows_to_read(n_rows: int, max_rows: int | None, label: str, what: str = "jets") -> int:
    """Rows to read: ``min(n_rows, max_rows)`` (``max_rows`` None: all of them)."""
    if n_rows == 0:
        raise JetvizInputError(f"{label}: the file holds no {what} (0 rows)")
    if max_rows is not None and max_rows < 1:
        raise JetvizInputError(f"{label}: max_{what} must be ≥ 1, got {max_rows}")
    return n_rows if max_rows is None else min(n_rows, max_rows)


def cap_attrs(n_rows: int, n: int) -> dict:
    """``n_rows_in_file`` and, when fewer rows were read, ``capped_at``."""
    return {"n_rows_in_file": int(n_rows), **({"capped_at": int(n)} if n < n_rows else {})}


def check_slots(label: str, key: str, shape: tuple) -> None:
    """Refuse absurd per-row sizes before anything is read (a row must fit in memory)."""
    if len(shape) >= 2 and shape[1] > MAX_PARTICLE_SLOTS:
        raise JetvizInputError(
            f"{label}: dataset {key!r} declares {shape[1]:,} particle slots per jet; jetviz "
            f"reads at most {MAX_PARTICLE_SLOTS:,} (published jet sets have 30–200)")
    if len(shape) >= 2 and shape[-1] > MAX_FEATURES:
        raise JetvizInputError(
            f"{label}: dataset {key!r} declares {shape[-1]:,} columns; jetviz reads at most "
            f"{MAX_FEATURES}")


def check_finite(arr: np.ndarray, key: str, label: str) -> None:
    """Refuse NaN/inf values, saying how many and where the first is."""
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.argwhere(bad)[0].tolist()
        raise JetvizInputError(
            f"{label}: {int(bad.sum())} NaN/inf values in {key!r} (first at index {first}); "
            "expected finite numbers. Repair or remove those jets and load the file again")


def name_list(h5: h5py.Group, key: str, label: str, layout: str) -> list[str]:
    """A 1-D dataset of names (bytes or str) as a list of str, at most ``MAX_NAMES``."""
    ds = dataset(h5, key, label, layout)
    if ds.ndim != 1:
        shape_error(label, key, "a 1-D list of names", ds.shape, layout)
    if ds.shape[0] > MAX_NAMES:
        raise JetvizInputError(
            f"{label}: {key!r} declares {ds.shape[0]:,} names; expected at most {MAX_NAMES:,}")
    return [v.decode() if isinstance(v, bytes) else str(v) for v in ds[()]]


def chunks(n: int, row_bytes: int) -> Iterator[slice]:
    """Slices over ``n`` rows of ``row_bytes`` each, about 64 MB at a time."""
    step = max(1, _CHUNK_BYTES // max(row_bytes, 1))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


def finish_jets(particles: np.ndarray, mask: np.ndarray, jets: np.ndarray, labels: np.ndarray,
                 class_names: tuple[str, ...], label: str, attrs: dict,
                 n_particles: int | None) -> JetSet:
    """Zero the padding, sort by ptrel, drop empty jets, truncate to ``n_particles``.

    Works in place, chunk by chunk, on the arrays it is given (the reader's own), so the
    peak memory stays near one copy of the jets.
    """
    p = particles.shape[1]
    for rows in chunks(len(particles), p * 3 * 4 * 4):
        part, m = particles[rows], mask[rows]
        part[~m] = 0.0  # (n_chunk, P, 3)
        order = np.argsort(np.where(m, -part[..., 0], np.inf), axis=1, kind="stable")
        particles[rows] = np.take_along_axis(part, order[..., None], axis=1)
        mask[rows] = np.take_along_axis(m, order, axis=1)
    empty = ~mask.any(axis=1)
    if empty.all():
        raise JetvizInputError(
            f"{label}: no jets after removing padding: all {empty.size} jets read are empty "
            "(every particle row is padding). Check that this is the right file")
    if empty.any():
        keep = ~empty
        particles, mask, jets, labels = particles[keep], mask[keep], jets[keep], labels[keep]
    if n_particles is not None:
        if not 1 <= n_particles <= p:
            raise JetvizInputError(
                f"{label}: cannot keep {n_particles} particles per jet; the file has {p} "
                f"particle slots. Choose n_particles between 1 and {p}")
        particles, mask = particles[:, :n_particles], mask[:, :n_particles]
    attrs = {**attrs, "dropped_empty_jets": int(empty.sum()), "n_particles_in_file": p}
    return JetSet(particles=np.ascontiguousarray(particles, dtype=np.float32),
                  mask=np.ascontiguousarray(mask), jets=jets.astype(np.float32),
                  labels=labels.astype(np.int64), class_names=class_names, source=label,
                  attrs=attrs, radius=RADIUS)
