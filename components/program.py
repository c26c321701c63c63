"""The fluxgitops Pulumi program: each cluster of the stack, its extension and configurations.

``main`` runs inside a Pulumi deployment: from ``__main__.py`` (``pulumi up``
with the Python language host) or inline through the Automation API
(``components.automation``, ``fluxgitops up``). It reads
``fluxgitops:clusters`` and ``fluxgitops:fleets`` from the stack
(``stacks/Pulumi.<stack>.yaml``), validates all of it at once with
``parse_stack`` (an invalid stack fails the preview with every field path and
creates nothing), refuses clusters that still run Flux v1
(``components.fluxv1``), then declares one ``FluxExtension`` per cluster and
one ``FluxConfiguration`` per configuration; last, it waits for what it declared once
(``components.registration.settle``; the SDK's own end-of-program wait is quadratic).
``kubeconfig: local`` means the project's local control plane
(``fluxgitops local up``) and ``${local.git}`` the Git server it runs;
``mode: install`` without ``fluxBundle:`` installs the Flux bundle
``tools/build.py flux-bundle`` generates. A fleet with ``policy:`` becomes a
``FleetPolicy`` (Azure Policy assignments, ``components.policy``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import get_config

from components import registration
from components.flux_configuration import FluxConfiguration, FluxConfigurationArgs
from components.flux_extension import FluxExtension, FluxExtensionArgs, load_bundle
from components.fluxv1 import refuse_azure_flux_v1, refuse_kubernetes_flux_v1
from components.policy import FleetPolicy, FleetPolicyArgs
from fluxgitops.localrefs import local_dir, resolve_kubeconfig, stack_placeholders
from fluxgitops.spec import FluxConfigurationSpec
from fluxgitops.spec.fleet import FLEETS_KEY
from fluxgitops.stack import CONFIG_KEY, Cluster, StackConfig, parse_stack


def _bundle(cluster: Cluster) -> list[dict[str, Any]]:
    """The cluster's ``fluxBundle:`` file; empty means the generated bundle (FluxExtension)."""
    if cluster.flux_bundle is None:
        return []
    return load_bundle(Path(cluster.flux_bundle))


def configuration_name(cluster: Cluster, spec: FluxConfigurationSpec) -> str:
    """The ``FluxConfiguration`` component's name: ``<cluster>-<namespace>-<name>``."""
    return f"{cluster.name}-{spec.namespace}-{spec.name}"


def main() -> StackConfig:
    """Declare the stack's resources; returns the parsed stack (``components.automation``
    waits for its configurations without parsing the config again)."""
    registration.apply()
    raw = get_config(CONFIG_KEY)
    fleets = get_config(FLEETS_KEY)
    stack = parse_stack(
        {
            CONFIG_KEY: json.loads(raw) if raw else None,
            FLEETS_KEY: json.loads(fleets) if fleets else None,
        },
        subject=f"stack {pulumi.get_stack()!r}",
        placeholders=stack_placeholders(local_dir()),
    )
    kubeconfig_content = pulumi.Config().get_secret("kubeconfigContent")
    declared: list[pulumi.Output[Any]] = []
    for fleet in stack.fleets:
        if fleet.assignments:
            policy = FleetPolicy(f"{fleet.name}-policy", FleetPolicyArgs(fleet.assignments))
            pulumi.export(f"{fleet.name}:policyAssignments", policy.assignment_ids)
            declared += [policy.urn, policy.assignment_ids]
    for cluster in stack.clusters:
        kubeconfig = resolve_kubeconfig(cluster.kubeconfig)
        if cluster.backend == "azure":
            refuse_azure_flux_v1(cluster)
        else:
            refuse_kubernetes_flux_v1(cluster, kubeconfig, kubeconfig_content is not None)
        extension = FluxExtension(
            f"{cluster.name}-flux",
            FluxExtensionArgs(
                spec=cluster.extension,
                backend=cluster.backend,
                mode=cluster.mode,
                kubeconfig=kubeconfig,
                kubeconfig_content=kubeconfig_content,
                context=cluster.context,
                azure=cluster.azure,
                bundle=_bundle(cluster),
            ),
        )
        for spec in cluster.configurations:
            name = configuration_name(cluster, spec)
            config = FluxConfiguration(
                name,
                FluxConfigurationArgs(
                    spec=spec,
                    extension=extension,
                    backend=cluster.backend,
                    kubeconfig=kubeconfig,
                    kubeconfig_content=kubeconfig_content,
                    context=cluster.context,
                    azure=cluster.azure,
                    source_check=cluster.source_checks,
                ),
            )
            pulumi.export(f"{name}:complianceState", config.compliance_state)
            pulumi.export(f"{name}:objects", config.objects)
            pulumi.export(f"{name}:repositoryPublicKey", config.repository_public_key)
            declared += [
                config.urn,
                config.compliance_state,
                config.objects,
                config.repository_public_key,
            ]
        declared += [extension.urn, extension.installed]
    registration.settle(declared)
    return stack
