"""Git server fixtures (loaded by ``tests/conftest.py`` as a plugin): plain and with basic auth."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fluxgitops.local.gitserver import GitServer

GIT_USER = "flux-bot"
GIT_TOKEN = "ghp-gitserver-test-token-5d1f"


@pytest.fixture
def server() -> Iterator[GitServer]:
    """A started Git server on loopback without auth, stopped after the test."""
    with GitServer() as started:
        yield started


@pytest.fixture
def private_server() -> Iterator[GitServer]:
    """A started Git server on loopback that requires basic auth with GIT_USER and GIT_TOKEN."""
    with GitServer(user=GIT_USER, token=GIT_TOKEN) as started:
        yield started
