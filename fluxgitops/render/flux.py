"""Render the Flux objects of a configuration: its source and its Kustomizations.

The source is named ``<config>`` (GitRepository, Bucket — also for Azure Blob,
with ``provider: azure`` — or OCIRepository, all ``source.toolkit.fluxcd.io/v1``);
each Kustomization is ``<config>-<name>`` (``kustomize.toolkit.fluxcd.io/v1``)
with ``dependsOn`` translated to those prefixed names. Called by
``fluxgitops.render.configuration``. Pure.
"""

from __future__ import annotations

from typing import Any

from fluxgitops.manifest import Manifest
from fluxgitops.meta import (
    APPLIER_SERVICE_ACCOUNT,
    KUSTOMIZE_API_VERSION,
    SOURCE_API_VERSION,
    auth_secret_name,
    kustomization_name,
    metadata,
)
from fluxgitops.spec.configuration import FluxConfigurationSpec, KustomizationSpec
from fluxgitops.spec.durations import format_duration
from fluxgitops.spec.sources import (
    AzureBlobSource,
    BucketSource,
    GitRepositorySource,
    OciRepositorySource,
)

SOURCE_TIMEOUT_UNIT = "m"
"""The largest unit the source CRDs' ``spec.timeout`` pattern (``^([0-9]+(\\.[0-9]+)?(ms|s|m))+$``)
allows; intervals and Kustomization durations also take ``h``."""


def source_kind(spec: FluxConfigurationSpec) -> str:
    """The Flux kind of the configuration's source (Azure Blob is a Flux ``Bucket``)."""
    return {
        "GitRepository": "GitRepository",
        "Bucket": "Bucket",
        "AzureBlob": "Bucket",
        "OCIRepository": "OCIRepository",
    }[spec.source_kind]


def source_secret_name(spec: FluxConfigurationSpec, has_auth_secret: bool) -> str | None:
    """The Secret the source authenticates with: localAuthRef, ours, or none."""
    source = spec.source
    if source.local_auth_ref is not None:
        return source.local_auth_ref
    generated = isinstance(source, GitRepositorySource) and source.generates_ssh_key
    return auth_secret_name(spec.name) if has_auth_secret or generated else None


def _git_spec(git: GitRepositorySource) -> dict[str, Any]:
    ref = git.repository_ref.model_dump(exclude_none=True)
    body: dict[str, Any] = {"url": git.url, "ref": {k: ref[k] for k in sorted(ref)}}
    if git.provider != "generic":
        body["provider"] = git.provider
    return body


def _bucket_spec(bucket: BucketSource) -> dict[str, Any]:
    return {
        "provider": "generic",
        "bucketName": bucket.bucket_name,
        "endpoint": bucket.endpoint,
        "insecure": bucket.effective_insecure,
    }


def _blob_spec(blob: AzureBlobSource) -> dict[str, Any]:
    return {"provider": "azure", "bucketName": blob.container_name, "endpoint": blob.url}


def _oci_spec(spec: FluxConfigurationSpec, oci: OciRepositorySource) -> dict[str, Any]:
    ref = oci.repository_ref
    body: dict[str, Any] = {"url": oci.url}
    ref_body = {
        "tag": ref.tag,
        "semver": ref.semver,
        "semverFilter": ref.semver_filter,
        "digest": ref.digest,
    }
    body["ref"] = {k: v for k, v in ref_body.items() if v is not None} or {"tag": "latest"}
    if oci.layer_selector is not None:
        body["layerSelector"] = {
            "mediaType": oci.layer_selector.media_type,
            "operation": oci.layer_selector.operation,
        }
    if oci.verify is not None:
        verify: dict[str, Any] = {"provider": oci.verify.provider}
        if oci.verify.verification_config:
            verify["secretRef"] = {"name": f"{spec.name}-verify"}
        if oci.verify.match_oidc_identity:
            verify["matchOIDCIdentity"] = [
                {"issuer": i.issuer, "subject": i.subject} for i in oci.verify.match_oidc_identity
            ]
        body["verify"] = verify
    body["provider"] = "azure" if oci.use_workload_identity else "generic"
    if oci.insecure:
        body["insecure"] = True
    if oci.service_account_name is not None:
        body["serviceAccountName"] = oci.service_account_name
    if oci.tls_config is not None:
        body["certSecretRef"] = {"name": auth_secret_name(spec.name)}
    return body


def render_source(
    spec: FluxConfigurationSpec, labels: dict[str, str], has_auth_secret: bool
) -> Manifest:
    """The source object named after the configuration."""
    source = spec.source
    if isinstance(source, GitRepositorySource):
        body = _git_spec(source)
    elif isinstance(source, BucketSource):
        body = _bucket_spec(source)
    elif isinstance(source, AzureBlobSource):
        body = _blob_spec(source)
    else:
        body = _oci_spec(spec, source)
    body["interval"] = format_duration(source.sync_interval)
    body["timeout"] = format_duration(source.timeout, largest=SOURCE_TIMEOUT_UNIT)
    secret = source_secret_name(spec, has_auth_secret)
    is_oci_tls = isinstance(source, OciRepositorySource) and source.local_auth_ref is None
    if secret is not None and not is_oci_tls:
        body["secretRef"] = {"name": secret}
    if spec.suspend:
        body["suspend"] = True
    return Manifest(
        {
            "apiVersion": SOURCE_API_VERSION,
            "kind": source_kind(spec),
            "metadata": metadata(spec.name, spec.namespace, labels),
            "spec": body,
        }
    )


def _post_build(k: KustomizationSpec) -> dict[str, Any] | None:
    if k.post_build is None:
        return None
    out: dict[str, Any] = {}
    if k.post_build.substitute:
        out["substitute"] = {
            key: k.post_build.substitute[key] for key in sorted(k.post_build.substitute)
        }
    if k.post_build.substitute_from:
        out["substituteFrom"] = [
            {"kind": s.kind, "name": s.name, **({"optional": True} if s.optional else {})}
            for s in k.post_build.substitute_from
        ]
    return out or None


def render_kustomization(
    spec: FluxConfigurationSpec, name: str, labels: dict[str, str], multi_tenancy: bool
) -> Manifest:
    """The Kustomization ``<config>-<name>``, pointing at the configuration's source."""
    k = spec.kustomizations[name]
    body: dict[str, Any] = {
        "interval": format_duration(k.sync_interval),
        "retryInterval": format_duration(k.effective_retry_interval),
        "timeout": format_duration(k.timeout),
        "path": "./" + k.path if k.path else "./",
        "prune": k.prune,
        "force": k.force,
        "wait": k.wait,
        "sourceRef": {"kind": source_kind(spec), "name": spec.name},
    }
    if k.depends_on:
        body["dependsOn"] = [{"name": kustomization_name(spec.name, d)} for d in k.depends_on]
    if multi_tenancy:
        body["serviceAccountName"] = APPLIER_SERVICE_ACCOUNT
    post_build = _post_build(k)
    if post_build is not None:
        body["postBuild"] = post_build
    if spec.suspend:
        body["suspend"] = True
    return Manifest(
        {
            "apiVersion": KUSTOMIZE_API_VERSION,
            "kind": "Kustomization",
            "metadata": metadata(kustomization_name(spec.name, name), spec.namespace, labels),
            "spec": body,
        }
    )
