"""``fluxgitops plan`` against the real local API server: exit codes 2 / 0 / 1 and formats."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from lightkube import Client
from typer.testing import CliRunner

from fluxgitops.kube.apply import apply_manifests, ensure_namespace
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.render import render_configuration
from fluxgitops.spec import parse_configuration
from fluxgitops_cli.app import app

runner = CliRunner()


def write_stack(path: Path, kubeconfig: str, configuration: dict[str, Any]) -> Path:
    """A stack file with one kubernetes cluster and one configuration."""
    path.write_text(
        yaml.safe_dump(
            {
                "config": {
                    "fluxgitops:clusters": [
                        {"name": "c1", "kubeconfig": kubeconfig, "configurations": [configuration]}
                    ]
                }
            }
        )
    )
    return path


CONFIG = {
    "name": "planned",
    "namespace": "plan-ns",
    "gitRepository": {"url": "https://h/r.git"},
    "kustomizations": {"apps": {"path": "apps"}},
}


def test_plan_exit_codes_follow_changes(
    tmp_path: Path, control_plane: ControlPlane, admin: Client
) -> None:
    stack = write_stack(tmp_path / "Pulumi.t.yaml", str(control_plane.kubeconfig), CONFIG)
    before = runner.invoke(app, ["plan", str(stack)])
    assert before.exit_code == 2, before.output
    assert "+ Kustomization plan-ns/planned-apps" in before.output

    spec = parse_configuration(CONFIG)
    ensure_namespace(admin, spec.namespace)
    apply_manifests(admin, render_configuration(spec))
    assert runner.invoke(app, ["plan", str(stack)]).exit_code == 0

    changed = {**CONFIG, "kustomizations": {"apps": {"path": "apps", "prune": True}}}
    write_stack(stack, str(control_plane.kubeconfig), changed)
    result = runner.invoke(app, ["plan", str(stack), "--format", "json"])
    assert result.exit_code == 2
    plan = json.loads(result.output)
    paths = [f["path"] for c in plan["configurations"][0]["changes"] for f in c["fields"]]
    assert "spec.prune" in paths


def test_plan_unreachable_cluster_exits_1(tmp_path: Path) -> None:
    stack = write_stack(tmp_path / "Pulumi.t.yaml", str(tmp_path / "missing-kubeconfig"), CONFIG)
    result = runner.invoke(app, ["plan", str(stack)])
    assert result.exit_code == 1
    assert "cannot load" in result.output


def test_plan_shows_a_configuration_removed_from_the_stack(
    tmp_path: Path, control_plane: ControlPlane, admin: Client
) -> None:
    kept = {**CONFIG, "name": "kept", "namespace": "plan-removed"}
    gone = {**CONFIG, "name": "gone", "namespace": "plan-removed"}
    for raw in (kept, gone):
        spec = parse_configuration(raw)
        ensure_namespace(admin, spec.namespace)
        apply_manifests(admin, render_configuration(spec))
    stack = write_stack(tmp_path / "Pulumi.t.yaml", str(control_plane.kubeconfig), kept)

    result = runner.invoke(app, ["plan", str(stack), "--format", "json"])

    assert result.exit_code == 2, result.output
    plan = json.loads(result.output)
    removed = [c for c in plan["configurations"] if c["removed"]]
    assert [c["configuration"] for c in removed] == ["plan-removed/gone"]
    deleted = {c["object"]["kind"] for c in removed[0]["changes"] if c["action"] == "delete"}
    assert {"GitRepository", "Kustomization"} <= deleted  # the FluxConfig mirrors them


def test_plan_markdown_snapshot(
    tmp_path: Path,
    control_plane: ControlPlane,
    admin: Client,
    testdata: Path,
    golden: Callable[[Path, str], None],
) -> None:
    before = {
        "name": "review",
        "namespace": "plan-md",
        "gitRepository": {"url": "https://h/r.git"},
        "kustomizations": {
            "infra": {"path": "infra", "prune": True},
            "apps": {"path": "apps", "prune": True, "dependsOn": ["infra"]},
        },
    }
    spec = parse_configuration(before)
    ensure_namespace(admin, spec.namespace)
    apply_manifests(admin, render_configuration(spec))
    after = {
        **before,
        "kustomizations": {
            "infra": {"path": "infrastructure", "prune": True},
            "monitoring": {"path": "monitoring"},
        },
    }
    stack = write_stack(tmp_path / "Pulumi.pr.yaml", str(control_plane.kubeconfig), after)

    result = runner.invoke(app, ["plan", "-s", str(stack), "--format", "markdown"])

    assert result.exit_code == 2, result.output
    assert "- Kustomization plan-md/review-apps  (destructive: prune: true" in result.output
    golden(testdata / "cli" / "plan.md", result.output)
