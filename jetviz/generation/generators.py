"""Jet generators: a trained VAE decoder fed latents from a prior (talk 001).

Vocabulary
----------
A **generator** is (VAE checkpoint, β, prior). It draws z ~ prior, decodes x̂ = decoder(z, β)
into particles (n, P, 3) = (ptrel, etarel, phirel) in the VAE's prepared frame (centred,
rotated, flipped; ptrel from a softmax, summing to 1), and gives every jet a pT drawn from the
training jets' pT distribution (inverse CDF of 201 stored quantiles: the decoder works in
relative coordinates and knows nothing of the jet pT). A decoded particle carrying less than
``DECODED_PTREL_MIN`` of the jet pT counts as absent (the softmax is never exactly 0): it is
zeroed and masked out, so a generated jet has a multiplicity like a real one.

Priors: ``"gaussian"`` — z ~ N(0, 1), the VAE's own prior (talk 001's baseline);
``"flow"`` — z ~ a normalizing flow fitted to the aggregate posterior of the training jets at
that β (:mod:`jetviz.generation.prior`, the talk's proposed next step).

Shipped layout: every directory ``checkpoints/gen_*/`` holding a flow prior
(``flow/prior.json``) defines two generators, the Gaussian and the flow one, at the β the flow
was fitted at; ``prior.json``'s record names the VAE directory (relative to ``checkpoints/``),
β, the classes and the jet-pT quantiles. :func:`list_generators` finds them.

True jets are compared in the same frame: :func:`prepared_truth` prepares real jets exactly as
the VAE's inputs are prepared (:func:`jetviz.vae.inputs.prepare_particles`).
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from jetviz.errors import JetvizInputError
from jetviz.generation.mass_mmd import MmdConfig, finetune
from jetviz.generation.prior import (
    FitConfig,
    FlowPrior,
    FlowPriorConfig,
    fit_flow_prior,
    load_prior,
    read_prior_json,
    save_prior,
)
from jetviz.jets import JetSet
from jetviz.paths import CHECKPOINTS
from jetviz.vae.checkpoint import load_checkpoint
from jetviz.vae.inputs import prepare_particles
from jetviz.vae.scan import DECODED_PTREL_MIN

PRIORS = ("gaussian", "flow")
PRIOR_LABELS = {"gaussian": "Gaussian prior N(0, 1)", "flow": "flow prior"}
LOSS_LABELS = {"sinkhorn": "EMD", "exact": "EMD (exact)", "chamfer": "Chamfer", "mse": "MSE",
               "sinkhorn+mmd": "EMD + mass-MMD", "exact+mmd": "EMD (exact) + mass-MMD"}
FLOW_DIR = "flow"  # the prior's subdirectory inside a gen_* directory
PT_QUANTILES = 201  # stored quantiles of the training jets' pT
DECODE_BATCH = 4096  # latents decoded per forward pass


@dataclass(frozen=True)
class GeneratorSpec:
    """One generator, as found on disk.

    Attributes:
        key: unique id, "<gen directory name>/<prior>".
        vae_dir: the VAE checkpoint directory.
        prior_dir: the flow prior directory (also holds β, classes and pT quantiles).
        prior: "gaussian" or "flow".
        beta: β [GeV] the decoder is conditioned on.
        classes: jet classes the VAE and prior were fitted to.
        loss: the VAE's reconstruction loss (sinkhorn, chamfer, mse, ...).
    """

    key: str
    vae_dir: Path
    prior_dir: Path
    prior: str
    beta: float
    classes: tuple[str, ...]
    loss: str

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
        jet_pt: (n,) float32 jet pT [GeV], drawn from the training jets' pT distribution.
    """

    particles: np.ndarray
    mask: np.ndarray
    jet_pt: np.ndarray

    def __len__(self) -> int:
        return int(self.particles.shape[0])


def _resolve(path: str, root: Path) -> Path:
    p = Path(path)
    return p if p.is_absolute() else root / p


