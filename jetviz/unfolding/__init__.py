"""Unfolding (talk 004): a conditional INN that inverts the detector for pp → ZW → (ℓℓ)(jj).

Vocabulary (GeV; four-vectors (E, px, py, pz)):
  parton event     (4, 4) hard-process (ℓ⁻, ℓ⁺, q, q̄′)                 — data, simulation
  detector event   leptons (2, 4), jets (J, 4) zero-padded, jet count     — data, detector
  x                (10,) parton coordinates the flow works in            — representation
  y                (F,) detector features the summary network reads      — representation
  posterior        samples of x (or of the five observables) given one y — flow, summary
  PIT              fraction of an event's posterior samples below its truth — metrics
  response R[r, t] P(detector bin r | truth bin t) of one observable     — ibu

Modules: detector (the card), simulation (one Pythia run), generation (chunks, file), data
(HDF5, observables, cuts), representation, flow (the cINN), checkpoint (kind "cinn" of
:mod:`jetviz.checkpoints`, the converter of the old layout), training, summary (posterior
samples, test-sample summary file), ibu, metrics, analysis (cINN beside IBU), bundle (the
files the page reads). Elsewhere: figures in :mod:`jetviz.figures.unfolding`, the command
in :mod:`jetviz.cli.unfold`.
"""
