"""Ownership before write, on the real API server: the reconciler never takes over, overwrites or
deletes an object it did not apply (another tool's, a user's Secret, another configuration's),
and records what it applied in ``status.inventory``."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from lightkube import Client, KubeConfig, codecs

from fluxgitops.fluxconfig.vocabulary import REASON_OWNERSHIP_CONFLICT
from fluxgitops.kube.apply import read_object
from fluxgitops.kube.client import resource_for
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.manifest import ObjectKey
from fluxgitops.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, labels_for
from fluxgitops.sshkeys import generate_ed25519
from tests.reconciler.support import (
    KUSTOMIZE,
    apply_fluxconfig,
    fluxconfig,
    git_repository,
    https_config,
    kustomization,
    status_of,
    wait_for,
)

OTHER_TOOL = "other-tool"


@pytest.fixture
def other_tool(control_plane: ControlPlane) -> Client:
    """A client of another tool: server-side apply with field manager ``other-tool``."""
    return Client(KubeConfig.from_file(control_plane.kubeconfig), field_manager=OTHER_TOOL)


def _managers(body: dict[str, Any] | None) -> set[str]:
    return {f["manager"] for f in (body or {}).get("metadata", {}).get("managedFields") or []}


def _stalled(admin: Client, namespace: str, name: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        conditions = status_of(admin, namespace, name).get("conditions") or []
        return next(
            (c for c in conditions if c["type"] == "Stalled" and c["status"] == "True"), None
        )

    return wait_for(f"{namespace}/{name} to be Stalled", probe)


def _reconciled(admin: Client, namespace: str, name: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        status = status_of(admin, namespace, name)
        return status if status.get("observedGeneration") == 1 else None

    return wait_for(f"{namespace}/{name} reconciled", probe)


def _delete_fluxconfig(admin: Client, namespace: str, name: str) -> None:
    admin.delete(resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND), name, namespace=namespace)
    wait_for(f"{name} to go", lambda: fluxconfig(admin, namespace, name) is None)


def _foreign_kustomization(namespace: str, name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": KUSTOMIZE,
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "interval": "10m",
            "path": "./other",
            "prune": False,
            "sourceRef": {"kind": "GitRepository", "name": "other"},
        },
    }


def test_kustomization_of_another_tool_is_neither_taken_over_nor_deleted(
    admin: Client, other_tool: Client, namespace: str
) -> None:
    other_tool.apply(codecs.from_dict(_foreign_kustomization(namespace, "team-apps")))
    apply_fluxconfig(admin, https_config("team", namespace, apps={"path": "apps"}))
    condition = _stalled(admin, namespace, "team")
    assert condition["reason"] == REASON_OWNERSHIP_CONFLICT
    assert condition["message"].startswith(f"FluxConfig {namespace}/team: objects it renders")
    assert (
        f"Kustomization {namespace}/team-apps (owned by no fluxgitops labels; field "
        in (condition["message"])
    )
    assert f"{OTHER_TOOL!r}" in condition["message"]
    assert status_of(admin, namespace, "team")["complianceState"] == "Non-Compliant"
    live = kustomization(admin, namespace, "team-apps") or {}
    assert live["spec"]["path"] == "./other"
    assert not live["metadata"].get("labels")
    assert _managers(live) == {OTHER_TOOL}
    assert git_repository(admin, namespace, "team") is None  # nothing of it was applied
    _delete_fluxconfig(admin, namespace, "team")
    assert kustomization(admin, namespace, "team-apps") is not None
    assert read_object(admin, ObjectKey("v1", "Secret", namespace, "team-auth")) is None


def test_users_auth_secret_is_neither_overwritten_nor_relabelled(
    admin: Client, other_tool: Client, namespace: str
) -> None:
    users_key = generate_ed25519().private_key.get_secret_value()
    data = {"identity": base64.b64encode(users_key.encode()).decode()}
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "ssh-auth", "namespace": namespace},
        "data": data,
    }
    other_tool.apply(codecs.from_dict(secret))
    raw = {
        "name": "ssh",
        "namespace": namespace,
        "gitRepository": {"url": "git@github.com:example/fleet.git"},
    }
    apply_fluxconfig(admin, raw)
    condition = _stalled(admin, namespace, "ssh")
    assert condition["reason"] == REASON_OWNERSHIP_CONFLICT
    assert f"Secret {namespace}/ssh-auth (owned by no fluxgitops labels" in condition["message"]
    assert "repositoryPublicKey" not in status_of(admin, namespace, "ssh")
    live = read_object(admin, ObjectKey("v1", "Secret", namespace, "ssh-auth")) or {}
    assert live["data"] == data
    assert not live["metadata"].get("labels")
    assert _managers(live) == {OTHER_TOOL}
    _delete_fluxconfig(admin, namespace, "ssh")
    assert read_object(admin, ObjectKey("v1", "Secret", namespace, "ssh-auth")) is not None


def test_names_colliding_between_configurations_stall_the_second_one(
    admin: Client, namespace: str
) -> None:
    apply_fluxconfig(admin, https_config("a", namespace, **{"b-c": {"path": "first"}}))
    _reconciled(admin, namespace, "a")
    apply_fluxconfig(admin, https_config("a-b", namespace, c={"path": "second"}))
    condition = _stalled(admin, namespace, "a-b")
    assert condition["reason"] == REASON_OWNERSHIP_CONFLICT
    assert (
        f"Kustomization {namespace}/a-b-c (owned by FluxConfig {namespace}/a (by its labels))"
        in condition["message"]
    )
    live = kustomization(admin, namespace, "a-b-c") or {}
    assert live["spec"]["path"] == "./first"
    assert live["metadata"]["labels"] == labels_for("a", namespace)
    first = status_of(admin, namespace, "a")
    assert first["observedGeneration"] == 1
    assert not [c for c in first["conditions"] if c["type"] == "Stalled" and c["status"] == "True"]
    assert [s["name"] for s in first["statuses"]] == ["a", "a-b-c"]


def test_inventory_records_what_was_applied_and_deletion_spares_what_was_not(
    admin: Client, other_tool: Client, namespace: str
) -> None:
    apply_fluxconfig(admin, https_config("web", namespace, infra={"path": "infra"}))
    inventory = wait_for(
        "status.inventory",
        lambda: status_of(admin, namespace, "web").get("inventory"),
    )
    ids = [e["id"] for e in inventory["entries"]]
    assert ids == sorted(ids)
    assert {
        "id": f"{namespace}_web-infra_kustomize.toolkit.fluxcd.io_Kustomization",
        "v": "v1",
    } in (inventory["entries"])
    assert {"id": f"{namespace}_web_source.toolkit.fluxcd.io_GitRepository", "v": "v1"} in (
        inventory["entries"]
    )
    assert {"id": f"{namespace}_flux-applier__ServiceAccount", "v": "v1"} in inventory["entries"]
    assert f"{namespace}_web-auth__Secret" not in ids  # the applier's, never the reconciler's
    # someone labels their own object as ours: it is not ours to delete
    other_tool.apply(
        codecs.from_dict(_foreign_kustomization(namespace, "mine", **labels_for("web", namespace)))
    )
    _delete_fluxconfig(admin, namespace, "web")
    assert kustomization(admin, namespace, "web-infra") is None
    assert git_repository(admin, namespace, "web") is None
    assert kustomization(admin, namespace, "mine") is not None
