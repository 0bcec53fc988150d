"""EMD: exact (POT) against hand-solved cases, Sinkhorn against exact, invariances, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import jetviz.emd.exact as emd_exact
from jetviz.emd import (
    emd,
    emd_pot,
    events_from_jets,
    exact_emd_torch,
    paired_emds,
    pairwise_emds,
    sinkhorn_emd,
    sinkhorn_plan,
    transport_batches,
)
from jetviz.errors import JetvizInputError
from tests.conftest import make_jetset

torch.set_num_threads(1)
R = 0.8


def event(*particles: tuple[float, float, float]) -> np.ndarray:
    """An event (M, 3) of (weight [GeV], eta, phi)."""
    return np.array(particles, dtype=np.float64)


def as_batch(*events: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad events to one (B, P) weight and (B, P, 2) position batch (float64)."""
    p = max(len(ev) for ev in events)
    out = np.zeros((len(events), p, 3))
    for i, ev in enumerate(events):
        out[i, : len(ev)] = ev
    t = torch.tensor(out)
    return t[..., 0], t[..., 1:]


def sinkhorn_pair(ev_a: np.ndarray, ev_b: np.ndarray, **kw) -> float:
    (w_a, x_a), (w_b, x_b) = as_batch(ev_a), as_batch(ev_b)
    return float(sinkhorn_emd(w_a, x_a, w_b, x_b, R=R, **kw)[0])


def random_events(rng: np.random.Generator, n: int, p: int) -> np.ndarray:
    """Uniform weights and positions in the jet cone: a hard case for Sinkhorn (many ties)."""
    w = rng.uniform(0.0, 1.0, (n, p)) * 1000.0 / p
    x = rng.uniform(-R, R, (n, p, 2))
    return np.concatenate([w[..., None], x], -1)


def jet_events(n: int, p: int, seed: int) -> np.ndarray:
    """Physical-looking jets in GeV (ptrel × pT) with padding."""
    return events_from_jets(make_jetset(n, p, seed))


# Hand-solved cases: (event a, event b, EMD in GeV).
HAND_CASES = {
    "identical": (
        event((50, 0, 0), (30, 0.3, 0.1), (20, -0.2, 0.25)),
        event((50, 0, 0), (30, 0.3, 0.1), (20, -0.2, 0.25)),
        0.0,
    ),
    # one particle moved by Δ = 0.5 (a 3-4-5 triangle): E Δ / R
    "moved": (event((100, 0, 0)), event((100, 0.3, 0.4)), 100 * 0.5 / R),
    # 60 GeV travel 0.4, the 40 GeV surplus costs |ΣE − ΣE'|
    "unequal totals": (event((100, 0, 0)), event((60, 0.4, 0)), 60 * 0.4 / R + 40),
    # each particle to its nearest partner
    "two to nearest": (
        event((50, 0, 0), (30, 1.0, 0)),
        event((50, 0.1, 0), (30, 1.0, 0.2)),
        (50 * 0.1 + 30 * 0.2) / R,
    ),
    # the surplus is the far particle, left to the dummy at no transport cost
    "surplus dropped": (event((10, 0, 0), (10, 0.8, 0)), event((10, 0, 0)), 10.0),
}


@pytest.mark.parametrize("case", HAND_CASES)
def test_exact_emd_hand_solved(case: str) -> None:
    ev_a, ev_b, expected = HAND_CASES[case]
    for solver in (emd, emd_pot):
        assert solver(ev_a, ev_b, R=R) == pytest.approx(expected, abs=1e-9)
        assert solver(ev_b, ev_a, R=R) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("case", HAND_CASES)
def test_sinkhorn_hand_solved(case: str) -> None:
    ev_a, ev_b, expected = HAND_CASES[case]
    assert sinkhorn_pair(ev_a, ev_b) == pytest.approx(expected, rel=0.01, abs=1e-3)


def test_exact_emd_scales_with_radius_and_energy() -> None:
    ev_a, ev_b, _ = HAND_CASES["two to nearest"]
    base = emd(ev_a, ev_b, R=R)
    assert emd(ev_a, ev_b, R=0.4) == pytest.approx(2 * base)
    scaled_a, scaled_b = ev_a * [3, 1, 1], ev_b * [3, 1, 1]
    assert emd(scaled_a, scaled_b, R=R) == pytest.approx(3 * base)


