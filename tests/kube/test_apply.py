"""``apply_concurrently`` against the real local kube-apiserver: order of the answer, the
ordering kinds applied before what follows them, the first failure in order, a pool given."""

from __future__ import annotations

import itertools
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from lightkube import Client

from fluxgitops.errors import NotFoundError
from fluxgitops.kube.apply import apply_concurrently
from fluxgitops.manifest import Manifest

_names = itertools.count()


def namespace(name: str) -> Manifest:
    """A Namespace."""
    return Manifest({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def config_map(namespace: str, name: str) -> Manifest:
    """A ConfigMap with one key."""
    return Manifest(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
            "data": {"name": name},
        }
    )


def test_concurrent_apply_answers_in_manifest_order(admin: Client) -> None:
    ns = f"conc-{next(_names)}"
    manifests = [namespace(ns), *(config_map(ns, f"cm-{i}") for i in range(12))]
    live = apply_concurrently(admin, manifests, workers=4)
    assert [(o["kind"], o["metadata"]["name"]) for o in live] == [
        ("Namespace", ns),
        *(("ConfigMap", f"cm-{i}") for i in range(12)),
    ]


def test_concurrent_apply_creates_a_namespace_before_what_lives_in_it(admin: Client) -> None:
    ns = f"conc-{next(_names)}"
    manifests = [config_map("default", f"before-{ns}"), namespace(ns), config_map(ns, "after")]
    live = apply_concurrently(admin, manifests, workers=8)
    assert live[-1]["metadata"]["namespace"] == ns


def test_concurrent_apply_raises_the_first_failure_in_order(admin: Client) -> None:
    missing = f"missing-{next(_names)}"
    manifests = [
        config_map("default", f"ok-{missing}"),
        config_map(missing, "first"),
        config_map(f"{missing}-2", "second"),
    ]
    with pytest.raises(NotFoundError) as info:
        apply_concurrently(admin, manifests, workers=4)
    assert str(info.value).startswith(f"ConfigMap {missing}/first")


class CountingPool(ThreadPoolExecutor):
    """A thread pool that counts what it was given."""

    submitted = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def test_concurrent_apply_runs_on_the_pool_it_is_given(admin: Client) -> None:
    ns = f"conc-{next(_names)}"
    manifests = [namespace(ns), *(config_map(ns, f"cm-{i}") for i in range(5))]
    with CountingPool(max_workers=3) as pool:
        live = apply_concurrently(admin, manifests, pool=pool)
        assert pool.submit(len, "still open").result() == len("still open")
    assert pool.submitted == 5 + 1
    assert len(live) == 6
