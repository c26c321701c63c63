"""``FluxExtensionSpec``: what Flux to install on a cluster, and how (Azure's ``microsoft.flux``).

Covers every ``configurationSettings`` key Azure documents (controller toggles,
``multiTenancy.enforce``, workload / kubelet identity, helm drift detection and
out-of-memory watch, source-controller memory) plus the controller tuning Azure
does not expose (``--concurrent``, ``--requeue-dependency``, kube-api QPS and
burst); the Azure mapping rejects the latter. Used by the FluxExtension
component, the renderer (multi-tenancy decides the RBAC it renders) and the
CLI. Pure: no I/O.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from fluxgitops.spec.base import RuleFailure, SpecModel, raise_rule_failures
from fluxgitops.spec.durations import Duration
from fluxgitops.spec.names import DnsLabel
from fluxgitops.spec.semver import Version

_QUANTITY = re.compile(r"([+-]?[0-9.]+)([eE][+-]?[0-9]+|m|k|Ki|Mi|Gi|Ti|Pi|Ei|M|G|T|P|E)?")

DEFAULT_FLUX_VERSION = "2.7.3"


def _quantity(value: str) -> str:
    if not _QUANTITY.fullmatch(value):
        raise PydanticCustomError(
            "quantity", "must be a Kubernetes quantity such as '100m', '64Mi' or '1Gi'"
        )
    return value


def _version(value: str) -> str:
    try:
        Version.parse(value)
    except ValueError:
        raise PydanticCustomError("version", "must be a version such as '1.23.0'") from None
    return value


Quantity = Annotated[str, AfterValidator(_quantity)]
VersionString = Annotated[str, AfterValidator(_version)]


class ResourceValues(SpecModel):
    """CPU and memory quantities."""

    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(SpecModel):
    """Pod resource requests and limits."""

    requests: ResourceValues = Field(default_factory=ResourceValues)
    limits: ResourceValues = Field(default_factory=ResourceValues)


def _resources(req_cpu: str, req_mem: str, lim_cpu: str, lim_mem: str) -> Resources:
    return Resources(
        requests=ResourceValues(cpu=req_cpu, memory=req_mem),
        limits=ResourceValues(cpu=lim_cpu, memory=lim_mem),
    )


class Tuning(SpecModel):
    """Controller flags Azure does not expose; ``None`` keeps Flux's default."""

    concurrent: int | None = Field(default=None, ge=1, le=1000)
    requeue_dependency: Duration | None = None
    kube_api_qps: float | None = Field(default=None, gt=0)
    kube_api_burst: int | None = Field(default=None, ge=1)

    def is_default(self) -> bool:
        """True when no flag is set."""
        return all(v is None for v in self.model_dump().values())


class ControllerSpec(SpecModel):
    """One Flux controller: on or off, its resources, its tuning flags."""

    enabled: bool = True
    resources: Resources = Field(default_factory=lambda: _resources("100m", "64Mi", "1000m", "1Gi"))
    tuning: Tuning = Field(default_factory=Tuning)


class OutOfMemoryWatch(SpecModel):
    """helm-controller's OOM watch: fail releases before the controller is OOM-killed."""

    enabled: bool = False
    memory_threshold: int = Field(default=95, ge=1, le=100)
    interval: Duration = timedelta(milliseconds=500)


class HelmControllerSpec(ControllerSpec):
    """helm-controller, with drift detection and the out-of-memory watch."""

    detect_drift: bool = False
    out_of_memory_watch: OutOfMemoryWatch = Field(default_factory=OutOfMemoryWatch)


def _off() -> ControllerSpec:
    return ControllerSpec(enabled=False)


CONTROLLER_NAMES: dict[str, str] = {
    "source": "source-controller",
    "kustomize": "kustomize-controller",
    "helm": "helm-controller",
    "notification": "notification-controller",
    "image_automation": "image-automation-controller",
    "image_reflector": "image-reflector-controller",
}
"""``Controllers`` field → the controller's name (Deployment name, Azure settings prefix)."""


class Controllers(SpecModel):
    """The Flux controllers (Azure: ``<name>-controller.enabled`` and friends)."""

    source: ControllerSpec = Field(
        default_factory=lambda: ControllerSpec(resources=_resources("50m", "64Mi", "1000m", "1Gi"))
    )
    kustomize: ControllerSpec = Field(default_factory=ControllerSpec)
    helm: HelmControllerSpec = Field(default_factory=HelmControllerSpec)
    notification: ControllerSpec = Field(default_factory=ControllerSpec)
    image_automation: ControllerSpec = Field(default_factory=_off)
    image_reflector: ControllerSpec = Field(default_factory=_off)

    def items(self) -> list[tuple[str, ControllerSpec]]:
        """(name, spec) for every controller, in a stable order."""
        return [(name, getattr(self, name)) for name in type(self).model_fields]


