"""End to end with the real Pulumi CLI (built from Go modules) on the local control plane.

preview → up → preview (no change) → destroy on a stack like ``stacks/Pulumi.local.yaml``;
a stack with a ``dependsOn`` cycle fails preview with the field path and creates
nothing; the state file holds no plaintext secret.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import ApiError, Client, KubeConfig
from lightkube.resources.core_v1 import Secret
from pulumi.automation.errors import CommandError

from components.automation import run_stack
from fluxgitops.kube.client import register_kinds, resource_for
from fluxgitops.local.controlplane import ControlPlane

TOKEN = "ghp_e2e-token-should-never-be-stored-0123"


def stack_file(directory: Path, name: str, configurations: list[dict[str, Any]]) -> None:
    """Write ``Pulumi.<name>.yaml``: one local cluster (reconciler off), ``configurations``."""
    config = {
        "config": {
            "fluxgitops:clusters": [
                {
                    "name": "local",
                    "backend": "kubernetes",
                    "mode": "external",
                    "kubeconfig": "local",
                    # no reconciler runs here: the provider applies every object itself
                    "extension": {"reconciler": {"enabled": False}},
                    "configurations": configurations,
                }
            ]
        }
    }
    (directory / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(config))


@pytest.fixture(scope="module")
def e2e_plane() -> Iterator[ControlPlane]:
    """A control plane of its own: destroying the stack removes the FluxConfig CRD."""
    with ControlPlane() as plane:
        yield plane


@pytest.fixture
def admin(e2e_plane: ControlPlane) -> Client:
    """An admin client for this module's control plane."""
    register_kinds()
    return Client(KubeConfig.from_file(e2e_plane.kubeconfig))


@pytest.fixture
def stacks(tmp_path: Path, e2e_plane: ControlPlane, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stacks directory, a private state backend, and ``kubeconfig: local`` → the test cluster."""
    assert e2e_plane.workdir is not None
    monkeypatch.setenv("FLUXGITOPS_LOCAL_DIR", str(e2e_plane.workdir))
    monkeypatch.setenv("FLUXGITOPS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "e2e-tests")
    directory = tmp_path / "stacks"
    directory.mkdir()
    return directory


def configuration(name: str, **extra: Any) -> dict[str, Any]:
    """A configuration with HTTPS credentials and two kustomizations."""
    return {
        "name": name,
        "namespace": f"e2e-{name}",
        "gitRepository": {
            "url": "https://example.com/r.git",
            "httpsUser": "bot",
            "httpsKey": TOKEN,
        },
        "kustomizations": {
            "infra": {"path": "infra"},
            "apps": {"path": "apps", "dependsOn": ["infra"]},
        },
        **extra,
    }


def exists(client: Client, api_version: str, kind: str, name: str, namespace: str) -> bool:
    """True when the object is in the cluster."""
    try:
        client.get(resource_for(api_version, kind), name, namespace=namespace)
    except ApiError as exc:
        if exc.status.code != 404:
            raise
        return False
    return True


def test_preview_up_preview_destroy(stacks: Path, admin: Client) -> None:
    stack_file(stacks, "e2e", [configuration("web")])
    first = run_stack("preview", "e2e", stacks_dir=stacks)
    # the stack, the extension and its objects, the configuration and its objects
    assert first.changes == {"create": 5}
    up = run_stack("up", "e2e", stacks_dir=stacks)
    assert up.changes == {"create": 5}
    assert up.outputs["local-e2e-web-web:complianceState"] == "Pending"
    assert exists(admin, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", "web-apps", "e2e-web")
    again = run_stack("preview", "e2e", stacks_dir=stacks)
    assert again.changes == {"same": 5}
    run_stack("destroy", "e2e", stacks_dir=stacks)
    assert not exists(
        admin, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", "web-apps", "e2e-web"
    )
    assert not exists(admin, "source.toolkit.fluxcd.io/v1", "GitRepository", "web", "e2e-web")


def test_dependency_cycle_fails_preview_and_creates_nothing(stacks: Path, admin: Client) -> None:
    bad = configuration("cyclic")
    bad["kustomizations"] = {"a": {"dependsOn": ["b"]}, "b": {"dependsOn": ["a"]}}
    stack_file(stacks, "cycle", [bad])
    with pytest.raises(CommandError) as info:
        run_stack("up", "cycle", stacks_dir=stacks)
    text = str(info.value)
    assert (
        "clusters[0].configurations[0].kustomizations.a.dependsOn: dependency cycle: a → b → a"
        in text
    )
    assert not exists(admin, "source.toolkit.fluxcd.io/v1", "GitRepository", "cyclic", "e2e-cyclic")


def test_state_holds_no_plaintext_secret(stacks: Path, tmp_path: Path, admin: Client) -> None:
    private = configuration("private")
    del private["gitRepository"]["httpsKey"]  # given as a Pulumi secret, as users do
    stack_file(stacks, "secret", [private])
    key = "fluxgitops:clusters[0].configurations[0].gitRepository.httpsKey"
    run_stack("up", "secret", stacks_dir=stacks, secret_config={key: TOKEN})
    try:
        secret = admin.get(Secret, "private-auth", namespace="e2e-private")
        assert base64.b64decode((secret.data or {})["password"]).decode() == TOKEN
        state = "\n".join(
            p.read_text(errors="replace") for p in (tmp_path / "state").rglob("*") if p.is_file()
        )
        assert '"secrets"' in state  # the configuration resource was written
        assert "4dabf18193072939515e22adb298388d" in state  # Pulumi's secret signature
        assert TOKEN not in state
    finally:
        run_stack("destroy", "secret", stacks_dir=stacks)