def test_exact_emd_empty_event_is_its_energy() -> None:
    ev = event((40, 0.1, 0), (60, 0, 0.2))
    assert emd(ev, np.zeros((2, 3))) == pytest.approx(100.0)
    assert emd(np.zeros((2, 3)), np.zeros((1, 3))) == 0.0


def test_sinkhorn_empty_sets_cost_their_energy() -> None:
    w_a = torch.tensor([[0.0, 0.0], [0.0, 0.0], [3.0, 1.0]])
    w_b = torch.tensor([[2.0, 5.0], [0.0, 0.0], [0.0, 0.0]])
    x = torch.rand(3, 2, 2, generator=torch.Generator().manual_seed(0))
    out = sinkhorn_emd(w_a, x, w_b, x.flip(1))
    torch.testing.assert_close(out, torch.tensor([7.0, 0.0, 4.0]))
    assert torch.isfinite(out).all()


def test_exact_emd_rejects_bad_events() -> None:
    with pytest.raises(JetvizInputError, match=r"\(M, 3\)"):
        emd(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(JetvizInputError, match="negative"):
        emd(event((-1, 0, 0)), event((1, 0, 0)))
    with pytest.raises(JetvizInputError, match="NaN"):
        emd(event((np.nan, 0, 0)), event((1, 0, 0)))


def test_iteration_limit_is_an_error_not_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    ev_a, ev_b = random_events(rng, 2, 30)
    expected = pairwise_emds(np.stack([ev_a, ev_b]), n_jobs=1)
    # the simplex out of pivots hands its pairs to POT, which gives the same numbers
    monkeypatch.setattr(transport_batches, "PIVOTS_PER_NODE", 0)
    np.testing.assert_allclose(pairwise_emds(np.stack([ev_a, ev_b]), n_jobs=1), expected,
                               rtol=0, atol=1e-9)
    monkeypatch.setattr(emd_exact, "_NUM_ITER_MAX", 1)  # the retry allows 10: still too few
    with pytest.raises(RuntimeError, match="iteration limit"):
        emd_pot(ev_a, ev_b)
    with pytest.raises(RuntimeError, match="iteration limit"):
        pairwise_emds(np.stack([ev_a, ev_b]), n_jobs=1)


@pytest.mark.parametrize("kind", ["random", "jets"])
def test_sinkhorn_matches_exact(kind: str) -> None:
    rng = np.random.default_rng(7)
    if kind == "random":
        ev_a, ev_b = random_events(rng, 48, 30), random_events(rng, 48, 30)
    else:
        ev_a, ev_b = jet_events(48, 30, seed=1), jet_events(48, 30, seed=2)
    exact = paired_emds(ev_a, ev_b, n_jobs=1)
    t_a, t_b = torch.tensor(ev_a, dtype=torch.float32), torch.tensor(ev_b, dtype=torch.float32)
    approx = sinkhorn_emd(t_a[..., 0], t_a[..., 1:], t_b[..., 0], t_b[..., 1:], R=R).numpy()
    rel = np.abs(approx - exact) / exact
    assert np.median(rel) <= 0.01
    assert np.max(rel) <= 0.05
    # the value is a dual (lower) bound: never above the exact EMD beyond float32 rounding
    assert np.all(approx <= exact * (1 + 1e-5) + 1e-3)


def test_sinkhorn_symmetric_and_batch_equals_single() -> None:
    ev = jet_events(8, 12, seed=4)
    t = torch.tensor(ev)
    w, x = t[..., 0], t[..., 1:]
    ab = sinkhorn_emd(w[:4], x[:4], w[4:], x[4:])
    ba = sinkhorn_emd(w[4:], x[4:], w[:4], x[:4])
    torch.testing.assert_close(ab, ba, rtol=0.01, atol=1e-3)
    single = torch.cat([sinkhorn_emd(w[i : i + 1], x[i : i + 1], w[4 + i : 5 + i], x[4 + i : 5 + i])
                        for i in range(4)])
    torch.testing.assert_close(ab, single, rtol=1e-9, atol=1e-9)


def test_padding_changes_nothing() -> None:
    rng = np.random.default_rng(5)
    ev_a, ev_b = jet_events(2, 10, seed=6)
    padded_a = np.concatenate([ev_a, np.zeros((5, 3))])
    padded_a[10:, 1:] = rng.normal(0, 0.5, (5, 2))  # padding at odd places, weight 0
    assert emd(padded_a, ev_b) == pytest.approx(emd(ev_a, ev_b), rel=1e-12)
    assert pairwise_emds(padded_a[None], ev_b[None])[0, 0] == pytest.approx(emd(ev_a, ev_b))

    w_a, x_a = as_batch(ev_a)
    w_b, x_b = as_batch(ev_b)
    w_p, x_p = as_batch(padded_a)
    plain = sinkhorn_emd(w_a, x_a, w_b, x_b)
    torch.testing.assert_close(sinkhorn_emd(w_p, x_p, w_b, x_b), plain)
    # an explicit mask hides a padded particle even if it carries weight
    w_masked = w_p.clone()
    w_masked[0, 12] = 99.0
    mask = w_p > 0
    torch.testing.assert_close(sinkhorn_emd(w_masked, x_p, w_b, x_b, mask_a=mask), plain)


def test_gradient_flows_and_matches_finite_differences() -> None:
    ev_a = event((50, 0, 0), (30, 0.3, 0.1), (20, -0.2, 0.25))
    ev_b = event((45, 0.05, 0.02), (40, 0.2, 0.3))
    (w_a, x_a), (w_b, x_b) = as_batch(ev_a), as_batch(ev_b)
    inputs = [v.clone().requires_grad_(True) for v in (w_a, x_a, w_b, x_b)]
    sinkhorn_emd(*inputs).sum().backward()

    def exact_of(arrays: list[np.ndarray]) -> float:
        return emd(np.c_[arrays[0], arrays[1]], np.c_[arrays[2], arrays[3]])

    base = [v[0].numpy() for v in (w_a, x_a, w_b, x_b)]
    h = 1e-5
    for k, tensor in enumerate(inputs):
        grad = tensor.grad[0].numpy()
        assert np.isfinite(grad).all() and np.abs(grad).max() > 0
        # the gradient is the exact EMD's (plan and dual potentials) up to the entropic blur
        fd = np.zeros_like(base[k])
        for idx in np.ndindex(base[k].shape):
            up = [b.copy() for b in base]
            down = [b.copy() for b in base]
            up[k][idx] += h
            down[k][idx] -= h
            fd[idx] = (exact_of(up) - exact_of(down)) / (2 * h)
        scale = np.abs(fd).max()
        np.testing.assert_allclose(grad, fd, atol=0.05 * scale)


def test_a_step_against_the_gradient_lowers_the_exact_emd() -> None:
    ev_a, ev_b = jet_events(6, 12, seed=16), jet_events(6, 12, seed=17)
    t_b = torch.tensor(ev_b)
    w_b, x_b = t_b[..., 0].clone().requires_grad_(True), t_b[..., 1:].clone().requires_grad_(True)
    t_a = torch.tensor(ev_a)
    sinkhorn_emd(t_a[..., 0], t_a[..., 1:], w_b, x_b).sum().backward()
    before = paired_emds(ev_a, ev_b, n_jobs=1)
    moved = ev_b.copy()
    # positions move ≤ 0.01, weights ≤ 1 GeV, each along its own steepest descent
    moved[..., 1:] -= 0.01 * (x_b.grad / x_b.grad.abs().amax((1, 2), keepdim=True)).numpy()
    moved[..., 0] -= (w_b.grad / w_b.grad.abs().amax(1, keepdim=True)).numpy()
    moved[..., 0] = np.where(ev_b[..., 0] > 0, np.maximum(moved[..., 0], 0.0), 0.0)
    assert (paired_emds(ev_a, moved, n_jobs=1) < before).all()


def test_gradient_reaches_every_input_in_a_batch() -> None:
    t = torch.tensor(jet_events(6, 10, seed=8), dtype=torch.float32)
    w, x = t[..., 0].clone().requires_grad_(True), t[..., 1:].clone().requires_grad_(True)
    sinkhorn_emd(w[:3], x[:3], w[3:], x[3:]).sum().backward()
    real = t[..., 0] > 0
    assert torch.isfinite(w.grad).all() and torch.isfinite(x.grad).all()
    assert (w.grad[real] != 0).any() and (x.grad[real] != 0).any()
    assert (x.grad[~real] == 0).all()  # padding has no plan, so its position has no gradient


def test_half_precision_and_autocast_inputs_are_computed_in_float32() -> None:
    t = torch.tensor(jet_events(4, 10, seed=15), dtype=torch.float32)
    w, x = t[..., 0], t[..., 1:]
    reference = sinkhorn_emd(w[:2], x[:2], w[2:], x[2:])
    x_half = x.half().requires_grad_(True)
    out = sinkhorn_emd(w[:2].half(), x_half[:2], w[2:].half(), x_half[2:])
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, reference, rtol=0.01, atol=0.0)
    out.sum().backward()
    assert torch.isfinite(x_half.grad).all()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        torch.testing.assert_close(sinkhorn_emd(w[:2], x[:2], w[2:], x[2:]), reference)


