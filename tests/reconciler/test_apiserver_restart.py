"""kube-apiserver killed (SIGKILL) and restarted while the reconciler runs: it converges again
without being restarted itself. Runs against the session control plane, which is ready again
when the test ends."""

from __future__ import annotations

import time

from lightkube import Client

from fluxgitops.kube.client import resource_for
from fluxgitops.local.controlplane import ControlPlane
from reconciler.runner import ReconcilerThread
from tests.reconciler.support import (
    KUSTOMIZE,
    apply_fluxconfig,
    https_config,
    kustomization,
    status_of,
    wait_for,
)


def test_apiserver_killed_and_restarted_mid_run_converges_again(
    control_plane: ControlPlane, admin: Client, reconciler: ReconcilerThread, namespace: str
) -> None:
    apply_fluxconfig(admin, https_config("web", namespace, infra={"path": "infra"}))
    wait_for("web-infra", lambda: kustomization(admin, namespace, "web-infra"))
    changed = https_config("web", namespace, infra={"path": "infra/v2"}, apps={"path": "apps"})
    apply_fluxconfig(admin, changed)
    control_plane.restart_apiserver(kill=True, down_for=1.0)  # before, during or after the apply

    def converged() -> bool:
        infra = kustomization(admin, namespace, "web-infra") or {}
        status = status_of(admin, namespace, "web")
        return (
            infra.get("spec", {}).get("path") == "./infra/v2"
            and kustomization(admin, namespace, "web-apps") is not None
            and status.get("observedGeneration") == 2
        )

    wait_for("the changed configuration after the restart", converged, timeout=60)
    assert reconciler.leading
    admin.delete(resource_for(KUSTOMIZE, "Kustomization"), "web-apps", namespace=namespace)
    deleted = time.monotonic()
    wait_for("web-apps healed", lambda: kustomization(admin, namespace, "web-apps"), timeout=30)
    assert time.monotonic() - deleted < 15.0  # a watch gap is closed by a resync, not by a restart
    apply_fluxconfig(admin, https_config("late", namespace))
    wait_for(
        "a FluxConfig created after the restart",
        lambda: kustomization(admin, namespace, "late-infra"),
    )
