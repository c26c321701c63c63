"""``FluxConfiguration``: one source and its Kustomizations on one cluster.

Backends:
- ``kubernetes``: a ``FluxConfigurationResource`` (our dynamic provider) that
  renders and applies the Flux objects, and with ``waitForReconciliation`` a
  ``ReconciliationResource`` after it that ends when the configuration is
  Compliant (its outputs are then the component's). The spec goes in without secret
  values, which travel separately as a Pulumi secret, so previews diff the
  spec and the rendered objects field by field and state holds no plaintext.
- ``azure``: an azure-native ``FluxConfiguration`` (ARM) built by
  ``components.azure_args``.

Outputs on both: ``compliance_state``, ``source_synced_commit_id``,
``repository_public_key`` and ``objects`` (keys of the generated objects, or
the ARM resource ID). Always ``depends_on`` its ``FluxExtension``. Called by
the Pulumi program (``__main__.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_azure_native as azure_native

from components.azure_args import (
    ClusterCoordinates,
    CurrentFluxConfiguration,
    flux_configuration_args,
)
from components.flux_extension import FluxExtension, secret_or_none
from fluxgitops.azure import ARM_API_VERSION, api_version_for
from fluxgitops.spec import FluxConfigurationSpec
from fluxgitops.spec.redact import spec_to_raw, split_secrets
from providers.fluxconfig import FluxConfigurationResource
from providers.reconciliation import ReconciliationResource


@dataclass
class FluxConfigurationArgs:
    """One validated configuration, the extension it needs, and how to reach the cluster."""

    spec: FluxConfigurationSpec
    extension: FluxExtension
    backend: Literal["kubernetes", "azure"] = "kubernetes"
    kubeconfig: pulumi.Input[str] | None = None
    kubeconfig_content: pulumi.Input[str] | None = None
    context: pulumi.Input[str] | None = None
    azure: ClusterCoordinates | None = None
    force_conflicts: bool = False
    remove_finalizers: bool = False
    delete_timeout_seconds: float = 120.0
    source_check: Literal["off", "warn", "strict"] = "off"
    deferred_secrets: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    """Secret values of ``spec`` that are stand-ins for these ``Output``s (stand-in → Output;
    see ``fluxgitops_pulumi.convert``): the resources get the ``Output``s."""


def reconciliation_name(name: str) -> str:
    """The name of the ``ReconciliationResource`` of the configuration component ``name``."""
    return f"{name}-reconciliation"


class FluxConfiguration(pulumi.ComponentResource):
    """A Flux configuration: its source, Kustomizations, auth Secret and RBAC."""

    compliance_state: pulumi.Output[str]
    source_synced_commit_id: pulumi.Output[str]
    repository_public_key: pulumi.Output[str]
    objects: pulumi.Output[Any]

    def __init__(
        self, name: str, args: FluxConfigurationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("fluxgitops:index:FluxConfiguration", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=[args.extension])
        if args.backend == "azure":
            if args.azure is None:
                raise ValueError(
                    f"FluxConfiguration {name!r}: the azure backend needs cluster coordinates"
                )
            arm: azure_native.kubernetesconfiguration.FluxConfiguration | CurrentFluxConfiguration
            if api_version_for(args.spec) == ARM_API_VERSION:
                arm = azure_native.kubernetesconfiguration.FluxConfiguration(
                    f"{name}-fluxconfig",
                    args=flux_configuration_args(args.spec, args.azure, args.deferred_secrets),
                    opts=child,
                )
            else:  # OCI or gitRepository.provider: API 2025-04-01, same provider
                arm = CurrentFluxConfiguration(
                    f"{name}-fluxconfig",
                    args.spec,
                    args.azure,
                    opts=child,
                    deferred=args.deferred_secrets,
                )
            self.compliance_state = arm.compliance_state
            self.source_synced_commit_id = arm.source_synced_commit_id
            self.repository_public_key = arm.repository_public_key
            self.objects = arm.id
        else:
            public, plain = split_secrets(spec_to_raw(args.spec))
            secrets = {
                path: args.deferred_secrets.get(value, value) for path, value in plain.items()
            }
            resource_inputs: dict[str, Any] = {
                "spec": public,
                "secrets": pulumi.Output.secret(secrets) if secrets else None,
                "kubeconfig": args.kubeconfig,
                "kubeconfig_content": secret_or_none(args.kubeconfig_content),
                "context": args.context,
                "multi_tenancy": args.extension.args.spec.multi_tenancy.enforce,
                "force_conflicts": args.force_conflicts,
                "remove_finalizers": args.remove_finalizers,
                "delete_timeout": args.delete_timeout_seconds,
                "source_check": args.source_check,
                "reconciler_managed": args.extension.args.spec.reconciler.enabled,
            }
            resource = FluxConfigurationResource(f"{name}-objects", resource_inputs, child)
            reported: FluxConfigurationResource | ReconciliationResource = resource
            if args.spec.wait_for_reconciliation:
                reported = ReconciliationResource(
                    reconciliation_name(name),
                    resource_inputs,
                    pulumi.ResourceOptions(parent=self, depends_on=[resource]),
                )
            self.compliance_state = reported.compliance_state
            self.source_synced_commit_id = reported.source_synced_commit_id
            self.repository_public_key = reported.repository_public_key
            self.objects = resource.object_keys.apply(lambda keys: sorted(keys or {}))
        self.register_outputs(
            {
                "compliance_state": self.compliance_state,
                "source_synced_commit_id": self.source_synced_commit_id,
                "repository_public_key": self.repository_public_key,
                "objects": self.objects,
            }
        )
