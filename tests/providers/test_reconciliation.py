"""The reconciliation wait provider against the real local kube-apiserver.

The configuration's objects are applied by ``FluxConfigurationProvider`` (as the
engine does before the wait, which ``depends_on`` it); no Flux controller runs
here, so each test writes the Flux objects' status the way a controller would
(status subresource, Flux's own condition fields).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from lightkube import Client

from fluxgitops.errors import ReconciliationError
from fluxgitops.kube import deployed
from fluxgitops.kube.client import resource_for
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.status import set_condition
from providers.fluxconfig import FluxConfigurationProvider
from providers.reconciliation import ReconciliationProvider

_names = itertools.count()
NOW = "2026-12-02T00:00:00Z"


@pytest.fixture
def applied(control_plane: ControlPlane) -> Iterator[dict[str, Any]]:
    """A configuration (one GitRepository, one Kustomization) applied by its own provider, with
    ``waitForReconciliation`` and a short wait; its objects deleted afterwards."""
    n = next(_names)
    props: dict[str, Any] = {
        "spec": {
            "name": f"wait-{n}",
            "namespace": f"wait-{n}",
            "gitRepository": {
                "url": "https://example.com/r.git",
                "repositoryRef": {"branch": "main"},
            },
            "kustomizations": {"apps": {"path": "apps"}},
            "waitForReconciliation": True,
            "reconciliationWaitDuration": "PT20S",
        },
        "kubeconfig": str(control_plane.kubeconfig),
        "multi_tenancy": True,
    }
    objects = FluxConfigurationProvider()
    checked = objects.check({}, props).inputs
    outs = dict(objects.create(checked).outs or {})
    yield checked
    with contextlib.suppress(Exception):  # best-effort cleanup of a test that already failed
        objects.delete("x", outs)


def report(
    admin: Client, kind: str, namespace: str, name: str, *, ready: bool, reason: str
) -> None:
    """Write a Ready condition on a live Flux object as its controller would."""
    api_version = (
        "source.toolkit.fluxcd.io/v1"
        if kind == "GitRepository"
        else "kustomize.toolkit.fluxcd.io/v1"
    )
    res = resource_for(api_version, kind)
    live = admin.get(res, name, namespace=namespace)
    generation = int(live.metadata.generation or 1)
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": set_condition(
            [],
            "Ready",
            ready,
            reason=reason,
            message=f"{reason} here",
            generation=generation,
            now=NOW,
        ),
    }
    if kind == "GitRepository" and ready:
        status["artifact"] = {
            "revision": "main@sha1:0123456789abcdef0123456789abcdef01234567",
            "path": "x.tar.gz",
            "url": "http://source-controller/x.tar.gz",
            "digest": "sha256:" + "0" * 64,
            "lastUpdateTime": NOW,
        }
    admin.apply(
        res.Status(
            apiVersion=api_version,
            kind=kind,
            metadata={"name": name, "namespace": namespace},
            status=status,
        ),
        field_manager="test-flux-controller",
        force=True,
    )


def test_create_ends_compliant_with_the_synced_commit(
    applied: dict[str, Any], admin: Client
) -> None:
    namespace = applied["spec"]["namespace"]
    report(admin, "GitRepository", namespace, namespace, ready=True, reason="Succeeded")
    report(
        admin,
        "Kustomization",
        namespace,
        f"{namespace}-apps",
        ready=True,
        reason="ReconciliationSucceeded",
    )
    outs = ReconciliationProvider().create(applied).outs or {}
    assert outs["compliance_state"] == "Compliant"
    assert outs["source_synced_commit_id"] == "0123456789abcdef0123456789abcdef01234567"


def test_create_fails_with_the_failing_objects_message(
    applied: dict[str, Any], admin: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deployed, "FAILURE_GRACE_SECONDS", 0.0)
    namespace = applied["spec"]["namespace"]
    report(admin, "GitRepository", namespace, namespace, ready=False, reason="GitOperationFailed")
    with pytest.raises(ReconciliationError) as info:
        ReconciliationProvider().create(applied)
    assert str(info.value).startswith(
        f"FluxConfiguration {namespace}/{namespace} is Non-Compliant: "
        f"GitRepository/{namespace}: GitOperationFailed: GitOperationFailed here"
    )


def test_diff_waits_again_only_when_the_configuration_changes(applied: dict[str, Any]) -> None:
    provider = ReconciliationProvider()
    moved = {**applied, "kubeconfig": "/elsewhere/kubeconfig"}
    assert provider.diff("x", applied, moved).changes is False
    changed = {**applied, "spec": {**applied["spec"], "kustomizations": {"apps": {"path": "b"}}}}
    assert provider.diff("x", applied, changed).changes is True
