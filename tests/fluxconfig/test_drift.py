"""Drift: the cached view of an owned object and when a live copy has drifted."""

from __future__ import annotations

from typing import Any

from fluxgitops.fluxconfig.drift import drifted, view

NOW = "2026-01-01T00:00:00Z"


def _flux(
    ready: str | None, *, generation: int = 1, reason: str = "", message: str = ""
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "k", "namespace": "n", "generation": generation},
    }
    if ready is not None:
        body["status"] = {
            "observedGeneration": generation,
            "conditions": [
                {
                    "type": "Ready",
                    "status": ready,
                    "reason": reason,
                    "message": message,
                    "lastTransitionTime": NOW,
                }
            ],
        }
    return body


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
    body = _flux("True")
    body["status"]["inventory"] = {
        "entries": [
            {"id": "n_web_apps_Deployment", "v": "v1"},
            {"id": "n_web_helm.toolkit.fluxcd.io_HelmRelease", "v": "v2"},
        ]
    }
    kept = view(body)["status"]["inventory"]["entries"]
    assert kept == [{"id": "n_web_helm.toolkit.fluxcd.io_HelmRelease", "v": "v2"}]
    assert "inventory" not in view(_flux("True"))["status"]
