"""Render the auth Secret of a configuration's source, in the key layout Flux expects.

Git over SSH: ``identity``, ``identity.pub``, ``known_hosts``; Git over HTTPS:
``username``, ``password``, ``ca.crt``; Bucket: ``accesskey``, ``secretkey``;
Azure Blob: ``accountKey`` / ``sasKey`` / ``clientId``, ``tenantId``,
``clientSecret`` / ``clientCertificate``…; OCI mTLS: ``tls.crt``, ``tls.key``,
``ca.crt``. Secret values sit under the keys their spec fields are marked with
(``fluxgitops.spec.secrets``). Called by ``fluxgitops.render.configuration``. Pure.
"""

from __future__ import annotations

import base64
from typing import Any

from fluxgitops.manifest import Manifest
from fluxgitops.meta import auth_secret_name, metadata
from fluxgitops.spec.base import secret_value
from fluxgitops.spec.configuration import FluxConfigurationSpec
from fluxgitops.spec.secrets import secret_data, secret_key
from fluxgitops.spec.sources import (
    AzureBlobSource,
    BucketSource,
    GitRepositorySource,
    OciRepositorySource,
)
from fluxgitops.sshkeys import SshIdentity, public_key_of

_IDENTITY = secret_key(GitRepositorySource, "ssh_private_key")


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _git_data(git: GitRepositorySource, identity: SshIdentity | None) -> dict[str, str]:
    data: dict[str, str | None] = {}
    if git.is_ssh:
        private = secret_value(git.ssh_private_key)
        if private is not None:
            try:
                public: str | None = public_key_of(private)
            except ValueError:
                public = None  # an unreadable key is still passed on; Flux reports it
            data.update({_IDENTITY: private, f"{_IDENTITY}.pub": public})
        elif identity is not None:
            data.update(
                {
                    _IDENTITY: identity.private_key.get_secret_value(),
                    f"{_IDENTITY}.pub": identity.public_key,
                }
            )
        if data or git.ssh_known_hosts:
            data["known_hosts"] = git.ssh_known_hosts
    else:
        data.update(
            {
                "username": git.https_user,
                secret_key(GitRepositorySource, "https_key"): secret_value(git.https_key),
                "ca.crt": git.https_ca_cert,
            }
        )
    return {k: v for k, v in data.items() if v is not None}


def _bucket_data(bucket: BucketSource) -> dict[str, str]:
    data = {"accesskey": bucket.access_key, **secret_data(bucket)}
    return {k: v for k, v in data.items() if v is not None}


def _blob_data(blob: AzureBlobSource) -> dict[str, str]:
    data: dict[str, str | None] = dict(secret_data(blob))
    if blob.managed_identity is not None:
        data["clientId"] = blob.managed_identity.client_id
    principal = blob.service_principal
    if principal is not None:
        data.update(
            {
                "clientId": principal.client_id,
                "tenantId": principal.tenant_id,
                "clientCertificateSendChain": "true"
                if principal.client_certificate_send_chain
                else None,
            }
        )
    return {k: v for k, v in data.items() if v is not None}


def _oci_data(oci: OciRepositorySource) -> dict[str, str]:
    return {} if oci.tls_config is None else secret_data(oci.tls_config)


def auth_data(spec: FluxConfigurationSpec, identity: SshIdentity | None = None) -> dict[str, str]:
    """The plain (not base64) key → value pairs of the auth Secret; empty when none is needed."""
    source = spec.source
    if source.local_auth_ref is not None:
        return {}
    if isinstance(source, GitRepositorySource):
        return _git_data(source, identity)
    if isinstance(source, BucketSource):
        return _bucket_data(source)
    if isinstance(source, AzureBlobSource):
        return _blob_data(source)
    return _oci_data(source)


def render_auth_secret(
    spec: FluxConfigurationSpec, labels: dict[str, str], identity: SshIdentity | None = None
) -> Manifest | None:
    """The ``<config>-auth`` Secret, or None when the source needs no inline credentials."""
    data = auth_data(spec, identity)
    if not data:
        return None
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(auth_secret_name(spec.name), spec.namespace, labels),
        "type": "Opaque",
        "data": {k: _b64(data[k]) for k in sorted(data)},
    }
    return Manifest(body)


def render_verify_secret(spec: FluxConfigurationSpec, labels: dict[str, str]) -> Manifest | None:
    """``<config>-verify``: the cosign/notation public keys of an OCI source, if any."""
    source = spec.source
    if not isinstance(source, OciRepositorySource) or source.verify is None:
        return None
    config = source.verify.verification_config
    if not config:
        return None
    return Manifest(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata(f"{spec.name}-verify", spec.namespace, labels),
            "type": "Opaque",
            "data": {k: _b64(config[k]) for k in sorted(config)},
        }
    )
