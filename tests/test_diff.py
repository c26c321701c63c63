"""The semantic diff: additions, removals, field changes, server fields ignored, secrets masked."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fluxgitops.diff import diff_manifests, project
from fluxgitops.errors import SECRET_MASK
from fluxgitops.manifest import Manifest
from fluxgitops.render import render_configuration
from fluxgitops.spec import parse_configuration

TOKEN_A, TOKEN_B = "token-aaaaaaaa", "token-bbbbbbbb"


@pytest.fixture
def raw() -> dict[str, Any]:
    """A configuration with HTTPS credentials and two kustomizations."""
    return {
        "name": "web",
        "gitRepository": {"url": "https://h/r.git", "httpsUser": "bot", "httpsKey": TOKEN_A},
        "kustomizations": {"infra": {}, "apps": {"dependsOn": ["infra"]}},
    }


def render(raw: dict[str, Any]) -> list[Manifest]:
    """Render a raw configuration."""
    return render_configuration(parse_configuration(raw))


def test_identical_sets_have_no_changes(raw: dict[str, Any]) -> None:
    assert diff_manifests(render(raw), render(raw)).changes == ()


def test_added_and_removed_kustomizations(raw: dict[str, Any]) -> None:
    changed = copy.deepcopy(raw)
    changed["kustomizations"] = {"infra": {}, "monitoring": {}}
    diff = diff_manifests(render(raw), render(changed))
    assert [str(c.key) for c in diff.of("create")] == ["Kustomization default/web-monitoring"]
    assert [str(c.key) for c in diff.of("delete")] == ["Kustomization default/web-apps"]


def test_changed_field_path_and_values(raw: dict[str, Any]) -> None:
    changed = copy.deepcopy(raw)
    changed["kustomizations"]["apps"]["prune"] = True
    diff = diff_manifests(render(raw), render(changed))
    (field,) = next(c for c in diff.of("update") if c.key.kind == "Kustomization").fields
    assert (field.path, field.old, field.new) == ("spec.prune", False, True)


def test_secret_change_is_detected_but_masked(raw: dict[str, Any]) -> None:
    changed = copy.deepcopy(raw)
    changed["gitRepository"]["httpsKey"] = TOKEN_B
    diff = diff_manifests(render(raw), render(changed))
    (secret,) = [c for c in diff.of("update") if c.key.kind == "Secret"]
    (field,) = secret.fields
    assert (field.path, field.old, field.new) == ("data.password", SECRET_MASK, SECRET_MASK)
    assert TOKEN_A not in repr(diff)
    assert TOKEN_B not in repr(diff)


def test_server_managed_fields_are_ignored(raw: dict[str, Any]) -> None:
    desired = render(raw)
    live = [m.to_dict() for m in desired]
    for obj in live:
        obj["metadata"] |= {
            "uid": "1234",
            "resourceVersion": "99",
            "generation": 3,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "managedFields": [{}],
        }
        obj["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
    assert diff_manifests(live, desired, live=True).empty


def test_server_defaults_do_not_cause_a_perpetual_diff(raw: dict[str, Any]) -> None:
    desired = render(raw)
    live = [m.to_dict() for m in desired]
    source = next(o for o in live if o["kind"] == "GitRepository")
    source["spec"]["ignore"] = ""  # defaulted by the API server, never set by us
    assert diff_manifests(live, desired, live=True).empty
    assert not diff_manifests(live, desired).empty  # without live=True it is a difference


def test_field_changed_by_hand_is_a_diff_against_live(raw: dict[str, Any]) -> None:
    desired = render(raw)
    live = [m.to_dict() for m in desired]
    kustomization = next(o for o in live if o["kind"] == "Kustomization")
    kustomization["spec"]["interval"] = "1h"
    diff = diff_manifests(live, desired, live=True)
    (change,) = diff.changes
    assert change.key.name == kustomization["metadata"]["name"]
    assert [f.path for f in change.fields] == ["spec.interval"]


def test_empty_map_the_server_drops_is_not_a_diff() -> None:
    desired: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "x.example.io"},
        "spec": {"schema": {"tlsConfig": {"type": "object", "properties": {}}}},
    }
    live = copy.deepcopy(desired)
    del live["spec"]["schema"]["tlsConfig"]["properties"]  # as the API server stores it
    assert project(live, desired) == desired
    assert diff_manifests([live], [desired], live=True).empty
