"""Jet images: pixel geometry, pT sums, and agreement with np.histogram2d."""

from __future__ import annotations

import numpy as np
import pytest

from jetviz.errors import JetvizInputError
from jetviz.physics.images import average_jet_image, jet_images, pixel_centres, pixel_edges


def random_jets(rng: np.random.Generator, n: int = 30, p: int = 12, width: float = 0.3):
    counts = rng.integers(1, p + 1, size=n)
    mask = np.arange(p)[None, :] < counts[:, None]
    ptrel = rng.dirichlet(np.ones(p), size=n) * mask
    ptrel /= ptrel.sum(1, keepdims=True)
    eta = rng.normal(0, width, size=(n, p)) * mask
    phi = rng.normal(0, width, size=(n, p)) * mask
    return np.stack([ptrel, eta, phi], -1), mask


@pytest.mark.parametrize(("n_pixels", "centre"), [(33, 16), (1, 0), (100, 50), (40, 20)])
def test_particle_at_the_axis_fills_the_centre_pixel(n_pixels: int, centre: int) -> None:
    particles = np.array([[[0.8, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    image = jet_images(particles, np.array([[True, False]]), n_pixels=n_pixels)
    assert image.shape == (1, n_pixels, n_pixels)
    assert image[0, centre, centre] == pytest.approx(0.8)
    assert image.sum() == pytest.approx(0.8)
    if n_pixels % 2 == 1:  # odd: pixel `centre` is centred on the axis
        assert pixel_centres(n_pixels)[centre] == pytest.approx(0.0, abs=1e-15)
    else:  # even: the axis is the lower edge of pixel `centre`
        assert pixel_edges(n_pixels)[centre] == pytest.approx(0.0, abs=1e-15)


def test_orientation_eta_is_axis_1_phi_is_axis_2() -> None:
    image = jet_images(np.array([[1.0, 0.5, -0.5]]), n_pixels=8, R=0.8)  # one jet (P, 3)
    assert image.shape == (8, 8)
    a, b = np.unravel_index(np.argmax(image), image.shape)
    edges = pixel_edges(8, 0.8)
    assert edges[a] <= 0.5 < edges[a + 1]
    assert edges[b] <= -0.5 < edges[b + 1]


def test_images_match_histogram2d_and_sum_to_ptrel_inside() -> None:
    rng = np.random.default_rng(0)
    particles, mask = random_jets(rng, width=0.5)  # some particles fall outside ±R
    particles[..., 1:][~mask] = 7.0  # junk coordinates in padding must not count
    particles[..., 1][~mask] = np.nan
    images = jet_images(particles, mask, n_pixels=17, R=0.8)
    edges = pixel_edges(17, 0.8)
    for k in range(len(particles)):
        eta, phi = particles[k, mask[k], 1], particles[k, mask[k], 2]
        expected, _, _ = np.histogram2d(eta, phi, bins=[edges, edges],
                                        weights=particles[k, mask[k], 0])
        np.testing.assert_allclose(images[k], expected, atol=1e-15)
        inside = (np.abs(eta) <= 0.8) & (np.abs(phi) <= 0.8)
        assert images[k].sum() == pytest.approx(particles[k, mask[k], 0][inside].sum())
    assert (images.sum((1, 2)) < 1 - 1e-9).any()  # the outside particles were left out


def test_particles_on_the_border_are_inside() -> None:
    particles = np.array([[0.25, -0.8, -0.8], [0.25, 0.8, 0.8], [0.5, 0.8 + 1e-9, 0.0]])
    image = jet_images(particles, n_pixels=10, R=0.8)
    assert image[0, 0] == 0.25
    assert image[9, 9] == 0.25
    assert image.sum() == pytest.approx(0.5)


def test_average_image_is_the_mean_image_and_sums_to_mean_ptrel() -> None:
    rng = np.random.default_rng(1)
    particles, mask = random_jets(rng, n=50, width=0.2)
    for n_pixels in (5, 64, 100):
        mean = average_jet_image(particles, mask, n_pixels=n_pixels)
        assert mean.shape == (n_pixels, n_pixels)
        np.testing.assert_allclose(mean, jet_images(particles, mask, n_pixels).mean(0),
                                   atol=1e-15)
        inside = mask & (np.abs(particles[..., 1]) <= 0.8) & (np.abs(particles[..., 2]) <= 0.8)
        assert mean.sum() == pytest.approx(np.where(inside, particles[..., 0], 0).sum(1).mean())


def test_bad_settings_raise() -> None:
    particles = np.zeros((2, 3, 3))
    with pytest.raises(JetvizInputError, match="n_pixels"):
        jet_images(particles, n_pixels=0)
    with pytest.raises(JetvizInputError, match="n_pixels"):
        average_jet_image(particles, n_pixels=2.5)  # type: ignore[arg-type]
    with pytest.raises(JetvizInputError, match="R must be"):
        average_jet_image(particles, R=-1.0)
    with pytest.raises(JetvizInputError, match=r"\(\.\.\., P, 3\)"):
        average_jet_image(np.zeros((2, 3, 2)))
    with pytest.raises(JetvizInputError, match="no jets"):
        average_jet_image(np.zeros((0, 3, 3)))
