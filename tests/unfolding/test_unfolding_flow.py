"""The cINN and its coordinates: parton events ↔ coordinates round trip; the Breit–Wigner
coordinate makes a Breit–Wigner Gaussian; the flow is exactly invertible, its log-density is
the change-of-variables formula (checked with an autograd Jacobian), sampling is seeded, and
a checkpoint rebuilds the same model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.special import ndtri

from jetviz.errors import JetvizInputError
from jetviz.unfolding.checkpoint import load_cinn, save_cinn
from jetviz.unfolding.data import parton_observables
from jetviz.unfolding.flow import CINNConfig, ConditionalINN
from jetviz.unfolding.representation import (
    GAMMA_W,
    M_W,
    coords_from_partons,
    mass_from_z,
    partons_from_coords,
    z_from_mass,
)
from tests.support_unfolding import synthetic_pairs


def test_parton_coordinates_round_trip():
    events = synthetic_pairs(500, np.random.default_rng(1))
    phi_ref = np.random.default_rng(2).uniform(-np.pi, np.pi, 500)
    coords = coords_from_partons(events.parton.astype(np.float64), phi_ref)
    partons = partons_from_coords(coords, phi_ref)  # float64 massless events
    assert np.allclose(coords_from_partons(partons, phi_ref), coords, atol=1e-6)
    back = partons_from_coords(coords_from_partons(partons, phi_ref), phi_ref)
    assert np.allclose(back, partons, rtol=1e-8, atol=1e-6)
    for name, values in parton_observables(back).items():
        assert np.allclose(values, parton_observables(partons)[name], atol=1e-6), name
    with pytest.raises(JetvizInputError, match=r"\(N, 4, 4\)"):
        coords_from_partons(np.zeros((3, 2, 4)), np.zeros(3))


def test_breit_wigner_masses_become_gaussian_and_invert():
    u = np.random.default_rng(0).random(100_000)
    m2 = M_W**2 + M_W * GAMMA_W * np.tan(np.pi * (u - 0.5))  # Breit–Wigner in m² by inversion
    physical = m2 > 0  # all but the far lower tail
    m = np.sqrt(m2[physical])
    z = z_from_mass(m, M_W, GAMMA_W)
    assert np.allclose(z, ndtri(u[physical]), atol=1e-6)  # the Gaussian quantile of u
    assert abs(np.median(z)) < 0.02 and abs(np.subtract(*np.quantile(z, [0.84, 0.16])) - 2) < 0.05
    assert np.allclose(mass_from_z(z[:1000], M_W, GAMMA_W), m[:1000], rtol=1e-6)


def _tiny(seed: int = 0) -> ConditionalINN:
    torch.manual_seed(seed)
    model = ConditionalINN(CINNConfig(features=4, condition=3, context=5, summary_hidden=8,
                                      transforms=2, hidden=8, bins=4))
    rng = np.random.default_rng(seed)
    model.set_standardisation(rng.normal(2, 3, (100, 4)), rng.normal(0, 1, (100, 3)))
    return model.eval()


def test_flow_is_exactly_invertible_and_its_density_is_the_change_of_variables():
    model = _tiny()
    torch.manual_seed(1)
    x = 2 + 3 * torch.randn(6, 4, dtype=torch.float64)
    y = torch.randn(6, 3, dtype=torch.float64)
    model = model.double()
    eps = model.forward_noise(x, y)
    assert torch.allclose(model.from_noise(eps, y), x, atol=1e-8)
    for i in range(3):
        jac = torch.autograd.functional.jacobian(
            lambda xi, i=i: model.forward_noise(xi[None], y[i:i + 1])[0], x[i])
        base = torch.distributions.Normal(0.0, 1.0).log_prob(eps[i]).sum()
        expected = base + torch.linalg.slogdet(jac).logabsdet
        assert model.log_prob(x[i:i + 1], y[i:i + 1])[0].item() == pytest.approx(
            expected.item(), abs=1e-6)


def test_sampling_is_seeded_and_checkpoints_rebuild_the_model(tmp_path):
    model = _tiny()
    y = torch.randn(3, 3)
    a = model.sample(y, 7, torch.Generator().manual_seed(4))
    b = model.sample(y, 7, torch.Generator().manual_seed(4))
    assert a.shape == (7, 3, 4) and torch.equal(a, b)
    save_cinn(tmp_path / "m", model, {"command": "test", "n_test": 1})
    loaded, record = load_cinn(tmp_path / "m")
    x = torch.randn(3, 4)
    assert torch.allclose(loaded.log_prob(x, y), model.log_prob(x, y))
    assert record["command"] == "test"
    with pytest.raises(JetvizInputError, match="detector features"):
        model.log_prob(x, torch.randn(3, 5))
    with pytest.raises(JetvizInputError, match=r"no config\.json"):
        load_cinn(tmp_path / "missing")


def test_quark_order_does_not_change_the_coordinates_and_the_forward_quark_comes_first():
    from jetviz.physics import pts_from_p4s
    from jetviz.unfolding.representation import model_inputs

    events = synthetic_pairs(200, np.random.default_rng(3))
    x, y, _ = model_inputs(events)
    swapped = replace(events, parton=events.parton[:, [0, 1, 3, 2]])
    xs, ys, _ = model_inputs(swapped)
    assert np.array_equal(y, ys)
    assert np.allclose(xs, x, atol=1e-6)  # jets cannot tell q from q̄′: neither can x
    partons = partons_from_coords(x.astype(np.float64), 0.0)
    w_boson = partons[:, 2] + partons[:, 3]
    # the forward quark (cos θ* ≥ 0 along the W's flight) has the larger energy in the lab
    assert np.all(partons[:, 2, 0] >= partons[:, 3, 0] - 1e-6)
    assert np.allclose(pts_from_p4s(w_boson), np.exp(x[:, 2]), rtol=1e-5)


def test_detector_features_recover_a_perfect_detector_s_partons():
    from jetviz.unfolding.representation import _boost, condition_from_detector

    events = synthetic_pairs(50, np.random.default_rng(4))
    parton = events.parton.astype(np.float64)
    jets = np.zeros((50, 4, 4))
    jets[:, :2] = parton[:, 2:]  # a perfect detector: the jets are the quarks
    flavour, n_jets = np.ones(50), np.full(50, 2)
    y = condition_from_detector(parton[:, :2], jets, n_jets, flavour)
    assert y.shape == (50, 59 + 8 * 4 + 6)
    # the ℓℓ pT in the ZW rest frame about the beam axis; the W candidate is the only pair
    pt_z = np.hypot(*(parton[:, 0, 1:3] + parton[:, 1, 1:3]).T)
    assert np.allclose(np.exp(y[:, 59]), pt_z, rtol=1e-4)
    assert np.allclose(np.exp(y[:, 66]), pt_z, rtol=1e-4)
    beta = np.array([0.0, 0.0, 0.6])  # the whole event moves along the beam
    boosted = condition_from_detector(_boost(parton[:, :2], beta), _boost(jets, beta) * (
        jets[..., :1] != 0), n_jets, flavour)
    assert np.allclose(boosted[:, 57:71], y[:, 57:71], atol=2e-4)
    # the detector-level parton coordinates, measured and with the recoil undone, are the
    # partons' own (ℓℓ along φ_ref: δφ_Z = 0)
    x = coords_from_partons(parton, np.arctan2(*(parton[:, 0, 2:0:-1] + parton[:, 1, 2:0:-1]).T))
    for start in (71, 84):
        measured = y[:, start:start + 13]
        assert np.allclose(measured[:, [0, 1, 2, 5, 6, 7, 10]], x[:, [0, 1, 2, 4, 5, 6, 8]],
                           atol=2e-3)
        assert np.allclose(measured[:, 4], 1.0, atol=1e-5)  # cos δφ_Z
        assert np.allclose(np.arctan2(measured[:, 11], measured[:, 12]), x[:, 9], atol=2e-3)


def test_a_legacy_cinn_converts_in_place_and_loads_the_same_model(tmp_path):
    import json

    from jetviz import checkpoints
    from jetviz.unfolding.checkpoint import convert_legacy

    model = _tiny()
    save_cinn(tmp_path / "cinn", model, {"command": "test", "n_test": 1})
    config = tmp_path / "cinn" / "config.json"
    payload = json.loads(config.read_text())  # the old header: format, version, no kind
    config.write_text(json.dumps({"format": "jetviz-cinn", "version": 1,
                                  "config": payload["config"], "record": payload["record"]}))
    with pytest.raises(JetvizInputError, match="jetviz checkpoints convert"):
        load_cinn(tmp_path / "cinn")
    assert convert_legacy(tmp_path) == [tmp_path / "cinn"]
    loaded, record = load_cinn(tmp_path / "cinn")
    x, y = torch.randn(3, 4), torch.randn(3, 3)
    assert torch.equal(loaded.log_prob(x, y), model.log_prob(x, y))
    assert record == {"command": "test", "n_test": 1}
    assert [e.kind for e in checkpoints.find(roots=[tmp_path])] == ["cinn"]
