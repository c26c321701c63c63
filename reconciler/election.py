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

Fencing: every (re)acquisition starts a new term (``leaseTransitions`` + 1, a
new ``acquireTime``), also when a restarted replica reclaims the Lease it
still holds under its stable identity (at once, no expiry wait). The
``Fence`` holds the current term and when its last renewal was sent; the
workers' ``FencedClient`` checks it immediately before every write and raises
``LeaseLostError`` once the term changed, the Lease was seen held by someone
else, or the last renewal was sent more than ``renew_deadline`` ago — e.g. a
leader paused past its Lease, resumed with writes queued.

The guarantee: a write is sent only while (1) the Fence holds the term the
job started in, (2) a renewal of that term was sent less than
``renew_deadline`` ago on this process's monotonic clock, and (3) no Lease
watch event or read since showed the Lease held by another identity (or
deleted). Another replica takes the Lease only once it has seen the record
unchanged for ``lease_duration`` (> ``renew_deadline``) on its own clock,
counted from a moment after our renewal was sent; so while (2) holds no other
replica following this protocol leads (the client-go assumption: clock rates
differ by less than ``(lease_duration - renew_deadline) / lease_duration``).
(3) catches a Lease changed outside the protocol (deleted or overwritten by
hand) as soon as the watch delivers it. The Lease is read from the server at
the start of a job (``Fence.verify``) only when the last renewal is older
than half the renew deadline (renewals are late: the API server is slow or
unreachable), not on every job: a read per job would add a round trip to every
reconcile and guarantee nothing (1)–(3) do not. Used by
``reconciler.operator``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from lightkube import AsyncClient, Client
from lightkube.resources.coordination_v1 import Lease

from fluxgitops.errors import (
    AlreadyExistsError,
    FluxGitOpsError,
    LeaseLostError,
    NotFoundError,
    StaleObjectError,
)
from fluxgitops.kube.boundary import api_errors

log = logging.getLogger("fluxgitops.reconciler.election")

T = TypeVar("T")


def _micro_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Term:
    """One leadership term: who holds the Lease, since which transition and when acquired."""

    holder: str
    transitions: int
    acquired: str

    def __str__(self) -> str:
        return f"{self.holder} (term {self.transitions}, acquired {self.acquired})"


def term_of(spec: Any) -> Term:
    """The term a Lease ``spec`` records."""
    acquire = getattr(spec, "acquireTime", None)
    return Term(
        str(getattr(spec, "holderIdentity", None) or ""),
        int(getattr(spec, "leaseTransitions", None) or 0),
        acquire.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if isinstance(acquire, datetime)
        else str(acquire or ""),
    )


