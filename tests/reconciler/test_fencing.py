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
from fluxgitops.kube.client import load_config
from fluxgitops.local.controlplane import ControlPlane
from reconciler.election import Fence, FencedClient, FencedPool, Term, term_of
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


def _blind(holder: str, transitions: int, *, deleted: bool = False) -> bool:
    return False


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
        leader.reconciler.fence.contradicts = _blind  # type: ignore[method-assign]  # cut off:
        # its Lease watch tells it nothing either (test_lease_overwritten_… covers the watch)
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


def _lease(admin: Client, name: str, holder: str, transitions: int) -> Term:
    """Write Lease ``name`` held by ``holder`` in term ``transitions``; the term it records."""
    ensure_namespace(admin, LEASE_NAMESPACE)
    body = codecs.from_dict(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": LEASE_NAMESPACE},
            "spec": {
                "holderIdentity": holder,
                "leaseDurationSeconds": 15,
                "acquireTime": "2026-01-01T00:00:00.000001Z",
                "renewTime": "2026-01-01T00:00:00.000001Z",
                "leaseTransitions": transitions,
            },
        }
    )
    live = admin.apply(body, field_manager="test-fencing", force=True)
    return term_of(live.spec)


def test_fresh_renewal_is_verified_without_reading_the_lease(admin: Client) -> None:
    name = f"rec-verify-{uuid.uuid4().hex[:6]}"
    term = _lease(admin, name, "me", 4)
    fence = Fence(LEASE_NAMESPACE, name, "me", renew_deadline=10.0, enabled=True)
    fence.renewed(term, time.monotonic())
    fence.verify(admin, term, "FluxConfig x")
    assert fence.reads == 0


def test_late_renewal_is_verified_against_the_lease_on_the_server(admin: Client) -> None:
    name = f"rec-verify-{uuid.uuid4().hex[:6]}"
    _lease(admin, name, "someone-else", 5)
    fence = Fence(LEASE_NAMESPACE, name, "me", renew_deadline=10.0, enabled=True)
    term = Term("me", 4, "2026-01-01T00:00:00.000000Z")
    fence.renewed(term, time.monotonic() - 6.0)  # valid for 4 s more: under half the deadline
    with pytest.raises(LeaseLostError, match="sees the lease held by someone-else"):
        fence.verify(admin, term, "FluxConfig x")
    assert fence.reads == 1


def test_lease_record_of_another_holder_ends_the_term() -> None:
    fence = Fence("ns", "lease", "me", renew_deadline=10.0, enabled=True)
    fence.renewed(Term("me", 3, "2026-01-01T00:00:00.000000Z"), time.monotonic())
    assert fence.contradicts("other", 3)
    assert fence.contradicts("other", 4)
    assert fence.contradicts("", 3)  # emptied by someone else
    assert fence.contradicts("me", 3, deleted=True)


def test_lease_record_of_an_earlier_term_or_our_own_is_ignored() -> None:
    fence = Fence("ns", "lease", "me", renew_deadline=10.0, enabled=True)
    assert not fence.contradicts("other", 9)  # not leading: nothing to end
    fence.renewed(Term("me", 3, "2026-01-01T00:00:00.000000Z"), time.monotonic())
    assert not fence.contradicts("other", 2)  # the previous holder's record, delivered late
    assert not fence.contradicts("me", 4)  # our own new term, seen before its response


def test_lease_overwritten_by_hand_stops_the_leader_at_once(
    control_plane: ControlPlane, admin: Client
) -> None:
    ensure_namespace(admin, LEASE_NAMESPACE)
    name = f"rec-overwritten-{uuid.uuid4().hex[:6]}"
    options = options_for(
        control_plane,
        lease_name=name,
        lease_duration=120.0,  # the renew deadline cannot be what stops it
        renew_deadline=60.0,
        identity="overwritten-a",
    )
    with ReconcilerThread(options) as thread:
        wait_for("the replica to lead", lambda: thread.leading)
        elector = thread.reconciler._elector
        assert elector is not None
        elector.try_acquire_or_renew = _never  # type: ignore[method-assign]  # no renewal reads
        fence = thread.reconciler.fence
        term = fence.term
        assert term is not None
        assert fence.valid_for() > 30
        _lease(admin, name, "intruder", term.transitions + 1)
        wait_for("the Lease event to stop it", lambda: not thread.leading)
        client = thread.reconciler._client()
        client.term = term
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "x", "namespace": "default"},
        }
        with pytest.raises(LeaseLostError, match="does not hold the lease"):
            client.apply(codecs.from_dict(body))


def test_leader_past_its_renew_deadline_applies_nothing(
    control_plane: ControlPlane, admin: Client
) -> None:
    namespace = f"fen-{uuid.uuid4().hex[:8]}"
    for ns in (namespace, LEASE_NAMESPACE):
        ensure_namespace(admin, ns)
    options = options_for(
        control_plane,
        namespaces=("fen-*",),
        lease_name=f"rec-expired-{uuid.uuid4().hex[:6]}",
        identity="expired-a",
        orphan_sweep_interval=3600.0,
    )
    with ReconcilerThread(options) as thread:
        wait_for("the replica to lead", lambda: thread.leading)
        elector = thread.reconciler._elector
        assert elector is not None
        elector.try_acquire_or_renew = _never  # type: ignore[method-assign]  # renewals stop
        fence = thread.reconciler.fence
        wait_for("the renew deadline to pass", lambda: fence.valid_for() < 0, timeout=10)
        refused = fence.refused
        apply_fluxconfig(admin, https_config("web", namespace))
        wait_for("its first write to be refused", lambda: fence.refused > refused)
        wait_for("it to step down", lambda: not thread.leading)
        assert kustomization(admin, namespace, "web-infra") is None
        assert not status_of(admin, namespace, "web")


def test_pool_task_is_fenced_to_the_submitters_term(
    control_plane: ControlPlane, admin: Client
) -> None:
    fence = Fence(LEASE_NAMESPACE, "rec-pool", "me", renew_deadline=10.0, enabled=True)
    current = Term("me", 7, "2026-01-01T00:00:00.000001Z")
    fence.renewed(current, time.monotonic())
    client = FencedClient(load_config(str(control_plane.kubeconfig)), fence=fence)
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "default"},
    }
    with FencedPool(client, max_workers=2, thread_name_prefix="test-pool") as pool:
        client.term = Term("me", 6, "2025-12-31T00:00:00.000001Z")  # this job began a term ago
        refused = pool.submit(client.apply, codecs.from_dict(body), field_manager="test-pool")
        with pytest.raises(LeaseLostError, match="started this work in term me \\(term 6"):
            refused.result()
        client.term = current
        pool.submit(client.apply, codecs.from_dict(body), field_manager="test-pool").result()
