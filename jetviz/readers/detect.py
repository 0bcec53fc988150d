"""Which published format a file holds, recognised by its content, and opening it safely.

Vocabulary
----------
source
    A path, or a binary file-like object (an upload held in memory, a BytesIO); ``label`` is
    the name it goes by in messages (:func:`source_name`).
format
    One of ``JET_FORMATS`` (files of jets: jetviz's own, JetNet, hls4ml, top tagging, JetClass)
    or ``EVENT_FORMATS`` (files of events: jetviz's own, Dark Machines). Formats are told
    apart by their content, never by the file extension: the HDF5 signature and then the
    datasets present, the ROOT magic bytes, or a first line of ';'-separated fields. What each
    format holds is described in the module reading it (:mod:`.jetnet`, :mod:`.hls4ml`,
    :mod:`.toptagging`, :mod:`.darkmachines`, :mod:`.jetclass`, :mod:`.store`).
cap
    The most rows jetviz reads from one file: ``MAX_JETS_DEFAULT`` jets (the app's limit, as
    README documents) or ``MAX_EVENTS_DEFAULT`` events; ``MAX_PARTICLE_SLOTS``,
    ``MAX_FEATURES``, ``MAX_NAMES`` and ``MAX_LINE_BYTES`` refuse absurd declared sizes before
    anything is read.

Messages never quote the bytes of a file that is not the expected format (a server file must
not leak through them).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import BinaryIO

import h5py

from jetviz.errors import JetvizInputError
from jetviz.readers.jetclass import is_root_file

Source = str | os.PathLike | BinaryIO

MAX_JETS_DEFAULT = 100_000  # jets the app reads from one file at most (uploads and paths)
MAX_EVENTS_DEFAULT = 200_000  # events read from one file at most
MAX_PARTICLE_SLOTS = 1_000  # particle slots per jet (published sets: 30–200)
MAX_FEATURES = 256  # columns per particle / per jet in a file (hls4ml: 16 and 59)
MAX_NAMES = 4_096  # entries of a name list (hls4ml feature names, pandas column names)
MAX_LINE_BYTES = 1 << 20  # one Dark Machines CSV line (an event has a few hundred bytes)
JET_FORMATS: tuple[str, ...] = ("jetviz", "jetnet", "hls4ml", "toptagging", "jetclass")
EVENT_FORMATS: tuple[str, ...] = ("jetviz", "darkmachines")

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def source_name(source: Source, name: str | None = None) -> str:
    """The name used for ``source`` in messages: ``name``, a path, or the object's ``name``."""
    if name:
        return name
    if isinstance(source, str | os.PathLike):
        return str(source)
    return str(getattr(source, "name", "") or "uploaded file")


def rewind(source: Source) -> None:
    """Back to the start of a file-like source (a path needs nothing)."""
    if not isinstance(source, str | os.PathLike):
        source.seek(0)


def read_head(source: Source, n: int = 4096) -> bytes:
    """The first ``n`` bytes of the source (the file-like object is rewound)."""
    if isinstance(source, str | os.PathLike):
        try:
            with open(source, "rb") as fh:
                return fh.read(n)
        except OSError as err:
            raise JetvizInputError(f"{source}: cannot open the file ({err.strerror})") from err
    source.seek(0)
    head = source.read(n)
    source.seek(0)
    return head


def is_hdf5(head: bytes) -> bool:
    # The HDF5 superblock sits at byte 0, or after a user block of 512 · 2^k bytes.
    return any(head[o:o + 8] == _HDF5_SIGNATURE for o in (0, 512, 1024, 2048))


# What a caller that wants jets, events, or either is told to give (error messages name only
# the formats that would have worked for that caller).
EXPECTED: dict[str | None, str] = {
    "jets": "a JetNet, hls4ml, top-tagging or jetviz jet file (HDF5)",
    "events": "a Dark Machines .csv or a jetviz events file (HDF5)",
    None: "a JetNet, hls4ml, top-tagging or jetviz HDF5 file, or a Dark Machines .csv",
}


@contextlib.contextmanager
def open_h5(source: Source, label: str, want: str | None = "jets") -> Iterator[h5py.File]:
    """The open HDF5 file (closed after the block); read errors become JetvizInputError
    naming ``label`` and what ``want`` (see EXPECTED) would have accepted."""
    rewind(source)
    try:
        h5 = h5py.File(source, "r")
    except (OSError, ValueError) as err:
        raise JetvizInputError(
            f"{label}: not a readable HDF5 file ({err}); expected {EXPECTED[want]}. If it "
            "is one, it may be damaged or truncated: download or copy it again") from err
    try:
        yield h5
    except OSError as err:  # h5py read errors: damaged or truncated data
        raise JetvizInputError(
            f"{label}: reading failed ({err}); the file looks damaged or truncated. "
            "Download or copy it again") from err
    finally:
        h5.close()


def _hdf5_format(h5: h5py.File, label: str, want: str | None = None) -> str:
    kind = h5.attrs.get("kind", b"")
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    if kind in ("jetviz-jets", "jetviz-events"):
        return "jetviz"
    if "particle_features" in h5 or "jet_features" in h5:
        return "jetnet"
    if "jetConstituentList" in h5:
        return "hls4ml"
    if "table" in h5 and isinstance(h5["table"], h5py.Group):
        return "toptagging"
    found = f"an HDF5 file of no known layout; found top-level entries {sorted(h5.keys())[:12]}"
    if want == "events":
        raise JetvizInputError(
            f"{label}: {found}. Expected {EXPECTED['events']}, whose attribute 'kind' is "
            "'jetviz-events'")
    raise JetvizInputError(
        f"{label}: {found}. Expected 'particle_features' + 'jet_features' (JetNet), "
        "'jetConstituentList' + 'jets' (hls4ml), 'table' (top tagging, pandas) or a jetviz file")


def detect_format(source: Source, *, name: str | None = None, want: str | None = None) -> str:
    """Which format ``source`` holds, from its content: one of JET_FORMATS or EVENT_FORMATS.

    Args:
        source: a path or a binary file-like object.
        name: the file's name for messages.
        want: "jets", "events" or None: which formats an error message offers instead.
    """
    label = source_name(source, name)
    head = read_head(source)
    if not head:
        raise JetvizInputError(f"{label}: the file is empty (0 bytes); expected {EXPECTED[want]}")
    if is_hdf5(head):
        with open_h5(source, label, want) as h5:
            return _hdf5_format(h5, label, want)
    if is_root_file(head):  # JetClass (jetviz.readers.jetclass)
        return "jetclass"
    first = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    if first.count(";") >= 4 and "\x00" not in first:
        return "darkmachines"
    what = {"jets": "not an HDF5 file", None: "neither an HDF5 file nor a Dark Machines CSV",
            "events": "neither an HDF5 file nor a Dark Machines CSV (';'-separated)"}[want]
    raise JetvizInputError(
        f"{label}: {what}. Give {EXPECTED[want]}")


def jetviz_kind(source: Source, label: str) -> str:
    """The ``kind`` attribute of a jetviz HDF5 file ("jetviz-jets", "jetviz-events", …)."""
    with open_h5(source, label, None) as h5:
        kind = h5.attrs.get("kind", b"")
    return kind.decode() if isinstance(kind, bytes) else str(kind)
