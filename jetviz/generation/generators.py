"""Jet generators: a trained VAE decoder fed latents from a prior (talk 001).

Vocabulary
----------
A **generator** is (VAE checkpoint, β, prior). It draws z ~ prior, decodes x̂ = decoder(z, β)
into particles (n, P, 3) = (ptrel, etarel, phirel) in the VAE's prepared frame (centred,
rotated, flipped; ptrel from a softmax, summing to 1), and gives every jet a pT: drawn with z
from a joint (z, log pT) flow prior, or else from the training jets' pT distribution (inverse
CDF of 201 stored quantiles) independently of z — the decoder works in relative coordinates and
knows nothing of the jet pT. A decoded particle carrying less than
``DECODED_PTREL_MIN`` of the jet pT counts as absent (the softmax is never exactly 0): it is
zeroed and masked out, so a generated jet has a multiplicity like a real one.

Priors: ``"gaussian"`` — z ~ N(0, 1), the VAE's own prior (talk 001's baseline);
``"flow"`` — z ~ a normalizing flow fitted to the aggregate posterior of the training jets at
that β (:mod:`jetviz.generation.prior`, the talk's proposed next step); a joint flow
(``FlowPriorConfig.joint_pt``) draws (z, log pT) together, so that a resonance's m/pT falls
with pT as in the data and its mass in GeV stays sharp.

On disk: every "generator" checkpoint (:mod:`jetviz.generation.checkpoint`: the VAE, and its
flow prior in ``flow/``) defines two generators, the Gaussian and the flow one, at the β the
flow was fitted at; the flow's record holds β, the classes and the jet-pT quantiles.
:func:`list_generators` finds them through the registry (:func:`jetviz.checkpoints.find`).
Fitting a flow is :mod:`jetviz.generation.prior_train`; fine-tuning a decoder with the mass
MMD is :mod:`jetviz.generation.mass_mmd`.

True jets are compared in the same frame: :func:`prepared_truth` prepares real jets exactly as
the VAE's inputs are prepared (:func:`jetviz.vae.inputs.prepare_particles`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from jetviz import checkpoints
from jetviz.errors import JetvizInputError
from jetviz.generation.checkpoint import FLOW_DIR, KIND, load_prior, load_vae, prior_record
from jetviz.generation.prior import FlowPrior, check_temperature
from jetviz.jets import JetSet
from jetviz.paths import CHECKPOINTS
from jetviz.readers.stream import held_out_chunk_ids
from jetviz.vae.inputs import prepare_particles
from jetviz.vae.model import log_beta_column
from jetviz.vae.scan import DECODED_PTREL_MIN

PRIORS = ("gaussian", "flow")
PRIOR_LABELS = {"gaussian": "Gaussian prior N(0, 1)", "flow": "flow prior"}
LOSS_LABELS = {"sinkhorn": "EMD", "exact": "EMD (exact)", "chamfer": "Chamfer", "mse": "MSE",
               "mse+jet": "MSE + jet pT, mass",
               "sinkhorn+mmd": "EMD + mass-MMD", "exact+mmd": "EMD (exact) + mass-MMD"}
PT_QUANTILES = 201  # stored quantiles of the training jets' pT
DECODE_BATCH = 4096  # latents decoded per forward pass
ENCODE_BATCH = 2000  # jets encoded per forward pass


@dataclass(frozen=True)
class GeneratorSpec:
    """One generator, as found on disk.

    Attributes:
        key: unique id, "<generator directory name>/<prior>".
        directory: the generator checkpoint (its VAE; the flow prior in ``flow/``).
        prior: "gaussian" or "flow".
        beta: β [GeV] the decoder is conditioned on.
        classes: jet classes the VAE and prior were fitted to.
        loss: the VAE's reconstruction loss (sinkhorn, chamfer, mse, ...).
        stamp: newest modification time of its weights [ns] (part of every cache key).
    """

    key: str
    directory: Path
    prior: str
    beta: float
    classes: tuple[str, ...]
    loss: str
    stamp: int = 0

    @property
    def prior_dir(self) -> Path:
        """The flow prior's checkpoint (also holds β, classes and pT quantiles)."""
        return self.directory / FLOW_DIR

    @property
    def label(self) -> str:
        """What a user sees, e.g. "g · EMD VAE · flow prior · β = 20 GeV"."""
        classes = "mixed" if len(self.classes) > 1 else self.classes[0]
        loss = LOSS_LABELS.get(self.loss, self.loss)
        return f"{classes} · {loss} VAE · {PRIOR_LABELS[self.prior]} · β = {self.beta:g} GeV"


