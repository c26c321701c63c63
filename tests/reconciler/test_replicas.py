"""Two reconciler replicas on one cluster: one leads (Lease), the other waits and takes over."""

from __future__ import annotations

import time
import uuid

from lightkube import Client

from fluxgitops.kube.apply import ensure_namespace
from fluxgitops.local.controlplane import ControlPlane
from reconciler.runner import ReconcilerThread
from tests.reconciler.conftest import LEASE_NAMESPACE, options_for
from tests.reconciler.support import apply_fluxconfig, https_config, kustomization, wait_for


def test_two_replicas_elect_one_leader_and_fail_over(
    control_plane: ControlPlane, admin: Client
) -> None:
    namespace = f"ha-{uuid.uuid4().hex[:8]}"
    for name in (namespace, LEASE_NAMESPACE):
        ensure_namespace(admin, name)
    replicas = [
        ReconcilerThread(
            options_for(
                control_plane, namespaces=("ha-*",), lease_name="rec-ha", identity=f"replica-{n}"
            )
        )
        for n in "ab"
    ]
    with replicas[0], replicas[1]:
        wait_for("a leader", lambda: any(r.leading for r in replicas))
        for _ in range(10):  # stays exactly one for a while: no flapping
            assert [r.leading for r in replicas].count(True) == 1
            time.sleep(0.2)
        leader = next(r for r in replicas if r.leading)
        follower = next(r for r in replicas if not r.leading)
        apply_fluxconfig(admin, https_config("one", namespace))
        wait_for("one-infra", lambda: kustomization(admin, namespace, "one-infra"))
        assert follower.reconciler.reconciles == 0
        leader.stop()
        wait_for("the follower to take over", lambda: follower.leading, timeout=10)
        apply_fluxconfig(admin, https_config("two", namespace))
        wait_for("two-infra", lambda: kustomization(admin, namespace, "two-infra"))
