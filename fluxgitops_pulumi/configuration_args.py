"""Typed arguments of ``FluxConfiguration``: Azure's ARM ``fluxConfigurations`` in snake_case.

Every class mirrors one spec model of ``fluxgitops.spec`` (named in its ``SPEC``
class variable) field for field; the camelCase name a stack file or an ARM
template uses is in each docstring. Unset (``None``) means the spec's default,
so no default is repeated here, and every value is checked by the spec itself
(``fluxgitops_pulumi.convert``), which reports mistakes under these Python names.
Secret fields accept a ``pulumi.Input[str]`` (for example
``pulumi.Config().require_secret("httpsKey")``); they travel only as Pulumi
secrets. Imported by ``fluxgitops_pulumi`` (the public API); no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar, Literal

import pulumi
import pulumi_kubernetes
from pydantic import BaseModel

from fluxgitops.spec import configuration, sources

if TYPE_CHECKING:  # the component module imports this one
    from fluxgitops_pulumi.components import FluxExtension

DurationInput = str | int | float | timedelta
"""A Go duration (``"1h30m"``), ISO 8601 (``"PT5M"``), a number of seconds or a ``timedelta``."""

SecretInput = pulumi.Input[str]
"""A secret value: a string or a Pulumi ``Output`` (kept secret end to end)."""


@dataclass(kw_only=True)
class RepositoryRefArgs:
    """Which commit of a Git repository (``repositoryRef``); give exactly one."""

    SPEC: ClassVar[type[BaseModel]] = sources.RepositoryRef

    branch: str | None = None
    """``branch``: follow the head of this branch."""
    tag: str | None = None
    """``tag``: a fixed tag."""
    semver: str | None = None
    """``semver``: the highest tag matching this range, e.g. ``">=1.0.0 <2.0.0"``."""
    commit: str | None = None
    """``commit``: a fixed commit SHA (40 hex digits)."""


@dataclass(kw_only=True)
class GitRepositoryArgs:
    """A Git source (``gitRepository``; ``source_kind="GitRepository"``)."""

    SPEC: ClassVar[type[BaseModel]] = sources.GitRepositorySource

    url: str
    """``url``: ``http://``, ``https://``, ``ssh://`` or scp-like ``git@host:path``."""
    repository_ref: RepositoryRefArgs | None = None
    """``repositoryRef``: branch, tag, semver range or commit (default: branch ``master``)."""
    timeout: DurationInput | None = None
    """``timeout`` (ARM ``timeoutInSeconds``): Git operations time out after this (10m)."""
    sync_interval: DurationInput | None = None
    """``syncInterval`` (ARM ``syncIntervalInSeconds``): how often the source is fetched (10m)."""
    ssh_private_key: SecretInput | None = None
    """``sshPrivateKey`` (secret): OpenSSH or PEM key for an SSH URL, plain or base64. Unset
    with an SSH URL and the reconciler on, a key is generated in the cluster and its public
    half is the ``repository_public_key`` output."""
    ssh_known_hosts: str | None = None
    """``sshKnownHosts``: known_hosts lines for the SSH host, plain or base64."""
    https_user: str | None = None
    """``httpsUser``: user name for HTTPS basic auth."""
    https_key: SecretInput | None = None
    """``httpsKey`` (secret): password or token for HTTPS basic auth."""
    https_ca_cert: str | None = None
    """``httpsCACert``: PEM CA certificate of the HTTPS server, plain or base64."""
    provider: Literal["generic", "azure", "github"] | None = None
    """``provider``: ``generic`` (default), ``azure`` (workload identity) or ``github`` (app)."""
    local_auth_ref: str | None = None
    """``localAuthRef``: a Secret in the configuration namespace with the credentials instead."""


