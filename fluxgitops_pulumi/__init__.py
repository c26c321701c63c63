"""fluxgitops as a Pulumi component library: Flux on a cluster, configurations on Flux.

The public, typed API for a user's own Pulumi program (the rest of the wheel —
``fluxgitops`` the pure core, ``components``, ``providers``, ``reconciler`` —
is internal)::

    import pulumi_kubernetes as k8s
    from fluxgitops_pulumi import (
        FluxConfiguration, FluxConfigurationArgs, FluxExtension, FluxExtensionArgs,
        GitRepositoryArgs, KustomizationArgs, RepositoryRefArgs,
    )

    cluster = k8s.Provider("cluster", kubeconfig=kubeconfig)
    flux = FluxExtension("flux", FluxExtensionArgs(k8s_provider=cluster))
    apps = FluxConfiguration("apps", FluxConfigurationArgs(
        extension=flux,
        namespace="cluster-config",
        git_repository=GitRepositoryArgs(
            url="https://github.com/fluxcd/flux2-kustomize-helm-example",
            repository_ref=RepositoryRefArgs(branch="main"),
        ),
        kustomizations={"infra": KustomizationArgs(path="./infrastructure", prune=True),
                        "apps": KustomizationArgs(path="./apps/staging", depends_on=["infra"])},
        wait_for_reconciliation=True,
    ))
    pulumi.export("commit", apps.source_synced_commit_id)

Argument names are Azure's ``fluxConfigurations`` / ``microsoft.flux`` fields in
snake_case (each docstring gives the camelCase name of stack files and ARM);
invalid arguments raise ``SpecError`` naming the resource and the argument.
See ``examples/kubernetes-program`` and ``examples/aks-program``.
"""

from fluxgitops.errors import BackendUnsupportedError, FieldError, SpecError
from fluxgitops_pulumi.components import FluxConfiguration, FluxExtension
from fluxgitops_pulumi.configuration_args import (
    AzureBlobArgs,
    BucketArgs,
    DurationInput,
    FluxConfigurationArgs,
    GitRepositoryArgs,
    KustomizationArgs,
    LayerSelectorArgs,
    ManagedIdentityArgs,
    OciRepositoryArgs,
    OciRepositoryRefArgs,
    OidcIdentityArgs,
    PostBuildArgs,
    RepositoryRefArgs,
    SecretInput,
    ServicePrincipalArgs,
    SubstituteFromArgs,
    TlsConfigArgs,
    VerifyArgs,
)
from fluxgitops_pulumi.extension_args import (
    AzureClusterArgs,
    ControllerArgs,
    ControllersArgs,
    FluxExtensionArgs,
    HelmControllerArgs,
    MultiTenancyArgs,
    OutOfMemoryWatchArgs,
    ReconcilerArgs,
    ResourcesArgs,
    ResourceValuesArgs,
    TuningArgs,
    WorkloadIdentityArgs,
)

__all__ = [
    "AzureBlobArgs",
    "AzureClusterArgs",
    "BackendUnsupportedError",
    "BucketArgs",
    "ControllerArgs",
    "ControllersArgs",
    "DurationInput",
    "FieldError",
    "FluxConfiguration",
    "FluxConfigurationArgs",
    "FluxExtension",
    "FluxExtensionArgs",
    "GitRepositoryArgs",
    "HelmControllerArgs",
    "KustomizationArgs",
    "LayerSelectorArgs",
    "ManagedIdentityArgs",
    "MultiTenancyArgs",
    "OciRepositoryArgs",
    "OciRepositoryRefArgs",
    "OidcIdentityArgs",
    "OutOfMemoryWatchArgs",
    "PostBuildArgs",
    "ReconcilerArgs",
    "RepositoryRefArgs",
    "ResourceValuesArgs",
    "ResourcesArgs",
    "SecretInput",
    "ServicePrincipalArgs",
    "SpecError",
    "SubstituteFromArgs",
    "TlsConfigArgs",
    "TuningArgs",
    "VerifyArgs",
    "WorkloadIdentityArgs",
]
