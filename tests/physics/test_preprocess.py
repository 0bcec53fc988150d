"""THE preprocessing frame (centre, rotate, flip): round trip, what each step achieves, physics,
and that the jets the pages draw aligned are, particle by particle, the jets the models see."""

from __future__ import annotations

import numpy as np
import pytest

from jetviz.errors import JetvizInputError
from jetviz.physics import jet_ptetaphims_from_particles
from jetviz.physics.frame import PreprocessParams, invert_preprocessing, preprocess
from jetviz.vae.inputs import prepare_particles


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
    assert (c_ee >= c_pp - 1e-15).all()  # the major axis is η (horizontal)
    assert ((w * eta**3).sum(1) >= 0).all()  # each axis skewed towards +
    assert ((w * phi**3).sum(1) >= 0).all()
    assert set(np.unique(params.flip)) <= {-1.0, 1.0}
    assert params.centre.shape == (40, 2)
    assert params.angle.shape == (40,)


def test_two_prong_jet_lies_along_eta_with_the_softer_prong_on_the_plus_side() -> None:
    particles = np.array([[0.3, 0.5, 0.2], [0.7, 0.1, 0.2]])  # prongs along η
    out, params = preprocess(particles)
    np.testing.assert_allclose(out[:, 2], 0, atol=1e-15)  # both on the η axis
    # third moment 0.3·0.28³ − 0.7·0.12³ > 0 with the soft prong at +η, 0.28 from the centroid
    np.testing.assert_allclose(out[:, 1], [0.28, -0.12], atol=1e-15)
    np.testing.assert_allclose(params.centre, [0.22, 0.2], atol=1e-15)
    vertical = particles[:, [0, 2, 1]]  # the same jet with its prongs along φ
    np.testing.assert_allclose(preprocess(vertical)[0], out, atol=1e-15)


def test_half_plane_rule_puts_the_harder_side_positive_and_round_trips() -> None:
    particles = np.array([[0.3, 0.5, 0.2], [0.7, 0.1, 0.2]])  # the two-prong jet above
    out, params = preprocess(particles, flip="half-plane")
    # the hard prong (0.7) is on the η > 0 side, the soft one on η < 0: the moment rule's mirror
    np.testing.assert_allclose(out[:, 1], [-0.28, 0.12], atol=1e-15)
    rng = np.random.default_rng(3)
    jets, mask = random_jets(rng)
    moved, params = preprocess(jets, mask, flip="half-plane")
    w, x = moved[..., 0], moved[..., 1:]
    assert ((w[..., None] * (x > 0)).sum(1) >= (w[..., None] * (x < 0)).sum(1)).all()
    np.testing.assert_allclose(invert_preprocessing(moved, params, mask), jets, atol=1e-12)
    with pytest.raises(JetvizInputError, match="flip rule 'upright'"):
        preprocess(jets, mask, flip="upright")


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
    out, params = preprocess(particles, mask, centre=False, rotate=False, flip="none")
    np.testing.assert_array_equal(out, particles)
    assert (params.centre == 0).all() and (params.angle == 0).all() and (params.flip == 1).all()


def test_mismatched_parameters_raise() -> None:
    rng = np.random.default_rng(5)
    particles, mask = random_jets(rng)
    out, params = preprocess(particles, mask)
    other = PreprocessParams(params.centre[:5], params.angle[:5], params.flip[:5])
    with pytest.raises(JetvizInputError, match="PreprocessParams"):
        invert_preprocessing(out, other, mask)
    with pytest.raises(JetvizInputError, match="mask of shape"):
        preprocess(particles, mask[:, :3])


