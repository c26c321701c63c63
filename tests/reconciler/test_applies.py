"""How the reconciler applies: a change that finds no other FluxConfig waiting is applied
concurrently, on the reconciler's long-lived apply pool."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from lightkube import Client

from reconciler.runner import ReconcilerThread
from tests.reconciler.support import apply_fluxconfig, https_config, status_of, wait_for


class CountingPool(ThreadPoolExecutor):
    """A thread pool that counts what it was given."""

    submitted = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def test_lone_change_is_applied_concurrently(
    admin: Client, reconciler: ReconcilerThread, namespace: str
) -> None:
    pool = CountingPool(max_workers=2)
    reconciler.reconciler._apply_pool = pool
    try:
        apply_fluxconfig(admin, https_config("web", namespace, apps={"path": "apps"}))
        wait_for("the reconcile", lambda: status_of(admin, namespace, "web").get("inventory"))
        applied = status_of(admin, namespace, "web")["inventory"]["entries"]
    finally:
        pool.shutdown()
    assert pool.submitted == len(applied)  # one wave: nothing here is an ordering kind
