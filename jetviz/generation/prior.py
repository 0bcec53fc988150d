"""A normalizing-flow prior over a VAE's latent space, fitted to its aggregate posterior.

Talk 001 found that generating jets with z ~ N(0, 1) is poor and proposed a normalizing-flow
prior (Rezende & Mohamed arXiv:1505.05770; for jets, talk 004). The reason: the decoder was
trained on z drawn from the posteriors q(z | x) of the training jets, and their mixture, the
**aggregate posterior** q(z) = ⟨q(z | x)⟩_x, is not N(0, 1) — the less the KL is weighted
(small β), the farther from it. A flow p_ψ(z) fitted by maximum likelihood to samples
z = μ(x) + σ(x) ε of q(z) gives the decoder the latents it knows.

The flow is zuko's neural spline flow (``NSF``: monotonic rational-quadratic splines in
masked autoregressive transforms, Durkan et al. arXiv:1906.04032) or ``MAF`` (affine,
Papamakarios et al. arXiv:1705.07057), applied to standardised latents
u = (z − loc)/scale so that the splines' domain [−5, 5] covers the data:

    log p(z) = log p_flow((z − loc)/scale) − Σ_d log scale_d.

Sampling draws ε ~ N(0, 1) from a passed ``torch.Generator`` and inverts the flow, so a seed
fixes the sample.

A prior is saved as a directory: ``prior.safetensors`` (flow weights, loc, scale) and
``prior.json`` {"format": "jetviz-flow-prior", "version": 1, "config": FlowPriorConfig,
"record": fit history, the VAE it belongs to, β, classes, jet-pT quantiles, ...}.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import zuko
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from jetviz.errors import JetvizInputError
from jetviz.files import atomic_path

FORMAT = "jetviz-flow-prior"
VERSION = 1
WEIGHTS = "prior.safetensors"
CONFIG = "prior.json"
KINDS = ("nsf", "maf")


@dataclass(frozen=True)
class FlowPriorConfig:
    """Everything needed to rebuild the flow (saved in ``prior.json``)."""

    features: int  # D, the latent dimension of the VAE
    kind: str = "nsf"  # "nsf" (rational-quadratic splines) or "maf" (affine)
    transforms: int = 4  # autoregressive transforms (orders alternate)
    hidden: int = 64  # width of the hidden layers of each transform's MADE
    depth: int = 2  # hidden layers per MADE
    bins: int = 8  # spline bins (nsf only)
    # Sequential passes of each transform's inverse, i.e. of sampling: None = one per
    # feature (fully autoregressive, slowest to sample); 2 = a coupling transform, which
    # samples D/2 times faster for a little less flexibility per transform.
    passes: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise JetvizInputError(f"flow kind must be one of {KINDS}, got {self.kind!r}")
        if self.features < 1 or self.transforms < 1 or self.hidden < 1 or self.depth < 1:
            raise JetvizInputError(f"flow sizes must be ≥ 1, got {self}")
        if self.passes is not None and self.passes < 1:
            raise JetvizInputError(f"flow passes must be ≥ 1 or None, got {self.passes}")

    @classmethod
    def from_dict(cls, values: dict) -> FlowPriorConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise JetvizInputError(
                f"unknown FlowPriorConfig fields {unknown}; known {sorted(known)}")
        return cls(**values)


@dataclass(frozen=True)
class FitConfig:
    """How to fit a flow prior (saved in the record)."""

    epochs: int = 150  # passes over the latents (fresh ε each pass)
    batch_size: int = 512  # latents per step
    lr: float = 2e-3  # Adam learning rate (cosine decay to 5 %)
    val_fraction: float = 0.1  # jets held out to watch the log-likelihood
    patience: int = 25  # stop after this many epochs without a better validation NLL
    seed: int = 0  # seeds the split, the initial weights and the ε draws


class FlowPrior(nn.Module):
    """p(z) by a zuko flow on standardised latents. ``log_prob(z)`` (B,), ``sample(n, gen)``."""

    def __init__(self, config: FlowPriorConfig):
        super().__init__()
        self.config = config
        hidden = (config.hidden,) * config.depth
        if config.kind == "nsf":
            self.flow = zuko.flows.NSF(features=config.features, context=0,
                                       transforms=config.transforms, hidden_features=hidden,
                                       bins=config.bins, passes=config.passes)
        else:
            self.flow = zuko.flows.MAF(features=config.features, context=0,
                                       transforms=config.transforms, hidden_features=hidden,
                                       passes=config.passes)
        self.register_buffer("loc", torch.zeros(config.features))
        self.register_buffer("scale", torch.ones(config.features))

    def _check(self, z: torch.Tensor) -> None:
        if z.ndim != 2 or z.shape[1] != self.config.features:
            raise JetvizInputError(
                f"the flow prior is over {self.config.features} latent dimensions; got latents "
                f"of shape {tuple(z.shape)}")

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) in nats, (B,), for latents z (B, D)."""
        self._check(z)
        u = (z - self.loc) / self.scale
        return self.flow().log_prob(u) - torch.log(self.scale).sum()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n latents (n, D) drawn from the prior (ε from ``generator``, then the inverse flow)."""
        eps = torch.randn((n, self.config.features), generator=generator,
                          dtype=self.loc.dtype)
        dist = self.flow()
        # The base of zuko's flows is a standard normal; sampling = inverse transform of ε.
        u = dist.transform.inv(eps.to(self.loc.device))
        return u * self.scale + self.loc


def gaussian_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, 1) in nats, (B,): the standard VAE prior, for comparison."""
    return -0.5 * (z.square().sum(-1) + z.shape[-1] * math.log(2 * math.pi))


