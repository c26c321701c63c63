"""Typed arguments of ``FluxExtension``: Azure's ``microsoft.flux`` extension settings.

Each class mirrors one model of ``fluxgitops.spec.extension`` (its ``SPEC``),
field for field, with the stack file's camelCase name in each docstring; unset
(``None``) means the spec's default. The connection arguments say how to reach
the cluster: on the ``kubernetes`` backend a ``kubeconfig`` (contents or path,
any ``pulumi.Input`` such as an AKS cluster's credentials ``Output``) or a
``pulumi_kubernetes.Provider`` (``k8s_provider=``, or ``opts.provider`` /
``opts.providers``); on the ``azure`` backend the cluster's ARM coordinates
(``AzureClusterArgs``, also ``Input``s). Imported by ``fluxgitops_pulumi``; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import pulumi
import pulumi_kubernetes
from pydantic import BaseModel

from fluxgitops import azure
from fluxgitops.spec import extension
from fluxgitops_pulumi.configuration_args import DurationInput


@dataclass(kw_only=True)
class ResourceValuesArgs:
    """CPU and memory (Kubernetes quantities such as ``"100m"``, ``"1Gi"``)."""

    SPEC: ClassVar[type[BaseModel]] = extension.ResourceValues

    cpu: str | None = None
    """``cpu``."""
    memory: str | None = None
    """``memory``."""


@dataclass(kw_only=True)
class ResourcesArgs:
    """A container's ``resources``."""

    SPEC: ClassVar[type[BaseModel]] = extension.Resources

    requests: ResourceValuesArgs | None = None
    """``requests``."""
    limits: ResourceValuesArgs | None = None
    """``limits``."""


@dataclass(kw_only=True)
class TuningArgs:
    """Controller flags (kubernetes backend only; Azure does not expose them)."""

    SPEC: ClassVar[type[BaseModel]] = extension.Tuning

    concurrent: int | None = None
    """``concurrent``: ``--concurrent`` reconciles (1–1000)."""
    requeue_dependency: DurationInput | None = None
    """``requeueDependency``: ``--requeue-dependency``."""
    kube_api_qps: float | None = None
    """``kubeApiQps``: ``--kube-api-qps``."""
    kube_api_burst: int | None = None
    """``kubeApiBurst``: ``--kube-api-burst``."""


@dataclass(kw_only=True)
class ControllerArgs:
    """One Flux controller (Azure ``<name>-controller.*`` settings)."""

    SPEC: ClassVar[type[BaseModel]] = extension.ControllerSpec

    enabled: bool | None = None
    """``enabled``."""
    resources: ResourcesArgs | None = None
    """``resources``."""
    tuning: TuningArgs | None = None
    """``tuning``."""


@dataclass(kw_only=True)
class OutOfMemoryWatchArgs:
    """helm-controller's out-of-memory watch."""

    SPEC: ClassVar[type[BaseModel]] = extension.OutOfMemoryWatch

    enabled: bool | None = None
    """``enabled``."""
    memory_threshold: int | None = None
    """``memoryThreshold``: percent of the memory limit (1–100, default 95)."""
    interval: DurationInput | None = None
    """``interval``: how often memory is read (default 500ms)."""


@dataclass(kw_only=True)
class HelmControllerArgs(ControllerArgs):
    """helm-controller: a controller with drift detection and the out-of-memory watch."""

    SPEC: ClassVar[type[BaseModel]] = extension.HelmControllerSpec

    detect_drift: bool | None = None
    """``detectDrift``."""
    out_of_memory_watch: OutOfMemoryWatchArgs | None = None
    """``outOfMemoryWatch``."""


@dataclass(kw_only=True)
class ControllersArgs:
    """The Flux controllers."""

    SPEC: ClassVar[type[BaseModel]] = extension.Controllers

    source: ControllerArgs | None = None
    """``source``: source-controller."""
    kustomize: ControllerArgs | None = None
    """``kustomize``: kustomize-controller."""
    helm: HelmControllerArgs | None = None
    """``helm``: helm-controller."""
    notification: ControllerArgs | None = None
    """``notification``: notification-controller."""
    image_automation: ControllerArgs | None = None
    """``imageAutomation``: image-automation-controller (off by default)."""
    image_reflector: ControllerArgs | None = None
    """``imageReflector``: image-reflector-controller (off by default)."""


@dataclass(kw_only=True)
class MultiTenancyArgs:
    """``multiTenancy``: Flux applies as ``flux-applier``; cluster scope only where allowed."""

    SPEC: ClassVar[type[BaseModel]] = extension.MultiTenancy

    enforce: bool | None = None
    """``enforce`` (default true)."""
    cluster_scope_namespaces: Sequence[str] | None = None
    """``clusterScopeNamespaces``: where a cluster-scope configuration is admitted
    (default ``flux-system``, ``cluster-config``)."""
    admin_groups: Sequence[str] | None = None
    """``adminGroups``: groups exempt from the admission policy (default ``system:masters``)."""


