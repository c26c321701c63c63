"""FluxExtension and FluxConfiguration under Pulumi's runtime mocks: graph, args, names, secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pulumi
import pytest

from components.flux_configuration import FluxConfiguration, FluxConfigurationArgs
from components.flux_extension import FluxExtension, FluxExtensionArgs
from fluxgitops.azure import ClusterRef
from fluxgitops.spec import parse_configuration, parse_extension
from tests.pulumi_support import Recorder as BaseRecorder
from tests.pulumi_support import pulumi_test

TOKEN = "ghp_component-token-0123456789"
F = TypeVar("F", bound=Callable[..., Any])


class Recorder(BaseRecorder):
    """Records every registered resource; a FluxConfiguration reports Pending and one key."""

    def extra_outputs(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        if args.typ == "pulumi-python:dynamic/fluxgitops:FluxConfiguration":
            return {
                "compliance_state": "Pending",
                "object_keys": {"GitRepository ns/x": "v1"},
                "source_synced_commit_id": "",
                "repository_public_key": "",
            }
        return {}


@pytest.fixture
def recorder() -> Recorder:
    """Mocks installed for this test; the list of resources it saw."""
    mocks = Recorder()
    pulumi.runtime.set_mocks(mocks, preview=False)
    return mocks


def _spec() -> Any:
    return parse_configuration(
        {
            "name": "apps",
            "namespace": "team-a",
            "gitRepository": {"url": "https://h/r.git", "httpsUser": "bot", "httpsKey": TOKEN},
            "kustomizations": {"infra": {}, "apps": {"dependsOn": ["infra"]}},
        }
    )


@pulumi_test
def test_kubernetes_backend_graph_and_child_names(recorder: Recorder) -> Any:

    ext = FluxExtension("c1-flux", FluxExtensionArgs(kubeconfig="/k"))
    config = FluxConfiguration(
        "c1-team-a-apps", FluxConfigurationArgs(spec=_spec(), extension=ext, kubeconfig="/k")
    )

    def check(state: str) -> None:
        kinds = [(t, n) for t, n, _ in recorder.resources]
        assert ("fluxgitops:index:FluxExtension", "c1-flux") in kinds
        assert ("fluxgitops:index:FluxConfiguration", "c1-team-a-apps") in kinds
        assert ("pulumi-python:dynamic/fluxgitops:Manifests", "c1-flux-objects") in kinds
        assert (
            "pulumi-python:dynamic/fluxgitops:FluxConfiguration",
            "c1-team-a-apps-objects",
        ) in kinds
        assert state == "Pending"

    return config.compliance_state.apply(check)


@pulumi_test
def test_secret_values_are_split_out_of_the_spec(recorder: Recorder) -> Any:

    ext = FluxExtension("c1-flux", FluxExtensionArgs())
    config = FluxConfiguration("cfg", FluxConfigurationArgs(spec=_spec(), extension=ext))

    def check(_: Any) -> None:
        inputs = next(i for t, n, i in recorder.resources if n == "cfg-objects")
        assert TOKEN not in repr(inputs["spec"])
        assert "httpsKey" not in inputs["spec"]["gitRepository"]
        assert inputs["spec"]["gitRepository"]["httpsUser"] == "bot"
        assert inputs["multi_tenancy"] is True

    return config.objects.apply(check)


@pulumi_test
def test_extension_external_mode_installs_the_fluxconfig_crd(recorder: Recorder) -> Any:

    spec = parse_extension({"reconciler": {"deploy": False}})  # it runs as a local process
    ext = FluxExtension("c2-flux", FluxExtensionArgs(spec=spec, mode="external"))

    def check(_: Any) -> None:
        inputs = next(i for t, n, i in recorder.resources if n == "c2-flux-objects")
        names = [m["metadata"]["name"] for m in inputs["manifests"]]
        assert names == [
            "fluxconfigs.fluxgitops.io",
            "fluxgitops-fluxconfig-tenancy",
            "fluxgitops-fluxconfig-tenancy",
            "fluxgitops-reconciler-guard",
            "fluxgitops-reconciler-guard",
        ]

    return ext.installed.apply(check)


@pulumi_test
def test_azure_backend_uses_azure_native_resources(recorder: Recorder) -> Any:

    aks = ClusterRef(resource_group_name="rg", cluster_name="aks")
    ext = FluxExtension(
        "aks-flux", FluxExtensionArgs(spec=parse_extension({}), backend="azure", azure=aks)
    )
    config = FluxConfiguration(
        "aks-apps", FluxConfigurationArgs(spec=_spec(), extension=ext, backend="azure", azure=aks)
    )

    def check(_: Any) -> None:
        by_name = {n: (t, i) for t, n, i in recorder.resources}
        ext_type, ext_inputs = by_name["aks-flux-extension"]
        assert ext_type == "azure-native:kubernetesconfiguration:Extension"
        assert ext_inputs["extensionType"] == "microsoft.flux"
        cfg_type, cfg_inputs = by_name["aks-apps-fluxconfig"]
        assert cfg_type == "azure-native:kubernetesconfiguration:FluxConfiguration"
        assert cfg_inputs["clusterResourceName"] == "managedClusters"
        assert cfg_inputs["gitRepository"]["url"] == "https://h/r.git"

    return config.objects.apply(check)


@pulumi_test
def test_azure_oci_source_uses_the_current_api_version(recorder: Recorder) -> Any:
    aks = ClusterRef(resource_group_name="rg", cluster_name="aks")
    ext = FluxExtension(
        "aks-flux", FluxExtensionArgs(spec=parse_extension({}), backend="azure", azure=aks)
    )
    spec = parse_configuration(
        {
            "name": "oci",
            "namespace": "flux-config",
            "sourceKind": "OCIRepository",
            "ociRepository": {
                "url": "oci://ghcr.io/org/app",
                "repositoryRef": {"tag": "v1"},
                "tlsConfig": {"caCertificate": "-----BEGIN CERTIFICATE-----\nx\n"},
            },
            "kustomizations": {"app.one": {"postBuild": {"substitute": {"cluster_env": "prod"}}}},
        }
    )
    config = FluxConfiguration(
        "aks-oci", FluxConfigurationArgs(spec=spec, extension=ext, backend="azure", azure=aks)
    )

    def check(_: Any) -> None:
        by_name = {n: (t, i) for t, n, i in recorder.resources}
        cfg_type, inputs = by_name["aks-oci-fluxconfig"]
        assert cfg_type == "azure-native:kubernetesconfiguration/v20250401:FluxConfiguration"
        assert inputs["sourceKind"] == "OCIRepository"
        # the TLS material is a secret, so the untyped block travels as one secret value
        oci = inputs["ociRepository"]
        assert oci[pulumi.runtime.rpc._special_sig_key] == pulumi.runtime.rpc._special_secret_sig
        assert oci["value"]["repositoryRef"] == {"tag": "v1"}
        assert oci["value"]["timeoutInSeconds"] == 600
        assert inputs["clusterResourceName"] == "managedClusters"
        # user data keeps its names: kustomization keys and substitution variables
        substitute = inputs["kustomizations"]["app.one"]["postBuild"]["substitute"]
        assert substitute == {"cluster_env": "prod"}

    return config.compliance_state.apply(check)
