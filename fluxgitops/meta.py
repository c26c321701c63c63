"""Names, labels and API versions shared by everything that renders or finds our objects.

The renderer stamps these labels; the provider, the reconciler and the CLI
select on them; ``kinds`` builds its catalogue on the API versions. A leaf
(imports nothing of the project), below ``render`` and ``fluxconfig``. Our API
group is ``fluxgitops.io`` — never ``clusterconfig.azure.com``, which Azure's
extension owns on AKS. Pure.
"""

from __future__ import annotations

from typing import Any

GROUP = "fluxgitops.io"
FLUXCONFIG_VERSION = "v1alpha1"
FLUXCONFIG_API_VERSION = f"{GROUP}/{FLUXCONFIG_VERSION}"
FLUXCONFIG_KIND = "FluxConfig"
FLUXCONFIG_PLURAL = "fluxconfigs"

SOURCE_API_VERSION = "source.toolkit.fluxcd.io/v1"
KUSTOMIZE_API_VERSION = "kustomize.toolkit.fluxcd.io/v1"
HELM_API_VERSION = "helm.toolkit.fluxcd.io/v2"
RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"

FIELD_MANAGER = "fluxgitops"
APPLIER_SERVICE_ACCOUNT = "flux-applier"

LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_CONFIGURATION = f"{GROUP}/configuration"
LABEL_CONFIGURATION_NAMESPACE = f"{GROUP}/configuration-namespace"


def labels_for(config: str, namespace: str) -> dict[str, str]:
    """The common labels naming the owning configuration."""
    return {
        LABEL_MANAGED_BY: "fluxgitops",
        LABEL_CONFIGURATION: config,
        LABEL_CONFIGURATION_NAMESPACE: namespace,
    }


def metadata(
    name: str, namespace: str | None, labels: dict[str, str], **extra: Any
) -> dict[str, Any]:
    """A ``metadata`` block; ``namespace=None`` for cluster-scoped objects."""
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = dict(labels)
    meta.update({k: v for k, v in extra.items() if v})
    return meta


def auth_secret_name(config: str) -> str:
    """The Secret holding the source credentials of ``config``."""
    return f"{config}-auth"


def kustomization_name(config: str, kustomization: str) -> str:
    """The Kustomization object name, as Azure names it: ``<config>-<kustomization>``."""
    return f"{config}-{kustomization}"
