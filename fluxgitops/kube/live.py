"""The I/O half of ``fluxgitops plan``: read what a cluster holds for a stack's configurations.

``ClusterReader`` implements ``fluxgitops.plan.LiveReader`` with the
Kubernetes API (objects by key, objects labelled for a configuration, the live
FluxConfigs fluxgitops manages); ``live_plan`` connects to every
kubernetes-backend cluster of a stack and hands the readers to the pure
``fluxgitops.plan.stack_plan``. Called by ``fluxgitops plan`` and
``benchmarks/plan.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lightkube import Client

from fluxgitops.errors import KindNotServedError, NotFoundError
from fluxgitops.kube.apply import list_owned, read_object
from fluxgitops.kube.boundary import api_errors
from fluxgitops.kube.client import connect, resource_for
from fluxgitops.localrefs import resolve_kubeconfig
from fluxgitops.manifest import ObjectKey
from fluxgitops.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, LABEL_MANAGED_BY
from fluxgitops.plan import Plan, stack_plan
from fluxgitops.stack import Cluster, StackConfig


class ClusterReader:
    """Reads one cluster for a plan (a ``fluxgitops.plan.LiveReader``)."""

    def __init__(self, client: Client, name: str) -> None:
        self.client = client
        self.name = name

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

    def owned(self, namespace: str, configuration: str) -> list[Mapping[str, Any]]:
        """Live objects labelled as generated for ``configuration`` in ``namespace``."""
        return list(list_owned(self.client, namespace, configuration))

    def configurations(self, namespaces: Sequence[str]) -> list[tuple[str, str]]:
        """(namespace, name) of every FluxConfig labelled ``managed-by: fluxgitops`` in
        ``namespaces``; none when the FluxConfig CRD is not installed."""
        resource = resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND)
        labels: dict[str, Any] = {LABEL_MANAGED_BY: "fluxgitops"}
        found: list[tuple[str, str]] = []
        for namespace in namespaces:
            try:
                with api_errors(f"cluster {self.name!r}: FluxConfig list in {namespace!r}"):
                    items = list(self.client.list(resource, namespace=namespace, labels=labels))
            except (KindNotServedError, NotFoundError):
                return []
            found += [(o.metadata.namespace, o.metadata.name) for o in items]
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