@pytest.mark.parametrize("scale_b", [1.0, 0.7, 1.3])
def test_plan_marginals_equal_the_weights(scale_b: float) -> None:
    ev_a = jet_events(3, 10, seed=9)
    ev_b = jet_events(3, 10, seed=10) * [scale_b, 1, 1]
    t_a, t_b = torch.tensor(ev_a), torch.tensor(ev_b)
    value, plan = sinkhorn_plan(t_a[..., 0], t_a[..., 1:], t_b[..., 0], t_b[..., 1:])
    torch.testing.assert_close(value, sinkhorn_emd(t_a[..., 0], t_a[..., 1:], t_b[..., 0],
                                                   t_b[..., 1:]))
    rows, cols = plan.sum(2), plan.sum(1)
    e_a, e_b = t_a[..., 0].sum(1), t_b[..., 0].sum(1)
    for i in range(3):
        lighter_rows = bool(e_a[i] <= e_b[i])
        full, partial = (rows[i], cols[i]) if lighter_rows else (cols[i], rows[i])
        w_full = t_a[i, :, 0] if lighter_rows else t_b[i, :, 0]
        w_partial = t_b[i, :, 0] if lighter_rows else t_a[i, :, 0]
        torch.testing.assert_close(full, w_full, rtol=1e-9, atol=1e-9)
        assert (partial <= w_partial + 1e-9).all()
        # total flow = min(ΣE, ΣE') as in the definition
        torch.testing.assert_close(plan[i].sum(), torch.minimum(e_a[i], e_b[i]))
    assert (plan >= 0).all()


