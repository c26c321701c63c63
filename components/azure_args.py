"""Build pulumi-azure-native ``FluxConfigurationArgs`` / ``ExtensionArgs`` from the specs.

The Pulumi layer over ``fluxgitops.azure``: that pure module decides every
value (and rejects what ARM cannot express); this one only turns
its plain dicts into the SDK's real nested args classes (or, for what only API
2025-04-01 has, into the inputs of that version's resource type) and wraps each value
listed in ``fluxgitops.azure.SECRET_KEYS`` in ``pulumi.Output.secret`` so it is
encrypted in the state and masked in previews. Called by the Azure flavour of
the FluxConfiguration / FluxExtension components.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Protocol

import pulumi
import pulumi_azure_native.kubernetesconfiguration as kc
from pydantic.alias_generators import to_camel

from fluxgitops.azure import (
    CURRENT_API_VERSION,
    extension_properties,
    flux_configuration_properties,
    is_secret_key,
)
from fluxgitops.spec.configuration import FluxConfigurationSpec
from fluxgitops.spec.extension import FluxExtensionSpec


class ClusterCoordinates(Protocol):
    """Where the ARM resources attach: ``ClusterRef`` (stack files) or the public API's
    ``AzureClusterArgs`` (``Input``s, e.g. the name of an AKS cluster made in the program)."""

    def resource_args(self) -> Mapping[str, pulumi.Input[str]]:
        """``resource_group_name``, ``cluster_name``, ``cluster_rp``, ``cluster_resource_name``."""
        ...


Deferred = Mapping[str, pulumi.Output[str]]
"""Stand-in value → the secret ``Output`` it stands for (``fluxgitops_pulumi.convert``)."""


def _deferred(value: Any, deferred: Deferred) -> pulumi.Output[str] | None:
    """The ``Output`` ``value`` stands for, plain or base64-encoded as ARM wants it."""
    if not isinstance(value, str) or not deferred:
        return None
    if value in deferred:
        return deferred[value]
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except ValueError:
        return None
    if decoded not in deferred:
        return None
    return deferred[decoded].apply(lambda text: base64.b64encode(text.encode()).decode())


def wrap_secrets(
    node: Mapping[str, Any], prefix: str = "", deferred: Deferred | None = None
) -> dict[str, Any]:
    """A copy of ``node`` with every value under a secret dotted key as ``Output.secret``;
    a stand-in of ``deferred`` becomes the ``Output`` it stands for."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out[key] = wrap_secrets(value, f"{path}.", deferred)
        elif is_secret_key(path):
            out[key] = pulumi.Output.secret(_deferred(value, deferred or {}) or value)
        else:
            out[key] = value
    return out


def _cluster(cluster: ClusterCoordinates) -> dict[str, Any]:
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
    spec: FluxConfigurationSpec, cluster: ClusterCoordinates, deferred: Deferred | None = None
) -> kc.FluxConfigurationArgs:
    """The ``FluxConfigurationArgs`` for ``spec`` on ``cluster``; secrets are ``Output.secret``.

    Raises ``BackendUnsupportedError`` (from ``fluxgitops.azure``) when the
    spec uses something ARM cannot express; what needs the current API version
    (``fluxgitops.azure.api_version_for``) goes through ``CurrentFluxConfiguration``.
    """
    props = wrap_secrets(flux_configuration_properties(spec), deferred=deferred)
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


CURRENT_TYPE = (
    f"azure-native:kubernetesconfiguration/v{CURRENT_API_VERSION.replace('-', '')}"
    ":FluxConfiguration"
)
"""The azure-native resource type of fluxConfigurations at the current API version (the
provider serves every API version; the SDK's typed classes only the default one)."""

_DATA_MAPS = frozenset(
    {"kustomizations", "substitute", "verification_config", "configuration_protected_settings"}
)
"""Fields whose keys are the user's data (names, variables), never renamed."""


def _camel(node: Any, *, data: bool = False) -> Any:
    if isinstance(node, Mapping):
        return {
            (key if data else to_camel(key)): _camel(value, data=key in _DATA_MAPS and not data)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_camel(item) for item in node]
    return node


_OUTPUTS = {
    "complianceState": "compliance_state",
    "sourceSyncedCommitId": "source_synced_commit_id",
    "repositoryPublicKey": "repository_public_key",
}


class CurrentFluxConfiguration(pulumi.CustomResource):
    """A fluxConfiguration at ``CURRENT_API_VERSION``: OCI sources and ``gitRepository.provider``.

    The same azure-native provider, addressed by its versioned resource type;
    inputs are the camelCase ARM properties built by ``fluxgitops.azure``.
    """

    compliance_state: pulumi.Output[str]
    source_synced_commit_id: pulumi.Output[str]
    repository_public_key: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        spec: FluxConfigurationSpec,
        cluster: ClusterCoordinates,
        opts: pulumi.ResourceOptions | None = None,
        deferred: Deferred | None = None,
    ) -> None:
        secrets = wrap_secrets(flux_configuration_properties(spec), deferred=deferred)
        props = _camel({**_cluster(cluster), **secrets})
        outputs = dict.fromkeys(_OUTPUTS.values())
        super().__init__(CURRENT_TYPE, name, {**props, **outputs}, opts)

    def translate_output_property(self, prop: str) -> str:
        """camelCase outputs as snake_case attributes, like the SDK's classes."""
        return _OUTPUTS.get(prop, prop)


def extension_args(spec: FluxExtensionSpec, cluster: ClusterCoordinates) -> kc.ExtensionArgs:
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
