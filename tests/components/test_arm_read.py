"""The ARM read under Pulumi's mocks: the invoke's arguments, the body it returns, failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.arm_read import (
    CREDENTIALS_HELP,
    ArmRequest,
    invoke_all,
    missing_credentials,
    preview_error,
    read_arm,
)
from fluxgitops.armstatus import arm_status_document
from fluxgitops.azure import ClusterRef

DATA = Path(__file__).parent.parent / "testdata" / "armstatus"
TOKEN = "azure-native:kubernetesconfiguration:getFluxConfiguration"


class ArmMocks(pulumi.runtime.Mocks):
    """Answers getFluxConfiguration with a test body per configuration name; records calls."""

    def __init__(self, bodies: dict[str, dict[str, Any]]) -> None:
        self.bodies = bodies
        self.calls: list[dict[str, Any]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        raise AssertionError(f"the ARM read declared a resource: {args.typ}")

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        assert args.token == TOKEN
        self.calls.append(dict(args.args))
        name = str(args.args["fluxConfigurationName"])
        if name not in self.bodies:
            raise RuntimeError(f'Code="ResourceNotFound" fluxConfiguration {name!r} not found')
        return dict(self.bodies[name]["properties"]), []


def _body(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return loaded


@pytest.fixture
def mocks() -> ArmMocks:
    """Mocks installed for this test: ``platform`` (AKS) and ``apps`` (Arc) exist."""
    found = ArmMocks({"platform": _body("compliant"), "apps": _body("noncompliant")})
    pulumi.runtime.set_mocks(found, preview=True)
    return found


AKS = ClusterRef(resource_group_name="rg-prod", cluster_name="aks-prod")
ARC = ClusterRef(
    resource_group_name="rg-edge", cluster_name="arc-store-12", cluster_type="connectedClusters"
)


def test_invoke_receives_the_cluster_coordinates_and_name(mocks: ArmMocks) -> None:
    invoke_all(
        [
            ArmRequest("aks-prod", AKS, "flux-system", "platform"),
            ArmRequest("arc-store-12", ARC, "apps", "apps"),
        ]
    )
    assert mocks.calls == [
        {
            "clusterName": "aks-prod",
            "clusterResourceName": "managedClusters",
            "clusterRp": "Microsoft.ContainerService",
            "fluxConfigurationName": "platform",
            "resourceGroupName": "rg-prod",
        },
        {
            "clusterName": "arc-store-12",
            "clusterResourceName": "connectedClusters",
            "clusterRp": "Microsoft.Kubernetes",
            "fluxConfigurationName": "apps",
            "resourceGroupName": "rg-edge",
        },
    ]


def test_invoke_body_maps_like_the_arm_response(mocks: ArmMocks) -> None:
    (read,) = invoke_all([ArmRequest("aks-prod", AKS, "flux-system", "platform")])
    assert read.error == ""
    assert read.body is not None
    assert "repositoryPublicKey" not in read.body
    doc = arm_status_document("aks-prod", "flux-system", "platform", read.body)
    assert doc == arm_status_document("aks-prod", "flux-system", "platform", _body("compliant"))


def test_failed_invoke_is_one_line_and_the_others_are_read(mocks: ArmMocks) -> None:
    missing, found = invoke_all(
        [
            ArmRequest("aks-prod", AKS, "flux-system", "gone"),
            ArmRequest("aks-prod", AKS, "flux-system", "platform"),
        ]
    )
    assert missing.body is None
    assert missing.error.startswith("ARM read failed: ")
    assert "ResourceNotFound" in missing.error
    assert "\n" not in missing.error
    assert found.body is not None


def test_no_credentials_is_named_with_what_to_do(tmp_path: Path) -> None:
    assert missing_credentials({}, tmp_path) == CREDENTIALS_HELP
    assert "az login" in CREDENTIALS_HELP


def test_service_principal_variables_are_credentials(tmp_path: Path) -> None:
    assert missing_credentials({"ARM_CLIENT_ID": "x"}, tmp_path) == ""


def test_failed_preview_names_the_engine_cause() -> None:
    output = (
        " code: 1\n stdout: Previewing update (arm-read):\n\n"
        "    pulumi:providers:azure-native default_3_29_0  error: no resource plugin "
        "'pulumi-resource-azure-native' found in the workspace at version v3.29.0 or on "
        "your $PATH\n"
        "    pulumi:providers:azure-native default_3_29_0  1 error\n"
    )
    assert preview_error(output) == (
        "no resource plugin 'pulumi-resource-azure-native' found in the workspace at version "
        "v3.29.0 or on your $PATH"
    )


def test_read_through_a_real_preview_fails_in_one_line_without_azure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real path: the built pulumi CLI previews the inline program on a throwaway stack;
    Azure is unreachable here (and the azure-native plugin may be missing), so every request
    comes back as one line naming the cause, never a traceback."""
    for name in ("ARM_CLIENT_ID", "ARM_CLIENT_SECRET", "ARM_TENANT_ID"):
        monkeypatch.setenv(name, "00000000-0000-0000-0000-000000000000")
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000000")
    reads = read_arm([ArmRequest("aks-prod", AKS, "flux-system", "platform")])
    assert [(r.request.name, r.body) for r in reads] == [("platform", None)]
    assert reads[0].error.startswith("ARM read failed: ")
    assert "\n" not in reads[0].error
