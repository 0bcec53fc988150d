"""Reconstruction distances and the β-VAE loss (talk 000, Collins; talk 001 for Chamfer/MSE).

The β-VAE loss of one example is

    L = d(x, x̂)² / (2β²) + Σ_i KL_i,    KL_i = −½ (1 + log σ_i² − μ_i² − σ_i²),

with d a distance in GeV (jets) or data units (toy points) and β in the same units.
Multiplying by β² gives the equivalent, scale-stable form d²/2 + β² Σ_i KL_i ("gev2").
Every distance here returns d² per example, (B,), in GeV² for jets:

* ``exact`` (the default since the EMD work of issue 10): the energyflow EMD
  (arXiv:1902.02346), weights ptrel × jet pT, ground distance θ/R, solved exactly per pair
  (:func:`jetviz.emd.exact_emd_torch`, jetviz's transportation simplex); its gradient is the
  optimal plan and dual potentials. Never negative, exact at small distances, and about as
  fast as Sinkhorn on the CPU (benchmarks/emd.py part 3 prints both).
* ``sinkhorn``: the same EMD by log-domain Sinkhorn (:func:`jetviz.emd.sinkhorn_emd`), a
  lower bound that reads low on near-identical jets (benchmarks/emd.py); the shipped models
  were trained with it and keep it in their config.
* ``chamfer``: Σ_i min_j |X_i − X̂_j|² + Σ_j min_i |X_i − X̂_j|² over particle features
  X = (ptrel, etarel/R, phirel/R), plus weighted (pT_jet − p̂T_jet)² and (m_jet − m̂_jet)²
  terms in units of pT_jet (talk 001), all times pT_jet² so that d is in GeV.
* ``mse``: Σ over pT-ordered particle slots of |X_i − X̂_i|² (padding compared with zeros),
  plus the same weighted jet pT and mass terms (``mse_pt_weight``, ``mse_mass_weight``; 0, off,
  unless the config sets them), times pT_jet².
* ``euclidean``: |x − x̂|² for toy points.
"""

from __future__ import annotations

import torch

from jetviz.emd import exact_emd_torch, sinkhorn_emd
from jetviz.vae.model import VAEConfig


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) per latent dimension, (B, D) in nats."""
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar)


def jet_pt_mass(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Jet pT and mass in units of pT_jet from (B, P, 3) massless relative particles."""
    w, eta, phi = x[..., 0], x[..., 1], x[..., 2]
    e = (w * torch.cosh(eta)).sum(-1)
    px, py = (w * torch.cos(phi)).sum(-1), (w * torch.sin(phi)).sum(-1)
    pz = (w * torch.sinh(eta)).sum(-1)
    pt = torch.sqrt(px.square() + py.square() + 1e-12)
    m2 = e.square() - px.square() - py.square() - pz.square()
    return pt, torch.sqrt(m2.clamp_min(1e-12))


def _features(x: torch.Tensor, radius: float) -> torch.Tensor:
    return torch.cat([x[..., :1], x[..., 1:] / radius], dim=-1)


