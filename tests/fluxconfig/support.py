"""Helpers shared by the FluxConfig tests (and the reconciler's queue tests)."""

from __future__ import annotations

from typing import Any

NOW = "2026-01-01T00:00:00Z"


def flux_object(
    ready: str | None, *, generation: int = 1, reason: str = "", message: str = ""
) -> dict[str, Any]:
    """A Kustomization with Ready ``ready`` (None: no status yet) at ``generation``."""
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
