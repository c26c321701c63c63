"""``Reconciler``: the kopf operator that keeps every FluxConfig converged.

kopf does the watching (FluxConfigs; the objects we render, filtered on the server by
our ``managed-by`` label; our Lease), with its own reconnects, 410 relists and 429/5xx
backoff. Watch events only update the ``Inventory`` and queue keys (``on.event``
handlers: no kopf annotations, no diff-base copies of the spec in annotations nor built
per event (``NoDiffBase``), no handler progress (``NoProgress``), no kopf finalizers, no
kopf memory kept per object (``EventMemories``). ``workers`` asyncio tasks
(``reconciler.jobs``) take keys from the ``WorkQueue`` and run ``reconciler.actions`` in
threads sharing one sync lightkube client (field manager ``fluxgitops-reconciler``; the
fencing term is per thread), fenced: every write checks the Lease term the job started
in and its renew deadline (``reconciler.election.Fence``), and a Lease watch event
showing another holder stops them at once, so a leader that lost the Lease (paused, cut
off, overwritten) writes nothing more. Only the Lease holder's workers run
(``reconciler.election``); a follower keeps its caches warm. The reconciler's applied
objects are recorded in ``status.inventory``; a sweep on taking the lead and every
``orphan_sweep_interval`` collects labelled objects whose FluxConfig is gone. A
liveness probe fails when the Lease changes on the server but the watch no longer
delivers its events, or a worker died. Started by ``reconciler.runner`` (in a thread)
and ``reconciler.cli`` (``fluxgitops reconciler run``).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import fnmatch
import logging
import random
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx2
import kopf
from kopf._core.reactor.inventory import ResourceMemories, ResourceMemory
from lightkube import AsyncClient
from lightkube.config.kubeconfig import SingleConfig

from fluxgitops.kinds import MANAGED_KINDS
from fluxgitops.kube.client import load_config, register_kinds, resource_for
from fluxgitops.manifest import Manifest, ObjectKey
from fluxgitops.meta import (
    FLUXCONFIG_API_VERSION,
    FLUXCONFIG_PLURAL,
    LABEL_MANAGED_BY,
)
from reconciler.election import Fence, FencedClient, FencedPool, LeaderElector
from reconciler.inventory import ConfigKey, Inventory
from reconciler.jobs import SWEEP_DELAY, Jobs
from reconciler.options import ReconcilerOptions
from reconciler.secretcache import SecretCache
from reconciler.workqueue import Backoff, WorkQueue

log = logging.getLogger("fluxgitops.reconciler")

APPLY_THREADS = 6
"""Threads applying one FluxConfig's objects concurrently while some workers are idle (fewer
FluxConfigs wait than there are workers): a change is applied in one round trip; under a
backlog (a cold start) the workers are the concurrency and each applies one after another."""


def connection_info(config: SingleConfig) -> kopf.ConnectionInfo:
    """kopf's credentials from a lightkube kubeconfig context (paths or inline data)."""
    cluster, user = config.cluster, config.user
    token = None
    if user is not None and user.token_file:
        with open(config.abs_file(user.token_file)) as handle:  # rotated: read on every login
            token = handle.read().strip()
    elif user is not None:
        token = user.token

    def path(value: str | None) -> str | None:
        return str(config.abs_file(value)) if value else None

    def data(value: str | None) -> bytes | None:
        return base64.b64decode(value) if value else None

    return kopf.ConnectionInfo(
        server=cluster.server,
        ca_path=path(cluster.certificate_auth),
        ca_data=data(cluster.certificate_auth_data),
        insecure=cluster.insecure or None,
        token=token,
        scheme="Bearer" if token else None,
        username=user.username if user else None,
        password=user.password if user else None,
        certificate_path=path(user.client_cert if user else None),
        certificate_data=data(user.client_cert_data if user else None),
        private_key_path=path(user.client_key if user else None),
        private_key_data=data(user.client_key_data if user else None),
        default_namespace=config.namespace,
    )


class EndlessBackoff:
    """Retry delays for kopf's API calls that never run out: ``steps``, then ``cap`` forever.

    kopf gives up on a watch request once its backoffs are exhausted and that
    watcher then stays dead; an API server restart (503 while it installs its
    paths, 429 while its storage initialises) must never exhaust them. Each
    iteration starts afresh, as kopf iterates the setting once per request.
    """

    def __init__(self, steps: tuple[float, ...] = (0.5, 1.0, 1.0, 2.0, 3.0), cap: float = 5.0):
        self.steps = steps
        self.cap = cap

    def __iter__(self) -> Iterator[float]:
        yield from self.steps
        while True:
            yield self.cap