def emd_sinkhorn(x: torch.Tensor, mask: torch.Tensor, x_hat: torch.Tensor, jet_pt: torch.Tensor,
                 config: VAEConfig, *, eps: float | None = None, n_iter: int | None = None,
                 solver_dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Sinkhorn EMD (B,) in GeV between prepared jets (B, P, 3) and decoded jets (B, P_out, 3)."""
    pt = jet_pt[:, None]
    w_a = x[..., 0] * pt * mask
    w_b = x_hat[..., 0] * pt
    ones = torch.ones(x_hat.shape[:2], dtype=torch.bool, device=x_hat.device)
    return sinkhorn_emd(
        w_a, x[..., 1:], w_b, x_hat[..., 1:], R=config.radius,
        eps=config.sinkhorn_eps if eps is None else eps,
        n_iter=config.sinkhorn_iter if n_iter is None else n_iter,
        mask_a=mask, mask_b=ones, solver_dtype=solver_dtype)


def emd_exact(x: torch.Tensor, mask: torch.Tensor, x_hat: torch.Tensor, jet_pt: torch.Tensor,
              config: VAEConfig, *, n_jobs: int = 1) -> torch.Tensor:
    """Exact EMD (B,) in GeV between prepared and decoded jets, differentiable.

    :func:`jetviz.emd.exact_emd_torch`: the optimum of the EMD's linear program (never
    negative, exact at small distances), with the gradient of its Lagrangian at the optimal
    plan and dual potentials. Weights are ptrel × jet pT on both sides.
    """
    pt = jet_pt[:, None]
    ones = torch.ones(x_hat.shape[:2], dtype=torch.bool, device=x_hat.device)
    return exact_emd_torch(x[..., 0] * pt * mask, x[..., 1:], x_hat[..., 0] * pt,
                           x_hat[..., 1:], R=config.radius, mask_a=mask, mask_b=ones,
                           n_jobs=n_jobs)


def chamfer2(x: torch.Tensor, mask: torch.Tensor, x_hat: torch.Tensor, jet_pt: torch.Tensor,
             config: VAEConfig) -> torch.Tensor:
    """Chamfer distance² (+ jet pT and mass terms), (B,) in GeV² (talk 001)."""
    a, b = _features(x, config.radius), _features(x_hat, config.radius)
    d2 = (a[:, :, None, :] - b[:, None, :, :]).square().sum(-1)  # (B, P, P_out)
    big = torch.finfo(d2.dtype).max / 4
    d2_rows = torch.where(mask[:, :, None], d2, torch.full_like(d2, big))
    to_out = torch.where(mask, d2.min(2).values, torch.zeros_like(mask, dtype=d2.dtype)).sum(1)
    to_in = d2_rows.min(1).values.sum(1)
    terms = jet_terms(x, mask, x_hat, config.chamfer_pt_weight, config.chamfer_mass_weight)
    return (to_out + to_in + terms) * jet_pt.square()


def jet_terms(x: torch.Tensor, mask: torch.Tensor, x_hat: torch.Tensor, pt_weight: float,
              mass_weight: float) -> torch.Tensor:
    """pt_weight·(pT − p̂T)² + mass_weight·(m − m̂)² of the jets, (B,) in units of pT_jet²."""
    if not (pt_weight or mass_weight):
        return torch.zeros(x.shape[0], dtype=x_hat.dtype, device=x_hat.device)
    pt, m = jet_pt_mass(torch.where(mask[..., None], x, torch.zeros_like(x)))
    pt_hat, m_hat = jet_pt_mass(x_hat)
    return pt_weight * (pt - pt_hat).square() + mass_weight * (m - m_hat).square()


def mse2(x: torch.Tensor, mask: torch.Tensor, x_hat: torch.Tensor, jet_pt: torch.Tensor,
         config: VAEConfig) -> torch.Tensor:
    """Squared distance between pT-ordered particles (padding compared with 0), plus the
    config's jet pT and mass terms, (B,) in GeV²."""
    order = torch.argsort(x_hat[..., 0], dim=-1, descending=True)
    x_hat = torch.gather(x_hat, 1, order[..., None].expand_as(x_hat))
    p = min(x.shape[1], x_hat.shape[1])
    target = torch.where(mask[..., None], x, torch.zeros_like(x))
    diff = _features(target[:, :p], config.radius) - _features(x_hat[:, :p], config.radius)
    extra = x_hat[:, p:].square().sum((1, 2)) + target[:, p:].square().sum((1, 2))
    terms = jet_terms(x, mask, x_hat, config.mse_pt_weight, config.mse_mass_weight)
    return (diff.square().sum((1, 2)) + extra + terms) * jet_pt.square()


