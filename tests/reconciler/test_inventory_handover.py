"""One inventory, two writers that never fight: what the provider recorded with the reconciler
off (``status.inventory``, the same format) is what the reconciler prunes from once it takes
the configuration over — even with no labelled objects cached to find them by."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from lightkube import Client

from fluxgitops.fluxconfig.ownership import inventory_keys
from fluxgitops.kube.apply import ensure_namespace
from fluxgitops.local.controlplane import ControlPlane
from providers.fluxconfig import FluxConfigurationProvider
from reconciler import actions
from tests.reconciler.support import fluxconfig, https_config, kustomization


def test_the_reconciler_prunes_what_the_providers_inventory_records(
    admin: Client, control_plane: ControlPlane
) -> None:
    namespace = f"handover-{uuid.uuid4().hex[:8]}"  # not served by the test reconciler
    ensure_namespace(admin, namespace)
    raw = https_config("web", namespace, infra={"path": "infra"}, apps={"path": "apps"})
    secrets = {"gitRepository.httpsKey": raw["gitRepository"].pop("httpsKey")}
    inputs: dict[str, Any] = {
        "spec": raw,
        "secrets": secrets,
        "kubeconfig": str(control_plane.kubeconfig),
        "reconciler_managed": False,
    }
    provider = FluxConfigurationProvider()
    provider.create(provider.check({}, inputs).inputs)
    body = copy.deepcopy(fluxconfig(admin, namespace, "web") or {})
    recorded = {str(k) for k in inventory_keys(body.get("status"))}
    assert f"Kustomization {namespace}/web-apps" in recorded
    del body["spec"]["kustomizations"]["apps"]  # the reconciler now renders infra only

    result = actions.reconcile(admin, actions.ReconcileInput(body=body), lambda *_: None)

    assert result.outcome.phase == "applied", result.outcome.message
    assert kustomization(admin, namespace, "web-apps") is None
    assert f"Kustomization {namespace}/web-apps" not in {str(k) for k in result.inventory or []}
