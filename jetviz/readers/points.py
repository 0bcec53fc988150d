"""A user's own manifold: a file of points for the dimensionality playground.

A points file holds one array (N, d) of N points in d dimensions (1 ≤ d ≤ 64), float, in the
user's own units; distances between points are Euclidean. Two formats:

* ``.npy``: NumPy's format, read without pickle (``allow_pickle=False``), memory-mapped so only
  the first ``max_points`` rows are read;
* HDF5 (``.h5``, ``.hdf5``): a dataset named ``points``, sliced to the first ``max_points``.

The β of a model trained on points is in the points' units, and D1(β) counts the directions in
which the points spread by more than β.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import h5py
import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.vae.model import MAX_POINT_DIM

MAX_POINTS = 200_000  # rows read from a points file at most
MIN_POINTS = 50  # fewer cannot be split into training and validation points usefully
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
NPY_MAGIC = b"\x93NUMPY"


def extent(points: np.ndarray) -> float:
    """The points' largest spread along a coordinate axis (max − min), in their units."""
    return float(np.ptp(np.asarray(points), axis=0).max())


def is_points_file(path: str | os.PathLike) -> bool:
    """True if ``path`` is a ``.npy`` file or an HDF5 file with a ``points`` dataset."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        return True
    try:
        with h5py.File(path, "r") as h5:
            return "points" in h5
    except (OSError, ValueError):
        return False


def _checked(points: np.ndarray, name: str, max_points: int) -> np.ndarray:
    if points.ndim != 2 or not 1 <= points.shape[1] <= MAX_POINT_DIM:
        raise JetvizInputError(f"{name}: expected an array (N, d) of points with 1 ≤ d ≤ "
                               f"{MAX_POINT_DIM}, got shape {points.shape}")
    if points.dtype.kind not in "fiu":
        raise JetvizInputError(f"{name}: expected numbers, got dtype {points.dtype}")
    points = np.array(points[:max_points], dtype=np.float32)  # a copy: off the memory map
    if len(points) < MIN_POINTS:
        raise JetvizInputError(f"{name}: {len(points)} points; give at least {MIN_POINTS}")
    bad = ~np.isfinite(points).all(1)
    if bad.any():
        raise JetvizInputError(f"{name}: {int(bad.sum())} rows contain NaN or infinite values "
                               f"(first at row {int(np.flatnonzero(bad)[0])}); remove them")
    if np.ptp(points, axis=0).max() == 0:
        raise JetvizInputError(f"{name}: all points are the same; nothing to learn")
    return points


def read_points(source: str | os.PathLike | bytes, name: str | None = None,
                max_points: int = MAX_POINTS) -> tuple[np.ndarray, int]:
    """The first ``max_points`` points of a points file (a path, or the file's bytes).

    Returns:
        ((n, d) float32 points, the number of rows the file holds).

    Raises:
        JetvizInputError: not a points file, a wrong shape or dtype, NaN/inf, too few points.
    """
    data = source if isinstance(source, bytes) else None
    name = name or ("uploaded file" if data is not None else Path(source).name)
    if data is not None:
        head = data[:8]
    else:
        with Path(source).open("rb") as f:
            head = f.read(8)
    if head.startswith(NPY_MAGIC):
        try:
            array = (np.load(io.BytesIO(data), allow_pickle=False) if data is not None
                     else np.load(source, mmap_mode="r", allow_pickle=False))
        except ValueError as err:
            raise JetvizInputError(f"{name}: not a plain numeric .npy array ({err})") from None
        return _checked(array, name, max_points), int(array.shape[0])
    if head.startswith(HDF5_MAGIC):
        with h5py.File(io.BytesIO(data) if data is not None else source, "r") as h5:
            if "points" not in h5 or not isinstance(h5["points"], h5py.Dataset):
                raise JetvizInputError(f"{name}: an HDF5 points file needs a dataset named "
                                       f"'points' of shape (N, d); found {sorted(h5)}")
            ds = h5["points"]
            if ds.ndim != 2:
                raise JetvizInputError(f"{name}: 'points' must be (N, d), got {ds.shape}")
            return _checked(ds[:max_points], name, max_points), int(ds.shape[0])
    raise JetvizInputError(f"{name}: not a points file: give a .npy array (N, d) or an HDF5 "
                           "file with a dataset 'points' (N, d)")


SHOWN_POINTS = 5000  # points kept beside a model trained on a user's file, for the pages
POINTS_FILE = "points.npy"  # their name in the model's directory


def save_points(directory: str | os.PathLike, points: np.ndarray) -> Path:
    """Keep up to SHOWN_POINTS of a model's training points beside it (atomic write)."""
    from jetviz.files import atomic_path

    path = Path(directory) / POINTS_FILE
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(points[:SHOWN_POINTS], dtype=np.float32), allow_pickle=False)
    return path


def scales_of_model(record: dict) -> dict[str, float]:
    """The known length scales of a point model's data, from its training record.

    Toy families store ``scales`` (older records: the banana's thickness and length, or just
    the family's name, which means its default scales); a user's points have none.
    """
    if "scales" in record:
        return {str(k): float(v) for k, v in record["scales"].items()}
    from jetviz.simulation.toys import TOYS

    family = TOYS.get(str(record.get("data_source", "")).removeprefix("toy "))
    if "banana_thickness" in record:
        return {"thickness": float(record["banana_thickness"]),
                "size": float(record.get("banana_length", TOYS["banana"].scales["size"]))}
    return dict(family.scales) if family is not None else {}


def points_of_model(directory: str | os.PathLike, record: dict, size: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Points to show a point model: drawn afresh from its toy family, else the training points
    kept beside it (:func:`save_points`).

    Raises:
        JetvizInputError: the model keeps no points and names no toy family.
    """
    from jetviz.simulation.toys import TOYS, banana

    source = str(record.get("data_source", ""))
    family = source.removeprefix("toy ")
    if source.startswith("toy ") and family in TOYS:
        scales = scales_of_model(record)
        if family == "banana" and "thickness" in scales:
            return banana(size, rng, thickness=scales["thickness"])
        return TOYS[family].draw(size, rng)
    kept = Path(directory) / POINTS_FILE
    if kept.exists():
        return read_points(kept, max_points=size)[0]
    raise JetvizInputError(f"{directory}: a point model without its points ({POINTS_FILE}) "
                           "or a toy family in its record; retrain it")
