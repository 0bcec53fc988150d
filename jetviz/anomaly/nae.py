"""The normalized autoencoder: its loss, Langevin chains and replay buffer.

Math (Yoon, Noh, Park, arXiv:2105.05735; Dillon et al., arXiv:2206.14225). The AE's
reconstruction error E_θ(x) defines a Boltzmann density

    p_θ(x) = e^{−E_θ(x)/T} / Z_θ,      Z_θ = ∫ dx e^{−E_θ(x)/T},

and the negative log-likelihood of the data has the gradient

    ∇_θ ⟨−log p_θ⟩_data = (⟨∇_θ E_θ⟩_data − ⟨∇_θ E_θ⟩_{p_θ}) / T,

so the loss whose gradient this is (samples held fixed) is

    L = (⟨E_θ⟩_data − ⟨E_θ⟩_model) / T + γ ⟨E_θ²⟩_model + λ_w Σ w²,

the γ term keeping the negative energies from running away and λ_w a weight decay (the
paper: γ = 1, λ_w = 10⁻⁸). Model samples come from **Langevin dynamics**

    x_{t+1} = x_t − λ ∇_x E(x_t) + σ ε_t,      ε_t ~ N(0, 1),

which samples e^{−E/T_eff} with T_eff = σ²/(2λ) (here with the gradient's norm clipped per
sample, as in the paper's code). They run first in the latent space on E(D(z)) — z on the
unit sphere, re-projected after every step — then the decoded images run in pixel space
(clamped to [0, 1]). 95 % of the latent chains restart where an earlier chain ended (the
**replay buffer**), 5 % from a fresh uniform point on the sphere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from jetviz.anomaly.model import ConvAE
from jetviz.errors import JetvizInputError


@dataclass(frozen=True)
class SamplerConfig:
    """Langevin settings of the negative-sample chains (the paper's code in brackets: its
    shipped configs pretrained/gf1_convae_zdim3_{toptag,qcdtag}/jet_test.yml, QCD- and
    top-trained, in heidelberg-hepml/normalized-autoencoders).

    Attributes:
        z_steps, z_step_size, z_noise, z_clip: latent chain steps [30], λ_z [50 QCD-trained,
            0.1 top-trained], σ_z [0.01, 0.05], gradient-norm clip [0.01].
        x_steps, x_step_size, x_noise, x_clip: the same for the pixel chain [30, 50 / 100,
            10⁻⁴, 0.01; that code clips the pixel gradient per image row and adds a
            Metropolis–Hastings accept step to both chains, neither done here].
        buffer_size: latent points kept for restarts [10,000].
        replay_ratio: fraction of chains restarted from the buffer [0.95].
        x_normalise: after every pixel step, divide the image by its sum, so negatives live
            where the data do (images are pT-normalised: x ≥ 0, Σx = 1); the paper's code has
            this switch ("x_norm"), off in its configs.
    """

    z_steps: int = 20
    z_step_size: float = 10.0
    z_noise: float = 0.02
    z_clip: float = 0.01
    x_steps: int = 20
    x_step_size: float = 10.0
    x_noise: float = 1e-4
    x_clip: float = 0.01
    buffer_size: int = 10_000
    replay_ratio: float = 0.95
    x_normalise: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def clip_norm(g: torch.Tensor, max_norm: float) -> torch.Tensor:
    """Rescale each sample's gradient (first axis) to an L2 norm of at most ``max_norm``."""
    norm = g.flatten(1).norm(dim=1).clamp_min(1e-30)
    scale = (max_norm / norm).clamp(max=1.0)
    return g * scale.view(-1, *([1] * (g.dim() - 1)))


