"""Cluster-scoped kinds read from a live cluster's CRDs, for the multi-tenancy lint."""

from __future__ import annotations

from lightkube import Client, codecs

from fluxgitops.kube.discovery import cluster_scoped_kinds
from fluxgitops.tenancy import check_manifests, load_manifests
from tests.crds import crd

WIDGET_CRD = crd("discovery.example.com", "Fleet", "fleets", scope="Cluster")


def test_cluster_scoped_crds_of_the_cluster_are_discovered(admin: Client) -> None:
    admin.apply(codecs.from_dict(WIDGET_CRD), force=True)
    kinds = cluster_scoped_kinds(admin)
    assert ("discovery.example.com", "Fleet") in kinds
    assert ("source.toolkit.fluxcd.io", "GitRepository") not in kinds  # namespaced


def test_discovered_kind_is_refused_in_a_namespace_scoped_configuration(admin: Client) -> None:
    admin.apply(codecs.from_dict(WIDGET_CRD), force=True)
    text = "apiVersion: discovery.example.com/v1\nkind: Fleet\nmetadata:\n  name: f\n"
    found = check_manifests(
        load_manifests(text, "fleet.yaml"),
        namespace="team",
        scope="namespace",
        cluster_scoped=cluster_scoped_kinds(admin),
    )
    assert [f.rule for f in found] == ["outside-namespace-scope"]
