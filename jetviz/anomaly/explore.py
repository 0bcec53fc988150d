"""What the Anomalies page shows, computed from a model and the jets in use.

Vocabulary: see :mod:`jetviz.anomaly`. A **group** is a set of classes shown as one
(``evaluate.GROUPS``: QCD = g + q, top, W, Z). The page scores the *test* jets of the file
a model trained on (``data.test_start``), or every jet of any other file; the comparison of
file name and size decides which (:func:`trained_on`). Everything here returns arrays for
the page's figures; nothing is drawn and nothing is cached here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from jetviz import checkpoints, roc
from jetviz.anomaly.batches import held_out_rows, streamed_test_start
from jetviz.anomaly.checkpoint import KIND, load_samples
from jetviz.anomaly.data import held_out_indices, model_images, test_start
from jetviz.anomaly.evaluate import GROUPS, score_images
from jetviz.anomaly.model import ConvAE
from jetviz.errors import JetvizInputError
from jetviz.jets import JetSet

MEAN_IMAGES_OF = 2000  # jets per group averaged for the mean input / reconstruction


@dataclass(frozen=True)
class Scored:
    """Jets of one file scored by one model.

    Attributes:
        index: (N,) indices into the jet set of the jets scored.
        scores: (N,) their energies E(x).
        groups: group name -> boolean mask (N,) over the jets scored (groups present only).
        mean_input, mean_recon: group -> average (n, n) input and reconstructed image.
        held_out: True when the file is the model's training file and only its test jets
            were scored.
    """

    index: np.ndarray
    scores: np.ndarray
    groups: dict[str, np.ndarray]
    mean_input: dict[str, np.ndarray]
    mean_recon: dict[str, np.ndarray]
    held_out: bool

    def by_group(self) -> dict[str, np.ndarray]:
        """group -> (N_g,) scores of its jets."""
        return {g: self.scores[m] for g, m in self.groups.items()}

    def most_anomalous(self) -> int:
        """The jet-set index of the highest-scoring jet."""
        return int(self.index[np.argmax(self.scores)])

    def jets_of(self, group: str, n: int) -> list[int]:
        """Jet-set indices of the first ``n`` scored jets of ``group``."""
        return [int(i) for i in self.index[self.groups[group]][:n]]

    def strip(self, per_group: int, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """group -> (scores, jet-set indices) of a fixed random subset of its jets, sorted by
        index: the clickable points under the score histogram."""
        rng = np.random.default_rng(seed)
        out = {}
        for group, mask in self.groups.items():
            where = np.flatnonzero(mask)
            pick = np.sort(rng.choice(where, size=min(per_group, where.size), replace=False))
            out[group] = (self.scores[pick], self.index[pick])
        return out


def trained_on(file_path: str, n_jets: int, record: dict) -> bool:
    """Is the file in use the one the model trained on (same name, same number of jets)?"""
    data = record.get("data", {})
    name = data.get("file_name") or Path(str(data.get("source", ""))).name
    return Path(file_path).name == name and n_jets == data.get("n_jets", n_jets)


@torch.inference_mode()
def score_file(model: ConvAE, train_config: dict, record: dict, jets: JetSet,
               file_path: str) -> Scored:
    """Score the jets of ``file_path`` (its test jets if the model trained on it), with the
    mean input and reconstructed image of each group."""
    held = trained_on(file_path, len(jets), record)
    streamed = record.get("data", {}).get("streamed")
    if held and streamed:  # the test jets of the chunks it held out
        rows = held_out_rows(len(jets), streamed)
        index = rows[held_out_indices(jets.subset(rows), streamed_test_start(train_config))]
    else:
        index = (held_out_indices(jets, test_start(train_config)) if held
                 else np.arange(len(jets)))
    images = model_images(jets.particles[index], jets.mask[index], model.config, jets.radius)
    scores = score_images(model, images)
    labels = jets.labels[index]
    groups, mean_in, mean_out = {}, {}, {}
    for group, classes in GROUPS.items():
        ks = [jets.class_names.index(c) for c in classes if c in jets.class_names]
        mask = np.isin(labels, ks)
        if not mask.any():
            continue
        groups[group] = mask
        sub = images[mask][:MEAN_IMAGES_OF]
        recon = model(torch.from_numpy(sub)).numpy()
        mean_in[group], mean_out[group] = sub.mean(0)[0], recon.mean(0)[0]
    return Scored(index, scores, groups, mean_in, mean_out, held)


@torch.inference_mode()
def jet_and_reconstruction(model: ConvAE, jets: JetSet, jet: int
                           ) -> tuple[np.ndarray, np.ndarray, float]:
    """One jet's (n, n) image, its reconstruction and its energy."""
    if not 0 <= jet < len(jets):
        raise JetvizInputError(f"jet {jet} is not in the set of {len(jets)} jets")
    image = model_images(jets.particles[jet:jet + 1], jets.mask[jet:jet + 1], model.config,
                         jets.radius)
    x = torch.from_numpy(image)
    return image[0, 0], model(x).numpy()[0, 0], float(model.energy(x)[0])


def rocs(scored: Scored, background: str
         ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, dict[str, float]]]:
    """(ROC curve (ε_S, ε_B), {"auc", "inv_eb_02", "inv_eb_05"}) of every signal group
    against the ``background`` group, from the scored jets."""
    scores = scored.by_group()
    bkg = scores[background]
    signals = [g for g in scores if g != background]
    return ({g: roc.roc_curve(scores[g], bkg) for g in signals},
            {g: roc.summary(scores[g], bkg) for g in signals})


def negative_images(directory: str | Path, n: int) -> list[np.ndarray]:
    """The first ``n`` stored negative samples of an NAE checkpoint as (n_pix, n_pix)
    images (none for an AE)."""
    samples = load_samples(directory)
    return [] if samples is None else [x[0].numpy() for x in samples["x"][:n]]


def stored_evaluations(root: str | Path) -> dict[tuple[str, str], dict]:
    """(method, background) -> the held-out evaluation stored in each anomaly checkpoint
    under ``root`` (:func:`jetviz.checkpoints.find`; the first by name wins)."""
    found: dict[tuple[str, str], dict] = {}
    for entry in checkpoints.find(KIND, [root]):
        try:
            payload = checkpoints.read_config(entry.path, KIND)
        except JetvizInputError:
            continue
        train, record = payload["config"].get("train", {}), payload.get("record") or {}
        key = (train.get("method"), train.get("background"))
        if "evaluation" in record and None not in key and key not in found:
            found[key] = record["evaluation"]
    return found
