"""Map the Flux specs onto Azure's ARM resources (fluxConfiguration, microsoft.flux extension).

Pure: imports no pulumi and does no I/O. ``flux_configuration_properties`` and
``extension_properties`` return the keyword arguments of pulumi-azure-native's
``FluxConfigurationArgs`` / ``ExtensionArgs`` as plain dicts (snake_case keys,
nested dicts shaped like the SDK's ``*DefinitionArgs``); the Pulumi layer
(``components.azure_args``) turns them into the real args objects and wraps the
values under ``SECRET_KEYS`` in ``pulumi.Output.secret``. The two ``check_*``
functions raise ``BackendUnsupportedError`` listing everything ARM cannot
express, so nothing is silently dropped; the mapping functions call them
first, and anything that wants to validate a spec against the Azure backend
before planning can too.

API versions: the SDK's typed classes speak ``ARM_API_VERSION`` (2023-05-01);
what only ``CURRENT_API_VERSION`` (2025-04-01) has — OCI sources and the Git
``provider`` for workload identity — is mapped too, and ``api_version_for``
tells the Pulumi layer to address that API version's resource type directly.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field
from pydantic.alias_generators import to_camel

from fluxgitops.errors import BackendUnsupportedError, FieldError
from fluxgitops.spec.base import SpecModel, secret_value
from fluxgitops.spec.configuration import FluxConfigurationSpec, KustomizationSpec
from fluxgitops.spec.durations import format_duration, whole_seconds
from fluxgitops.spec.extension import (
    CONTROLLER_NAMES,
    DEFAULT_FLUX_VERSION,
    Controllers,
    ControllerSpec,
    FluxExtensionSpec,
    ReconcilerSpec,
)
from fluxgitops.spec.parse import show_value
from fluxgitops.spec.secrets import SECRETS, arm_secret_data
from fluxgitops.spec.sources import (
    AzureBlobSource,
    BucketSource,
    GitRepositorySource,
    OciRepositorySource,
    ServicePrincipal,
)

ARM_API_VERSION = "2023-05-01"
"""The API version of the SDK's typed ``kubernetesconfiguration`` classes."""
CURRENT_API_VERSION = "2025-04-01"
"""The newest fluxConfigurations API: OCIRepository sources and gitRepository.provider."""
SDK_VERSION = "pulumi-azure-native 3.29.0"
UNSUPPORTED = "azure_unsupported"
FLUX_SYSTEM = "flux-system"
_USE_K8S = "use the kubernetes backend"

SECRET_KEYS: frozenset[str] = frozenset(
    f"configuration_protected_settings.{f.marker.arm}" if f.marker.arm else ".".join(f.attrs)
    for f in SECRETS
)
"""Dotted keys of ``flux_configuration_properties``' result whose values are secrets: a
protected setting for a field ARM names one (``sshPrivateKey``, ``httpsKey``,
``bucketSecretKey``), else the field's own path (``azure_blob.account_key`` …); from the
one secret map (``fluxgitops.spec.secrets``)."""

_CLUSTER_RP: dict[str, str] = {
    "managedClusters": "Microsoft.ContainerService",
    "connectedClusters": "Microsoft.Kubernetes",
    "provisionedClusters": "Microsoft.HybridContainerService",
}
_AZURE_CONTROLLER = CONTROLLER_NAMES


class ClusterRef(SpecModel):
    """Which cluster the ARM resources attach to (AKS, Arc-enabled or AKS hybrid)."""

    resource_group_name: str = Field(min_length=1)
    cluster_name: str = Field(min_length=1)
    cluster_type: Literal["managedClusters", "connectedClusters", "provisionedClusters"] = (
        "managedClusters"
    )
    subscription_id: str | None = None
    """The cluster's subscription, for fleet selectors and policy scopes (``fluxgitops.spec.
    fleet``); the resources go through the azure-native provider, whose subscription it is."""
    tags: dict[str, str] = Field(default_factory=dict)
    """The cluster resource's Azure tags as the stack declares them, for fleet selectors."""
    flux_v1_configurations: list[str] = Field(default_factory=list)
    """Names of Flux v1 ``sourceControlConfigurations`` to look for before installing Flux v2
    (besides the configurations' own names): pulumi-azure-native has no list invoke for them,
    only a get by name (``components.fluxv1``)."""

    @property
    def cluster_rp(self) -> str:
        """The resource provider of the cluster type, e.g. ``Microsoft.ContainerService``."""
        return _CLUSTER_RP[self.cluster_type]

    @property
    def cluster_resource_name(self) -> str:
        """ARM's ``clusterResourceName``: the cluster type, e.g. ``managedClusters``."""
        return self.cluster_type

    def resource_args(self) -> dict[str, str]:
        """The four cluster-addressing keyword arguments of every kubernetesconfiguration args."""
        return {
            "resource_group_name": self.resource_group_name,
            "cluster_name": self.cluster_name,
            "cluster_rp": self.cluster_rp,
            "cluster_resource_name": self.cluster_resource_name,
        }


