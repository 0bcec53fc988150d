"""Streamlit side of the jet-representations page: cached loaders of the shipped JetCLR
results and the augmentations of one jet.

The shipped files live in checkpoints/jetclr/ (``$JETVIZ_JETCLR_DIR`` overrides it, for
tests and other runs); they are made by ``jetviz jetclr ablation`` (see README). Everything
is cached on the files' modification times, so nothing is recomputed on a rerun.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import streamlit as st

JETCLR_ENV = "JETVIZ_JETCLR_DIR"
# Panels of the augmentation display: title -> the AugmentConfig switches turned on.
AUGMENTATION_PANELS: dict[str, tuple[str, ...]] = {
    "rotation about the jet axis": ("rotate",),
    "translation in (η, φ)": ("translate",),
    "soft smearing + soft noise": ("smear", "soft"),
    "collinear splitting": ("collinear",),
    "all (+ permutation)": ("rotate", "smear", "collinear", "soft", "translate",
                                     "permute"),
}


def jetclr_dir() -> Path:
    """Where the JetCLR files are read from."""
    override = os.environ.get(JETCLR_ENV)
    if override:
        return Path(override)
    from jetviz.paths import CHECKPOINTS

    return CHECKPOINTS / "jetclr"


def _stamp(path: Path) -> int:
    return path.stat().st_mtime_ns if path.is_file() else 0


@st.cache_data(max_entries=4, show_spinner=False)
def _results(path: str, stamp: int) -> dict:
    from jetviz.jetclr.train import load_results

    return load_results(path)


@st.cache_data(max_entries=4, show_spinner=False)
def _map(path: str, stamp: int) -> dict[str, np.ndarray]:
    from jetviz.jetclr.train import load_map

    return load_map(path)


def ablation_results() -> dict:
    """ablation.json of the shipped run (raises JetvizInputError if missing)."""
    path = jetclr_dir() / "ablation.json"
    return _results(str(path), _stamp(path))


def map_arrays() -> dict[str, np.ndarray]:
    """The shipped 2-D map arrays (raises JetvizInputError if missing)."""
    path = jetclr_dir() / "map.npz"
    return _map(str(path), _stamp(path))


@st.cache_data(max_entries=4, show_spinner=False)
def _encoder_info(path: str, stamp: int) -> dict:
    import json

    from jetviz.errors import JetvizInputError

    if not Path(path).is_file():
        raise JetvizInputError(f"{path}: no JetCLR encoder here; run `jetviz jetclr ablation`")
    return json.loads(Path(path).read_text())


def encoder_info() -> dict:
    """encoder.json of the shipped encoder: its config, training record and probe."""
    path = jetclr_dir() / "encoder.json"
    return _encoder_info(str(path), _stamp(path))


def ablation_rows(table: dict) -> list[dict]:
    """The ablation beside the talk's numbers, one row per augmentation set, for st.dataframe.

    Numbers are formatted as text so a missing one reads "—" ("not run", "not in the talk")
    instead of the table's "None".
    """
    def auc(value: float | None) -> str:
        return "—" if value is None else f"{value:.4g}"

    def inv_eb(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f}"

    rows = []
    for name, ref in table["reference"].items():
        run = table["runs"].get(name)
        rows.append({
            "augmentations": name,
            "AUC ours": auc(None if run is None else run["auc"]),
            "1/ε_B ours": inv_eb(None if run is None else run["inv_eb"]),
            "AUC talk": auc(ref["auc"]),
            "1/ε_B talk": inv_eb(ref["inv_eb"]),
        })
    sup = table.get("supervised")
    if sup is not None:
        rows.append({"augmentations": "supervised (ceiling)",
                     "AUC ours": auc(sup["auc"]), "1/ε_B ours": inv_eb(sup["inv_eb"]),
                     "AUC talk": "—", "1/ε_B talk": "—"})
    return rows


@st.cache_data(max_entries=64, show_spinner=False)
def augmented_views(particles: np.ndarray, mask: np.ndarray, jet_pt: float, seed: int,
                    radius: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One jet (P, 3) under each panel's augmentations: title -> (particles, mask).

    The jet gets the extra padded slots the all-augmentations set needs; every panel draws
    from its own generator seeded by (seed, panel number).
    """
    from dataclasses import replace

    from jetviz.jetclr.augment import ABLATION_SETS, augment, pad_particles

    base = replace(ABLATION_SETS["all"], radius=radius)
    x, m = pad_particles(particles[None], mask[None], particles.shape[0] + base.extra_slots)
    flags = ("rotate", "smear", "collinear", "soft", "translate", "permute")
    views = {}
    for i, (title, on) in enumerate(AUGMENTATION_PANELS.items()):
        config = replace(base, **{f: f in on for f in flags})
        y, my = augment(x, m, np.random.default_rng([seed, i]), config, jet_pt)
        views[title] = (y[0], my[0])
    return views


def view_extent(views: dict[str, tuple[np.ndarray, np.ndarray]], radius: float) -> float:
    """Half-width of the axes that shows R and every particle of every view."""
    reach = max(float(np.abs(x[m][:, 1:]).max(initial=0.0)) for x, m in views.values())
    return max(1.1 * radius, 1.05 * reach)


def ordered_curves(table: dict) -> dict[str, dict]:
    """The ROC entries of ablation.json in the talk's order, then the supervised ceiling."""
    runs = table["runs"]
    curves = {n: runs[n] for n in table["reference"] if n in runs}
    curves.update({n: r for n, r in runs.items() if n not in curves})
    if table.get("supervised") is not None:
        curves["supervised"] = table["supervised"]
    return curves


def ordering_note(table: dict) -> str:
    """One sentence on whether our ablation keeps the talk's ordering of AUCs, and where not."""
    names = [n for n in table["reference"] if n in table["runs"]]
    ours = [table["runs"][n]["auc"] for n in names]
    swaps = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
             if table["runs"][a]["auc"] > table["runs"][b]["auc"]]
    if len(names) < 2:
        return ""
    if not swaps:
        return ("Our AUCs rise in the talk's order, " + " < ".join(names) + f" ({ours[0]:.3f} → "
                f"{ours[-1]:.3f}).")
    listed = "; ".join(f"{a} ({table['runs'][a]['auc']:.3f}) above {b} "
                       f"({table['runs'][b]['auc']:.3f})" for a, b in swaps)
    why = ""
    if ("none", "translations") in swaps:
        why = (" Our reading: a translated copy keeps every pT and every pairwise distance of "
               "the original, so the encoder can match the two views by those exact values "
               "while learning to ignore where particles sit relative to the jet axis — which, "
               "on jets centred on that axis, is what tells one prong from two or three.")
    return f"Unlike the talk: {listed}.{why}"


def earlier_budget_note(table: dict) -> str:
    """What the same ablation gave at a shorter training budget, if the table keeps it."""
    earlier = table.get("earlier_budget")
    if not earlier:
        return ""
    runs = earlier["runs"]
    first = next(iter(runs.values()))["config"]
    scores = ", ".join(f"{n} {runs[n]['auc']:.3f}" for n in table["reference"] if n in runs)
    sup = earlier.get("supervised")
    ceiling = f", supervised {sup['auc']:.3f}" if sup else ""
    return (f"After only {first['steps']} steps of batch {first['batch_size']} the AUCs were "
            f"{scores}{ceiling}.")