def fit_flow_prior(mu: np.ndarray, logvar: np.ndarray, config: FlowPriorConfig,
                   fit: FitConfig = FitConfig(), *,
                   callback: Callable[[int, dict], None] | None = None
                   ) -> tuple[FlowPrior, dict]:
    """Fit a flow by maximum likelihood to the aggregate posterior of jets.

    Each epoch draws fresh z = μ + σ ε for every training jet, so the flow fits the mixture
    ⟨q(z | x)⟩ itself, not a fixed set of points.

    Args:
        mu: (N, D) posterior means of the training jets (at the chosen β).
        logvar: (N, D) their posterior log-variances.
        config: the flow; ``config.features`` must be D.
        fit: optimisation settings.
        callback: called as ``callback(epoch, history_entry)`` after every epoch.

    Returns:
        (the prior in eval mode, the record: ``history`` per epoch with ``train_nll``,
        ``val_nll`` (nats per jet), ``best_epoch``, ``val_nll_gaussian`` of the same
        validation latents under N(0, 1), ``n_train``, ``n_val``, ``fit_config``).
    """
    mu = np.asarray(mu, dtype=np.float32)
    logvar = np.asarray(logvar, dtype=np.float32)
    if mu.ndim != 2 or mu.shape != logvar.shape or mu.shape[1] != config.features:
        raise JetvizInputError(f"expected mu and logvar (N, {config.features}), got {mu.shape} "
                               f"and {logvar.shape}")
    if not (np.isfinite(mu).all() and np.isfinite(logvar).all()):
        raise JetvizInputError("posterior means/log-variances contain NaN or inf")
    n = len(mu)
    n_val = max(1, round(n * fit.val_fraction))
    if n - n_val < 2:
        raise JetvizInputError(f"only {n} jets: too few to fit a flow prior (need ≥ 3)")
    gen = torch.Generator().manual_seed(fit.seed)
    perm = torch.randperm(n, generator=gen)
    mu_t, sd_t = torch.from_numpy(mu), torch.from_numpy(np.exp(0.5 * logvar))
    tr, va = perm[n_val:], perm[:n_val]
    val_z = mu_t[va] + sd_t[va] * torch.randn((n_val, config.features), generator=gen)
    torch.manual_seed(fit.seed)  # the flow's initial weights
    prior = FlowPrior(config)
    z_all = mu_t[tr] + sd_t[tr] * torch.randn((len(tr), config.features), generator=gen)
    prior.loc.copy_(z_all.mean(0))
    prior.scale.copy_(z_all.std(0).clamp_min(1e-3))
    best_state = {k: v.clone() for k, v in prior.state_dict().items()}
    optimizer = torch.optim.Adam(prior.flow.parameters(), lr=fit.lr)
    steps = max(1, math.ceil(len(tr) / fit.batch_size))
    record: dict = {"history": [], "best_epoch": -1, "best_val_nll": None,
                    "fit_config": asdict(fit), "n_train": len(tr), "n_val": n_val}
    bad = 0
    for epoch in range(fit.epochs):
        lr = fit.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * epoch / max(fit.epochs - 1, 1))))
        for group in optimizer.param_groups:
            group["lr"] = lr
        prior.train()
        order = tr[torch.randperm(len(tr), generator=gen)]
        z = mu_t[order] + sd_t[order] * torch.randn((len(order), config.features), generator=gen)
        total = 0.0
        for s in range(steps):
            batch = z[s * fit.batch_size:(s + 1) * fit.batch_size]
            loss = -prior.log_prob(batch).mean()
            if not torch.isfinite(loss):
                raise JetvizInputError(
                    f"flow prior fit diverged at epoch {epoch + 1} (NLL {float(loss)}); lower "
                    f"the learning rate (now {lr:g})")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(prior.flow.parameters(), 10.0)
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        prior.eval()
        with torch.no_grad():
            val_nll = float(-prior.log_prob(val_z).mean())
        entry = {"epoch": epoch + 1, "lr": lr, "train_nll": total / len(tr), "val_nll": val_nll}
        record["history"].append(entry)
        if record["best_val_nll"] is None or val_nll < record["best_val_nll"]:
            record.update(best_epoch=epoch, best_val_nll=val_nll)
            best_state = {k: v.clone() for k, v in prior.state_dict().items()}
            bad = 0
        else:
            bad += 1
        if callback is not None:
            callback(epoch, entry)
        if bad >= fit.patience:
            break
    prior.load_state_dict(best_state)
    prior.eval()
    record["val_nll_gaussian"] = float(-gaussian_log_prob(val_z).mean())
    return prior, record