def test_float32_solver_matches_float64_and_survives_vanishing_weights() -> None:
    # decoded jets (a softmax) carry particles of almost no weight: after a drop of ε their
    # kernel rows nearly vanish, which overflowed float32 scalings into NaN before they
    # were bounded
    ev_a = jet_events(64, 20, seed=21)
    ev_b = jet_events(64, 20, seed=22)
    ev_b[:, 10:, 0] = ev_b[:, :1, 0] * np.logspace(-12, -40, 10)  # GeV, down to 1e-40 × pT
    exact = paired_emds(ev_a, ev_b, n_jobs=1)
    t_a, t_b = torch.tensor(ev_a, dtype=torch.float32), torch.tensor(ev_b, dtype=torch.float32)
    args = (t_a[..., 0], t_a[..., 1:], t_b[..., 0], t_b[..., 1:])
    single = sinkhorn_emd(*args, solver_dtype=torch.float32)
    torch.testing.assert_close(single, sinkhorn_emd(*args), rtol=1e-3, atol=1e-3)
    # at the slider's settings (ε = 0.01, 32 iterations) float32 stays close to exact
    fast = sinkhorn_emd(*args, eps=0.01, n_iter=32, solver_dtype=torch.float32).numpy()
    rel = np.abs(fast - exact) / exact
    assert np.isfinite(fast).all()
    assert np.median(rel) <= 0.01
    assert rel.max() <= 0.05


def test_sinkhorn_rejects_bad_shapes() -> None:
    w, x = torch.ones(2, 3), torch.zeros(2, 3, 2)
    with pytest.raises(ValueError, match=r"\(B, P, 2\)"):
        sinkhorn_emd(w, x[..., :1], w, x)
    with pytest.raises(ValueError, match="batch sizes"):
        sinkhorn_emd(w, x, w[:1], x[:1])


