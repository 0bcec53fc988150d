"""jetviz: explore what neural networks learn about collider jets.

The engine never imports streamlit. Modules:
  jets      the in-memory jet set (vocabulary, validation)
  events    the in-memory event set for the theory map (4 jets + MET per event)
  store     jetviz's own HDF5 files (atomic writes, documented schema)
  readers   published data sets (JetNet, hls4ml, top tagging, Dark Machines)
  physics   observables: kinematics, N-subjettiness, jet images, preprocessing
  emd       exact EMD (own simplex, POT cross-check), differentiable exact and Sinkhorn EMDs
  generate  Pythia 8 + FastJet jets and BSM events
  figures   plotly figure builders
"""

__version__ = "0.1.0"
