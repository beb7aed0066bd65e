"""Where the shipped corpus and checkpoints live (the repository root, or $MOTIONGEN_HOME)."""

import os
from pathlib import Path

ROOT = Path(os.environ.get("MOTIONGEN_HOME", Path(__file__).resolve().parent.parent))
CORPUS_DIR = ROOT / "data" / "corpus"
CHECKPOINT_DIR = ROOT / "checkpoints"
