"""Jet physics: kinematics (:mod:`.kinematics`: four-vector conversions, relative
coordinates, masks, multiplicities, jet four-momenta), substructure (:mod:`.substructure`:
exclusive-kT axes, N-subjettiness, the jet observables), jet images (:mod:`.images`) and the
one preprocessing frame every model and page uses (:mod:`.frame`). The names below are the
kinematics and substructure every feature uses: import them from ``jetviz.physics``."""

from jetviz.physics.kinematics import (
    abs_dphis,
    etas_from_p4s,
    jet_p4s_from_particles,
    jet_ptetaphims_from_p4s,
    jet_ptetaphims_from_particles,
    massless_p4s,
    ms_from_p4s,
    multiplicities,
    p4s_from_particles,
    p4s_from_ptetaphims,
    particle_mask,
    particles_from_p4s,
    phis_from_p4s,
    ptetaphims_from_p4s,
    pts_from_p4s,
    rapidities_from_p4s,
    relative_from_p4s,
    wrap_phi,
)
from jetviz.physics.substructure import (
    OBSERVABLES,
    exclusive_kt_axes,
    nsubjettiness,
    observables,
    safe_ratio,
    tau_from_axes,
)

__all__ = [
    "OBSERVABLES",
    "abs_dphis",
    "etas_from_p4s",
    "exclusive_kt_axes",
    "jet_p4s_from_particles",
    "jet_ptetaphims_from_p4s",
    "jet_ptetaphims_from_particles",
    "massless_p4s",
    "ms_from_p4s",
    "multiplicities",
    "nsubjettiness",
    "observables",
    "p4s_from_particles",
    "p4s_from_ptetaphims",
    "particle_mask",
    "particles_from_p4s",
    "phis_from_p4s",
    "ptetaphims_from_p4s",
    "pts_from_p4s",
    "rapidities_from_p4s",
    "relative_from_p4s",
    "safe_ratio",
    "tau_from_axes",
    "wrap_phi",
]
