"""Azure Policy mode: definition choice, parameter schema checks, and the Pulumi resources."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pulumi
import pytest
from pulumi.runtime.config import set_all_config

from components.policy import FleetPolicy, FleetPolicyArgs
from components.program import main
from fluxgitops.errors import SpecError
from fluxgitops.policy import check_parameters
from fluxgitops.policy_builtins import BUILTIN_DEFINITIONS
from fluxgitops.spec.fleet import FLEETS_KEY
from fluxgitops.stack import CONFIG_KEY, StackConfig, parse_stack
from tests.keys import KNOWN_HOSTS, SSH_KEY
from tests.pulumi_support import Recorder as BaseRecorder
from tests.pulumi_support import pulumi_test

DATA = Path(__file__).parent / "testdata" / "policy"
SUB = "00000000-0000-0000-0000-0000000000aa"
RG_SCOPE = f"/subscriptions/{SUB}/resourceGroups/rg-prod"
VAULT = f"/subscriptions/{SUB}/resourceGroups/rg-sec/providers/Microsoft.KeyVault/vaults/kv-flux"
F = TypeVar("F", bound=Callable[..., Any])

CONFIG: dict[str, Any] = {
    "name": "platform",
    "namespace": "cluster-config",
    "gitRepository": {
        "url": "https://github.com/example/fleet-infra",
        "repositoryRef": {"branch": "main"},
    },
    "kustomizations": {"infra": {"path": "./infrastructure", "prune": True}},
}


class Recorder(BaseRecorder):
    """Records every registered resource; a PolicyAssignment gets a principal id."""

    def extra_outputs(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        if args.typ == "azure-native:authorization:PolicyAssignment":
            return {"identity": {"type": "SystemAssigned", "principalId": f"pid-{args.name}"}}
        return {}

    def resource_id(self, args: pulumi.runtime.MockResourceArgs) -> str:
        return f"/assignments/{args.name}"


@pytest.fixture
def recorder() -> Recorder:
    """Pulumi mocks installed for this test; the resources it saw."""
    mocks = Recorder()
    pulumi.runtime.set_mocks(mocks, preview=False)
    return mocks


def _stack(config: dict[str, Any] | None = None, **policy: Any) -> dict[str, Any]:
    fleet = {
        "name": "platform",
        "configurations": [config or CONFIG],
        "policy": {"scope": RG_SCOPE, "location": "westeurope", **policy},
    }
    return {CONFIG_KEY: [], FLEETS_KEY: [fleet]}


def test_builtin_definitions_match_the_kept_schemas() -> None:
    for path in sorted(DATA.glob("*.json")):
        kept = json.loads(path.read_text())
        key = kept.pop("key")
        assert BUILTIN_DEFINITIONS[key] == kept, path.name


def test_public_git_maps_to_no_secrets_definition_with_extension_installer() -> None:
    (fleet,) = parse_stack(_stack()).fleets
    extension, config = fleet.assignments
    assert extension.definition_id.endswith("/f9175d5f-abc8-1dc3-bd3c-5d7476ada3d1")
    assert config.definition_id.endswith("/83ea2fd1-9eaf-2f6d-f672-cd7b2ac798f6")
    assert config.parameters["repositoryUrl"] == "https://github.com/example/fleet-infra"
    assert config.parameters["repositoryRefBranch"] == "main"
    assert config.parameters["kustomizationName"] == "infra"
    assert config.parameters["kustomizationPrune"] is True
    assert config.parameters["repositorySyncInterval"] == 600
    assert config.scope_kind == "resourceGroup"
    assert config.role_definition_ids == (
        f"/subscriptions/{SUB}/providers/microsoft.authorization/roleDefinitions/"
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
    )


def test_ssh_source_uses_key_vault_definition_and_never_the_key() -> None:
    config = {
        **CONFIG,
        "gitRepository": {
            "url": "ssh://git@github.com/example/fleet-infra",
            "sshPrivateKey": SSH_KEY,
            "sshKnownHosts": KNOWN_HOSTS,
        },
    }
    raw = _stack(config, keyVault={"id": VAULT, "secretName": "flux-ssh"})
    (_, assignment) = parse_stack(raw).fleets[0].assignments
    assert assignment.definition == "git-ssh"
    assert assignment.parameters["keyVaultName"] == VAULT
    assert assignment.parameters["keyVaultSecretName"] == "flux-ssh"
    assert (
        base64.b64decode(assignment.parameters["repositorySshKnownHosts"]).decode() == KNOWN_HOSTS
    )
    assert "PRIVATE KEY" not in json.dumps(assignment.parameters)


def test_ssh_source_without_key_vault_is_an_error() -> None:
    config = {
        **CONFIG,
        "gitRepository": {"url": "ssh://git@github.com/e/r", "sshPrivateKey": SSH_KEY},
    }
    with pytest.raises(SpecError) as info:
        parse_stack(_stack(config))
    assert info.value.paths == ["fleets.platform.policy.keyVault"]


def test_wrong_effect_names_path_and_allowed_values() -> None:
    with pytest.raises(SpecError) as info:
        parse_stack(_stack(effect="Audit"))
    assert info.value.paths == ["fleets.platform.policy.effect", "fleets.platform.policy.effect"]
    assert "must be one of 'DeployIfNotExists', 'Disabled'" in str(info.value)
    assert "(got 'Audit')" in str(info.value)


def test_parameter_of_wrong_type_or_unknown_name_fails() -> None:
    with pytest.raises(SpecError) as info:
        parse_stack(_stack(parameters={"kustomizationPrune": "yes", "kustomizationWait": True}))
    errors = {e.path: e for e in info.value.errors}
    assert errors["fleets.platform.policy.parameters.kustomizationPrune"].message.startswith(
        "must be of type boolean"
    )
    assert errors["fleets.platform.policy.parameters.kustomizationWait"].message.startswith(
        "is not a parameter of Azure's built-in policy"
    )


def test_required_parameter_without_default_is_reported() -> None:
    errors = check_parameters(
        "git-local-auth", {"configurationName": "x", "repositoryUrl": "u"}, {}
    )
    assert [e.path for e in errors] == ["repositoryLocalAuthRef"]
    assert "has no default and is not set" in errors[0].message


def test_what_the_definition_cannot_express_is_an_error_not_dropped() -> None:
    config = {
        **CONFIG,
        "kustomizations": {"infra": {"path": "./infrastructure", "wait": False}},
    }
    with pytest.raises(SpecError) as info:
        parse_stack(_stack(config))
    assert info.value.paths == ["fleets.platform.configurations[0].kustomizations.infra.wait"]


def test_two_kustomizations_are_refused() -> None:
    config = {**CONFIG, "kustomizations": {"infra": {}, "apps": {"dependsOn": ["infra"]}}}
    with pytest.raises(SpecError) as info:
        parse_stack(_stack(config))
    assert info.value.paths == ["fleets.platform.configurations[0].kustomizations"]


def test_bad_scope_is_named() -> None:
    with pytest.raises(SpecError) as info:
        parse_stack(_stack(scope="/subscriptions/nope"))
    assert info.value.paths == ["fleets.platform.policy.scope"]
    assert "(got '/subscriptions/nope')" in str(info.value)


def _policy_fleet(stack: StackConfig) -> FleetPolicy:
    (fleet,) = stack.fleets
    return FleetPolicy("platform-policy", FleetPolicyArgs(fleet.assignments))


@pulumi_test
def test_resources_assignment_identity_roles_and_remediation(recorder: Recorder) -> Any:
    component = _policy_fleet(parse_stack(_stack()))

    def check(ids: dict[str, str]) -> None:
        kinds = [(t, n) for t, n, _ in recorder.resources]
        assert (
            "azure-native:authorization:PolicyAssignment",
            "platform-policy-platform-platform",
        ) in kinds
        assert (
            "azure-native:authorization:PolicyAssignment",
            "platform-policy-platform-flux-extension",
        ) in kinds
        roles = [
            i for t, _, i in recorder.resources if t == "azure-native:authorization:RoleAssignment"
        ]
        assert len(roles) == 2
        assert {r["principalId"] for r in roles} == {
            "pid-platform-policy-platform-platform",
            "pid-platform-policy-platform-flux-extension",
        }
        assert {r["scope"] for r in roles} == {RG_SCOPE}
        remediations = [
            i
            for t, _, i in recorder.resources
            if t == "azure-native:policyinsights:RemediationAtResourceGroup"
        ]
        assert {r["resourceGroupName"] for r in remediations} == {"rg-prod"}
        assignment = next(
            i for t, n, i in recorder.resources if n == "platform-policy-platform-platform"
        )
        assert assignment["identity"] == {"type": "SystemAssigned"}
        assert assignment["location"] == "westeurope"
        assert assignment["parameters"]["repositoryUrl"] == {
            "value": "https://github.com/example/fleet-infra"
        }
        assert sorted(ids) == ["platform-flux-extension", "platform-platform"]

    return pulumi.Output.all(
        component.assignment_ids, component.role_assignment_ids, component.remediation_ids
    ).apply(lambda all_: check(all_[0]))


@pulumi_test
def test_management_group_scope_remediates_there(recorder: Recorder) -> Any:
    scope = "/providers/Microsoft.Management/managementGroups/mg-retail"
    component = _policy_fleet(parse_stack(_stack(scope=scope, installExtension=False)))

    def check(_: Any) -> None:
        remediations = [
            i
            for t, _, i in recorder.resources
            if t == "azure-native:policyinsights:RemediationAtManagementGroup"
        ]
        assert [r["managementGroupId"] for r in remediations] == ["mg-retail"]
        roles = [
            i for t, _, i in recorder.resources if t == "azure-native:authorization:RoleAssignment"
        ]
        assert [r["roleDefinitionId"] for r in roles] == [
            "/providers/microsoft.authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
        ]

    return pulumi.Output.all(component.role_assignment_ids, component.remediation_ids).apply(check)


def test_wrong_parameter_fails_the_program_before_any_resource(recorder: Recorder) -> None:
    raw = _stack(parameters={"kustomizationPrune": "yes"})
    set_all_config({key: json.dumps(value) for key, value in raw.items()})
    try:
        with pytest.raises(SpecError) as info:
            main()
    finally:
        set_all_config({})
    assert info.value.paths == ["fleets.platform.policy.parameters.kustomizationPrune"]
    assert recorder.resources == []


def test_https_source_maps_user_and_vault_and_refuses_a_timeout_it_has_no_parameter_for() -> None:
    git = {"url": "https://dev.azure.com/o/p/_git/r", "httpsUser": "bot", "httpsKey": "tok-123"}
    vault = {"id": VAULT, "secretName": "flux-https"}
    (_, assignment) = (
        parse_stack(_stack({**CONFIG, "gitRepository": git}, keyVault=vault)).fleets[0].assignments
    )
    assert assignment.definition == "git-https"
    assert assignment.parameters["repositoryHttpsUser"] == "bot"
    assert assignment.parameters["httpsKeyKeyVaultSecretName"] == "flux-https"
    assert "repositoryTimeout" not in assignment.parameters
    assert "tok-123" not in json.dumps(assignment.parameters)
    with pytest.raises(SpecError) as info:
        parse_stack(_stack({**CONFIG, "gitRepository": {**git, "timeout": "2m"}}, keyVault=vault))
    assert info.value.paths == ["fleets.platform.configurations[0].gitRepository.timeout"]
