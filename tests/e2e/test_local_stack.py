"""End to end with the real Pulumi CLI (built from Go modules) on the local control plane.

preview → up → preview (no change) → destroy on a stack like ``stacks/Pulumi.local.yaml``;
a stack with a ``dependsOn`` cycle fails preview with the field path and creates
nothing; the state file holds no plaintext secret.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import ApiError, Client, KubeConfig
from lightkube.resources.core_v1 import Secret
from typer.testing import CliRunner

from components.automation import recorded_configurations, run_stack, stack_config
from fluxgitops.errors import ClusterUnavailableError, PulumiRunError
from fluxgitops.kube.client import register_kinds, resource_for
from fluxgitops.kube.live import live_plan
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.loop import start_reconciler
from fluxgitops.plan import to_text
from fluxgitops_cli import console
from fluxgitops_cli.app import app
from tests.reconciler.support import wait_for

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
    with pytest.raises(PulumiRunError) as info:
        run_stack("up", "cycle", stacks_dir=stacks)
    text = str(info.value)
    assert (
        "clusters[local].configurations[cyclic].kustomizations.a.dependsOn: "
        "dependency cycle: a → b → a" in text
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


def test_refresh_then_preview_shows_no_change(stacks: Path) -> None:
    stack_file(stacks, "refreshed", [configuration("fresh")])
    run_stack("up", "refreshed", stacks_dir=stacks)
    try:
        run_stack("refresh", "refreshed", stacks_dir=stacks)
        after = run_stack("preview", "refreshed", stacks_dir=stacks)
        assert after.changes == {"same": 5}, after.stdout[-3000:]
    finally:
        run_stack("destroy", "refreshed", stacks_dir=stacks)


def plan_of(stacks: Path, name: str) -> Any:
    """``fluxgitops plan`` of ``stacks/Pulumi.<name>.yaml`` with Pulumi's recorded state."""
    return live_plan(stack_config(name, stacks), name, recorded_configurations(name))


def changed(preview: Any) -> bool:
    """True when a preview would change anything."""
    return any(op != "same" and count for op, count in preview.changes.items())


def test_plan_and_preview_agree_on_create_change_and_remove(stacks: Path) -> None:
    web, api = configuration("agree-web"), configuration("agree-api")
    stack_file(stacks, "agree", [web, api])
    cases = []

    def case(name: str) -> None:
        cases.append(
            (name, plan_of(stacks, "agree"), run_stack("preview", "agree", stacks_dir=stacks))
        )

    try:
        case("create")
        run_stack("up", "agree", stacks_dir=stacks)
        case("same")
        web["kustomizations"]["apps"]["path"] = "apps2"
        stack_file(stacks, "agree", [web, api])
        case("change")
        stack_file(stacks, "agree", [configuration("agree-web")])
        plan = plan_of(stacks, "agree")
        preview = run_stack("preview", "agree", stacks_dir=stacks)
        cases.append(("remove", plan, preview))
        assert [c.configuration for c in plan.configurations if c.removed] == [
            "e2e-agree-api/agree-api"
        ]
        assert preview.changes.get("delete", 0) >= 1
    finally:
        run_stack("destroy", "agree", stacks_dir=stacks)
    assert [(name, plan.changed, changed(preview)) for name, plan, preview in cases] == [
        ("create", True, True),
        ("same", False, False),
        ("change", True, True),
        ("remove", True, True),
    ]


def test_up_against_a_stopped_cluster_fails_in_one_line_and_leaves_nothing_pending(
    stacks: Path, e2e_plane: ControlPlane, tmp_path: Path
) -> None:
    dead = tmp_path / "dead-kubeconfig"
    text = e2e_plane.kubeconfig.read_text()
    dead.write_text(re.sub(r"server: https://[^\s]+", "server: https://127.0.0.1:9", text))
    stack_file(stacks, "stopped", [configuration("stopped")])
    run_stack("up", "stopped", stacks_dir=stacks)
    try:
        body = yaml.safe_load((stacks / "Pulumi.stopped.yaml").read_text())
        body["config"]["fluxgitops:clusters"][0]["kubeconfig"] = str(dead)
        (stacks / "Pulumi.stopped.yaml").write_text(yaml.safe_dump(body))
        with pytest.raises(ClusterUnavailableError) as info:
            run_stack("up", "stopped", stacks_dir=stacks)
        message = str(info.value)
        assert message.startswith("stack 'stopped': cluster 'local' (")
        assert "is not reachable" in message
        assert "\n" not in message
        assert not pending_operations(tmp_path / "state")
    finally:
        stack_file(stacks, "stopped", [configuration("stopped")])
        run_stack("destroy", "stopped", stacks_dir=stacks)