def save_prior(directory: str | os.PathLike, prior: FlowPrior, record: dict) -> Path:
    """Write ``prior.safetensors`` and ``prior.json`` atomically into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_path(directory / WEIGHTS) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in prior.state_dict().items()},
                  str(tmp))
    payload = {"format": FORMAT, "version": VERSION, "config": asdict(prior.config),
               "record": record}
    with atomic_path(directory / CONFIG) as tmp:
        tmp.write_text(json.dumps(payload, indent=1, allow_nan=False))
    return directory


def read_prior_json(directory: str | os.PathLike) -> dict:
    """The parsed ``prior.json`` of a prior directory, checked for format and version."""
    path = Path(directory) / CONFIG
    if not path.is_file():
        raise JetvizInputError(f"{directory}: not a flow prior (no {CONFIG}); fit one with "
                               "`jetviz gen prior`")
    try:
        payload = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise JetvizInputError(f"{path}: corrupt flow-prior config, not valid JSON ({err}); "
                               "refit it with `jetviz gen prior`") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise JetvizInputError(f"{path}: expected a {FORMAT!r} file, found something else")
    if payload.get("version") != VERSION:
        raise JetvizInputError(f"{path}: flow-prior version {payload.get('version')} is not "
                               f"the supported version {VERSION}")
    return payload


def load_prior(directory: str | os.PathLike) -> tuple[FlowPrior, dict]:
    """Rebuild a prior from its directory (safetensors + JSON only): (prior, record)."""
    payload = read_prior_json(directory)
    try:
        config = FlowPriorConfig.from_dict(payload["config"])
    except (KeyError, TypeError) as err:
        raise JetvizInputError(f"{directory}: flow-prior config missing or malformed "
                               f"({err})") from err
    path = Path(directory) / WEIGHTS
    if not path.is_file():
        raise JetvizInputError(f"{path}: weights file missing; the prior is incomplete")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise JetvizInputError(f"{path}: corrupt safetensors weights ({err})") from err
    prior = FlowPrior(config)
    try:
        prior.load_state_dict(state)
    except RuntimeError as err:
        raise JetvizInputError(f"{path}: weights do not match the config "
                               f"({str(err).splitlines()[0]})") from err
    return prior.eval(), dict(payload.get("record") or {})
