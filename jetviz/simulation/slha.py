"""A minimal SUSY Les Houches Accord (SLHA1) spectrum for gluino-pair simplified models.

The model (talk 003; a standard "simplified model" of SUSY searches) has two light states, the
gluino g̃ and the lightest neutralino χ̃₁⁰; every other superpartner is decoupled at
``DECOUPLED_MASS``. The gluino decays only through off-shell squarks to
``g̃ → q q̄ χ̃₁⁰`` with q a light quark (u, d, s; equal branching ratios), and χ̃₁⁰ is stable.
Pythia 8 reads the file with ``SLHA:file`` (SLHA: Skands et al., hep-ph/0311123).
"""

from __future__ import annotations

import os
from pathlib import Path

from jetviz.errors import JetvizInputError
from jetviz.files import atomic_path

GLUINO = 1000021
NEUTRALINO1 = 1000022
LIGHT_QUARKS: tuple[int, ...] = (1, 2, 3)  # d, u, s
DECOUPLED_MASS = 5.0e3  # GeV, mass of every other superpartner
GLUINO_WIDTH = 1.0e-2  # GeV, narrow: a three-body decay through decoupled squarks

# Superpartners pushed to DECOUPLED_MASS: squarks (L and R), sleptons, sneutrinos,
# heavier neutralinos and charginos.
_DECOUPLED: tuple[int, ...] = (
    *range(1000001, 1000007), *range(2000001, 2000007),
    1000011, 1000012, 1000013, 1000014, 1000015, 1000016, 2000011, 2000013, 2000015,
    1000023, 1000024, 1000025, 1000035, 1000037,
)


def slha_text(m_gluino: float, m_neutralino: float) -> str:
    """The SLHA file text for one (m_g̃, m_χ̃₁⁰) point, masses in GeV.

    Raises:
        JetvizInputError: if the gluino cannot decay to the neutralino (m_g̃ ≤ m_χ̃).
    """
    if not 0 < m_neutralino < m_gluino:
        raise JetvizInputError(
            f"SUSY point (m_gluino={m_gluino}, m_neutralino={m_neutralino}) GeV: need "
            "0 < m_neutralino < m_gluino so that g̃ → q q̄ χ̃₁⁰ is open; choose lighter χ̃₁⁰")
    lines = [
        "# jetviz simplified model: gluino pair, g~ -> q q~ chi_10 (q = u, d, s)",
        "BLOCK MODSEL",
        "    1    0   # general MSSM",
        "BLOCK SMINPUTS",
        "    1    1.279340000e+02   # alpha_em^-1(M_Z) MSbar",
        "    2    1.166370000e-05   # G_F",
        "    3    1.180000000e-01   # alpha_s(M_Z) MSbar",
        "    4    9.118760000e+01   # M_Z pole",
        "    5    4.180000000e+00   # m_b(m_b) MSbar",
        "    6    1.725000000e+02   # m_top pole",
        "    7    1.776860000e+00   # m_tau pole",
        "BLOCK MASS",
        f"  {GLUINO:>8d}   {m_gluino:.6e}   # ~g",
        f"  {NEUTRALINO1:>8d}   {m_neutralino:.6e}   # ~chi_10",
        *(f"  {pid:>8d}   {DECOUPLED_MASS:.6e}   # decoupled" for pid in _DECOUPLED),
        f"DECAY  {GLUINO:>8d}   {GLUINO_WIDTH:.6e}   # ~g",
        *(f"    {1 / len(LIGHT_QUARKS):.8e}   3   {NEUTRALINO1:>8d}   {q:>2d}   {-q:>3d}"
          f"   # ~g -> ~chi_10 q q~" for q in LIGHT_QUARKS),
        f"DECAY  {NEUTRALINO1:>8d}   0.000000e+00   # ~chi_10 stable",
    ]
    return "\n".join(lines) + "\n"


def write_slha(path: str | os.PathLike, m_gluino: float, m_neutralino: float) -> Path:
    """Write the SLHA spectrum of one mass point to ``path`` and return the path."""
    text = slha_text(m_gluino, m_neutralino)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)
