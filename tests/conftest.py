"""Shared fixtures: test data locations and golden-file comparison.

Set ``FLUXGITOPS_UPDATE_GOLDEN=1`` to rewrite golden files instead of comparing
(then review the diff with git before committing).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

TESTDATA = Path(__file__).parent / "testdata"


@pytest.fixture
def testdata() -> Path:
    """The ``tests/testdata`` directory."""
    return TESTDATA


@pytest.fixture
def golden() -> Callable[[Path, str], None]:
    """Compare text with a golden file; rewrite it when FLUXGITOPS_UPDATE_GOLDEN=1."""

    def check(path: Path, actual: str) -> None:
        if os.environ.get("FLUXGITOPS_UPDATE_GOLDEN") == "1":
            path.write_text(actual)
            return
        assert path.exists(), f"{path} is missing; run with FLUXGITOPS_UPDATE_GOLDEN=1 to create it"
        assert actual == path.read_text(), f"{path.name} differs from the rendered output"

    return check


pytest_plugins = ["tests.kube_fixtures", "tests.git_fixtures"]