def test_pairwise_symmetric_zero_diagonal_parallel_equals_serial() -> None:
    jets = make_jetset(14, 10, seed=11)
    serial = pairwise_emds(jets, n_jobs=1)
    parallel = pairwise_emds(jets, n_jobs=2)
    np.testing.assert_array_equal(parallel, serial)
    np.testing.assert_array_equal(serial, serial.T)
    np.testing.assert_array_equal(np.diag(serial), 0.0)
    assert (serial[~np.eye(14, dtype=bool)] > 0).all()
    ev = events_from_jets(jets)
    assert serial[2, 9] == pytest.approx(emd(ev[2], ev[9]), rel=1e-12)


def test_pairwise_two_sets_and_paired() -> None:
    ev_a, ev_b = jet_events(5, 10, seed=12), jet_events(7, 8, seed=13)
    full = pairwise_emds(ev_a, ev_b, n_jobs=2)
    assert full.shape == (5, 7)
    np.testing.assert_allclose(full, pairwise_emds(ev_b, ev_a, n_jobs=1).T, rtol=1e-12)
    np.testing.assert_allclose(full[1, 3], emd(ev_a[1], ev_b[3]), rtol=1e-12)
    diag = paired_emds(ev_a, ev_b[:5], n_jobs=2)
    np.testing.assert_allclose(diag, np.diag(full[:, :5]), rtol=1e-12)
    np.testing.assert_array_equal(diag, paired_emds(ev_a, ev_b[:5], n_jobs=1))
    with pytest.raises(JetvizInputError, match="same length"):
        paired_emds(ev_a, ev_b)
    with pytest.raises(JetvizInputError, match=r"\(N, P, 3\)"):
        pairwise_emds(ev_a[0])


def test_events_from_jets_weights_are_gev() -> None:
    jets = make_jetset(4, 6, seed=14)
    ev = events_from_jets(jets)
    np.testing.assert_allclose(ev[..., 0].sum(1), jets.jets[:, 0], rtol=1e-5)
    assert (ev[~jets.mask] == 0).all()


# ------------------------------------------- exact solver vs POT, differentiable exact EMD


