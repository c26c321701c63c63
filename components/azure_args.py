"""Build pulumi-azure-native ``FluxConfigurationArgs`` / ``ExtensionArgs`` from the specs.

The Pulumi layer over ``fluxgitops.azure``: that pure module decides every
value (and rejects what ARM 2023-05-01 cannot express); this one only turns
its plain dicts into the SDK's real nested args classes and wraps each value
listed in ``fluxgitops.azure.SECRET_KEYS`` in ``pulumi.Output.secret`` so it is
encrypted in the state and masked in previews. Called by the Azure flavour of
the FluxConfiguration / FluxExtension components.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_azure_native.kubernetesconfiguration as kc

from fluxgitops.azure import (
    ClusterRef,
    extension_properties,
    flux_configuration_properties,
    is_secret_key,
)
from fluxgitops.spec.configuration import FluxConfigurationSpec
from fluxgitops.spec.extension import FluxExtensionSpec


def wrap_secrets(node: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A copy of ``node`` with every value under a secret dotted key as ``Output.secret``."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out[key] = wrap_secrets(value, f"{path}.")
        elif is_secret_key(path):
            out[key] = pulumi.Output.secret(value)
        else:
            out[key] = value
    return out


def _cluster(cluster: ClusterRef) -> dict[str, Any]:
    return dict(cluster.resource_args())


def _git(props: dict[str, Any]) -> kc.GitRepositoryDefinitionArgs:
    ref = props.pop("repository_ref", None)
    return kc.GitRepositoryDefinitionArgs(
        **props, repository_ref=None if ref is None else kc.RepositoryRefDefinitionArgs(**ref)
    )


def _azure_blob(props: dict[str, Any]) -> kc.AzureBlobDefinitionArgs:
    identity = props.pop("managed_identity", None)
    principal = props.pop("service_principal", None)
    return kc.AzureBlobDefinitionArgs(
        **props,
        managed_identity=None if identity is None else kc.ManagedIdentityDefinitionArgs(**identity),
        service_principal=(
            None if principal is None else kc.ServicePrincipalDefinitionArgs(**principal)
        ),
    )


def _kustomization(props: dict[str, Any]) -> kc.KustomizationDefinitionArgs:
    post_build = props.pop("post_build", None)
    if post_build is not None:
        post_build = kc.PostBuildDefinitionArgs(
            substitute=post_build["substitute"],
            substitute_from=[
                kc.SubstituteFromDefinitionArgs(**item) for item in post_build["substitute_from"]
            ],
        )
    return kc.KustomizationDefinitionArgs(**props, post_build=post_build)


def flux_configuration_args(
    spec: FluxConfigurationSpec, cluster: ClusterRef
) -> kc.FluxConfigurationArgs:
    """The ``FluxConfigurationArgs`` for ``spec`` on ``cluster``; secrets are ``Output.secret``.

    Raises ``BackendUnsupportedError`` (from ``fluxgitops.azure``) when the
    spec uses something ARM 2023-05-01 cannot express.
    """
    props = wrap_secrets(flux_configuration_properties(spec))
    git = props.pop("git_repository", None)
    bucket = props.pop("bucket", None)
    blob = props.pop("azure_blob", None)
    kustomizations = props.pop("kustomizations")
    return kc.FluxConfigurationArgs(
        **_cluster(cluster),
        **props,
        git_repository=None if git is None else _git(git),
        bucket=None if bucket is None else kc.BucketDefinitionArgs(**bucket),
        azure_blob=None if blob is None else _azure_blob(blob),
        kustomizations={name: _kustomization(k) for name, k in kustomizations.items()},
    )


def extension_args(spec: FluxExtensionSpec, cluster: ClusterRef) -> kc.ExtensionArgs:
    """The ``ExtensionArgs`` of the ``microsoft.flux`` extension for ``spec`` on ``cluster``.

    Raises ``BackendUnsupportedError`` when the spec asks for what the
    extension cannot do (controller tuning, another namespace, ...).
    """
    props = extension_properties(spec)
    scope = props.pop("scope")
    return kc.ExtensionArgs(
        **_cluster(cluster),
        **props,
        scope=kc.ScopeArgs(cluster=kc.ScopeClusterArgs(**scope["cluster"])),
    )