class Fence:
    """The term this replica holds and when its last renewal was sent; shared with the worker
    threads. ``disabled`` (no leader election): every check passes.
    """

    def __init__(
        self, namespace: str, name: str, identity: str, renew_deadline: float, *, enabled: bool
    ) -> None:
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.renew_deadline = renew_deadline
        self.enabled = enabled
        self.refused = 0
        """Writes refused so far (read by tests and the liveness report)."""
        self.reads = 0
        """Lease reads made by ``verify`` (renewals were late)."""
        self._state: tuple[Term, float] | None = None
        self._lock = threading.Lock()

    @property
    def term(self) -> Term | None:
        """The current term (None when not leading)."""
        state = self._state
        return state[0] if state is not None else None

    def renewed(self, term: Term, at: float) -> None:
        """The Lease was written with ``term`` by a request sent at ``at`` (monotonic)."""
        self._state = (term, at)

    def lost(self) -> None:
        """Leadership ended: every further write is refused until the next term."""
        self._state = None

    def valid_for(self) -> float:
        """Seconds left before the last renewal is ``renew_deadline`` old (<= 0: not leading)."""
        state = self._state
        if state is None:
            return 0.0
        return self.renew_deadline - (time.monotonic() - state[1])

    def contradicts(self, holder: str, transitions: int, *, deleted: bool = False) -> bool:
        """Whether a Lease record seen on the server (a watch event) says our term is over: the
        Lease deleted, or held by another identity (or by nobody) in our term or a later one.
        Records of earlier terms are old news; our own identity in another term is our own
        acquisition arriving before its response."""
        term = self.term
        if not self.enabled or term is None:
            return False
        return deleted or (holder != self.identity and transitions >= term.transitions)

    def _refuse(self, what: str, why: str) -> LeaseLostError:
        with self._lock:
            self.refused += 1
        return LeaseLostError(
            f"{what}: not written — {self.identity} {why} (Lease {self.namespace}/{self.name}); "
            f"the work is left to the current leader"
        )

    def check(self, term: Term | None, what: str) -> None:
        """Raise ``LeaseLostError`` unless ``term`` is still ours and freshly renewed."""
        if not self.enabled:
            return
        state = self._state
        if state is None:
            raise self._refuse(what, "does not hold the lease")
        current, renewed_at = state
        if term is not None and current != term:
            raise self._refuse(what, f"started this work in term {term}, now {current}")
        age = time.monotonic() - renewed_at
        if age > self.renew_deadline:
            raise self._refuse(
                what,
                f"last renewed the lease {age:.1f}s ago (renew deadline {self.renew_deadline:g}s)",
            )

    def verify(self, client: Client, term: Term | None, what: str) -> None:
        """``check``; when the last renewal is older than half the renew deadline, also read the
        Lease: it must still record ``term`` on the server."""
        if not self.enabled:
            return
        self.check(term, what)
        if self.valid_for() > self.renew_deadline / 2:
            return
        with self._lock:
            self.reads += 1
        with api_errors(f"Lease {self.namespace}/{self.name}"):
            lease = client.get(Lease, self.name, namespace=self.namespace)
        live = term_of(lease.spec)
        if live != (term or self.term):
            raise self._refuse(what, f"sees the lease held by {live}")


