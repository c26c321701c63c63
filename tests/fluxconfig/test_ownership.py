"""Ownership before a write or delete, and the Flux-style inventory."""

from __future__ import annotations

from typing import Any

from fluxgitops.fluxconfig.drift import view
from fluxgitops.fluxconfig.ownership import (
    deletable,
    foreign_owner,
    inventory_keys,
    owned_keys,
    with_inventory,
)
from fluxgitops.render import ObjectKey
from fluxgitops.render.meta import labels_for

OTHER = "other-tool"


def _live(labels: dict[str, str], *managers: tuple[str, str]) -> dict[str, Any]:
    return {
        "metadata": {
            "labels": labels,
            "managedFields": [{"manager": m, "operation": op} for m, op in managers],
        }
    }


def test_object_with_our_labels_and_managers_is_ours_to_write() -> None:
    ours = labels_for("web", "team")
    live = _live(ours, ("fluxgitops-reconciler", "Apply"), ("kubectl-edit", "Update"))
    assert foreign_owner(ours, None) is None
    assert foreign_owner(ours, view(live)) is None  # a hand edit is drift, not an owner


def test_object_without_our_labels_names_its_manager() -> None:
    owner = foreign_owner(labels_for("web", "team"), _live({}, (OTHER, "Apply")))
    assert owner == f"no fluxgitops labels; field manager {OTHER!r}"


def test_object_of_another_configuration_names_it() -> None:
    live = _live(labels_for("a", "team"), ("fluxgitops-reconciler", "Apply"))
    owner = foreign_owner(labels_for("a-b", "team"), live)
    assert owner == "FluxConfig team/a (by its labels)"


def test_object_with_our_labels_applied_by_another_tool_is_not_ours() -> None:
    ours = labels_for("web", "team")
    live = _live(ours, ("fluxgitops-reconciler", "Apply"), (OTHER, "Apply"))
    assert foreign_owner(ours, live) == f"field manager {OTHER!r}"


def test_labelled_object_is_deletable_only_when_we_wrote_it() -> None:
    ours = labels_for("web", "team")
    assert deletable(ours, _live(ours, ("fluxgitops", "Apply")), recorded=False)
    assert not deletable(ours, _live(ours, (OTHER, "Update")), recorded=False)
    assert deletable(ours, _live(ours, (OTHER, "Update")), recorded=True)
    assert not deletable(ours, _live(labels_for("a", "team")), recorded=True)


def test_inventory_ids_are_fluxs_and_read_back() -> None:
    keys = [
        ObjectKey("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "team", "web-infra"),
        ObjectKey("v1", "ServiceAccount", "team", "flux-applier"),
        ObjectKey("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "", "flux-applier-team"),
    ]
    status = with_inventory({"complianceState": "Pending"}, keys)
    assert status["inventory"]["entries"] == [
        {"id": "_flux-applier-team_rbac.authorization.k8s.io_ClusterRoleBinding", "v": "v1"},
        {"id": "team_flux-applier__ServiceAccount", "v": "v1"},
        {"id": "team_web-infra_kustomize.toolkit.fluxcd.io_Kustomization", "v": "v1"},
    ]
    assert sorted(inventory_keys(status)) == sorted(keys)
    assert inventory_keys({"inventory": {"entries": [{"id": "bad"}, "x"]}}) == []


def _fluxconfig(*recorded: ObjectKey) -> dict[str, Any]:
    meta = {"name": "web", "namespace": "apps"}
    return {"kind": "FluxConfig", "metadata": meta, "status": with_inventory({}, recorded)}


def test_owned_keys_are_the_known_then_the_inventory_each_once() -> None:
    source = ObjectKey("source.toolkit.fluxcd.io/v1", "GitRepository", "apps", "web")
    old = ObjectKey("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "apps", "web-old")
    assert owned_keys(_fluxconfig(old, source), [source]) == [source, old]


def test_owned_keys_without_a_fluxconfig_are_the_known_alone() -> None:
    source = ObjectKey("source.toolkit.fluxcd.io/v1", "GitRepository", "apps", "web")
    assert owned_keys(None, [source]) == [source]


def test_owned_keys_of_a_fluxconfig_without_inventory_are_the_known_alone() -> None:
    body = {**_fluxconfig(), "status": {"complianceState": "Compliant"}}
    assert owned_keys(body) == []