def is_secret_key(dotted: str) -> bool:
    """True when ``dotted`` (e.g. ``azure_blob.sas_token``) names a secret of the properties."""
    return dotted in SECRET_KEYS


def secret_values(properties: Mapping[str, Any]) -> list[str]:
    """The plain secret values present in a ``flux_configuration_properties`` result."""
    found: list[str] = []
    for dotted in sorted(SECRET_KEYS):
        node: Any = properties
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, str):
            found.append(node)
    return found


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def arm_base64(value: str) -> str:
    """``value`` base64-encoded, as ARM takes known_hosts, CA certificates and protected
    settings (also the Flux policy definitions' ``repositorySshKnownHosts`` /
    ``repositoryHttpsCACert`` parameters, ``fluxgitops.policy``)."""
    return _b64(value)


def _seconds(value: timedelta) -> float:
    return float(whole_seconds(value))


def iso8601_duration(value: timedelta) -> str:
    """Whole seconds as an ISO 8601 time duration, ``PT5M`` / ``PT1H30M`` / ``PT45S``."""
    hours, rest = divmod(whole_seconds(value), 3600)
    minutes, seconds = divmod(rest, 60)
    text = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return "PT" + (text or "0S")


def _unsupported(path: str, message: str, value: object = None) -> FieldError:
    shown = format_duration(value) if isinstance(value, timedelta) else value
    return FieldError(path, message, show_value(path, shown), UNSUPPORTED)


def _not_whole(path: str, value: timedelta | None) -> Iterator[FieldError]:
    if value is not None and value != timedelta(seconds=whole_seconds(value)):
        yield _unsupported(
            path,
            "must be a whole number of seconds on Azure (ARM takes *InSeconds / PTnS)",
            value,
        )


def _configuration_errors(spec: FluxConfigurationSpec) -> Iterator[FieldError]:
    oci = spec.oci_repository
    if oci is not None and oci.repository_ref.semver_filter is not None:
        yield _unsupported(
            "ociRepository.repositoryRef.semverFilter",
            f"is not in ARM (API {CURRENT_API_VERSION}); {_USE_K8S}",
            oci.repository_ref.semver_filter,
        )
    for block, source in (
        ("gitRepository", spec.git_repository),
        ("bucket", spec.bucket),
        ("azureBlob", spec.azure_blob),
        ("ociRepository", oci),
    ):
        if source is not None:
            yield from _not_whole(f"{block}.timeout", source.timeout)
            yield from _not_whole(f"{block}.syncInterval", source.sync_interval)
    for name, kustomization in spec.kustomizations.items():
        where = f"kustomizations.{name}"
        yield from _not_whole(f"{where}.timeout", kustomization.timeout)
        yield from _not_whole(f"{where}.syncInterval", kustomization.sync_interval)
        yield from _not_whole(f"{where}.retryInterval", kustomization.retry_interval)
    yield from _not_whole("reconciliationWaitDuration", spec.reconciliation_wait_duration)


def check_azure_configuration(spec: FluxConfigurationSpec) -> None:
    """Raise ``BackendUnsupportedError`` listing all of ``spec`` that ARM cannot express.

    Rejected: an OCI ``semverFilter`` (not in ARM 2025-04-01) and durations
    that are not whole seconds (ARM takes ``*InSeconds``; rounding would change
    behaviour). OCI sources and ``gitRepository.provider`` need API 2025-04-01
    (``api_version_for``), not an error.
    The bucket's ``insecure`` is always written explicitly from the URL scheme
    (ARM would otherwise default it to true), so it needs no error.
    """
    errors = list(_configuration_errors(spec))
    if errors:
        raise BackendUnsupportedError(f"FluxConfiguration {spec.name!r} on Azure", errors)


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def api_version_for(spec: FluxConfigurationSpec) -> str:
    """The ARM API version ``spec`` needs: the SDK's, or the current one for what only it has."""
    git = spec.git_repository
    if spec.oci_repository is not None or (git is not None and git.provider != "generic"):
        return CURRENT_API_VERSION
    return ARM_API_VERSION