@dataclass(kw_only=True)
class BucketArgs:
    """An S3-compatible bucket source (``bucket``; ``source_kind="Bucket"``)."""

    SPEC: ClassVar[type[BaseModel]] = sources.BucketSource

    url: str
    """``url``: the endpoint, ``http://`` or ``https://``."""
    bucket_name: str
    """``bucketName``: the bucket."""
    access_key: str | None = None
    """``accessKey``: the access key ID."""
    secret_key: SecretInput | None = None
    """``secretKey`` (secret; ARM ``configurationProtectedSettings.bucketSecretKey``)."""
    insecure: bool | None = None
    """``insecure``: plain HTTP to the endpoint."""
    timeout: DurationInput | None = None
    """``timeout`` (ARM ``timeoutInSeconds``)."""
    sync_interval: DurationInput | None = None
    """``syncInterval`` (ARM ``syncIntervalInSeconds``)."""
    local_auth_ref: str | None = None
    """``localAuthRef``: a Secret in the configuration namespace with the credentials instead."""


@dataclass(kw_only=True)
class ManagedIdentityArgs:
    """``managedIdentity`` of an Azure Blob source."""

    SPEC: ClassVar[type[BaseModel]] = sources.ManagedIdentity

    client_id: str
    """``clientId``: the managed identity's client ID."""


@dataclass(kw_only=True)
class ServicePrincipalArgs:
    """``servicePrincipal`` of an Azure Blob source: a secret or a certificate."""

    SPEC: ClassVar[type[BaseModel]] = sources.ServicePrincipal

    client_id: str
    """``clientId``."""
    tenant_id: str
    """``tenantId``."""
    client_secret: SecretInput | None = None
    """``clientSecret`` (secret)."""
    client_certificate: SecretInput | None = None
    """``clientCertificate`` (secret): PEM, plain or base64."""
    client_certificate_password: SecretInput | None = None
    """``clientCertificatePassword`` (secret)."""
    client_certificate_send_chain: bool | None = None
    """``clientCertificateSendChain``: send the whole chain (subject name/issuer auth)."""


@dataclass(kw_only=True)
class AzureBlobArgs:
    """An Azure Blob container source (``azureBlob``; ``source_kind="AzureBlob"``)."""

    SPEC: ClassVar[type[BaseModel]] = sources.AzureBlobSource

    url: str
    """``url``: the storage account's blob endpoint."""
    container_name: str
    """``containerName``."""
    account_key: SecretInput | None = None
    """``accountKey`` (secret)."""
    sas_token: SecretInput | None = None
    """``sasToken`` (secret)."""
    managed_identity: ManagedIdentityArgs | None = None
    """``managedIdentity``."""
    service_principal: ServicePrincipalArgs | None = None
    """``servicePrincipal``."""
    timeout: DurationInput | None = None
    """``timeout`` (ARM ``timeoutInSeconds``)."""
    sync_interval: DurationInput | None = None
    """``syncInterval`` (ARM ``syncIntervalInSeconds``)."""
    local_auth_ref: str | None = None
    """``localAuthRef``: a Secret in the configuration namespace with the credentials instead."""


@dataclass(kw_only=True)
class OciRepositoryRefArgs:
    """``ociRepository.repositoryRef``: tag, semver range (with filter) or digest."""

    SPEC: ClassVar[type[BaseModel]] = sources.OciRepositoryRef

    tag: str | None = None
    """``tag`` (default ``latest``)."""
    semver: str | None = None
    """``semver``: the highest tag matching this range."""
    semver_filter: str | None = None
    """``semverFilter``: a regular expression tags must match first (kubernetes backend)."""
    digest: str | None = None
    """``digest``: ``sha256:…``."""


@dataclass(kw_only=True)
class LayerSelectorArgs:
    """``ociRepository.layerSelector``: which layer of the artifact holds the manifests."""

    SPEC: ClassVar[type[BaseModel]] = sources.LayerSelector

    media_type: str
    """``mediaType``."""
    operation: Literal["extract", "copy"] | None = None
    """``operation``: ``extract`` (default) or ``copy``."""


