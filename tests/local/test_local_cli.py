"""``fluxgitops local up | status | env | down`` against the real binaries."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fluxgitops.local.controlplane import process_status, read_state
from fluxgitops.local.gitserver import EXAMPLE_REPOSITORY
from fluxgitops.localrefs import local_git_url
from fluxgitops_cli.app import app

runner = CliRunner()


@pytest.fixture
def local_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private FLUXGITOPS_LOCAL_DIR; whatever is left running is stopped afterwards."""
    monkeypatch.setenv("FLUXGITOPS_LOCAL_DIR", str(tmp_path))
    yield tmp_path
    runner.invoke(app, ["local", "down"])


EVERY_PROCESS = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
]


def test_up_by_default_runs_the_whole_cluster_and_down_leaves_no_process(local_dir: Path) -> None:
    up = runner.invoke(app, ["local", "up", "--no-reconciler", "--no-git"])
    assert up.exit_code == 0, up.output
    state = read_state(local_dir)
    assert state is not None
    pids = list(state["processes"].values())
    assert sorted(process_status(local_dir).items()) == sorted(
        (name, True) for name in EVERY_PROCESS
    )
    assert state["nodes"] == ["kwok-node-0"]

    status = runner.invoke(app, ["local", "status"])
    assert status.exit_code == 0
    assert "kube-scheduler" in status.output

    env = runner.invoke(app, ["local", "env"])
    assert env.output.splitlines()[0] == f"export KUBECONFIG={local_dir / 'kubeconfig'}"

    down = runner.invoke(app, ["local", "down"])
    assert down.output.startswith("stopped: notification-controller, helm-controller")
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert runner.invoke(app, ["local", "status"]).exit_code == 1


def test_up_without_cluster_and_controllers_runs_only_etcd_and_apiserver(local_dir: Path) -> None:
    up = runner.invoke(
        app, ["local", "up", "--no-cluster", "--no-controllers", "--no-reconciler", "--no-git"]
    )

    assert up.exit_code == 0, up.output
    assert process_status(local_dir) == {"etcd": True, "kube-apiserver": True}


def test_second_up_is_refused_while_running(local_dir: Path) -> None:
    assert (
        runner.invoke(
            app, ["local", "up", "--no-cluster", "--no-controllers", "--no-reconciler", "--no-git"]
        ).exit_code
        == 0
    )
    again = runner.invoke(app, ["local", "up"])
    assert again.exit_code == 1
    assert "already running" in again.output


def test_up_serves_the_example_repository_and_runs_the_reconciler(local_dir: Path) -> None:
    up = runner.invoke(app, ["local", "up", "--no-cluster", "--no-controllers"])
    assert up.exit_code == 0, up.output
    assert process_status(local_dir) == {
        "etcd": True,
        "kube-apiserver": True,
        "git-server": True,
        "reconciler": True,
    }
    url = f"{local_git_url(local_dir)}/{EXAMPLE_REPOSITORY}.git"
    assert f"git: {url}" in up.output
    listed = subprocess.run(
        ["git", "ls-remote", url, "main"], capture_output=True, text=True, timeout=30, check=True
    )
    assert listed.stdout.endswith("\trefs/heads/main\n")
    down = runner.invoke(app, ["local", "down"])
    assert down.output.startswith("stopped: reconciler, git-server, kube-apiserver, etcd")
