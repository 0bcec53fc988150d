"""Dark Machines (arXiv:2105.14027; Zenodo 3685861) event CSV files → EventSet.

Vocabulary
----------
One event a line: ``event id; process id; weight; MET; METphi; type,E,pt,eta,phi; …`` with
object types ``DARKMACHINES_TYPES`` (j, b, e-, e+, m-, m+, g) and energies in MeV. Events get
jetviz's 18 features (:data:`jetviz.events.EVENT_FEATURES`: (pT, η, φ, m) of the leading four
j/b jets by pT, zero when absent, then MET and METphi) in GeV; one theory per process id.
A line longer than ``MAX_LINE_BYTES`` is refused; reading stops after ``max_events`` events.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterator, Mapping

import numpy as np

from jetviz.errors import JetvizInputError
from jetviz.events import EVENT_FEATURES, EventSet, Theory
from jetviz.physics import ms_from_p4s, p4s_from_ptetaphims
from jetviz.readers.detect import MAX_LINE_BYTES, Source, source_name

DARKMACHINES_TYPES: frozenset[str] = frozenset({"j", "b", "e-", "e+", "m-", "m+", "g"})
_MEV = 1e-3  # GeV per MeV
_SUSY_NAME = re.compile(r"glgl(\d+)_neutralino(\d+)")  # Dark Machines gluino-pair signals


def csv_lines(source: Source, label: str = "") -> Iterator[bytes]:
    """The lines of a CSV, each at most ``MAX_LINE_BYTES`` long (a longer one is an error)."""
    with contextlib.ExitStack() as stack:
        if isinstance(source, str | os.PathLike):
            fh = stack.enter_context(open(source, "rb"))
        else:
            fh = source
            fh.seek(0)
        lineno = 0
        while line := fh.readline(MAX_LINE_BYTES + 1):
            lineno += 1
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                raise JetvizInputError(
                    f"{label or source_name(source)}, line {lineno}: longer than "
                    f"{MAX_LINE_BYTES:,} bytes; a Dark Machines event line has a few hundred")
            yield line


def _float(text: str, what: str, label: str, lineno: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise JetvizInputError(
            f"{label}, line {lineno}: {what} is not a number; expected a number "
            "(Dark Machines format: event id; process id; weight; MET; METphi; "
            "type,E,pt,eta,phi; …)") from None
    if not math.isfinite(value):
        raise JetvizInputError(f"{label}, line {lineno}: {what} is {value}, expected finite")
    return value


def _darkmachines_event(line: str, label: str, lineno: int) -> tuple[str, np.ndarray]:
    """One CSV line → (process id, (18,) raw row: (pT, η, φ, E) of the leading four j/b jets
    by pT in MeV (zero rows when absent), then MET [MeV] and METphi)."""
    fields = [f.strip() for f in line.split(";")]
    while fields and fields[-1] == "":  # lines end with a trailing ';'
        fields.pop()
    if len(fields) < 5:
        raise JetvizInputError(
            f"{label}, line {lineno}: {len(fields)} ';'-separated fields, expected at least 5 "
            "(event id; process id; weight; MET; METphi; then objects type,E,pt,eta,phi)")
    process = fields[1]
    _float(fields[2], "the weight", label, lineno)
    met = _float(fields[3], "MET", label, lineno)
    met_phi = _float(fields[4], "METphi", label, lineno)
    jets = []
    for k, obj in enumerate(fields[5:], start=1):
        parts = [p.strip() for p in obj.split(",")]
        if len(parts) != 5 or parts[0] not in DARKMACHINES_TYPES:
            raise JetvizInputError(
                f"{label}, line {lineno}: object {k} is not of the form type,E,pt,eta,phi "
                f"with type one of {sorted(DARKMACHINES_TYPES)}")
        e, pt, eta, phi = (_float(v, f"object {k} {w}", label, lineno)
                           for v, w in zip(parts[1:], ("E", "pt", "eta", "phi"), strict=True))
        if parts[0] in ("j", "b"):
            jets.append((pt, eta, phi, e))
    jets.sort(key=lambda j: -j[0])
    row = np.zeros(len(EVENT_FEATURES), np.float64)
    for i, jet in enumerate(jets[:4]):
        row[4 * i:4 * i + 4] = jet
    row[16:] = met, met_phi
    return process, row


def _features(raw: np.ndarray) -> np.ndarray:
    """(N, 18) raw rows of :func:`_darkmachines_event` → the 18 EVENT_FEATURES in GeV.

    A jet's mass comes from its four-momentum: massless at (pT, η, φ) with the measured
    energy E, so m² = E² − |p|² (signed square root, :func:`jetviz.physics.ms_from_p4s`).
    """
    jets = raw[:, :16].reshape(-1, 4, 4)  # (N, 4, 4) = (pT, η, φ, E) [MeV]
    p4 = p4s_from_ptetaphims(np.concatenate([jets[..., :3], np.zeros_like(jets[..., :1])], -1))
    p4[..., 0] = jets[..., 3]  # (N, 4, 4) = (E, px, py, pz); absent jets stay zero: m = 0
    feats = jets.copy()
    feats[..., 3] = ms_from_p4s(p4)
    feats[..., (0, 3)] *= _MEV
    return np.concatenate([feats.reshape(-1, 16), raw[:, 16:] * [_MEV, 1.0]], axis=1)


def _theory(process: str, kinds: Mapping[str, str]) -> Theory:
    match = _SUSY_NAME.fullmatch(process)
    default = "susy" if match else "background"
    kind = kinds.get(process, default)
    if match and kind == "susy":
        return Theory(process, kind, float(match.group(1)), float(match.group(2)))
    return Theory(process, kind)


def read_darkmachines(source: Source, label: str, *, max_events: int | None = None,
                      kinds: Mapping[str, str] | None = None) -> EventSet:
    """Dark Machines CSV → EventSet: leading four j/b jets by pT and MET, MeV → GeV.

    One theory per process id, in order of first appearance. Its kind is ``kinds[process]``
    when given ("susy", "background" or "unphysical"); otherwise "susy" for gluino-pair names
    ``glgl<m_g̃>_neutralino<m_χ̃>`` (masses read from the name) and "background" for the rest.
    The event weights are read (and checked) but not kept.
    """
    if max_events is not None and max_events < 1:
        raise JetvizInputError(f"{label}: max_events must be ≥ 1, got {max_events}")
    kinds = dict(kinds or {})
    rows, processes, order = [], [], {}
    for lineno, raw in enumerate(csv_lines(source, label), start=1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise JetvizInputError(
                f"{label}, line {lineno}: not UTF-8 text; expected a Dark Machines CSV") from None
        if not line:
            continue
        process, feats = _darkmachines_event(line, label, lineno)
        order.setdefault(process, len(order))
        processes.append(order[process])
        rows.append(feats)
        if max_events is not None and len(rows) >= max_events:
            break
    if not rows:
        raise JetvizInputError(f"{label}: the file holds no events (no non-empty lines)")
    theories = tuple(_theory(p, kinds) for p in order)
    attrs = {"format": "darkmachines", "file": label, "units": "GeV (converted from MeV)"}
    return EventSet(_features(np.asarray(rows)).astype(np.float32),
                    np.asarray(processes, np.int64), theories, label, attrs)
