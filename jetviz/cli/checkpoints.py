"""``jetviz checkpoints list|convert``: the registry of every checkpoint, and the converter of
checkpoints written before the one format (:mod:`jetviz.checkpoints`) — no retraining."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

from jetviz import checkpoints
from jetviz.errors import JetvizInputError

# old "format" value (or the old layout's name) → "module:function(directory) -> list[Path]"
CONVERTERS: dict[str, str] = {
    "jetviz-anomaly": "jetviz.anomaly.checkpoint:convert_legacy",
    "jetviz-cinn": "jetviz.unfolding.checkpoint:convert_legacy",
    "jetviz-vae": "jetviz.vae.checkpoint:convert_legacy",
    "jetviz-flow-prior": "jetviz.generation.convert:convert_legacy",
    "theorymap-flat": "jetviz.theorymap.legacy:convert_legacy",
    "jetclr-flat": "jetviz.jetclr.legacy:convert_legacy",
}
# old layouts without a "format" value in their JSON: name → a file pattern only they have
LEGACY_LAYOUTS: dict[str, str] = {
    "theorymap-flat": "*_n*_map.npz",
    "jetclr-flat": "encoder.json",
}


def legacy_format(directory: Path) -> str | None:
    """The old format name of a checkpoint folder written before the one format, or None."""
    path = directory / checkpoints.CONFIG
    if not path.is_file():
        return next((name for name, pattern in LEGACY_LAYOUTS.items()
                     if name in CONVERTERS and any(directory.glob(pattern))), None)
    try:
        found = json.loads(path.read_text()).get("format")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return None
    return found if isinstance(found, str) and found in CONVERTERS else None


def convert(directory: Path) -> list[Path]:
    """Convert every old checkpoint under ``directory`` (itself included); returns them."""
    done: list[Path] = []
    for target in CONVERTERS.values():
        module, function = target.split(":")
        done += getattr(importlib.import_module(module), function)(directory)
    return done


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="every checkpoint under a folder, with its kind")
    listing.add_argument("root", nargs="?", type=Path, default=None,
                         help="folder to search (default: the shipped checkpoints/)")
    listing.add_argument("--kind", choices=sorted(checkpoints.KINDS), default=None)
    conv = sub.add_parser("convert", help="rewrite old-layout checkpoints in the one format")
    conv.add_argument("directory", type=Path, help="a checkpoint folder or a folder of them")


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        roots = None if args.root is None else [args.root]
        for entry in checkpoints.find(args.kind, roots):
            print(f"{entry.kind:18s} {entry.name}")
        return 0
    if not args.directory.is_dir():
        raise JetvizInputError(f"{args.directory}: no such folder")
    done = convert(args.directory)
    for path in done:
        print(f"converted {path}")
    print(f"{len(done)} checkpoint(s) converted")
    return 0
