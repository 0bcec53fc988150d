"""Where jetviz keeps its shipped files."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "checkpoints"
DEFAULT_JETS = CHECKPOINTS / "jets_default.h5"  # 5 classes × ≥ 10,000 jets, P = 30
DEFAULT_EVENTS = CHECKPOINTS / "events_default.h5"  # SUSY grid + backgrounds