def perturbed_pairs(ev: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each event slightly changed: pT reweighted by 1–5 %, a shift of 0.001–0.05, a split."""
    out = ev.copy()
    real = out[..., 0] > 0
    for k in range(len(out)):
        idx = np.flatnonzero(real[k])
        kind = k % 3
        if kind == 0:
            out[k, idx, 0] *= 1 + rng.uniform(-0.05, 0.05, len(idx)).clip(-0.05, 0.05)
        elif kind == 1:
            i = rng.choice(idx)
            out[k, i, 1:] += rng.uniform(0.001, 0.05) * np.array([0.6, 0.8])
        else:
            i, free = idx[0], np.flatnonzero(~real[k])
            if len(free):
                out[k, free[0]] = out[k, i] * [0.5, 1, 1] + [0, 0.01, 0.0]
                out[k, i, 0] *= 0.5
    return out


@pytest.mark.parametrize("kind", ["random", "jets", "embedded jets", "perturbed"])
def test_exact_solver_agrees_with_pot(kind: str) -> None:
    rng = np.random.default_rng(19)
    if kind == "random":
        ev_a, ev_b = random_events(rng, 60, 30), random_events(rng, 60, 24)
    elif kind == "jets":
        ev_a, ev_b = jet_events(60, 30, seed=20), jet_events(60, 30, seed=21)
    elif kind == "embedded jets":
        from jetviz.paths import DEFAULT_JETS
        from jetviz.readers.store import read_jets

        if not DEFAULT_JETS.exists():
            pytest.skip("no embedded jets")
        jets = read_jets(DEFAULT_JETS)
        events = events_from_jets(jets.subset(rng.choice(len(jets), 120, replace=False)))
        ev_a, ev_b = events[:60], events[60:]
    else:
        ev_a = jet_events(60, 30, seed=22)
        ev_b = perturbed_pairs(ev_a, rng)
    pot = np.array([emd_pot(a, b) for a, b in zip(ev_a, ev_b, strict=True)])
    np.testing.assert_allclose(paired_emds(ev_a, ev_b, n_jobs=2), pot, rtol=0, atol=1e-9)
    full = pairwise_emds(ev_a[:12], ev_b[:9], n_jobs=2)
    for i, j in [(0, 0), (3, 7), (11, 8)]:
        assert abs(full[i, j] - emd_pot(ev_a[i], ev_b[j])) <= 1e-9


def torch_pair_batch(ev_a: np.ndarray, ev_b: np.ndarray) -> list[torch.Tensor]:
    t_a, t_b = torch.tensor(ev_a), torch.tensor(ev_b)
    return [t_a[..., 0], t_a[..., 1:], t_b[..., 0], t_b[..., 1:]]


def test_exact_emd_torch_equals_exact_and_is_never_negative() -> None:
    rng = np.random.default_rng(23)
    ev_a = jet_events(40, 20, seed=24)
    ev_b = perturbed_pairs(ev_a, rng)
    ev_b[::7] = ev_a[::7]  # identical jets: EMD 0 exactly
    value = exact_emd_torch(*torch_pair_batch(ev_a, ev_b), n_jobs=2).numpy()
    exact = np.array([emd_pot(a, b) for a, b in zip(ev_a, ev_b, strict=True)])
    np.testing.assert_allclose(value, exact, rtol=1e-9, atol=1e-9)
    assert (value >= 0).all()
    assert (value[::7] <= 1e-9).all()
    # unequal totals: the |ΣE − ΣE'| term as in the definition
    scaled = ev_b * [1.3, 1, 1]
    value = exact_emd_torch(*torch_pair_batch(ev_a, scaled)).numpy()
    exact = np.array([emd_pot(a, b) for a, b in zip(ev_a, scaled, strict=True)])
    np.testing.assert_allclose(value, exact, rtol=1e-9, atol=1e-9)


def test_sinkhorn_value_is_never_negative_on_near_identical_jets() -> None:
    rng = np.random.default_rng(25)
    ev_a = jet_events(30, 20, seed=26)
    ev_b = perturbed_pairs(ev_a, rng)
    out = sinkhorn_emd(*torch_pair_batch(ev_a, ev_b), eps=0.003, n_iter=32)
    assert (out >= 0).all()


def test_exact_emd_torch_gradient_matches_finite_differences() -> None:
    ev_a = event((50, 0, 0), (30, 0.3, 0.1), (20, -0.2, 0.25))
    ev_b = event((45, 0.05, 0.02), (40, 0.2, 0.3))
    (w_a, x_a), (w_b, x_b) = as_batch(ev_a), as_batch(ev_b)
    inputs = [v.clone().requires_grad_(True) for v in (w_a, x_a, w_b, x_b)]
    exact_emd_torch(*inputs).sum().backward()
    base = [v[0].numpy() for v in (w_a, x_a, w_b, x_b)]
    h = 1e-6
    for k, tensor in enumerate(inputs):
        grad = tensor.grad[0].numpy()
        assert np.isfinite(grad).all() and np.abs(grad).max() > 0
        fd = np.zeros_like(base[k])
        for idx in np.ndindex(base[k].shape):
            up, down = [b.copy() for b in base], [b.copy() for b in base]
            up[k][idx] += h
            down[k][idx] -= h
            fd[idx] = (emd_pot(np.c_[up[0], up[1]], np.c_[up[2], up[3]])
                       - emd_pot(np.c_[down[0], down[1]], np.c_[down[2], down[3]])) / (2 * h)
        np.testing.assert_allclose(grad, fd, atol=1e-4 * np.abs(fd).max())


def test_exact_emd_torch_gradient_reaches_a_decoder_like_batch() -> None:
    t = torch.tensor(jet_events(6, 10, seed=27), dtype=torch.float32)
    w, x = t[..., 0].clone().requires_grad_(True), t[..., 1:].clone().requires_grad_(True)
    out = exact_emd_torch(w[:3], x[:3], w[3:], x[3:])
    assert out.dtype == torch.float32
    out.sum().backward()
    real = t[..., 0] > 0
    assert torch.isfinite(w.grad).all() and torch.isfinite(x.grad).all()
    assert (x.grad[real] != 0).any() and (x.grad[~real] == 0).all()
