"""The JetCLR augmentation ablation: one encoder per augmentation set plus the supervised
ceiling, each judged on held-out jets; the table's bookkeeping; refitting the probes.

Each entry trains on the training jets of a seeded top-vs-QCD split (``jetviz.jetclr.split``)
and is scored on the held-out jets by AUC and 1/ε_B at ε_S = 0.5 (``jetviz.jetclr.roc``): a
contrastive encoder through its linear probe (``jetviz.jetclr.probe``), the ceiling by its
own logits. The table (``ablation.json``) sits beside the checkpoints it describes
(``jetviz.jetclr.checkpoint``); reruns at the same budget add rows to it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

import torch

from jetviz import checkpoints
from jetviz.device import dist_info, is_writer
from jetviz.errors import JetvizInputError
from jetviz.jetclr.augment import ABLATION_SETS
from jetviz.jetclr.checkpoint import (
    ABLATION,
    MAP,
    SHIPPED,
    load_encoder,
    load_map,
    load_results,
    save_encoder,
    stem,
    write_results,
)
from jetviz.jetclr.maps import map_of
from jetviz.jetclr.model import classifier_scores, represent
from jetviz.jetclr.probe import fit_probe
from jetviz.jetclr.roc import roc_summary
from jetviz.jetclr.split import BACKGROUND, SIGNAL, TopQcdSplit, top_qcd_split
from jetviz.jetclr.train import SUPERVISED, TrainConfig, train, train_streamed
from jetviz.jets import JetSet
from jetviz.readers import load_jets
from jetviz.readers.stream import JetStream

# The talk's linear-classifier table (talk 002; arXiv:2108.04253), name -> (1/ε_B, AUC).
REFERENCE: dict[str, tuple[float, float]] = {
    "none": (15.0, 0.905),
    "translations": (19.0, 0.916),
    "rotations": (21.0, 0.930),
    "soft + collinear": (89.0, 0.970),
    "all": (181.0, 0.980),
}
TEST_FRACTION = 0.2  # held-out fraction of each class
HELD_OUT_CHUNKS = 0.2  # streamed: fraction of the file's chunks held out (probe and test)


def _log(name: str) -> Callable[[int, float], None]:
    def report(step: int, loss: float) -> None:
        print(f"[{name}] step {step:5d}  loss {loss:.4f}", flush=True)
    return report


def run_one(jets_path: str, name: str, config: TrainConfig, split_seed: int,
            max_per_class: int | None, out_dir: str | None = None,
            device: str | None = None, resume: bool = False,
            stream: JetStream | None = None) -> dict:
    """Train one ablation entry (an augmentation set, or "supervised") and evaluate it.

    Runs in its own process during the ablation (one torch thread each), training on
    ``device`` (default: CUDA when present). Returns the entry's results; with ``out_dir`` a
    contrastive encoder is saved as ``out_dir/<stem>`` and the training's resumable state
    in ``out_dir/<stem>/last`` (``resume``: continue from it, when there is one). Under
    torchrun every process trains and rank 0 alone evaluates and saves (the others return
    an empty dict). With ``stream`` the entry trains on the t, g, q jets of the stream's
    file read chunk by chunk (:func:`streamed_split`); ``jets_path`` is then its path.
    """
    if dist_info()[1] == 1:  # torchrun's processes keep the threads they were given
        torch.set_num_threads(1)
    state = None if out_dir is None else Path(out_dir) / stem(name)
    if state is not None:
        checkpoints.recover_last(state)
    again = resume and state is not None and (state / checkpoints.LAST).is_dir()
    fit_kw = {"progress": _log(name), "device": device, "out": state, "resume": again}
    if stream is None:
        jets = load_jets(jets_path)
        split = top_qcd_split(jets, split_seed, TEST_FRACTION, max_per_class=max_per_class)
        trained = probed = jets.subset(split.train)
        model, record = train(trained.particles, trained.mask, config, labels=split.y_train,
                              jet_pt=trained.jets[:, 0], **fit_kw)
        split_info = {"seed": split_seed, "max_per_class": max_per_class,
                      "test_fraction": TEST_FRACTION, "jets": jets_path}
    else:
        train_stream, jets, split = streamed_split(stream, split_seed)
        probed = jets.subset(split.train)
        model, record = train_streamed(train_stream, config, **fit_kw)
        split_info = {"seed": split_seed, "max_per_class": None,
                      "test_fraction": TEST_FRACTION, "jets": jets_path,
                      "streamed": stream.holdout_record(train_stream, HELD_OUT_CHUNKS)}
    if not is_writer():
        return {}
    tested = jets.subset(split.test)
    if name == SUPERVISED:
        summary = roc_summary(classifier_scores(model, tested.particles, tested.mask),
                              split.y_test)
    else:
        probe = fit_probe(represent(model, probed.particles, probed.mask), split.y_train)
        summary = roc_summary(probe.scores(represent(model, tested.particles, tested.mask)),
                              split.y_test)
        record = {**record, "probe_c": probe.c}
    print(f"[{name}] AUC {summary.auc:.4f}  1/eps_B(0.5) {summary.inv_eb:.1f}  "
          f"({record['seconds']:.0f} s)", flush=True)
    if out_dir is not None and name != SUPERVISED:
        save_encoder(Path(out_dir) / stem(name), model, config, probe, split_info,
                     {**record, "held_out": {"auc": summary.auc, "inv_eb": summary.inv_eb}})
    if state is not None:  # finished: the table records it, so its resume state goes
        shutil.rmtree(state if name == SUPERVISED else state / checkpoints.LAST,
                      ignore_errors=True)
    return {"config": config.to_dict(), "record": record, **summary.to_dict()}


def streamed_split(stream: JetStream, split_seed: int
                   ) -> tuple[JetStream, JetSet, TopQcdSplit]:
    """(the stream of the chunks an encoder trains on, the held-out jets, their split).

    A seeded ``HELD_OUT_CHUNKS`` of the file's chunks is held out whole (their t, g, q jets
    in memory, at most ``VAL_ROWS_MAX``); the encoders and the ceiling train on the t, g, q
    jets of the other chunks, read chunk by chunk. The held-out jets are split per class
    (:func:`top_qcd_split`): the probe fits on its training part, every entry is scored on
    its test part, so no scored jet was seen by an encoder, its probe or the ceiling.
    """
    stream = replace(stream, classes=SIGNAL + BACKGROUND, chunks=None, seed=split_seed)
    train_stream, held = stream.holdout(HELD_OUT_CHUNKS)
    try:
        return train_stream, held, top_qcd_split(held, split_seed, TEST_FRACTION)
    except JetvizInputError as err:
        raise JetvizInputError(
            f"{err}. --stream holds out whole chunks: a file ordered by class holds out "
            "few classes; shuffle its rows (or use a file with more jets)") from err


def _with_ratio(table: dict) -> dict:
    """The table with probe (all) / supervised AUC, when both rows exist."""
    if table.get("supervised") and "all" in table["runs"]:
        table["probe_over_ceiling"] = table["runs"]["all"]["auc"] / table["supervised"]["auc"]
    return table


def run_ablation(jets_path: str, out_dir: str, base: TrainConfig, supervised_steps: int,
                 split_seed: int = 0, max_per_class: int | None = None, parallel: int = 1,
                 names: list[str] | None = None, map_per_class: int = 600,
                 command: str = "", with_umap: bool = True,
                 device: str | None = None, resume: bool = False,
                 stream: JetStream | None = None) -> dict:
    """The JetCLR ablation: one encoder per augmentation set plus the supervised ceiling.

    Writes ``ablation.json`` and one checkpoint per augmentation set into ``out_dir``, and the
    map of held-out jets into the all-augmentations one (``out_dir/all``). Each encoder
    trains on ``device`` (default: CUDA when present). Under torchrun the entries run one
    after the other, each shared by every process (``parallel`` must be 1); rank 0 writes.
    With ``resume`` an entry interrupted mid-training continues from its ``last/`` state.
    With ``stream`` every entry trains on the file read chunk by chunk (:func:`run_one`);
    no map is made (the page maps the shipped encoder's jets of the embedded file).
    """
    world = dist_info()[1]
    if world > 1 and parallel > 1:
        raise JetvizInputError(f"--parallel {parallel} under torchrun ({world} processes): "
                               "the processes already share each training; use --parallel 1")
    names = names or [*ABLATION_SETS, SUPERVISED]
    jobs = {n: replace(base, augmentations=n,
                       steps=supervised_steps if n == SUPERVISED else base.steps)
            for n in names}
    start = time.perf_counter()
    results: dict[str, dict] = {}
    previous = _compatible_table(Path(out_dir) / ABLATION, base)

    def write_table() -> dict:
        if not is_writer():
            return {}
        table = {"jets": jets_path, "split_seed": split_seed, "max_per_class": max_per_class,
                 "command": command, "wall_seconds": round(time.perf_counter() - start, 1),
                 "parallel": parallel,
                 "reference": {k: {"inv_eb": v[0], "auc": v[1]} for k, v in REFERENCE.items()},
                 "runs": {n: r for n, r in results.items() if n != SUPERVISED},
                 "supervised": results.get(SUPERVISED)}
        table = _with_ratio(merge_tables(previous, table) if previous else table)
        table["complete"] = set(ABLATION_SETS) <= set(table["runs"]) and bool(table["supervised"])
        write_results(Path(out_dir) / ABLATION, table)
        return table

    if parallel <= 1:  # in this process, one after the other; the table grows run by run
        for n, c in jobs.items():
            results[n] = run_one(jets_path, n, c, split_seed, max_per_class, out_dir, device,
                                 resume, stream)
            table = write_table()
            if n == SHIPPED and is_writer() and stream is None:
                add_map(jets_path, out_dir, split_seed, map_per_class, with_umap)
    else:
        with ProcessPoolExecutor(parallel, mp_context=get_context("spawn")) as pool:
            futures = {n: pool.submit(run_one, jets_path, n, c, split_seed, max_per_class,
                                      out_dir, device, resume, stream)
                       for n, c in jobs.items()}
            results.update({n: f.result() for n, f in futures.items()})
        table = write_table()
        if SHIPPED in results and stream is None:
            add_map(jets_path, out_dir, split_seed, map_per_class, with_umap)
    return table


def _same_budget(a: dict, b: dict, drop: tuple[str, ...] = ("augmentations",)) -> bool:
    """Whether two run configs differ at most in ``drop`` (rows of one table)."""
    return ({k: v for k, v in a.items() if k not in drop}
            == {k: v for k, v in b.items() if k not in drop})


def _compatible_table(path: Path, base: TrainConfig) -> dict | None:
    """The ablation.json at ``path`` if its runs used ``base``'s budget and encoder, else None.

    A rerun with other settings starts a new table (the old file is replaced).
    """
    if not path.is_file():
        return None
    try:
        table = load_results(path)
        rows = [(r["config"], ("augmentations",)) for r in table["runs"].values()]
        if table.get("supervised"):  # the ceiling may train for another number of steps
            rows.append((table["supervised"]["config"], ("augmentations", "steps")))
    except (ValueError, KeyError, TypeError):
        return None
    wanted = base.to_dict()
    return table if rows and all(_same_budget(c, wanted, d) for c, d in rows) else None


def merge_tables(old: dict, new: dict) -> dict:
    """An ablation table holding the runs of both (``new``'s win); commands listed in order.

    Lets one table be filled by several ``jetviz jetclr ablation --only …`` invocations at the
    same budget (e.g. on different days or machines).
    """
    commands = [*old.get("commands", [old.get("command", "")]), new.get("command", "")]
    return {**old, **new, "runs": {**old["runs"], **new["runs"]},
            "supervised": new.get("supervised") or old.get("supervised"),
            "command": " ; ".join(c for c in commands if c),
            "commands": [c for c in commands if c],
            "wall_seconds": round(old.get("wall_seconds", 0.0) + new.get("wall_seconds", 0.0), 1)}


def reprobe(jets_path: str, out_dir: str, command: str = "") -> dict:
    """Refit the linear probe of every stored encoder of an ablation; update its rows.

    For tables made before the probe chose its regularisation (``fit_probe``): the encoders
    are not retrained, only their probes refitted on the training jets and re-evaluated on
    the held-out ones. Rewrites ``ablation.json`` and the encoders' checkpoints.
    """
    path = Path(out_dir) / ABLATION
    table = load_results(path)
    jets = load_jets(jets_path)
    for name, row in table["runs"].items():
        directory = Path(out_dir) / stem(name)
        model, config, _, info = load_encoder(directory)
        s = info["split"]
        split = top_qcd_split(jets, s["seed"], s["test_fraction"], s["max_per_class"])
        probe = fit_probe(represent(model, jets.particles[split.train], jets.mask[split.train]),
                          split.y_train)
        summary = roc_summary(probe.scores(represent(model, jets.particles[split.test],
                                                     jets.mask[split.test])), split.y_test)
        print(f"[{name}] probe C = {probe.c:g}: AUC {row['auc']:.4f} -> {summary.auc:.4f}",
              flush=True)
        row.update(summary.to_dict())
        row["record"] = {**row["record"], "probe_c": probe.c}
        record = {**info["record"], "probe_c": probe.c,
                  "held_out": {"auc": summary.auc, "inv_eb": summary.inv_eb}}
        save_encoder(directory, model, config, probe, s, record,
                     _stored_map(directory, record))
    table = _with_ratio(table)
    if command:
        table = merge_tables(table, {"command": command, "runs": {}})
    write_results(path, table)
    return table


def _stored_map(directory: Path, record: dict) -> dict | None:
    """The map arrays already in a checkpoint (kept when it is rewritten), or None."""
    has_map = "map_class_names" in record and checkpoints.has_part(directory, MAP)
    return load_map(directory) if has_map else None


def add_map(jets_path: str, out_dir: str, split_seed: int, map_per_class: int = 600,
            with_umap: bool = True) -> None:
    """Compute the map of held-out jets of the all-augmentations encoder and store it in its
    checkpoint (``out_dir/all``)."""
    directory = Path(out_dir) / SHIPPED
    model, config, probe, info = load_encoder(directory)
    jets = load_jets(jets_path)
    split = top_qcd_split(jets, split_seed, TEST_FRACTION,
                          max_per_class=info["split"]["max_per_class"])
    arrays = map_of(model, jets, map_per_class, split.train, seed=0, with_umap=with_umap)
    save_encoder(directory, model, config, probe, info["split"], info["record"], arrays)
