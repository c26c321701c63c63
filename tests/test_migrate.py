"""Flux v1 → v2: sourceControlConfiguration bodies become valid stack entries, nothing hidden."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from fluxgitops.migrate import is_flux_v1_image, migrate_source_control, parse_operator_params
from fluxgitops.spec import parse_configuration
from fluxgitops_cli.app import app
from tests.keys import SSH_KEY, SSH_KEY_BODY

DATA = Path(__file__).parent / "testdata" / "migrate"


def _body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((DATA / name).read_text())
    settings = body.get("configurationProtectedSettings") or {}
    if settings.get("sshPrivateKey") == "PLACEHOLDER":
        settings["sshPrivateKey"] = base64.b64encode(SSH_KEY.encode()).decode()
    return body


@pytest.fixture
def ssh_file(tmp_path: Path) -> Path:
    """The SSH body with the test key in place of its placeholder, as a file."""
    path = tmp_path / "scc.json"
    path.write_text(json.dumps(_body("az-show-ssh-namespace.json")))
    return path


def test_https_cluster_scope_maps_branch_paths_prune_and_interval() -> None:
    migration = migrate_source_control(_body("az-show-https-cluster.json"))
    entry = migration.imported.entry
    assert migration.imported.errors == []
    assert entry["namespace"] == "cluster-config"
    assert entry["scope"] == "cluster"
    git = entry["gitRepository"]
    assert git["url"] == "https://dev.azure.com/contoso/platform/_git/cluster-config"
    assert git["repositoryRef"] == {"branch": "main"}
    assert git["syncInterval"] == "3m"
    assert git["httpsUser"] == "fluxbot"
    assert entry["kustomizations"] == {
        "infrastructure": {"path": "infrastructure", "prune": True},
        "apps-production": {"path": "apps/production", "prune": True},
    }
    assert sorted(migration.imported.secrets) == ["gitRepository.httpsKey"]


def test_https_secret_never_in_entry_or_notes() -> None:
    migration = migrate_source_control(_body("az-show-https-cluster.json"))
    shown = json.dumps(migration.imported.entry) + "\n".join(migration.notes)
    assert "not-a-real-token" not in shown


def test_flags_without_equivalent_and_unknown_are_explained() -> None:
    notes = migrate_source_control(_body("az-show-https-cluster.json")).notes
    assert any(n.startswith("--manifest-generation=true: no equivalent") for n in notes)
    assert any(n.startswith("--registry-disable-scanning: no equivalent") for n in notes)
    assert any(n.startswith("--some-unknown=1: not a Flux v1 flag") for n in notes)
    assert any(n.startswith("--git-path lists 2 paths") for n in notes)


def test_arm_example_namespace_scope_and_helm_operator() -> None:
    migration = migrate_source_control(_body("arm-example-namespace-helm.json"))
    entry = migration.imported.entry
    assert migration.imported.errors == []
    assert (entry["name"], entry["namespace"]) == ("srs-githubconfig", "srs-namespace")
    assert "name 'SRS_GitHubConfig' is not a valid Flux v2 name; written as 'srs-githubconfig'" in (
        migration.notes
    )
    assert entry["gitRepository"]["url"] == "ssh://git@github.com/k8sdeveloper425/flux-get-started"
    assert entry["gitRepository"]["repositoryRef"] == {"branch": "master"}
    assert entry["scope"] == "namespace"
    notes = migration.notes
    assert any(n.startswith("enableHelmOperator:") for n in notes)
    assert any(
        n.startswith("--git-email=xyzgituser@users.srs.github.com: no equivalent") for n in notes
    )
    assert any(n.startswith("repositoryPublicKey: Flux v2 generates a new SSH key") for n in notes)


def test_ssh_known_hosts_and_key_validate() -> None:
    migration = migrate_source_control(_body("az-show-ssh-namespace.json"))
    assert migration.imported.errors == []
    git = migration.imported.entry["gitRepository"]
    assert git["url"] == "ssh://git@ssh.dev.azure.com/v3/contoso/platform/team-a"
    assert "sshKnownHosts" in git
    assert sorted(migration.imported.secrets) == ["gitRepository.sshPrivateKey"]


def test_operator_params_parse_quoted_and_spaced_values() -> None:
    parsed = parse_operator_params("--git-branch main --git-path='a b' --git-readonly")
    assert parsed == [("--git-branch", "main"), ("--git-path", "a b"), ("--git-readonly", None)]


def test_non_flux_operator_type_is_an_error() -> None:
    body = {**_body("az-show-https-cluster.json"), "operatorType": "Helm"}
    errors = migrate_source_control(body).imported.errors
    assert [e.path for e in errors] == ["operatorType"]
    assert errors[0].value == "'Helm'"


def test_flux_v1_image_detection() -> None:
    assert is_flux_v1_image("docker.io/fluxcd/flux:1.25.4")
    assert is_flux_v1_image("fluxcd/flux@sha256:abc")
    assert not is_flux_v1_image("ghcr.io/fluxcd/source-controller:v1.6.0")


def test_cli_prints_entry_secret_lines_and_notes_without_the_key(ssh_file: Path) -> None:
    result = CliRunner().invoke(app, ["migrate", str(ssh_file)])
    assert result.exit_code == 0, result.output
    assert (
        "pulumi config set --secret --path 'fluxgitops:clusters[0].configurations[0]."
        in result.output
    )
    assert "gitRepository.sshPrivateKey" in result.output
    assert SSH_KEY_BODY not in result.output
    assert "# note: --git-readonly" in result.output
    entry_yaml = result.output.split("\n", 1)[1].split("# secret:")[0]

    (entry,) = yaml.safe_load(entry_yaml)
    parse_configuration(
        {**entry, "gitRepository": {**entry["gitRepository"], "sshPrivateKey": SSH_KEY}}
    )
