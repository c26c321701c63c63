"""The one catalogue of the Kubernetes kinds fluxgitops renders, reads, watches or grants.

Each ``Kind`` says its API group and version, plural, scope and role, and
whether ``render_configuration`` produces it. Every list of kinds elsewhere is
derived from ``CATALOGUE`` here: the generic resources lightkube registers
(``kube.client``), the kinds whose Ready decides compliance (``status``), the
source kinds, what the reconciler watches and cleans up (``MANAGED_KINDS``),
what ``plan`` lists (``PLANNED_KINDS``) and finds by label (``OWNED_KINDS``),
the RBAC objects shared by every configuration of a namespace
(``RBAC_KINDS``), the cluster-scoped kinds
and the reconciler's RBAC rules (``render.extension``). Pure; imported by
everything that needs to know what a kind is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fluxgitops.meta import (
    FLUXCONFIG_API_VERSION,
    FLUXCONFIG_KIND,
    FLUXCONFIG_PLURAL,
    HELM_API_VERSION,
    KUSTOMIZE_API_VERSION,
    RBAC_API_VERSION,
    SOURCE_API_VERSION,
)

Role = Literal["secret", "rbac", "source", "helm-source", "flux", "ours", "cluster"]
"""``secret``: the auth Secret; ``rbac``: the ``flux-applier`` objects a namespace's
configurations share; ``source``: a Flux source a configuration renders; ``helm-source``:
a Flux source Flux creates itself (read, never rendered); ``flux``: a Flux object that
applies (Kustomization, HelmRelease); ``ours``: the FluxConfig; ``cluster``: a built-in
cluster-scoped kind we create or read."""


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` → ``("apps", "v1")``; the core group is ``""`` (``v1`` → ``("", "v1")``)."""
    group, _, version = api_version.rpartition("/")
    return group, version


@dataclass(frozen=True)
class Kind:
    """One kind: where the API serves it, how it is scoped, what it is to us."""

    api_version: str
    kind: str
    plural: str
    role: Role
    namespaced: bool = True
    rendered: bool = False
    """``render_configuration`` produces objects of this kind."""

    @property
    def group(self) -> str:
        """The API group (``""`` for the core group)."""
        return split_api_version(self.api_version)[0]

    @property
    def version(self) -> str:
        """The API version without the group."""
        return split_api_version(self.api_version)[1]

    @property
    def custom(self) -> bool:
        """Served by a CRD (Flux's or ours), so lightkube needs it registered."""
        return self.role in ("source", "helm-source", "flux", "ours")


CATALOGUE: tuple[Kind, ...] = (
    Kind("v1", "Secret", "secrets", "secret", rendered=True),
    Kind("v1", "ServiceAccount", "serviceaccounts", "rbac", rendered=True),
    Kind(RBAC_API_VERSION, "Role", "roles", "rbac", rendered=True),
    Kind(RBAC_API_VERSION, "RoleBinding", "rolebindings", "rbac", rendered=True),
    Kind(
        RBAC_API_VERSION,
        "ClusterRoleBinding",
        "clusterrolebindings",
        "rbac",
        namespaced=False,
        rendered=True,
    ),
    Kind(SOURCE_API_VERSION, "GitRepository", "gitrepositories", "source", rendered=True),
    Kind(SOURCE_API_VERSION, "Bucket", "buckets", "source", rendered=True),
    Kind(SOURCE_API_VERSION, "OCIRepository", "ocirepositories", "source", rendered=True),
    Kind(SOURCE_API_VERSION, "HelmRepository", "helmrepositories", "helm-source"),
    Kind(SOURCE_API_VERSION, "HelmChart", "helmcharts", "helm-source"),
    Kind(KUSTOMIZE_API_VERSION, "Kustomization", "kustomizations", "flux", rendered=True),
    Kind(HELM_API_VERSION, "HelmRelease", "helmreleases", "flux"),
    Kind(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, FLUXCONFIG_PLURAL, "ours", rendered=True),
    Kind(RBAC_API_VERSION, "ClusterRole", "clusterroles", "cluster", namespaced=False),
    Kind("v1", "Namespace", "namespaces", "cluster", namespaced=False),
    Kind(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        "cluster",
        namespaced=False,
    ),
)

CUSTOM_KINDS: tuple[Kind, ...] = tuple(k for k in CATALOGUE if k.custom)
"""Kinds served by CRDs: registered with lightkube as generic resources."""

SOURCE_KINDS: frozenset[str] = frozenset(k.kind for k in CATALOGUE if k.role == "source")
"""The Flux sources a configuration renders (exactly one per configuration)."""

FLUX_KINDS: frozenset[str] = frozenset(k.kind for k in CATALOGUE if k.role in ("source", "flux"))
"""The Flux kinds whose Ready condition decides a configuration's compliance."""

RBAC_KINDS: frozenset[str] = frozenset(k.kind for k in CATALOGUE if k.role == "rbac")
"""The ``flux-applier`` objects every configuration of a namespace shares (removed last)."""

CLUSTER_SCOPED_KINDS: frozenset[str] = frozenset(k.kind for k in CATALOGUE if not k.namespaced)

ORDERING_KINDS: frozenset[str] = frozenset(
    {
        "Namespace",
        "CustomResourceDefinition",
        "APIService",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    }
)
"""Kinds whose presence changes how the API server treats what is applied after them (serves
a new kind, admits or mutates objects): a concurrent apply waits for each before going on."""

MANAGED_KINDS: tuple[tuple[str, str], ...] = tuple(
    (k.api_version, k.kind) for k in CATALOGUE if k.rendered and k.role != "ours"
)
"""Every (apiVersion, kind) ``render_configuration`` produces besides the FluxConfig: what the
reconciler watches (by label) and cleans up."""

OWNED_KINDS: tuple[tuple[str, str], ...] = tuple(
    (k.api_version, k.kind) for k in CATALOGUE if k.rendered and k.role != "rbac"
)
"""What ``plan`` finds by label as a configuration's orphans: labelled objects no inventory
records (the shared RBAC is the namespace's, not a configuration's)."""

PLANNED_KINDS: tuple[Kind, ...] = tuple(k for k in CATALOGUE if k.rendered)
"""What ``plan`` lists, once per kind and namespace (cluster-wide when cluster-scoped): every
kind ``render_configuration`` produces, the FluxConfig (with its inventory) included."""


def rendered_plurals(api_version: str) -> list[str]:
    """Plurals of the rendered kinds of ``api_version`` (for RBAC rules), in catalogue order."""
    return [k.plural for k in CATALOGUE if k.rendered and k.api_version == api_version]
