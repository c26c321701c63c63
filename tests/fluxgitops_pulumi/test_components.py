"""The public components under Pulumi's mocks: connections, secret Outputs, defaults.

The cluster connection as a kubeconfig ``Output`` (contents or a path), as a
``pulumi_kubernetes.Provider`` in ``opts``, inherited by the configuration from
its extension; a secret argument given as an ``Output`` reaching the dynamic
provider (and ARM, base64) only as a Pulumi secret.
"""

from __future__ import annotations

import base64
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from fluxgitops_pulumi import (
    AzureClusterArgs,
    FluxConfiguration,
    FluxConfigurationArgs,
    FluxExtension,
    FluxExtensionArgs,
    GitRepositoryArgs,
)
from tests.examples.support import Graph, install
from tests.pulumi_support import pulumi_test

KUBECONFIG = "apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: s3cr3t}}]\n"
TOKEN = "ghp_public-api-token-0123456789"


@pytest.fixture
def graph() -> Graph:
    """Mocks recording every registration (outputs = inputs)."""
    return install("public-api", {}, lambda _args: {})


def git(**fields: Any) -> GitRepositoryArgs:
    """An HTTPS Git source with ``fields``."""
    return GitRepositoryArgs(url="https://git.example.com/r.git", **fields)


@pulumi_test
def test_kubeconfig_output_contents_go_to_the_provider_as_a_secret(graph: Graph) -> Any:
    flux = FluxExtension(
        "c1", FluxExtensionArgs(mode="external", kubeconfig=pulumi.Output.from_input(KUBECONFIG))
    )
    config = FluxConfiguration("apps", FluxConfigurationArgs(extension=flux, git_repository=git()))

    def check(_: Any) -> None:
        for name in ("c1-objects", "apps-objects"):
            resource = graph.named(name)
            assert resource.inputs["kubeconfig_content"] == KUBECONFIG
            assert resource.is_secret("kubeconfig_content")
            assert not resource.inputs.get("kubeconfig")

    return config.objects.apply(check)


@pulumi_test
def test_kubeconfig_path_stays_a_path(graph: Graph) -> Any:
    flux = FluxExtension("c1", FluxExtensionArgs(mode="external", kubeconfig="/etc/kube/config"))
    config = FluxConfiguration("apps", FluxConfigurationArgs(extension=flux, git_repository=git()))

    def check(_: Any) -> None:
        resource = graph.named("apps-objects")
        assert resource.inputs["kubeconfig"] == "/etc/kube/config"
        assert not resource.inputs.get("kubeconfig_content")

    return config.objects.apply(check)


@pulumi_test
def test_provider_in_opts_is_the_connection(graph: Graph) -> Any:
    cluster = k8s.Provider("k", kubeconfig=KUBECONFIG, context="kind-a")
    flux = FluxExtension(
        "c1", FluxExtensionArgs(mode="external"), pulumi.ResourceOptions(providers=[cluster])
    )
    config = FluxConfiguration("apps", FluxConfigurationArgs(extension=flux, git_repository=git()))

    def check(_: Any) -> None:
        resource = graph.named("apps-objects")
        assert resource.inputs["kubeconfig_content"] == KUBECONFIG
        assert resource.inputs["context"] == "kind-a"
        assert resource.is_secret("kubeconfig_content")

    return config.objects.apply(check)


@pulumi_test
def test_secret_output_argument_reaches_the_provider_only_as_a_secret(graph: Graph) -> Any:
    flux = FluxExtension("c1", FluxExtensionArgs(mode="external", kubeconfig="/k"))
    token = pulumi.Output.secret(TOKEN)
    config = FluxConfiguration(
        "apps",
        FluxConfigurationArgs(
            extension=flux, git_repository=git(https_user="bot", https_key=token)
        ),
    )

    def check(_: Any) -> None:
        resource = graph.named("apps-objects")
        assert resource.inputs["secrets"] == {"gitRepository.httpsKey": TOKEN}
        assert resource.is_secret("secrets")
        assert not resource.is_secret("spec")
        assert TOKEN not in str(resource.inputs["spec"])
        assert "httpsKey" not in resource.inputs["spec"]["gitRepository"]

    return config.objects.apply(check)


@pulumi_test
def test_secret_output_argument_reaches_arm_base64_as_a_secret(graph: Graph) -> Any:
    where = AzureClusterArgs(resource_group_name=pulumi.Output.from_input("rg"), cluster_name="aks")
    flux = FluxExtension("c1", FluxExtensionArgs(backend="azure", azure=where))
    config = FluxConfiguration(
        "apps",
        FluxConfigurationArgs(
            extension=flux,
            git_repository=git(https_user="bot", https_key=pulumi.Output.secret(TOKEN)),
        ),
    )

    def check(_: Any) -> None:
        resource = graph.named("apps-fluxconfig")
        protected = resource.inputs["configurationProtectedSettings"]
        assert protected == {"httpsKey": base64.b64encode(TOKEN.encode()).decode()}
        assert resource.is_secret("configurationProtectedSettings.httpsKey")
        assert resource.inputs["resourceGroupName"] == "rg"

    return config.objects.apply(check)


@pulumi_test
def test_configuration_name_and_source_kind_default_from_the_resource(graph: Graph) -> Any:
    flux = FluxExtension("c1", FluxExtensionArgs(mode="external", kubeconfig="/k"))
    config = FluxConfiguration(
        "team-b", FluxConfigurationArgs(extension=flux, git_repository=git())
    )

    def check(_: Any) -> None:
        spec = graph.named("team-b-objects").inputs["spec"]
        assert spec["name"] == "team-b"
        assert spec["sourceKind"] == "GitRepository"
        assert config.spec.name == "team-b"

    return config.objects.apply(check)
