"""``FleetPolicy``: a policy-mode fleet as Azure Policy assignments (pulumi-azure-native).

For each ``fluxgitops.policy.Assignment`` (the pure layer chose the built-in
definition and checked every parameter against its schema) this declares:
the ``authorization.PolicyAssignment`` with its parameters, a system-assigned
managed identity and its location; one ``authorization.RoleAssignment`` per
role in the definition's ``roleDefinitionIds`` for that identity at the
assignment's scope (DeployIfNotExists deploys with it), and at the Key Vault
too when the definition reads a key from one (``assignPermissions``); and,
unless ``remediate: false``, a ``policyinsights.Remediation*`` at the same
scope so clusters that already exist are brought in line — new clusters are
handled by Azure Policy itself. Called by the Pulumi program
(``components.program``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from fluxgitops.policy import Assignment

_ROLE_NAMESPACE = uuid.UUID("6b1f6c7e-5a55-4d1c-9d4b-2f1f0c0f1a11")
"""Fixed namespace for the role assignment names (ARM wants a GUID; stable across runs)."""


def role_assignment_name(scope: str, assignment: str, role: str) -> str:
    """A stable GUID for one role of one assignment at one scope."""
    return str(uuid.uuid5(_ROLE_NAMESPACE, f"{scope}|{assignment}|{role}"))


@dataclass
class FleetPolicyArgs:
    """What to assign: the fleet's assignments as ``fluxgitops.policy.plan_policy`` built them."""

    assignments: Sequence[Assignment]


def _remediation(
    name: str,
    assignment: Assignment,
    assignment_id: pulumi.Output[str],
    opts: pulumi.ResourceOptions,
) -> pulumi.CustomResource:
    """The remediation task at the assignment's scope (one resource type per scope kind)."""
    parts = assignment.scope.split("/")
    mode = "ReEvaluateCompliance"
    if assignment.scope_kind == "managementGroup":
        return azure_native.policyinsights.RemediationAtManagementGroup(
            name,
            management_group_id=parts[-1],
            management_groups_namespace="Microsoft.Management",
            policy_assignment_id=assignment_id,
            remediation_name=assignment.name,
            resource_discovery_mode=mode,
            opts=opts,
        )
    if assignment.scope_kind == "resourceGroup":
        return azure_native.policyinsights.RemediationAtResourceGroup(
            name,
            resource_group_name=parts[4],
            policy_assignment_id=assignment_id,
            remediation_name=assignment.name,
            resource_discovery_mode=mode,
            opts=opts,
        )
    return azure_native.policyinsights.RemediationAtSubscription(
        name,
        policy_assignment_id=assignment_id,
        remediation_name=assignment.name,
        resource_discovery_mode=mode,
        opts=opts,
    )


class FleetPolicy(pulumi.ComponentResource):
    """The Azure Policy assignments of one policy-mode fleet."""

    assignment_ids: pulumi.Output[dict[str, str]]
    principal_ids: pulumi.Output[dict[str, str]]
    role_assignment_ids: pulumi.Output[list[str]]
    remediation_ids: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: FleetPolicyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("fluxgitops:index:FleetPolicy", name, None, opts)
        ids: dict[str, pulumi.Output[str]] = {}
        principals: dict[str, pulumi.Output[str]] = {}
        role_ids: list[pulumi.Output[str]] = []
        remediation_ids: list[pulumi.Output[str]] = []
        for a in args.assignments:
            child = pulumi.ResourceOptions(parent=self)
            policy = azure_native.authorization.PolicyAssignment(
                f"{name}-{a.name}",
                policy_assignment_name=a.name,
                scope=a.scope,
                policy_definition_id=a.definition_id,
                display_name=a.display_name,
                enforcement_mode="Default",
                identity=azure_native.authorization.IdentityArgs(
                    type=azure_native.authorization.ResourceIdentityType.SYSTEM_ASSIGNED
                ),
                location=a.location,
                parameters={
                    key: azure_native.authorization.ParameterValuesValueArgs(value=value)
                    for key, value in a.parameters.items()
                },
                opts=child,
            )
            principal = policy.identity.apply(lambda i: i.principal_id if i else "")
            scopes = [a.scope]
            vault = a.parameters.get("keyVaultName")
            if isinstance(vault, str):
                scopes.append(vault)
            roles = [
                azure_native.authorization.RoleAssignment(
                    f"{name}-{a.name}-role-{i}",
                    role_assignment_name=role_assignment_name(scope, a.name, role),
                    principal_id=principal,
                    principal_type="ServicePrincipal",
                    role_definition_id=role,
                    scope=scope,
                    opts=child,
                )
                for i, (scope, role) in enumerate(
                    (s, r) for s in scopes for r in a.role_definition_ids
                )
            ]
            role_ids += [r.id for r in roles]
            if a.remediate:
                remediation = _remediation(
                    f"{name}-{a.name}-remediation",
                    a,
                    policy.id,
                    pulumi.ResourceOptions(parent=self, depends_on=roles),
                )
                remediation_ids.append(remediation.id)
            ids[a.name] = policy.id
            principals[a.name] = principal
        self.assignment_ids = (
            pulumi.Output.all(**ids).apply(dict) if ids else pulumi.Output.from_input({})
        )
        self.principal_ids = (
            pulumi.Output.all(**principals).apply(dict)
            if principals
            else pulumi.Output.from_input({})
        )
        self.role_assignment_ids = pulumi.Output.all(*role_ids).apply(list)
        self.remediation_ids = pulumi.Output.all(*remediation_ids).apply(list)
        self.register_outputs(
            {
                "assignment_ids": self.assignment_ids,
                "principal_ids": self.principal_ids,
                "role_assignment_ids": self.role_assignment_ids,
                "remediation_ids": self.remediation_ids,
            }
        )
