"""The I/O half of ``fluxgitops plan``: read what a cluster holds for a stack's configurations.

``ClusterReader`` implements ``fluxgitops.plan.LiveReader`` with the
Kubernetes API: ``snapshot`` is the minimum I/O of a plan — one LIST per kind of
``fluxgitops.kinds.PLANNED_KINDS`` and namespace the stack uses (one per
cluster-scoped kind), run concurrently on a thread pool (lightkube's sync client
is safe to share between threads, one request at a time per call); ``read``
GETs the few objects a snapshot does not cover. ``live_plan`` connects to every
kubernetes-backend cluster of a stack and hands the readers to the pure
``fluxgitops.plan.stack_plan``. Called by ``fluxgitops plan`` and
``benchmarks/plan.py``.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lightkube import Client

from fluxgitops.errors import KindNotServedError
from fluxgitops.kinds import PLANNED_KINDS, Kind
from fluxgitops.kube.apply import list_objects, read_object
from fluxgitops.kube.client import connect
from fluxgitops.localrefs import resolve_kubeconfig
from fluxgitops.plan import EVERYWHERE, Plan, Snapshot, stack_plan
from fluxgitops.render.manifest import ObjectKey
from fluxgitops.stack import Cluster, StackConfig

READ_THREADS = 8
"""Concurrent LISTs per cluster (the API server serves them in parallel; more gains nothing
on a small control plane and only queues on a large one)."""


def list_requests(namespaces: Sequence[str]) -> list[tuple[Kind, str]]:
    """The LISTs of a snapshot: (kind, namespace) — ``EVERYWHERE`` for a cluster-scoped kind."""
    requests: list[tuple[Kind, str]] = []
    for kind in PLANNED_KINDS:
        if kind.namespaced:
            requests += [(kind, namespace) for namespace in namespaces]
        else:
            requests.append((kind, EVERYWHERE))
    return requests


class ClusterReader:
    """Reads one cluster for a plan (a ``fluxgitops.plan.LiveReader``)."""

    def __init__(self, client: Client, name: str, threads: int = READ_THREADS) -> None:
        self.client = client
        self.name = name
        self.threads = threads

    def _list(self, kind: Kind, namespace: str) -> list[dict[str, Any]]:
        where = None if namespace == EVERYWHERE else namespace
        return list_objects(self.client, kind.api_version, kind.kind, where)

    def snapshot(self, namespaces: Sequence[str]) -> Snapshot:
        """Every object of the planned kinds in ``namespaces`` (cluster-scoped kinds: all),
        one LIST each, concurrently. A kind not served yet (its CRD is not installed before the
        first ``up``) is listed with no objects."""
        requests = list_requests(namespaces)
        objects: dict[ObjectKey, Mapping[str, Any]] = {}
        workers = max(1, min(self.threads, len(requests)))
        with concurrent.futures.ThreadPoolExecutor(workers, "plan-list") as pool:
            results = pool.map(lambda r: (r[0], self._list(*r)), requests)
            for kind, items in results:
                for body in items:
                    meta = body.get("metadata") or {}
                    key = ObjectKey(
                        kind.api_version, kind.kind, meta.get("namespace") or "", meta["name"]
                    )
                    objects[key] = body
        listed = frozenset((k.api_version, k.kind, ns) for k, ns in requests)
        return Snapshot(objects, listed)

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
