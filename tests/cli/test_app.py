"""The CLI: exit codes and output of render / validate / crd."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from fluxgitops.local.gitserver import GitServer
from fluxgitops_cli.app import app

runner = CliRunner()
LOCAL = str(Path(__file__).parents[2] / "stacks" / "Pulumi.local.yaml")


def test_validate_local_stack() -> None:
    result = runner.invoke(app, ["validate", LOCAL])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("valid: 1 cluster(s), 2 configuration(s)")


def test_validate_reports_every_error_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad\ngitRepository:\n  url: ftp://x\n  httpsKey: hunter2-secret\n")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "gitRepository.url: must be an http://" in result.output
    assert "name: must be at most 63 lower-case letters, digits, '-' or '.'" in result.output
    assert "hunter2-secret" not in result.output


def test_render_prints_masked_yaml() -> None:
    result = runner.invoke(app, ["render", LOCAL])
    assert result.exit_code == 0, result.output
    assert "kind: GitRepository" in result.output
    assert "name: cluster-config-apps" in result.output


def test_crd_prints_the_fluxconfig_crd() -> None:
    result = runner.invoke(app, ["crd"])
    assert result.exit_code == 0
    assert "name: fluxconfigs.fluxgitops.io" in result.output


def test_validate_sources_reports_missing_branch_without_the_token(tmp_path: Path) -> None:
    with GitServer(user="bot", token="hunter2-token") as git:
        git.create_repository("app")
        tree = git.work_tree("app")
        tree.write({"deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"})
        tree.commit("first")
        tree.push()
        config = tmp_path / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "name": "app",
                    "gitRepository": {
                        "url": git.url("app"),
                        "httpsUser": "bot",
                        "httpsKey": "hunter2-token",
                        "repositoryRef": {"branch": "nope"},
                    },
                    "kustomizations": {"app": {"path": "deploy"}},
                }
            )
        )
        result = runner.invoke(app, ["validate", str(config), "--sources"])
    assert result.exit_code == 1
    assert "gitRepository.repositoryRef.branch" in result.output
    assert "'nope'" in result.output
    assert "hunter2-token" not in result.output