_ARM_PROVIDER = {"generic": "Generic", "azure": "Azure", "github": "GitHub"}
"""Our lower-case ``provider`` → ARM's ProviderType enum."""


def _intervals(
    source: GitRepositorySource | BucketSource | AzureBlobSource | OciRepositorySource,
) -> dict[str, Any]:
    return {
        "timeout_in_seconds": _seconds(source.timeout),
        "sync_interval_in_seconds": _seconds(source.sync_interval),
    }


def _git(git: GitRepositorySource, protected: dict[str, str]) -> dict[str, Any]:
    protected.update({key: _b64(value) for key, value in arm_secret_data(git).items()})
    return _drop_none(
        {
            "url": git.url,
            "repository_ref": _drop_none(git.repository_ref.model_dump(by_alias=False)),
            **_intervals(git),
            "ssh_known_hosts": None if git.ssh_known_hosts is None else _b64(git.ssh_known_hosts),
            "https_user": git.https_user,
            "https_ca_cert": None if git.https_ca_cert is None else _b64(git.https_ca_cert),
            "local_auth_ref": git.local_auth_ref,
            "provider": None if git.provider == "generic" else _ARM_PROVIDER[git.provider],
        }
    )


def _oci(oci: OciRepositorySource) -> dict[str, Any]:
    """ARM ``OCIRepositoryDefinition`` (API 2025-04-01); TLS material base64 and secret."""
    ref, tls, verify = oci.repository_ref, oci.tls_config, oci.verify
    return _drop_none(
        {
            "url": oci.url,
            "repository_ref": _drop_none(
                {"tag": ref.tag, "semver": ref.semver, "digest": ref.digest}
            ),
            "layer_selector": None
            if oci.layer_selector is None
            else {
                "media_type": oci.layer_selector.media_type,
                "operation": oci.layer_selector.operation,
            },
            "verify": None
            if verify is None
            else _drop_none(
                {
                    "provider": verify.provider,
                    "verification_config": dict(verify.verification_config) or None,
                    "match_oidc_identity": [
                        {"issuer": m.issuer, "subject": m.subject}
                        for m in verify.match_oidc_identity
                    ]
                    or None,
                }
            ),
            "insecure": oci.insecure,
            "use_workload_identity": oci.use_workload_identity,
            "service_account_name": oci.service_account_name,
            "tls_config": None
            if tls is None
            else _drop_none(
                {
                    key: None if value is None else _b64(value)
                    for key, value in (
                        ("client_certificate", secret_value(tls.client_certificate)),
                        ("private_key", secret_value(tls.private_key)),
                        ("ca_certificate", secret_value(tls.ca_certificate)),
                    )
                }
            ),
            **_intervals(oci),
            "local_auth_ref": oci.local_auth_ref,
        }
    )


def _bucket(bucket: BucketSource, protected: dict[str, str]) -> dict[str, Any]:
    protected.update({key: _b64(value) for key, value in arm_secret_data(bucket).items()})
    return _drop_none(
        {
            "url": bucket.url,
            "bucket_name": bucket.bucket_name,
            "access_key": bucket.access_key,
            "insecure": bucket.effective_insecure,
            **_intervals(bucket),
            "local_auth_ref": bucket.local_auth_ref,
        }
    )


def _service_principal(principal: ServicePrincipal) -> dict[str, Any]:
    certificate = secret_value(principal.client_certificate)
    return _drop_none(
        {
            "client_id": principal.client_id,
            "tenant_id": principal.tenant_id,
            "client_secret": secret_value(principal.client_secret),
            "client_certificate": None if certificate is None else _b64(certificate),
            "client_certificate_password": secret_value(principal.client_certificate_password),
            "client_certificate_send_chain": principal.client_certificate_send_chain,
        }
    )


