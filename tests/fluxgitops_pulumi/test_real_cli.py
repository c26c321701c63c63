"""The public API through the real Pulumi CLI on the local cluster, without pulumi-kubernetes.

An inline Automation API program (the built ``pulumi`` CLI, a file backend)
declares ``FluxExtension`` and ``FluxConfiguration`` from ``fluxgitops_pulumi``
with the kubeconfig as a secret ``Output`` and the HTTPS token as a secret
``Output``; source- and kustomize-controller and the reconciler run as local
processes and the project's Git server serves ``examples/gitops-repo``. One
ordered scenario: ``up`` ends Compliant at the published commit, the state files
hold neither the kubeconfig's credentials nor the token, ``destroy`` leaves no
Flux object. (``tests/examples/test_kubernetes_program.py`` runs the example
program, which also needs the pulumi-kubernetes plugin.)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pulumi
import pytest
import yaml
from lightkube import Client, KubeConfig
from pulumi import automation as auto

from fluxgitops.kube.apply import read_object
from fluxgitops.kube.client import register_kinds
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.gitserver import EXAMPLE_REPOSITORY, GitServer
from fluxgitops.local.loop import EXAMPLE_DIR, start_reconciler
from fluxgitops.local.toolchain import tool_path
from fluxgitops.manifest import ObjectKey
from fluxgitops_pulumi import (
    FluxConfiguration,
    FluxConfigurationArgs,
    FluxExtension,
    FluxExtensionArgs,
    GitRepositoryArgs,
    KustomizationArgs,
    ReconcilerArgs,
    RepositoryRefArgs,
)

TOKEN = "tok-real-cli-never-in-state-0123"
CRD = ObjectKey(
    "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "fluxconfigs.fluxgitops.io"
)
"""The FluxConfig CRD: the extension installed it, so destroy removes it with every FluxConfig."""
SOURCE = ObjectKey("source.toolkit.fluxcd.io/v1", "GitRepository", "team-a", "team-a")
KUSTOMIZATION = ObjectKey("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "team-a", "team-a-app")
APPLIED = ObjectKey("v1", "ConfigMap", "team-a", "team-a-settings")


@pytest.fixture(scope="module")
def plane() -> Iterator[ControlPlane]:
    """A control plane with source- and kustomize-controller and the reconciler."""
    with ControlPlane(controllers=("source-controller", "kustomize-controller")) as cluster:
        start_reconciler(cluster)
        yield cluster


@pytest.fixture(scope="module")
def git() -> Iterator[tuple[GitServer, str]]:
    """The Git server serving examples/gitops-repo as ``gitops``, and the commit published."""
    with GitServer() as server:
        yield server, server.publish(EXAMPLE_REPOSITORY, EXAMPLE_DIR)


def test_up_through_the_cli_is_compliant_and_keeps_secrets_out_of_state(
    plane: ControlPlane, git: tuple[GitServer, str], tmp_path: Path
) -> None:
    server, commit = git
    kubeconfig = plane.kubeconfig.read_text()

    def program() -> None:
        flux = FluxExtension(
            "flux",
            FluxExtensionArgs(
                mode="external",
                kubeconfig=pulumi.Output.secret(kubeconfig),
                reconciler=ReconcilerArgs(deploy=False),
            ),
        )
        team = FluxConfiguration(
            "team-a",
            FluxConfigurationArgs(
                extension=flux,
                namespace="team-a",
                scope="namespace",
                git_repository=GitRepositoryArgs(
                    url=f"{server.base_url}/gitops.git",
                    repository_ref=RepositoryRefArgs(branch="main"),
                    sync_interval="5s",
                    https_user="bot",
                    https_key=pulumi.Output.secret(TOKEN),
                ),
                kustomizations={
                    "app": KustomizationArgs(path="./teams/team-a", prune=True, wait=False)
                },
                wait_for_reconciliation=True,
                reconciliation_wait_duration="4m",
            ),
        )
        pulumi.export("complianceState", team.compliance_state)
        pulumi.export("sourceSyncedCommitId", team.source_synced_commit_id)

    path = os.pathsep.join(
        [str(Path(sys.executable).parent), str(tool_path("pulumi").parent), os.environ["PATH"]]
    )
    os.environ["PATH"] = path  # the Automation API starts `pulumi` from this PATH
    state = tmp_path / "state"
    state.mkdir()
    options = auto.LocalWorkspaceOptions(
        env_vars={
            "PATH": path,
            "PULUMI_HOME": str(tmp_path / "home"),
            "PULUMI_CONFIG_PASSPHRASE": "real-cli",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        },
        project_settings=auto.ProjectSettings(
            name="public-api", runtime="python", backend=auto.ProjectBackend(url=state.as_uri())
        ),
    )
    stack = auto.create_or_select_stack(
        "t", project_name="public-api", program=program, opts=options
    )
    register_kinds()
    admin = Client(KubeConfig.from_file(plane.kubeconfig), field_manager="real-cli-test")

    up = stack.up()

    assert up.outputs["complianceState"].value == "Compliant"
    assert up.outputs["sourceSyncedCommitId"].value == commit
    assert read_object(admin, APPLIED) is not None  # applied by Flux from the repository
    written = "".join(p.read_text() for p in state.rglob("*.json"))
    credentials = [str(v) for u in yaml.safe_load(kubeconfig)["users"] for v in u["user"].values()]
    assert TOKEN not in written
    assert [c for c in credentials if c in written] == []

    stack.destroy()

    left = {key: read_object(admin, key) for key in (CRD, SOURCE, KUSTOMIZATION, APPLIED)}
    assert left == dict.fromkeys(left)