class EventMemories(ResourceMemories):
    """kopf's per-object memory, made afresh for each event and never kept.

    kopf keeps one ``ResourceMemory`` per object it ever saw (a memo copy, a
    throttler, indexing and daemon state: ≈ 0.8 KB each, 2.3 MiB at 500
    configurations); with only ``on.event`` handlers, no daemons, indexes or
    kopf patches, none of it carries anything from one event to the next.
    """

    async def recall(
        self,
        raw_body: Any,
        *,
        memobase: Any = None,
        noticed_by_listing: bool = False,
        ephemeral: bool = False,
    ) -> ResourceMemory:
        """A fresh memory for this event (``ephemeral`` always)."""
        memory: ResourceMemory = await super().recall(
            raw_body, memobase=memobase, noticed_by_listing=noticed_by_listing, ephemeral=True
        )
        return memory


class NoDiffBase(kopf.DiffBaseStorage):
    """No diff-base: kopf builds one for every event (two deep copies of the whole body, ~1/3
    of its per-event work here) for the change handlers only, and there are none."""

    def build(self, *, body: Any, extra_fields: Any = None) -> Any:
        """An empty essence."""
        return {}

    def fetch(self, *, body: Any) -> Any:
        """Nothing stored."""

    def store(self, *, body: Any, patch: Any, essence: Any) -> None:
        """Nothing to store (only change handlers would)."""


class NoProgress(kopf.ProgressStorage):
    """No handler progress: kopf keeps it for change handlers and daemons, and there are none;
    its default storage still clears and deep-copies two essences for every event."""

    def fetch(self, *, key: Any, body: Any) -> None:
        """Nothing stored."""

    def store(self, *, key: Any, record: Any, body: Any, patch: Any) -> None:
        """Nothing to store."""

    def purge(self, *, key: Any, body: Any, patch: Any) -> None:
        """Nothing to purge."""

    def touch(self, *, body: Any, patch: Any, value: str | None) -> None:
        """Nothing to touch."""

    def clear(self, *, essence: Any) -> Any:
        """The essence as it is (it holds no progress)."""
        return essence


def _api(api_version: str, kind: str) -> tuple[str, str]:
    """(apiVersion, plural) — the two-argument kopf selector of a kind."""
    register_kinds()
    plural: str = resource_for(api_version, kind)._api_info.plural
    return api_version, plural


