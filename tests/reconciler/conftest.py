"""Fixtures for the reconciler tests: one reconciler thread per test module on the session
control plane, serving the namespaces ``rec-*``, and a fresh namespace per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from lightkube import Client

from fluxgitops.kube.apply import ensure_namespace
from fluxgitops.local.controlplane import ControlPlane, free_port
from reconciler.options import ReconcilerOptions
from reconciler.runner import ReconcilerThread
from tests.reconciler.support import wait_for

LEASE_NAMESPACE = "rec-lease"


def options_for(control_plane: ControlPlane, **changes: object) -> ReconcilerOptions:
    """Options for a test reconciler: quick leases, retries and deletion timeout."""
    base: dict[str, object] = {
        "kubeconfig": str(control_plane.kubeconfig),
        "namespaces": ("rec-*",),
        "lease_namespace": LEASE_NAMESPACE,
        "lease_name": "rec-tests",
        "lease_duration": 3.0,
        "renew_deadline": 2.0,
        "retry_period": 0.5,
        "deletion_timeout": 3.0,
        "backoff_base": 0.2,
        "backoff_max": 2.0,
        "stalled_retry": 30.0,
        "workers": 2,
        "orphan_grace": 0.0,  # tests with orphans collect at the first sweep unless they say
    }
    base.update(changes)
    return ReconcilerOptions(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def reconciler(control_plane: ControlPlane, admin: Client) -> Iterator[ReconcilerThread]:
    """A leading reconciler in a thread, with its liveness endpoint on a free port."""
    ensure_namespace(admin, LEASE_NAMESPACE)
    port = free_port()
    options = options_for(control_plane, liveness_endpoint=f"http://127.0.0.1:{port}/healthz")
    with ReconcilerThread(options) as thread:
        wait_for("the test reconciler to lead", lambda: thread.leading, timeout=15)
        yield thread


@pytest.fixture
def namespace(admin: Client, reconciler: ReconcilerThread) -> str:
    """A new namespace the reconciler serves."""
    name = f"rec-{uuid.uuid4().hex[:8]}"
    ensure_namespace(admin, name)
    return name
