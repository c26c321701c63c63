"""Render the ``flux-applier`` ServiceAccount and its binding, as multi-tenancy requires.

With ``multiTenancy.enforce`` the kustomize and helm controllers impersonate
``flux-applier`` in the configuration namespace. Cluster scope binds it to
``cluster-admin`` (ClusterRoleBinding ``flux-applier-<namespace>``); namespace
scope gives it a Role limited to its namespace. These objects are shared by
every configuration of the namespace (``fluxgitops.kinds.RBAC_KINDS``), so
deleting one configuration must not remove them while another one remains.
Called by ``fluxgitops.render.configuration``. Pure.
"""

from __future__ import annotations

from fluxgitops.manifest import Manifest
from fluxgitops.meta import (
    APPLIER_SERVICE_ACCOUNT,
    LABEL_CONFIGURATION_NAMESPACE,
    LABEL_MANAGED_BY,
    RBAC_API_VERSION,
    metadata,
)
from fluxgitops.spec.configuration import FluxConfigurationSpec

CLUSTER_ADMIN = "cluster-admin"
"""The one ClusterRole a cluster-scope ``flux-applier`` is bound to (Azure's design)."""


def cluster_binding_name(namespace: str) -> str:
    """The ClusterRoleBinding of a cluster-scope ``flux-applier``: ``flux-applier-<namespace>``."""
    return f"{APPLIER_SERVICE_ACCOUNT}-{namespace}"


def _shared_labels(namespace: str) -> dict[str, str]:
    # no configuration label: the object belongs to the namespace, not to one configuration
    return {LABEL_MANAGED_BY: "fluxgitops", LABEL_CONFIGURATION_NAMESPACE: namespace}


def render_rbac(spec: FluxConfigurationSpec) -> list[Manifest]:
    """ServiceAccount, then Role + RoleBinding (namespace scope) or ClusterRoleBinding (cluster)."""
    ns = spec.namespace
    labels = _shared_labels(ns)
    subject = {"kind": "ServiceAccount", "name": APPLIER_SERVICE_ACCOUNT, "namespace": ns}
    out = [
        Manifest(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": metadata(APPLIER_SERVICE_ACCOUNT, ns, labels),
            }
        )
    ]
    if spec.scope == "cluster":
        out.append(
            Manifest(
                {
                    "apiVersion": RBAC_API_VERSION,
                    "kind": "ClusterRoleBinding",
                    "metadata": metadata(cluster_binding_name(ns), None, labels),
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": CLUSTER_ADMIN,
                    },
                    "subjects": [subject],
                }
            )
        )
        return out
    out.append(
        Manifest(
            {
                "apiVersion": RBAC_API_VERSION,
                "kind": "Role",
                "metadata": metadata(APPLIER_SERVICE_ACCOUNT, ns, labels),
                "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
            }
        )
    )
    out.append(
        Manifest(
            {
                "apiVersion": RBAC_API_VERSION,
                "kind": "RoleBinding",
                "metadata": metadata(APPLIER_SERVICE_ACCOUNT, ns, labels),
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": APPLIER_SERVICE_ACCOUNT,
                },
                "subjects": [subject],
            }
        )
    )
    return out
