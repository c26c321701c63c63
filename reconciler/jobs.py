"""The reconciler's work: one FluxConfig job at a time per worker, and the orphan sweep.

``Jobs`` is the half of ``reconciler.operator.Reconciler`` that acts: each of
``workers`` asyncio tasks takes a key from the ``WorkQueue`` and runs
``reconciler.actions`` (reconcile, status refresh, finalize) in a thread with
the process's fenced lightkube client (the job's term set for that thread; a
reconcile that finds idle workers applies its objects concurrently on the
``FencedPool``), then turns the result into the next queue entry;
``_orphans`` sweeps for objects whose FluxConfig is gone. The other half (kopf
wiring, events, election, health) lives in ``reconciler.operator``, which owns
the state declared here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx2
from lightkube import Client

from fluxgitops.errors import FluxGitOpsError, LeaseLostError
from fluxgitops.fluxconfig.drift import intern_key
from fluxgitops.fluxconfig.ownership import inventory_keys, with_inventory
from fluxgitops.fluxconfig.status import build_status, status_changed, status_patch
from fluxgitops.fluxconfig.vocabulary import subject
from fluxgitops.kube.client import load_config, register_kinds
from fluxgitops.kube.deployed import read_deployed
from fluxgitops.manifest import ObjectKey
from fluxgitops.status import inventory
from reconciler import actions
from reconciler.election import Fence, FencedClient, FencedPool, Term
from reconciler.inventory import ConfigKey, Inventory, Record
from reconciler.options import ReconcilerOptions
from reconciler.secretcache import SecretCache
from reconciler.workqueue import Backoff, WorkQueue

log = logging.getLogger("fluxgitops.reconciler")

SWEEP_DELAY = 2.0
"""Seconds between a watch starting over and the resync of every FluxConfig (lists finish)."""

T = TypeVar("T")


class Jobs:
    """Workers and the orphan sweep; the state is set up by ``Reconciler.__init__``."""

    options: ReconcilerOptions
    inventory: Inventory
    secrets: SecretCache
    queue: WorkQueue[ConfigKey]
    backoff: Backoff
    leading: asyncio.Event
    fence: Fence
    reconciles: int
    orphans_collected: list[tuple[tuple[str, str | None], list[ObjectKey]]]
    orphans_seen: dict[tuple[str, str | None], float]
    """Owners that looked orphaned, and when (monotonic) they were first seen so."""
    _executor: concurrent.futures.ThreadPoolExecutor | None
    _apply_pool: FencedPool | None
    _shared_client: FencedClient | None

    def _fenced(self, reason: str) -> None:
        """A write was refused: stop working (``Reconciler`` steps down)."""
        raise NotImplementedError

    def _serves(self, namespace: str | None) -> bool:
        """Whether ``namespace`` is one this reconciler serves (``Reconciler`` decides)."""
        raise NotImplementedError

    # ------------------------------------------------------------ work

    def _client(self) -> FencedClient:
        """The workers' client (one per process); its writes are fenced by the Lease."""
        assert self._shared_client is not None, "the reconciler has not started"
        return self._shared_client

    def _make_client(self) -> FencedClient:
        opts = self.options
        register_kinds()
        return FencedClient(
            load_config(opts.kubeconfig, opts.context),
            field_manager=opts.field_manager,
            timeout=httpx2.Timeout(opts.request_timeout),
            fence=self.fence,
        )

    async def _in_thread(
        self, call: Callable[[Client], T], term: Term | None = None, verify: str = ""
    ) -> T:
        """Run ``call`` in a worker thread, its writes fenced to ``term``; ``verify``: first
        ``Fence.verify`` the term (naming ``verify``; a Lease read only when renewals are late)."""

        def run() -> T:
            client = self._client()
            client.term = term
            if verify:
                self.fence.verify(client, term, verify)
            return call(client)

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, run)

    async def _worker(self) -> None:
        while True:
            await self.leading.wait()
            key, full = await self.queue.get()
            try:
                if not self.leading.is_set():
                    self.queue.add(key, full=full)
                    continue
                await self._process(key, full, self.fence.term)
            except asyncio.CancelledError:
                raise
            except LeaseLostError as exc:  # the next leader does it; we do it if we lead again
                log.info("%s", exc)
                self._fenced(str(exc))
                self.queue.add(key, full=full)
            except Exception:
                log.exception("FluxConfig %s/%s: unexpected error; retrying", *key)
                self.queue.add(key, full=True, delay=self.backoff.next(key))
            finally:
                self.queue.done(key)

    async def _process(self, key: ConfigKey, full: bool, term: Term | None) -> None:
        record = self.inventory.configs.get(key)
        if record is None:
            return
        if record.deleting:
            await self._finalize(record, term)
        elif full:
            await self._reconcile(record, term)
        else:
            await self._refresh_status(record, term)

    async def _reconcile(self, record: Record, term: Term | None) -> None:
        loop = asyncio.get_running_loop()
        namespace, name = record.key
        inp = actions.ReconcileInput(
            body=record.body,
            refresh=record.stale,
            owned=self.inventory.owned_keys(namespace, name),
            shared=self.inventory.owned_keys(namespace, None),
            shared_wanted=self.inventory.shared_wanted(record.key),
            lookup=self.inventory.lookup,
            secrets=self.secrets,
            apply_pool=self._apply_pool if len(self.queue) < self.options.workers else None,
        )

        def publish(desired: dict[Any, dict[str, Any]], protected: Any) -> None:
            loop.call_soon_threadsafe(self.inventory.publish, record.key, desired, protected)

        record.attempted_generation = record.generation
        result = await self._in_thread(
            lambda c: actions.reconcile(c, inp, publish), term, verify=subject(*record.key)
        )
        self.reconciles += 1
        if result.fenced:  # lost the Lease mid-way: no status; done again if we lead again
            record.attempted_generation = None
            self._fenced(result.outcome.message)
            self.queue.add(record.key)
            return
        if result.gone:  # deleted while the watch was down: clean up what it left
            record.deleted = True
            self.queue.add(record.key)
            return
        self.inventory.absorb(result.applied)
        if result.body is not None:
            self.inventory.update_body(record.key, result.body)
        record.outcome = result.outcome
        record.attempted_generation = result.outcome.generation
        record.stale = result.outcome.phase == "retrying"
        if result.desired is not None:
            self.inventory.publish(record.key, result.desired, result.protected)
        elif result.outcome.phase == "invalid":
            record.desired = None
        if result.public_key:
            record.public_key = result.public_key
        if result.inventory is not None:
            record.applied = [intern_key(k) for k in result.inventory]
        await self._refresh_status(record, term)
        phase = result.outcome.phase
        if record.deleting:
            self.queue.add(record.key)  # seen deleted when re-read: finalize next
        elif phase == "retrying":
            self.queue.add(record.key, delay=result.delay or self.backoff.next(record.key))
        elif phase in ("rejected", "conflict"):
            self.queue.add(record.key, delay=self.options.stalled_retry)
        else:
            self.backoff.reset(record.key)

    async def _refresh_status(self, record: Record, term: Term | None) -> None:
        if record.outcome is None or record.deleting:
            return
        flux = self.inventory.flux_live(record)
        applying = [live for key, live in flux if key.kind == "Kustomization"]
        deployed = (  # HelmReleases … the Kustomizations applied, for statuses[]
            await self._in_thread(lambda c: read_deployed(c, applying))
            if any(inventory(live) for live in applying)
            else []
        )
        status = build_status(
            record.status,
            outcome=record.outcome,
            flux=flux,
            deployed=deployed,
            public_key=record.public_key,
            now=actions.utcnow(),
        )
        previous = record.status
        applied = record.applied
        if applied is None and "inventory" in previous:
            applied = inventory_keys(previous)
        if applied is not None:
            status = with_inventory(status, applied)
        if not status_changed(previous, status):
            return
        namespace, name = record.key
        patch = status_patch(previous, status)
        try:
            live = await self._in_thread(
                lambda c: actions.write_status(c, namespace, name, patch), term
            )
        except LeaseLostError:
            raise
        except FluxGitOpsError as exc:
            log.info("FluxConfig %s/%s: status not written (%s); retrying", namespace, name, exc)
            self.queue.add(record.key, full=False, delay=self.backoff.next(record.key))
            return
        if live is not None:
            self.inventory.update_body(record.key, live)

    async def _finalize(self, record: Record, term: Term | None) -> None:
        others = self.inventory.others_remain(record.key)
        body, tombstone = record.body, record.deleted
        result = await self._in_thread(
            lambda c: actions.finalize(
                c,
                body,
                others_remain=others,
                tombstone=tombstone,
                timeout=self.options.deletion_timeout,
            ),
            term,
            verify=subject(*record.key),
        )
        if not result.done:
            self.queue.add(record.key, delay=result.delay)
            return
        record.finalized = True
        if record.deleted:
            self.inventory.forget(record.key)
            self.queue.forget(record.key)

    # ------------------------------------------------------------ orphans

    async def _orphans(self) -> None:
        """Sweep for orphans once the lists are in after taking the lead, then periodically."""
        while True:
            await self.leading.wait()
            await asyncio.sleep(SWEEP_DELAY)
            if not self.leading.is_set():
                continue
            try:
                await self.collect_orphans()
            except LeaseLostError as exc:
                self._fenced(str(exc))
                continue
            except FluxGitOpsError as exc:
                log.info("orphan sweep interrupted (%s); next sweep in %gs", exc, SWEEP_DELAY)
                continue
            interval = self.options.orphan_sweep_interval
            if self.orphans_seen:  # look again once their grace is over
                interval = min(interval, self.options.orphan_grace)
            await asyncio.sleep(interval)

    def orphan_candidates(self) -> list[tuple[str, str | None]]:
        """Owners (namespace, FluxConfig; None: the namespace's shared RBAC) of cached labelled
        objects with no FluxConfig record: gone, or not listed yet (checked before deleting)."""
        configs = self.inventory.configs
        namespaces = {ns for ns, _ in configs}
        found = []
        for (namespace, name), keys in list(self.inventory.owned.items()):
            if not keys or not self._serves(namespace):
                continue
            if (name is not None and (namespace, name) not in configs) or (
                name is None and namespace not in namespaces
            ):
                found.append((namespace, name))
        return sorted(found, key=lambda o: (o[0], o[1] is None, o[1] or ""))

    async def collect_orphans(self) -> int:
        """Delete the objects of every FluxConfig that is gone and has been for
        ``orphan_grace`` seconds (first seen by an earlier sweep); the number deleted."""
        total = 0
        now = time.monotonic()
        candidates = self.orphan_candidates()
        self.orphans_seen = {o: self.orphans_seen.get(o, now) for o in candidates}
        for namespace, name in candidates:
            if now - self.orphans_seen[(namespace, name)] < self.options.orphan_grace:
                log.info(
                    "objects of %s have no FluxConfig; collected if still so in %gs",
                    subject(namespace, name) if name else f"shared RBAC of {namespace}",
                    self.options.orphan_grace,
                )
                continue
            others = any(ns == namespace for ns, _ in self.inventory.configs)
            term = self.fence.term
            where = subject(namespace, name) if name else f"shared RBAC of namespace {namespace}"
            keys = await self._in_thread(
                functools.partial(
                    actions.collect_orphans,
                    namespace=namespace,
                    name=name,
                    others_remain=others,
                ),
                term,
                verify=f"orphans of {where}",
            )
            self.orphans_seen.pop((namespace, name), None)
            if not keys:
                continue
            total += len(keys)
            self.orphans_collected.append(((namespace, name), keys))
            log.warning(
                "collected orphans of %s (no FluxConfig any more, so Flux stops deploying "
                "them): %s",
                where,
                ", ".join(str(k) for k in keys),
            )
        return total
