"""``mypy --strict`` (the project's config) passes on each example program.

The examples cannot be listed in ``[tool.mypy] files``: each is a ``__main__.py``
outside any package, as is the project's own program, and mypy refuses two
modules named ``__main__`` in one run ("Duplicate module named '__main__'"). So
each is checked in its own run here, with the project's settings and cache.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.examples.support import EXAMPLES

PROGRAMS = sorted(p.parent.name for p in EXAMPLES.glob("*/__main__.py"))


def test_every_example_program_is_found() -> None:
    assert PROGRAMS == ["aks-program", "kubernetes-program"]


@pytest.mark.parametrize("example", PROGRAMS)
def test_example_program_passes_mypy_strict(example: str) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", f"examples/{example}/__main__.py"],
        cwd=EXAMPLES.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("Success: no issues found in 1 source file")
