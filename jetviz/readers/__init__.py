"""Readers: every file of jets or events jetviz reads, into a JetSet or an EventSet.

One module per data set or concept:

``detect``        which format a file holds (by content), opening HDF5 safely, the caps
``hdf5``          checks, lazy capped chunked reads and the finishing shared by HDF5 jet readers
``jetnet``, ``hls4ml``, ``toptagging`` (with ``pandas_hdf5``), ``jetclass`` (ROOT)
                  the published jet data sets
``darkmachines``  the Dark Machines event CSV
``store``         jetviz's own HDF5 files (jets, events, and any file of named arrays)
``points``        a user's 2-D points (toy data)
``load``          the entry points below: ``load_jets``, ``load_events``, ``count_*``

The names below are the published-file entry points and constants.
"""

from jetviz.readers.darkmachines import DARKMACHINES_TYPES, read_darkmachines
from jetviz.readers.detect import (
    EVENT_FORMATS,
    EXPECTED,
    JET_FORMATS,
    MAX_EVENTS_DEFAULT,
    MAX_FEATURES,
    MAX_JETS_DEFAULT,
    MAX_LINE_BYTES,
    MAX_NAMES,
    MAX_PARTICLE_SLOTS,
    Source,
    detect_format,
    source_name,
)
from jetviz.readers.hdf5 import RADIUS
from jetviz.readers.hls4ml import HLS4ML_ONEHOT, read_hls4ml
from jetviz.readers.jetnet import jetnet_class, read_jetnet
from jetviz.readers.load import count_events, count_jets, load_events, load_jets
from jetviz.readers.toptagging import TOPTAGGING_CLASSES, read_toptagging

__all__ = [
    "DARKMACHINES_TYPES",
    "EVENT_FORMATS",
    "EXPECTED",
    "HLS4ML_ONEHOT",
    "JET_FORMATS",
    "MAX_EVENTS_DEFAULT",
    "MAX_FEATURES",
    "MAX_JETS_DEFAULT",
    "MAX_LINE_BYTES",
    "MAX_NAMES",
    "MAX_PARTICLE_SLOTS",
    "RADIUS",
    "TOPTAGGING_CLASSES",
    "Source",
    "count_events",
    "count_jets",
    "detect_format",
    "jetnet_class",
    "load_events",
    "load_jets",
    "read_darkmachines",
    "read_hls4ml",
    "read_jetnet",
    "read_toptagging",
    "source_name",
]
