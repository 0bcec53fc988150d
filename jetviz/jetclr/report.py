"""The ablation table in words and rows: the text table of ``jetviz jetclr``, the rows and
notes of the jet-representations page.

A table is the dict of ``ablation.json`` (``jetviz.jetclr.ablation``): "reference" (the
talk's AUC and 1/ε_B per augmentation set), "runs" (ours, per set), "supervised" (the
ceiling, or None), optionally "earlier_budget" (the same at a shorter training) and
"probe_over_ceiling". Non-finite numbers were stored as null and read back as None.
"""

from __future__ import annotations

from jetviz.jetclr.ablation import REFERENCE


def _num(value: float | None) -> float:
    return float("nan") if value is None else value


def format_table(table: dict) -> str:
    """The ablation as a text table beside the talk's numbers."""
    lines = [f"{'augmentation':<18}{'AUC':>8}{'1/eB(0.5)':>11}   |  talk: {'AUC':>6}{'1/eB':>6}"]
    runs = table["runs"]
    for name in [n for n in REFERENCE if n in runs] + [n for n in runs if n not in REFERENCE]:
        r, ref = runs[name], table["reference"].get(name, {})
        lines.append(f"{name:<18}{_num(r['auc']):>8.4f}{_num(r['inv_eb']):>11.1f}   |        "
                     f"{ref.get('auc', float('nan')):>6.3f}{ref.get('inv_eb', float('nan')):>6.0f}")
    sup = table.get("supervised")
    if sup:
        lines.append(f"{'supervised':<18}{_num(sup['auc']):>8.4f}{_num(sup['inv_eb']):>11.1f}   |  "
                     "(talk: best supervised ≈ 0.986)")
    if "probe_over_ceiling" in table:
        lines.append(f"probe (all) / supervised AUC = {table['probe_over_ceiling']:.4f}")
    return "\n".join(lines)


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