def _azure_blob(blob: AzureBlobSource) -> dict[str, Any]:
    identity, principal = blob.managed_identity, blob.service_principal
    return _drop_none(
        {
            "url": blob.url,
            "container_name": blob.container_name,
            "account_key": secret_value(blob.account_key),
            "sas_token": secret_value(blob.sas_token),
            "managed_identity": None if identity is None else {"client_id": identity.client_id},
            "service_principal": None if principal is None else _service_principal(principal),
            **_intervals(blob),
            "local_auth_ref": blob.local_auth_ref,
        }
    )


def _kustomization(k: KustomizationSpec) -> dict[str, Any]:
    post_build = (
        None
        if k.post_build is None
        else {
            "substitute": dict(k.post_build.substitute),
            "substitute_from": [s.model_dump(by_alias=False) for s in k.post_build.substitute_from],
        }
    )
    return _drop_none(
        {
            "path": k.path,
            "depends_on": list(k.depends_on),
            "timeout_in_seconds": _seconds(k.timeout),
            "sync_interval_in_seconds": _seconds(k.sync_interval),
            "retry_interval_in_seconds": _seconds(k.effective_retry_interval),
            "prune": k.prune,
            "force": k.force,
            "wait": k.wait,
            "post_build": post_build,
        }
    )


def flux_configuration_properties(spec: FluxConfigurationSpec) -> dict[str, Any]:
    """The ``FluxConfigurationArgs`` keyword arguments (minus the cluster) for ``spec``.

    Calls ``check_azure_configuration`` first. SECRETS ARE RETURNED AS PLAIN
    ``str``: ``configuration_protected_settings`` (``sshPrivateKey``,
    ``httpsKey``, ``bucketSecretKey``, base64-encoded as ARM wants) and the
    Azure Blob credentials (``account_key``, ``sas_token``, the service
    principal's ``client_secret`` / ``client_certificate`` (base64) /
    ``client_certificate_password``). ``SECRET_KEYS`` lists their dotted keys;
    callers must wrap them (``pulumi.Output.secret``) and never log the dict.
    ``ssh_known_hosts`` and ``https_ca_cert`` are base64 too; durations are
    whole seconds as ``float``, ``reconciliation_wait_duration`` ISO 8601.
    """
    check_azure_configuration(spec)
    protected: dict[str, str] = {}
    props: dict[str, Any] = {
        "flux_configuration_name": spec.name,
        "namespace": spec.namespace,
        "scope": spec.scope,
        "source_kind": spec.source_kind,
        "suspend": spec.suspend,
    }
    if spec.git_repository is not None:
        props["git_repository"] = _git(spec.git_repository, protected)
    if spec.bucket is not None:
        props["bucket"] = _bucket(spec.bucket, protected)
    if spec.azure_blob is not None:
        props["azure_blob"] = _azure_blob(spec.azure_blob)
    if spec.oci_repository is not None:
        props["oci_repository"] = _oci(spec.oci_repository)
    props["kustomizations"] = {
        name: _kustomization(spec.kustomizations[name]) for name in spec.kustomization_order()
    }
    props["wait_for_reconciliation"] = spec.wait_for_reconciliation
    if spec.reconciliation_wait_duration is not None:
        props["reconciliation_wait_duration"] = iso8601_duration(spec.reconciliation_wait_duration)
    if protected:
        props["configuration_protected_settings"] = protected
    return props


# ---------------------------------------------------------------- extension


