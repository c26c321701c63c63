"""The whole GitOps loop on real programs, as `make run` sets it up, in one ordered scenario.

A control plane with the four Flux controllers as local processes, the
fluxgitops reconciler as a local process (``python -m reconciler run``), the
project's Git server serving a copy of ``examples/gitops-repo``, and the Pulumi
CLI through ``components.automation`` on a copy of ``stacks/Pulumi.local.yaml``
with short intervals. The steps depend on each other (one cluster, one
repository), so they run as one test, each step asserting what it shows:

up → Compliant → a new commit is applied and reported → a broken manifest is
Non-Compliant with Flux's message and ``up`` fails with it → the fix is
Compliant → a ConfigMap deleted by hand comes back (Flux) → a generated
Kustomization edited by hand is restored (the reconciler) → destroy removes
every Flux object and what they applied. Without kube-controller-manager the
``podinfo`` namespace stays Terminating and no Deployment becomes Available:
those assertions depend on the control plane having nodes.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client, KubeConfig
from lightkube.types import PatchType

from components.automation import run_stack, stack_config, stack_readers
from fluxgitops.errors import ReconciliationError
from fluxgitops.kube.apply import read_object
from fluxgitops.kube.client import register_kinds, resource_for
from fluxgitops.kube.deployed import LiveConfiguration
from fluxgitops.local.controlplane import FLUX_CONTROLLERS, ControlPlane
from fluxgitops.local.gitserver import EXAMPLE_REPOSITORY, GitServer, record_url
from fluxgitops.local.loop import EXAMPLE_DIR, start_reconciler
from fluxgitops.local.toolchain import REPO_ROOT
from fluxgitops.manifest import ObjectKey
from fluxgitops_cli.app import status_document
from tests.reconciler.support import wait_for

STACK = "loop"
KUSTOMIZE = "kustomize.toolkit.fluxcd.io/v1"
SETTINGS = ObjectKey("v1", "ConfigMap", "podinfo", "web-settings")
APPS = ObjectKey(KUSTOMIZE, "Kustomization", "cluster-config", "cluster-config-apps")
RELEASE = ObjectKey("helm.toolkit.fluxcd.io/v2", "HelmRelease", "cluster-config", "podinfo")


@pytest.fixture(scope="module")
def loop_plane() -> Iterator[ControlPlane]:
    """A cluster as `fluxgitops local up` starts it: controller-manager, scheduler, a kwok node,
    every Flux controller and the reconciler as local processes."""
    with ControlPlane(controllers=FLUX_CONTROLLERS, kube_controllers=True, nodes=1) as plane:
        start_reconciler(plane)
        yield plane


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of examples/gitops-repo that the test edits and publishes."""
    directory = tmp_path_factory.mktemp("gitops") / "repo"
    shutil.copytree(EXAMPLE_DIR, directory)
    return directory


@pytest.fixture(scope="module")
def git(loop_plane: ControlPlane, repository: Path) -> Iterator[GitServer]:
    """The Git server serving ``repository`` as ``gitops``; its URL is ``${local.git}``."""
    assert loop_plane.workdir is not None
    with GitServer() as server:
        server.publish(EXAMPLE_REPOSITORY, repository)
        record_url(loop_plane.workdir, server.base_url)
        yield server


FLUX_ACTS = 180.0
"""Seconds Flux gets to act on a commit or a hand edit (2-3 s intervals): a bound for a
liveness failure, generous because the controllers share two cores with the rest of the
suite (90 s ran out under load twice, at the new-commit and the broken-commit steps)."""


def fast(config: dict[str, Any]) -> dict[str, Any]:
    """The local stack with intervals short enough for a test."""
    for cluster in config["fluxgitops:clusters"]:
        for configuration in cluster["configurations"]:
            configuration["gitRepository"]["syncInterval"] = "2s"
            configuration["reconciliationWaitDuration"] = "3m"
            for kustomization in configuration["kustomizations"].values():
                kustomization.update(syncInterval="3s", retryInterval="2s", timeout="30s")
    return config