@dataclass(kw_only=True)
class OidcIdentityArgs:
    """One ``verify.matchOidcIdentity`` entry (keyless cosign)."""

    SPEC: ClassVar[type[BaseModel]] = sources.OidcIdentity

    issuer: str
    """``issuer``: a regular expression for the OIDC issuer."""
    subject: str
    """``subject``: a regular expression for the identity."""


@dataclass(kw_only=True)
class VerifyArgs:
    """``ociRepository.verify``: signature verification."""

    SPEC: ClassVar[type[BaseModel]] = sources.Verify

    provider: Literal["cosign", "notation"]
    """``provider``."""
    verification_config: Mapping[str, str] | None = None
    """``verificationConfig``: public keys or trust policy by file name."""
    match_oidc_identity: Sequence[OidcIdentityArgs] | None = None
    """``matchOidcIdentity``."""


@dataclass(kw_only=True)
class TlsConfigArgs:
    """``ociRepository.tlsConfig``: client certificate and CA (PEM, plain or base64)."""

    SPEC: ClassVar[type[BaseModel]] = sources.TlsConfig

    client_certificate: SecretInput | None = None
    """``clientCertificate`` (secret)."""
    private_key: SecretInput | None = None
    """``privateKey`` (secret)."""
    ca_certificate: SecretInput | None = None
    """``caCertificate`` (secret)."""


@dataclass(kw_only=True)
class OciRepositoryArgs:
    """An OCI artifact source (``ociRepository``; ``source_kind="OCIRepository"``)."""

    SPEC: ClassVar[type[BaseModel]] = sources.OciRepositorySource

    url: str
    """``url``: ``oci://registry/repository``."""
    repository_ref: OciRepositoryRefArgs | None = None
    """``repositoryRef`` (default tag ``latest``)."""
    layer_selector: LayerSelectorArgs | None = None
    """``layerSelector``."""
    verify: VerifyArgs | None = None
    """``verify``."""
    insecure: bool | None = None
    """``insecure``: plain HTTP to the registry."""
    use_workload_identity: bool | None = None
    """``useWorkloadIdentity``: authenticate with the cluster's workload identity."""
    service_account_name: str | None = None
    """``serviceAccountName``: image pull secrets of this ServiceAccount."""
    tls_config: TlsConfigArgs | None = None
    """``tlsConfig``."""
    timeout: DurationInput | None = None
    """``timeout`` (ARM ``timeoutInSeconds``)."""
    sync_interval: DurationInput | None = None
    """``syncInterval`` (ARM ``syncIntervalInSeconds``)."""
    local_auth_ref: str | None = None
    """``localAuthRef``: a Secret in the configuration namespace with the credentials instead."""


@dataclass(kw_only=True)
class SubstituteFromArgs:
    """One ``postBuild.substituteFrom`` entry: a ConfigMap or Secret whose keys are variables."""

    SPEC: ClassVar[type[BaseModel]] = configuration.SubstituteFrom

    kind: Literal["ConfigMap", "Secret"]
    """``kind``."""
    name: str
    """``name``: in the configuration namespace."""
    optional: bool | None = None
    """``optional``: a missing object is not an error."""


@dataclass(kw_only=True)
class PostBuildArgs:
    """``postBuild``: ``${var}`` substitution after kustomize build."""

    SPEC: ClassVar[type[BaseModel]] = configuration.PostBuild

    substitute: Mapping[str, str] | None = None
    """``substitute``: variable → value."""
    substitute_from: Sequence[SubstituteFromArgs] | None = None
    """``substituteFrom``."""


