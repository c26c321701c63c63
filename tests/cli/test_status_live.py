"""``fluxgitops status`` against a real API server (Flux CRDs, no controllers): Pending stays
Pending, ``--watch`` gives up at ``--timeout`` with the last state, ``-o yaml`` prints the
documents."""

from __future__ import annotations

from pathlib import Path

import yaml
from lightkube import Client
from typer.testing import CliRunner

from fluxgitops.kube.apply import apply_manifests, ensure_namespace
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.render import render_configuration
from fluxgitops.spec import parse_configuration
from fluxgitops_cli.app import app

runner = CliRunner()
CONFIG = {
    "name": "watched",
    "namespace": "status-watch",
    "gitRepository": {"url": "https://h/r.git"},
    "kustomizations": {"apps": {"path": "apps"}},
}


def applied_stack(tmp_path: Path, control_plane: ControlPlane, admin: Client) -> Path:
    """The configuration applied by hand (no controller reconciles it) and its stack file."""
    spec = parse_configuration(CONFIG)
    ensure_namespace(admin, spec.namespace)
    apply_manifests(admin, render_configuration(spec))
    cluster = {
        "name": "c1",
        "kubeconfig": str(control_plane.kubeconfig),
        "extension": {"reconciler": {"enabled": False}},
        "configurations": [CONFIG],
    }
    path = tmp_path / "Pulumi.watch.yaml"
    path.write_text(yaml.safe_dump({"config": {"fluxgitops:clusters": [cluster]}}))
    return path


def test_watch_gives_up_at_the_timeout_with_the_last_state(
    tmp_path: Path, control_plane: ControlPlane, admin: Client
) -> None:
    stack = applied_stack(tmp_path, control_plane, admin)
    result = runner.invoke(app, ["status", "-s", str(stack), "--watch", "--timeout", "1"])
    assert result.exit_code == 1
    assert "c1: status-watch/watched Pending" in result.output
    assert result.output.strip().splitlines()[-1] == (
        "not all Compliant after 1s: status-watch/watched Pending"
    )


def test_yaml_output_is_the_document_list(
    tmp_path: Path, control_plane: ControlPlane, admin: Client
) -> None:
    stack = applied_stack(tmp_path, control_plane, admin)
    result = runner.invoke(app, ["status", "-s", str(stack), "-o", "yaml"])
    assert result.exit_code == 0, result.output
    (doc,) = yaml.safe_load(result.output)
    assert (doc["cluster"], doc["name"], doc["complianceState"]) == ("c1", "watched", "Pending")
