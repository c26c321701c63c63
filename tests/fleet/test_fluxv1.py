"""Flux v1 on a cluster blocks the Flux v2 install: live CRD check and Azure invoke (mocks)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pulumi
import pytest
from lightkube import ApiError, Client, codecs
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from pulumi.runtime.config import set_all_config

from components.fluxv1 import refuse_kubernetes_flux_v1
from components.program import main
from fluxgitops.errors import FluxV1InstalledError
from fluxgitops.fluxv1 import find_flux_v1, refuse_flux_v1
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.stack import CONFIG_KEY, parse_stack
from tests.crds import crd
from tests.pulumi_support import pulumi_test

F = TypeVar("F", bound=Callable[..., Any])

V1_CRD = crd("helm.fluxcd.io", "HelmRelease", "helmreleases")
"""The Flux v1 Helm operator's HelmRelease CRD (group helm.fluxcd.io), schema reduced."""


@pytest.fixture(scope="module")
def flux_v1_crd(admin: Client) -> Iterator[None]:
    """The Flux v1 HelmRelease CRD applied to the test control plane for this module's tests
    that ask for it (after the clean-cluster test), removed at the end."""
    admin.apply(codecs.from_dict(V1_CRD), force=True)
    yield
    with contextlib.suppress(ApiError):
        admin.delete(CustomResourceDefinition, "helmreleases.helm.fluxcd.io")


def test_clean_cluster_has_no_flux_v1(admin: Client) -> None:
    assert find_flux_v1(admin) == []


def test_flux_v1_crd_blocks_with_migration_plan(admin: Client, flux_v1_crd: None) -> None:
    with pytest.raises(FluxV1InstalledError) as info:
        refuse_flux_v1(admin, "onprem-1")
    message = str(info.value)
    assert message.startswith(
        "cluster 'onprem-1': Flux v1 is installed (CRD helmreleases.helm.fluxcd.io)"
    )
    assert "fluxgitops migrate FILE" in message


def test_program_check_on_kubernetes_cluster_blocks(
    control_plane: ControlPlane, flux_v1_crd: None
) -> None:
    stack = parse_stack({CONFIG_KEY: [{"name": "k1", "kubeconfig": str(control_plane.kubeconfig)}]})
    with pytest.raises(FluxV1InstalledError):
        refuse_kubernetes_flux_v1(stack.clusters[0], str(control_plane.kubeconfig), content=False)


class AzureMocks(pulumi.runtime.Mocks):
    """ARM as seen through invokes: one Flux v1 configuration named ``legacy``."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.resources: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args.typ)
        return f"{args.name}-id", dict(args.inputs)

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.calls.append(dict(args.args))
        if args.args.get("sourceControlConfigurationName") != "legacy":
            return {}, [("sourceControlConfigurationName", "ResourceNotFound: was not found")]
        return {
            "name": "legacy",
            "repositoryUrl": "git@github.com:example/fleet-infra",
            "operatorNamespace": "flux",
            "operatorInstanceName": "legacy",
        }, []


@pytest.fixture
def azure_mocks() -> AzureMocks:
    """Mocks installed for this test (no Azure is reachable here)."""
    mocks = AzureMocks()
    pulumi.runtime.set_mocks(mocks, preview=True)
    return mocks


def _azure_stack(*v1_names: str) -> dict[str, str]:
    cluster = {
        "name": "prod-weu",
        "backend": "azure",
        "azure": {
            "resourceGroupName": "rg-prod",
            "clusterName": "aks-prod-weu",
            "fluxV1Configurations": list(v1_names),
        },
        "configurations": [
            {"name": "platform", "gitRepository": {"url": "https://github.com/example/fleet-infra"}}
        ],
    }
    return {CONFIG_KEY: json.dumps([cluster])}


def test_azure_flux_v1_configuration_fails_preview_naming_it(azure_mocks: AzureMocks) -> None:
    set_all_config(_azure_stack("legacy"))
    try:
        with pytest.raises(FluxV1InstalledError) as info:
            main()
    finally:
        set_all_config({})
    assert (
        "sourceControlConfiguration 'legacy' (repository 'git@github.com:example/fleet-infra'"
        in str(info.value)
    )
    assert [c["sourceControlConfigurationName"] for c in azure_mocks.calls] == [
        "legacy",
        "platform",
    ]
    assert azure_mocks.resources == []


@pulumi_test
def test_azure_cluster_without_flux_v1_proceeds(azure_mocks: AzureMocks) -> None:
    set_all_config(_azure_stack())
    try:
        main()
    finally:
        set_all_config({})
    assert [c["sourceControlConfigurationName"] for c in azure_mocks.calls] == ["platform"]
