"""Leader election on a ``coordination.k8s.io/v1`` Lease, so two replicas never both write.

The client-go algorithm with lightkube's ``AsyncClient``: try to take or renew
the Lease every ``retry_period``; a Lease held by someone else is free once
its record has not changed for ``lease_duration`` (measured on our own clock,
so clock skew between nodes does not matter); optimistic concurrency
(``resourceVersion``) makes two candidates racing for it safe; a leader that
cannot renew for ``renew_deadline`` steps down before its Lease expires for the
others; on shutdown the Lease is released so a standby takes over at once.
Followers keep watching (warm caches) but their workers wait. Every change of
the Lease seen on the server is reported through ``on_observed`` — the
liveness probe compares it with the Lease events the kopf watch delivers.
Used by ``reconciler.operator``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import httpx2
from lightkube import ApiError, AsyncClient
from lightkube.resources.coordination_v1 import Lease

log = logging.getLogger("fluxgitops.reconciler.election")

LEASE_ERRORS = (ApiError, httpx2.HTTPError, OSError)


def _micro_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Take, keep and release one Lease; call back when leadership starts and stops."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        namespace: str,
        name: str,
        identity: str,
        lease_duration: float,
        renew_deadline: float,
        retry_period: float,
        on_started: Callable[[], None],
        on_stopped: Callable[[], None],
        on_observed: Callable[[], None] = lambda: None,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.on_started = on_started
        self.on_stopped = on_stopped
        self.on_observed = on_observed
        self.leading = False
        self.holder: str | None = None
        self._renewed_at = 0.0
        self._record: tuple[Any, ...] | None = None
        self._observed_at = 0.0

    async def run(self) -> None:
        """Elect forever (until cancelled; then release the Lease if held)."""
        try:
            while True:
                try:
                    held = await self.try_acquire_or_renew()
                except LEASE_ERRORS as exc:
                    log.debug("lease %s/%s: %s", self.namespace, self.name, exc)
                    held = False
                now = time.monotonic()
                if held:
                    self._renewed_at = now
                    if not self.leading:
                        self.leading = True
                        log.info("%s leads (lease %s/%s)", self.identity, self.namespace, self.name)
                        self.on_started()
                elif self.leading and (
                    now - self._renewed_at > self.renew_deadline
                    or (self.holder not in (None, "", self.identity))
                ):
                    self.leading = False
                    log.warning("%s lost the lease to %s", self.identity, self.holder or "nobody")
                    self.on_stopped()
                await asyncio.sleep(self.retry_period)
        finally:
            if self.leading:
                self.leading = False
                self.on_stopped()
                with contextlib.suppress(*LEASE_ERRORS, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(self.release()), timeout=2.0)

    def _observe(self, spec: Any) -> None:
        record = (
            getattr(spec, "holderIdentity", None),
            str(getattr(spec, "renewTime", None)),
            getattr(spec, "leaseTransitions", None),
        )
        self.holder = record[0]
        if record != self._record:
            self._record = record
            self._observed_at = time.monotonic()
            self.on_observed()

    def _body(self, acquire: str, transitions: int, version: str | None) -> Lease:
        now = _micro_now()
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if version is not None:
            metadata["resourceVersion"] = version
        lease = Lease.from_dict(
            {
                "metadata": metadata,
                "spec": {
                    "holderIdentity": self.identity,
                    "leaseDurationSeconds": max(1, math.ceil(self.lease_duration)),
                    "acquireTime": acquire or now,
                    "renewTime": now,
                    "leaseTransitions": transitions,
                },
            }
        )
        return cast(Lease, lease)

    async def try_acquire_or_renew(self) -> bool:
        """One round: True when we hold the Lease afterwards."""
        try:
            lease = await self.client.get(Lease, self.name, namespace=self.namespace)
        except ApiError as exc:
            if exc.status.code != 404:
                raise
            try:
                created = await self.client.create(self._body("", 0, None))
            except ApiError as create_exc:
                if create_exc.status.code == 409:
                    return False
                raise
            self._observe(created.spec)
            return True
        spec = lease.spec
        self._observe(spec)
        holder = getattr(spec, "holderIdentity", None) or ""
        duration = float(getattr(spec, "leaseDurationSeconds", None) or self.lease_duration)
        mine = holder == self.identity
        if holder and not mine and time.monotonic() < self._observed_at + duration:
            return False
        acquire = getattr(spec, "acquireTime", None)
        acquire_text = (
            acquire.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if mine and acquire is not None else ""
        )
        transitions = int(getattr(spec, "leaseTransitions", None) or 0) + (0 if mine else 1)
        version = lease.metadata.resourceVersion if lease.metadata else None
        try:
            replaced = await self.client.replace(self._body(acquire_text, transitions, version))
        except ApiError as exc:
            if exc.status.code == 409:
                return False
            raise
        self._observe(replaced.spec)
        return True

    async def release(self) -> None:
        """Give the Lease up (holder emptied, duration 1 s) so a standby need not wait."""
        lease = await self.client.get(Lease, self.name, namespace=self.namespace)
        if lease.spec is None or lease.spec.holderIdentity != self.identity:
            return
        lease.spec.holderIdentity = ""
        lease.spec.leaseDurationSeconds = 1
        await self.client.replace(lease)
        log.info("%s released the lease", self.identity)
