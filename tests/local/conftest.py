"""Fixtures for tests against the real local control plane (etcd + kube-apiserver on loopback).

The binaries come from ``tools/build.py`` (``make tools``); when they are missing
the fixture fails with the ``ToolchainError`` that says how to build them — it
never skips.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lightkube import Client, KubeConfig
from lightkube.generic_resource import create_namespaced_resource

from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.render.meta import FLUXCONFIG_KIND, FLUXCONFIG_PLURAL, FLUXCONFIG_VERSION, GROUP

for group, version, kind, plural in [
    ("source.toolkit.fluxcd.io", "v1", "GitRepository", "gitrepositories"),
    ("source.toolkit.fluxcd.io", "v1", "Bucket", "buckets"),
    ("source.toolkit.fluxcd.io", "v1", "OCIRepository", "ocirepositories"),
    ("kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations"),
    (GROUP, FLUXCONFIG_VERSION, FLUXCONFIG_KIND, FLUXCONFIG_PLURAL),
]:
    create_namespaced_resource(group, version, kind, plural)


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    """A started control plane with the Flux and FluxConfig CRDs, stopped after the session."""
    with ControlPlane() as plane:
        yield plane


@pytest.fixture(scope="session")
def admin(control_plane: ControlPlane) -> Client:
    """A lightkube client authenticated as the cluster admin."""
    return Client(KubeConfig.from_file(control_plane.kubeconfig), field_manager="fluxgitops-tests")