def _changed(value: Any, default: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(path, value) of every leaf set (not None) to something other than its default."""
    if isinstance(value, Mapping):
        for key, sub in value.items():
            base = default.get(key) if isinstance(default, Mapping) else None
            yield from _changed(sub, base, f"{path}.{key}")
    elif value is not None and value != default:
        yield path, value


def _controller_errors(
    name: str, controller: ControllerSpec, default: ControllerSpec
) -> Iterator[FieldError]:
    where = f"controllers.{to_camel(name)}"
    for path, value in _changed(controller.tuning.model_dump(by_alias=True), {}, f"{where}.tuning"):
        yield _unsupported(
            path,
            f"controller tuning is not exposed by the microsoft.flux extension; {_USE_K8S}",
            value,
        )
    resources = _changed(
        controller.resources.model_dump(by_alias=True),
        default.resources.model_dump(by_alias=True),
        f"{where}.resources",
    )
    for path, value in resources:
        if name == "source" and path.endswith(".memory"):
            continue  # source-controller.resources.{limits,requests}.memory
        yield _unsupported(
            path,
            f"Azure only lets you change source-controller memory; keep the default or {_USE_K8S}",
            value,
        )


def _extension_errors(spec: FluxExtensionSpec) -> Iterator[FieldError]:
    if spec.namespace != FLUX_SYSTEM:
        yield _unsupported(
            "namespace",
            f"microsoft.flux always installs into {FLUX_SYSTEM!r}; {_USE_K8S}",
            spec.namespace,
        )
    if spec.flux_version != DEFAULT_FLUX_VERSION:
        yield _unsupported(
            "fluxVersion",
            "Azure installs the Flux shipped with the extension "
            "version; pin version (with autoUpgradeMinorVersion: false) instead, "
            f"or {_USE_K8S}",
            spec.flux_version,
        )
    defaults = Controllers()
    for name, controller in spec.controllers.items():
        yield from _controller_errors(name, controller, getattr(defaults, name))
    for path, value in _changed(
        spec.reconciler.model_dump(by_alias=True),
        ReconcilerSpec().model_dump(by_alias=True),
        "reconciler",
    ):
        yield _unsupported(
            path,
            "Azure runs its own fluxconfig-controller with fixed settings; "
            f"keep the default or {_USE_K8S}",
            value,
        )


def check_azure_extension(spec: FluxExtensionSpec) -> None:
    """Raise ``BackendUnsupportedError`` listing all of ``spec`` microsoft.flux cannot express.

    Rejected: a namespace other than ``flux-system``; ``fluxVersion`` other than
    the default (Azure picks Flux by extension ``version``; the default is
    accepted and ignored since it only matters to the kubernetes backend); any
    ``controllers.<name>.tuning.*`` flag; changed resources other than
    source-controller memory; any ``reconciler`` setting off its default (Azure
    runs its own fluxconfig-controller). A resource value left unset (``None``)
    counts as "keep Azure's default", not as a change.
    """
    errors = list(_extension_errors(spec))
    if errors:
        raise BackendUnsupportedError(f"FluxExtension {spec.name!r} on Azure", errors)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def extension_settings(spec: FluxExtensionSpec) -> dict[str, str]:
    """The extension's ``configurationSettings`` (Azure's keys, string values)."""
    settings = {"multiTenancy.enforce": _flag(spec.multi_tenancy.enforce)}
    for name, controller in spec.controllers.items():
        settings[f"{_AZURE_CONTROLLER[name]}.enabled"] = _flag(controller.enabled)
    settings["useKubeletIdentity"] = _flag(spec.use_kubelet_identity)
    settings["workloadIdentity.enable"] = _flag(spec.workload_identity.enable)
    if spec.workload_identity.azure_client_id is not None:
        settings["workloadIdentity.azureClientId"] = spec.workload_identity.azure_client_id
    helm = spec.controllers.helm
    settings["helm-controller.detectDrift"] = _flag(helm.detect_drift)
    oom = helm.out_of_memory_watch
    settings["helm-controller.outOfMemoryWatch.enabled"] = _flag(oom.enabled)
    settings["helm-controller.outOfMemoryWatch.memoryThreshold"] = str(oom.memory_threshold)
    settings["helm-controller.outOfMemoryWatch.interval"] = format_duration(oom.interval)
    source = spec.controllers.source.resources
    for kind, values in (("limits", source.limits), ("requests", source.requests)):
        if values.memory is not None:
            settings[f"source-controller.resources.{kind}.memory"] = values.memory
    return settings


def extension_properties(spec: FluxExtensionSpec) -> dict[str, Any]:
    """The ``ExtensionArgs`` keyword arguments (minus the cluster) for ``spec``.

    Calls ``check_azure_extension`` first. ``version`` is present only when
    pinned. There are no secrets: ``configuration_protected_settings`` is unused.
    """
    check_azure_extension(spec)
    props: dict[str, Any] = {
        "extension_type": "microsoft.flux",
        "extension_name": spec.name,
        "auto_upgrade_minor_version": spec.auto_upgrade_minor_version,
        "release_train": spec.release_train,
        "configuration_settings": extension_settings(spec),
        "scope": {"cluster": {"release_namespace": spec.namespace}},
    }
    if spec.version is not None:
        props["version"] = spec.version
    return props
