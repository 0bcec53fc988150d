"""Writers of tiny files in the exact layouts of the published data sets (for reader tests).

Each writer takes jets in jetviz's own terms (relative particles, jet axis) and writes them the
way the published files store them, so a reader test can compare what it reads to the truth.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from jetviz.physics import p4s_from_particles, wrap_phi

HLS4ML_PARTICLE_NAMES = [
    "j1_px", "j1_py", "j1_pz", "j1_e", "j1_erel", "j1_pt", "j1_ptrel", "j1_eta", "j1_etarel",
    "j1_etarot", "j1_phi", "j1_phirel", "j1_phirot", "j1_deltaR", "j1_costheta",
    "j1_costhetarel", "j1_pdgid",
]  # 17 names; the published jetConstituentList has 16 columns (no j1_pdgid column)
HLS4ML_JET_NAMES = [
    "j_ptfrac", "j_pt", "j_eta", "j_mass", "j_tau1_b1", "j_tau2_b1", "j_tau3_b1", "j_tau1_b2",
    "j_tau2_b2", "j_tau3_b2", "j_tau32_b1", "j_tau32_b2", "j_zlogz", "j_c1_b0", "j_c1_b1",
    "j_c1_b2", "j_c2_b1", "j_c2_b2", "j_d2_b1", "j_d2_b2", "j_d2_a1_b1", "j_d2_a1_b2",
    "j_m2_b1", "j_m2_b2", "j_n2_b1", "j_n2_b2", "j_tau1_b1_mmdt", "j_tau2_b1_mmdt",
    "j_tau3_b1_mmdt", "j_tau1_b2_mmdt", "j_tau2_b2_mmdt", "j_tau3_b2_mmdt", "j_tau32_b1_mmdt",
    "j_tau32_b2_mmdt", "j_c1_b0_mmdt", "j_c1_b1_mmdt", "j_c1_b2_mmdt", "j_c2_b1_mmdt",
    "j_c2_b2_mmdt", "j_d2_b1_mmdt", "j_d2_b2_mmdt", "j_d2_a1_b1_mmdt", "j_d2_a1_b2_mmdt",
    "j_m2_b1_mmdt", "j_m2_b2_mmdt", "j_n2_b1_mmdt", "j_n2_b2_mmdt", "j_mass_trim",
    "j_mass_mmdt", "j_mass_prun", "j_mass_sdb2", "j_mass_sdm1", "j_multiplicity",
    "j_g", "j_q", "j_w", "j_z", "j_t", "j_undef",
]  # 59 names, as in the hls4ml LHC-jets files (arXiv:1908.05318)


def shuffle_particles(particles: np.ndarray, mask: np.ndarray,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The same jets with their particle rows (padding included) in a random order."""
    order = np.argsort(rng.random(mask.shape), axis=1)
    return (np.take_along_axis(particles, order[..., None], 1),
            np.take_along_axis(mask, order, 1))


def write_jetnet(path: Path, particles: np.ndarray, mask: np.ndarray, jets: np.ndarray) -> None:
    """JetNet layout: particle_features (etarel, phirel, ptrel, mask), jet_features (pt, eta,
    mass, num_particles); ``jets`` is jetviz's (N, 5) (pT, η, φ, m, multiplicity)."""
    pf = np.stack([particles[..., 1], particles[..., 2], particles[..., 0], mask], -1)
    with h5py.File(path, "w") as h5:
        h5.create_dataset("particle_features", data=pf.astype(np.float32))
        h5.create_dataset("jet_features", data=jets[:, [0, 1, 3, 4]].astype(np.float32))


