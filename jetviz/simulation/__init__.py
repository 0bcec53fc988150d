"""Simulation: Pythia 8 + FastJet jets and BSM events (:mod:`.pythia`, driven by :mod:`.generate`),
SLHA spectra (:mod:`.slha`) and toy manifolds (:mod:`.toys`)."""