def test_degenerate_jets_have_a_defined_frame() -> None:
    one = np.array([[[1.0, 0.3, -0.2], [0.0, 0.0, 0.0]]])  # one particle: it is the centroid
    out, params = preprocess(one)
    np.testing.assert_array_equal(out, [[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    np.testing.assert_allclose(params.centre, [[0.3, -0.2]])
    # isotropic: four equal particles on a cross have C ∝ 1 and no third moment: left alone
    cross = np.array([[0.25, 0.1, 0.0], [0.25, -0.1, 0.0], [0.25, 0.0, 0.1], [0.25, 0.0, -0.1]])
    out, params = preprocess(cross + np.array([0.0, 0.5, 0.5]))
    np.testing.assert_allclose(out, cross, atol=1e-15)
    assert params.angle == 0 and (params.flip == 1).all()
    empty = np.zeros((2, 3))  # no real particle: nothing moves, nothing is NaN
    out, _ = preprocess(empty)
    np.testing.assert_array_equal(out, empty)


def synthetic_jets_with_degenerate_ones(rng: np.random.Generator):
    """(N, 16, 3) float32 jets: random tilted ones, then one-particle, two-particle, isotropic."""
    particles, mask = random_jets(rng, n=60, p=16)
    one = np.zeros((1, 16, 3))
    one[0, 0] = [0.8, 0.05, -0.3]
    two = np.zeros((1, 16, 3))
    two[0, :2] = [[0.6, 0.1, 0.1], [0.3, -0.2, 0.3]]
    cross = np.zeros((1, 16, 3))
    cross[0, :4] = [[0.2, 0.1, 0.0], [0.2, -0.1, 0.0], [0.2, 0.0, 0.1], [0.2, 0.0, -0.1]]
    particles = np.concatenate([particles, one, two, cross]).astype(np.float32)
    mask = np.concatenate([mask, one[..., 0] > 0, two[..., 0] > 0, cross[..., 0] > 0])
    return particles, mask


def test_a_jet_aligned_for_display_is_what_the_vae_sees() -> None:
    # the pages draw jets with physics.frame.preprocess; the VAEs and generators eat
    # vae.inputs.prepare_particles: the same particles at the same places, only ptrel
    # renormalised to sum 1
    particles, mask = synthetic_jets_with_degenerate_ones(np.random.default_rng(6))
    shown, _ = preprocess(particles, mask)
    seen = prepare_particles(particles, mask)
    np.testing.assert_allclose(seen[..., 1:], shown[..., 1:], rtol=0, atol=1e-7)
    ptrel = particles[..., 0] / particles[..., 0].sum(1, keepdims=True)
    np.testing.assert_allclose(seen[..., 0], ptrel, rtol=1e-6)
    assert (seen[~mask] == 0).all() and (shown[~mask] == 0).all()


def frame_the_shipped_models_were_trained_in(particles: np.ndarray, mask: np.ndarray):
    """prepare_particles as the VAEs and generators were trained (eigenvectors, 3rd moments)."""
    m = mask.astype(np.float64)
    w = particles[..., 0].astype(np.float64) * m
    w = w / np.clip(w.sum(-1, keepdims=True), 1e-12, None)
    xy = particles[..., 1:].astype(np.float64)
    xy = xy - (w[..., None] * xy).sum(1, keepdims=True)
    _, vecs = np.linalg.eigh(np.einsum("np,npi,npj->nij", w, xy, xy))
    angle = np.arctan2(vecs[:, 1, 1], vecs[:, 0, 1])  # the major eigenvector's direction
    c, s = np.cos(-angle), np.sin(-angle)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    xy = np.einsum("nij,npj->npi", rot, xy)
    xy = xy * np.where((w[..., None] * xy**3).sum(1) < 0, -1.0, 1.0)[:, None, :]
    return (np.concatenate([w[..., None], xy], axis=-1) * m[..., None]).astype(np.float32)


def test_the_frame_is_the_one_the_shipped_models_were_trained_in() -> None:
    # one-particle and two-particle jets included; the isotropic cross is left out: its
    # principal axis is undefined (the old eigensolver turned it by 90°, the frame leaves it)
    particles, mask = synthetic_jets_with_degenerate_ones(np.random.default_rng(7))
    particles, mask = particles[:-1], mask[:-1]
    np.testing.assert_allclose(prepare_particles(particles, mask),
                               frame_the_shipped_models_were_trained_in(particles, mask),
                               rtol=0, atol=1e-7)
