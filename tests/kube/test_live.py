"""``ClusterReader``, the plan's reads, against the real local API server: one snapshot of the
planned kinds per namespace, what it covers, and GETs for what it does not."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client, codecs
from lightkube.generic_resource import create_namespaced_resource

from fluxgitops.kinds import PLANNED_KINDS, Kind
from fluxgitops.kube import live
from fluxgitops.kube.apply import apply_manifests, ensure_namespace
from fluxgitops.kube.client import connect
from fluxgitops.kube.live import ClusterReader
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.render import render_configuration
from fluxgitops.render.manifest import Manifest, ObjectKey
from fluxgitops.render.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND
from fluxgitops.spec import parse_configuration
from tests.reconciler.support import token_kubeconfig

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


def test_beyond_the_namespace_limit_kinds_are_listed_cluster_wide(admin: Client) -> None:
    mine, other = applied(admin), applied(admin)
    namespaces = [mine[-1].key.namespace, "a", "b", "c"]
    assert len(namespaces) > live.PER_NAMESPACE_LISTS
    snapshot = ClusterReader(admin, "c").snapshot(namespaces)
    far = other[-1].key
    assert far in snapshot.objects  # the FluxConfig, listed everywhere
    secret = ObjectKey("v1", "Secret", far.namespace, "any")
    assert not snapshot.covers(secret)  # Secrets: only the namespaces asked for


def test_a_refused_cluster_wide_list_falls_back_to_each_namespace(
    admin: Client, control_plane: ControlPlane, tmp_path: Path
) -> None:
    manifests = applied(admin)
    namespace = manifests[-1].key.namespace
    namespaces = [namespace, "a", "b", "c"]
    for ns in namespaces:
        ensure_namespace(admin, ns)
    kubeconfig = namespaced_reader(admin, control_plane, namespaces, tmp_path)
    reader = ClusterReader(connect(str(kubeconfig)), "c")
    snapshot = reader.snapshot(namespaces)
    assert {m.key for m in manifests} <= set(snapshot.objects)
    assert not snapshot.covers(ObjectKey(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, "d", "x"))


def namespaced_reader(
    admin: Client, control_plane: ControlPlane, namespaces: list[str], tmp_path: Path
) -> Path:
    """A kubeconfig for a ServiceAccount that may list every kind only in ``namespaces`` (and
    the cluster-scoped kinds): a cluster-wide LIST of a namespaced kind is refused (403)."""
    account, home = f"planner-{next(_names)}", namespaces[0]
    rules = [
        {"apiGroups": [k.group], "resources": [k.plural], "verbs": ["list", "get"]}
        for k in PLANNED_KINDS
    ]
    scoped = [r for r, k in zip(rules, PLANNED_KINDS, strict=True) if not k.namespaced]
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": account, "namespace": home},
        },
        {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": account}, "rules": rules},
        {
            "apiVersion": RBAC,
            "kind": "ClusterRole",
            "metadata": {"name": f"{account}-scoped"},
            "rules": scoped,
        },
        binding("ClusterRoleBinding", f"{account}-scoped", None, account, home),
    ]
    objects += [binding("RoleBinding", account, ns, account, home) for ns in namespaces]
    for body in objects:
        admin.apply(codecs.from_dict(body), force=True)
    return token_kubeconfig(control_plane, admin, home, account, tmp_path / "kubeconfig")


RBAC = "rbac.authorization.k8s.io/v1"


def binding(kind: str, role: str, namespace: str | None, account: str, home: str) -> dict[str, Any]:
    """A (Cluster)RoleBinding of ClusterRole ``role`` to ServiceAccount ``home/account``."""
    meta: dict[str, Any] = {"name": role}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": RBAC,
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": home}],
    }
