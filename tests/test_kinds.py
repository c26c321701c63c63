"""The catalogue of kinds agrees with what a real API server serves, and with the renderer."""

from __future__ import annotations

from lightkube import Client
from lightkube.codecs import resource_registry
from lightkube.core.resource import NamespacedResource
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

from fluxgitops.kinds import CATALOGUE, CUSTOM_KINDS, MANAGED_KINDS, OWNED_KINDS, RBAC_KINDS
from fluxgitops.meta import FLUXCONFIG_KIND


def test_custom_kinds_match_the_installed_crds(admin: Client) -> None:
    served = {
        (crd.spec.group, crd.spec.names.kind): (crd.spec.names.plural, crd.spec.scope)
        for crd in admin.list(CustomResourceDefinition)
    }
    for kind in CUSTOM_KINDS:
        scope = "Namespaced" if kind.namespaced else "Cluster"
        assert served[(kind.group, kind.kind)] == (kind.plural, scope), kind


def test_built_in_kinds_match_kubernetes() -> None:
    for kind in (k for k in CATALOGUE if not k.custom):
        resource = resource_registry.load(kind.api_version, kind.kind)
        assert resource._api_info.plural == kind.plural, kind
        assert issubclass(resource, NamespacedResource) is kind.namespaced, kind


def test_owned_and_managed_split_on_the_shared_rbac_and_the_fluxconfig() -> None:
    managed = {kind for _, kind in MANAGED_KINDS}
    owned = {kind for _, kind in OWNED_KINDS}
    assert managed - owned == RBAC_KINDS
    assert owned - managed == {FLUXCONFIG_KIND}
