"""``examples/aks-program`` under Pulumi's mocks (Azure is unreachable here).

The resource graph (azure-native types, parents, ``f"{name}-…"`` children), the
AKS cluster's name and resource group flowing into the ARM extension and
fluxConfiguration, the configuration depending on the extension, and the
cluster's kubeconfig ``Output`` reaching a ``pulumi_kubernetes.Provider`` as a secret.
"""

from __future__ import annotations

import base64
from typing import Any

import pulumi
import pytest

from tests.examples.support import EXAMPLES, Graph, install, run_example
from tests.pulumi_support import pulumi_test

PROGRAM = EXAMPLES / "aks-program"
KUBECONFIG = "apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: aks-t0ken}}]\n"
EXTENSION = "azure-native:kubernetesconfiguration:Extension"
FLUXCONFIG = "azure-native:kubernetesconfiguration:FluxConfiguration"


def outputs(args: Any) -> dict[str, Any]:
    """What Azure would report: the generated names."""
    if args.typ == "azure-native:resources:ResourceGroup":
        return {"name": "flux-rg-1234", "location": "westeurope"}
    if args.typ == "azure-native:containerservice:ManagedCluster":
        return {"name": "aks-5678"}
    if args.typ == FLUXCONFIG:
        return {"compliance_state": "Compliant", "source_synced_commit_id": "main@sha1:abc"}
    return {}


def calls(args: Any) -> dict[str, Any]:
    """``listManagedClusterUserCredentials``: the kubeconfig, base64 as ARM sends it."""
    assert args.token == "azure-native:containerservice:listManagedClusterUserCredentials"
    assert args.args["resourceName"] == "aks-5678"
    value = base64.b64encode(KUBECONFIG.encode()).decode()
    return {"kubeconfigs": [{"name": "clusterUser", "value": value}]}


def done(program: dict[str, Any]) -> pulumi.Output[Any]:
    """Resolves once the last resources of the program are registered."""
    return pulumi.Output.all(program["source_note"].urn, program["cluster_config"].objects)


@pytest.fixture
def graph() -> Graph:
    """Mocks recording the graph of the AKS example."""
    return install("flux-on-aks", {}, outputs, calls=calls)


@pulumi_test
def test_resource_graph_has_azure_children_named_after_the_components(graph: Graph) -> Any:
    program = run_example(PROGRAM)

    def check(_: Any) -> None:
        extension = graph.named("flux-extension")
        fluxconfig = graph.named("cluster-config-fluxconfig")
        assert extension.type == EXTENSION
        assert extension.parent_types == ["fluxgitops:index:FluxExtension"]
        assert fluxconfig.type == FLUXCONFIG
        assert fluxconfig.parent_types == ["fluxgitops:index:FluxConfiguration"]
        assert graph.named("aks").type == "azure-native:containerservice:ManagedCluster"

    return done(program).apply(check)


@pulumi_test
def test_cluster_outputs_flow_into_the_arm_resources(graph: Graph) -> Any:
    program = run_example(PROGRAM)

    def check(_: Any) -> None:
        for name in ("flux-extension", "cluster-config-fluxconfig"):
            inputs = graph.named(name).inputs
            assert inputs["clusterName"] == "aks-5678"
            assert inputs["resourceGroupName"] == "flux-rg-1234"
            assert inputs["clusterRp"] == "Microsoft.ContainerService"
            assert inputs["clusterResourceName"] == "managedClusters"
        spec = graph.named("cluster-config-fluxconfig").inputs
        assert spec["namespace"] == "cluster-config"
        assert spec["kustomizations"]["apps"]["dependsOn"] == ["infra"]

    return done(program).apply(check)


@pulumi_test
def test_configuration_depends_on_the_extension(graph: Graph) -> Any:
    program = run_example(PROGRAM)

    def check(_: Any) -> None:
        fluxconfig = graph.named("cluster-config-fluxconfig")
        assert any(urn.endswith("::flux-extension") for urn in fluxconfig.dependencies)
        configmap = graph.named("gitops-source")
        assert any(urn.endswith("::cluster-config-fluxconfig") for urn in configmap.dependencies)

    return done(program).apply(check)


@pulumi_test
def test_cluster_kubeconfig_reaches_the_kubernetes_provider_as_a_secret(graph: Graph) -> Any:
    program = run_example(PROGRAM)

    def check(_: Any) -> None:
        provider = graph.named("aks-k8s")
        assert provider.type == "pulumi:providers:kubernetes"
        assert provider.inputs["kubeconfig"] == KUBECONFIG
        assert provider.is_secret("kubeconfig")

    return done(program).apply(check)
