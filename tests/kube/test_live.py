"""``ClusterReader``, the plan's reads, against the real local API server: one snapshot of the
planned kinds per namespace, what it covers, and GETs for what it does not."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from lightkube import Client
from lightkube.generic_resource import create_namespaced_resource

from fluxgitops.kinds import PLANNED_KINDS, Kind
from fluxgitops.kube import live
from fluxgitops.kube.apply import apply_manifests, ensure_namespace
from fluxgitops.kube.live import ClusterReader
from fluxgitops.render import render_configuration
from fluxgitops.render.manifest import Manifest, ObjectKey
from fluxgitops.spec import parse_configuration

_names = itertools.count()


def applied(admin: Client) -> list[Manifest]:
    """A configuration applied in a namespace of its own; its rendered objects."""
    n = next(_names)
    spec = parse_configuration(
        {
            "name": f"read-{n}",
            "namespace": f"live-{n}",
            "gitRepository": {"url": "https://h/r.git"},
            "kustomizations": {"apps": {"path": "apps"}},
        }
    )
    ensure_namespace(admin, spec.namespace)
    manifests = render_configuration(spec)
    apply_manifests(admin, manifests)
    return manifests


def test_snapshot_holds_every_rendered_object(admin: Client) -> None:
    manifests = applied(admin)
    namespace = manifests[-1].key.namespace
    snapshot = ClusterReader(admin, "c").snapshot([namespace])
    assert {m.key for m in manifests} <= set(snapshot.objects)
    assert all(snapshot.covers(m.key) for m in manifests)


def test_snapshot_leaves_other_namespaces_uncovered(admin: Client) -> None:
    mine, other = applied(admin), applied(admin)
    snapshot = ClusterReader(admin, "c").snapshot([mine[-1].key.namespace])
    far = other[-1].key
    assert far not in snapshot.objects
    assert not snapshot.covers(far)


def test_snapshot_lists_cluster_scoped_kinds_everywhere(admin: Client) -> None:
    manifests = applied(admin)
    binding = next(m.key for m in manifests if m.key.kind == "ClusterRoleBinding")
    snapshot = ClusterReader(admin, "c").snapshot([])
    assert snapshot.covers(binding)
    assert binding in snapshot.objects


def test_snapshot_of_a_kind_not_served_is_empty(
    admin: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_namespaced_resource("widgets.example.com", "v1", "Widget", "widgets")
    widget = Kind("widgets.example.com/v1", "Widget", "widgets", "flux", rendered=True)
    monkeypatch.setattr(live, "PLANNED_KINDS", (*PLANNED_KINDS, widget))
    snapshot = ClusterReader(admin, "c").snapshot(["default"])
    key = ObjectKey(widget.api_version, "Widget", "default", "w")
    assert snapshot.covers(key)
    assert key not in snapshot.objects


def test_read_gets_what_a_snapshot_does_not_cover(admin: Client) -> None:
    manifests = applied(admin)
    kustomization = next(m.key for m in manifests if m.key.kind == "Kustomization")
    gone = kustomization._replace(name="never-applied")
    found: dict[ObjectKey, Any] = dict(ClusterReader(admin, "c").read([kustomization, gone]))
    assert found[gone] is None
    assert found[kustomization]["spec"]["path"] == "./apps"
