"""The files the Unfolding page reads, as one bundle (tiny synthetic bundle made by the real
pipeline): the summarised test events line up with the file's last events, an event's
posterior is seeded, coverages are non-decreasing fractions, a missing file is named."""

from __future__ import annotations

import numpy as np
import pytest

from jetviz.errors import JetvizInputError
from jetviz.unfolding import bundle as files
from jetviz.unfolding.checkpoint import load_cinn
from jetviz.unfolding.data import OBSERVABLES, parton_observables, read_pairs
from tests.support_unfolding import tiny_unfolding_dir


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_unfolding_dir(tmp_path_factory.mktemp("bundle"))


def test_bundle_holds_the_summarised_test_events(tiny):
    model, record = load_cinn(tiny / files.MODEL)
    b = files.read_bundle(tiny, int(record["n_test"]))
    n = len(b.pit)
    assert b.y.shape == (n, model.config.condition) and b.samples.shape[1:] == (n, 5)
    events = read_pairs(tiny / files.DATA)
    last = parton_observables(events.parton[-record["n_test"]:][:n])
    assert np.array_equal(b.test.truth["m_jj"], last["m_jj"])
    assert len(b.train.truth["m_jj"]) == len(events) - record["n_test"]
    cover = b.coverages()
    assert set(cover) == set(OBSERVABLES)
    for c in cover.values():
        assert np.all(np.diff(c) >= 0) and ((c >= 0) & (c <= 1)).all()


def test_event_posterior_is_seeded_and_per_event(tiny):
    model, record = load_cinn(tiny / files.MODEL)
    b = files.read_bundle(tiny, int(record["n_test"]))
    a = files.event_posterior(model, b, 3, 20, seed=7)
    assert set(a) == set(OBSERVABLES) and a["m_jj"].shape == (20,)
    assert np.array_equal(a["m_jj"], files.event_posterior(model, b, 3, 20, seed=7)["m_jj"])
    assert not np.array_equal(a["m_jj"], files.event_posterior(model, b, 4, 20, seed=7)["m_jj"])
    with pytest.raises(JetvizInputError, match="test event"):
        files.event_posterior(model, b, len(b.y), 20, seed=7)


def test_a_missing_file_is_named(tiny, tmp_path):
    assert len(files.modified_ns(tiny)) == 3
    with pytest.raises(JetvizInputError, match=r"zw_events\.h5 is missing"):
        files.modified_ns(tmp_path)