@dataclass(frozen=True)
class GeneratedJets:
    """Generated jets.

    Attributes:
        particles: (n, P, 3) float32 (ptrel, etarel, phirel), sorted by ptrel, absent rows 0.
        mask: (n, P) bool, True for a particle with ptrel > DECODED_PTREL_MIN.
        jet_pt: (n,) float32 jet pT [GeV], from the joint flow prior or the training jets'
            pT distribution.
    """

    particles: np.ndarray
    mask: np.ndarray
    jet_pt: np.ndarray

    def __len__(self) -> int:
        return int(self.particles.shape[0])


def _weights_stamp(directory: Path) -> int:
    files = [directory / "model.safetensors", directory / FLOW_DIR / "model.safetensors"]
    return max((f.stat().st_mtime_ns for f in files if f.exists()), default=0)


def generator_specs(directory: str | os.PathLike, name: str | None = None
                    ) -> list[GeneratorSpec]:
    """The Gaussian and the flow generator of one generator checkpoint (keys "<name>/<prior>",
    ``name`` defaulting to the directory's name).

    Raises:
        JetvizInputError: its flow prior is missing, unreadable or lacks β or classes.
    """
    directory = Path(directory)
    record = prior_record(directory / FLOW_DIR)
    try:
        beta, classes = float(record["beta"]), tuple(record["classes"])
    except (KeyError, TypeError, ValueError) as err:
        raise JetvizInputError(f"{directory / FLOW_DIR}: the flow prior's record lacks β or its "
                               f"classes ({err}); refit it with `jetviz gen prior`") from err
    loss, stamp = str(record.get("loss", "sinkhorn")), _weights_stamp(directory)
    name = directory.name if name is None else name
    return [GeneratorSpec(f"{name}/{prior}", directory, prior, beta, classes, loss, stamp)
            for prior in PRIORS]


def list_generators(root: str | os.PathLike = CHECKPOINTS) -> list[GeneratorSpec]:
    """All generators under ``root``: for each "generator" checkpoint a Gaussian and a flow one.

    Checkpoints whose flow prior is missing or unreadable are skipped (they would fail on
    load); shipped ones come first, each group sorted by name.
    """
    specs: list[GeneratorSpec] = []
    for entry in checkpoints.find(KIND, [root]):
        try:
            specs += generator_specs(entry.path, entry.name)
        except JetvizInputError:
            continue
    return specs


def pt_quantiles(jet_pt: np.ndarray, n: int = PT_QUANTILES) -> list[float]:
    """Quantiles (n,) of the jet pT at levels linspace(0, 1, n), to sample pT from later."""
    jet_pt = np.asarray(jet_pt, dtype=np.float64)
    if jet_pt.size == 0 or not np.isfinite(jet_pt).all():
        raise JetvizInputError("jet pT quantiles need a non-empty, finite set of jet pT")
    return np.quantile(jet_pt, np.linspace(0, 1, n)).tolist()


def sample_pt(quantiles: np.ndarray | list[float], n: int, rng: np.random.Generator) -> np.ndarray:
    """n jet pT values by inverse-CDF sampling of the stored quantiles (linear between them)."""
    q = np.asarray(quantiles, dtype=np.float64)
    return np.interp(rng.random(n), np.linspace(0, 1, len(q)), q).astype(np.float32)


