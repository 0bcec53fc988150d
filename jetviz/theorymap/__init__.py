"""The theory map (talk 003): event features (:mod:`.features`), theories and sets
(:mod:`.sets`), the set encoders and their losses (:mod:`.model`), training (:mod:`.train`),
KDE accuracy (:mod:`.kde`), stored maps and projection (:mod:`.maps`), checkpoints
(:mod:`.checkpoint`, old layout converted by :mod:`.legacy`)."""
