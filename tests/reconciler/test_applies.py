"""How the reconciler applies: a change that finds idle workers (no backlog) is applied
concurrently, on the reconciler's long-lived apply pool."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from lightkube import Client

from reconciler.election import FencedPool
from reconciler.runner import ReconcilerThread
from tests.reconciler.support import apply_fluxconfig, https_config, status_of, wait_for

T = TypeVar("T")


class CountingPool(FencedPool):
    """The reconciler's apply pool, noting each object it was given."""

    keys: list[str]

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        self.keys += [str(m.key) for m in args[1]]  # apply_manifests(client, [m])
        return super().submit(fn, *args, **kwargs)


def test_lone_change_is_applied_concurrently(
    admin: Client, reconciler: ReconcilerThread, namespace: str
) -> None:
    pool = CountingPool(reconciler.reconciler._client(), 2, "test-apply")
    pool.keys = []
    reconciler.reconciler._apply_pool = pool
    try:
        apply_fluxconfig(admin, https_config("web", namespace, apps={"path": "apps"}))
        wait_for("the reconcile", lambda: status_of(admin, namespace, "web").get("inventory"))
        applied = status_of(admin, namespace, "web")["inventory"]["entries"]
    finally:
        pool.shutdown()
    here = [key for key in pool.keys if namespace in key]  # the CRB's name holds it too
    assert len(here) == len([e for e in applied if namespace in e["id"]])  # one wave
