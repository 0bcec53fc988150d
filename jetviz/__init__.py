"""jetviz: explore what neural networks learn about collider jets.

The engine never imports streamlit (the app's pages are views/ over ui/). Modules:

Data and shared services
  jets         the in-memory jet set, JetSet (vocabulary, validation)
  events       the in-memory event set for the theory map (4 jets + MET per event)
  dataset      the jet data set in use, described for the pages (observables, images, neighbours)
  readers      every file jetviz reads: JetNet, hls4ml, top tagging, JetClass, Dark Machines,
               jetviz's own HDF5 store, a user's points
  checkpoints  the one checkpoint format ("jetviz" v2, with a kind) and the registry find()
  files        atomic writes for every file jetviz makes
  paths        where the shipped files live (checkpoints/)
  serving      which server files a page may read; training slots and budget
  device       CUDA when present, the CPU otherwise
  errors       errors a user can act on (shown as messages, never tracebacks)
  roc          ROC curves, AUC and background rejection of any score

Physics and distances
  physics      kinematics, substructure (N-subjettiness, observables), jet images, and the
               one preprocessing frame (physics.frame)
  emd          exact EMD (own transportation simplex, POT cross-check), differentiable
               exact and Sinkhorn EMDs
  simulation   Pythia 8 + FastJet jets and BSM events, SLHA spectra, toy manifolds

Models, one package per talk
  vae          the β-conditioned VAE: networks, losses, training, per-β scan, D1/D2
  generation   generators: a VAE decoder fed by a normalizing-flow prior; W1/MMD metrics
  theorymap    the theory map: set encoders of BSM events, KDE accuracy, stored maps
  jetclr       JetCLR: augmentations, contrastive encoder, linear probe, ablation
  anomaly      AE and normalized AE anomaly taggers on jet images
  unfolding    the conditional INN that unfolds pp → ZW → (ℓℓ)(jj), beside IBU

Output
  figures      plotly figure builders, one module per page topic (return go.Figure)
  cli          the ``jetviz`` command, one module per subcommand (SUBCOMMANDS)
"""

__version__ = "0.1.0"
