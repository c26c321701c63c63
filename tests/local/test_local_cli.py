"""``fluxgitops local up | status | env | down`` against the real binaries."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fluxgitops.local.controlplane import process_status, read_state
from fluxgitops.local.gitserver import EXAMPLE_REPOSITORY, local_git_url
from fluxgitops_cli.app import app

runner = CliRunner()


@pytest.fixture
def local_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private FLUXGITOPS_LOCAL_DIR; whatever is left running is stopped afterwards."""
    monkeypatch.setenv("FLUXGITOPS_LOCAL_DIR", str(tmp_path))
    yield tmp_path
    runner.invoke(app, ["local", "down"])


def test_up_status_env_down_leaves_no_process(local_dir: Path) -> None:
    up = runner.invoke(app, ["local", "up", "--no-reconciler", "--no-git"])
    assert up.exit_code == 0, up.output
    state = read_state(local_dir)
    assert state is not None
    pids = list(state["processes"].values())
    assert process_status(local_dir) == {"etcd": True, "kube-apiserver": True}

    status = runner.invoke(app, ["local", "status"])
    assert status.exit_code == 0
    assert "kube-apiserver" in status.output

    env = runner.invoke(app, ["local", "env"])
    assert env.output.strip() == f"export KUBECONFIG={local_dir / 'kubeconfig'}"

    down = runner.invoke(app, ["local", "down"])
    assert down.output.startswith("stopped: kube-apiserver, etcd")
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert runner.invoke(app, ["local", "status"]).exit_code == 1


def test_second_up_is_refused_while_running(local_dir: Path) -> None:
    assert runner.invoke(app, ["local", "up", "--no-reconciler", "--no-git"]).exit_code == 0
    again = runner.invoke(app, ["local", "up"])
    assert again.exit_code == 1
    assert "already running" in again.output


def test_up_serves_the_example_repository_and_runs_the_reconciler(local_dir: Path) -> None:
    up = runner.invoke(app, ["local", "up"])
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
