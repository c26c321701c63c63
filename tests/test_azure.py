"""Tests of ``fluxgitops.azure``: the pure mapping of the specs onto Azure's ARM properties.

One test per situation: each source kind with its secrets, the extension's
settings, and every spec feature ARM 2023-05-01 cannot express (which must
raise ``BackendUnsupportedError`` naming the exact field, never drop it).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import pytest

from fluxgitops.azure import (
    ARM_API_VERSION,
    CURRENT_API_VERSION,
    SECRET_KEYS,
    UNSUPPORTED,
    ClusterRef,
    api_version_for,
    check_azure_configuration,
    extension_properties,
    flux_configuration_properties,
    is_secret_key,
    iso8601_duration,
    secret_values,
)
from fluxgitops.errors import BackendUnsupportedError, FieldError
from fluxgitops.spec import FluxConfigurationSpec, parse_configuration, parse_extension
from fluxgitops.spec.durations import parse_duration
from tests.keys import KNOWN_HOSTS, SSH_KEY

HTTPS_TOKEN = "ghp_supersecret_token"
CA_CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
BUCKET_SECRET = "bucket-supersecret"
CLIENT_SECRET = "sp-supersecret"
CLIENT_CERT = "-----BEGIN CERTIFICATE-----\nsp-cert-supersecret\n-----END CERTIFICATE-----\n"
CERT_PASSWORD = "cert-password-supersecret"
OCI_KEY = "-----BEGIN PRIVATE KEY-----\noci-private-key-supersecret\n-----END PRIVATE KEY-----\n"


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def config(**fields: Any) -> FluxConfigurationSpec:
    return parse_configuration({"name": "apps", **fields})


def https_git(**extra: Any) -> dict[str, Any]:
    return {"url": "https://github.com/org/repo", **extra}


def unsupported(error: pytest.ExceptionInfo[BackendUnsupportedError]) -> dict[str, FieldError]:
    assert all(e.code == UNSUPPORTED for e in error.value.errors)
    return {e.path: e for e in error.value.errors}


# ---------------------------------------------------------------- cluster


@pytest.mark.parametrize(
    ("cluster_type", "rp"),
    [
        ("managedClusters", "Microsoft.ContainerService"),
        ("connectedClusters", "Microsoft.Kubernetes"),
        ("provisionedClusters", "Microsoft.HybridContainerService"),
    ],
)
def test_cluster_ref_addressing(cluster_type: str, rp: str) -> None:
    cluster = ClusterRef.model_validate(
        {"resourceGroupName": "rg", "clusterName": "aks", "clusterType": cluster_type}
    )
    assert cluster.cluster_rp == rp
    assert cluster.cluster_resource_name == cluster_type
    assert cluster.resource_args() == {
        "resource_group_name": "rg",
        "cluster_name": "aks",
        "cluster_rp": rp,
        "cluster_resource_name": cluster_type,
    }


def test_cluster_ref_defaults_to_aks() -> None:
    cluster = ClusterRef(resource_group_name="rg", cluster_name="aks")
    assert cluster.cluster_rp == "Microsoft.ContainerService"


# ---------------------------------------------------------------- configuration


def test_git_https_protected_settings_base64() -> None:
    spec = config(
        gitRepository=https_git(
            httpsUser="bot", httpsKey=HTTPS_TOKEN, httpsCACert=CA_CERT, repositoryRef={"tag": "v1"}
        )
    )
    props = flux_configuration_properties(spec)
    assert props["configuration_protected_settings"] == {"httpsKey": b64(HTTPS_TOKEN)}
    assert props["git_repository"] == {
        "url": "https://github.com/org/repo",
        "repository_ref": {"tag": "v1"},
        "timeout_in_seconds": 600.0,
        "sync_interval_in_seconds": 600.0,
        "https_user": "bot",
        "https_ca_cert": b64(CA_CERT),
    }
    assert props["source_kind"] == "GitRepository"
    assert props["flux_configuration_name"] == "apps"
    assert (props["namespace"], props["scope"], props["suspend"]) == ("default", "cluster", False)
    assert "bucket" not in props
    assert "azure_blob" not in props


def test_git_ssh_with_known_hosts() -> None:
    spec = config(
        gitRepository={
            "url": "git@github.com:org/repo.git",
            "sshPrivateKey": SSH_KEY,
            "sshKnownHosts": KNOWN_HOSTS,
            "syncInterval": "1m",
        }
    )
    props = flux_configuration_properties(spec)
    git = props["git_repository"]
    assert git["url"] == "ssh://git@github.com/org/repo.git"
    assert git["ssh_known_hosts"] == b64(KNOWN_HOSTS)
    assert git["sync_interval_in_seconds"] == 60.0
    assert isinstance(git["sync_interval_in_seconds"], float)
    assert git["repository_ref"] == {"branch": "master"}
    assert props["configuration_protected_settings"] == {"sshPrivateKey": b64(SSH_KEY)}


def test_git_ssh_without_key_sends_no_protected_settings() -> None:
    props = flux_configuration_properties(config(gitRepository={"url": "ssh://git@host/repo"}))
    assert "configuration_protected_settings" not in props
    assert secret_values(props) == []


def test_git_local_auth_ref() -> None:
    props = flux_configuration_properties(config(gitRepository=https_git(localAuthRef="creds")))
    assert props["git_repository"]["local_auth_ref"] == "creds"


def test_bucket() -> None:
    spec = config(
        sourceKind="Bucket",
        bucket={
            "url": "http://minio.local:9000",
            "bucketName": "manifests",
            "accessKey": "AKIA",
            "bucketSecretKey": BUCKET_SECRET,
        },
    )
    props = flux_configuration_properties(spec)
    assert props["bucket"] == {
        "url": "http://minio.local:9000",
        "bucket_name": "manifests",
        "access_key": "AKIA",
        "insecure": True,
        "timeout_in_seconds": 600.0,
        "sync_interval_in_seconds": 600.0,
    }
    assert props["configuration_protected_settings"] == {"bucketSecretKey": b64(BUCKET_SECRET)}
    assert props["source_kind"] == "Bucket"
    assert "git_repository" not in props


@pytest.mark.parametrize(
    ("url", "insecure", "expected"),
    [
        ("https://s3.amazonaws.com", None, False),
        ("http://minio.local:9000", None, True),
        ("https://s3.amazonaws.com", False, False),
    ],
)
def test_bucket_insecure_written_explicitly(
    url: str, insecure: bool | None, expected: bool
) -> None:
    bucket: dict[str, Any] = {"url": url, "bucketName": "manifests"}
    if insecure is not None:
        bucket["insecure"] = insecure
    props = flux_configuration_properties(config(sourceKind="Bucket", bucket=bucket))
    assert props["bucket"]["insecure"] is expected


def test_azure_blob_with_service_principal() -> None:
    spec = config(
        sourceKind="AzureBlob",
        azureBlob={
            "url": "https://account.blob.core.windows.net",
            "containerName": "manifests",
            "servicePrincipal": {
                "clientId": "cid",
                "tenantId": "tid",
                "clientCertificate": CLIENT_CERT,
                "clientCertificatePassword": CERT_PASSWORD,
                "clientCertificateSendChain": True,
            },
        },
    )
    props = flux_configuration_properties(spec)
    blob = props["azure_blob"]
    assert blob["service_principal"] == {
        "client_id": "cid",
        "tenant_id": "tid",
        "client_certificate": b64(CLIENT_CERT),
        "client_certificate_password": CERT_PASSWORD,
        "client_certificate_send_chain": True,
    }
    assert blob["container_name"] == "manifests"
    assert "configuration_protected_settings" not in props
    assert sorted(secret_values(props)) == sorted([b64(CLIENT_CERT), CERT_PASSWORD])


def test_azure_blob_with_client_secret() -> None:
    spec = config(
        sourceKind="AzureBlob",
        azureBlob={
            "url": "https://account.blob.core.windows.net",
            "containerName": "manifests",
            "servicePrincipal": {
                "clientId": "cid",
                "tenantId": "tid",
                "clientSecret": CLIENT_SECRET,
            },
        },
    )
    principal = flux_configuration_properties(spec)["azure_blob"]["service_principal"]
    assert principal["client_secret"] == CLIENT_SECRET
    assert principal["client_certificate_send_chain"] is False


@pytest.mark.parametrize(
    ("auth", "key", "expected"),
    [
        ({"accountKey": "k"}, "account_key", "k"),
        ({"sasToken": "t"}, "sas_token", "t"),
        ({"managedIdentity": {"clientId": "mi"}}, "managed_identity", {"client_id": "mi"}),
    ],
)
def test_azure_blob_other_auth(auth: dict[str, Any], key: str, expected: object) -> None:
    blob = {"url": "https://a.blob.core.windows.net", "containerName": "box", **auth}
    props = flux_configuration_properties(config(sourceKind="AzureBlob", azureBlob=blob))
    assert props["azure_blob"][key] == expected


def test_kustomizations_map_with_post_build() -> None:
    spec = config(
        gitRepository=https_git(),
        kustomizations={
            "infra": {"path": "./infra", "prune": True, "retryInterval": "2m"},
            "apps": {
                "path": "apps/prod",
                "dependsOn": ["infra"],
                "wait": False,
                "postBuild": {
                    "substitute": {"cluster": "prod"},
                    "substituteFrom": [{"kind": "ConfigMap", "name": "vars", "optional": True}],
                },
            },
        },
    )
    kustomizations = flux_configuration_properties(spec)["kustomizations"]
    assert list(kustomizations) == ["infra", "apps"]
    assert kustomizations["infra"] == {
        "path": "infra",
        "depends_on": [],
        "timeout_in_seconds": 600.0,
        "sync_interval_in_seconds": 600.0,
        "retry_interval_in_seconds": 120.0,
        "prune": True,
        "force": False,
        "wait": True,
    }
    apps = kustomizations["apps"]
    assert apps["depends_on"] == ["infra"]
    assert apps["wait"] is False
    assert apps["retry_interval_in_seconds"] == 600.0  # Azure: defaults to the sync interval
    assert apps["post_build"] == {
        "substitute": {"cluster": "prod"},
        "substitute_from": [{"kind": "ConfigMap", "name": "vars", "optional": True}],
    }


def test_reconciliation_wait_duration_iso8601() -> None:
    spec = config(
        gitRepository=https_git(), waitForReconciliation=True, reconciliationWaitDuration="5m"
    )
    props = flux_configuration_properties(spec)
    assert props["wait_for_reconciliation"] is True
    assert props["reconciliation_wait_duration"] == "PT5M"


@pytest.mark.parametrize(
    ("duration", "iso"),
    [("45s", "PT45S"), ("90s", "PT1M30S"), ("1h", "PT1H"), ("1h0m5s", "PT1H5S"), ("26h", "PT26H")],
)
def test_iso8601_duration(duration: str, iso: str) -> None:
    assert iso8601_duration(parse_duration(duration)) == iso


def test_secret_keys_cover_every_secret_value() -> None:
    assert is_secret_key("configuration_protected_settings.sshPrivateKey")
    assert is_secret_key("azure_blob.sas_token")
    assert not is_secret_key("git_repository.ssh_known_hosts")
    assert all(
        key.startswith(("configuration_protected_settings.", "azure_blob.", "oci_repository."))
        for key in SECRET_KEYS
    )


# ---------------------------------------------------------------- extension


def test_extension_settings_defaults() -> None:
    props = extension_properties(parse_extension({}))
    assert props["extension_type"] == "microsoft.flux"
    assert props["extension_name"] == "flux"
    assert props["auto_upgrade_minor_version"] is True
    assert props["release_train"] == "Stable"
    assert "version" not in props
    assert props["scope"] == {"cluster": {"release_namespace": "flux-system"}}
    assert props["configuration_settings"] == {
        "multiTenancy.enforce": "true",
        "source-controller.enabled": "true",
        "kustomize-controller.enabled": "true",
        "helm-controller.enabled": "true",
        "notification-controller.enabled": "true",
        "image-automation-controller.enabled": "false",
        "image-reflector-controller.enabled": "false",
        "useKubeletIdentity": "false",
        "workloadIdentity.enable": "false",
        "helm-controller.detectDrift": "false",
        "helm-controller.outOfMemoryWatch.enabled": "false",
        "helm-controller.outOfMemoryWatch.memoryThreshold": "95",
        "helm-controller.outOfMemoryWatch.interval": "500ms",
        "source-controller.resources.limits.memory": "1Gi",
        "source-controller.resources.requests.memory": "64Mi",
    }


def test_extension_version_pin() -> None:
    spec = parse_extension(
        {"version": "1.23.0", "autoUpgradeMinorVersion": False, "releaseTrain": "Preview"}
    )
    props = extension_properties(spec)
    assert props["version"] == "1.23.0"
    assert props["auto_upgrade_minor_version"] is False
    assert props["release_train"] == "Preview"


def test_extension_identity_helm_and_source_memory() -> None:
    spec = parse_extension(
        {
            "multiTenancy": {"enforce": False},
            "workloadIdentity": {"enable": True, "azureClientId": "00000000-aaaa"},
            "controllers": {
                "source": {"resources": {"limits": {"memory": "2Gi"}}},
                "helm": {
                    "detectDrift": True,
                    "outOfMemoryWatch": {"enabled": True, "memoryThreshold": 80, "interval": "1s"},
                },
                "imageReflector": {"enabled": True},
                "imageAutomation": {"enabled": True},
            },
        }
    )
    settings = extension_properties(spec)["configuration_settings"]
    assert settings["multiTenancy.enforce"] == "false"
    assert settings["workloadIdentity.enable"] == "true"
    assert settings["workloadIdentity.azureClientId"] == "00000000-aaaa"
    assert settings["helm-controller.detectDrift"] == "true"
    assert settings["helm-controller.outOfMemoryWatch.enabled"] == "true"
    assert settings["helm-controller.outOfMemoryWatch.memoryThreshold"] == "80"
    assert settings["helm-controller.outOfMemoryWatch.interval"] == "1s"
    assert settings["image-automation-controller.enabled"] == "true"
    assert settings["source-controller.resources.limits.memory"] == "2Gi"
    assert "source-controller.resources.requests.memory" not in settings  # left to Azure


def test_extension_kubelet_identity() -> None:
    settings = extension_properties(parse_extension({"useKubeletIdentity": True}))[
        "configuration_settings"
    ]
    assert settings["useKubeletIdentity"] == "true"
    assert "workloadIdentity.azureClientId" not in settings


# ---------------------------------------------------------------- unsupported


def test_oci_source_maps_to_the_current_api() -> None:
    spec = config(
        sourceKind="OCIRepository",
        ociRepository={
            "url": "oci://ghcr.io/org/repo",
            "repositoryRef": {"semver": ">=1.0.0"},
            "tlsConfig": {"caCertificate": CA_CERT},
        },
    )
    props = flux_configuration_properties(spec)
    assert api_version_for(spec) == CURRENT_API_VERSION == "2025-04-01"
    oci = props["oci_repository"]
    assert oci["repository_ref"] == {"semver": ">=1.0.0"}
    assert oci["tls_config"] == {"ca_certificate": b64(CA_CERT)}
    assert oci["timeout_in_seconds"] == 600
    assert is_secret_key("oci_repository.tls_config.ca_certificate")


def test_git_provider_maps_to_arm_casing_on_the_current_api() -> None:
    spec = config(gitRepository={"url": "https://dev.azure.com/org/p/_git/r", "provider": "Azure"})
    assert api_version_for(spec) == CURRENT_API_VERSION
    assert flux_configuration_properties(spec)["git_repository"]["provider"] == "Azure"


def test_plain_git_stays_on_the_sdk_api_version() -> None:
    assert api_version_for(config(gitRepository=https_git())) == ARM_API_VERSION


def test_oci_semver_filter_unsupported() -> None:
    spec = config(
        sourceKind="OCIRepository",
        ociRepository={
            "url": "oci://ghcr.io/org/repo",
            "repositoryRef": {"semver": ">=1.0.0", "semverFilter": ".*-rc.*"},
        },
    )
    with pytest.raises(BackendUnsupportedError) as error:
        check_azure_configuration(spec)
    assert list(unsupported(error)) == ["ociRepository.repositoryRef.semverFilter"]


def test_sub_second_durations_unsupported() -> None:
    spec = config(
        gitRepository=https_git(timeout="1500ms"),
        kustomizations={"apps": {"syncInterval": "90.5s", "retryInterval": "500ms"}},
        reconciliationWaitDuration="2.5s",
    )
    with pytest.raises(BackendUnsupportedError) as error:
        flux_configuration_properties(spec)
    errors = unsupported(error)
    assert sorted(errors) == [
        "gitRepository.timeout",
        "kustomizations.apps.retryInterval",
        "kustomizations.apps.syncInterval",
        "reconciliationWaitDuration",
    ]
    assert errors["gitRepository.timeout"].message.startswith("must be a whole number of seconds")
    assert errors["gitRepository.timeout"].value == "'1s500ms'"


def test_controller_tuning_unsupported() -> None:
    spec = parse_extension(
        {
            "controllers": {
                "kustomize": {"tuning": {"concurrent": 20, "requeueDependency": "5s"}},
                "imageReflector": {"enabled": True, "tuning": {"kubeApiQps": 50}},
            }
        }
    )
    with pytest.raises(BackendUnsupportedError) as error:
        extension_properties(spec)
    errors = unsupported(error)
    assert sorted(errors) == [
        "controllers.imageReflector.tuning.kubeApiQps",
        "controllers.kustomize.tuning.concurrent",
        "controllers.kustomize.tuning.requeueDependency",
    ]
    concurrent = errors["controllers.kustomize.tuning.concurrent"]
    assert concurrent.message.startswith("controller tuning is not exposed")
    assert concurrent.value == "20"
    assert errors["controllers.kustomize.tuning.requeueDependency"].value == "'5s'"


def test_controller_resources_unsupported() -> None:
    spec = parse_extension(
        {
            "controllers": {
                "source": {"resources": {"limits": {"cpu": "2", "memory": "2Gi"}}},
                "helm": {"resources": {"requests": {"memory": "128Mi"}}},
            }
        }
    )
    with pytest.raises(BackendUnsupportedError) as error:
        extension_properties(spec)
    errors = unsupported(error)
    assert sorted(errors) == [
        "controllers.helm.resources.requests.memory",
        "controllers.source.resources.limits.cpu",
    ]
    assert errors["controllers.source.resources.limits.cpu"].message.startswith(
        "Azure only lets you change source-controller memory"
    )


def test_extension_namespace_unsupported() -> None:
    with pytest.raises(BackendUnsupportedError) as error:
        extension_properties(parse_extension({"namespace": "gitops"}))
    errors = unsupported(error)
    assert list(errors) == ["namespace"]
    assert errors["namespace"].message.startswith(
        "microsoft.flux always installs into 'flux-system'"
    )


def test_flux_version_unsupported() -> None:
    with pytest.raises(BackendUnsupportedError) as error:
        extension_properties(parse_extension({"fluxVersion": "2.6.0"}))
    errors = unsupported(error)
    assert list(errors) == ["fluxVersion"]
    assert errors["fluxVersion"].message.startswith("Azure installs the Flux shipped with")


def test_reconciler_settings_unsupported() -> None:
    spec = parse_extension(
        {"reconciler": {"replicas": 3, "resources": {"limits": {"memory": "300Mi"}}}}
    )
    with pytest.raises(BackendUnsupportedError) as error:
        extension_properties(spec)
    errors = unsupported(error)
    assert sorted(errors) == ["reconciler.replicas", "reconciler.resources.limits.memory"]
    assert errors["reconciler.replicas"].message.startswith(
        "Azure runs its own fluxconfig-controller"
    )


def test_every_extension_problem_reported_at_once() -> None:
    spec = parse_extension(
        {
            "namespace": "gitops",
            "fluxVersion": "2.6.0",
            "controllers": {"notification": {"tuning": {"kubeApiBurst": 100}}},
            "reconciler": {"image": "example/reconciler:dev"},
        }
    )
    with pytest.raises(BackendUnsupportedError) as error:
        extension_properties(spec)
    assert error.value.paths == [
        "controllers.notification.tuning.kubeApiBurst",
        "fluxVersion",
        "namespace",
        "reconciler.image",
    ]
    assert "FluxExtension 'flux' on Azure" in str(error.value)


def secret_specs() -> list[tuple[FluxConfigurationSpec, list[str]]]:
    """Specs holding secrets that Azure rejects, with the plain secrets they hold."""
    blob_sp: Mapping[str, Any] = {
        "clientId": "cid",
        "tenantId": "tid",
        "clientCertificate": CLIENT_CERT,
        "clientCertificatePassword": CERT_PASSWORD,
    }
    return [
        (
            config(
                gitRepository={
                    "url": "ssh://git@host/r",
                    "sshPrivateKey": SSH_KEY,
                    "timeout": "0.5s",
                }
            ),
            [SSH_KEY],
        ),
        (
            config(gitRepository=https_git(httpsUser="u", httpsKey=HTTPS_TOKEN, timeout="1.5s")),
            [HTTPS_TOKEN],
        ),
        (
            config(
                sourceKind="Bucket",
                bucket={
                    "url": "http://b.local",
                    "bucketName": "bkt",
                    "accessKey": "a",
                    "secretKey": BUCKET_SECRET,
                    "syncInterval": "1.5s",
                },
            ),
            [BUCKET_SECRET],
        ),
        (
            config(
                sourceKind="AzureBlob",
                azureBlob={
                    "url": "https://a.blob.core.windows.net",
                    "containerName": "box",
                    "servicePrincipal": blob_sp,
                    "timeout": "2.5s",
                },
            ),
            [CLIENT_CERT, CERT_PASSWORD],
        ),
        (
            config(
                sourceKind="OCIRepository",
                ociRepository={
                    "url": "oci://ghcr.io/o/r",
                    "tlsConfig": {"clientCertificate": CA_CERT, "privateKey": OCI_KEY},
                    "syncInterval": "1.5s",
                },
            ),
            [OCI_KEY],
        ),
    ]


def test_no_secret_in_errors() -> None:
    for spec, secrets in secret_specs():
        with pytest.raises(BackendUnsupportedError) as error:
            flux_configuration_properties(spec)
        shown = [
            str(error.value),
            repr(error.value),
            *(str(e) for e in error.value.errors),
            *(repr(e) for e in error.value.errors),
        ]
        for secret in secrets:
            for text in shown:
                assert secret not in text
                assert b64(secret) not in text
