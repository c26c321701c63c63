"""The reconciler's pure pieces: object events → work, the queue, what is retried."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fluxgitops.errors import ClusterUnavailableError
from fluxgitops.fluxconfig.drift import view
from fluxgitops.kube.boundary import translate
from fluxgitops.manifest import Manifest
from reconciler.actions import is_temporary, retry_after
from reconciler.inventory import Inventory
from reconciler.operator import EventMemories
from reconciler.workqueue import Backoff, WorkQueue
from tests.kube.test_boundary import api_error


def test_object_events_mean_drift_status_or_prune() -> None:
    inventory = Inventory()
    config = {"metadata": {"name": "c", "namespace": "n", "generation": 1, "resourceVersion": "5"}}
    assert inventory.fluxconfig_event(None, config) == (("n", "c"), "full")
    labels = {"fluxgitops.io/configuration": "c", "fluxgitops.io/configuration-namespace": "n"}
    desired: dict[str, Any] = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "c-a", "namespace": "n", "labels": labels},
        "spec": {"path": "./a"},
    }
    key = Manifest(desired).key
    inventory.publish(("n", "c"), {key: view(desired)}, None)
    live = {**desired, "metadata": {**desired["metadata"], "resourceVersion": "7"}}
    assert inventory.object_event("MODIFIED", {**live, "status": {"x": 1}}) == [(("n", "c"), False)]
    edited = {
        **live,
        "metadata": {**live["metadata"], "resourceVersion": "8"},
        "spec": {"path": "./b"},
    }
    assert inventory.object_event("MODIFIED", edited) == [(("n", "c"), True)]
    assert inventory.object_event("MODIFIED", {**live, "spec": {"path": "./c"}}) == []  # older
    stale = {**live, "metadata": {**live["metadata"], "name": "c-old", "resourceVersion": "9"}}
    assert inventory.object_event("ADDED", stale) == [(("n", "c"), True)]
    assert inventory.owned_keys("n", "c") == {key, Manifest(stale).key}


def test_workqueue_merges_and_never_hands_out_a_key_twice() -> None:
    async def scenario() -> list[tuple[str, bool]]:
        queue: WorkQueue[str] = WorkQueue()
        queue.add("a", full=False)
        queue.add("a", full=True)
        queue.add("b", full=False)
        got = [await queue.get()]
        queue.add("a", full=False)  # while "a" is being worked on
        got.append(await queue.get())
        queue.done("a")
        got.append(await queue.get())
        queue.add("c", delay=0.05)
        got.append(await asyncio.wait_for(queue.get(), 1))
        queue.close()
        return got

    assert asyncio.run(scenario()) == [("a", True), ("b", False), ("a", False), ("c", True)]
    backoff = Backoff(0.5, 4)
    assert [backoff.next("k") for _ in range(5)] == [0.5, 1, 2, 4, 4]
    backoff.reset("k")
    assert backoff.next("k") == 0.5


@pytest.mark.parametrize(
    ("code", "temporary"), [(409, True), (410, True), (429, True), (422, False), (403, False)]
)
def test_conflict_gone_and_throttling_are_retried(code: int, temporary: bool) -> None:
    assert is_temporary(translate(api_error(code), "FluxConfig a/b")) is temporary


def test_retry_after_is_honoured_and_unreachable_is_temporary() -> None:
    throttled = api_error(429, {"Retry-After": "7"})
    assert retry_after(translate(throttled, "FluxConfig a/b")) == 7.0
    assert is_temporary(ClusterUnavailableError("down"))


def test_kopf_memories_are_made_per_event_and_never_kept() -> None:
    memories = EventMemories()
    body = {"metadata": {"uid": "u-1", "name": "c", "namespace": "n"}}

    async def scenario() -> tuple[Any, Any]:
        return await memories.recall(body), await memories.recall(body)

    first, second = asyncio.run(scenario())
    assert first is not second
    assert list(memories.iter_all_memories()) == []


def test_a_record_keeps_its_body_packed_and_hands_out_copies() -> None:
    inventory = Inventory()
    config = {
        "apiVersion": "fluxgitops.io/v1",
        "kind": "FluxConfig",
        "metadata": {"name": "c", "namespace": "n", "generation": 2, "resourceVersion": "7"},
        "spec": {"suspend": True, "sourceKind": "GitRepository"},
        "status": {"observedGeneration": 1},
    }
    inventory.fluxconfig_event(None, config)
    record = inventory.configs[("n", "c")]
    assert (record.generation, record.suspended, record.status) == (
        2,
        True,
        {"observedGeneration": 1},
    )
    body = record.body
    body["spec"]["suspend"] = False
    assert record.body == view(config)


def test_spec_first_seen_in_our_status_write_response_is_reconciled() -> None:
    inventory = Inventory()
    meta = {"name": "c", "namespace": "n", "generation": 1, "resourceVersion": "5"}
    inventory.fluxconfig_event(None, {"metadata": meta, "spec": {"v": 1}})
    inventory.configs["n", "c"].attempted_generation = 1
    newer = {"metadata": {**meta, "generation": 2, "resourceVersion": "9"}, "spec": {"v": 2}}
    inventory.update_body(("n", "c"), newer)  # our status write landed after a spec change
    assert inventory.fluxconfig_event("MODIFIED", newer) == (("n", "c"), "full")  # its echo
