"""Tests of ``components.azure_args``: the real pulumi-azure-native args built from the specs.

Attributes are read through the SDK's generated ``pulumi.getter`` properties;
secret values must be ``pulumi.Output`` objects marked secret, resolved on a
private event loop (no Pulumi engine or mocks are needed for ``Output.secret``).
"""

from __future__ import annotations

import asyncio
import base64
import importlib.metadata
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pulumi_azure_native.kubernetesconfiguration as kc
import pytest

from components.azure_args import extension_args, flux_configuration_args, wrap_secrets
from fluxgitops.azure import ARM_API_VERSION, SDK_VERSION, ClusterRef
from fluxgitops.errors import BackendUnsupportedError
from fluxgitops.spec import FluxConfigurationSpec, parse_configuration, parse_extension
from tests.keys import KNOWN_HOSTS, SSH_KEY

Resolve = Callable[[Any], tuple[Any, bool]]

AKS = ClusterRef(resource_group_name="rg", cluster_name="aks")

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def config(**fields: Any) -> FluxConfigurationSpec:
    return parse_configuration({"name": "apps", **fields})


@pytest.fixture
def resolve() -> Iterator[Resolve]:
    """Resolve an Output to (value, is_secret) on a fresh event loop."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def run(output: Any) -> tuple[Any, bool]:
        assert isinstance(output, pulumi.Output)
        return loop.run_until_complete(output.future()), loop.run_until_complete(output.is_secret())

    try:
        yield run
    finally:
        loop.close()
        asyncio.set_event_loop_policy(None)  # back to a pristine default policy


def test_sdk_uses_the_arm_version_the_mapping_assumes() -> None:
    assert f"pulumi-azure-native {importlib.metadata.version('pulumi-azure-native')}" == SDK_VERSION
    source = inspect.getsource(kc.FluxConfiguration)
    assert f"Uses Azure REST API version {ARM_API_VERSION}" in source
    assert "oci_repository" not in inspect.signature(kc.FluxConfigurationArgs).parameters
    assert "provider" not in inspect.signature(kc.GitRepositoryDefinitionArgs).parameters


def test_git_https_args(resolve: Resolve) -> None:
    spec = config(
        gitRepository={
            "url": "https://github.com/org/repo",
            "httpsUser": "bot",
            "httpsKey": "token",
            "httpsCACert": PEM,
            "repositoryRef": {"semver": ">=1.0.0"},
            "syncInterval": "2m",
        },
        suspend=True,
    )
    args = flux_configuration_args(spec, AKS)
    assert isinstance(args, kc.FluxConfigurationArgs)
    assert (args.resource_group_name, args.cluster_name) == ("rg", "aks")
    assert (args.cluster_rp, args.cluster_resource_name) == (
        "Microsoft.ContainerService",
        "managedClusters",
    )
    assert (args.flux_configuration_name, args.namespace, args.scope) == (
        "apps",
        "default",
        "cluster",
    )
    assert (args.source_kind, args.suspend) == ("GitRepository", True)
    git = args.git_repository
    assert isinstance(git, kc.GitRepositoryDefinitionArgs)
    assert git.url == "https://github.com/org/repo"
    assert git.https_user == "bot"
    assert git.https_ca_cert == b64(PEM)
    assert (git.sync_interval_in_seconds, git.timeout_in_seconds) == (120.0, 600.0)
    ref = git.repository_ref
    assert isinstance(ref, kc.RepositoryRefDefinitionArgs)
    assert (ref.semver, ref.branch) == (">=1.0.0", None)
    protected = args.configuration_protected_settings
    assert isinstance(protected, dict)
    assert list(protected) == ["httpsKey"]
    assert resolve(protected["httpsKey"]) == (b64("token"), True)
    assert args.bucket is None
    assert args.azure_blob is None


def test_git_ssh_args(resolve: Resolve) -> None:
    spec = config(
        gitRepository={
            "url": "ssh://git@github.com/org/repo",
            "sshPrivateKey": SSH_KEY,
            "sshKnownHosts": KNOWN_HOSTS,
        }
    )
    args = flux_configuration_args(spec, AKS)
    assert isinstance(args.git_repository, kc.GitRepositoryDefinitionArgs)
    assert args.git_repository.ssh_known_hosts == b64(KNOWN_HOSTS)
    protected = args.configuration_protected_settings
    assert isinstance(protected, dict)
    assert resolve(protected["sshPrivateKey"]) == (b64(SSH_KEY), True)


def test_bucket_args(resolve: Resolve) -> None:
    spec = config(
        sourceKind="Bucket",
        bucket={
            "url": "https://s3.amazonaws.com",
            "bucketName": "manifests",
            "accessKey": "AKIA",
            "secretKey": "bucket-secret",
            "timeout": "30s",
        },
    )
    args = flux_configuration_args(spec, AKS)
    bucket = args.bucket
    assert isinstance(bucket, kc.BucketDefinitionArgs)
    assert (bucket.url, bucket.bucket_name, bucket.access_key) == (
        "https://s3.amazonaws.com",
        "manifests",
        "AKIA",
    )
    assert bucket.insecure is False
    assert bucket.timeout_in_seconds == 30.0
    protected = args.configuration_protected_settings
    assert isinstance(protected, dict)
    assert resolve(protected["bucketSecretKey"]) == (b64("bucket-secret"), True)
    assert args.source_kind == "Bucket"
    assert args.git_repository is None


def test_azure_blob_service_principal_args(resolve: Resolve) -> None:
    spec = config(
        sourceKind="AzureBlob",
        azureBlob={
            "url": "https://account.blob.core.windows.net",
            "containerName": "manifests",
            "servicePrincipal": {"clientId": "cid", "tenantId": "tid", "clientSecret": "sp-secret"},
        },
    )
    args = flux_configuration_args(spec, AKS)
    blob = args.azure_blob
    assert isinstance(blob, kc.AzureBlobDefinitionArgs)
    assert (blob.url, blob.container_name) == ("https://account.blob.core.windows.net", "manifests")
    principal = blob.service_principal
    assert isinstance(principal, kc.ServicePrincipalDefinitionArgs)
    assert (principal.client_id, principal.tenant_id) == ("cid", "tid")
    assert principal.client_certificate is None
    assert principal.client_certificate_send_chain is False
    assert resolve(principal.client_secret) == ("sp-secret", True)
    assert blob.managed_identity is None
    assert args.configuration_protected_settings is None


def test_azure_blob_certificate_args(resolve: Resolve) -> None:
    spec = config(
        sourceKind="AzureBlob",
        azureBlob={
            "url": "https://account.blob.core.windows.net",
            "containerName": "manifests",
            "servicePrincipal": {
                "clientId": "cid",
                "tenantId": "tid",
                "clientCertificate": PEM,
                "clientCertificatePassword": "pw",
            },
        },
    )
    blob = flux_configuration_args(spec, AKS).azure_blob
    assert isinstance(blob, kc.AzureBlobDefinitionArgs)
    principal = blob.service_principal
    assert isinstance(principal, kc.ServicePrincipalDefinitionArgs)
    assert resolve(principal.client_certificate) == (b64(PEM), True)
    assert resolve(principal.client_certificate_password) == ("pw", True)


def test_azure_blob_key_and_identity_args(resolve: Resolve) -> None:
    base = {"url": "https://a.blob.core.windows.net", "containerName": "box"}
    keyed = flux_configuration_args(
        config(sourceKind="AzureBlob", azureBlob={**base, "sasToken": "sas"}), AKS
    ).azure_blob
    assert isinstance(keyed, kc.AzureBlobDefinitionArgs)
    assert resolve(keyed.sas_token) == ("sas", True)
    assert keyed.account_key is None
    identity = flux_configuration_args(
        config(sourceKind="AzureBlob", azureBlob={**base, "managedIdentity": {"clientId": "mi"}}),
        AKS,
    ).azure_blob
    assert isinstance(identity, kc.AzureBlobDefinitionArgs)
    assert isinstance(identity.managed_identity, kc.ManagedIdentityDefinitionArgs)
    assert identity.managed_identity.client_id == "mi"


def test_kustomization_args() -> None:
    spec = config(
        gitRepository={"url": "https://github.com/org/repo"},
        kustomizations={
            "infra": {"path": "infra", "prune": True},
            "apps": {
                "path": "apps",
                "dependsOn": ["infra"],
                "force": True,
                "postBuild": {
                    "substitute": {"env": "prod"},
                    "substituteFrom": [{"kind": "Secret", "name": "vars"}],
                },
            },
        },
        waitForReconciliation=True,
        reconciliationWaitDuration="1h",
    )
    args = flux_configuration_args(spec, AKS)
    kustomizations = args.kustomizations
    assert isinstance(kustomizations, dict)
    assert sorted(kustomizations) == ["apps", "infra"]
    infra, apps = kustomizations["infra"], kustomizations["apps"]
    assert isinstance(infra, kc.KustomizationDefinitionArgs)
    assert isinstance(apps, kc.KustomizationDefinitionArgs)
    assert (infra.path, infra.prune, infra.post_build) == ("infra", True, None)
    assert (apps.depends_on, apps.force, apps.wait) == (["infra"], True, True)
    assert apps.retry_interval_in_seconds == 600.0
    post_build = apps.post_build
    assert isinstance(post_build, kc.PostBuildDefinitionArgs)
    assert post_build.substitute == {"env": "prod"}
    assert isinstance(post_build.substitute_from, list)
    item = post_build.substitute_from[0]
    assert isinstance(item, kc.SubstituteFromDefinitionArgs)
    assert (item.kind, item.name, item.optional) == ("Secret", "vars", False)
    assert (args.wait_for_reconciliation, args.reconciliation_wait_duration) == (True, "PT1H")


def test_connected_cluster_args() -> None:
    arc = ClusterRef(resource_group_name="rg", cluster_name="arc", cluster_type="connectedClusters")
    args = extension_args(parse_extension({}), arc)
    assert (args.cluster_rp, args.cluster_resource_name) == (
        "Microsoft.Kubernetes",
        "connectedClusters",
    )


def test_extension_args() -> None:
    spec = parse_extension({"version": "1.23.0", "autoUpgradeMinorVersion": False})
    args = extension_args(spec, AKS)
    assert isinstance(args, kc.ExtensionArgs)
    assert (args.extension_type, args.extension_name) == ("microsoft.flux", "flux")
    assert (args.auto_upgrade_minor_version, args.version) == (False, "1.23.0")
    assert args.release_train == "Stable"
    scope = args.scope
    assert isinstance(scope, kc.ScopeArgs)
    assert isinstance(scope.cluster, kc.ScopeClusterArgs)
    assert scope.cluster.release_namespace == "flux-system"
    assert scope.namespace is None
    settings = args.configuration_settings
    assert isinstance(settings, dict)
    assert settings["multiTenancy.enforce"] == "true"
    assert settings["source-controller.resources.limits.memory"] == "1Gi"
    assert args.configuration_protected_settings is None


def test_extension_args_unpinned_has_no_version() -> None:
    assert extension_args(parse_extension({}), AKS).version is None


def test_unsupported_spec_raises_before_building_args() -> None:
    with pytest.raises(BackendUnsupportedError) as error:
        flux_configuration_args(
            config(
                sourceKind="OCIRepository",
                ociRepository={
                    "url": "oci://ghcr.io/o/r",
                    "repositoryRef": {"semver": ">=1", "semverFilter": "x"},
                },
            ),
            AKS,
        )
    assert error.value.paths == ["ociRepository.repositoryRef.semverFilter"]
    with pytest.raises(BackendUnsupportedError) as error:
        extension_args(
            parse_extension({"controllers": {"helm": {"tuning": {"concurrent": 4}}}}), AKS
        )
    assert error.value.paths == ["controllers.helm.tuning.concurrent"]


def test_wrap_secrets_only_touches_secret_keys(resolve: Resolve) -> None:
    wrapped = wrap_secrets(
        {
            "configuration_protected_settings": {"httpsKey": "a"},
            "git_repository": {"url": "u", "https_user": "bot"},
        }
    )
    assert wrapped["git_repository"] == {"url": "u", "https_user": "bot"}
    assert resolve(wrapped["configuration_protected_settings"]["httpsKey"]) == ("a", True)
