"""Drift: the views of an owned object, what the reconciler keeps of it, and when a live copy
has drifted."""

from __future__ import annotations

from fluxgitops.fluxconfig.drift import Packed, cached, compact, drifted, intern_key, view
from fluxgitops.fluxconfig.ownership import deletable, foreign_owner
from fluxgitops.manifest import ObjectKey
from fluxgitops.meta import labels_for
from fluxgitops.status import compliance
from tests.fluxconfig.support import flux_object


def test_drift_ignores_server_defaults_and_hashes_secret_values() -> None:
    desired = view(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}}
    )
    assert desired["data"]["k"].startswith("sha256:")
    live = view(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "uid": "1", "managedFields": [{"manager": "x"}]},
            "data": {"k": "dg==", "other": "eA=="},
            "type": "Opaque",
        }
    )
    assert live["metadata"]["managedFields"] == [{"manager": "x", "operation": ""}]  # who, not what
    assert not drifted(live, desired)
    live["data"]["k"] = view({"kind": "Secret", "apiVersion": "v1", "data": {"k": "dw=="}})["data"][
        "k"
    ]
    assert drifted(live, desired)


def test_view_keeps_only_the_flux_objects_of_an_inventory() -> None:
    body = flux_object("True")
    body["status"]["inventory"] = {
        "entries": [
            {"id": "n_web_apps_Deployment", "v": "v1"},
            {"id": "n_web_helm.toolkit.fluxcd.io_HelmRelease", "v": "v2"},
        ]
    }
    kept = view(body)["status"]["inventory"]["entries"]
    assert kept == [{"id": "n_web_helm.toolkit.fluxcd.io_HelmRelease", "v": "v2"}]
    assert "inventory" not in view(flux_object("True"))["status"]


def test_cached_keeps_ownership_order_and_compliance_not_the_spec() -> None:
    body = flux_object("False", generation=3, reason="BuildFailed", message="kustomize build")
    body["spec"] = {"path": "./apps", "suspend": False, "interval": "10m0s"}
    labels = labels_for("c", "n")
    body["metadata"] |= {
        "labels": labels,
        "resourceVersion": "42",
        "uid": "u",
        "annotations": {"a": "b"},
        "managedFields": [{"manager": "fluxgitops-reconciler", "operation": "Apply", "f": {}}],
    }
    kept = cached(body)
    assert kept["spec"] == {"suspend": False}
    assert set(kept["metadata"]) == {
        "name",
        "namespace",
        "labels",
        "generation",
        "resourceVersion",
        "managedFields",
    }
    assert foreign_owner(labels, kept) == foreign_owner(labels, view(body))
    assert deletable(labels, kept, recorded=False) == deletable(labels, view(body), recorded=False)
    assert compliance([kept]) == compliance([view(body)])
    assert cached(kept) == kept  # what the apply responses go through twice


def test_cached_keeps_no_spec_or_data_of_other_kinds() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "n"},
        "data": {"token": "c2VjcmV0"},
    }
    assert cached(secret) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "n"},
    }


def test_compact_copies_deeply_and_shares_strings() -> None:
    body = {"metadata": {"name": "".join(["we", "b"])}, "items": ({"k": 1},)}
    copy = compact(body)
    assert copy == {"metadata": {"name": "web"}, "items": [{"k": 1}]}
    assert copy["metadata"] is not body["metadata"]
    assert copy["metadata"]["name"] is compact({"x": "".join(["w", "eb"])})["x"]


def test_packed_decodes_a_fresh_copy_and_shows_no_content() -> None:
    packed = Packed({"spec": {"password": "hunter2"}})
    first = packed.unpack()
    first["spec"]["password"] = "changed"
    assert packed.unpack() == {"spec": {"password": "hunter2"}}
    assert "hunter2" not in repr(packed)
    assert packed == Packed({"spec": {"password": "hunter2"}})


def test_intern_key_is_an_equal_key() -> None:
    key = ObjectKey("v1", "Secret", "n", "".join(["a", "uth"]))
    assert intern_key(key) == key
    assert intern_key(key).name is intern_key(ObjectKey("v1", "Secret", "n", "auth")).name