def list_generators(root: str | os.PathLike = CHECKPOINTS) -> list[GeneratorSpec]:
    """All generators under ``root``: for each ``gen_*/flow/prior.json`` a Gaussian and a flow one.

    Directories whose files are unreadable or whose VAE is missing are skipped (they would
    fail on load); the list is sorted by key.
    """
    root = Path(root)
    specs: list[GeneratorSpec] = []
    for prior_json in sorted(root.glob(f"gen_*/{FLOW_DIR}/prior.json")):
        prior_dir = prior_json.parent
        try:
            record = read_prior_json(prior_dir)["record"]
            vae_dir = _resolve(record["vae"], root)
            beta, classes = float(record["beta"]), tuple(record["classes"])
            loss = str(record.get("loss", "sinkhorn"))
        except (JetvizInputError, KeyError, TypeError, ValueError):
            continue
        if not (vae_dir / "config.json").is_file():
            continue
        name = prior_dir.parent.name
        for prior in PRIORS:
            specs.append(GeneratorSpec(f"{name}/{prior}", vae_dir, prior_dir, prior, beta,
                                       classes, loss))
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


class Generator:
    """A loaded generator: ``sample(n, seed)`` → :class:`GeneratedJets`."""

    def __init__(self, spec: GeneratorSpec):
        self.spec = spec
        self.model, self.config, self.vae_record = load_checkpoint(spec.vae_dir)
        if self.config.data != "jets":
            raise JetvizInputError(f"{spec.vae_dir}: a generator needs a jet VAE, this is a "
                                   f"{self.config.data!r} model")
        self.prior: FlowPrior | None = None
        flow, self.prior_record = load_prior(spec.prior_dir)
        if flow.config.features != self.config.latent_dim:
            raise JetvizInputError(
                f"{spec.prior_dir}: the flow is over {flow.config.features} dimensions but the "
                f"VAE {spec.vae_dir} has {self.config.latent_dim}; refit it with "
                "`jetviz gen prior`")
        if spec.prior == "flow":
            self.prior = flow
        self.quantiles = np.asarray(self.prior_record["pt_quantiles"], dtype=np.float64)

    @property
    def radius(self) -> float:
        """The jet radius R of the VAE."""
        return float(self.config.radius)

    @torch.inference_mode()
    def latents(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n latents (n, D) from the prior."""
        if self.prior is None:
            return torch.randn((n, self.config.latent_dim), generator=generator)
        return self.prior.sample(n, generator)

    @torch.inference_mode()
    def decode(self, z: torch.Tensor, beta: float | None = None) -> np.ndarray:
        """Decode latents (n, D) at β (default the generator's): (n, P_out, 3) raw particles."""
        beta = self.spec.beta if beta is None else beta
        out = []
        for start in range(0, len(z), DECODE_BATCH):
            part = z[start:start + DECODE_BATCH]
            log_beta = torch.full((len(part),), math.log(beta))
            out.append(self.model.decode(part, log_beta).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.config.n_particles_out, 3),
                                                        np.float32)

    def sample(self, n: int, seed: int, beta: float | None = None) -> GeneratedJets:
        """n generated jets; the seed fixes latents and jet pT.

        Args:
            n: number of jets (≥ 1).
            seed: seeds a torch.Generator (latents) and a numpy Generator (jet pT).
            beta: decode at this β instead of the generator's (the flow was fitted at
                ``spec.beta``; elsewhere it is only approximately the aggregate posterior).
        """
        if n < 1:
            raise JetvizInputError(f"number of jets to generate must be ≥ 1, got {n}")
        z = self.latents(n, torch.Generator().manual_seed(seed))
        particles, mask = finish_decoded(self.decode(z, beta))
        jet_pt = sample_pt(self.quantiles, n, np.random.default_rng([seed, 1]))
        return GeneratedJets(particles, mask, jet_pt)


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


def vae_training_split(n: int, vae_record: dict) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices of the n jets a VAE was trained on, as ``jetviz train`` split.

    ``jetviz train`` holds out round(n · val_fraction) jets of a permutation seeded with the
    run's seed (jetviz.vae.train._split); this repeats it from the record.
    """
    tc = vae_record.get("train_config") or {}
    seed, fraction = int(tc.get("seed", 0)), float(tc.get("val_fraction", 0.1))
    perm = np.random.default_rng(seed).permutation(n)
    n_val = max(1, round(n * fraction))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


# ----------------------------------------------------------------------------- CLI


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``jetviz gen``."""
    sub = parser.add_subparsers(dest="gen_command", required=True)
    p = sub.add_parser("prior", help="fit a normalizing-flow prior to a VAE's aggregate "
                                     "posterior at one β (makes a Gaussian and a flow generator)")
    p.add_argument("--vae", required=True, help="VAE checkpoint directory (from jetviz train)")
    p.add_argument("--beta", type=float, required=True,
                   help="β [GeV] to generate at (a conditioned VAE: any β in its range)")
    p.add_argument("--out", required=True,
                   help="generator directory; the prior goes to <out>/flow (checkpoints/gen_*/ "
                        "are listed by the app)")
    p.add_argument("--data", default=None,
                   help="jet file (default: the embedded checkpoints/jets_default.h5)")
    p.add_argument("--classes", default=None,
                   help="comma-separated classes (default: those the VAE was trained on)")
    p.add_argument("--kind", choices=["nsf", "maf"], default="nsf")
    p.add_argument("--transforms", type=int, default=FlowPriorConfig.transforms)
    p.add_argument("--passes", type=int, default=None,
                   help="sequential passes per transform when sampling (default: one per latent "
                        "dimension, autoregressive; 2: coupling, much faster sampling)")
    p.add_argument("--hidden", type=int, default=FlowPriorConfig.hidden)
    p.add_argument("--epochs", type=int, default=FitConfig.epochs)
    p.add_argument("--lr", type=float, default=FitConfig.lr)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (0: torch's default); 1 lets runs share the cores")
    q = sub.add_parser("mmd", help="fine-tune a generator's decoder with an MMD term on the "
                                   "jet mass (talk 004); writes a new generator directory")
    q.add_argument("--gen", required=True, help="generator directory with a flow prior "
                                                "(e.g. checkpoints/gen_w_emd)")
    q.add_argument("--out", required=True, help="new generator directory (checkpoints/gen_*)")
    q.add_argument("--data", default=None, help="jet file (default: the embedded one)")
    q.add_argument("--weight", type=float, default=MmdConfig.weight, help="λ of the MMD² term")
    q.add_argument("--steps", type=int, default=MmdConfig.steps, help="optimizer steps")
    q.add_argument("--lr", type=float, default=MmdConfig.lr, help="Adam learning rate")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")


def _relative_to_checkpoints(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(CHECKPOINTS.resolve()))
    except ValueError:
        return str(path.resolve())


@torch.inference_mode()
def encode_jets(model, particles: np.ndarray, mask: np.ndarray, beta: float,
                batch_size: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and log-variances (N, D) of prepared jets at β."""
    mus, logvars = [], []
    for start in range(0, len(particles), batch_size):
        x = torch.from_numpy(particles[start:start + batch_size])
        m = torch.from_numpy(mask[start:start + batch_size])
        mu, logvar = model.encode(x, m, torch.full((len(x),), math.log(beta)))
        mus.append(mu.numpy())
        logvars.append(logvar.numpy())
    return np.concatenate(mus), np.concatenate(logvars)


def fit_generator_prior(vae_dir: str | os.PathLike, beta: float, out: str | os.PathLike, *,
                        jets: JetSet, classes: list[str] | None = None,
                        flow_config: dict | None = None, fit: FitConfig | None = None,
                        provenance: dict | None = None) -> dict:
    """Fit and save the flow prior of a generator; returns the saved record.

    The flow is fitted to the aggregate posterior at β of the VAE's *training* jets (the same
    split ``jetviz train`` made, see :func:`vae_training_split`); their pT quantiles are stored
    for sampling jet pT.
    """
    vae_dir = Path(vae_dir)
    model, config, vae_record = load_checkpoint(vae_dir)
    if config.data != "jets":
        raise JetvizInputError(f"{vae_dir}: a generator needs a jet VAE, not {config.data!r}")
    if not config.beta_min <= beta <= config.beta_max and config.conditioned:
        raise JetvizInputError(f"β = {beta} GeV is outside the VAE's range "
                               f"[{config.beta_min}, {config.beta_max}] GeV")
    classes = classes or list(vae_record.get("classes") or jets.class_names)
    chosen = select_classes(jets, classes)
    train_idx, _ = vae_training_split(len(chosen), vae_record)
    particles, mask, jet_pt = prepared_truth(chosen.subset(train_idx), config.n_particles_in)
    mu, logvar = encode_jets(model, particles, mask, beta)
    flow = FlowPriorConfig(features=config.latent_dim, **(flow_config or {}))
    prior, record = fit_flow_prior(mu, logvar, flow, fit or FitConfig())
    record.update({
        "vae": _relative_to_checkpoints(vae_dir), "beta": float(beta), "classes": classes,
        "loss": config.loss, "pt_quantiles": pt_quantiles(jet_pt), "n_jets": len(jet_pt),
        "fit_jets": "the VAE's training split (seed and val_fraction from its record)",
        "data_source": jets.source, **(provenance or {})})
    save_prior(Path(out) / FLOW_DIR, prior, record)
    return record


def tune_with_mass_mmd(gen_dir: str | os.PathLike, out: str | os.PathLike, *, jets: JetSet,
                       config: MmdConfig, provenance: dict | None = None,
                       progress=None) -> dict:
    """Fine-tune a generator's decoder with the mass MMD (:mod:`.mass_mmd`); save it.

    Writes ``out`` (VAE checkpoint with the tuned decoder) and ``out/flow`` (the untouched
    flow prior, its record pointing at ``out``); returns the tuned checkpoint's record.
    """
    from jetviz.vae.checkpoint import save_checkpoint

    prior_dir = Path(gen_dir) / FLOW_DIR
    prior_record = read_prior_json(prior_dir)["record"]
    spec = GeneratorSpec("", _resolve(prior_record["vae"], Path(gen_dir).parent), prior_dir, "flow",
                         float(prior_record["beta"]), tuple(prior_record["classes"]),
                         str(prior_record.get("loss", "sinkhorn")))
    gen = Generator(spec)
    chosen = select_classes(jets, spec.classes)
    train_idx, _ = vae_training_split(len(chosen), gen.vae_record)
    particles, mask, jet_pt = prepared_truth(chosen.subset(train_idx), gen.config.n_particles_in)
    model, run_record = finetune(gen.model, gen.prior, spec.beta, particles, mask, jet_pt,
                                 config, progress)
    record = {k: v for k, v in gen.vae_record.items() if k != "scan"}  # the scan is the old one
    record.update({"mass_mmd": run_record, "tuned_from": _relative_to_checkpoints(spec.vae_dir),
                   **(provenance or {})})
    save_checkpoint(out, model, gen.config, record)
    save_prior(Path(out) / FLOW_DIR, gen.prior,
               {**prior_record, "vae": _relative_to_checkpoints(Path(out)),
                "loss": f"{gen.config.loss}+mmd", **(provenance or {})})
    return record


def run(args: argparse.Namespace) -> int:
    """``jetviz gen prior`` (fit, save, print a summary) or ``jetviz gen mmd``."""
    import json
    import shlex
    import sys

    from jetviz.paths import DEFAULT_JETS
    from jetviz.readers import load_jets

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        path = args.data or str(DEFAULT_JETS)
        if not Path(path).is_file():
            raise JetvizInputError(f"{path}: no such jet file; pass --data")
        command = "jetviz gen " + " ".join(shlex.quote(a) for a in sys.argv[2:])
        if args.gen_command == "mmd":
            jets = load_jets(path)  # prepared_truth keeps the VAE's hardest P particles

            def report(step: int, means: dict) -> None:
                print(f"[mmd] step {step:5d}  " + "  ".join(f"{k} {v:.4g}" for k, v in
                                                            means.items()), flush=True)

            record = tune_with_mass_mmd(
                args.gen, args.out, jets=jets, provenance={"command": command},
                config=MmdConfig(weight=args.weight, steps=args.steps, lr=args.lr,
                                 seed=args.seed), progress=report)
            print(json.dumps({"out": args.out, "seconds": record["mass_mmd"]["seconds"]}))
            return 0
        model_config = load_checkpoint(args.vae)[1]
        jets = load_jets(path, n_particles=model_config.n_particles_in)
        classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
        record = fit_generator_prior(
            args.vae, args.beta, args.out, jets=jets, classes=classes,
            flow_config={"kind": args.kind, "transforms": args.transforms,
                         "hidden": args.hidden, "passes": args.passes},
            fit=FitConfig(epochs=args.epochs, lr=args.lr, seed=args.seed),
            provenance={"command": command})
    except JetvizInputError as err:
        print(f"jetviz gen: {err}", file=sys.stderr)
        return 2
    print(json.dumps({"out": args.out, "epochs": len(record["history"]),
                      "best_val_nll": record["best_val_nll"],
                      "val_nll_gaussian": record["val_nll_gaussian"],
                      "n_jets": record["n_jets"]}, indent=1))
    return 0
