"""``examples/kubernetes-program`` run for real: ``pulumi up`` → Compliant → ``destroy``.

The plain Pulumi CLI (v3.274.0) with the Python language host built from
sdk/v3 v3.79.0 and pulumi-resource-kubernetes, all from ``tools/build.py``, runs
a copy of the example directory unchanged (``pulumi stack init`` writes a
stack file there, so the repository is never touched) with a file backend. The
cluster behaves like a real one (controller-manager, scheduler, a kwok node),
source- and kustomize-controller and the fluxgitops reconciler run as local
processes, and the project's Git server serves ``examples/gitops-repo``. The
steps depend on each other, so they are one ordered scenario: up → team-a
Compliant at the published commit, the ConfigMap that depends on it records
that, nothing of the kubeconfig in the state → destroy → nothing left.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from lightkube import Client, KubeConfig

from fluxgitops.kube.apply import read_object
from fluxgitops.kube.client import register_kinds
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.gitserver import EXAMPLE_REPOSITORY, GitServer
from fluxgitops.local.loop import EXAMPLE_DIR, start_reconciler
from fluxgitops.local.toolchain import REPO_ROOT, program_dirs, python_env
from fluxgitops.manifest import ObjectKey
from tests.examples.support import EXAMPLES

PROGRAM = EXAMPLES / "kubernetes-program"
STACK = "local"
CRD = ObjectKey(
    "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "fluxconfigs.fluxgitops.io"
)
"""The FluxConfig CRD: the extension installed it, so destroy removes it with every FluxConfig."""
SOURCE = ObjectKey("source.toolkit.fluxcd.io/v1", "GitRepository", "team-a", "team-a")
KUSTOMIZATION = ObjectKey("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "team-a", "team-a-app")
APPLIED = ObjectKey("v1", "ConfigMap", "team-a", "team-a-settings")
DEPLOYED = ObjectKey("v1", "ConfigMap", "team-a", "gitops-deployed")
NAMESPACE = ObjectKey("v1", "Namespace", "", "team-a")


@pytest.fixture(scope="module")
def plane() -> Iterator[ControlPlane]:
    """A cluster like `fluxgitops local up` starts: controller-manager, scheduler, a kwok node,
    source- and kustomize-controller and the reconciler as local processes."""
    controllers = ("source-controller", "kustomize-controller")
    with ControlPlane(controllers=controllers, kube_controllers=True, nodes=1) as cluster:
        start_reconciler(cluster)
        yield cluster


@pytest.fixture(scope="module")
def git() -> Iterator[tuple[GitServer, str]]:
    """The Git server serving examples/gitops-repo as ``gitops``, and the commit published."""
    with GitServer() as server:
        commit = server.publish(EXAMPLE_REPOSITORY, EXAMPLE_DIR)
        yield server, commit


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's files copied as they are, with the repository's ``.venv`` as ``venv``."""
    directory = tmp_path_factory.mktemp("example") / "kubernetes-program"
    shutil.copytree(PROGRAM, directory)
    (directory / "venv").symlink_to(REPO_ROOT / ".venv")
    return directory


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A user's environment after ``eval "$(fluxgitops local env)"``: the built CLI, language
    host and kubernetes plugin on PATH, a file backend, no plugin downloads."""
    home = tmp_path_factory.mktemp("home")
    dirs, missing = program_dirs(("pulumi-language-python", "pulumi", "pulumi-resource-kubernetes"))
    assert not missing, "\n".join(missing)
    (home / "state").mkdir()
    return {
        "PATH": os.pathsep.join([*map(str, dirs), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "PULUMI_HOME": str(home / "pulumi-home"),
        "PULUMI_BACKEND_URL": (home / "state").as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "kubernetes-program",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        **python_env(),
    }


def pulumi(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the built ``pulumi`` in ``project``; fail with its output when it fails."""
    binary = shutil.which("pulumi", path=env["PATH"])
    assert binary is not None, f"no pulumi on PATH {env['PATH']!r}"
    done = subprocess.run(
        [binary, *args, "--non-interactive"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, f"pulumi {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def admin(plane: ControlPlane) -> Client:
    """An admin client of the cluster."""
    register_kinds()
    return Client(KubeConfig.from_file(plane.kubeconfig), field_manager="example-test")


def test_up_is_compliant_then_destroy_leaves_nothing(
    plane: ControlPlane,
    git: tuple[GitServer, str],
    project: Path,
    env: dict[str, str],
    admin: Client,
) -> None:
    server, commit = git
    kubeconfig = plane.kubeconfig.read_text()
    pulumi(project, env, "stack", "init", STACK)
    pulumi(project, env, "config", "set", "gitUrl", f"{server.base_url}/gitops.git")
    pulumi(project, env, "config", "set", "fluxMode", "external")
    pulumi(project, env, "config", "set", "deployReconciler", "false")
    pulumi(project, env, "config", "set", "syncInterval", "5s")
    pulumi(project, env, "config", "set", "--secret", "kubeconfig", kubeconfig)

    pulumi(project, env, "up", "--yes", "--skip-preview")

    outputs = json.loads(pulumi(project, env, "stack", "output", "--json").stdout)
    assert outputs["complianceState"] == "Compliant"
    assert outputs["sourceSyncedCommitId"] == commit
    assert "FluxConfig team-a/team-a" in outputs["objects"]
    deployed = read_object(admin, DEPLOYED)
    assert deployed is not None
    assert deployed["data"] == {
        "complianceState": "Compliant",
        "sourceSyncedCommitId": commit,
    }
    assert read_object(admin, APPLIED) is not None  # applied by Flux from the repository
    state = pulumi(project, env, "stack", "export").stdout
    credentials = [str(v) for u in yaml.safe_load(kubeconfig)["users"] for v in u["user"].values()]
    assert credentials
    assert [c for c in credentials if c in state] == []
    assert (project / "Pulumi.yaml").read_bytes() == (PROGRAM / "Pulumi.yaml").read_bytes()

    pulumi(project, env, "destroy", "--yes", "--skip-preview")

    left = {key: read_object(admin, key) for key in (CRD, SOURCE, KUSTOMIZATION, APPLIED)}
    assert left == dict.fromkeys(left)
    assert read_object(admin, DEPLOYED) is None
    assert read_object(admin, NAMESPACE) is None
