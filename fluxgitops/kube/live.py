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

import httpx2
from lightkube import ApiError, Client

from fluxgitops.errors import ClusterRejectedError
from fluxgitops.kube.apply import list_owned, read_object, translate
from fluxgitops.kube.client import connect, resource_for
from fluxgitops.local.controlplane import resolve_kubeconfig
from fluxgitops.plan import Plan, stack_plan
from fluxgitops.render.manifest import ObjectKey
from fluxgitops.render.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, LABEL_MANAGED_BY
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
            except ClusterRejectedError as exc:
                cause = exc.__cause__
                if not (
                    isinstance(cause, httpx2.HTTPStatusError) and cause.response.status_code == 404
                ):
                    raise
                found[key] = None
        return found

    def owned(self, namespace: str, configuration: str) -> list[Mapping[str, Any]]:
        """Live objects labelled as generated for ``configuration`` in ``namespace``."""
        return list(list_owned(self.client, namespace, configuration))

    def configurations(self, namespaces: Sequence[str]) -> list[tuple[str, str]]:
        """(namespace, name) of every FluxConfig labelled ``managed-by: fluxgitops`` in
        ``namespaces``; none when the FluxConfig CRD is not installed."""
        resource = resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND)
        subject = f"cluster {self.name!r}: FluxConfig list"
        labels: dict[str, Any] = {LABEL_MANAGED_BY: "fluxgitops"}
        try:
            return [
                (o.metadata.namespace, o.metadata.name)
                for namespace in namespaces
                for o in self.client.list(resource, namespace=namespace, labels=labels)
            ]
        except ApiError as exc:
            if exc.status.code == 404:
                return []
            raise translate(exc, subject) from exc
        except httpx2.HTTPStatusError as exc:
            if exc.response.status_code == 404:
                return []
            raise translate(exc, subject) from exc
        except (httpx2.HTTPError, OSError) as exc:
            raise translate(exc, subject) from exc


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
