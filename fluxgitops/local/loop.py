"""Start the rest of the local GitOps loop next to a detached control plane.

``start_loop`` adds two local processes to a started ``ControlPlane`` (so
``fluxgitops local down`` stops them with the rest): the project's Git server
serving ``examples/gitops-repo`` as repository ``gitops`` on the fixed default
port (a free one when taken; the URL is recorded for ``${local.git}``), and the
fluxgitops reconciler (``python -m reconciler run``, every namespace, no leader
election: one replica), which on a real cluster runs as a Deployment. Called by
``fluxgitops local up`` and the end-to-end tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.gitserver import EXAMPLE_REPOSITORY, port_or_free, record_url
from fluxgitops.local.processes import free_port, http_ok
from fluxgitops.local.toolchain import REPO_ROOT

EXAMPLE_DIR = REPO_ROOT / "examples" / "gitops-repo"


def start_git_server(plane: ControlPlane, directory: Path = EXAMPLE_DIR) -> str:
    """Serve ``directory`` as ``<url>/gitops.git`` from a child process; return the base URL."""
    assert plane.workdir is not None
    port = port_or_free()
    url = f"http://127.0.0.1:{port}"
    argv = [
        sys.executable,
        "-m",
        "fluxgitops.local.gitserver",
        f"--root={plane.workdir / 'git'}",
        f"--port={port}",
        f"--publish={EXAMPLE_REPOSITORY}={directory}",
    ]
    process = plane._spawn("git-server", argv)
    probe = f"{url}/{EXAMPLE_REPOSITORY}.git/info/refs?service=git-upload-pack"
    plane._wait(process, lambda: http_ok(probe))
    record_url(plane.workdir, url)
    return url


def start_reconciler(plane: ControlPlane) -> None:
    """Run the reconciler against ``plane`` from a child process; wait for its liveness probe."""
    health = f"http://127.0.0.1:{free_port()}/healthz"
    argv = [
        sys.executable,
        "-m",
        "reconciler",
        "run",
        f"--kubeconfig={plane.kubeconfig}",
        "--all-namespaces",
        "--no-leader-elect",
        f"--liveness={health}",
    ]
    process = plane._spawn("reconciler", argv)
    plane._wait(process, lambda: http_ok(health))


def start_loop(plane: ControlPlane, *, git: bool = True, reconciler: bool = True) -> None:
    """Start what is asked for and record the processes in the plane's state file."""
    if git:
        start_git_server(plane)
    if reconciler:
        start_reconciler(plane)
    plane._save_state()