@dataclass(kw_only=True)
class WorkloadIdentityArgs:
    """``workloadIdentity``."""

    SPEC: ClassVar[type[BaseModel]] = extension.WorkloadIdentity

    enable: bool | None = None
    """``enable``."""
    azure_client_id: str | None = None
    """``azureClientId``."""


@dataclass(kw_only=True)
class ReconcilerArgs:
    """``reconciler``: the in-cluster fluxgitops reconciler (Azure's fluxconfig-controller)."""

    SPEC: ClassVar[type[BaseModel]] = extension.ReconcilerSpec

    enabled: bool | None = None
    """``enabled`` (default true): FluxConfigs are applied, healed and reported by it."""
    deploy: bool | None = None
    """``deploy`` (default true): install it in the cluster; false when it runs elsewhere."""
    replicas: int | None = None
    """``replicas`` (1–10, default 2; one leads)."""
    namespaces: Sequence[str] | None = None
    """``namespaces``: serve only these (default all)."""
    image: str | None = None
    """``image``."""
    resources: ResourcesArgs | None = None
    """``resources``."""


@dataclass(kw_only=True)
class AzureClusterArgs:
    """The ARM coordinates of the cluster (``azure`` backend); ``Input``s, e.g. an AKS
    ``ManagedCluster``'s ``name`` and its resource group's ``name``."""

    resource_group_name: pulumi.Input[str]
    """``resourceGroupName``."""
    cluster_name: pulumi.Input[str]
    """``clusterName``."""
    cluster_type: Literal["managedClusters", "connectedClusters", "provisionedClusters"] = (
        "managedClusters"
    )
    """``clusterType``: AKS, Azure Arc or AKS hybrid."""

    def resource_args(self) -> dict[str, pulumi.Input[str]]:
        """The four cluster-addressing keyword arguments of the azure-native resources."""
        rp = azure.ClusterRef(
            resource_group_name="-", cluster_name="-", cluster_type=self.cluster_type
        ).cluster_rp
        return {
            "resource_group_name": self.resource_group_name,
            "cluster_name": self.cluster_name,
            "cluster_rp": rp,
            "cluster_resource_name": self.cluster_type,
        }


@dataclass(kw_only=True)
class FluxExtensionArgs:
    """Flux on one cluster (``microsoft.flux``) and how to reach the cluster."""

    SPEC: ClassVar[type[BaseModel]] = extension.FluxExtensionSpec

    backend: Literal["kubernetes", "azure"] = "kubernetes"
    """``backend``: ``kubernetes`` (any cluster, our dynamic provider) or ``azure`` (ARM)."""
    mode: Literal["install", "external"] = "install"
    """``mode`` (kubernetes backend): ``install`` the Flux controllers, or ``external`` (they
    are managed elsewhere; only the FluxConfig CRD is installed)."""
    kubeconfig: pulumi.Input[str] | None = None
    """Kubeconfig contents or path (kubernetes backend); an ``Output`` is kept secret."""
    context: pulumi.Input[str] | None = None
    """The kubeconfig context (default its current context)."""
    k8s_provider: pulumi_kubernetes.Provider | None = None
    """A ``pulumi_kubernetes.Provider`` whose kubeconfig and context are used (also found in
    ``opts.provider`` / ``opts.providers``)."""
    azure: AzureClusterArgs | None = None
    """The cluster's ARM coordinates (azure backend)."""
    bundle: Sequence[Mapping[str, Any]] = ()
    """``fluxBundle`` (install mode): the objects of ``flux install --export``; empty means
    the bundle ``tools/build.py flux-bundle`` generates."""
    name: str | None = None
    """``name``: the extension's name (default ``flux``)."""
    namespace: str | None = None
    """``namespace``: where Flux runs (default ``flux-system``)."""
    version: str | None = None
    """``version``: pin the Azure extension version (needs ``auto_upgrade_minor_version=False``)."""
    auto_upgrade_minor_version: bool | None = None
    """``autoUpgradeMinorVersion`` (default true)."""
    release_train: Literal["Stable", "Preview"] | None = None
    """``releaseTrain`` (default ``Stable``)."""
    flux_version: str | None = None
    """``fluxVersion``: the Flux distribution the kubernetes backend installs."""
    multi_tenancy: MultiTenancyArgs | None = None
    """``multiTenancy``."""
    workload_identity: WorkloadIdentityArgs | None = None
    """``workloadIdentity``."""
    use_kubelet_identity: bool | None = None
    """``useKubeletIdentity``."""
    controllers: ControllersArgs | None = None
    """``controllers``."""
    reconciler: ReconcilerArgs | None = None
    """``reconciler``."""

    CONNECTION: ClassVar[frozenset[str]] = frozenset(
        {"backend", "mode", "kubeconfig", "context", "k8s_provider", "azure", "bundle"}
    )
    """Fields that are not part of the extension spec."""
