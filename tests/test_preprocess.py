"""Preprocessing (centre, rotate, flip): round trip, what each step achieves, physics."""

from __future__ import annotations

import numpy as np
import pytest

from jetviz.errors import JetvizInputError
from jetviz.physics import jet_ptetaphims_from_particles
from jetviz.physics.frame import PreprocessParams, invert_preprocessing, preprocess


def random_jets(rng: np.random.Generator, n: int = 40, p: int = 15, width: float = 0.2):
    counts = rng.integers(1, p + 1, size=n)
    mask = np.arange(p)[None, :] < counts[:, None]
    ptrel = rng.dirichlet(np.full(p, 0.7), size=n) * mask
    ptrel /= ptrel.sum(1, keepdims=True)
    # an off-centre, elongated, tilted jet
    long, short = rng.normal(0, width, (n, p)), rng.normal(0, width / 4, (n, p))
    tilt = rng.uniform(-np.pi, np.pi, (n, 1))
    eta = 0.1 + np.cos(tilt) * long - np.sin(tilt) * short
    phi = -0.05 + np.sin(tilt) * long + np.cos(tilt) * short
    return np.stack([ptrel, eta * mask, phi * mask], -1), mask


def small_angle_m2(particles: np.ndarray) -> np.ndarray:
    """Σ_{i<j} pT_i pT_j ΔR_ij²: the mass² to leading order in ΔR, a planar invariant."""
    w, x = particles[..., 0], particles[..., 1:]
    d2 = ((x[..., :, None, :] - x[..., None, :, :]) ** 2).sum(-1)
    return 0.5 * (w[..., :, None] * w[..., None, :] * d2).sum((-1, -2))


def test_round_trip_gives_the_input_back() -> None:
    rng = np.random.default_rng(0)
    particles, mask = random_jets(rng)
    out, params = preprocess(particles, mask)
    assert out.dtype == np.float64
    np.testing.assert_allclose(invert_preprocessing(out, params, mask), particles,
                               rtol=0, atol=1e-15)
    out32, params32 = preprocess(particles.astype(np.float32), mask)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(invert_preprocessing(out32, params32, mask), particles, atol=1e-6)


def test_each_step_does_what_it_says() -> None:
    rng = np.random.default_rng(1)
    particles, mask = random_jets(rng)
    out, params = preprocess(particles, mask)
    w, eta, phi = out[..., 0], out[..., 1], out[..., 2]
    np.testing.assert_array_equal(w, particles[..., 0])  # ptrel untouched
    np.testing.assert_allclose((w * eta).sum(1), 0, atol=1e-15)  # centred
    np.testing.assert_allclose((w * phi).sum(1), 0, atol=1e-15)
    c_ee, c_pp, c_ep = (w * eta**2).sum(1), (w * phi**2).sum(1), (w * eta * phi).sum(1)
    np.testing.assert_allclose(c_ep, 0, atol=1e-15)  # principal axes along η and φ
    assert (c_pp >= c_ee - 1e-15).all()  # the major axis is φ (vertical)
    assert ((w * (eta > 0)).sum(1) >= (w * (eta < 0)).sum(1)).all()  # harder sides positive
    assert ((w * (phi > 0)).sum(1) >= (w * (phi < 0)).sum(1)).all()
    assert set(np.unique(params.flip)) <= {-1.0, 1.0}
    assert params.centre.shape == (40, 2)
    assert params.angle.shape == (40,)


def test_two_prong_jet_ends_up_vertical_with_the_harder_prong_up() -> None:
    particles = np.array([[0.3, 0.5, 0.2], [0.7, 0.1, 0.2]])  # prongs along η
    out, params = preprocess(particles)
    np.testing.assert_allclose(out[:, 1], 0, atol=1e-15)  # both on the φ axis
    assert out[0, 2] < 0 < out[1, 2]  # the harder prong on +φ
    np.testing.assert_allclose(params.centre, [0.22, 0.2], atol=1e-15)


def test_padding_stays_zero() -> None:
    rng = np.random.default_rng(2)
    particles, mask = random_jets(rng)
    particles[~mask] = rng.normal(size=(int((~mask).sum()), 3))  # junk in padded rows
    out, params = preprocess(particles, mask)
    assert (out[~mask] == 0).all()
    back = invert_preprocessing(out, params, mask)
    assert (back[~mask] == 0).all()
    np.testing.assert_allclose(back[mask], particles[mask], atol=1e-15)


def test_centring_and_flips_keep_mass_and_pt_exactly_rotation_to_order_width_squared() -> None:
    # Shifts in η (boosts), in φ (rotations about the beam) and reflections η → −η, φ → −φ
    # are Lorentz transformations or parity: mass and pT exactly unchanged. The rotation in
    # the (η, φ) plane is not: it keeps the small-angle mass² Σ pT_i pT_j ΔR² exactly, and
    # the true mass only up to corrections that shrink like the jet width squared.
    rng = np.random.default_rng(3)
    particles, mask = random_jets(rng, n=200, width=0.2)
    before = jet_ptetaphims_from_particles(particles, mask, 1000.0)
    out, _ = preprocess(particles, mask, rotate=False)
    after = jet_ptetaphims_from_particles(out, mask, 1000.0)
    np.testing.assert_allclose(after[:, 0], before[:, 0], rtol=1e-12)
    np.testing.assert_allclose(after[:, 3], before[:, 3], rtol=1e-9, atol=1e-3)

    out, _ = preprocess(particles, mask)
    np.testing.assert_allclose(small_angle_m2(out), small_angle_m2(particles), rtol=1e-12)
    errors = []
    for scale in (1.0, 0.1):
        narrow = particles * np.array([1.0, scale, scale])
        m0 = jet_ptetaphims_from_particles(narrow, mask, 1000.0)[:, 3]
        m1 = jet_ptetaphims_from_particles(preprocess(narrow, mask)[0], mask, 1000.0)[:, 3]
        big = m0 > 1.0  # jets of several particles (a one-particle jet is massless)
        errors.append(np.median(np.abs(m1[big] / m0[big] - 1)))
    assert errors[0] < 0.02
    assert errors[1] < errors[0] / 50  # ∝ width²: 100× smaller for 10× narrower jets


def test_skipped_steps_record_the_identity() -> None:
    rng = np.random.default_rng(4)
    particles, mask = random_jets(rng)
    out, params = preprocess(particles, mask, centre=False, rotate=False, flip=False)
    np.testing.assert_array_equal(out, particles)
    assert (params.centre == 0).all() and (params.angle == 0).all() and (params.flip == 1).all()


def test_mismatched_parameters_raise() -> None:
    rng = np.random.default_rng(5)
    particles, mask = random_jets(rng)
    out, params = preprocess(particles, mask)
    other = PreprocessParams(params.centre[:5], params.angle[:5], params.flip[:5])
    with pytest.raises(JetvizInputError, match="PreprocessParams"):
        invert_preprocessing(out, other, mask)
    with pytest.raises(JetvizInputError, match="mask shape"):
        preprocess(particles, mask[:, :3])
