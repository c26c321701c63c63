"""The GitOps loop for real: source- and kustomize-controller built from Go modules,
a Git repository served on loopback, objects rendered by fluxgitops.

A GitRepository becomes Ready at the pushed commit, its Kustomization applies a
ConfigMap from the repository, and a new commit changes the ConfigMap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from lightkube import ApiError, Client, KubeConfig
from lightkube.resources.core_v1 import ConfigMap

from fluxgitops.kube.apply import apply_manifests, ensure_namespace, read_object
from fluxgitops.kube.client import register_kinds
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.gitserver import DEFAULT_BRANCH, GitServer
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import parse_configuration
from fluxgitops.status import COMPLIANT, compliance, synced_commit

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: greeting
  namespace: gitops-loop
data:
  message: {message}
"""


@pytest.fixture(scope="module")
def flux_plane() -> Iterator[ControlPlane]:
    """A control plane running source-controller and kustomize-controller as local processes."""
    with ControlPlane(controllers=("source-controller", "kustomize-controller")) as plane:
        yield plane


@pytest.fixture(scope="module")
def git() -> Iterator[GitServer]:
    """A smart-HTTP Git server on loopback."""
    with GitServer() as server:
        yield server


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 90.0) -> Any:
    """Poll ``probe`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def test_repository_ready_configmap_applied_and_updated(
    flux_plane: ControlPlane, git: GitServer
) -> None:
    register_kinds()
    client = Client(KubeConfig.from_file(flux_plane.kubeconfig), field_manager="fluxgitops")
    git.create_repository("app")
    tree = git.work_tree("app")
    first = tree.write({"deploy/configmap.yaml": CONFIGMAP.format(message="hello")}).commit("first")
    tree.push()

    spec = parse_configuration(
        {
            "name": "loop",
            "namespace": "gitops-loop",
            "gitRepository": {
                "url": git.url("app"),
                "repositoryRef": {"branch": DEFAULT_BRANCH},
                "syncInterval": "2s",
                "timeout": "20s",
            },
            "kustomizations": {"app": {"path": "deploy", "syncInterval": "2s", "prune": True}},
        }
    )
    manifests = render_configuration(
        spec, RenderOptions(multi_tenancy=True, include_fluxconfig=False)
    )
    ensure_namespace(client, spec.namespace)
    apply_manifests(client, manifests)
    keys = [m.key for m in manifests if m.key.kind in ("GitRepository", "Kustomization")]

    def live() -> list[dict[str, Any]]:
        return [o for o in (read_object(client, k) for k in keys) if o is not None]

    wait_for(
        "GitRepository Ready at the first commit",
        lambda: synced_commit(read_object(client, keys[0])) == first,
    )
    wait_for("Compliant", lambda: compliance(live()).state == COMPLIANT)

    def message() -> str | None:
        try:
            data = client.get(ConfigMap, "greeting", namespace="gitops-loop").data or {}
        except ApiError:
            return None
        return data.get("message")

    assert wait_for("the ConfigMap", message) == "hello"

    second = tree.write({"deploy/configmap.yaml": CONFIGMAP.format(message="bonjour")}).commit(
        "second"
    )
    tree.push()
    wait_for("the second commit", lambda: synced_commit(read_object(client, keys[0])) == second)
    assert wait_for("the changed ConfigMap", lambda: message() == "bonjour")