class Reconciler(Jobs):
    """One reconciler process (or thread): call ``run`` in an event loop."""

    def __init__(self, options: ReconcilerOptions) -> None:
        self.options = options
        self.inventory = Inventory()
        self.secrets = SecretCache(self.inventory.version)
        self.queue: WorkQueue[ConfigKey] = WorkQueue()
        self.backoff = Backoff(options.backoff_base, options.backoff_max)
        self.leading = asyncio.Event()
        self.registry = kopf.OperatorRegistry()
        self.settings = self._settings()
        self.lease_seen_at = 0.0
        """When the watch last delivered a Lease event (monotonic)."""
        self.lease_changed_at = 0.0
        """When a read or write of the Lease last showed it changed on the server (monotonic)."""
        self.reconciles = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._apply_pool: FencedPool | None = None
        self._shared_client: FencedClient | None = None
        self._elector: LeaderElector | None = None
        self._sweep: asyncio.TimerHandle | None = None
        self.fence = Fence(
            options.lease_namespace,
            options.lease_name,
            options.identity,
            options.renew_deadline,
            enabled=options.leader_election,
        )
        self.orphans_collected: list[tuple[tuple[str, str | None], list[ObjectKey]]] = []
        self.orphans_seen: dict[tuple[str, str | None], float] = {}
        """What the orphan sweeps deleted, per (namespace, FluxConfig)."""
        self._register()

    # ------------------------------------------------------------ kopf wiring

    def _settings(self) -> kopf.OperatorSettings:
        settings = kopf.OperatorSettings()
        settings.posting.enabled = False  # status and logs, not Kubernetes Events
        settings.persistence.diffbase_storage = NoDiffBase()  # event handlers never diff
        settings.persistence.progress_storage = NoProgress()  # nor keep handler progress
        settings.scanning.disabled = True  # no CRD/namespace list-watch: fewer RBAC rights
        settings.watching.inactivity_timeout = 30.0  # a silent stream is re-opened
        settings.watching.reconnect_backoff = 0.5
        settings.watching.chunk_size = 100  # lists of thousands of objects, in pages
        settings.queueing.idle_timeout = 0.2  # per-object workers go soon: a cold start holds fewer
        settings.networking.request_timeout = self.options.request_timeout
        settings.networking.error_backoffs = EndlessBackoff()
        selector = f"{LABEL_MANAGED_BY}=fluxgitops"
        for api_version, kind in MANAGED_KINDS:
            settings.watching.label_selectors[_api(api_version, kind)] = selector
        settings.watching.field_selectors["coordination.k8s.io/v1", "leases"] = (
            f"metadata.name={self.options.lease_name}"
        )
        return settings

    def _register(self) -> None:
        registry = self.registry
        kopf.on.login(registry=registry)(self._login)
        kopf.on.startup(registry=registry)(self._startup)
        kopf.on.cleanup(registry=registry)(self._cleanup)
        kopf.on.probe(id="reconciler", registry=registry, errors=kopf.ErrorsMode.PERMANENT)(
            self._probe
        )
        kopf.on.event(FLUXCONFIG_API_VERSION, FLUXCONFIG_PLURAL, registry=registry, id="fc")(
            self._on_fluxconfig
        )
        for api_version, kind in MANAGED_KINDS:
            kopf.on.event(*_api(api_version, kind), registry=registry, id=f"obj-{kind}")(
                self._on_object
            )
        kopf.on.event("coordination.k8s.io/v1", "leases", registry=registry, id="lease")(
            self._on_lease
        )

    def kopf_namespaces(self) -> list[str]:
        """What kopf watches: the served namespaces plus the Lease's; empty for cluster-wide.

        Patterns (``team-*``) need cluster-wide watches, filtered here, since kopf
        resolves patterns only by watching namespaces, which needs more RBAC.
        """
        if self.options.clusterwide or any(
            set(pattern) & set("*?[") for pattern in self.options.namespaces
        ):
            return []
        return sorted({*self.options.namespaces, self.options.lease_namespace})

    async def run(
        self,
        *,
        stop_flag: threading.Event | asyncio.Event | None = None,
        ready_flag: threading.Event | asyncio.Event | None = None,
    ) -> None:
        """Run until ``stop_flag`` is set (or a signal arrives in the main thread)."""
        namespaces = self.kopf_namespaces()
        await kopf.operator(
            registry=self.registry,
            settings=self.settings,
            clusterwide=not namespaces,
            namespaces=namespaces,
            standalone=True,  # replicas coordinate through the Lease, not kopf peering
            memories=EventMemories(),
            liveness_endpoint=self.options.liveness_endpoint,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
        )

    def _login(self, **_: Any) -> kopf.ConnectionInfo:
        return connection_info(load_config(self.options.kubeconfig, self.options.context))

    async def _startup(self, **_: Any) -> None:
        register_kinds()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.options.workers + 1, thread_name_prefix="reconciler"
        )
        self._shared_client = self._make_client()
        self._apply_pool = FencedPool(
            self._shared_client, max_workers=APPLY_THREADS, thread_name_prefix="reconciler_apply"
        )
        for n in range(self.options.workers):
            self._tasks.append(asyncio.create_task(self._worker(), name=f"reconciler-worker-{n}"))
        self._tasks.append(asyncio.create_task(self._resync(), name="reconciler-resync"))
        self._tasks.append(asyncio.create_task(self._orphans(), name="reconciler-orphans"))
        self._tasks.append(asyncio.create_task(self._elect(), name="reconciler-election"))
        scope = ", ".join(self.options.namespaces) or "all namespaces"
        log.info(
            "reconciler %s started: %s, %d workers",
            self.options.identity,
            scope,
            self.options.workers,
        )

    async def _cleanup(self, **_: Any) -> None:
        for task in reversed(self._tasks):  # the elector first: it releases the Lease
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self.queue.close()
        if self._sweep is not None:
            self._sweep.cancel()
        for pool in (self._executor, self._apply_pool):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        log.info("reconciler %s stopped", self.options.identity)

    # ------------------------------------------------------------ events

    def _serves(self, namespace: str | None) -> bool:
        if self.options.clusterwide:
            return True
        return namespace is not None and any(
            fnmatch.fnmatchcase(namespace, pattern) for pattern in self.options.namespaces
        )

    async def _on_fluxconfig(self, event: Mapping[str, Any], **_: Any) -> None:
        body = event.get("object") or {}
        meta = body.get("metadata") or {}
        if not self._serves(meta.get("namespace")):
            return
        if event.get("type") is None and (meta.get("namespace"), meta.get("name")) in (
            self.inventory.configs
        ):
            self._relisted("FluxConfig")
        key, action = self.inventory.fluxconfig_event(event.get("type"), body)
        if action is not None:
            self.queue.add(key, full=True)

    async def _on_object(self, event: Mapping[str, Any], **_: Any) -> None:
        body = event.get("object") or {}
        if event.get("type") is None and Manifest(body).key in self.inventory.live:
            self._relisted(str(body.get("kind")))
        work = self.inventory.object_event(event.get("type"), body)
        if body.get("kind") == "Secret":
            self.secrets.seen(event.get("type"), body)
        for key, full in work:
            self.queue.add(key, full=full)
        if log.isEnabledFor(logging.DEBUG):
            meta = body.get("metadata") or {}
            log.debug(
                "%s %s %s/%s rv %s: %s",
                event.get("type") or "LISTED",
                body.get("kind"),
                meta.get("namespace", ""),
                meta.get("name"),
                meta.get("resourceVersion"),
                work or "nothing to do",
            )

    async def _on_lease(self, event: Mapping[str, Any], **_: Any) -> None:
        body = event.get("object") or {}
        meta = body.get("metadata") or {}
        if meta.get("namespace") != self.options.lease_namespace:
            return
        if event.get("type") is None and self.lease_seen_at:
            self._relisted("Lease")
        self.lease_seen_at = time.monotonic()
        spec = body.get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        deleted = event.get("type") == "DELETED"
        if self.fence.contradicts(holder, int(spec.get("leaseTransitions") or 0), deleted=deleted):
            seen = "deleted" if deleted else f"held by {holder or 'nobody'}"
            self._fenced(f"the Lease watch shows it {seen}")

    def _relisted(self, kind: str) -> None:
        """A watch started over with a fresh list (after a 410, e.g. an API server restart).

        kopf reports what the list holds but not what disappeared while the watch
        was down, so every FluxConfig is reconciled again (re-read, re-applied)
        once the lists are through: deleted objects come back, missed spec
        changes are picked up.
        """
        if self._sweep is not None:
            return
        log.info("the %s watch started over; reconciling every FluxConfig again", kind)
        loop = asyncio.get_running_loop()
        self._sweep = loop.call_later(SWEEP_DELAY, self._resync_all)

    def _resync_all(self) -> None:
        self._sweep = None
        for key, record in list(self.inventory.configs.items()):
            if record.suspended and record.attempted_generation == record.generation:
                continue  # hands off until resumed or changed
            record.stale = True
            self.queue.add(key, full=True)

    def _lease_changed(self) -> None:
        self.lease_changed_at = time.monotonic()

    # ------------------------------------------------------------ leadership and resync

    def _started_leading(self) -> None:
        self.leading.set()
        self._resync_all()  # events may have been missed while another replica led

    def _stopped_leading(self) -> None:
        self.leading.clear()

    def _fenced(self, reason: str) -> None:
        """A write was refused: stop working until the elector wins a new term."""
        if self._elector is not None:
            self._elector.step_down(reason)
        else:
            self._stopped_leading()

    async def _elect(self) -> None:
        if not self.options.leader_election:
            self._started_leading()
            return
        opts = self.options
        config = load_config(opts.kubeconfig, opts.context)
        async with AsyncClient(
            config, field_manager=opts.field_manager, timeout=httpx2.Timeout(opts.retry_period * 2)
        ) as client:
            self._elector = LeaderElector(
                client,
                namespace=opts.lease_namespace,
                name=opts.lease_name,
                identity=opts.identity,
                lease_duration=opts.lease_duration,
                renew_deadline=opts.renew_deadline,
                retry_period=opts.retry_period,
                on_started=self._started_leading,
                on_stopped=self._stopped_leading,
                on_observed=self._lease_changed,
                fence=self.fence,
            )
            await self._elector.run()

    async def _resync(self) -> None:
        interval = self.options.resync_interval
        while True:
            await asyncio.sleep(interval)
            if not self.leading.is_set():
                continue
            for key, record in list(self.inventory.configs.items()):
                if not record.suspended and not record.deleting:
                    self.queue.add(
                        key, full=True, delay=random.uniform(0, min(30.0, interval / 10))
                    )

    # ------------------------------------------------------------ health

    def problems(self) -> list[str]:
        """Why the reconciler is unhealthy (empty when healthy): what the liveness probe reports."""
        found = [
            f"task {task.get_name()} ended"
            for task in self._tasks
            if task.done()
            and (self.options.leader_election or task.get_name() != "reconciler-election")
        ]
        if self.options.leader_election and self._elector is None and self._tasks:
            found.append("leader election is not running")
        lag = self.lease_changed_at - self.lease_seen_at
        if self.lease_changed_at and lag > self.options.watch_stale_after:
            found.append(
                f"the Lease changed on the server {lag:.0f}s after the last watch event: "
                "the watch is stuck"
            )
        return found

    async def _probe(self, **_: Any) -> dict[str, Any]:
        found = self.problems()
        if found:
            raise kopf.PermanentError("; ".join(found))
        return {
            "leading": self.leading.is_set(),
            "configurations": len(self.inventory.configs),
            "queued": len(self.queue),
            "reconciles": self.reconciles,
        }
