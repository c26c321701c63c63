"""Drift: the cached view of an owned object and when a live copy has drifted."""

from __future__ import annotations

from fluxgitops.fluxconfig.drift import drifted, view
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