def distance2(x: torch.Tensor, mask: torch.Tensor | None, x_hat: torch.Tensor,
              jet_pt: torch.Tensor | None, config: VAEConfig) -> torch.Tensor:
    """Squared reconstruction distance d(x, x̂)², (B,), for the config's loss."""
    if config.loss == "euclidean":
        return (x - x_hat).square().sum(-1)
    if config.loss == "sinkhorn":
        return emd_sinkhorn(x, mask, x_hat, jet_pt, config).square()
    if config.loss == "exact":
        # the pairs' plans on as many threads as torch computes with (``--threads``)
        return emd_exact(x, mask, x_hat, jet_pt, config,
                         n_jobs=torch.get_num_threads()).square()
    if config.loss == "chamfer":
        return chamfer2(x, mask, x_hat, jet_pt, config)
    return mse2(x, mask, x_hat, jet_pt, config)


BALANCE_BINS = 20  # log-β bins of the running loss scale ("balanced" weighting)
BALANCE_MOMENTUM = 0.9  # running mean: new = momentum·old + (1 − momentum)·batch
DECODER_MIN_LOSS = 0.01  # nats: the decoder's weight ("balanced") is at most 1/this
BALANCE_FLOOR_FROM = 0.5  # VAEConfig.balance_floor holds from this fraction of training on


def balance_floor(config: VAEConfig, progress: float) -> float:
    """The floor (nats) of the "balanced" weighting's scale at ``progress`` (0 → 1) through
    training: ``config.balance_floor`` from BALANCE_FLOOR_FROM on, 1 nat before it and for a
    fixed-β model (one β: the weighting is a constant factor).

    A floor below 1 nat gives large β, where the loss is hundredths of a nat and the optimal
    encoder shuts (KL 0), the pull to shut it: 0.25 took a conditioned model's KL at 200 GeV
    from 0.007 to 0.0025 nats (benchmarks/vae_conditioning.py). From the start it shut the
    posterior at every β (KL 0.01 nats after 13 of 80 epochs): the small-β directions must be
    learnt first.
    """
    if not config.conditioned or progress < BALANCE_FLOOR_FROM:
        return 1.0
    return config.balance_floor


