"""Refuse to put Flux v2 on a cluster that still runs Flux v1 (the preview fails with a plan).

``kubernetes`` clusters: ``fluxgitops.fluxv1.refuse_flux_v1`` reads the live
cluster (Flux v1 CRDs, the ``fluxcd/flux`` daemon). ``azure`` clusters: Azure
refuses the ``microsoft.flux`` extension while ``sourceControlConfigurations``
exist; pulumi-azure-native 3.29 has no list invoke for them
(``kubernetesconfiguration`` offers only ``get_source_control_configuration``),
so ``refuse_azure_flux_v1`` gets, by name, each configuration name of the
cluster plus ``azure.fluxV1Configurations`` — a name that is not found is
fine, any other invoke error fails the preview. Whatever is found is named in
a ``FluxV1InstalledError`` with the migration steps (``fluxgitops migrate``).
Called by the Pulumi program (``components.program``).
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure_native

from fluxgitops.errors import ClusterUnavailableError, FluxV1InstalledError
from fluxgitops.fluxv1 import refuse_flux_v1
from fluxgitops.kube.client import connect
from fluxgitops.migrate import migration_plan
from fluxgitops.stack import Cluster

_NOT_FOUND = ("NotFound", "ResourceNotFound", "404", "was not found")


def candidate_names(cluster: Cluster) -> list[str]:
    """The sourceControlConfiguration names to look for on an ``azure`` cluster."""
    declared = cluster.azure.flux_v1_configurations if cluster.azure else []
    return list(dict.fromkeys([*declared, *(spec.name for spec in cluster.configurations)]))


def refuse_azure_flux_v1(cluster: Cluster) -> None:
    """Raise ``FluxV1InstalledError`` naming each Flux v1 configuration found on the cluster."""
    assert cluster.azure is not None
    found: list[str] = []
    for name in candidate_names(cluster):
        try:
            ref = cluster.azure
            scc = azure_native.kubernetesconfiguration.get_source_control_configuration(
                cluster_name=ref.cluster_name,
                cluster_resource_name=ref.cluster_resource_name,
                cluster_rp=ref.cluster_rp,
                resource_group_name=ref.resource_group_name,
                source_control_configuration_name=name,
            )
        except Exception as exc:  # the invoke raises plain exceptions carrying ARM's error
            if any(word in str(exc) for word in _NOT_FOUND):
                continue
            raise ClusterUnavailableError(
                f"cluster {cluster.name!r}: cannot check for Flux v1 sourceControlConfiguration "
                f"{name!r} ({exc}); retry the preview"
            ) from exc
        found.append(
            f"sourceControlConfiguration {name!r} (repository {scc.repository_url!r}, "
            f"operator {scc.operator_namespace}/{scc.operator_instance_name})"
        )
    if found:
        raise FluxV1InstalledError(migration_plan(cluster.name, found))


def refuse_kubernetes_flux_v1(cluster: Cluster, kubeconfig: str | None, content: bool) -> None:
    """The live check on a ``kubernetes`` cluster; skipped, with a warning, when the cluster
    cannot be reached now (the provider reports that itself) or its kubeconfig is a secret."""
    if content:
        pulumi.log.warn(f"{cluster.name}: kubeconfigContent is set; Flux v1 check skipped")
        return
    try:
        refuse_flux_v1(connect(kubeconfig, cluster.context, timeout=10.0), cluster.name)
    except ClusterUnavailableError as exc:
        pulumi.log.warn(f"{cluster.name}: Flux v1 check skipped, cluster unreachable: {exc}")
