"""Fencing on the real API server: a leader that stopped renewing its Lease writes nothing more,
and a restarted replica (same stable identity) reclaims its Lease at once, in a new term."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from lightkube import Client, codecs
from lightkube.resources.coordination_v1 import Lease

from fluxgitops.errors import LeaseLostError
from fluxgitops.kube.apply import ensure_namespace
from fluxgitops.local.controlplane import ControlPlane
from reconciler.election import Fence, Term
from reconciler.options import default_identity
from reconciler.runner import ReconcilerThread
from tests.reconciler.conftest import LEASE_NAMESPACE, options_for
from tests.reconciler.support import (
    apply_fluxconfig,
    https_config,
    kustomization,
    status_of,
    wait_for,
)


async def _never() -> bool:
    await asyncio.sleep(3600)
    return False


async def _no_release() -> None:
    return None


def test_leader_that_stopped_renewing_has_its_writes_refused(
    control_plane: ControlPlane, admin: Client
) -> None:
    namespace = f"fen-{uuid.uuid4().hex[:8]}"
    for name in (namespace, LEASE_NAMESPACE):
        ensure_namespace(admin, name)
    replicas = [
        ReconcilerThread(
            options_for(
                control_plane,
                namespaces=("fen-*",),
                lease_name="rec-fencing",
                identity=f"fence-{n}",
                orphan_sweep_interval=3600.0,
            )
        )
        for n in "ab"
    ]
    with replicas[0], replicas[1]:
        wait_for("a leader", lambda: any(r.leading for r in replicas))
        leader = next(r for r in replicas if r.leading)
        follower = next(r for r in replicas if not r.leading)
        elector = leader.reconciler._elector
        assert elector is not None
        elector.try_acquire_or_renew = _never  # type: ignore[method-assign]  # paused elector
        wait_for("the follower to take the lease", lambda: follower.leading, timeout=15)
        assert leader.leading  # it never noticed: only the fence stands between it and a write
        refused = leader.reconciler.fence.refused
        apply_fluxconfig(admin, https_config("web", namespace))
        wait_for(
            "web-infra, applied by the new leader",
            lambda: kustomization(admin, namespace, "web-infra"),
        )
        wait_for("the status", lambda: status_of(admin, namespace, "web").get("observedGeneration"))
        wait_for(
            "the old leader's write to be refused",
            lambda: leader.reconciler.fence.refused > refused,
        )
        assert follower.reconciler.fence.refused == 0
        stale_client = leader.reconciler._client()
        stale_client.term = leader.reconciler.fence.term
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "x", "namespace": namespace},
        }
        assert not leader.leading  # the refused write made it step down: queued work waits
        with pytest.raises(LeaseLostError, match="not written — fence-"):
            stale_client.apply(codecs.from_dict(body))


def test_restarted_replica_reclaims_its_own_lease_at_once(
    control_plane: ControlPlane, admin: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_namespace(admin, LEASE_NAMESPACE)
    monkeypatch.setenv("POD_NAME", f"reconciler-{uuid.uuid4().hex[:6]}")
    lease = f"rec-restart-{uuid.uuid4().hex[:6]}"
    options: dict[str, object] = {
        "lease_name": lease,
        "lease_duration": 120.0,  # a wait for expiry would outlast every timeout below
        "renew_deadline": 60.0,
    }
    first = ReconcilerThread(options_for(control_plane, **options))
    with first:
        wait_for("the first incarnation to lead", lambda: first.leading)
        elector = first.reconciler._elector
        assert elector is not None
        elector.release = _no_release  # type: ignore[method-assign]  # a crash: nothing released
    before = admin.get(Lease, lease, namespace=LEASE_NAMESPACE).spec
    assert before is not None
    second = ReconcilerThread(options_for(control_plane, **options))
    assert second.reconciler.options.identity == before.holderIdentity
    with second:
        wait_for("the restarted replica to lead", lambda: second.leading, timeout=10)
        after = admin.get(Lease, lease, namespace=LEASE_NAMESPACE).spec
        assert after is not None
        assert after.holderIdentity == before.holderIdentity
        assert after.leaseTransitions == (before.leaseTransitions or 0) + 1  # a new term
        assert after.acquireTime != before.acquireTime


def test_identity_is_the_pod_name_on_every_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAME", "fluxgitops-reconciler-7d9c-x2x4")
    assert default_identity() == default_identity() == "fluxgitops-reconciler-7d9c-x2x4"


def test_fence_refuses_writes_outside_a_fresh_term() -> None:
    fence = Fence("ns", "lease", "me", renew_deadline=10.0, enabled=True)
    term = Term("me", 3, "2026-01-01T00:00:00.000000Z")
    with pytest.raises(LeaseLostError, match="does not hold the lease"):
        fence.check(term, "apply Kustomization x")
    fence.renewed(term, time.monotonic())
    fence.check(term, "apply Kustomization x")
    with pytest.raises(LeaseLostError, match="started this work in term"):
        fence.check(Term("me", 2, "2025-12-31T00:00:00.000000Z"), "apply Kustomization x")
    fence.renewed(term, time.monotonic() - 11.0)  # paused past the renew deadline
    with pytest.raises(LeaseLostError, match="last renewed the lease"):
        fence.check(term, "apply Kustomization x")
    assert fence.refused == 3