@pytest.fixture(scope="module")
def stacks(
    loop_plane: ControlPlane, git: GitServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """``Pulumi.loop.yaml`` (the local stack, fast) against this plane, with its own state."""
    assert loop_plane.workdir is not None
    patch = pytest.MonkeyPatch()
    patch.setenv("FLUXGITOPS_LOCAL_DIR", str(loop_plane.workdir))
    patch.setenv("FLUXGITOPS_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    patch.setenv("PULUMI_CONFIG_PASSPHRASE", "e2e-loop")
    directory = tmp_path_factory.mktemp("stacks")
    local = yaml.safe_load((REPO_ROOT / "stacks" / "Pulumi.local.yaml").read_text())
    local["config"] = fast(local["config"])
    (directory / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump(local))
    yield directory
    patch.undo()


@pytest.fixture(scope="module")
def admin(loop_plane: ControlPlane) -> Client:
    """An admin client for this module's control plane."""
    register_kinds()
    return Client(KubeConfig.from_file(loop_plane.kubeconfig), field_manager="e2e-hand")


def cluster_config(stacks: Path) -> LiveConfiguration:
    """The ``cluster-config`` configuration read live."""
    readers = stack_readers(stack_config(STACK, stacks))
    return next(read for _, spec, read in readers if spec.name == "cluster-config")()


def has_nodes(client: Client) -> bool:
    """True when the control plane has nodes (pods can run, Deployments become Available)."""
    return bool(list(client.list(resource_for("v1", "Node"))))


def publish(git: GitServer, repository: Path, files: dict[str, str | None]) -> str:
    """Write (or, for None, remove) ``files`` in the repository copy and publish a commit."""
    for name, content in files.items():
        if content is None:
            (repository / name).unlink()
        else:
            (repository / name).write_text(content)
    return git.publish(EXAMPLE_REPOSITORY, repository)


def failing_at(live: LiveConfiguration, commit: str) -> bool:
    """True when the configuration is Non-Compliant with the source at ``commit``."""
    return live.commit == commit and live.compliance().state == "Non-Compliant"


def gone(admin: Client, key: ObjectKey) -> bool:
    """True when ``key`` is not in the cluster."""
    return read_object(admin, key) is None


def greeting(admin: Client) -> str | None:
    """The ``greeting`` of the app's ConfigMap (None when it is not there)."""
    body = read_object(admin, SETTINGS)
    return None if body is None else str((body.get("data") or {}).get("greeting"))


def test_the_whole_loop(stacks: Path, git: GitServer, repository: Path, admin: Client) -> None:
    # up → every configuration Compliant, waited for with progress lines
    lines: list[str] = []
    up = run_stack("up", STACK, stacks_dir=stacks, on_output=lines.append)
    assert up.outputs["local-cluster-config-cluster-config:complianceState"] == "Compliant"
    assert up.outputs["local-team-a-team-a:complianceState"] == "Compliant"
    assert any("cluster-config: Compliant at commit" in line for line in lines)

    # Flux re-reconciles on its short intervals (Ready=Unknown, Progressing, for a moment):
    # read the status again until it shows the steady state
    def compliant_document() -> dict[str, Any] | None:
        doc = status_document("local", cluster_config(stacks), "2026-01-01T00:00:00Z")
        return doc if doc["complianceState"] == "Compliant" else None

    doc = wait_for("the status document to read Compliant", compliant_document, timeout=60)
    release = next(s for s in doc["statuses"] if s["kind"] == "HelmRelease")
    assert release["appliedBy"] == {"namespace": "cluster-config", "name": "cluster-config-infra"}
    assert release["helmReleaseProperties"]["lastRevisionApplied"] == 1
    assert "Deployment podinfo/web" in doc["appliedObjects"]["cluster-config-apps"]
    assert read_object(admin, ObjectKey("apps/v1", "Deployment", "podinfo", "podinfo"))
    assert greeting(admin) == "hello"
    if has_nodes(admin):  # needs simulated nodes (branch `cluster`)
        web = wait_for(
            "Deployment web Available",
            lambda: read_object(admin, ObjectKey("apps/v1", "Deployment", "podinfo", "web")),
        )
        assert (web.get("status") or {}).get("availableReplicas") == 1

    # a commit changing the app → applied; the status reports the new commit
    settings = (repository / "apps" / "configmap.yaml").read_text()
    second = publish(git, repository, {"apps/configmap.yaml": settings.replace("hello", "bonjour")})
    wait_for("the new greeting", lambda: greeting(admin) == "bonjour", timeout=FLUX_ACTS)
    wait_for("the new commit in status", lambda: cluster_config(stacks).commit == second, 60)

    # a broken manifest → Non-Compliant with Flux's own message; `up` fails with it
    kustomization = (repository / "apps" / "kustomization.yaml").read_text()
    broken = publish(
        git, repository, {"apps/kustomization.yaml": kustomization + "  - missing.yaml\n"}
    )
    wait_for(
        "Flux to fail on the broken commit",
        lambda: failing_at(cluster_config(stacks), broken),
        timeout=FLUX_ACTS,
    )
    with pytest.raises(ReconciliationError) as failed:
        run_stack("up", STACK, stacks_dir=stacks)
    message = str(failed.value)
    assert message.startswith("local: FluxConfiguration cluster-config/cluster-config is ")
    assert "Non-Compliant: Kustomization/cluster-config-apps: BuildFailed: " in message
    assert "missing.yaml" in message

    # the fix → Compliant again
    fixed = publish(git, repository, {"apps/kustomization.yaml": kustomization})
    wait_for("the fixed commit", lambda: cluster_config(stacks).commit == fixed, timeout=FLUX_ACTS)
    run_stack("up", STACK, stacks_dir=stacks)
    assert cluster_config(stacks).commit == fixed

    # a ConfigMap deleted by hand → Flux applies it again
    admin.delete(resource_for("v1", "ConfigMap"), "web-settings", namespace="podinfo")
    wait_for(
        "Flux to restore the ConfigMap", lambda: greeting(admin) == "bonjour", timeout=FLUX_ACTS
    )

    # a generated Kustomization edited by hand → the reconciler restores it
    admin.patch(
        resource_for(KUSTOMIZE, "Kustomization"),
        APPS.name,
        {"spec": {"prune": False}},
        namespace=APPS.namespace,
        patch_type=PatchType.MERGE,
    )
    wait_for(
        "the reconciler to restore prune: true",
        lambda: (read_object(admin, APPS) or {}).get("spec", {}).get("prune") is True,
        timeout=30,
    )

    # destroy → every Flux object and what it applied is gone
    run_stack("destroy", STACK, stacks_dir=stacks)
    for key in (APPS, RELEASE, SETTINGS):
        wait_for(f"{key} deleted", lambda: gone(admin, key), timeout=90)  # noqa: B023
    podinfo = ObjectKey("v1", "Namespace", "", "podinfo")
    if has_nodes(admin):  # namespaces finish terminating only with kube-controller-manager
        wait_for("namespace podinfo gone", lambda: read_object(admin, podinfo) is None, timeout=90)
    else:
        namespace = read_object(admin, podinfo)
        assert namespace is None or namespace["metadata"].get("deletionTimestamp")