@dataclass(kw_only=True)
class KustomizationArgs:
    """One Kustomization of the configuration (ARM ``KustomizationDefinition``)."""

    SPEC: ClassVar[type[BaseModel]] = configuration.KustomizationSpec

    path: str | None = None
    """``path``: directory in the source, relative, without ``..`` (default: the root)."""
    depends_on: Sequence[str] | None = None
    """``dependsOn``: names of Kustomizations of this configuration applied first."""
    timeout: DurationInput | None = None
    """``timeout`` (ARM ``timeoutInSeconds``; default 10m)."""
    sync_interval: DurationInput | None = None
    """``syncInterval`` (ARM ``syncIntervalInSeconds``; default 10m)."""
    retry_interval: DurationInput | None = None
    """``retryInterval`` (ARM ``retryIntervalInSeconds``; default the sync interval)."""
    prune: bool | None = None
    """``prune``: delete what was removed from the source."""
    force: bool | None = None
    """``force``: recreate objects whose immutable fields changed."""
    wait: bool | None = None
    """``wait``: Ready only when what it applied is healthy (default true)."""
    post_build: PostBuildArgs | None = None
    """``postBuild``."""


SourceKind = sources.SourceKind


@dataclass(kw_only=True)
class FluxConfigurationArgs:
    """One Flux configuration (ARM ``fluxConfigurations``) and the cluster it goes on.

    The source is one of ``git_repository``, ``bucket``, ``azure_blob``,
    ``oci_repository``. The cluster connection and backend default to the
    ``extension``'s; give them only to override.
    """

    SPEC: ClassVar[type[BaseModel]] = configuration.FluxConfigurationSpec

    extension: FluxExtension
    """The ``FluxExtension`` of the cluster (the configuration ``depends_on`` it)."""
    name: str | None = None
    """``name``: the configuration's name in the cluster / in ARM (default: the resource name).
    Create-only: changing it replaces the configuration."""
    namespace: str | None = None
    """``namespace``: where the Flux objects live (default ``default``). Create-only."""
    scope: Literal["cluster", "namespace"] | None = None
    """``scope``: ``cluster`` (default; may change any namespace) or ``namespace``. Create-only."""
    source_kind: SourceKind | None = None
    """``sourceKind``: default inferred from the source block given."""
    git_repository: GitRepositoryArgs | None = None
    """``gitRepository``."""
    bucket: BucketArgs | None = None
    """``bucket``."""
    azure_blob: AzureBlobArgs | None = None
    """``azureBlob``."""
    oci_repository: OciRepositoryArgs | None = None
    """``ociRepository`` (kubernetes backend, or ARM API 2025-04-01 on azure)."""
    kustomizations: Mapping[str, KustomizationArgs] | None = None
    """``kustomizations``: name → Kustomization (default one ``kustomization-1`` at the root)."""
    suspend: bool | None = None
    """``suspend``: stop reconciling."""
    wait_for_reconciliation: bool | None = None
    """``waitForReconciliation``: create/update end only when Compliant (kubernetes backend)."""
    reconciliation_wait_duration: DurationInput | None = None
    """``reconciliationWaitDuration``: how long to wait for Compliant (default 10m)."""
    force_conflicts: bool = False
    """Take over fields another server-side-apply manager owns (kubernetes backend)."""
    remove_finalizers: bool = False
    """On delete, remove finalizers still held after ``delete_timeout_seconds``."""
    delete_timeout_seconds: float = 120.0
    """How long delete waits for finalizers."""
    source_check: Literal["off", "warn", "strict"] = "off"
    """Check the Git source at preview (ref, paths, multi-tenancy rules); kubernetes backend."""
    kubeconfig: pulumi.Input[str] | None = None
    """Override of the extension's kubeconfig (contents or path)."""
    context: pulumi.Input[str] | None = None
    """Override of the extension's kubeconfig context."""
    k8s_provider: pulumi_kubernetes.Provider | None = None
    """Override of the extension's ``pulumi_kubernetes.Provider`` connection."""

    CONNECTION: ClassVar[frozenset[str]] = frozenset(
        {
            "extension",
            "force_conflicts",
            "remove_finalizers",
            "delete_timeout_seconds",
            "source_check",
            "kubeconfig",
            "context",
            "k8s_provider",
        }
    )
    """Fields that are not part of the configuration spec."""
