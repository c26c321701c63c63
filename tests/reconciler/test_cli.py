"""``fluxgitops reconciler run`` and ``python -m reconciler run``: options, and a real process
that reconciles, then stops on SIGTERM and hands its Lease back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from lightkube import Client
from lightkube.resources.coordination_v1 import Lease
from typer.testing import CliRunner

from fluxgitops.kube.apply import ensure_namespace
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops_cli.app import app
from tests.reconciler.conftest import LEASE_NAMESPACE
from tests.reconciler.support import apply_fluxconfig, https_config, kustomization, wait_for

REPO = Path(__file__).resolve().parents[2]


def test_run_needs_a_namespace_or_all_namespaces() -> None:
    result = CliRunner().invoke(app, ["reconciler", "run"])
    assert result.exit_code == 2
    assert "exactly one of --namespace" in result.output


def test_module_entrypoint_reconciles_and_stops_on_sigterm(
    control_plane: ControlPlane, admin: Client
) -> None:
    namespace = f"rec-{uuid.uuid4().hex[:8]}"
    for name in (namespace, LEASE_NAMESPACE):
        ensure_namespace(admin, name)
    argv = [
        sys.executable,
        "-m",
        "reconciler",
        "run",
        f"--kubeconfig={control_plane.kubeconfig}",
        f"--namespace={namespace}",
        f"--lease-namespace={LEASE_NAMESPACE}",
        "--identity=cli-test",
        "--log-level=INFO",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        try:
            apply_fluxconfig(admin, https_config("cli", namespace))
            wait_for("cli-infra", lambda: kustomization(admin, namespace, "cli-infra"), timeout=30)
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "cli-test released the lease" in output
    lease = admin.get(Lease, "fluxgitops-reconciler", namespace=LEASE_NAMESPACE)
    assert lease.spec is not None
    assert not lease.spec.holderIdentity