DEFAULT_CLUSTER_SCOPE_NAMESPACES = ("flux-system", "cluster-config")
"""Where a FluxConfig may have ``scope: cluster`` by default (Azure's examples use both)."""
DEFAULT_ADMIN_GROUPS = ("system:masters",)
"""Groups whose members may create cluster-scope FluxConfigs in any namespace."""


class MultiTenancy(SpecModel):
    """``multiTenancy.enforce``: impersonate ``flux-applier``, no cross-namespace refs.

    ``clusterScopeNamespaces`` and ``adminGroups`` (ours, not Azure's) feed the
    admission policy (``fluxgitops.render.admission``): a FluxConfig with
    ``scope: cluster`` — its ``flux-applier`` is bound to ``cluster-admin`` — is
    admitted only in those namespaces, unless its author is in an admin group.
    """

    enforce: bool = True
    cluster_scope_namespaces: tuple[DnsLabel, ...] = DEFAULT_CLUSTER_SCOPE_NAMESPACES
    admin_groups: tuple[Annotated[str, Field(min_length=1, max_length=253)], ...] = (
        DEFAULT_ADMIN_GROUPS
    )


class WorkloadIdentity(SpecModel):
    """``workloadIdentity.enable`` / ``workloadIdentity.azureClientId``."""

    enable: bool = False
    azure_client_id: str | None = None


class ReconcilerSpec(SpecModel):
    """Our reconciler (Azure's fluxconfig-controller equivalent), on by default as in Azure.

    ``enabled``: FluxConfigs are handed to the reconciler, which applies their
    Flux objects, generates SSH keys and reports status (kubernetes backend);
    off, the dynamic provider applies every object itself and an SSH source
    needs a key. ``deploy``: the extension installs it in the cluster
    (ServiceAccount, RBAC, Deployment of ``image``); false when it runs
    elsewhere — on the local stack ``fluxgitops local up`` starts it as a local
    process (``fluxgitops reconciler run``).
    """

    enabled: bool = True
    deploy: bool = True
    replicas: int = Field(default=2, ge=1, le=10)
    namespaces: tuple[DnsLabel, ...] = ()
    """Serve only these namespaces (empty: all). Given, the reconciler's write access to
    Secrets, Flux objects and RBAC is granted per namespace (RoleBindings), not cluster-wide."""
    image: str = "fluxgitops/reconciler:0.1.0"
    resources: Resources = Field(default_factory=lambda: _resources("5m", "30Mi", "100m", "150Mi"))


class FluxExtensionSpec(SpecModel):
    """What ``microsoft.flux`` installs, modelled for both backends.

    ``version`` pins the Azure extension version (needs ``autoUpgradeMinorVersion:
    false``, as ARM requires); ``fluxVersion`` pins the Flux distribution the
    kubernetes backend installs.
    """

    name: DnsLabel = "flux"
    namespace: DnsLabel = "flux-system"
    version: VersionString | None = None
    auto_upgrade_minor_version: bool = True
    release_train: Literal["Stable", "Preview"] = "Stable"
    flux_version: VersionString = DEFAULT_FLUX_VERSION
    multi_tenancy: MultiTenancy = Field(default_factory=MultiTenancy)
    workload_identity: WorkloadIdentity = Field(default_factory=WorkloadIdentity)
    use_kubelet_identity: bool = False
    controllers: Controllers = Field(default_factory=Controllers)
    reconciler: ReconcilerSpec = Field(default_factory=ReconcilerSpec)

    @model_validator(mode="after")
    def _rules(self) -> FluxExtensionSpec:
        failures: list[RuleFailure] = []
        if self.version is not None and self.auto_upgrade_minor_version:
            failures.append(
                RuleFailure(
                    "version",
                    "pinning a version needs autoUpgradeMinorVersion: false",
                    self.version,
                )
            )
        if self.workload_identity.enable and not self.workload_identity.azure_client_id:
            failures.append(
                RuleFailure("workloadIdentity.azureClientId", "is required when enable is true")
            )
        if self.workload_identity.enable and self.use_kubelet_identity:
            failures.append(
                RuleFailure("useKubeletIdentity", "cannot be combined with workloadIdentity")
            )
        if not self.controllers.source.enabled:
            for name in ("kustomize", "helm"):
                if getattr(self.controllers, name).enabled:
                    failures.append(
                        RuleFailure(
                            f"controllers.{name}.enabled",
                            "needs the source controller (controllers.source.enabled)",
                        )
                    )
        if (
            self.controllers.image_automation.enabled
            and not self.controllers.image_reflector.enabled
        ):
            failures.append(
                RuleFailure(
                    "controllers.imageAutomation.enabled",
                    "needs controllers.imageReflector.enabled",
                )
            )
        raise_rule_failures(failures)
        return self
