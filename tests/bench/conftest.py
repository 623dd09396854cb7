from __future__ import annotations

import sys
from pathlib import Path

# bench/ is a source-tree tool, not an installed package (pyproject.toml): import it from the checkout
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
