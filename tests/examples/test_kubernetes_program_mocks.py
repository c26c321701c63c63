"""``examples/kubernetes-program`` under Pulumi's mocks: graph, connection, secrets, wiring."""

from __future__ import annotations

from typing import Any

import pytest

from tests.examples.support import EXAMPLES, Graph, install, run_example
from tests.pulumi_support import pulumi_test

PROGRAM = EXAMPLES / "kubernetes-program"
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\nusers: [{name: u, user: {token: t0p}}]\n"
DYNAMIC = "pulumi-python:dynamic"
"""The type prefix of fluxgitops' dynamic resources."""


def outputs(args: Any) -> dict[str, Any]:
    """What the dynamic FluxConfiguration resource reports after a successful up."""
    if args.typ.startswith(DYNAMIC) and "spec" in args.inputs:
        return {
            "compliance_state": "Compliant",
            "source_synced_commit_id": "0123456789abcdef0123456789abcdef01234567",
            "repository_public_key": "",
            "object_keys": {"FluxConfig team-a/team-a": "fluxgitops.io/v1alpha1"},
        }
    return {}


@pytest.fixture
def graph() -> Graph:
    """Mocks recording the graph; the example's config with the kubeconfig as a secret."""
    return install(
        "flux-on-kubernetes",
        {"gitUrl": "https://git.example.com/gitops.git"},
        outputs,
        secret_config={"kubeconfig": KUBECONFIG},
    )


@pulumi_test
def test_resource_graph_has_the_components_and_their_named_children(graph: Graph) -> Any:
    program = run_example(PROGRAM)

    def check(_: Any) -> None:
        types = {(r.type, r.name) for r in graph.registered}
        assert ("pulumi:providers:kubernetes", "cluster") in types
        assert ("fluxgitops:index:FluxExtension", "flux") in types
        assert ("fluxgitops:index:FluxConfiguration", "team-a") in types
        assert ("kubernetes:core/v1:ConfigMap", "team-a-deployed") in types
        assert graph.named("flux-objects").parent_types == ["fluxgitops:index:FluxExtension"]
        assert graph.named("team-a-objects").parent_types == ["fluxgitops:index:FluxConfiguration"]

    return program["deployed"].urn.apply(check)


@pulumi_test
def test_provider_kubeconfig_reaches_the_dynamic_resources_as_a_secret(graph: Graph) -> Any:
    program = run_example(PROGRAM)

    def check(_: Any) -> None:
        for name in ("flux-objects", "team-a-objects"):
            resource = graph.named(name)
            assert resource.inputs["kubeconfig_content"] == KUBECONFIG
            assert resource.is_secret("kubeconfig_content")
            assert not resource.inputs.get("kubeconfig")

    return program["deployed"].urn.apply(check)


@pulumi_test
def test_configuration_spec_reaches_the_provider_in_stack_field_names(graph: Graph) -> Any:
    program = run_example(PROGRAM)

    def check(_: Any) -> None:
        spec = graph.named("team-a-objects").inputs["spec"]
        assert spec["name"] == "team-a"
        assert spec["scope"] == "namespace"
        assert spec["sourceKind"] == "GitRepository"
        assert spec["gitRepository"]["url"] == "https://git.example.com/gitops.git"
        assert spec["kustomizations"]["app"]["path"] == "teams/team-a"
        assert spec["waitForReconciliation"] is True

    return program["deployed"].urn.apply(check)


@pulumi_test
def test_configmap_records_the_compliant_configuration(graph: Graph) -> Any:
    program = run_example(PROGRAM)

    def check(_: Any) -> None:
        configmap = graph.named("team-a-deployed")
        assert any(urn.endswith("::team-a-objects") for urn in configmap.dependencies), (
            configmap.dependencies
        )
        data = configmap.inputs["data"]
        assert data["complianceState"] == "Compliant"
        assert data["sourceSyncedCommitId"] == "0123456789abcdef0123456789abcdef01234567"

    return program["deployed"].urn.apply(check)