class RunningBalance:
    """The "balanced" weighting's scale: per bin of log β over the config's range, the running
    mean of the per-example loss d²/(2β²) + w·KL (nats, w the KL warm-up weight).

    ``values`` (BALANCE_BINS floats, 0 for a bin not seen yet) is the list kept in the
    training record; it is updated in place, so a resumed run continues it exactly.
    """

    def __init__(self, values: list[float], config: VAEConfig):
        if len(values) != BALANCE_BINS:
            raise ValueError(f"expected {BALANCE_BINS} running means, got {len(values)}")
        self.values = values
        self.log_beta_range = config.log_beta_range()
        self.floor = 1.0  # nats, the scale's floor now (training sets it: balance_floor)

    def bins(self, log_beta: torch.Tensor) -> torch.Tensor:
        """(B,) index of each example's log-β bin."""
        lo, hi = self.log_beta_range
        t = (log_beta.detach().cpu() - lo) / (hi - lo)
        return (t * BALANCE_BINS).long().clamp(0, BALANCE_BINS - 1)

    def decoder_weight(self, log_beta: torch.Tensor) -> torch.Tensor:
        """(B,) the factor on each example's gradient to the decoder: floor / its bin's
        running loss where that is below the floor of the objective's scale (so that the
        decoder's weight is 1 / the running loss, ≤ 1 / DECODER_MIN_LOSS, whatever the floor);
        1 elsewhere and in bins not seen yet.

        At large β the optimum encodes nothing and the loss is ≈ d²/(2β²) of a decoder that
        must draw the mean jet whatever z: hundredths of a nat, so with the 1-nat floor the
        decoder learned that from a gradient 20–100× weaker than at small β, and kept
        passing the latent noise on (benchmarks/vae_conditioning.py). The KL does not depend
        on the decoder, so this weight leaves the encoder's objective, floor and all, as it is.
        """
        means = torch.tensor(self.values, dtype=torch.float32)[self.bins(log_beta)]
        below = (means > 0) & (means < self.floor)
        return torch.where(below, self.floor / means.clamp_min(DECODER_MIN_LOSS),
                           torch.ones_like(means))

    def update(self, log_beta: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        """Fold a batch's per-example loss (B,) into the running means; return the mean of
        each example's bin after the update, (B,) float32 on ``loss``'s device."""
        bins = self.bins(log_beta)
        raw = loss.detach().cpu().double()
        for b in torch.unique(bins).tolist():
            batch_mean = float(raw[bins == b].mean())
            old = self.values[b]
            self.values[b] = batch_mean if old <= 0 else (
                BALANCE_MOMENTUM * old + (1 - BALANCE_MOMENTUM) * batch_mean)
        return torch.tensor(self.values, dtype=torch.float32)[bins].to(loss.device)


def beta_vae_loss(d2: torch.Tensor, kl: torch.Tensor, log_beta: torch.Tensor,
                  config: VAEConfig, kl_weight: float = 1.0,
                  balance: torch.Tensor | RunningBalance | None = None
                  ) -> dict[str, torch.Tensor]:
    """The β-VAE loss of a batch in both forms, and the objective that training minimises.

    Args:
        d2: (B,) squared reconstruction distance (GeV²).
        kl: (B, D) KL per dimension (nats).
        log_beta: (B,) log β per example (β in GeV).
        config: ``config.weighting`` picks the per-example objective: "balanced" minimises
            (d²/(2β²) + KL) / max(1, balance), i.e. the loss in nats over its running mean at
            similar β, floored at 1 nat (small β, where d²/(2β²) is hundreds of nats early
            on, no longer drown the KL of large β; at large β, where the optimum encodes
            nothing, a KL is not magnified either — normalising there by the tiny running
            mean collapses the posterior at every β); "nats" minimises d²/(2β²) + KL (small
            β dominate early in training); "gev2" minimises (d²/2 + β² KL)/β_max² (large β
            dominate). A positive factor per β does not move any β's optimum, and for one
            fixed β all three differ by a constant factor only.
        kl_weight: warm-up factor multiplying the KL (1 after warm-up).
        balance: (B,) the running mean of d²/(2β²) + KL (nats) near each example's β
            ("balanced"; None: 1), or a :class:`RunningBalance` that this batch updates
            first (whatever the weighting, so a resume may switch to "balanced").

    Returns:
        dict with ``objective`` (scalar to minimise), ``loss`` (B,) = d²/(2β²) + KL [nats],
        ``loss_gev2`` (B,) = d²/2 + β² KL [GeV²] and ``kl`` (B,) = Σ_i KL_i.
    """
    beta2 = torch.exp(2 * log_beta)
    kl_sum = kl.sum(-1)
    loss = d2 / (2 * beta2) + kl_sum
    loss_gev2 = d2 / 2 + beta2 * kl_sum
    floor = 1.0
    if isinstance(balance, RunningBalance):
        floor = balance.floor
        with torch.no_grad():
            balance = balance.update(log_beta, d2 / (2 * beta2) + kl_weight * kl_sum)
    if config.weighting == "balanced":
        scale = torch.ones_like(d2) if balance is None else balance.clamp_min(floor)
        objective = ((d2 / (2 * beta2) + kl_weight * kl_sum) / scale).mean()
    elif config.weighting == "nats":
        objective = (d2 / (2 * beta2) + kl_weight * kl_sum).mean()
    else:
        objective = ((d2 / 2 + kl_weight * beta2 * kl_sum) / config.beta_max**2).mean()
    return {"objective": objective, "loss": loss, "loss_gev2": loss_gev2, "kl": kl_sum}
