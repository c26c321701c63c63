"""Fixtures for tests against the real local control plane (etcd + kube-apiserver on loopback).

``control_plane`` is the fast one (no controller-manager, scheduler or nodes);
``cluster`` behaves like a real cluster (controller-manager, scheduler, two kwok
nodes) for tests that need pods, garbage collection or namespace deletion.

Loaded by ``tests/conftest.py`` as a plugin.

The binaries come from ``tools/build.py`` (``make tools``); when they are missing
the fixture fails with the ``ToolchainError`` that says how to build them — it
never skips.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lightkube import Client, KubeConfig

from fluxgitops.kube.client import register_kinds
from fluxgitops.local.controlplane import ControlPlane


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    """A started control plane with the Flux and FluxConfig CRDs, stopped after the session."""
    with ControlPlane() as plane:
        yield plane


@pytest.fixture(scope="session")
def admin(control_plane: ControlPlane) -> Client:
    """A lightkube client authenticated as the cluster admin."""
    register_kinds()
    return Client(KubeConfig.from_file(control_plane.kubeconfig), field_manager="fluxgitops-tests")


@pytest.fixture(scope="session")
def cluster() -> Iterator[ControlPlane]:
    """A cluster that behaves like a real one, without Flux controllers, stopped after the session.

    kube-controller-manager (GC, namespaces, ServiceAccounts, Deployments),
    kube-scheduler and two simulated nodes run by kwok, so pods become Running.
    """
    with ControlPlane.full(flux=False, nodes=2) as plane:
        yield plane


@pytest.fixture(scope="session")
def cluster_admin(cluster: ControlPlane) -> Client:
    """A lightkube client authenticated as the admin of ``cluster``."""
    register_kinds()
    return Client(KubeConfig.from_file(cluster.kubeconfig), field_manager="fluxgitops-tests")
