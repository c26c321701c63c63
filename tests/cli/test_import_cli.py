"""``fluxgitops import``: ARM bodies and live FluxConfigs become stack entries, secrets apart."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import yaml
from lightkube import Client
from typer.testing import CliRunner

from fluxgitops.kube.apply import apply_manifests, ensure_namespace
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import parse_configuration
from fluxgitops_cli.app import app

runner = CliRunner()
TOKEN = "pat-import-7c1d9e"


def test_arm_body_becomes_an_entry_with_secret_lines(tmp_path: Path) -> None:
    body = {
        "name": "cfg",
        "type": "Microsoft.KubernetesConfiguration/fluxConfigurations",
        "properties": {
            "namespace": "flux-config",
            "gitRepository": {"url": "https://dev.azure.com/org/repo", "httpsUser": "git"},
            "configurationProtectedSettings": {
                "httpsKey": base64.b64encode(TOKEN.encode()).decode()
            },
        },
    }
    path = tmp_path / "arm.json"
    path.write_text(json.dumps(body))
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    entry = yaml.safe_load(result.output.split("# secret:")[0])[0]
    assert entry["gitRepository"] == {"url": "https://dev.azure.com/org/repo", "httpsUser": "git"}
    assert (
        "# secret: pulumi config set --secret --path "
        "'fluxgitops:clusters[0].configurations[0].gitRepository.httpsKey'" in result.output
    )


def test_live_fluxconfig_becomes_an_entry_with_secret_lines(
    control_plane: ControlPlane, admin: Client
) -> None:
    spec = parse_configuration(
        {
            "name": "imported",
            "namespace": "import-live",
            "scope": "namespace",
            "gitRepository": {
                "url": "https://git.example.com/org/repo",
                "httpsUser": "bot",
                "httpsKey": TOKEN,
            },
            "kustomizations": {"apps": {"path": "./apps", "prune": True}},
        }
    )
    ensure_namespace(admin, "import-live")
    wanted = {"FluxConfig", "Secret"}
    manifests = render_configuration(spec, RenderOptions())
    apply_manifests(admin, [m for m in manifests if m.key.kind in wanted])
    result = runner.invoke(
        app,
        ["import", "--live", "import-live/imported", "--kubeconfig", str(control_plane.kubeconfig)],
    )
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    entry = yaml.safe_load(result.output.split("# secret:")[0])[0]
    assert entry["name"] == "imported"
    assert entry["scope"] == "namespace"
    assert entry["gitRepository"]["httpsUser"] == "bot"
    assert entry["kustomizations"]["apps"]["prune"] is True
    assert "gitRepository.httpsKey'" in result.output


def test_live_fluxconfig_that_does_not_exist_is_an_error(control_plane: ControlPlane) -> None:
    result = runner.invoke(
        app, ["import", "--live", "nowhere/none", "--kubeconfig", str(control_plane.kubeconfig)]
    )
    assert result.exit_code == 1
    assert "FluxConfig nowhere/none does not exist" in result.output
