"""The I/O half of ``fluxgitops plan``: read what a cluster holds for a stack's configurations.

``ClusterReader`` implements ``fluxgitops.plan.LiveReader`` with the Kubernetes
API: ``snapshot`` is the minimum I/O of a plan — one LIST per kind of
``fluxgitops.kinds.PLANNED_KINDS`` and namespace the stack uses, or one per
kind for the whole cluster when the stack uses more than
``PER_NAMESPACE_LISTS`` namespaces (never for Secrets; per namespace again
where a cluster-wide LIST is refused), run concurrently on a thread pool
(lightkube's sync client is safe to share between threads, one request at a
time per call); ``read`` GETs the few objects a snapshot does not cover.
``live_plan`` connects to every kubernetes-backend cluster of a stack and hands
the readers to the pure ``fluxgitops.plan.stack_plan``. Called by ``fluxgitops
plan`` and ``benchmarks/plan.py``.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lightkube import Client

from fluxgitops.errors import ClusterRejectedError, KindNotServedError
from fluxgitops.kinds import PLANNED_KINDS, Kind
from fluxgitops.kube.apply import list_objects, read_object
from fluxgitops.kube.client import connect
from fluxgitops.localrefs import resolve_kubeconfig
from fluxgitops.plan import EVERYWHERE, Plan, Snapshot, stack_plan
from fluxgitops.render.manifest import ObjectKey
from fluxgitops.stack import Cluster, StackConfig

READ_THREADS = 4
"""Concurrent LISTs per cluster: they overlap the round trips to a remote API server; the
decoding holds the GIL, so more threads only add start-up and switching."""

PER_NAMESPACE_LISTS = 3
"""Up to this many namespaces a namespaced kind is listed in each; beyond, once for the whole
cluster (fewer requests, each answered from the same watch cache). Secrets are always listed
per namespace: cluster-wide they are every tenant's and every Helm release's."""

ListRequest = tuple[Kind, str]
"""(kind, namespace): one LIST — namespace ``EVERYWHERE`` for the whole cluster."""


def list_requests(
    namespaces: Sequence[str], per_namespace: int = PER_NAMESPACE_LISTS
) -> list[ListRequest]:
    """The LISTs of a snapshot of ``namespaces``."""
    requests: list[ListRequest] = []
    for kind in PLANNED_KINDS:
        if not kind.namespaced or (len(namespaces) > per_namespace and kind.role != "secret"):
            requests.append((kind, EVERYWHERE))
        else:
            requests += [(kind, namespace) for namespace in namespaces]
    return requests


class ClusterReader:
    """Reads one cluster for a plan (a ``fluxgitops.plan.LiveReader``)."""

    def __init__(
        self,
        client: Client,
        name: str,
        threads: int = READ_THREADS,
        per_namespace: int = PER_NAMESPACE_LISTS,
    ) -> None:
        self.client = client
        self.name = name
        self.threads = threads
        self.per_namespace = per_namespace

    def _list(
        self, request: ListRequest, namespaces: Sequence[str]
    ) -> tuple[list[tuple[str, str, str]], Kind, list[dict[str, Any]]]:
        """One LIST: (what it covers, the kind, the objects). A cluster-wide LIST of a
        namespaced kind the user may not make (403) falls back to one per namespace."""
        kind, namespace = request
        if namespace != EVERYWHERE:
            items = list_objects(self.client, kind.api_version, kind.kind, namespace)
            return [(kind.api_version, kind.kind, namespace)], kind, items
        try:
            items = list_objects(self.client, kind.api_version, kind.kind)
        except ClusterRejectedError:
            if not kind.namespaced:
                raise
            listed = [(kind.api_version, kind.kind, ns) for ns in namespaces]
            items = []
            for ns in namespaces:
                items += list_objects(self.client, kind.api_version, kind.kind, ns)
            return listed, kind, items
        return [(kind.api_version, kind.kind, EVERYWHERE)], kind, items

    def snapshot(self, namespaces: Sequence[str]) -> Snapshot:
        """Every object of the planned kinds in ``namespaces`` (cluster-scoped kinds: all),
        one LIST each, concurrently. A kind not served yet (its CRD is not installed before the
        first ``up``) is listed with no objects."""
        requests = list_requests(namespaces, self.per_namespace)
        objects: dict[ObjectKey, Mapping[str, Any]] = {}
        listed: set[tuple[str, str, str]] = set()
        workers = max(1, min(self.threads, len(requests)))
        with concurrent.futures.ThreadPoolExecutor(workers, "plan-list") as pool:
            for covered, kind, items in pool.map(lambda r: self._list(r, namespaces), requests):
                listed.update(covered)
                for body in items:
                    meta = body.get("metadata") or {}
                    key = ObjectKey(
                        kind.api_version, kind.kind, meta.get("namespace") or "", meta["name"]
                    )
                    objects[key] = body
        return Snapshot(objects, frozenset(listed))

    def read(self, keys: Sequence[ObjectKey]) -> Mapping[ObjectKey, Mapping[str, Any] | None]:
        """The live objects with these keys (None: absent, also when the API server does not
        serve the kind yet — before the first ``up`` installs the FluxConfig CRD)."""
        found: dict[ObjectKey, Mapping[str, Any] | None] = {}
        for key in keys:
            try:
                found[key] = read_object(self.client, key)
            except KindNotServedError:
                found[key] = None
        return found


def reader_for(cluster: Cluster) -> ClusterReader:
    """A reader connected to ``cluster`` (its kubeconfig and context)."""
    return ClusterReader(
        connect(resolve_kubeconfig(cluster.kubeconfig), cluster.context), cluster.name
    )


def live_plan(
    config: StackConfig,
    stack: str = "",
    recorded: Mapping[str, Iterable[tuple[str, str]]] | None = None,
) -> Plan:
    """Desired (rendered) vs live objects for every kubernetes-backend cluster of ``config``;
    ``recorded``: the configurations Pulumi's state holds per cluster (see ``stack_plan``)."""
    return stack_plan(config, reader_for, stack, recorded)