def stack_state(state: Path, name: str) -> Path:
    """The file backend's checkpoint of stack ``name`` under ``state``."""
    return state / ".pulumi" / "stacks" / "fluxgitops" / f"{name}.json"


def test_up_after_lost_state_adopts_objects(stacks: Path, tmp_path: Path, admin: Client) -> None:
    """A kubernetes-only stack writes its state once, at the end of a run: a ``pulumi``
    killed mid-run loses the run's record. The next ``up`` must adopt what it applied."""
    stack_file(stacks, "lost", [configuration("lost")])
    run_stack("preview", "lost", stacks_dir=stacks)
    checkpoint = stack_state(tmp_path / "state", "lost")
    before = checkpoint.read_bytes()
    run_stack("up", "lost", stacks_dir=stacks)
    try:
        kustomization = resource_for("kustomize.toolkit.fluxcd.io/v1", "Kustomization")
        uid = admin.get(kustomization, "lost-apps", namespace="e2e-lost").metadata.uid
        checkpoint.write_bytes(before)  # what a killed run leaves: the state before it
        again = run_stack("up", "lost", stacks_dir=stacks)
        assert again.changes == {"create": 5}
        assert admin.get(kustomization, "lost-apps", namespace="e2e-lost").metadata.uid == uid
        assert run_stack("preview", "lost", stacks_dir=stacks).changes == {"same": 5}
    finally:
        run_stack("destroy", "lost", stacks_dir=stacks)
    assert not exists(
        admin, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", "lost-apps", "e2e-lost"
    )


def pending_operations(state: Path) -> list[Any]:
    """The pending operations recorded in every stack checkpoint under ``state``."""
    found: list[Any] = []
    for path in state.rglob("*.json"):
        if path.parent.name != "fluxgitops" or path.parent.parent.name != "stacks":
            continue
        latest = (json.loads(path.read_text()).get("checkpoint") or {}).get("latest") or {}
        found += latest.get("pending_operations") or []
    return found


def test_plan_and_preview_agree_on_the_reconcilers_generated_ssh_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A control plane of its own with the reconciler running: it generates the SSH key
    Secret, which neither ``plan`` nor ``pulumi preview`` may call a removal."""
    monkeypatch.setenv("FLUXGITOPS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "e2e-tests")
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    with ControlPlane() as plane:
        start_reconciler(plane)
        register_kinds()
        client = Client(KubeConfig.from_file(plane.kubeconfig))
        ssh = {
            "name": "keyed",
            "namespace": "e2e-keyed",
            "gitRepository": {"url": "ssh://git@127.0.0.1:9/r.git"},
            "kustomizations": {"apps": {"path": "apps"}},
        }
        cluster = {
            "name": "local",
            "mode": "external",
            "kubeconfig": str(plane.kubeconfig),
            "extension": {"reconciler": {"deploy": False}},
            "configurations": [ssh],
        }
        (stacks / "Pulumi.keyed.yaml").write_text(
            yaml.safe_dump({"config": {"fluxgitops:clusters": [cluster]}})
        )
        run_stack("up", "keyed", stacks_dir=stacks)
        wait_for(
            "the generated key and the Kustomization",
            lambda: (
                exists(client, "v1", "Secret", "keyed-auth", "e2e-keyed")
                and exists(
                    client,
                    "kustomize.toolkit.fluxcd.io/v1",
                    "Kustomization",
                    "keyed-apps",
                    "e2e-keyed",
                )
            ),
            timeout=60,
        )
        plan = plan_of(stacks, "keyed")
        preview = run_stack("preview", "keyed", stacks_dir=stacks)
        assert (plan.changed, changed(preview)) == (False, False), to_text(plan)


def test_up_previews_and_asks_and_no_runs_nothing(
    stacks: Path, admin: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack_file(stacks, "confirm", [configuration("confirm")])
    monkeypatch.setattr(console, "interactive", lambda: True)
    result = CliRunner().invoke(app, ["up", "-s", str(stacks / "Pulumi.confirm.yaml")], input="n\n")
    assert result.exit_code == 1
    assert "Resources: 5 to create." in result.output
    assert "Perform this update on stack 'confirm'? [y/N]: n" in result.output
    assert result.output.strip().endswith("not run: the answer was no")
    assert not exists(
        admin, "source.toolkit.fluxcd.io/v1", "GitRepository", "confirm", "e2e-confirm"
    )


def test_preview_expect_no_changes_exits_2_on_changes(stacks: Path) -> None:
    stack_file(stacks, "drift", [configuration("drift")])
    path = str(stacks / "Pulumi.drift.yaml")
    result = CliRunner().invoke(app, ["preview", "-s", path, "--expect-no-changes"])
    assert result.exit_code == 2
    assert "Resources: 5 to create." in result.output
    assert result.output.strip().endswith("changes found and --expect-no-changes was given")
