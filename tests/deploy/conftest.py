"""``tests/deploy``: make the repository's ``tools/`` scripts importable as ``tools.*``.

They are run from the repository root (``python3 tools/image.py``), not installed, so the root
is appended to ``sys.path`` (after site-packages: the installed packages still win).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.append(ROOT)