def langevin(x0: torch.Tensor, energy: Callable[[torch.Tensor], torch.Tensor], steps: int,
             step_size: float, noise: float, generator: torch.Generator,
             clip: float | None = None,
             project: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Run ``steps`` Langevin steps x ← project(x − λ clip(∇E(x)) + σ ε) from x0.

    Args:
        x0: (B, ...) starting points.
        energy: maps (B, ...) to (B,) energies; differentiable in its input.
        steps, step_size, noise: number of steps, λ and σ.
        generator: the source of the noise ε (on x0's device).
        clip: clip each sample's gradient norm to this (None: no clip).
        project: applied after every step (onto the sphere, into [0, 1], ...).

    Returns:
        The chains' end points (B, ...), detached.
    """
    x = x0.detach().clone()
    for _ in range(steps):
        x.requires_grad_(True)
        (grad,) = torch.autograd.grad(energy(x).sum(), x)
        if clip is not None:
            grad = clip_norm(grad, clip)
        eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = (x.detach() - step_size * grad + noise * eps).detach()
        if project is not None:
            x = project(x)
    return x


class ReplayBuffer:
    """The last ``size`` latent chain end points, to restart chains from (persistent chains)."""

    def __init__(self, size: int, dim: int) -> None:
        self.size = size
        self.points = torch.empty(0, dim)

    def __len__(self) -> int:
        return len(self.points)

    def push(self, z: torch.Tensor) -> None:
        self.points = torch.cat([self.points, z.detach().cpu()])[-self.size:]

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        idx = torch.randint(len(self.points), (n,), generator=generator)
        return self.points[idx]


def uniform_sphere(n: int, dim: int, generator: torch.Generator) -> torch.Tensor:
    """n points uniform on the unit sphere in ``dim`` dimensions."""
    z = torch.randn(n, dim, generator=generator)
    return z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)


def sample_negatives(model: ConvAE, n: int, sampler: SamplerConfig, buffer: ReplayBuffer,
                     generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Negative samples: a latent chain, decode, a pixel chain (the paper's on-manifold init).

    The latent chains start from the buffer with probability ``replay_ratio`` (when it has
    points), else uniformly on the sphere; their end points are pushed back to the buffer.
    The model is put in eval mode while the chains run (no spectral-norm power iterations)
    and restored afterwards.

    Returns:
        {"z": (n, d) latent end points, "x0": (n, 1, n, n) their decoded images,
         "x": (n, 1, n, n) the pixel chains' end points — the negative samples}.
    """
    if n < 1:
        raise JetvizInputError(f"need at least one negative sample, got {n}")
    device = next(model.parameters()).device
    d = model.config.latent_dim
    fresh = uniform_sphere(n, d, generator)
    if len(buffer) > 0:
        replay = torch.rand(n, generator=generator) < sampler.replay_ratio
        fresh[replay] = buffer.draw(int(replay.sum()), generator)
    was_training = model.training
    model.eval()
    noise_gen = generator if device.type == "cpu" else torch.Generator(device).manual_seed(
        int(torch.randint(2**31, (1,), generator=generator)))
    try:
        z = langevin(model.project(fresh.to(device)), lambda z: model.energy(model.decode(z)),
                     sampler.z_steps, sampler.z_step_size, sampler.z_noise, noise_gen,
                     sampler.z_clip, model.project)
        with torch.no_grad():
            x0 = model.decode(z)
        if sampler.x_normalise:
            x0 = normalise_images(x0)
        x = langevin(x0, model.energy, sampler.x_steps, sampler.x_step_size, sampler.x_noise,
                     noise_gen, sampler.x_clip,
                     normalise_images if sampler.x_normalise else clamp_images)
    finally:
        model.train(was_training)
    buffer.push(z)
    return {"z": z, "x0": x0, "x": x}


def clamp_images(x: torch.Tensor) -> torch.Tensor:
    """Pixels into [0, 1] (the range of the decoder's sigmoid)."""
    return x.clamp(0.0, 1.0)


def normalise_images(x: torch.Tensor) -> torch.Tensor:
    """Pixels ≥ 0, each image divided by its sum (as the pT-normalised data)."""
    x = x.clamp_min(0.0)
    return x / x.flatten(1).sum(1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))


def nae_loss(e_data: torch.Tensor, e_model: torch.Tensor, temperature: float = 1.0,
             gamma: float = 1.0) -> torch.Tensor:
    """L = (⟨E⟩_data − ⟨E⟩_model)/T + γ⟨E²⟩_model (the weight decay is added by the caller).

    Args:
        e_data: (B,) energies of training jets.
        e_model: (M,) energies of negative samples (the samples themselves detached).
    """
    return (e_data.mean() - e_model.mean()) / temperature + gamma * e_model.pow(2).mean()


def weight_norm(model: torch.nn.Module) -> torch.Tensor:
    """Σ w² over all parameters (the paper's L2 regulariser)."""
    return sum(p.pow(2).sum() for p in model.parameters())


def gradient_alignment(model: ConvAE, x_data: torch.Tensor, x_neg: torch.Tensor) -> dict:
    """How the two terms of the NAE loss pull on the weights θ: a diagnostic.

    The loss gradient is g_data − g_neg with g = ∇_θ⟨E⟩ over training jets and negatives.
    When cos(g_data, g_neg) is near 1 the terms nearly cancel: raising the negatives' energy
    raises the data's alike, and the NAE phase barely moves the model.

    Returns:
        {"e_data", "e_neg": mean energies, "g_data", "g_neg": the gradient norms,
         "cos": their cosine}.
    """
    params = [p for p in model.parameters() if p.requires_grad]

    def grad(x: torch.Tensor) -> tuple[float, torch.Tensor]:
        e = model.energy(x).mean()
        grads = torch.autograd.grad(e, params)
        return float(e.detach()), torch.cat([g.flatten() for g in grads])

    e_data, g_data = grad(x_data)
    e_neg, g_neg = grad(x_neg)
    cos = torch.nn.functional.cosine_similarity(g_data, g_neg, dim=0)
    return {"e_data": e_data, "e_neg": e_neg, "g_data": float(g_data.norm()),
            "g_neg": float(g_neg.norm()), "cos": float(cos)}