def write_hls4ml(path: Path, particles: np.ndarray, mask: np.ndarray, jets: np.ndarray,
                 onehot: np.ndarray) -> None:
    """hls4ml layout: 16 constituent columns named by 17 particleFeatureNames (bytes), zero
    rows for padding; ``jets`` (N, 59) with the one-hot labels (N, 6) in j_g … j_undef."""
    jet_pt, jet_eta, jet_phi = jets[:, 0], jets[:, 1], jets[:, 2]
    p4 = p4s_from_particles(particles, jet_pt, jet_eta, jet_phi)  # (N, P, 4)
    pt = particles[..., 0] * jet_pt[:, None]
    eta = particles[..., 1] + jet_eta[:, None]
    phi = wrap_phi(particles[..., 2] + jet_phi[:, None])
    jet_e = p4[..., 0].sum(1, keepdims=True)
    cols = {
        "j1_px": p4[..., 1], "j1_py": p4[..., 2], "j1_pz": p4[..., 3], "j1_e": p4[..., 0],
        "j1_erel": p4[..., 0] / jet_e, "j1_pt": pt, "j1_ptrel": particles[..., 0], "j1_eta": eta,
        "j1_etarel": particles[..., 1], "j1_etarot": particles[..., 1], "j1_phi": phi,
        "j1_phirel": particles[..., 2], "j1_phirot": particles[..., 2],
        "j1_deltaR": np.hypot(particles[..., 1], particles[..., 2]),
        "j1_costheta": np.tanh(eta), "j1_costhetarel": np.tanh(particles[..., 1]),
    }
    constituents = np.stack([cols[nm] for nm in HLS4ML_PARTICLE_NAMES[:16]], -1) * mask[..., None]
    table = np.zeros((len(jets), len(HLS4ML_JET_NAMES)), np.float32)
    for nm, value in (("j_pt", jet_pt), ("j_eta", jet_eta), ("j_mass", jets[:, 3]),
                      ("j_multiplicity", jets[:, 4]), ("j_ptfrac", np.ones(len(jets)))):
        table[:, HLS4ML_JET_NAMES.index(nm)] = value
    table[:, -6:] = onehot
    with h5py.File(path, "w") as h5:
        h5.create_dataset("jetConstituentList", data=constituents.astype(np.float32))
        h5.create_dataset("particleFeatureNames", data=np.array(HLS4ML_PARTICLE_NAMES, "S"))
        h5.create_dataset("jets", data=table)
        h5.create_dataset("jetFeatureNames", data=np.array(HLS4ML_JET_NAMES, "S"))


def write_toptagging(path: Path, p4: np.ndarray, is_signal: np.ndarray,
                     fmt: str = "fixed") -> None:
    """Top-tagging layout, written by pandas itself: E_i, PX_i, PY_i, PZ_i for i < K, then
    truthE/PX/PY/PZ, ttv, is_signal_new, under key ``table``; padding constituents are zero."""
    n, k, _ = p4.shape
    columns = {}
    for c, comp in enumerate(("E", "PX", "PY", "PZ")):
        for i in range(k):
            columns[f"{comp}_{i}"] = p4[:, i, c].astype(np.float32)
    truth = p4.sum(1)
    for c, comp in enumerate(("truthE", "truthPX", "truthPY", "truthPZ")):
        columns[comp] = truth[:, c].astype(np.float32)
    columns["ttv"] = np.zeros(n, np.int64)
    columns["is_signal_new"] = is_signal.astype(np.int64)
    pd.DataFrame(columns).to_hdf(path, key="table", format=fmt)


def darkmachines_line(event_id: int, process: str, met_gev: float, met_phi: float,
                      objects: list[tuple[str, float, float, float, float]]) -> str:
    """One Dark Machines CSV line; ``objects`` are (type, E, pt, eta, phi) in GeV, written in
    MeV as the published files are, with the trailing ';'."""
    parts = [str(event_id), process, "1", f"{met_gev * 1e3:.6g}", f"{met_phi:.6g}"]
    parts += [f"{t},{e * 1e3:.9g},{pt * 1e3:.9g},{eta:.9g},{phi:.9g}"
              for t, e, pt, eta, phi in objects]
    return ";".join(parts) + ";"
