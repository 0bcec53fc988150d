"""The theory map (talk 003): event encoders (:mod:`.encoders`, networks in :mod:`.model`) and
the stored maps new events are projected onto (:mod:`.maps`)."""