class FencedClient(Client):
    """A sync lightkube client whose writes pass ``Fence.check`` first; one per process, shared
    by the worker threads (one connection pool).

    ``term`` is the term the calling thread's current job started in (thread-local: set by
    the worker before each job, and by ``FencedPool`` for the tasks a worker hands it).
    """

    def __init__(self, *args: Any, fence: Fence, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fence = fence
        self._local = threading.local()

    @property
    def term(self) -> Term | None:
        """This thread's job's term."""
        term: Term | None = getattr(self._local, "term", None)
        return term

    @term.setter
    def term(self, term: Term | None) -> None:
        self._local.term = term

    def _fenced(self, verb: str, args: tuple[Any, ...]) -> None:
        target = args[0] if args else None
        kind = getattr(target, "kind", None) or getattr(target, "__name__", None) or "object"
        name = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
        if not name:
            meta = getattr(target, "metadata", None)
            name = getattr(meta, "name", None) or ""
        self.fence.check(self.term, f"{verb} {kind} {name}".rstrip())

    def apply(self, *args: Any, **kwargs: Any) -> Any:
        self._fenced("apply", args)
        return super().apply(*args, **kwargs)

    def create(self, *args: Any, **kwargs: Any) -> Any:
        self._fenced("create", args)
        return super().create(*args, **kwargs)

    def replace(self, *args: Any, **kwargs: Any) -> Any:
        self._fenced("replace", args)
        return super().replace(*args, **kwargs)

    def patch(self, *args: Any, **kwargs: Any) -> Any:
        self._fenced("patch", args)
        return super().patch(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        self._fenced("delete", args)
        return super().delete(*args, **kwargs)

    def deletecollection(self, *args: Any, **kwargs: Any) -> Any:
        self._fenced("deletecollection", args)
        return super().deletecollection(*args, **kwargs)


class FencedPool(ThreadPoolExecutor):
    """A thread pool whose tasks write with the fencing term of the thread that submitted them
    (``client.term`` there), so work a job hands over stays fenced to the job's term."""

    def __init__(self, client: FencedClient, max_workers: int, thread_name_prefix: str) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self.client = client

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` with the submitting thread's term."""
        client, term = self.client, self.client.term

        def fenced() -> T:
            client.term = term
            try:
                return fn(*args, **kwargs)
            finally:
                client.term = None

        return super().submit(fenced)


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
        fence: Fence | None = None,
    ) -> None:
        self.client = client
        self.fence = fence
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
        self.term: Term | None = None
        """The term of our last successful write of the Lease."""
        self._renewed_at = 0.0
        self._record: tuple[Any, ...] | None = None
        self._observed_at = 0.0

    async def run(self) -> None:
        """Elect forever (until cancelled; then release the Lease if held)."""
        try:
            while True:
                sent = time.monotonic()
                try:
                    held = await self.try_acquire_or_renew()
                except FluxGitOpsError as exc:
                    log.debug("lease %s/%s: %s", self.namespace, self.name, exc)
                    held = False
                now = time.monotonic()
                if held:
                    if self.fence is not None and self.term is not None:
                        self.fence.renewed(self.term, sent)
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
                    if self.fence is not None:
                        self.fence.lost()
                    log.warning("%s lost the lease to %s", self.identity, self.holder or "nobody")
                    self.on_stopped()
                await asyncio.sleep(self.retry_period)
        finally:
            if self.fence is not None:
                self.fence.lost()
            if self.leading:
                self.leading = False
                self.on_stopped()
                with contextlib.suppress(FluxGitOpsError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(self.release()), timeout=2.0)

    def step_down(self, reason: str) -> None:
        """Stop leading now (a write was fenced off); the next round starts a new term."""
        if self.fence is not None:
            self.fence.lost()
        if self.leading:
            self.leading = False
            log.warning("%s steps down: %s", self.identity, reason)
            self.on_stopped()

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
        where = f"Lease {self.namespace}/{self.name}"
        try:
            with api_errors(where):
                lease = await self.client.get(Lease, self.name, namespace=self.namespace)
        except NotFoundError:
            try:
                with api_errors(where):
                    created = await self.client.create(self._body("", 0, None))
            except (AlreadyExistsError, StaleObjectError):  # another replica was first
                return False
            self._observe(created.spec)
            self.term = term_of(created.spec)
            return True
        spec = lease.spec
        self._observe(spec)
        holder = getattr(spec, "holderIdentity", None) or ""
        duration = float(getattr(spec, "leaseDurationSeconds", None) or self.lease_duration)
        mine = holder == self.identity
        if holder and not mine and time.monotonic() < self._observed_at + duration:
            return False
        renewing = mine and self.leading and self.term == term_of(spec)
        # anything else starts a new term — also our own identity reclaiming after a restart,
        # so writes of an earlier incarnation (or of our own lost term) are fenced off
        acquire = getattr(spec, "acquireTime", None)
        acquire_text = (
            acquire.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if renewing and acquire is not None else ""
        )
        transitions = int(getattr(spec, "leaseTransitions", None) or 0) + (0 if renewing else 1)
        version = lease.metadata.resourceVersion if lease.metadata else None
        try:
            with api_errors(where):
                replaced = await self.client.replace(self._body(acquire_text, transitions, version))
        except StaleObjectError:  # someone else wrote it since we read it
            return False
        self._observe(replaced.spec)
        self.term = term_of(replaced.spec)
        return True

    async def release(self) -> None:
        """Give the Lease up (holder emptied, duration 1 s) so a standby need not wait."""
        with api_errors(f"Lease {self.namespace}/{self.name}"):
            lease = await self.client.get(Lease, self.name, namespace=self.namespace)
            if lease.spec is None or lease.spec.holderIdentity != self.identity:
                return
            lease.spec.holderIdentity = ""
            lease.spec.leaseDurationSeconds = 1
            await self.client.replace(lease)
        log.info("%s released the lease", self.identity)
