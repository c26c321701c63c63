"""Bounds in the reconciler: too large is permanent, never a retry loop (issue 16, item 5).

A request the API server refuses for its size (413) and an object above etcd's
limit are ``ObjectTooLargeError`` — permanent, so ``is_temporary`` is False and a
FluxConfig would be Stalled with the message; a FluxConfig the CRD admits but
whose whole spec is above ``MAX_SPEC_BYTES`` is Stalled ``ValidationFailed`` by the
reconciler, on the real API server.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from lightkube import Client, codecs

from fluxgitops.errors import ObjectTooLargeError
from fluxgitops.fluxconfig.vocabulary import REASON_INVALID
from fluxgitops.kube.apply import apply_manifests, ensure_namespace
from fluxgitops.manifest import Manifest
from fluxgitops.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, KUSTOMIZE_API_VERSION
from fluxgitops.spec.names import MAX_KUSTOMIZATIONS, MAX_SPEC_BYTES, MAX_SUBSTITUTE_VALUE
from reconciler.actions import is_temporary
from reconciler.runner import ReconcilerThread
from tests.reconciler.support import status_of, wait_for

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def big_namespace(admin: Client) -> str:
    """A namespace for oversized objects (not served by the test reconciler)."""
    name = f"big-{uuid.uuid4().hex[:6]}"
    ensure_namespace(admin, name)
    return name


def _kustomization(namespace: str, size: int) -> Manifest:
    """A Flux Kustomization (its CRD has no length limits) carrying ``size`` bytes of variables."""
    return Manifest(
        {
            "apiVersion": KUSTOMIZE_API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": f"big-{size}", "namespace": namespace},
            "spec": {
                "interval": "10m",
                "prune": False,
                "sourceRef": {"kind": "GitRepository", "name": "x"},
                "postBuild": {"substitute": {"v": "x" * size}},
            },
        }
    )


def test_request_above_the_api_servers_limit_is_permanent(
    admin: Client, big_namespace: str
) -> None:
    with pytest.raises(ObjectTooLargeError) as info:
        apply_manifests(admin, [_kustomization(big_namespace, 4 * MiB)], force=True)
    assert "refused it as too large (413)" in str(info.value)
    assert not is_temporary(info.value)


@pytest.mark.parametrize("size", [MiB * 8 // 5, 2 * MiB], ids=["1.6MiB", "2MiB"])
def test_object_above_etcds_limit_is_permanent(
    admin: Client, big_namespace: str, size: int
) -> None:
    with pytest.raises(ObjectTooLargeError) as info:
        apply_manifests(admin, [_kustomization(big_namespace, size)], force=True)
    assert "too large" in str(info.value)
    assert not is_temporary(info.value)


def test_fluxconfig_above_the_spec_limit_is_stalled_not_retried(
    admin: Client, namespace: str, reconciler: ReconcilerThread
) -> None:
    values = {"v": "x" * MAX_SUBSTITUTE_VALUE}  # ~410 KB: every field within its bound
    kustomizations = {
        f"k{i}": {"path": "apps", "postBuild": {"substitute": values}}
        for i in range(MAX_KUSTOMIZATIONS)
    }
    body: dict[str, Any] = {
        "apiVersion": FLUXCONFIG_API_VERSION,
        "kind": FLUXCONFIG_KIND,
        "metadata": {"name": "huge", "namespace": namespace},
        "spec": {
            "scope": "namespace",
            "gitRepository": {"url": "https://git.example.com/r.git"},
            "kustomizations": kustomizations,
        },
    }
    admin.apply(codecs.from_dict(body), force=True)  # every field within the CRD's bounds

    def stalled() -> dict[str, Any] | None:
        conditions = status_of(admin, namespace, "huge").get("conditions") or []
        return next(
            (c for c in conditions if c["type"] == "Stalled" and c["status"] == "True"), None
        )

    condition = wait_for("Stalled", stalled)
    assert condition["reason"] == REASON_INVALID
    assert condition["message"].startswith(f"FluxConfig {namespace}/huge is invalid (1 error)")
    assert f"at most {MAX_SPEC_BYTES} are allowed" in condition["message"]
    assert status_of(admin, namespace, "huge")["complianceState"] == "Non-Compliant"
    before = reconciler.reconciler.reconciles
    time.sleep(1.5)
    assert reconciler.reconciler.reconciles - before <= 1  # no retry loop on a permanent error