def finish_decoded(decoded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decoder output (n, P, 3) → (particles sorted by ptrel with absent rows zeroed, mask)."""
    order = np.argsort(-decoded[..., 0], axis=1, kind="stable")
    particles = np.take_along_axis(decoded, order[..., None], axis=1)
    mask = particles[..., 0] > DECODED_PTREL_MIN
    return (particles * mask[..., None]).astype(np.float32), mask


@torch.inference_mode()
def encode_jets(model, particles: np.ndarray, mask: np.ndarray, beta: float,
                batch_size: int = ENCODE_BATCH) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and log-variances (N, D) of prepared jets (N, P, 3), mask (N, P), at β."""
    mus, logvars = [], []
    for start in range(0, len(particles), batch_size):
        x = torch.from_numpy(particles[start:start + batch_size])
        m = torch.from_numpy(mask[start:start + batch_size])
        mu, logvar = model.encode(x, m, log_beta_column(beta, len(x)))
        mus.append(mu.numpy())
        logvars.append(logvar.numpy())
    return np.concatenate(mus), np.concatenate(logvars)


class Generator:
    """A loaded generator: ``sample(n, seed)`` → :class:`GeneratedJets`."""

    def __init__(self, spec: GeneratorSpec):
        self.spec = spec
        self.model, self.config, self.vae_record = load_vae(spec.directory)
        if self.config.data != "jets":
            raise JetvizInputError(f"{spec.directory}: a generator needs a jet VAE, this is a "
                                   f"{self.config.data!r} model")
        self.prior: FlowPrior | None = None
        flow, self.prior_record = load_prior(spec.prior_dir)
        if flow.config.features != self.config.latent_dim:
            raise JetvizInputError(
                f"{spec.prior_dir}: the flow is over {flow.config.features} dimensions but the "
                f"VAE {spec.directory} has {self.config.latent_dim}; refit it with "
                "`jetviz gen prior`")
        self.flow = flow
        if spec.prior == "flow":
            self.prior = flow
        self.quantiles = np.asarray(self.prior_record["pt_quantiles"], dtype=np.float64)

    @property
    def radius(self) -> float:
        """The jet radius R of the VAE."""
        return float(self.config.radius)

    @property
    def joint_pt(self) -> bool:
        """True when the jet pT comes from the (joint) flow prior, not the pT quantiles."""
        return self.prior is not None and self.prior.config.joint_pt

    @torch.inference_mode()
    def latents(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n latents (n, D) from the prior."""
        return self.latents_and_log_pt(n, generator)[0]

    @torch.inference_mode()
    def latents_and_log_pt(self, n: int, generator: torch.Generator, temperature: float = 1.0
                           ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """n latents (n, D), and log(pT / GeV) (n,) drawn with them by a joint prior (else
        None); ``temperature`` T draws the Gaussian's z, or the flow's base ε, from N(0, T²)."""
        if self.prior is None:
            check_temperature(temperature)
            z = torch.randn((n, self.config.latent_dim), generator=generator)
            return z * temperature, None
        return self.prior.sample_joint(n, generator, temperature=temperature)

    @torch.inference_mode()
    def decode(self, z: torch.Tensor, beta: float | None = None) -> np.ndarray:
        """Decode latents (n, D) at β (default the generator's): (n, P_out, 3) raw particles."""
        beta = self.spec.beta if beta is None else beta
        out = []
        for start in range(0, len(z), DECODE_BATCH):
            part = z[start:start + DECODE_BATCH]
            out.append(self.model.decode(part, log_beta_column(beta, len(part))).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.config.n_particles_out, 3),
                                                        np.float32)

    def sample(self, n: int, seed: int, beta: float | None = None,
               temperature: float = 1.0) -> GeneratedJets:
        """n generated jets; the seed fixes latents and jet pT.

        Args:
            n: number of jets (≥ 1).
            seed: seeds a torch.Generator (latents, and pT of a joint prior) and a numpy
                Generator (jet pT from the quantiles otherwise).
            beta: decode at this β instead of the generator's (the flow was fitted at
                ``spec.beta``; elsewhere it is only approximately the aggregate posterior).
            temperature: scale of the prior's base draws (1: the prior itself; see
                :meth:`FlowPrior.sample_joint`).
        """
        if n < 1:
            raise JetvizInputError(f"number of jets to generate must be ≥ 1, got {n}")
        z, log_pt = self.latents_and_log_pt(n, torch.Generator().manual_seed(seed), temperature)
        particles, mask = finish_decoded(self.decode(z, beta))
        if log_pt is None:
            jet_pt = sample_pt(self.quantiles, n, np.random.default_rng([seed, 1]))
        else:
            jet_pt = log_pt.exp().numpy().astype(np.float32)
        return GeneratedJets(particles, mask, jet_pt)

    def reconstruct(self, particles: np.ndarray, mask: np.ndarray,
                    beta: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Reconstructions with z = μ(x) at β of prepared jets (N, P, 3), mask (N, P):
        (particles sorted by ptrel with absent rows zeroed, mask), as :meth:`sample` gives."""
        beta = self.spec.beta if beta is None else beta
        mu, _ = encode_jets(self.model, particles, mask, beta)
        return finish_decoded(self.decode(torch.from_numpy(mu), beta))


def select_classes(jets: JetSet, classes: tuple[str, ...] | list[str]) -> JetSet:
    """The jets of the given classes (all listed classes must exist in the set)."""
    keep = np.zeros(len(jets), dtype=bool)
    for name in classes:
        if name not in jets.class_names:
            raise JetvizInputError(f"{jets.source}: no class {name!r}; the classes are "
                                   f"{jets.class_names}")
        keep |= jets.labels == jets.class_names.index(name)
    if not keep.any():
        raise JetvizInputError(f"{jets.source}: no jets of classes {list(classes)}")
    return jets.subset(keep)


def prepared_truth(jets: JetSet, n_particles: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Real jets in the VAE's frame: (particles (N, P, 3), mask (N, P), jet pT (N,)).

    Args:
        jets: real jets with at least ``n_particles`` slots.
        n_particles: P of the VAE (the hardest P are kept, ptrel renormalised over them).
    """
    if jets.n_particles < n_particles:
        raise JetvizInputError(f"{jets.source}: the jets have {jets.n_particles} particle slots, "
                               f"the model needs {n_particles}")
    jets = jets.truncated(n_particles) if jets.n_particles > n_particles else jets
    return (prepare_particles(jets.particles, jets.mask), jets.mask.copy(),
            jets.jets[:, 0].astype(np.float32))


def vae_training_jets(jets: JetSet, classes: list[str], vae_record: dict) -> JetSet:
    """The jets of ``classes`` the VAE of ``vae_record`` trained on (its training split of
    ``jets``, see :func:`vae_training_split`); a VAE trained with ``--stream`` split its whole
    file by chunks, so ``jets`` must then be that file."""
    if vae_record.get("streamed"):
        return select_classes(jets.subset(vae_training_split(len(jets), vae_record)[0]),
                              classes)
    chosen = select_classes(jets, classes)
    return chosen.subset(vae_training_split(len(chosen), vae_record)[0])


def vae_training_split(n: int, vae_record: dict) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices of the n jets a VAE was trained on, as ``jetviz train`` split.

    ``jetviz train`` holds out round(n · val_fraction) jets of a permutation seeded with the
    run's seed (jetviz.vae.train._split); this repeats it from the record. A VAE trained with
    ``--stream`` held out whole chunks of its file instead
    (:func:`jetviz.readers.stream.held_out_chunk_ids`): the n jets must then be its whole file.
    """
    tc = vae_record.get("train_config") or {}
    seed, fraction = int(tc.get("seed", 0)), float(tc.get("val_fraction", 0.1))
    streamed = vae_record.get("streamed")
    if streamed:
        if n != vae_record.get("n_jets"):
            raise JetvizInputError(
                f"the VAE was trained with --stream on every jet of a {vae_record.get('n_jets')}"
                f"-jet file; pass that file with all its classes, not {n} jets")
        chunk_rows = int(streamed["chunk_rows"])
        chunk = np.arange(n) // chunk_rows
        val = np.isin(chunk, held_out_chunk_ids(tuple(range(int(chunk[-1]) + 1)), fraction,
                                                seed))
        return np.flatnonzero(~val), np.flatnonzero(val)
    perm = np.random.default_rng(seed).permutation(n)
    n_val = max(1, round(n * fraction))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])
