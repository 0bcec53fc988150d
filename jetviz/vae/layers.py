"""The two MLPs the β-VAEs are built of: :class:`FiLMMLP` (hidden layers modulated by a
condition, the log β embedding) and :class:`MLP` (plain), both with a linear skip from input
to output. Shapes: (..., n_in) → (..., n_out). And :func:`posterior`, the encoders' last step
from their output to (μ, log σ²)."""

from __future__ import annotations

import itertools

import torch
from torch import nn


class FiLMMLP(nn.Module):
    """An MLP whose hidden layers are modulated by a condition: h ← act(W h + b)·(1 + γ(c)) + δ(c).

    A linear skip from input to output is added (out = S x + MLP(x)): the linear part gives
    the VAE a precise PCA-like map at once, the MLP learns the curvature on top.
    With ``gate_skip`` the skip is modulated too, out = (1 + g(c))·S x + MLP(x), g linear in
    the condition and 0 at the start: at large β, where the optimal encoder encodes nothing
    (μ = 0) and the optimal decoder ignores z (it draws the mean jet), a plain skip would leak
    the input into the output at every β, and the MLP would have to cancel it exactly.
    With ``gate_input`` the input itself is scaled per coordinate first, x ← (1 + a(c))·x, a
    linear in the condition and 0 at the start: a decoder reading the latent z can then stop
    reading it at large β with one number per latent dimension, where otherwise every hidden
    unit's modulation would have to cancel z (jetviz.vae.flat, "Why the latent gate").
    Works on (..., in) inputs with a condition broadcastable to (..., cond_dim).
    """

    def __init__(self, n_in: int, n_hidden: int, n_out: int, depth: int, cond_dim: int,
                 gate_skip: bool = False, gate_input: bool = False):
        super().__init__()
        if depth < 2:
            raise ValueError(f"FiLMMLP needs depth ≥ 2, got {depth}")
        sizes = [n_in] + [n_hidden] * (depth - 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        self.film = nn.Linear(cond_dim, 2 * n_hidden * (depth - 1))
        # Start close to a plain MLP (γ, δ ≈ 0); small weights let gradients reach the embedding.
        nn.init.normal_(self.film.weight, std=0.01)
        nn.init.zeros_(self.film.bias)
        self.out = nn.Linear(n_hidden, n_out)
        self.skip = nn.Linear(n_in, n_out, bias=False)
        self.act = nn.SiLU()
        # zeros, made without drawing random numbers (the other layers start as without it)
        self.skip_gate = nn.ParameterDict({"weight": nn.Parameter(torch.zeros(n_out, cond_dim)),
                                           "bias": nn.Parameter(torch.zeros(n_out))}
                                          ) if gate_skip else None
        self.input_gate = nn.ParameterDict({"weight": nn.Parameter(torch.zeros(n_in, cond_dim)),
                                            "bias": nn.Parameter(torch.zeros(n_in))}
                                           ) if gate_input else None

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if self.input_gate is not None:
            x = x * (1 + nn.functional.linear(cond, self.input_gate["weight"],
                                              self.input_gate["bias"]))
        gamma_delta = self.film(cond).chunk(2 * len(self.layers), dim=-1)
        h = x
        for i, layer in enumerate(self.layers):
            h = self.act(layer(h)) * (1 + gamma_delta[2 * i]) + gamma_delta[2 * i + 1]
        skip = self.skip(x)
        if self.skip_gate is not None:
            gate = nn.functional.linear(cond, self.skip_gate["weight"], self.skip_gate["bias"])
            skip = skip * (1 + gate)
        return self.out(h) + skip


class MLP(nn.Module):
    """A plain MLP with the same linear skip as FiLMMLP (no conditioning)."""

    def __init__(self, n_in: int, n_hidden: int, n_out: int, depth: int):
        super().__init__()
        if depth < 2:
            raise ValueError(f"MLP needs depth ≥ 2, got {depth}")
        sizes = [n_in] + [n_hidden] * (depth - 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        self.out = nn.Linear(n_hidden, n_out)
        self.skip = nn.Linear(n_in, n_out, bias=False)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(x)) + self.skip(x)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations (..., n_hidden)."""
        h = x
        for layer in self.layers:
            h = self.act(layer(h))
        return h

    def pooled(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Σ_p weights[b, k, p] · MLP(x[b, p]), (B, K, n_out), for x (B, P, n_in).

        The output layer and the skip are linear, so they are applied after the sum (the
        same function, to float rounding, for a fraction of the work).
        """
        total = weights.sum(-1, keepdim=True)  # (B, K, 1): each pool's share of the bias
        return (torch.bmm(weights, self.hidden(x)) @ self.out.weight.T + total * self.out.bias
                + torch.bmm(weights, x) @ self.skip.weight.T)


CAP_SHARPNESS = 4.0  # k of the capped posterior: log σ² bends to 0 within |r| ≲ 1/k


def posterior(out: torch.Tensor, capped: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(μ, log σ²), each (B, D), from an encoder's output (B, 2D) = (m, r).

    Plain: μ = m, log σ² = r (clamped to [−30, 20]). ``capped`` (VAEConfig.capped_posterior):
    log σ² = −softplus(−k r)/k (k = ``CAP_SHARPNESS``; ≤ 0, → 0 for r ≫ 1/k) and
    μ = √(1 − σ²)·m, so a dimension whose r is positive carries almost nothing (KL → 0)
    whatever m is. For one direction of spread s the β-VAE optimum (KL = log(s/β) below
    β = s, 0 above) is m = x/s and r = 2 log(β/s): smooth in log β, where the plain posterior
    needs μ ∝ √(1 − β²/s²), which bends at β = s.
    """
    mu, raw = out.chunk(2, dim=-1)
    if not capped:
        return mu, raw.clamp(-30.0, 20.0)
    logvar = (-nn.functional.softplus(-CAP_SHARPNESS * raw) / CAP_SHARPNESS).clamp_min(-30.0)
    shrink = torch.sqrt((-torch.expm1(logvar)).clamp_min(1e-12))
    return shrink * mu, logvar
